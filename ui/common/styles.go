package common

import (
	"hash/fnv"

	"charm.land/lipgloss/v2"
)

// Styles holds every style of the chat. Colours are ANSI palette indexes,
// so they follow the terminal's own (light or dark) theme; under NO_COLOR
// Bubble Tea drops them and the glyphs and borders still tell things apart.
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
	// Match marks what a search found in a line: reverse video, so it
	// shows without colour too.
	Match lipgloss.Style

	Online, OfflineUser, You lipgloss.Style

	Title, Label, Error, Hint, Dim lipgloss.Style
	HelpBox                        lipgloss.Style

	nicks []lipgloss.Style
}

// DefaultStyles returns the chat's look.
func DefaultStyles() *Styles {
	accent := lipgloss.Color("5") // magenta
	s := &Styles{
		Header:       lipgloss.NewStyle().Reverse(true),
		HeaderRoom:   lipgloss.NewStyle().Reverse(true).Bold(true),
		HeaderNick:   lipgloss.NewStyle().Reverse(true),
		HeaderCode:   lipgloss.NewStyle().Reverse(true).Faint(true),
		Connected:    lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color("2")),
		Reconnecting: lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color("3")),
		Offline:      lipgloss.NewStyle().Reverse(true).Foreground(lipgloss.Color("1")),

		Pane:        lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(lipgloss.Color("8")),
		FocusedPane: lipgloss.NewStyle().Border(lipgloss.ThickBorder()).BorderForeground(accent),

		Time:      lipgloss.NewStyle().Faint(true),
		Text:      lipgloss.NewStyle(),
		Own:       lipgloss.NewStyle().Foreground(accent).Bold(true),
		Mention:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("3")),
		System:    lipgloss.NewStyle().Faint(true).Italic(true),
		Day:       lipgloss.NewStyle().Faint(true),
		Pending:   lipgloss.NewStyle().Faint(true),
		NewBanner: lipgloss.NewStyle().Reverse(true).Bold(true),

		Selected:   lipgloss.NewStyle().Foreground(accent).Bold(true),
		Reaction:   lipgloss.NewStyle().Faint(true),
		MyReaction: lipgloss.NewStyle().Reverse(true),
		Quote:      lipgloss.NewStyle().Faint(true),
		Match:      lipgloss.NewStyle().Reverse(true),

		Online:      lipgloss.NewStyle().Foreground(lipgloss.Color("2")),
		OfflineUser: lipgloss.NewStyle().Faint(true),
		You:         lipgloss.NewStyle().Bold(true),

		Title:   lipgloss.NewStyle().Bold(true).Foreground(accent),
		Label:   lipgloss.NewStyle().Bold(true),
		Error:   lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true),
		Hint:    lipgloss.NewStyle().Faint(true),
		Dim:     lipgloss.NewStyle().Faint(true),
		HelpBox: lipgloss.NewStyle().Border(lipgloss.DoubleBorder()).BorderForeground(accent).Padding(0, 1),
	}
	// Nick colours: the bright and normal ANSI colours that read well on
	// both light and dark backgrounds (no black, white or greys).
	for _, c := range []string{"1", "2", "3", "4", "5", "6", "9", "10", "11", "12", "13", "14"} {
		s.nicks = append(s.nicks, lipgloss.NewStyle().Foreground(lipgloss.Color(c)).Bold(true))
	}
	return s
}

// Nick is the stable colour of a nickname: everyone sees alice in the
// same colour, in every session.
func (s *Styles) Nick(nick string) lipgloss.Style {
	h := fnv.New32a()
	h.Write([]byte(nick))
	return s.nicks[h.Sum32()%uint32(len(s.nicks))]
}
