package messages

// Search highlights: the rows of a line that matches the search query
// mark each occurrence of it in the Match style. It works on rows as
// rendered (styled, wrapped), so it does not depend on how the body was
// drawn: it finds the query in the rows' plain text and wraps each
// occurrence in the Match style, restoring whatever style was active
// after it.

import (
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/search"
)

// SetHighlight marks query (case-insensitive) in the lines that match it,
// as the search finds them ("": no highlights).
func (m *Model) SetHighlight(query string) {
	q := search.Fold(query)
	if q == m.highlight {
		return
	}
	m.highlight = q
	for _, e := range m.entries {
		e.lines = nil // drawn again, with or without, when next on screen
	}
}

// Highlight is the query being marked ("": none), folded.
func (m *Model) Highlight() string { return m.highlight }

// highlighted is an entry's body rows with the matches marked, if the
// entry matches the query; the rows are as body drew them: the gutter,
// then on the first the lead (who), then the text.
func (m *Model) highlighted(e *entry, st chat.State, rows []string) []string {
	if m.highlight == "" || e.pending != 0 || !search.Matches(e.msg, st, m.highlight, PlainText) {
		return rows
	}
	msg := e.msg
	if st.Edited {
		msg.Text = st.Text
	}
	lead, _ := msg.Parts(false)
	// The text's part of each row, as byte ranges of the row's plain
	// text, joined by one space (what a wrap took out) so that a match
	// across a wrap is found.
	type part struct{ row, from, to, at int } // at: where it starts in joined
	var joined strings.Builder
	var parts []part
	for i, row := range rows {
		plain := ansi.Strip(row)
		from := cellOffset(plain, m.gutterWidth())
		if i == 0 {
			rest := plain[from:]
			if strings.HasPrefix(rest, lead+" ") {
				from += len(lead) + 1
			} else {
				from += min(len(rest), len(lead)+1)
			}
		}
		to := len(plain)
		if i == len(rows)-1 {
			if st.Edited {
				to = len(strings.TrimSuffix(plain, "(edited)"))
			}
			if t := strings.TrimLeft(plain, " "); len(rows) >= MaxRows && strings.HasPrefix(t, "… ") && strings.Contains(t, " more line") {
				continue // "… 3 more lines": the fold's, not the text's
			}
		}
		if to <= from {
			continue
		}
		if joined.Len() > 0 {
			joined.WriteByte(' ')
		}
		parts = append(parts, part{i, from, to, joined.Len()})
		joined.WriteString(plain[from:to])
	}
	spans := search.Spans(joined.String(), m.highlight)
	if len(spans) == 0 {
		return rows
	}
	open := styleOpen(m)
	out := make([]string, len(rows))
	copy(out, rows)
	for _, p := range parts {
		var marks [][2]int
		for _, s := range spans {
			a, b := max(s[0], p.at), min(s[1], p.at+(p.to-p.from))
			if a < b {
				marks = append(marks, [2]int{p.from + a - p.at, p.from + b - p.at})
			}
		}
		if len(marks) > 0 {
			out[p.row] = mark(rows[p.row], marks, open)
		}
	}
	return out
}

// styleOpen is the escape sequence that starts the Match style.
func styleOpen(m *Model) string {
	open, _, _ := strings.Cut(m.Styles.Match.Render("x"), "x")
	return open
}

// cellOffset is the byte offset in s after its first cells cells.
func cellOffset(s string, cells int) int {
	for i := range s {
		if ansi.StringWidth(s[:i]) >= cells {
			return i
		}
	}
	return len(s)
}

// mark wraps the byte ranges marks of row's plain text (in order, not
// overlapping) in the escape sequence open, ending each with a reset and
// the styles that were active there, so the rest of the row looks as it
// did. Inside a mark, a style the row changes to is followed by open
// again. Other escape sequences (links) pass through as they are.
func mark(row string, marks [][2]int, open string) string {
	var b strings.Builder
	var active strings.Builder // the SGR sequences since the last reset
	plain, k := 0, 0
	in := false
	var state byte
	for s := row; len(s) > 0; {
		seq, _, n, next := ansi.DecodeSequence(s, state, nil)
		state = next
		if n <= 0 {
			n, seq = 1, s[:1]
		}
		s = s[n:]
		if seq[0] == ansi.ESC {
			b.WriteString(seq)
			if strings.HasPrefix(seq, "\x1b[") && strings.HasSuffix(seq, "m") {
				if seq == "\x1b[m" || seq == "\x1b[0m" {
					active.Reset()
				} else {
					active.WriteString(seq)
				}
				if in {
					b.WriteString(open)
				}
			}
			continue
		}
		if !in && k < len(marks) && plain+len(seq) > marks[k][0] {
			b.WriteString(open)
			in = true
		}
		b.WriteString(seq)
		plain += len(seq)
		if in && plain >= marks[k][1] {
			b.WriteString("\x1b[m" + active.String())
			in = false
			k++
		}
	}
	if in {
		b.WriteString("\x1b[m" + active.String())
	}
	return b.String()
}
