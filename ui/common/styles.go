package common

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"

	"charm.land/lipgloss/v2"
)

// Styles holds every style of the chat. The default theme's colours are
// ANSI palette indexes, so they follow the terminal's own (light or dark)
// theme; the light and dark themes are fixed colours. Under NO_COLOR
// Bubble Tea drops colours and the glyphs and borders still tell things
// apart.
type Styles struct {
	Header, HeaderRoom, HeaderNick, HeaderCode lipgloss.Style
	Connected, Reconnecting, Offline           lipgloss.Style

	Pane, FocusedPane lipgloss.Style

	Time, Text, Own, Mention, System, Day, Pending lipgloss.Style
	NewBanner                                      lipgloss.Style
	// Selected marks the selected message's rows; Reaction and
	// MyReaction draw reactions (one's own stand out); Quote is a
	// reply's line about what it answers.
	Selected, Reaction, MyReaction, Quote lipgloss.Style
	// The formatting of messages (a small Markdown subset): **Bold**,
	// *Italic*, ~~Strike~~, `Code`, a fenced CodeBlock (its rows are
	// padded to one box, so a background shows as one), a Link (drawn as
	// an OSC 8 hyperlink too), and the bar in front of a "> quote", whose
	// text is drawn in Quote.
	Bold, Italic, Strike, Code, CodeBlock, Link, QuoteBar lipgloss.Style
	// Match marks what a search found in a line: reverse video, so it
	// shows without colour too.
	Match lipgloss.Style

	Online, OfflineUser, You lipgloss.Style

	Title, Label, Error, Hint, Dim lipgloss.Style
	HelpBox                        lipgloss.Style

	nicks  []lipgloss.Style
	colors Colors // what the settable colours are now
}

// A palette is what a theme is made of: colours as lipgloss.Color takes
// them.
type palette struct {
	accent, border, mention, good, warn, bad string
	code, codeBack, link                     string // Markdown's `code`, its code blocks' background, links
	nicks                                    []string
}

// ansiPalette is the default theme: ANSI indexes, which the terminal
// maps to its own palette. Nick colours are the bright and normal ANSI
// colours that read well on both light and dark backgrounds (no black,
// white or greys).
var ansiPalette = palette{
	accent: "5", border: "8", mention: "3", good: "2", warn: "3", bad: "1",
	code: "6", codeBack: "8", link: "12",
	nicks: []string{"1", "2", "3", "4", "5", "6", "9", "10", "11", "12", "13", "14"},
}

// lightPalette is for a light background: dark, saturated colours, each
// at least about 4.5:1 against white.
var lightPalette = palette{
	accent: "#7e22ce", border: "#9ca3af", mention: "#b45309", good: "#15803d", warn: "#b45309", bad: "#b91c1c",
	code: "#0e7490", codeBack: "#f3f4f6", link: "#1d4ed8",
	nicks: []string{"#b91c1c", "#15803d", "#1d4ed8", "#7e22ce", "#0e7490", "#c2410c",
		"#be185d", "#4d7c0f", "#4338ca", "#0f766e", "#a16207", "#6d28d9"},
}

// darkPalette is for a dark background: light, soft colours, each at
// least about 7:1 against black.
var darkPalette = palette{
	accent: "#c084fc", border: "#6b7280", mention: "#facc15", good: "#4ade80", warn: "#facc15", bad: "#f87171",
	code: "#67e8f9", codeBack: "#1f2937", link: "#93c5fd",
	nicks: []string{"#f87171", "#4ade80", "#60a5fa", "#c084fc", "#22d3ee", "#fb923c",
		"#f472b6", "#a3e635", "#818cf8", "#2dd4bf", "#facc15", "#a78bfa"},
}

// ThemeNames are the themes Theme knows, the default first.
var ThemeNames = []string{"default", "light", "dark"}

// ErrUnknownTheme is a theme name Theme does not know.
var ErrUnknownTheme = errors.New("no such theme")

// Theme returns the styles of a theme: "default" (DefaultStyles: the
// terminal's palette), "light" or "dark" (fixed colours that read well
// on a light or a dark background).
func Theme(name string) (*Styles, error) {
	switch name {
	case "default":
		return DefaultStyles(), nil
	case "light":
		return build(lightPalette), nil
	case "dark":
		return build(darkPalette), nil
	}
	return nil, fmt.Errorf("%w %q (want default, light or dark)", ErrUnknownTheme, name)
}

// DefaultStyles returns the chat's look.
func DefaultStyles() *Styles { return build(ansiPalette) }

