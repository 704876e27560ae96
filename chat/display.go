package chat

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The display filter: every output path (the TUI's panes, header and
// status line, `history` text and JSON) shows text from the wire through
// it, so that nothing anyone writes into a room can move the cursor,
// reprogram the terminal, hide characters, reorder a line, or make a row
// wider or narrower than the layout measured.
//
// The layout measures text by grapheme clusters while most terminals (and
// Bubble Tea's renderer, unless the terminal reports mode 2027) count
// cells per code point, so the filter keeps only text on which both agree:
//
//   - Format and invisible characters (bidi controls, zero-width spaces and
//     joiners, the soft hyphen, tags, fillers) and control characters are
//     shown as a visible <U+202E>. A bidi override can then not reverse the
//     rest of a row, an invisible character can not hide in a word, and a
//     soft hyphen (0 cells for the layout, 1 in tmux and xterm) can not push
//     a border out.
//   - Emoji sequences are shown as their parts, side by side: a ZWJ between
//     two pictographs, a presentation selector (U+FE0E, U+FE0F), a skin tone
//     modifier or a tag sequence after a pictograph are dropped. A joined
//     family is one 2-cell cluster for the layout, 2 cells in some terminals
//     and 8 in others; its four people are 8 cells everywhere. The meaning
//     survives (who, not how they are drawn), and the full text is still in
//     the message and in `history --json`.
//   - ZWJ and ZWNJ between two letters of a script that writes with them
//     (Persian, the Indic scripts) are orthography, not tricks, and zero
//     cells for everyone: they are kept.
//   - A character carries at most maxMarks combining marks: the rest of a
//     "Zalgo" pile, which would spill into the rows above and below, is
//     dropped.
//   - Tabs become spaces; a CR before a newline goes; newlines stay only
//     where the text may have several lines (DisplayText).

// maxMarks is how many combining marks one character may carry on screen:
// enough for any real script (Vietnamese stacks two, pointed Hebrew and
// Tibetan three or four), far below a Zalgo pile.
const maxMarks = 4

// action is what the filter does with one character.
type action int

const (
	show      action = iota // the character itself
	drop                    // nothing: an emoji joiner or selector, a mark past the cap, the CR of a CRLF
	mark                    // a visible <U+XXXX>
	lineBreak               // a newline
	tab                     // a space
)

const (
	zwj  = '\u200d'
	zwnj = '\u200c'
	vs15 = '\ufe0e'
	vs16 = '\ufe0f'
)

// classify walks s and tells f what to do with each character; a run
// of printable ASCII, which needs no decision, comes whole as ascii.
// Invalid UTF-8 comes as utf8.RuneError, shown (as U+FFFD, visibly).
func classify(s string, ascii func(run string), f func(r rune, a action)) {
	var prev rune = -1 // the last character shown: context for joiners and modifiers
	marks := 0         // combining marks on the current character
	for i := 0; i < len(s); {
		if j := printableASCII(s[i:]); j > 0 {
			ascii(s[i : i+j])
			prev, marks = rune(s[i+j-1]), 0
			i += j
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		next := rune(-1) // only joiners and CR look ahead
		if r == zwj || r == zwnj || r == '\r' {
			next, _ = utf8.DecodeRuneInString(s[i:])
		}
		isMark := isCombining(r)
		a := decide(r, prev, next, marks, isMark)
		switch {
		case a == show && isMark:
			marks++
		case a != drop:
			marks = 0
		}
		if a == show {
			prev = r
		} else if a != drop {
			prev = -1
		}
		f(r, a)
	}
}

// printableASCII is the length of the run of printable ASCII s starts with.
func printableASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return i
		}
	}
	return len(s)
}

func isCombining(r rune) bool {
	return r >= 0x300 && unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc)
}

func decide(r, prev, next rune, marks int, isMark bool) action {
	switch {
	case r == '\n':
		return lineBreak
	case r == '\t':
		return tab
	case r == '\r' && next == '\n':
		return drop
	case r == vs15 || r == vs16:
		return drop // presentation only: text or emoji style of the same character
	case pictographic(prev) && (isModifier(r) || isTag(r)):
		return drop // skin tone, or the tag letters of a subdivision flag
	case r == zwj && pictographic(prev) && pictographic(next):
		return drop
	case (r == zwj || r == zwnj) && sameJoiningScript(prev, next):
		return show
	case hidden(r):
		return mark
	case isMark && marks >= maxMarks:
		return drop
	}
	return show
}

// hidden: a character that is invisible, changes how others are shown,
// or controls the terminal.
func hidden(r rune) bool {
	if r < utf8.RuneSelf {
		return r < 0x20 || r == 0x7f
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point) ||
		r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe // noncharacters
}

func isModifier(r rune) bool { return r >= 0x1f3fb && r <= 0x1f3ff }

func isTag(r rune) bool { return r >= 0xe0020 && r <= 0xe007f }

// pictographic approximates Unicode's Extended_Pictographic (which the
// standard library does not carry): the blocks that emoji come from. It
// decides only whether a joiner between two characters is an emoji
// sequence's; a symbol counted wrongly just shows beside its neighbour.
func pictographic(r rune) bool {
	return r >= 0 && unicode.Is(pictographs, r) && !isModifier(r) && !(r >= 0x1f1e6 && r <= 0x1f1ff)
}

