// Package login is the chat's login form: a nickname and a room code or
// invite.
package login

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// Request is what the form asks for when submitted: log in as Nick to
// Room (empty: create a room).
type Request struct{ Nick, Room string }

// Model is the login form.
type Model struct {
	*common.Common
	width, height int
	fields        [2]textinput.Model // nickname, room code
	// prefilled: the field still holds what the form was filled with
	// (the last login); typing replaces it rather than adding to it
	// ("alice" + "bob" made "alicebob"), a key that moves or deletes
	// makes it the user's to edit.
	prefilled [2]bool
	focus     int
	err       string
	busy      bool
	busyNote  string // what it is busy with: "Connecting…"
	server    string
}

// New returns the form, pre-filled, for the server at the address shown.
func New(c *common.Common, nick, room, server string) *Model {
	m := &Model{Common: c, server: server}
	for i := range m.fields {
		ti := textinput.New()
		ti.Prompt = ""
		m.fields[i] = ti
	}
	m.fields[0].Placeholder = "one word, e.g. alice"
	m.fields[0].CharLimit = chat.MaxNick
	m.fields[0].SetValue(nick)
	m.fields[1].Placeholder = "invite or code; empty: a new room"
	m.fields[1].CharLimit = 512 // a room code, or an invite (server, code, key)
	m.fields[1].SetValue(room)
	m.prefilled = [2]bool{nick != "", room != ""}
	m.fields[0].Focus()
	return m
}

// SetSize sets the form's area.
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
	for i := range m.fields {
		m.fields[i].SetWidth(max(min(w-20, 40), 8))
	}
}

// SetError shows an inline error and lets the user edit again.
func (m *Model) SetError(err string) { m.err, m.busy = chat.DisplayLine(err), false }

// Reset fills the form (after a logout: the nickname and room just left),
// waiting (busy) until Ready.
func (m *Model) Reset(nick, room string) {
	m.fields[0].SetValue(nick)
	m.fields[1].SetValue(room)
	m.prefilled = [2]bool{nick != "", room != ""}
	m.err, m.busy, m.busyNote = "", true, "Logging out…"
}

// Ready lets the user edit again.
func (m *Model) Ready() { m.busy = false }

// Busy reports a login in progress.
func (m *Model) Busy() bool { return m.busy }

// Submit submits the form as if enter was pressed.
func (m *Model) Submit() tea.Cmd { return m.submit() }

func (m *Model) focusField(i int) {
	m.fields[m.focus].Blur()
	m.focus = (i + len(m.fields)) % len(m.fields)
	m.fields[m.focus].Focus()
}

// Update edits the form; enter submits it.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	if m.busy {
		return nil
	}
	if msg, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(msg, m.Keys.Login):
			return m.submit()
		case key.Matches(msg, m.Keys.NextField):
			m.focusField(m.focus + 1)
			return nil
		case key.Matches(msg, m.Keys.PrevField):
			m.focusField(m.focus - 1)
			return nil
		}
	}
	if m.prefilled[m.focus] {
		switch msg := msg.(type) {
		case tea.KeyPressMsg:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				m.fields[m.focus].SetValue("") // typing replaces it
			}
			m.prefilled[m.focus] = false
		case tea.PasteMsg:
			m.fields[m.focus].SetValue("")
			m.prefilled[m.focus] = false
		}
	}
	var cmd tea.Cmd
	m.fields[m.focus], cmd = m.fields[m.focus].Update(msg)
	return cmd
}

// submit checks the form; the errors a person can fix here are shown
// without a round trip.
func (m *Model) submit() tea.Cmd {
	nick := strings.TrimSpace(m.fields[0].Value())
	room := strings.TrimSpace(m.fields[1].Value()) // an invite's key is case-sensitive
	if err := chat.CheckNick(nick); err != nil {
		m.focusField(0)
		m.SetError(chat.Explain(err))
		return nil
	}
	m.err, m.busy, m.busyNote = "", true, "Connecting…"
	return func() tea.Msg { return Request{Nick: nick, Room: room} }
}

// View draws the form, centred.
func (m *Model) View() string {
	st := m.Styles
	label := func(s string, i int) string {
		l := st.Label
		if i != m.focus {
			l = st.Dim
		}
		return l.Render(common.PadRight(s, 11))
	}
	inner := min(max(m.width-4, 10), 60)
	lines := []string{
		st.Title.Render("webaas-chat"),
		"",
		label("Nickname", 0) + common.DropBidi(m.fields[0].View()),
		label("Room", 1) + common.DropBidi(m.fields[1].View()),
		"",
	}
	switch {
	case m.busy:
		lines = append(lines, st.Dim.Render(m.busyNote))
	case m.err != "":
		// The error is what there is to read here: wrapped, not cut.
		for i, l := range wrapLines(m.err, inner-2, maxErrLines) {
			mark := "  " // continued lines sit under the first one's text
			if i == 0 {
				mark = "✗ "
			}
			lines = append(lines, st.Error.Render(mark+l))
		}
	default:
		lines = append(lines, st.Hint.Render("Enter logs in; an empty room makes a new, encrypted one."))
	}
	lines = append(lines, "", st.Dim.Render("server "+m.server))
	for i, l := range lines {
		lines[i] = common.PadRight(ansi.Truncate(l, inner, "…"), inner)
	}
	box := st.Pane.Render(strings.Join(lines, "\n"))
	return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, box)
}

// maxErrLines bounds an error on the form (a server's answer can be long).
const maxErrLines = 4

// wrapLines wraps s to w cells, in at most n lines, the last one cut
// with "…" if there is more.
func wrapLines(s string, w, n int) []string {
	lines := common.Wrap(s, w)
	if len(lines) > n {
		lines = lines[:n]
		lines[n-1] = ansi.Truncate(lines[n-1]+" …", w, "…")
	}
	return lines
}

// ShortHelp lists the form's keys.
func (m *Model) ShortHelp() []key.Binding { return common.LoginKeys{KeyMap: *m.Keys}.ShortHelp() }

// FullHelp lists the form's keys.
func (m *Model) FullHelp() [][]key.Binding { return common.LoginKeys{KeyMap: *m.Keys}.FullHelp() }
