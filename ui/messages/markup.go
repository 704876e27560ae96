package messages

// Formatting: the small Markdown subset messages render, and links.
//
// Hand-written rather than glamour: the pane needs rows it can cache per
// entry, wrap itself by cells (a link must never break, a code block
// must never wrap) and style from the theme's Styles, and glamour renders
// a whole document with margins, its own wrapping and its own styles, in
// tens of microseconds per message where this takes a few. Full
// CommonMark is not the point: what people type in a chat is.
//
// What renders:
//
//   - **bold**, *italic* and _italic_ (an underscore only at a word's
//     edge, so snake_case stays as it is), ~~strike~~, `code`, with the
//     flanking rules of CommonMark, so "2 * 3 * 4" stays as it is and
//     ***both*** nests;
//   - a line starting "> " is a quote; a ``` line opens a code block that
//     a ``` line closes (an unclosed fence stays text);
//   - http://, https:// and www. links, made OSC 8 hyperlinks;
//   - a backslash before punctuation keeps it literal (\*not italic\*);
//     markers with no partner stay as they are.
//
// The text has been through the display filter (chat.DisplayText)
// before: it holds no control characters, only their visible <U+XXXX>.

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// attr is how a span of text is drawn.
type attr uint16

const (
	aBold attr = 1 << iota
	aItalic
	aStrike
	aCode      // `inline code`
	aLink      // a link: never broken by wrapping; its target is in span.url
	aQuote     // the text of a > quote
	aQuoteBar  // the bar in front of a quote's rows
	aCodeBlock // a row of a fenced code block, padded
	aLead      // the nickname in front of the text
	aEdited    // the "(edited)" note
)

// span is a run of plain text (no escapes) drawn one way.
type span struct {
	text string
	a    attr
	url  string // the link's target (aLink): printable ASCII only
}

// lineKind is what a line of a message is, as laid out.
type lineKind uint8

const (
	textLine  lineKind = iota
	quoteLine          // "> quoted"
	codeLine           // a line inside a fenced code block
)

// mdLine is one line of a message's text.
type mdLine struct {
	kind  lineKind
	spans []span // text and quote lines: the line's inline formatting
	code  string // code lines: the text as it is
	block int    // code lines: which block (its rows share a width)
}

// PlainText is text as the pane shows it once formatted, markers gone
// ("**deploy** failed" reads "deploy failed"), its lines as they are:
// what a search matches.
func PlainText(text string) string {
	var b strings.Builder
	for i, l := range parseMarkup(text) {
		if i > 0 {
			b.WriteByte('\n')
		}
		if l.kind == codeLine {
			b.WriteString(l.code)
			continue
		}
		for _, s := range l.spans {
			b.WriteString(s.text)
		}
	}
	return b.String()
}

// parseMarkup splits text into its lines and formats each.
func parseMarkup(text string) []mdLine {
	lines := strings.Split(text, "\n")
	out := make([]mdLine, 0, len(lines))
	block := 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if n := fenceOpen(l); n > 0 {
			if j := fenceClose(lines[i+1:], n); j >= 0 {
				block++
				code := lines[i+1 : i+1+j]
				if len(code) == 0 {
					code = []string{""} // an empty block still shows as one
				}
				for _, c := range code {
					out = append(out, mdLine{kind: codeLine, code: c, block: block})
				}
				i += j + 1
				continue
			}
		}
		if rest, ok := quoted(l); ok {
			out = append(out, mdLine{kind: quoteLine, spans: parseInline(rest)})
			continue
		}
		out = append(out, mdLine{kind: textLine, spans: parseInline(l)})
	}
	return out
}

// plainLines is text as it is, unformatted (lines the chat writes: joins,
// renames, "(message deleted)").
func plainLines(text string) []mdLine {
	lines := strings.Split(text, "\n")
	out := make([]mdLine, len(lines))
	for i, l := range lines {
		if l != "" {
			out[i].spans = []span{{text: l}}
		}
	}
	return out
}

// fenceOpen is the length of the backtick fence l opens (0: none): at
// most three spaces, three or more backticks, and an info string (the
// language, not shown) without backticks, as in CommonMark.
func fenceOpen(l string) int {
	t := strings.TrimLeft(l, " ")
	if len(l)-len(t) > 3 {
		return 0
	}
	n := run(t, '`')
	if n < 3 || strings.IndexByte(t[n:], '`') >= 0 {
		return 0
	}
	return n
}

// fenceClose is the index of the line that closes a fence of n
// backticks (-1: none does, and the fence is text).
func fenceClose(lines []string, n int) int {
	for j, l := range lines {
		t := strings.TrimLeft(l, " ")
		if len(l)-len(t) > 3 {
			continue
		}
		if k := run(t, '`'); k >= n && strings.TrimRight(t[k:], " ") == "" {
			return j
		}
	}
	return -1
}

