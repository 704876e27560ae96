package messages

// Laying formatted text out in rows: wrapping spans by cells, and
// drawing each row.

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// quoteBar is what a quote's rows start with.
const quoteBar = "▎ "

// layout lays a message's lines out in rows of at most w cells: lead
// (the nickname) in front of the first, edited's note after the last. A
// message that starts with a quote or a code block has its nickname on
// a row of its own, above.
func layout(lead string, lines []mdLine, edited bool, w int) [][]span {
	var rows [][]span
	leadRow := []span{{text: lead, a: aLead}, {text: " "}}
	first := true
	// Every row of a code block is as wide as its widest line (up to
	// the row), so its background is one box.
	var blockWidth []int
	for _, l := range lines {
		if l.kind != codeLine {
			continue
		}
		for len(blockWidth) <= l.block {
			blockWidth = append(blockWidth, 0)
		}
		blockWidth[l.block] = min(max(blockWidth[l.block], ansi.StringWidth(l.code)), max(w-2, 1))
	}
	last := len(lines) - 1
	for i, l := range lines {
		if first && l.kind != textLine {
			rows = append(rows, wrapSpans(leadRow[:1], w)...)
		}
		switch l.kind {
		case textLine:
			sp := l.spans
			if first {
				sp = append(leadRow, sp...)
			}
			if edited && i == last {
				sp = append(sp, span{text: " "}, span{text: "(edited)", a: aEdited})
			}
			rows = append(rows, wrapSpans(sp, w)...)
		case quoteLine:
			sp := make([]span, len(l.spans), len(l.spans)+2)
			for j, s := range l.spans {
				s.a |= aQuote
				sp[j] = s
			}
			if edited && i == last {
				sp = append(sp, span{text: " ", a: aQuote}, span{text: "(edited)", a: aEdited})
			}
			for _, r := range wrapSpans(sp, max(w-ansi.StringWidth(quoteBar), 1)) {
				rows = append(rows, append([]span{{text: quoteBar, a: aQuoteBar}}, r...))
			}
		case codeLine:
			rows = append(rows, []span{{text: codeRow(l.code, blockWidth[l.block]), a: aCodeBlock}})
			if edited && i == last {
				rows = append(rows, []span{{text: "(edited)", a: aEdited}})
			}
		}
		first = false
	}
	return rows
}

// codeRow is a code block's line as shown: never wrapped (code is read
// by its columns), cut with … past w cells, padded to w, with a cell of
// background on each side.
func codeRow(line string, w int) string {
	if ansi.StringWidth(line) > w {
		line = ansi.Truncate(line, w, "…")
	}
	return " " + line + strings.Repeat(" ", max(w-ansi.StringWidth(line), 0)) + " "
}

// piece is part of a word: a span, how wide it is, whether it may break.
type piece struct {
	s    span
	w    int
	atom bool // a link: never broken
}

// wrapper lays pieces out greedily, as common.Wrap does plain text:
// words break at spaces and after hyphens, and a word longer than a row
// is cut by cells; the spaces at a break go. A link is an atom: one that
// does not fit the rest of a row starts a new one, and one longer than a
// row is shortened to fit.
type wrapper struct {
	w     int
	rows  [][]span
	cur   []span
	curW  int
	pend  []piece // spaces waiting for the next word
	pendW int
	word  []piece
	wordW int
}

// wrapSpans lays spans out in rows of at most w cells.
func wrapSpans(spans []span, w int) [][]span {
	l := wrapper{w: max(w, 1)}
	for _, s := range spans {
		if s.a&aLink != 0 {
			// Whole: it is shortened, if it must be, when its word is
			// placed.
			n := ansi.StringWidth(s.text)
			l.word = append(l.word, piece{s: s, w: n, atom: true})
			l.wordW += n
			continue
		}
		for t := s.text; t != ""; {
			if n := spaceLen(t); n > 0 {
				l.flushWord()
				l.pend = append(l.pend, piece{s: span{text: t[:n], a: s.a}, w: cells(t[:n])})
				l.pendW += l.pend[len(l.pend)-1].w
				t = t[n:]
				continue
			}
			n, hyphen := wordLen(t)
			p := piece{s: span{text: t[:n], a: s.a}, w: cells(t[:n])}
			l.word = append(l.word, p)
			l.wordW += p.w
			if hyphen {
				l.flushWord() // a break may follow a hyphen
			}
			t = t[n:]
		}
	}
	l.flushWord()
	if l.curW+l.pendW <= l.w {
		l.add(l.pend...) // trailing spaces, as common.Wrap keeps them
	}
	l.rows = append(l.rows, l.cur)
	return l.rows
}

