package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// View implements tea.Model.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.ReportFocus = true
	v.WindowTitle = "webaas-chat"
	if n := m.mentionCount(); n > 0 {
		v.WindowTitle = fmt.Sprintf("(%d) webaas-chat", n)
	}
	if r := m.room(); r != nil {
		v.WindowTitle += " · " + chat.DisplayLine(r.name())
	}
	return v
}

// render draws the whole screen: exactly width × height cells.
func (m *Model) render() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < MinWidth || h < MinHeight {
		note := fmt.Sprintf("Terminal too small: %d×%d.\nwebaas-chat needs at least %d×%d.\nEnlarge the window, or ctrl+c to quit.", w, h, MinWidth, MinHeight)
		return common.Fill(lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, ansi.Wrap(note, w, "")), w, h)
	}
	var screen string
	if r := m.room(); m.preview != nil && m.screen == loginScreen {
		screen = m.previewScreen() // the cache's last page, until the server answers
	} else if m.screen == loginScreen || r == nil {
		screen = m.login.View() + "\n" + m.hintLine(m.login)
	} else {
		screen = strings.Join([]string{
			m.header(r),
			m.body(r),
			m.frame(r.input, m.focus == focusInput),
			m.chatHint(r),
		}, "\n")
	}
	screen = common.Fill(screen, w, h)
	r := m.room()
	switch {
	case m.showHelp:
		screen = m.overlay(screen, m.helpBox())
	case m.info != nil && m.screen == chatScreen:
		screen = m.overlay(screen, m.infoBox())
	case m.switcher != nil && m.screen == chatScreen:
		screen = m.overlay(screen, m.switcherBox())
	case r != nil && r.picker != nil && m.screen == chatScreen:
		screen = m.overlay(screen, r.picker.View(m.width-6))
	}
	return screen
}

// frame draws a pane inside its border; the focused pane's is heavier
// and coloured, so focus shows even without colour.
// body is the middle of the chat screen: the room list (with two rooms
// or more), the messages and the members.
func (m *Model) body(r *roomView) string {
	panes := []string{m.frame(r.msgs, m.focus == focusMessages), m.frame(r.members, m.focus == focusMembers)}
	if w := m.listWidth(); w > 0 {
		panes = append([]string{m.roomList(w, lipgloss.Height(panes[0]))}, panes...)
	}
	return lipgloss.JoinHorizontal(lipgloss.Top, panes...)
}

// goneName names a room that did not open by the start of its code.
func goneName(e RoomEntry) string {
	if inv, err := chat.ParseInvite(e.Invite); err == nil {
		return inv.Code[:8]
	}
	return "?"
}

// badge is a room's counts as the narrow list shows them: mentions as
// "@2", else unread lines as "5" (/rooms says both).
func badge(r *roomView) string {
	switch {
	case r.mentions > 0:
		return fmt.Sprintf(" @%d", r.mentions)
	case r.unread > 0:
		return fmt.Sprintf(" %d", r.unread)
	}
	return ""
}

// roomList draws the joined rooms, w × h with its border: the one on
// screen marked, the others with what came while it was elsewhere.
func (m *Model) roomList(w, h int) string {
	st := m.c.Styles
	inner := max(w-2, 1)
	lines := []string{st.Label.Render(ansi.Truncate(fmt.Sprintf("Rooms %d", len(m.rooms)), inner, "…"))}
	// As many as fit, the room on screen always among them.
	fit := max(h-3, 1)
	first := max(0, min(m.cur-fit/2, len(m.rooms)-fit))
	for i := first; i < len(m.rooms) && i < first+fit; i++ {
		r := m.rooms[i]
		mark := "  "
		switch {
		case i == m.cur:
			mark = "▸ "
		case r.conn == connReconnecting || r.conn == connOffline:
			mark = "◌ " // its server is unreachable: the room reconnects on its own
		}
		tail := badge(r)
		name := ansi.Truncate(chat.DisplayLine(r.name()), max(inner-2-ansi.StringWidth(tail), 1), "…")
		line := mark + name + tail
		switch {
		case i == m.cur:
			line = st.HeaderRoom.Render(line)
		case r.mentions > 0:
			line = st.Error.Render(line)
		}
		lines = append(lines, line)
	}
	// Rooms of the last launch that did not open: /drop forgets them.
	for _, e := range m.unjoined {
		if len(lines) >= h-2 {
			break
		}
		lines = append(lines, st.Dim.Render(ansi.Truncate("✗ gone "+goneName(e), inner, "…")))
	}
	for len(lines) < h-2 {
		lines = append(lines, "")
	}
	for i := range lines {
		lines[i] = common.PadRight(lines[i], inner)
	}
	return st.Pane.Render(strings.Join(lines, "\n"))
}