var pictographs = &unicode.RangeTable{
	R16: []unicode.Range16{
		{0x00a9, 0x00a9, 1}, {0x00ae, 0x00ae, 1}, {0x203c, 0x203c, 1}, {0x2049, 0x2049, 1},
		{0x2122, 0x2122, 1}, {0x2139, 0x2139, 1}, {0x2194, 0x21aa, 1}, {0x231a, 0x23ff, 1},
		{0x24c2, 0x24c2, 1}, {0x25aa, 0x25fe, 1}, {0x2600, 0x27bf, 1}, {0x2934, 0x2935, 1},
		{0x2b05, 0x2b55, 1}, {0x3030, 0x3030, 1}, {0x303d, 0x303d, 1}, {0x3297, 0x3297, 1},
		{0x3299, 0x3299, 1},
	},
	R32: []unicode.Range32{{0x1f000, 0x1faff, 1}, {0x1fc00, 0x1fffd, 1}},
}

// joiningScripts write words with ZWJ and ZWNJ (Persian and Urdu in
// Arabic script, the Indic scripts' half forms and conjuncts).
var joiningScripts = []*unicode.RangeTable{
	unicode.Arabic, unicode.Syriac, unicode.Devanagari, unicode.Bengali, unicode.Gurmukhi,
	unicode.Gujarati, unicode.Oriya, unicode.Tamil, unicode.Telugu, unicode.Kannada,
	unicode.Malayalam, unicode.Sinhala,
}

func sameJoiningScript(a, b rune) bool {
	if a < 0 || b < 0 {
		return false
	}
	for _, s := range joiningScripts {
		if unicode.Is(s, a) && unicode.Is(s, b) {
			return true
		}
	}
	return false
}

// filter applies the display filter; newline is what a line break becomes.
func filter(s, newline string) string {
	if printableASCII(s) == len(s) {
		return s // most text: nothing to do, nothing to copy
	}
	var b strings.Builder
	b.Grow(len(s))
	classify(s, func(run string) { b.WriteString(run) }, func(r rune, a action) {
		switch a {
		case show:
			b.WriteRune(r)
		case mark:
			fmt.Fprintf(&b, "<U+%04X>", r)
		case lineBreak:
			b.WriteString(newline)
		case tab:
			b.WriteByte(' ')
		}
	})
	return b.String()
}

// DisplayText is someone else's message text as it may be shown, over
// several lines: see the display filter above.
func DisplayText(s string) string { return filter(s, "\n") }

// LineBreak is how DisplayLine shows a newline.
const LineBreak = " ↵ "

// DisplayLine is text shown on one line (a `history` line, a room name, a
// status): as DisplayText, with every newline shown as LineBreak, so one
// message is always one line of output.
func DisplayLine(s string) string { return filter(s, LineBreak) }

// maxShownNick is how much of a bad nickname is shown, in characters.
const maxShownNick = 2 * MaxNick

// DisplayNick is a nickname from the wire as it may be shown. One that
// CheckNick accepts is shown as it is; any other (written through the
// raw API: with a newline, a bidi override, 60 KB long) is shown in
// double quotes, which no valid nickname contains, with every character
// that is not plainly visible escaped as \n or \u202e, and cut after
// maxShownNick characters. So a nickname can never forge a line, pass
// for another, or break a row.
func DisplayNick(nick string) string {
	if CheckNick(nick) == nil {
		return nick
	}
	var b strings.Builder
	b.WriteByte('"')
	n := 0
	for _, r := range nick {
		if n == maxShownNick {
			b.WriteString(`"…`)
			return b.String()
		}
		n++
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case plainNickRune(r):
			b.WriteRune(r)
		default:
			writeEscape(&b, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// plainNickRune: a character a bad nickname may show as itself. Marks,
// joiners, selectors and modifiers are escaped too, so that what is
// shown has one width for every terminal.
func plainNickRune(r rune) bool {
	if r == ' ' {
		return true
	}
	if hidden(r) || isModifier(r) || r == utf8.RuneError {
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}

// writeEscape writes r as \uXXXX, or \UXXXXXXXX beyond the BMP.
func writeEscape(b *strings.Builder, r rune) {
	if r > 0xffff {
		fmt.Fprintf(b, `\U%08x`, r)
		return
	}
	fmt.Fprintf(b, `\u%04x`, r)
}

// EscapeJSON makes encoded JSON safe to show: every character in it that
// the display filter would not show as itself (controls, bidi and
// invisible characters, emoji joiners, marks past the cap) becomes a
// \uXXXX escape (a UTF-16 pair beyond the BMP). The JSON decodes to
// exactly the same values: the escapes stand for the same characters.
// Such characters only occur inside JSON strings, so the escapes are
// always in a string.
func EscapeJSON(data []byte) []byte {
	if !hasNonASCII(data) {
		return data // JSON escapes every ASCII control itself
	}
	var b strings.Builder
	b.Grow(len(data))
	classify(string(data), func(run string) { b.WriteString(run) }, func(r rune, a action) {
		if a == show || r < utf8.RuneSelf && a != mark {
			b.WriteRune(r)
			return
		}
		for _, u := range utf16Units(r) {
			fmt.Fprintf(&b, `\u%04x`, u)
		}
	})
	return []byte(b.String())
}

// hasNonASCII: data holds a byte of 0x7f (DEL) or more. It looks at 8
// bytes at a time: adding 1 to each byte sets its top bit exactly when it
// was 0x7f, and any carry into the next byte starts at an 0xff, whose top
// bit is set already.
func hasNonASCII(data []byte) bool {
	const ones, tops = 0x0101010101010101, 0x8080808080808080
	for len(data) >= 8 {
		if w := binary.LittleEndian.Uint64(data); (w|(w+ones))&tops != 0 {
			return true
		}
		data = data[8:]
	}
	for _, c := range data {
		if c >= 0x7f {
			return true
		}
	}
	return false
}

func utf16Units(r rune) []rune {
	if r <= 0xffff {
		return []rune{r}
	}
	r -= 0x10000
	return []rune{0xd800 + r>>10, 0xdc00 + r&0x3ff}
}
