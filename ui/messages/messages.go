// Package messages is the chat's message pane: every loaded message of a
// room, drawn newest at the bottom, scrolled by line and page, with marks
// for one's own lines and mentions, and a banner for what arrived while
// scrolled up.
package messages

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// entry is one line item of the message pane: a committed message, or one
// of ours still being sent.
type entry struct {
	msg     chat.Message
	pending int // local id of a message not committed yet; 0 when committed
	mention bool

	// The rendered lines, for the width and nickname they were rendered
	// for. Only entries that were on screen are ever rendered.
	width int
	nick  string
	lines []string
}

// Me is who reads the pane: the session, which alone knows the nickname
// (it changes with /nick) and the client id that marks one's own lines.
type Me interface {
	Nick() string
	ClientID() string
}

// Model is the message pane. It keeps every loaded message but renders
// only what is visible: the view is anchored at its bottom line (an entry
// and how many of its lines are hidden below), so drawing and scrolling
// cost the same at 100 or 100,000 messages.
type Model struct {
	*common.Common
	me            Me  // nil: nobody (a pane drawn for a benchmark)
	width, height int // outer size, borders included
	focused       bool

	entries []*entry // committed, by seq; then pending ones
	pending int      // how many entries at the end are pending

	follow bool // stuck to the newest message
	bottom int  // when not following: index of the entry on the bottom line
	hidden int  // ... and how many of its lines are below the view
	unread int  // messages that arrived while scrolled up
}

// New returns an empty pane read by me.
func New(c *common.Common, me Me) *Model {
	return &Model{Common: c, me: me, follow: true}
}

func (m *Model) innerWidth() int { return max(m.width-2, 1) }

// InnerHeight is how many rows of messages the pane shows.
func (m *Model) InnerHeight() int { return max(m.height-2, 1) }

func (m *Model) nick() string {
	if m.me == nil {
		return ""
	}
	return m.me.Nick()
}

// SetSize sets the pane's outer size (borders included).
func (m *Model) SetSize(w, h int) {
	m.width, m.height = w, h
}

// Reset forgets every message (a new login).
func (m *Model) Reset() {
	m.entries, m.pending = nil, 0
	m.follow, m.bottom, m.hidden, m.unread = true, 0, 0, 0
}

func (m *Model) committed() []*entry { return m.entries[:len(m.entries)-m.pending] }

// Messages returns the committed messages held, in order.
func (m *Model) Messages() []chat.Message {
	c := m.committed()
	out := make([]chat.Message, len(c))
	for i, e := range c {
		out[i] = e.msg
	}
	return out
}

// Pending counts our messages still being sent.
func (m *Model) Pending() int { return m.pending }

// NewestSeq is the seq of the newest message held (0: none).
func (m *Model) NewestSeq() int64 {
	c := m.committed()
	if len(c) == 0 {
		return 0
	}
	return c[len(c)-1].msg.Seq
}

// OldestSeq is the seq of the oldest message held (0: none).
func (m *Model) OldestSeq() int64 {
	c := m.committed()
	if len(c) == 0 {
		return 0
	}
	return c[0].msg.Seq
}

// Add inserts committed messages in seq order, skipping ones already
// held, and returns how many of the new ones mention us.
func (m *Model) Add(msgs []chat.Message) (mentions int) {
	for _, msg := range msgs {
		c := m.committed()
		i := sort.Search(len(c), func(i int) bool { return c[i].msg.Seq >= msg.Seq })
		if i < len(c) && c[i].msg.Seq == msg.Seq {
			continue
		}
		e := &entry{msg: msg, mention: msg.Mentions(m.nick())}
		if e.mention {
			mentions++
		}
		m.insert(i, e)
		if i < len(c) {
			// Older than something we hold (history): the next entry's day
			// separator may change.
			m.entries[i+1].lines = nil
		} else if !m.follow {
			m.unread++
		}
	}
	return mentions
}

func (m *Model) insert(i int, e *entry) {
	m.entries = append(m.entries, nil)
	copy(m.entries[i+1:], m.entries[i:])
	m.entries[i] = e
	if !m.follow && i <= m.bottom {
		m.bottom++
	}
}

// AddPending shows a message of ours that is being sent.
func (m *Model) AddPending(id int, msg chat.Message) {
	m.entries = append(m.entries, &entry{msg: msg, pending: id})
	m.pending++
}

// RemovePending drops a pending message (sent, so the feed shows it; or
// failed).
func (m *Model) RemovePending(id int) {
	for i := len(m.entries) - m.pending; i < len(m.entries); i++ {
		if m.entries[i].pending == id {
			m.entries = append(m.entries[:i], m.entries[i+1:]...)
			m.pending--
			if !m.follow && m.bottom >= len(m.entries) {
				m.follow, m.hidden = true, 0
			}
			return
		}
	}
}