// quoted is a quote line's text: "> text", or ">" alone. ">text" is not a
// quote, so ">_<" and ">.>" stay as they are.
func quoted(l string) (string, bool) {
	switch {
	case l == ">":
		return "", true
	case strings.HasPrefix(l, "> "):
		return l[2:], true
	}
	return "", false
}

// run is how many c s starts with.
func run(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// delim is a run of *, _ or ~ that may open or close emphasis.
type delim struct {
	tok         int  // its token
	c           byte // '*', '_' or '~'
	n, orig     int  // characters left unused, and how many it had
	open, close bool
	gone        bool // between a matched pair: it can match nothing now
}

// pair is matched emphasis: the tokens strictly between open and close
// get a.
type pair struct {
	open, close int
	a           attr
}

// maxLinkLen is the longest link, in bytes: a longer one is text (it
// wraps as words do), as no person clicks a target that long and some
// terminals refuse them.
const maxLinkLen = 2048

// parseInline formats one line: code spans, links, escapes and emphasis.
func parseInline(s string) []span {
	if !strings.ContainsAny(s, "*_~`\\") && !mayLink(s) {
		if s == "" {
			return nil
		}
		return []span{{text: s}} // most lines: nothing to format
	}
	var toks []span
	var ds []delim
	lit := 0 // start of the literal text not yet taken
	flush := func(end int) {
		if end > lit {
			toks = append(toks, span{text: s[lit:end]})
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			// The character after it starts the next literal text.
			flush(i)
			lit, i = i+1, i+2
			continue
		case c == '`':
			n := run(s[i:], '`')
			if start, end, next := codeSpan(s, i+n, n); next > 0 {
				flush(i)
				toks = append(toks, span{text: codeText(s[start:end]), a: aCode})
				lit, i = next, next
				continue
			}
			i += n // backticks with no partner: text, all of them
			continue
		case (c == 'h' || c == 'H' || c == 'w' || c == 'W') && linkMayStart(s, i):
			if n := linkLen(s[i:]); n > 0 {
				flush(i)
				u := s[i : i+n]
				toks = append(toks, span{text: u, a: aLink, url: linkTarget(u)})
				lit, i = i+n, i+n
				continue
			}
		case c == '*' || c == '_' || c == '~':
			n := run(s[i:], c)
			// ~~ strikes; _ makes italic alone (__init__ stays as it is).
			if c == '~' && n != 2 || c == '_' && n != 1 {
				i += n
				continue
			}
			flush(i)
			open, close := flanking(c, runeBefore(s, i), runeAfter(s, i+n))
			if open || close {
				ds = append(ds, delim{tok: len(toks), c: c, n: n, orig: n, open: open, close: close})
			}
			toks = append(toks, span{text: s[i : i+n]})
			lit, i = i+n, i+n
			continue
		}
		i++
	}
	flush(len(s))
	if len(ds) == 0 {
		return merge(toks)
	}
	pairs := matchEmphasis(ds)
	for _, d := range ds {
		toks[d.tok].text = toks[d.tok].text[:d.n] // what is left of the run is text
	}
	// Each kind of emphasis counts the pairs a token is inside.
	var depth [3][]int
	for k := range depth {
		depth[k] = make([]int, len(toks)+1)
	}
	for _, p := range pairs {
		k := emphasisIndex(p.a)
		depth[k][p.open+1]++
		depth[k][p.close]--
	}
	var in [3]int
	for i := range toks {
		for k, a := range []attr{aBold, aItalic, aStrike} {
			in[k] += depth[k][i]
			if in[k] > 0 {
				toks[i].a |= a
			}
		}
	}
	return merge(toks)
}

func emphasisIndex(a attr) int {
	switch a {
	case aBold:
		return 0
	case aItalic:
		return 1
	}
	return 2
}

// matchEmphasis pairs delimiter runs as CommonMark's "process emphasis"
// does: each closer takes the nearest opener of its kind, two characters
// (bold) when both have them, else one (italic); what is between a pair
// can match nothing outside it. Runs keep in n what they did not use.
func matchEmphasis(ds []delim) []pair {
	var pairs []pair
	// bottom[kind][can open][length mod 3]: below it, no opener for such
	// a closer (CommonMark's openers_bottom), so the search is linear.
	var bottom [3][2][3]int
	for k := range bottom {
		for o := range bottom[k] {
			bottom[k][o] = [3]int{-1, -1, -1}
		}
	}
	for ci := range ds {
		c := &ds[ci]
		for c.close && c.n > 0 && !c.gone {
			b := &bottom[kindIndex(c.c)][boolIndex(c.open)][c.orig%3]
			oi := -1
			for j := ci - 1; j > *b; j-- {
				o := &ds[j]
				if o.gone || o.n == 0 || !o.open || o.c != c.c {
					continue
				}
				// The rule of 3: "*a**b**c*" is italic around bold, not
				// italic "a" and a stray "**".
				if (o.close || c.open) && (o.orig+c.orig)%3 == 0 && (o.orig%3 != 0 || c.orig%3 != 0) {
					continue
				}
				oi = j
				break
			}
			if oi < 0 {
				*b = ci - 1
				break
			}
			o := &ds[oi]
			use, a := 1, aItalic
			switch {
			case c.c == '~':
				use, a = 2, aStrike
			case o.n >= 2 && c.n >= 2:
				use, a = 2, aBold
			}
			pairs = append(pairs, pair{open: o.tok, close: c.tok, a: a})
			o.n -= use
			c.n -= use
			for j := oi + 1; j < ci; j++ {
				ds[j].gone = true
			}
		}
	}
	return pairs
}

func kindIndex(c byte) int {
	switch c {
	case '*':
		return 0
	case '_':
		return 1
	}
	return 2
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// flanking says whether a run of c between before and after may open and
// close emphasis (CommonMark's left- and right-flanking runs; -1 is the
// line's edge, which counts as a space). An underscore must also be at a
// word's edge: snake_case stays as it is.
func flanking(c byte, before, after rune) (open, close bool) {
	spaceB, spaceA := before < 0 || unicode.IsSpace(before), after < 0 || unicode.IsSpace(after)
	punctB, punctA := isPunct(before), isPunct(after)
	left := !spaceA && (!punctA || spaceB || punctB)
	right := !spaceB && (!punctB || spaceA || punctA)
	if c == '_' {
		return left && (!right || punctB), right && (!left || punctA)
	}
	return left, right
}

func isPunct(r rune) bool {
	return r >= 0 && (unicode.IsPunct(r) || unicode.IsSymbol(r))
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

func runeBefore(s string, i int) rune {
	if i == 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

func runeAfter(s string, i int) rune {
	if i >= len(s) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// codeSpan finds the run of exactly n backticks that closes a code span
// whose text starts at from: the text is s[start:end], and next is where
// the line goes on (0: there is none, and the backticks are text).
func codeSpan(s string, from, n int) (start, end, next int) {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		k := run(s[i:], '`')
		if k == n {
			return from, i, i + k
		}
		i += k
	}
	return 0, 0, 0
}

// codeText is a code span's text: one space on each side is dropped when
// both are there, so a span opened by two backticks can start with one.
func codeText(t string) string {
	if len(t) >= 2 && t[0] == ' ' && t[len(t)-1] == ' ' && strings.Trim(t, " ") != "" {
		return t[1 : len(t)-1]
	}
	return t
}

// merge joins neighbouring spans drawn alike, and drops empty ones.
func merge(toks []span) []span {
	out := toks[:0]
	for _, t := range toks {
		if t.text == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].a == t.a && t.a&aLink == 0 {
			out[n-1].text += t.text
			continue
		}
		out = append(out, t)
	}
	return out
}

// linkMayStart: a link starts a word, not in one ("xhttp://" is no link,
// nor the "www.b" of "a.www.b").
func linkMayStart(s string, i int) bool {
	r := runeBefore(s, i)
	return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '/' || r == '@' || r == '-')
}

// linkLen is the length of the link s starts with (0: none). A link runs
// to a space, or to < > " ` (the display filter's <U+XXXX> marks start
// with <: an invisible character ends a link rather than hide in it);
// trailing punctuation is the sentence's (".", ",", a ")" that no "(" in
// the link opened, closing emphasis), not the link's.
func linkLen(s string) int {
	var p int
	switch {
	case hasPrefixFold(s, "https://"):
		p = len("https://")
	case hasPrefixFold(s, "http://"):
		p = len("http://")
	case hasPrefixFold(s, "www."):
		p = len("www.")
	default:
		return 0
	}
	if p >= len(s) {
		return 0
	}
	if c := s[p]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '[' || c >= utf8.RuneSelf) {
		return 0
	}
	end := p
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if r == '<' || r == '>' || r == '"' || r == '`' || unicode.IsSpace(r) {
			break
		}
		end += n
	}
	for end > p {
		switch c := s[end-1]; {
		case strings.IndexByte(".,:;!?'*_~", c) >= 0:
			end--
			continue
		case c == ')' && strings.Count(s[:end], ")") > strings.Count(s[:end], "("),
			c == ']' && strings.Count(s[:end], "]") > strings.Count(s[:end], "["):
			end--
			continue
		}
		break
	}
	if end == p || end > maxLinkLen {
		return 0
	}
	return end
}

// mayLink: s holds something a link starts with.
func mayLink(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	for i := strings.IndexByte(s, '.'); i >= 0; {
		if i >= 3 && strings.EqualFold(s[i-3:i], "www") {
			return true
		}
		j := strings.IndexByte(s[i+1:], '.')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// linkTarget is the target of a link as written: printable ASCII only,
// every other byte percent-encoded (UTF-8 is what browsers decode it
// to), so no target can end its OSC 8 sequence or start another,
// whatever the text was; "www." links are https.
func linkTarget(u string) string {
	var b strings.Builder
	b.Grow(len(u) + 8)
	if hasPrefixFold(u, "www.") {
		b.WriteString("https://")
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c > ' ' && c < 0x7f {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
