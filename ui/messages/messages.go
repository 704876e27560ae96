// Package messages is the chat's message pane: every loaded message of a
// room, drawn newest at the bottom, scrolled by line and page, with marks
// for one's own lines and mentions, and a banner for what arrived while
// scrolled up.
package messages

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
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
	// for. Only entries that were on screen are ever rendered. quoteRow
	// is the line that quotes what the message replies to (-1: none).
	width    int
	nick     string
	lines    []string
	quoteRow int
	dayRow   bool // the first line is a day separator
}

// Me is who reads the pane: the session, which alone knows the nickname
// (it changes with /nick) and the client id that marks one's own lines.
type Me interface {
	Nick() string
	ClientID() string
	Key() []byte // marks one's own reactions (nil: none are)
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
	// ledger holds what edits, deletes and reactions made of the lines;
	// replies maps a message to the lines that quote it (to redraw them
	// when it changes or loads); oldest is the oldest seq taken, line or
	// amendment, where older history starts.
	ledger  *chat.Ledger
	replies map[int64][]int64
	oldest  int64

	sel  int64                                   // the selected message's seq (0: none)
	seen func(seq int64, author string) []string // who read up to seq, for "seen by"
	rows []rowRef                                // what each row of the last View shows

	follow bool // stuck to the newest message
	bottom int  // when not following: index of the entry on the bottom line
	hidden int  // ... and how many of its lines are below the view
	unread int  // messages that arrived while scrolled up

	highlight string // the search query marked in matching lines, folded (highlight.go)
}

// rowRef names what a row of the pane shows: entry (-1: none) and
// whether it is the entry's quote of what it replies to.
type rowRef struct {
	entry int
	quote bool
	day   bool // a day separator, above the entry
}

// New returns an empty pane read by me.
func New(c *common.Common, me Me) *Model {
	m := &Model{Common: c, me: me, follow: true}
	m.Reset()
	return m
}

// SetSeen sets who has read up to a message, for the "seen by" line
// under the newest (and the selected) message.
func (m *Model) SetSeen(seen func(seq int64, author string) []string) { m.seen = seen }

func (m *Model) innerWidth() int { return max(m.width-2, 1) }

// InnerWidth is how many columns of messages the pane shows.
func (m *Model) InnerWidth() int { return m.innerWidth() }

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
	var key []byte
	if m.me != nil {
		key = m.me.Key()
	}
	m.ledger, m.replies, m.oldest, m.sel = chat.NewLedger(key), map[int64][]int64{}, 0, 0
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

// Newest calls fn with each committed message held, newest first, until
// it returns false.
func (m *Model) Newest(fn func(chat.Message) bool) {
	c := m.committed()
	for i := len(c) - 1; i >= 0; i-- {
		if !fn(c[i].msg) {
			return
		}
	}
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

// OldestSeq is the seq of the oldest message taken, a line or an
// amendment (0: none): older history is what comes before it.
func (m *Model) OldestSeq() int64 { return m.oldest }

// Add inserts committed messages in seq order, skipping ones already
// held, and applies amendments to the lines they name; it returns how
// many of the new lines mention us.
func (m *Model) Add(msgs []chat.Message) (mentions int) {
	for _, msg := range msgs {
		if msg.Seq > 0 && (m.oldest == 0 || msg.Seq < m.oldest) {
			m.oldest = msg.Seq
		}
		if msg.Kind.Amends() {
			m.changed(m.ledger.Add(msg))
			continue
		}
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
		m.ledger.Add(msg)
		if msg.ReplyTo > 0 {
			m.replies[msg.ReplyTo] = append(m.replies[msg.ReplyTo], msg.Seq)
		}
		m.changed(msg.Seq) // its quoters can now say what it is
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

// changed redraws message seq and the lines that quote it.
func (m *Model) changed(seq int64) {
	if seq == 0 {
		return
	}
	for _, s := range append([]int64{seq}, m.replies[seq]...) {
		if i := m.index(s); i >= 0 {
			m.entries[i].lines = nil
		}
	}
}

// index is the place of committed message seq among the entries (-1:
// not held).
func (m *Model) index(seq int64) int {
	c := m.committed()
	i := sort.Search(len(c), func(i int) bool { return c[i].msg.Seq >= seq })
	if i < len(c) && c[i].msg.Seq == seq {
		return i
	}
	return -1
}

// State is what message seq has become by its edits, deletes and
// reactions; ok is false for one not held.
func (m *Model) State(seq int64) (chat.State, bool) { return m.ledger.State(seq) }

// Message is committed message seq, if held.
func (m *Model) Message(seq int64) (chat.Message, bool) {
	if i := m.index(seq); i >= 0 {
		return m.entries[i].msg, true
	}
	return chat.Message{}, false
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
	type row struct {
		text string
		ref  rowRef
	}
	var rev []row // bottom-up
	if len(m.entries) == 0 {
		rev = []row{{m.Styles.Dim.Render(ansi.Truncate("No messages yet. Say hello!", w, "…")), rowRef{entry: -1}}}
	}
	b, hidden := m.bottomAnchor()
	for i := b; i >= 0 && len(rev) < h; i-- {
		ls := m.rowsOf(i)
		if i == b {
			ls = ls[:len(ls)-hidden]
		}
		quote, day := m.entries[i].quoteRow, m.entries[i].dayRow
		for j := len(ls) - 1; j >= 0 && len(rev) < h; j-- {
			rev = append(rev, row{ls[j], rowRef{entry: i, quote: j == quote, day: day && j == 0}})
		}
	}
	out := make([]string, h)
	m.rows = make([]rowRef, h)
	for i := range out {
		line, ref := "", rowRef{entry: -1}
		if k := h - 1 - i; k < len(rev) {
			line, ref = rev[k].text, rev[k].ref
		}
		out[i], m.rows[i] = common.PadRight(line, w), ref
	}
	m.markSelected(out)
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
	return []key.Binding{m.Keys.LineUp, m.Keys.LineDown, m.Keys.PageUp, m.Keys.PageDown, m.Keys.Top, m.Keys.Bottom, m.Keys.Select}
}

// FullHelp lists the pane's keys.
func (m *Model) FullHelp() [][]key.Binding { return [][]key.Binding{m.ShortHelp()} }