func (l *wrapper) add(ps ...piece) {
	for _, p := range ps {
		if n := len(l.cur); n > 0 && l.cur[n-1].a == p.s.a && p.s.a&aLink == 0 {
			l.cur[n-1].text += p.s.text
		} else {
			l.cur = append(l.cur, p.s)
		}
		l.curW += p.w
	}
}

func (l *wrapper) newRow() {
	l.rows = append(l.rows, l.cur)
	l.cur, l.curW = nil, 0
}

// flushWord puts the word gathered on the row, or on the next, or cuts it
// over several when it is longer than a row.
func (l *wrapper) flushWord() {
	if len(l.word) == 0 {
		return
	}
	defer func() { l.word, l.wordW, l.pend, l.pendW = l.word[:0], 0, l.pend[:0], 0 }()
	switch {
	case l.curW+l.pendW+l.wordW <= l.w:
		l.add(l.pend...)
		l.add(l.word...)
		return
	case l.wordW <= l.w:
		if l.curW > 0 {
			l.newRow()
		}
		l.add(l.word...)
		return
	}
	// Longer than a row.
	atoms, atomW := 0, 0
	for _, p := range l.word {
		if p.atom {
			atoms++
			atomW += p.w
		}
	}
	if l.curW > 0 {
		l.newRow()
	}
	if rest := l.wordW - atomW; atoms == 1 && rest <= l.w/3 {
		// A link with a little punctuation about it, "(https://…).":
		// the link is shortened so that the whole is one row, rather
		// than leave the "." to start the next.
		for i := range l.word {
			if l.word[i].atom {
				l.word[i].shorten(l.w - rest)
			}
		}
		l.add(l.word...)
		return
	}
	for _, p := range l.word {
		if p.atom {
			p.shorten(l.w)
			if l.curW+p.w > l.w {
				l.newRow()
			}
			l.add(p)
			continue
		}
		for t := p.s.text; t != ""; {
			if l.curW >= l.w {
				l.newRow()
			}
			n, tw := fit(t, l.w-l.curW, l.curW == 0)
			if n == 0 {
				l.newRow()
				continue
			}
			l.add(piece{s: span{text: t[:n], a: p.s.a}, w: tw})
			t = t[n:]
		}
	}
}

// shorten cuts a link's text to w cells (its target stays whole).
func (p *piece) shorten(w int) {
	if p.w > w {
		p.s.text = shortenLink(p.s.text, w)
		p.w = ansi.StringWidth(p.s.text)
	}
}

