package ui

// The room switcher (ctrl+k): type part of a room's name, pick it.

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// switcher is the open room switcher.
type switcher struct {
	input textinput.Model
	sel   int // index into matches
}

func newSwitcher() *switcher {
	ti := textinput.New()
	ti.Prompt = "room: "
	ti.Placeholder = "part of its name"
	ti.CharLimit = 64
	ti.Focus()
	return &switcher{input: ti}
}

// fuzzy reports whether every rune of query appears in name, in order,
// whatever the case ("ops" finds "Operations", "dsgn" finds "design").
func fuzzy(name, query string) bool {
	name, query = strings.ToLower(name), strings.ToLower(query)
	for _, q := range query {
		i := strings.IndexRune(name, q)
		if i < 0 {
			return false
		}
		name = name[i+len(string(q)):]
	}
	return true
}

// matches are the rooms the query finds, those with mentions first, then
// those with unread lines, then in the list's order.
func (m *Model) matches(query string) []int {
	var out []int
	for _, rank := range []func(*roomView) bool{
		func(r *roomView) bool { return r.mentions > 0 },
		func(r *roomView) bool { return r.mentions == 0 && r.unread > 0 },
		func(r *roomView) bool { return r.mentions == 0 && r.unread == 0 },
	} {
		for i, r := range m.rooms {
			if rank(r) && fuzzy(r.name(), query) {
				out = append(out, i)
			}
		}
	}
	return out
}

// onSwitcherKey handles a key while the switcher is open.
func (m *Model) onSwitcherKey(msg tea.KeyPressMsg) tea.Cmd {
	s := m.switcher
	found := m.matches(s.input.Value())
	switch {
	case key.Matches(msg, m.c.Keys.Close):
		m.switcher = nil
		return nil
	case msg.String() == "enter":
		m.switcher = nil
		if s.sel < len(found) {
			return m.switchTo(found[s.sel])
		}
		return nil
	case msg.String() == "up" || msg.String() == "ctrl+p":
		s.sel = max(s.sel-1, 0)
		return nil
	case msg.String() == "down" || msg.String() == "ctrl+n" || msg.String() == "tab":
		s.sel = min(s.sel+1, max(len(found)-1, 0))
		return nil
	}
	var cmd tea.Cmd
	s.input, cmd = s.input.Update(msg)
	s.sel = 0 // a new query: its best match
	return cmd
}

// switcherBox draws the switcher: the query and what it finds.
func (m *Model) switcherBox() string {
	st := m.c.Styles
	s := m.switcher
	w := min(max(m.width-8, 20), 60)
	s.input.SetWidth(w - 8)
	lines := []string{st.Title.Render("Switch room"), "", s.input.View(), ""}
	found := m.matches(s.input.Value())
	if len(found) == 0 {
		lines = append(lines, st.Dim.Render("no room's name has those letters in that order"))
	}
	room := max(m.height-10, 1)
	first := max(0, min(s.sel-room/2, len(found)-room))
	for k := first; k < len(found) && k < first+room; k++ {
		r := m.rooms[found[k]]
		mark := "  "
		if k == s.sel {
			mark = "▸ "
		}
		line := fmt.Sprintf("%s%d %s%s", mark, found[k]+1, chat.DisplayLine(r.name()), counts(r))
		line = ansi.Truncate(line, w, "…")
		if k == s.sel {
			line = st.HeaderRoom.Render(line)
		}
		lines = append(lines, line)
	}
	lines = append(lines, "", st.Hint.Render("enter switches · ↑/↓ choose · esc closes"))
	for i := range lines {
		lines[i] = common.PadRight(lines[i], w)
	}
	return st.HelpBox.Render(strings.Join(lines, "\n"))
}
