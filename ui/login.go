package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
)

// loginRequest is what the login form asks the root to do.
type loginRequest struct{ nick, room string }

// loginModel is the login form: a nickname and a room code.
type loginModel struct {
	*common
	width, height int
	fields        [2]textinput.Model // nickname, room code
	focus         int
	err           string
	busy          bool
	server        string
}

func newLogin(c *common, nick, room, server string) *loginModel {
	m := &loginModel{common: c, server: server}
	for i := range m.fields {
		ti := textinput.New()
		ti.Prompt = ""
		m.fields[i] = ti
	}
	m.fields[0].Placeholder = "one word, e.g. alice"
	m.fields[0].CharLimit = chat.MaxNick
	m.fields[0].SetValue(nick)
	m.fields[1].Placeholder = "empty: create a new room"
	m.fields[1].CharLimit = 36
	m.fields[1].SetValue(room)
	m.fields[0].Focus()
	return m
}

func (m *loginModel) SetSize(w, h int) {
	m.width, m.height = w, h
	for i := range m.fields {
		m.fields[i].SetWidth(max(min(w-20, 40), 8))
	}
}

func (m *loginModel) SetFocus(bool) {}

// setError shows an inline error and lets the user edit again.
func (m *loginModel) setError(err string) { m.err, m.busy = chat.DisplayLine(err), false }

func (m *loginModel) focusField(i int) {
	m.fields[m.focus].Blur()
	m.focus = (i + len(m.fields)) % len(m.fields)
	m.fields[m.focus].Focus()
}

func (m *loginModel) Update(msg tea.Msg) tea.Cmd {
	if m.busy {
		return nil
	}
	if msg, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(msg, m.keys.Login):
			return m.submit()
		case key.Matches(msg, m.keys.NextField):
			m.focusField(m.focus + 1)
			return nil
		case key.Matches(msg, m.keys.PrevField):
			m.focusField(m.focus - 1)
			return nil
		}
	}
	var cmd tea.Cmd
	m.fields[m.focus], cmd = m.fields[m.focus].Update(msg)
	return cmd
}

// submit checks the form; the errors a person can fix here are shown
// without a round trip.
func (m *loginModel) submit() tea.Cmd {
	nick := strings.TrimSpace(m.fields[0].Value())
	room := strings.ToLower(strings.TrimSpace(m.fields[1].Value()))
	if err := chat.CheckNick(nick); err != nil {
		m.focusField(0)
		m.setError("Nickname: " + strings.TrimPrefix(err.Error(), chat.ErrBadNick.Error()+": "))
		return nil
	}
	m.err, m.busy = "", true
	return func() tea.Msg { return loginRequest{nick: nick, room: room} }
}

func (m *loginModel) View() string {
	st := m.styles
	label := func(s string, i int) string {
		l := st.Label
		if i != m.focus {
			l = st.Dim
		}
		return l.Render(padRight(s, 11))
	}
	lines := []string{
		st.Title.Render("webaas-chat"),
		"",
		label("Nickname", 0) + m.fields[0].View(),
		label("Room code", 1) + m.fields[1].View(),
		"",
	}
	switch {
	case m.busy:
		lines = append(lines, st.Dim.Render("Connecting…"))
	case m.err != "":
		lines = append(lines, st.Error.Render("✗ "+m.err))
	default:
		lines = append(lines, st.Hint.Render("Enter logs in; an empty room code creates a room."))
	}
	lines = append(lines, "", st.Dim.Render("server "+m.server))
	inner := min(max(m.width-4, 10), 60)
	for i, l := range lines {
		lines[i] = padRight(ansi.Truncate(l, inner, "…"), inner)
	}
	box := st.Pane.Render(strings.Join(lines, "\n"))
	return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, box)
}

func (m *loginModel) ShortHelp() []key.Binding { return loginKeys{*m.keys}.ShortHelp() }

func (m *loginModel) FullHelp() [][]key.Binding { return loginKeys{*m.keys}.FullHelp() }
