// Package picker is the chat's emoji chooser for reactions: the common
// ones by number, or any of a small list by name, filtered as it is
// typed.
package picker

import (
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// An Emoji is one the picker offers, under one or more names.
type Emoji struct {
	Char  string
	Names []string
}

// Quick are the reactions offered by number (1 to 8), the most used
// first.
var Quick = []Emoji{
	{"👍", []string{"thumbsup", "+1", "yes"}},
	{"❤️", []string{"heart", "love"}},
	{"😂", []string{"joy", "lol"}},
	{"🎉", []string{"tada", "party"}},
	{"😮", []string{"wow", "open_mouth"}},
	{"😢", []string{"cry", "sad"}},
	{"👀", []string{"eyes", "looking"}},
	{"🙏", []string{"pray", "thanks"}},
}

// More are offered by name only.
var More = []Emoji{
	{"👎", []string{"thumbsdown", "-1", "no"}},
	{"😄", []string{"smile"}},
	{"😁", []string{"grin"}},
	{"😆", []string{"laughing"}},
	{"🤣", []string{"rofl"}},
	{"😉", []string{"wink"}},
	{"😍", []string{"heart_eyes"}},
	{"😎", []string{"sunglasses", "cool"}},
	{"🤔", []string{"thinking", "hmm"}},
	{"😭", []string{"sob"}},
	{"😱", []string{"scream"}},
	{"😠", []string{"angry"}},
	{"🥳", []string{"partying"}},
	{"🙈", []string{"see_no_evil"}},
	{"💀", []string{"skull", "dead"}},
	{"🔥", []string{"fire", "lit"}},
	{"✅", []string{"check", "done"}},
	{"❌", []string{"x", "cross"}},
	{"⚠️", []string{"warning"}},
	{"🚀", []string{"rocket", "ship"}},
	{"👏", []string{"clap"}},
	{"🙌", []string{"raised_hands", "hooray"}},
	{"💪", []string{"muscle", "strong"}},
	{"👋", []string{"wave", "hi", "bye"}},
	{"👌", []string{"ok"}},
	{"🤷", []string{"shrug"}},
	{"🤦", []string{"facepalm"}},
	{"💯", []string{"100", "hundred"}},
	{"⭐", []string{"star"}},
	{"✨", []string{"sparkles"}},
	{"☕", []string{"coffee"}},
	{"🍺", []string{"beer"}},
	{"🍕", []string{"pizza"}},
	{"🐛", []string{"bug"}},
}

// Lookup is the emoji a reaction names: an emoji itself, or one of the
// picker's names with or without colons (":tada:", "tada").
func Lookup(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if chat.CheckReaction(s) == nil {
		return s, true
	}
	name := strings.ToLower(strings.Trim(s, ":"))
	for _, e := range append(Quick[:len(Quick):len(Quick)], More...) {
		for _, n := range e.Names {
			if n == name {
				return e.Char, true
			}
		}
	}
	return "", false
}

// matches are the emoji whose names start with (then contain) query.
func matches(query string) []Emoji {
	query = strings.ToLower(strings.Trim(query, ":"))
	if query == "" {
		return nil
	}
	type hit struct {
		e     Emoji
		score int // 0: a name starts with it; 1: contains it
	}
	var hits []hit
	for _, e := range append(Quick[:len(Quick):len(Quick)], More...) {
		best := 2
		for _, n := range e.Names {
			switch {
			case strings.HasPrefix(n, query):
				best = 0
			case strings.Contains(n, query) && best > 1:
				best = 1
			}
		}
		if best < 2 {
			hits = append(hits, hit{e, best})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].score < hits[j].score })
	out := make([]Emoji, len(hits))
	for i, h := range hits {
		out[i] = h.e
	}
	return out
}

// Model is an open picker.
type Model struct {
	*common.Common
	title string // what it reacts to: "alice: the text…"
	query string
}

// New is a picker for a reaction to what title names.
func New(c *common.Common, title string) *Model { return &Model{Common: c, title: title} }

// Update takes a key: it returns the emoji chosen, or done without one
// (cancelled), or neither (still choosing).
func (m *Model) Update(msg tea.KeyPressMsg) (emoji string, done bool) {
	switch msg.String() {
	case "esc", "ctrl+c":
		return "", true
	case "enter":
		if e, ok := Lookup(m.query); ok {
			return e, true
		}
		if hits := matches(m.query); len(hits) > 0 {
			return hits[0].Char, true
		}
		return "", false
	case "backspace":
		if r := []rune(m.query); len(r) > 0 {
			m.query = string(r[:len(r)-1])
		}
		return "", false
	}
	if t := msg.Text; t != "" {
		if m.query == "" && len(t) == 1 && t[0] >= '1' && t[0] <= '8' {
			return Quick[t[0]-'1'].Char, true
		}
		m.query += t
	}
	return "", false
}

// maxHits is how many matches the picker lists.
const maxHits = 6

// View is the picker's box, at most maxW cells wide inside its border.
func (m *Model) View(maxW int) string {
	st := m.Styles
	var quick []string
	for i, e := range Quick {
		quick = append(quick, fmt.Sprintf("%d %s", i+1, chat.DisplayLine(e.Char)))
	}
	lines := []string{
		st.Title.Render("React") + st.Dim.Render(" to "+m.title),
		strings.Join(quick, "  "),
		"",
	}
	line := st.Label.Render("name: ") + m.query + "▏"
	if hits := matches(m.query); len(hits) > 0 {
		var hs []string
		for i, h := range hits {
			if i == maxHits {
				break
			}
			hs = append(hs, chat.DisplayLine(h.Char)+" "+h.Names[0])
		}
		line += "  " + st.Dim.Render("→ ") + strings.Join(hs, "  ")
	}
	lines = append(lines, line, "", st.Hint.Render("1–8, or a name (:100), enter picks · esc cancels"))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, max(maxW, 1), "…")
	}
	return st.HelpBox.Render(strings.Join(lines, "\n"))
}