func (m *Model) frame(p interface{ View() string }, focused bool) string {
	st := m.c.Styles.Pane
	if focused {
		st = m.c.Styles.FocusedPane
	}
	return st.Render(p.View())
}

// header is the top line: room, nickname, room code (when it fits) and
// the connection's state. The state is never cut: it is the one place
// that says the server is gone; the room's name gives way first, then
// the nickname.
func (m *Model) header(r *roomView) string {
	st := m.c.Styles
	var state string
	switch r.conn {
	case connConnected:
		state = st.Connected.Render("● connected")
	case connReconnecting:
		if r.hostWhy != "" {
			state = st.Reconnecting.Render("◌ " + chat.DisplayLine(r.hostWhy))
		} else {
			state = st.Reconnecting.Render("◌ server unreachable, " + r.connNote)
		}
	case connConnecting:
		state = st.Reconnecting.Render("◌ connecting")
	default:
		state = st.Offline.Render("○ offline")
	}
	name, nick := "webaas-chat", ""
	var code string
	if !m.quitting { // while leaving, the header no longer names the room
		name, nick = r.name(), chat.DisplayNick(r.session.Nick())
		code = st.HeaderCode.Render("room " + r.room.Code() + " ")
	}
	right := state + st.Header.Render(" ")
	name, nick = fitHeader(name, nick, m.width-ansi.StringWidth(right))
	left := st.HeaderRoom.Render(" " + name)
	if name != "" {
		left += st.Header.Render(" · ")
	}
	left += st.HeaderNick.Render(nick + " ")
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if code != "" && gap >= ansi.StringWidth(code)+1 {
		right = code + right
		gap -= ansi.StringWidth(code)
	}
	if gap < 0 {
		return common.PadRight(left+right, m.width)
	}
	return left + st.Header.Render(strings.Repeat(" ", gap)) + right
}

// fitHeader shortens the room's name, and if need be the nickname, so
// that " name · nick " fits in w cells; a name with no room left is
// dropped.
func fitHeader(name, nick string, w int) (string, string) {
	const frame = 1 + 3 + 1 // " " before, " · " between, " " after
	if ansi.StringWidth(name)+ansi.StringWidth(nick)+frame <= w {
		return name, nick
	}
	if nameW := w - frame - ansi.StringWidth(nick); nameW >= 2 {
		return ansi.Truncate(name, nameW, "…"), nick
	}
	return "", ansi.Truncate(nick, max(w-2, 0), "…")
}

// chatHint is the chat screen's bottom line: a status, else who is
// typing, else the keys (those of the selection while it is on).
func (m *Model) chatHint(r *roomView) string {
	if r.confirmText != "" {
		return common.PadRight(m.c.Styles.Error.Render(ansi.Truncate(r.confirmText, m.width, "…")), m.width)
	}
	if c := r.comp; c != nil && len(c.names) > 1 {
		return m.completionLine(c)
	}
	if s := m.searchLine(r); s != "" && (r.find.prompt != nil || !m.status.err) {
		return s // the search's prompt or count, above notes (not above errors)
	}
	if m.status.text == "" {
		if t := r.typingLine(); t != "" {
			return common.PadRight(m.c.Styles.Hint.Render(ansi.Truncate(t, m.width, "…")), m.width)
		}
		if r.msgs.Selecting() {
			return common.PadRight(m.help.ShortHelpView(m.c.Keys.SelectHelp()), m.width)
		}
	}
	return m.hintLine(*m.c.Keys)
}

func (m *Model) hintLine(keys help.KeyMap) string {
	if m.status.text != "" {
		st := m.c.Styles.Hint
		if m.status.err {
			st = m.c.Styles.Error
		}
		return common.PadRight(st.Render(ansi.Truncate(m.status.text, m.width, "…")), m.width)
	}
	return common.PadRight(m.help.ShortHelpView(keys.ShortHelp()), m.width)
}