// lines renders entry i at the current width, cached.
func (m *Model) lines(i int) []string {
	e := m.entries[i]
	w, nick := m.innerWidth(), m.nick()
	if e.lines != nil && e.width == w && e.nick == nick {
		return e.lines
	}
	var out []string
	when := e.msg.Sent.In(m.Loc)
	if e.pending == 0 && (i == 0 || !sameDay(m.entries[i-1].msg.Sent.In(m.Loc), when)) {
		out = append(out, m.daySeparator(when, w))
	}
	out = append(out, m.body(e, when, w, nick)...)
	e.lines, e.width, e.nick = out, w, nick
	return out
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

func (m *Model) daySeparator(t time.Time, w int) string {
	label := " " + t.Format("Monday, 2 January 2006") + " "
	side := max((w-ansi.StringWidth(label))/2, 0)
	line := strings.Repeat("─", side) + label + strings.Repeat("─", max(w-side-ansi.StringWidth(label), 0))
	return m.Styles.Day.Render(ansi.Truncate(line, w, ""))
}

// gutterWidth is the mark column plus "15:04 ".
const gutterWidth = 7

// MaxRows is how many rows one message takes at most: a longer one shows
// its first rows and "… N more lines", so a 13,000-line message cannot
// flood the screen. Folding is display only: the message keeps its text.
const MaxRows = 12

// body renders one message: a mark column (▌ for our lines, ! for lines
// that mention us), the local time, then the text wrapped under itself.
// Nicknames and text pass through the display filter (package chat).
func (m *Model) body(e *entry, when time.Time, w int, me string) []string {
	st := m.Styles
	msg := e.msg
	lead, text := msg.Parts(false)
	prefix := lead + " "
	nickStyle, textStyle := st.Nick(msg.Nick), st.Text
	own := msg.Nick == me || m.me != nil && m.me.ClientID() != "" && msg.ClientID == m.me.ClientID()
	mark, stamp := " ", when.Format("15:04")
	switch {
	case e.pending != 0:
		mark, stamp, textStyle, nickStyle = "…", "  ⋯  ", st.Pending, st.Pending
	case own:
		mark = st.Own.Render("▌")
	case e.mention:
		mark, textStyle = st.Mention.Render("!"), st.Mention
	}
	system := msg.Kind.System()
	if system {
		nickStyle, textStyle = st.System, st.System
	}
	width := max(w-gutterWidth, 4)
	wrapped, more := fold(strings.Split(ansi.Wrap(prefix+text, width, ""), "\n"))
	out := make([]string, len(wrapped), len(wrapped)+1)
	indent := strings.Repeat(" ", gutterWidth)
	for j, line := range wrapped {
		if j == 0 {
			head := st.Time.Render(stamp)
			if strings.HasPrefix(line, prefix) && !system {
				line = m.styled(lead, nickStyle) + " " + m.styled(line[len(prefix):], textStyle)
			} else {
				line = m.styled(line, textStyle)
			}
			out[j] = mark + head + " " + line
			continue
		}
		out[j] = indent + m.styled(line, textStyle)
	}
	if more > 0 {
		out = append(out, indent+st.Dim.Render(fmt.Sprintf("… %d more line%s", more, common.Plural(more))))
	}
	return out
}

// fold keeps the rows that fit in MaxRows with a last one that says how
// many more there are.
func fold(rows []string) (kept []string, more int) {
	if len(rows) <= MaxRows {
		return rows, 0
	}
	return rows[:MaxRows-1], len(rows) - (MaxRows - 1)
}

// hiddenMark is how the display filter shows an invisible character.
var hiddenMark = regexp.MustCompile(`<U\+[0-9A-F]{4,6}>`)

// styled renders text in st, with the display filter's <U+202E> marks
// dimmed so they read as notes about the text rather than text.
func (m *Model) styled(text string, st lipgloss.Style) string {
	locs := hiddenMark.FindAllStringIndex(text, -1)
	if locs == nil {
		return st.Render(text)
	}
	var b strings.Builder
	at := 0
	for _, l := range locs {
		if l[0] > at {
			b.WriteString(st.Render(text[at:l[0]]))
		}
		b.WriteString(m.Styles.Dim.Render(text[l[0]:l[1]]))
		at = l[1]
	}
	if at < len(text) {
		b.WriteString(st.Render(text[at:]))
	}
	return b.String()
}

// bottomAnchor is where the view's bottom line is.
func (m *Model) bottomAnchor() (int, int) {
	if m.follow {
		return len(m.entries) - 1, 0
	}
	return m.bottom, m.hidden
}

// linesThrough counts the lines from the top of entry 0 down to the
// anchor, but stops counting once it reaches limit: every entry has a
// line, so beyond limit entries the answer is "at least limit".
func (m *Model) linesThrough(b, hidden, limit int) int {
	if b+1 >= limit {
		return limit
	}
	n := -hidden
	for i := 0; i <= b; i++ {
		n += len(m.lines(i))
	}
	return n
}

// ScrollUp moves the view n lines towards older messages.
func (m *Model) ScrollUp(n int) {
	if len(m.entries) == 0 {
		return
	}
	b, hidden := m.bottomAnchor()
	hidden += n
	for b > 0 && hidden >= len(m.lines(b)) {
		hidden -= len(m.lines(b))
		b--
	}
	if b == 0 {
		hidden = min(hidden, len(m.lines(0))-1)
	}
	m.follow, m.bottom, m.hidden = false, b, hidden
	m.clampTop()
}

// clampTop keeps the oldest line from going below the top of the view.
func (m *Model) clampTop() {
	h := m.InnerHeight()
	if m.follow || m.linesThrough(m.bottom, m.hidden, h) >= h {
		return
	}
	m.Top()
}

// ScrollDown moves the view n lines towards newer messages.
func (m *Model) ScrollDown(n int) {
	if m.follow {
		return
	}
	b, hidden := m.bottom, m.hidden-n
	for hidden < 0 && b < len(m.entries)-1 {
		b++
		hidden += len(m.lines(b))
	}
	if b >= len(m.entries)-1 && hidden <= 0 {
		m.Bottom()
		return
	}
	m.bottom, m.hidden = b, hidden
}

// Top shows the oldest held message at the top of the view.
func (m *Model) Top() {
	h := m.InnerHeight()
	acc := 0
	for i := range m.entries {
		acc += len(m.lines(i))
		if acc >= h {
			if i == len(m.entries)-1 && acc == h {
				m.Bottom()
				return
			}
			m.follow, m.bottom, m.hidden = false, i, acc-h
			return
		}
	}
	m.Bottom() // everything fits
}

// Bottom follows the newest message again.
func (m *Model) Bottom() {
	m.follow, m.bottom, m.hidden, m.unread = true, 0, 0, 0
}

// AtTop: the oldest held line is on screen, so older history is wanted.
func (m *Model) AtTop() bool {
	if len(m.entries) == 0 {
		return true
	}
	b, hidden := m.bottomAnchor()
	h := m.InnerHeight()
	return m.linesThrough(b, hidden, h+1) <= h
}

// Update handles scrolling keys and the mouse wheel when the pane has
// focus (the root forwards page keys whatever the focus).
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.Keys.LineUp):
			m.ScrollUp(1)
		case key.Matches(msg, m.Keys.LineDown):
			m.ScrollDown(1)
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			m.ScrollUp(3)
		case tea.MouseWheelDown:
			m.ScrollDown(3)
		}
	}
	return nil
}

