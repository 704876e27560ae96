package messages

// Rendering one message into the pane's rows, cached per entry.

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// lines renders entry i at the current width, cached: a day separator
// where the day changes, the quote of what it replies to, the message,
// its reactions.
func (m *Model) lines(i int) []string {
	e := m.entries[i]
	w, nick := m.innerWidth(), m.nick()
	if e.lines != nil && e.width == w && e.nick == nick {
		return e.lines
	}
	var out []string
	when := e.msg.Sent.In(m.Loc)
	e.dayRow = e.pending == 0 && (i == 0 || !sameDay(m.entries[i-1].msg.Sent.In(m.Loc), when))
	if e.dayRow {
		out = append(out, m.daySeparator(when, w))
	}
	e.quoteRow = -1
	if e.msg.ReplyTo > 0 {
		e.quoteRow = len(out)
		out = append(out, m.quoteLine(e.msg.ReplyTo, w))
	}
	st, _ := m.ledger.State(e.msg.Seq)
	out = append(out, m.highlighted(e, st, m.body(e, st, when, w, nick))...) // search matches: highlight.go
	if len(st.Reactions) > 0 {
		out = append(out, m.reactionsLine(st.Reactions, w))
	}
	e.lines, e.width, e.nick = out, w, nick
	return out
}

// rowsOf is entry i's rows as drawn now: its lines, and under the newest
// message and the selected one, who has seen it. Only those two are
// not cached: who has read what moves all the time.
func (m *Model) rowsOf(i int) []string {
	ls := m.lines(i)
	e := m.entries[i]
	if m.seen == nil || e.pending != 0 || e.msg.Kind.System() || i != len(m.committed())-1 && e.msg.Seq != m.sel {
		return ls
	}
	who := m.seen(e.msg.Seq, e.msg.Nick)
	if len(who) == 0 {
		return ls
	}
	return append(slices.Clip(ls), m.seenLine(who, m.innerWidth()))
}

// maxSeenNames is how many readers "seen by" names before it counts.
const maxSeenNames = 3

func (m *Model) seenLine(who []string, w int) string {
	text := "seen by " + strings.Join(who, ", ")
	if len(who) > maxSeenNames {
		text = fmt.Sprintf("seen by %d", len(who))
	}
	return strings.Repeat(" ", m.gutterWidth()) + m.Styles.Dim.Render(ansi.Truncate(text, max(w-m.gutterWidth(), 1), "…"))
}

// quoteLine is a reply's line about what it answers, one row: "↳ alice:
// what she said…".
func (m *Model) quoteLine(seq int64, w int) string {
	text := fmt.Sprintf("↳ message %d, not loaded (enter on the reply loads it)", seq)
	if i := m.index(seq); i >= 0 {
		target := m.entries[i].msg
		lead, said := target.Parts(true)
		if st, ok := m.ledger.State(seq); ok {
			switch {
			case st.Deleted:
				said = "(message deleted)"
			default:
				t := target
				t.Text = st.Text
				_, said = t.Parts(true)
			}
		}
		text = "↳ " + lead + " " + said
	}
	return strings.Repeat(" ", m.gutterWidth()) + m.Styles.Quote.Render(ansi.Truncate(text, max(w-m.gutterWidth(), 1), "…"))
}

// maxReactionsShown is how many kinds of reaction a message shows; the
// rest are counted ("+ 240 more"), so a flood of them takes one row.
const maxReactionsShown = 8

