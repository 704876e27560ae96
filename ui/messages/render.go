package messages

// Rendering one message into the pane's rows, cached per entry.

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/ui/common"
)

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
	// A line under our nickname that its signature does not prove ours
	// is not marked as ours: that is the point of it being unverified.
	// The session id is in every record, so anyone can write one under
	// ours: it counts only with the trust of the line.
	own := !msg.Suspect() && (msg.Nick == me || m.me != nil && m.me.ClientID() != "" && msg.ClientID == m.me.ClientID())
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
	wrapped, more := fold(common.Wrap(prefix+text, width))
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