func build(p palette) *Styles {
	accent := lipgloss.Color(p.accent)
	s := &Styles{
		Header:       lipgloss.NewStyle().Reverse(true),
		HeaderRoom:   lipgloss.NewStyle().Reverse(true).Bold(true),
		HeaderNick:   lipgloss.NewStyle().Reverse(true),
		HeaderCode:   lipgloss.NewStyle().Reverse(true).Faint(true),
		Connected:    lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color(p.good)),
		Reconnecting: lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color(p.warn)),
		Offline:      lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color(p.bad)),

		Pane:        lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color(p.border)),
		FocusedPane: lipgloss.NewStyle().Border(lipgloss.ThickBorder()).BorderForeground(accent),

		Time:      lipgloss.NewStyle().Faint(true),
		Text:      lipgloss.NewStyle(),
		Own:       lipgloss.NewStyle().Foreground(accent).Bold(true),
		Mention:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color(p.mention)),
		System:    lipgloss.NewStyle().Faint(true).Italic(true),
		Day:       lipgloss.NewStyle().Faint(true),
		Pending:   lipgloss.NewStyle().Faint(true),
		NewBanner: lipgloss.NewStyle().Reverse(true).Bold(true),

		Selected:   lipgloss.NewStyle().Foreground(accent).Bold(true),
		Reaction:   lipgloss.NewStyle().Faint(true),
		MyReaction: lipgloss.NewStyle().Reverse(true),
		Quote:      lipgloss.NewStyle().Faint(true),
		Match:      lipgloss.NewStyle().Reverse(true),

		Bold:      lipgloss.NewStyle().Bold(true),
		Italic:    lipgloss.NewStyle().Italic(true),
		Strike:    lipgloss.NewStyle().Strikethrough(true),
		Code:      lipgloss.NewStyle().Foreground(lipgloss.Color(p.code)),
		CodeBlock: lipgloss.NewStyle().Background(lipgloss.Color(p.codeBack)),
		Link:      lipgloss.NewStyle().Underline(true).Foreground(lipgloss.Color(p.link)),
		QuoteBar:  lipgloss.NewStyle().Faint(true),

		Online:      lipgloss.NewStyle().Foreground(lipgloss.Color(p.good)),
		OfflineUser: lipgloss.NewStyle().Faint(true),
		You:         lipgloss.NewStyle().Bold(true),

		Title:   lipgloss.NewStyle().Bold(true).Foreground(accent),
		Label:   lipgloss.NewStyle().Bold(true),
		Error:   lipgloss.NewStyle().Foreground(lipgloss.Color(p.bad)).Bold(true),
		Hint:    lipgloss.NewStyle().Faint(true),
		Dim:     lipgloss.NewStyle().Faint(true),
		HelpBox: lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(accent).Padding(0, 1),

		colors: Colors{
			Nicks: slices.Clone(p.nicks), Mention: p.mention, Own: p.accent,
			Border: p.border, Focus: p.accent, Selection: p.accent,
		},
	}
	s.setNicks(p.nicks)
	return s
}

func (s *Styles) setNicks(colors []string) {
	s.nicks = s.nicks[:0:0]
	for _, c := range colors {
		s.nicks = append(s.nicks, lipgloss.NewStyle().Foreground(lipgloss.Color(c)).Bold(true))
	}
}

// Colors are the colours one may set over a theme (the config file's
// [colors]), each as lipgloss.Color takes it: an ANSI index "0"…"255" or
// "#rrggbb". An empty one (a nil Nicks) keeps the theme's.
type Colors struct {
	Nicks     []string // the nickname palette
	Mention   string   // lines that mention you
	Own       string   // the mark of your own lines
	Border    string   // pane borders
	Focus     string   // the focused pane's border
	Selection string   // the selected message's mark
}

// ErrBadColor is a colour lipgloss would not read as meant.
var ErrBadColor = errors.New("not a colour")

// CheckColor says why c is not a colour (an ANSI index 0…255 or
// #rrggbb), or nil.
func CheckColor(c string) error {
	if len(c) == 7 && c[0] == '#' {
		if _, err := strconv.ParseUint(c[1:], 16, 32); err == nil {
			return nil
		}
	} else if n, err := strconv.Atoi(c); err == nil && n >= 0 && n <= 255 && strconv.Itoa(n) == c {
		return nil
	}
	return fmt.Errorf("%w: %q (want an ANSI index \"0\" to \"255\" or \"#rrggbb\")", ErrBadColor, c)
}

// SetColors puts the colours set in c over the styles' own. A bad
// colour is left out, the others still set, and said in the error.
func (s *Styles) SetColors(c Colors) error {
	var errs []error
	ok := func(what, v string) bool {
		if v == "" {
			return false
		}
		if err := CheckColor(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			return false
		}
		return true
	}
	if ok("mention", c.Mention) {
		s.Mention, s.colors.Mention = s.Mention.Foreground(lipgloss.Color(c.Mention)), c.Mention
	}
	if ok("own", c.Own) {
		s.Own, s.colors.Own = s.Own.Foreground(lipgloss.Color(c.Own)), c.Own
	}
	if ok("border", c.Border) {
		s.Pane, s.colors.Border = s.Pane.BorderForeground(lipgloss.Color(c.Border)), c.Border
	}
	if ok("focus", c.Focus) {
		s.FocusedPane, s.colors.Focus = s.FocusedPane.BorderForeground(lipgloss.Color(c.Focus)), c.Focus
	}
	if ok("selection", c.Selection) {
		s.Selected, s.colors.Selection = s.Selected.Foreground(lipgloss.Color(c.Selection)), c.Selection
	}
	var nicks []string
	for _, n := range c.Nicks {
		if ok("nicks", n) {
			nicks = append(nicks, n)
		}
	}
	if len(nicks) > 0 {
		s.setNicks(nicks)
		s.colors.Nicks = nicks
	}
	return errors.Join(errs...)
}

// Colors are the settable colours in effect.
func (s *Styles) Colors() Colors {
	c := s.colors
	c.Nicks = slices.Clone(c.Nicks)
	return c
}

// Nick is the stable colour of a nickname: everyone sees alice in the
// same colour, in every session.
func (s *Styles) Nick(nick string) lipgloss.Style {
	h := fnv.New32a()
	h.Write([]byte(nick))
	return s.nicks[h.Sum32()%uint32(len(s.nicks))]
}