// View draws the visible lines only.
func (m *Model) View() string {
	w, h := m.innerWidth(), m.InnerHeight()
	var rev []string // bottom-up
	if len(m.entries) == 0 {
		rev = []string{m.Styles.Dim.Render(ansi.Truncate("No messages yet. Say hello!", w, "…"))}
	}
	b, hidden := m.bottomAnchor()
	for i := b; i >= 0 && len(rev) < h; i-- {
		ls := m.lines(i)
		if i == b {
			ls = ls[:len(ls)-hidden]
		}
		for j := len(ls) - 1; j >= 0 && len(rev) < h; j-- {
			rev = append(rev, ls[j])
		}
	}
	out := make([]string, h)
	for i := range out {
		line := ""
		if k := h - 1 - i; k < len(rev) {
			line = rev[k]
		}
		out[i] = common.PadRight(line, w)
	}
	if m.unread > 0 && !m.follow {
		banner := fmt.Sprintf(" ↓ %d new message%s (end) ", m.unread, common.Plural(m.unread))
		out[h-1] = common.PadRight(m.Styles.NewBanner.Render(ansi.Truncate(banner, w, "…")), w)
	}
	return strings.Join(out, "\n")
}

// SetFocus marks the pane focused.
func (m *Model) SetFocus(f bool) { m.focused = f }

// ShortHelp lists the pane's keys.
func (m *Model) ShortHelp() []key.Binding {
	return []key.Binding{m.Keys.LineUp, m.Keys.LineDown, m.Keys.PageUp, m.Keys.PageDown, m.Keys.Top, m.Keys.Bottom}
}

// FullHelp lists the pane's keys.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
