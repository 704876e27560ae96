// Package members is the chat's member pane: you first, then who is
// online, then who is not.
package members

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// Model is the member pane.
type Model struct {
	*common.Common
	me            func() string // our nickname, from the session that holds it
	width, height int
	focused       bool
	members       []chat.Member // as the room lists them: online first, then by nickname
	offset        int           // first member shown, when the list is taller than the pane
}

// New returns an empty pane; me says our nickname (nil: nobody's).
func New(c *common.Common, me func() string) *Model {
	if me == nil {
		me = func() string { return "" }
	}
	return &Model{Common: c, me: me}
}

func (m *Model) SetSize(w, h int) { m.width, m.height = w, h; m.clamp() }
func (m *Model) SetFocus(f bool)  { m.focused = f }

// SetMembers replaces the list: the current nicknames only (see
// current).
func (m *Model) SetMembers(members []chat.Member) {
	m.members = current(members)
	m.clamp()
}

// current drops the records of nicknames renamed away. A rename leaves
// the old nickname's record behind, offline, its holder the same as the
// new one's: an offline record whose holder holds another nickname that
// is online, or was taken later, is not a member any more. (A record
// whose signature does not hold neither hides another nor is hidden: it
// stays, flagged, for what it says of the room.)
func current(members []chat.Member) []chat.Member {
	latest := map[string]chat.Member{} // holder -> the nickname it holds now
	for _, mb := range members {
		if mb.Holder == "" || mb.Suspect() {
			continue
		}
		if cur, ok := latest[mb.Holder]; !ok || newer(mb, cur) {
			latest[mb.Holder] = mb
		}
	}
	out := make([]chat.Member, 0, len(members))
	for _, mb := range members {
		if cur, ok := latest[mb.Holder]; ok && !mb.Online && !mb.Suspect() && cur.Nick != mb.Nick {
			continue
		}
		out = append(out, mb)
	}
	return out
}

// newer reports whether a is the nickname its holder took after b's:
// online beats offline; then the later start of a stay (a claim sets it,
// a heartbeat does not); then the later heartbeat.
func newer(a, b chat.Member) bool {
	switch {
	case a.Online != b.Online:
		return a.Online
	case !a.Joined.Equal(b.Joined):
		return a.Joined.After(b.Joined)
	}
	return a.LastSeen.After(b.LastSeen)
}

// Members is the list, you first.
func (m *Model) Members() []chat.Member {
	me := m.me()
	out := make([]chat.Member, 0, len(m.members))
	for _, mb := range m.members {
		if mb.Nick == me {
			out = append([]chat.Member{mb}, out...)
		} else {
			out = append(out, mb)
		}
	}
	return out
}

// Online counts the members online.
func (m *Model) Online() int {
	n := 0
	for _, mb := range m.members {
		if mb.Online {
			n++
		}
	}
	return n
}

func (m *Model) rows() int { return max(m.height-3, 1) } // borders and the title line

func (m *Model) clamp() {
	m.offset = max(min(m.offset, len(m.members)-m.rows()), 0)
}

func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.Keys.LineUp):
			m.offset--
		case key.Matches(msg, m.Keys.LineDown):
			m.offset++
		case key.Matches(msg, m.Keys.PageUp):
			m.offset -= m.rows()
		case key.Matches(msg, m.Keys.PageDown):
			m.offset += m.rows()
		}
		m.clamp()
	}
	return nil
}

func (m *Model) View() string {
	w := max(m.width-2, 1)
	me, members := m.me(), m.Members()
	lines := []string{m.Styles.Label.Render(ansi.Truncate(fmt.Sprintf("Members %d/%d", m.Online(), len(members)), w, "…"))}
	for i := m.offset; i < len(members) && len(lines) <= m.rows(); i++ {
		mb := members[i]
		dot, style := "○", m.Styles.OfflineUser
		if mb.Online {
			dot, style = "●", m.Styles.Online
		}
		name := chat.DisplayNick(mb.Nick)
		if mb.Nick == me {
			name += " (you)"
		}
		if mb.Suspect() {
			// Rewritten around the chat: its online state is not the
			// member's word.
			dot, name = "⚠", name+" (unverified)"
		}
		nameStyle := m.Styles.Nick(mb.Nick)
		if !mb.Online {
			nameStyle = m.Styles.OfflineUser
		}
		line := style.Render(dot) + " " + nameStyle.Render(ansi.Truncate(name, max(w-2, 1), "…"))
		lines = append(lines, line)
	}
	for len(lines) < m.height-2 {
		lines = append(lines, "")
	}
	for i := range lines {
		lines[i] = common.PadRight(lines[i], w)
	}
	return strings.Join(lines, "\n")
}

func (m *Model) ShortHelp() []key.Binding {
	return []key.Binding{m.Keys.LineUp, m.Keys.LineDown}
}

func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