// helpBox is the full help: keys, slash commands and the room's invite. It
// keeps to the terminal: key groups sit side by side when they fit, and
// sections that do not fit in the height are left out, the invite last.
func (m *Model) helpBox() string {
	st := m.c.Styles
	var keys help.KeyMap = *m.c.Keys
	r := m.room()
	if m.screen == loginScreen || r == nil {
		keys = m.login
	}
	maxW, maxH := m.width-4, m.height-2 // inside the box's border and padding
	var groups []string
	for _, g := range keys.FullHelp() {
		groups = append(groups, m.help.FullHelpView([][]key.Binding{g}))
	}
	keyBlock := lipgloss.JoinHorizontal(lipgloss.Top, intersperse(groups, "   ")...)
	if lipgloss.Width(keyBlock) > maxW {
		keyBlock = lipgloss.JoinVertical(lipgloss.Left, groups...)
	}
	sections := [][]string{{st.Title.Render("webaas-chat help")}}
	sections = append(sections, strings.Split(keyBlock, "\n"))
	if m.screen == chatScreen {
		cmds := []string{st.Label.Render("Commands")}
		help := commandHelp()
		w := 0
		for _, c := range help {
			w = max(w, len(c[0])+1)
		}
		var rows []string
		for _, c := range help {
			rows = append(rows, common.PadRight(c[0], w)+st.Dim.Render(c[1]))
		}
		// Two columns where they fit: the list is long, screens are wide
		// more often than tall.
		half := (len(rows) + 1) / 2
		colW := 0
		for _, r := range rows {
			colW = max(colW, ansi.StringWidth(r))
		}
		if 2*colW+3 <= maxW {
			for i := 0; i < half; i++ {
				line := common.PadRight(rows[i], colW)
				if i+half < len(rows) {
					line += "   " + rows[i+half]
				}
				cmds = append(cmds, line)
			}
		} else {
			cmds = append(cmds, rows...)
		}
		sections = append(sections, cmds)
	}
	// Last: what /invite copies, the first to go on a small screen.
	if m.screen == chatScreen && r != nil {
		sec := []string{st.Label.Render("Invite") + st.Dim.Render(" (y or /copy copies it; whoever holds it can read and write the room)")}
		sections = append(sections, append(sec, chunks(r.invite(), min(maxW, inviteWidth))...))
	}
	footer := st.Hint.Render("esc closes this help")
	var lines []string
	for _, sec := range sections {
		if len(lines)+1+len(sec)+2 > maxH && len(lines) > 0 {
			footer = st.Hint.Render("esc closes · enlarge the terminal for more")
			break
		}
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, sec...)
	}
	lines = append(lines, "", footer)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, maxW, "…")
	}
	return st.HelpBox.Render(strings.Join(lines, "\n"))
}

// infoBox draws m.info: a title, lines, and how to close it, cut to the
// terminal.
func (m *Model) infoBox() string {
	st := m.c.Styles
	maxW, maxH := m.width-4, m.height-2
	lines := []string{st.Title.Render(m.info[0]), ""}
	body := m.info[1:]
	if room := maxH - 5; len(body) > room {
		body = append(body[:max(room-1, 0):max(room-1, 0)], st.Dim.Render(fmt.Sprintf("… and %d more", len(body)-(room-1))))
	}
	lines = append(lines, body...)
	lines = append(lines, "", st.Hint.Render("esc closes"))
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, maxW, "…")
	}
	return st.HelpBox.Render(strings.Join(lines, "\n"))
}

// inviteWidth is the longest line an invite is cut into in the help: it
// has no spaces to wrap at, and a line that wide keeps the box narrow.
// Pasted back with the line breaks, it still reads (ParseInvite drops
// white space).
const inviteWidth = 58

// chunks cuts an ASCII string into lines of at most w characters.
func chunks(s string, w int) []string {
	w = max(w, 1)
	var out []string
	for len(s) > w {
		out = append(out, s[:w])
		s = s[w:]
	}
	return append(out, s)
}

func intersperse(items []string, sep string) []string {
	var out []string
	for i, it := range items {
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, it)
	}
	return out
}

// overlay draws box centred over screen.
func (m *Model) overlay(screen, box string) string {
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	x, y := max((m.width-bw)/2, 0), max((m.height-bh)/2, 0)
	c := lipgloss.NewCompositor(lipgloss.NewLayer(screen), lipgloss.NewLayer(box).X(x).Y(y).Z(1))
	return common.Fill(c.Render(), m.width, m.height)
}