// reactionsLine is "👍 3  ❤ 1", one's own highlighted, cut to one row.
func (m *Model) reactionsLine(rs []chat.Reaction, w int) string {
	st := m.Styles
	avail := max(w-m.gutterWidth(), 1)
	var b strings.Builder
	used, more := 0, 0
	for i, r := range rs {
		item := fmt.Sprintf("%s %d", chat.DisplayLine(r.Emoji), r.Count)
		need := ansi.StringWidth(item) + 2
		if i >= maxReactionsShown || used+need > avail-12 { // room for "+ 9999 more"
			more += r.Count
			continue
		}
		style := st.Reaction
		if r.Mine {
			style = st.MyReaction
		}
		if used > 0 {
			b.WriteString("  ")
		}
		b.WriteString(style.Render(item))
		used += need
	}
	if more > 0 {
		b.WriteString(st.Dim.Render(fmt.Sprintf("  + %d more", more)))
	}
	return strings.Repeat(" ", m.gutterWidth()) + b.String()
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

// gutterWidth is the mark column, the time ("15:04", or as long as the
// configured format's widest) and a space.
func (m *Model) gutterWidth() int {
	if m.StampWidth == 0 {
		return 1 + len(common.DefaultTimeFormat) + 1
	}
	return 1 + m.StampWidth + 1
}

// MaxRows is how many rows one message takes at most: a longer one shows
// its first rows and "… N more lines", so a 13,000-line message cannot
// flood the screen. Folding is display only: the message keeps its text.
const MaxRows = 12

// body renders one message: a mark column (▌ for our lines, ! for lines
// that mention us), the local time, then the text wrapped under itself.
// Nicknames and text pass through the display filter (package chat).
func (m *Model) body(e *entry, state chat.State, when time.Time, w int, me string) []string {
	st := m.Styles
	msg := e.msg
	if state.Edited {
		msg.Text = state.Text
	}
	lead, text := msg.Parts(false)
	deleted := state.Deleted || msg.Kind == chat.Removed
	if deleted {
		text = "(message deleted)"
	}
	nickStyle, textStyle := st.Nick(msg.Nick), st.Text
	// A line under our nickname that its signature does not prove ours
	// is not marked as ours: that is the point of it being unverified.
	// The session id is in every record, so anyone can write one under
	// ours: it counts only with the trust of the line.
	own := !msg.Suspect() && (msg.Nick == me || m.me != nil && m.me.ClientID() != "" && msg.ClientID == m.me.ClientID())
	mark, stamp := " ", m.Stamp(when)
	switch {
	case e.pending != 0:
		sw := m.gutterWidth() - 2
		mark, stamp, textStyle, nickStyle = "…", common.PadRight(strings.Repeat(" ", (sw-1)/2)+"⋯", sw), st.Pending, st.Pending
	case own:
		mark = st.Own.Render("▌")
	case e.mention:
		mark, textStyle = st.Mention.Render("!"), st.Mention
	}
	system := msg.Kind.System()
	if system {
		nickStyle, textStyle = st.System, st.System
	}
	if deleted {
		textStyle = st.System
	}
	width := max(w-m.gutterWidth(), 4)
	edited := state.Edited && !deleted
	// What people write is formatted (a small Markdown subset, links);
	// what the chat writes (joins, renames, "(message deleted)") is not.
	var lines []mdLine
	if system || deleted || msg.Trust == chat.Undecryptable {
		lines = plainLines(text)
	} else {
		lines = parseMarkup(text)
	}
	rows, more := fold(layout(lead, lines, edited, width))
	out := make([]string, len(rows), len(rows)+1)
	indent := strings.Repeat(" ", m.gutterWidth())
	for j, row := range rows {
		head := indent
		if j == 0 {
			head = mark + st.Time.Render(stamp) + " "
		}
		out[j] = head + m.paint(row, textStyle, nickStyle)
	}
	if more > 0 {
		out = append(out, indent+st.Dim.Render(fmt.Sprintf("… %d more line%s", more, common.Plural(more))))
	}
	return out
}

// markSelected marks the selected message's rows in the mark column: ▶
// on its first, ┃ on the rest, so the selection shows without colour.
func (m *Model) markSelected(out []string) {
	if m.sel == 0 {
		return
	}
	first := true
	for i, ref := range m.rows {
		if ref.entry < 0 || ref.day || m.entries[ref.entry].msg.Seq != m.sel || m.entries[ref.entry].pending != 0 {
			continue
		}
		mark := "┃"
		if first {
			mark, first = "▶", false
		}
		out[i] = m.Styles.Selected.Render(mark) + ansi.TruncateLeft(out[i], 1, "")
	}
}

// fold keeps the rows that fit in MaxRows with a last one that says how
// many more there are.
func fold[T any](rows []T) (kept []T, more int) {
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
	if !strings.Contains(text, "<U+") {
		return st.Render(text)
	}
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