// fit is how much of t (bytes, cells) fits in w cells, whole grapheme
// clusters; at least one when must (a row's first, even if wider).
func fit(t string, w int, must bool) (n, used int) {
	if isASCII(t) {
		n = min(len(t), w)
		if n == 0 && must {
			n = 1
		}
		return n, n
	}
	for n < len(t) {
		g, gw := ansi.FirstGraphemeCluster(t[n:], ansi.GraphemeWidth)
		if used+gw > w && !(must && n == 0) {
			break
		}
		n += len(g)
		used += gw
	}
	return n, used
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func cells(s string) int {
	if isASCII(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// isBreakSpace: a space a row may break at (not a no-break space, as in
// ansi.Wrap).
func isBreakSpace(r rune) bool { return unicode.IsSpace(r) && r != '\u00a0' }

// spaceLen is the length of the spaces t starts with.
func spaceLen(t string) int {
	n := 0
	for n < len(t) {
		r, size := utf8.DecodeRuneInString(t[n:])
		if !isBreakSpace(r) {
			break
		}
		n += size
	}
	return n
}

// wordLen is the length of the word t starts with, up to a space, or
// up to and with a hyphen (hyphen is then true).
func wordLen(t string) (n int, hyphen bool) {
	for n < len(t) {
		c := t[n]
		if c == '-' {
			return n + 1, true
		}
		if c < utf8.RuneSelf {
			if c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' {
				return n, false
			}
			n++
			continue
		}
		r, size := utf8.DecodeRuneInString(t[n:])
		if isBreakSpace(r) {
			return n, false
		}
		n += size
	}
	return n, false
}

// shortenLink is a link's text cut to w cells, keeping its start, the
// site first (who it goes to is what a reader must see), and its end
// (what it points at): "https://example.com/very/lo…/end". The target
// stays whole.
func shortenLink(u string, w int) string {
	if w < 12 {
		return ansi.Truncate(u, w, "…")
	}
	if site := siteOf(u); ansi.StringWidth(site)+2 > w {
		// A host too long for the row: its end is what names who runs
		// it ("paypal.com.verify.evil.example" is evil.example's), so the
		// cut is in its middle: "https://…verify.evil.example/…".
		scheme := ""
		if i := strings.Index(site, "://"); i >= 0 {
			scheme = site[:i+3]
		}
		host := strings.TrimSuffix(strings.TrimPrefix(site, scheme), "/")
		more := ""
		if len(u) > len(scheme)+len(host)+1 {
			more = "/…"
		}
		avail := max(w-ansi.StringWidth(scheme)-1-ansi.StringWidth(more), 1)
		return scheme + "…" + ansi.TruncateLeft(host, max(ansi.StringWidth(host)-avail, 0), "") + more
	}
	tail := ""
	if i := strings.LastIndexByte(strings.TrimSuffix(u, "/"), '/'); i >= 0 && i < len(u)-1 && !strings.HasSuffix(u[:i+1], "//") {
		tail = u[i:]
	}
	keep := w / 3
	if site := ansi.StringWidth(siteOf(u)); site+1+keep > w {
		keep = max(w-1-site, 0)
	}
	if tw := ansi.StringWidth(tail); tw > keep {
		tail = ansi.TruncateLeft(tail, tw-keep, "")
	}
	return ansi.Truncate(u, w-1-ansi.StringWidth(tail), "") + "…" + tail
}

// siteOf is a link's scheme and host, with the / after it.
func siteOf(u string) string {
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + 3
	}
	if j := strings.IndexByte(u[start:], '/'); j >= 0 {
		return u[:start+j+1]
	}
	return u
}

// paint draws one row. Every span's text is plain, without escapes: this
// is the one place where a row's plain text is styled (text is the
// message's style, nick its nickname's), so a search highlight can split
// a row's spans at its matches just before.
func (m *Model) paint(row []span, text, nick lipgloss.Style) string {
	st := m.Styles
	var b strings.Builder
	for _, s := range row {
		switch {
		case s.a&aLead != 0:
			b.WriteString(m.styled(s.text, nick))
		case s.a&aEdited != 0:
			b.WriteString(st.Dim.Render(s.text))
		case s.a&aQuoteBar != 0:
			b.WriteString(st.QuoteBar.Render(s.text))
		default:
			style := m.compose(s.a, text)
			if s.url != "" {
				style = style.Hyperlink(s.url)
			}
			b.WriteString(m.styled(s.text, style))
		}
	}
	return b.String()
}

// compose is the style of text drawn a: the formatting's styles over the
// message's (a mention's colour stays bold in bold).
func (m *Model) compose(a attr, base lipgloss.Style) lipgloss.Style {
	if a == 0 {
		return base
	}
	st, s := m.Styles, base
	if a&aQuote != 0 {
		s = st.Quote.Inherit(s)
	}
	if a&aCodeBlock != 0 {
		s = st.CodeBlock.Inherit(s)
	}
	if a&aBold != 0 {
		s = st.Bold.Inherit(s)
	}
	if a&aItalic != 0 {
		s = st.Italic.Inherit(s)
	}
	if a&aStrike != 0 {
		s = st.Strike.Inherit(s)
	}
	if a&aCode != 0 {
		s = st.Code.Inherit(s)
	}
	if a&aLink != 0 {
		s = st.Link.Inherit(s)
	}
	return s
}
