package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
)

// usersModel is the member pane: you first, then who is online, then who
// is not.
type usersModel struct {
	*common
	width, height int
	focused       bool
	members       []chat.Member
	me            string
	offset        int // first member shown, when the list is taller than the pane
}

func newUsers(c *common) *usersModel { return &usersModel{common: c} }

func (m *usersModel) SetSize(w, h int) { m.width, m.height = w, h; m.clamp() }
func (m *usersModel) SetFocus(f bool)  { m.focused = f }

// SetMembers replaces the list, putting me first.
func (m *usersModel) SetMembers(members []chat.Member, me string) {
	m.me = me
	m.members = m.members[:0]
	for _, mb := range members {
		if mb.Nick == me {
			m.members = append([]chat.Member{mb}, m.members...)
		} else {
			m.members = append(m.members, mb)
		}
	}
	m.clamp()
}

// Online counts the members online.
func (m *usersModel) Online() int {
	n := 0
	for _, mb := range m.members {
		if mb.Online {
			n++
		}
	}
	return n
}

func (m *usersModel) rows() int { return max(m.height-3, 1) } // borders and the title line

func (m *usersModel) clamp() {
	m.offset = max(min(m.offset, len(m.members)-m.rows()), 0)
}

func (m *usersModel) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.keys.LineUp):
			m.offset--
		case key.Matches(msg, m.keys.LineDown):
			m.offset++
		case key.Matches(msg, m.keys.PageUp):
			m.offset -= m.rows()
		case key.Matches(msg, m.keys.PageDown):
			m.offset += m.rows()
		}
		m.clamp()
	}
	return nil
}

func (m *usersModel) View() string {
	w := max(m.width-2, 1)
	lines := []string{m.styles.Label.Render(ansi.Truncate(fmt.Sprintf("Members %d/%d", m.Online(), len(m.members)), w, "…"))}
	for i := m.offset; i < len(m.members) && len(lines) <= m.rows(); i++ {
		mb := m.members[i]
		dot, style := "○", m.styles.OfflineUser
		if mb.Online {
			dot, style = "●", m.styles.Online
		}
		name := chat.DisplayNick(mb.Nick)
		if mb.Nick == m.me {
			name += " (you)"
		}
		nameStyle := m.styles.Nick(mb.Nick)
		if !mb.Online {
			nameStyle = m.styles.OfflineUser
		}
		line := style.Render(dot) + " " + nameStyle.Render(ansi.Truncate(name, max(w-2, 1), "…"))
		lines = append(lines, line)
	}
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	for i := range lines {
		lines[i] = padRight(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

func (m *usersModel) ShortHelp() []key.Binding {
	return []key.Binding{m.keys.LineUp, m.keys.LineDown}
}

func (m *usersModel) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
