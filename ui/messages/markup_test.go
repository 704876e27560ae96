package messages

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// notation writes spans so a test can say what it expects: plain text as
// it is, formatted text as {attrs|text}, a link as {l=target|text}.
func notation(sp []span) string {
	var b strings.Builder
	for _, s := range sp {
		if s.a == 0 {
			b.WriteString(s.text)
			continue
		}
		b.WriteByte('{')
		for _, f := range []struct {
			a attr
			c string
		}{{aBold, "b"}, {aItalic, "i"}, {aStrike, "s"}, {aCode, "c"}, {aLink, "l"}, {aQuote, "q"}} {
			if s.a&f.a != 0 {
				b.WriteString(f.c)
			}
		}
		if s.url != "" {
			b.WriteString("=" + s.url)
		}
		b.WriteString("|" + s.text + "}")
	}
	return b.String()
}

func TestInlineFormatting(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Each construct.
		{"**bold**", "{b|bold}"},
		{"*italic*", "{i|italic}"},
		{"_italic_", "{i|italic}"},
		{"~~struck~~", "{s|struck}"},
		{"`code`", "{c|code}"},
		{"say **hi** now", "say {b|hi} now"},
		{"mid**word**bold", "mid{b|word}bold"},
		{"(_aside_)", "({i|aside})"},
		// Underscores only at a word's edge; a double one is no marker.
		{"snake_case_name", "snake_case_name"},
		{"mid_word_", "mid_word_"},
		{"__init__", "__init__"},
		// A single tilde, and runs of three, are text.
		{"~/src and ~5 and ~~~x~~~", "~/src and ~5 and ~~~x~~~"},
		// Inside code, nothing is formatted, backslashes included.
		{"`a *b* c \\*`", "{c|a *b* c \\*}"},
		{"``a ` b``", "{c|a ` b}"},
		{"`` `x` ``", "{c|`x`}"},
		// Backslash escapes stay literal.
		{`\*not italic\*`, "*not italic*"},
		{`\*\*not bold\*\*`, "**not bold**"},
		{"\\`not code\\`", "`not code`"},
		{`\_not\_ \~~not\~~`, "_not_ ~~not~~"},
		{`a\\b`, `a\b`},
		{`C:\Users\me`, `C:\Users\me`},
		{`trailing\`, `trailing\`},
		// Unbalanced markers stay literal.
		{"**unbalanced", "**unbalanced"},
		{"*a", "*a"},
		{"a*", "a*"},
		{"`open", "`open"},
		{"``open`", "``open`"},
		{"~~open", "~~open"},
		{"**bold** and *", "{b|bold} and *"},
		{"***x**", "*{b|x}"},
		{"**x***", "{b|x}*"},
		// Markers that flank spaces are not markers.
		{"2 * 3 * 4", "2 * 3 * 4"},
		{"** not bold **", "** not bold **"},
		{"a _ b _ c", "a _ b _ c"},
		// Nesting bold and italic.
		{"***both***", "{bi|both}"},
		{"**bold *both* bold**", "{b|bold }{bi|both}{b| bold}"},
		{"*it **both** it*", "{i|it }{bi|both}{i| it}"},
		{"*foo**bar**baz*", "{i|foo}{bi|bar}{i|baz}"},
		{"**a** and **b**", "{b|a} and {b|b}"},
		{"~~**x**~~", "{bs|x}"},
		{"**`code` in bold**", "{bc|code}{b| in bold}"},
	} {
		if got := notation(parseInline(tc.in)); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestLinks(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://example.com", "{l=https://example.com|https://example.com}"},
		{"see http://example.com/a?b=1&c=2#d now", "see {l=http://example.com/a?b=1&c=2#d|http://example.com/a?b=1&c=2#d} now"},
		// Ending punctuation is the sentence's.
		{"at https://example.com.", "at {l=https://example.com|https://example.com}."},
		{"https://example.com/a, and", "{l=https://example.com/a|https://example.com/a}, and"},
		{"really https://example.com/x?!", "really {l=https://example.com/x|https://example.com/x}?!"},
		{"'https://example.com/q'", "'{l=https://example.com/q|https://example.com/q}'"},
		{"https://example.com/a,b;c", "{l=https://example.com/a,b;c|https://example.com/a,b;c}"},
		// A ")" is the link's when a "(" in it opened it.
		{"(see https://example.com/x)", "(see {l=https://example.com/x|https://example.com/x})"},
		{"https://en.wikipedia.org/wiki/Go_(language)", "{l=https://en.wikipedia.org/wiki/Go_(language)|https://en.wikipedia.org/wiki/Go_(language)}"},
		{"(https://en.wikipedia.org/wiki/Go_(language)).", "({l=https://en.wikipedia.org/wiki/Go_(language)|https://en.wikipedia.org/wiki/Go_(language)})."},
		{"[https://example.com/x]", "[{l=https://example.com/x|https://example.com/x}]"},
		{"<https://example.com/x>", "<{l=https://example.com/x|https://example.com/x}>"},
		// www. links are https; the scheme's case does not matter.
		{"www.example.org/x", "{l=https://www.example.org/x|www.example.org/x}"},
		{"HTTPS://EXAMPLE.COM", "{l=HTTPS://EXAMPLE.COM|HTTPS://EXAMPLE.COM}"},
		// Not links.
		{"xhttps://example.com", "xhttps://example.com"},
		{"a.www.example.org", "a.www.example.org"},
		{"https://", "https://"},
		{"https://.", "https://."},
		{"http:// spaced", "http:// spaced"},
		{"`https://example.com/in/code`", "{c|https://example.com/in/code}"},
		// A link is not formatted inside, and takes the formatting
		// around it.
		{"https://example.com/snake_case_*path*", "{l=https://example.com/snake_case_*path|https://example.com/snake_case_*path}*"},
		{"**https://example.com**", "{bl=https://example.com|https://example.com}"},
		{"_https://example.com/x_", "{il=https://example.com/x|https://example.com/x}"},
		// Beyond ASCII the target is percent-encoded; the text shows as it is.
		{"https://例え.jp/パス?q=ü", "{l=https://%E4%BE%8B%E3%81%88.jp/%E3%83%91%E3%82%B9?q=%C3%BC|https://例え.jp/パス?q=ü}"},
	} {
		if got := notation(parseInline(tc.in)); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.in, got, tc.want)
		}
	}
	long := "https://example.com/" + strings.Repeat("a", maxLinkLen)
	if got := parseInline(long); len(got) != 1 || got[0].a != 0 {
		t.Errorf("a %d-byte link is a link: %s", len(long), notation(got))
	}
}

// TestHostileLinks: whatever a link's text holds, its target is
// printable ASCII, so it can neither end its OSC 8 sequence nor start
// another; through the display filter, an escape ends the link instead.
func TestHostileLinks(t *testing.T) {
	for _, tc := range []struct{ text, first string }{
		{"https://evil.example/\x1b]8;;https://phish.example\x07click\x1b]8;;\x07", "https://evil.example/"},
		{"https://evil.example/\x1b\\\x1b[2J\x1b]0;title\x07", "https://evil.example/"},
		{"https://evil.example/x\u009d8;;https://phish.example\u009c", "https://evil.example/x"}, // C1 OSC and ST
		{"https://evil.example/\u202egpj.exe", "https://evil.example/"},
		{"https://evil.example/a\x00b\x7fc\u200bd", "https://evil.example/a"},
		{"https://evil.example/\"onclick=\"x", "https://evil.example/"},
		{"https://evil.example/ spaced", "https://evil.example/"},
		{"www.evil.example/\x07", "www.evil.example/"},
	} {
		// Raw, without the filter: the target is still safe.
		if got := linkTarget(tc.text); !printable(got) {
			t.Errorf("linkTarget(%q) = %q: not printable ASCII", tc.text, got)
		}
		// As the pane sees it, after the display filter: a link ends
		// where a hidden character starts, and what it shows is what it
		// points at.
		var links []span
		for _, s := range parseInline(chat.DisplayText(tc.text)) {
			if s.a&aLink != 0 {
				links = append(links, s)
			}
		}
		if len(links) == 0 || links[0].text != tc.first {
			t.Errorf("%q: links %s, want the first %q", tc.text, notation(links), tc.first)
		}
		for _, s := range links {
			if !printable(s.url) || s.url != linkTarget(s.text) || strings.ContainsAny(s.text, "\x1b\x07<>\" ") {
				t.Errorf("%q: link %q to %q", tc.text, s.text, s.url)
			}
		}
	}
}

// printable: every byte is printable ASCII, no space.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func TestBlocks(t *testing.T) {
	show := func(ls []mdLine) string {
		var out []string
		for _, l := range ls {
			switch l.kind {
			case codeLine:
				out = append(out, fmt.Sprintf("code%d:%s", l.block, l.code))
			case quoteLine:
				out = append(out, "quote:"+notation(l.spans))
			default:
				out = append(out, "text:"+notation(l.spans))
			}
		}
		return strings.Join(out, "\n")
	}
	for _, tc := range []struct{ in, want string }{
		{"```\ncode *x*\n  indented\n```\nafter", "code1:code *x*\ncode1:  indented\ntext:after"},
		{"look:\n```go\nfmt.Println()\n```", "text:look:\ncode1:fmt.Println()"},
		{"```\n```", "code1:"},
		{"````\n```\nstill code\n````", "code1:```\ncode1:still code"},
		{"```\none\n```\n```\ntwo\n```", "code1:one\ncode2:two"},
		// An unclosed fence is text; so is one with backticks after it.
		{"```\nunclosed *x*", "text:```\ntext:unclosed {i|x}"},
		{"```inline``` code", "text:{c|inline} code"},
		{"> quoted **b**\nnot", "quote:quoted {b|b}\ntext:not"},
		{">", "quote:"},
		{">_<", "text:>_<"},
		{`\> not a quote`, "text:> not a quote"},
	} {
		if got := show(parseMarkup(tc.in)); got != tc.want {
			t.Errorf("%q:\ngot\n%s\nwant\n%s", tc.in, got, tc.want)
		}
	}
}

// rowsText is what rows show, one string each.
func rowsText(rows [][]span) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		for _, s := range r {
			out[i] += s.text
		}
	}
	return out
}

// TestPlainWrapsAsBefore: text with no formatting wraps as common.Wrap
// wraps it (as the pane did before formatting), so no screen changes
// where nobody formats; but for trailing spaces, which do not show, and
// hyphens, after which a word breaks now rather than cut by cells
// ("are " "byte-for" "-byte" before, "are" "byte-" "for-byte" now).
func TestPlainWrapsAsBefore(t *testing.T) {
	texts := []string{
		"alice: green since 21:40. the new range pages are what the python client expects",
		"carol: 混合宽度的文字 and emoji 🎉🚀 wrap by cell width, not by byte",
		"小明: 你好世界！这是一条很长的中文消息，用来检查换行是否按照终端单元格的宽度来计算，而不是按字节或字符。🙂👍 emoji too",
		"mallory: Z\u0301\u0336\u0489algo and a veryveryveryveryverylong word",
		"bob: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa then words",
		"bob:    spaced     out    words   ",
		"x",
		"",
	}
	for _, text := range texts {
		for w := 8; w <= 80; w++ {
			got := rowsText(wrapSpans([]span{{text: text}}, w))
			want := common.Wrap(text, w)
			for i := range want {
				want[i] = strings.TrimRight(want[i], " ")
			}
			for i := range got {
				got[i] = strings.TrimRight(got[i], " ")
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%q at %d:\ngot  %q\nwant %q", text, w, got, want)
				break
			}
		}
	}
}

// TestHyphensBreak: a word breaks after a hyphen when it must, and is
// cut by cells only when one part is longer than a row.
func TestHyphensBreak(t *testing.T) {
	for _, tc := range []struct {
		text string
		w    int
		want string
	}{
		{"are byte-for-byte", 8, "are|byte-|for-byte"},
		{"a-very-long-hyphenated-word", 11, "a-very-|long-|hyphenated-|word"},
		{"x - y - z", 3, "x -|y -|z"},
		{"superlongword-x", 5, "super|longw|ord-x"},
	} {
		if got := strings.Join(rowsText(wrapSpans([]span{{text: tc.text}}, tc.w)), "|"); got != tc.want {
			t.Errorf("%q at %d: %q, want %q", tc.text, tc.w, got, tc.want)
		}
	}
}

// TestLinksNeverBreak: a link that does not fit the rest of a row starts
// the next, whole; one longer than a row is shortened to it, its start
// and its end kept, its target whole, and the punctuation about it on
// its row.
func TestLinksNeverBreak(t *testing.T) {
	url := "https://example.com/a-b-c"
	rows := wrapSpans(parseInline("see "+url+" now"), 26)
	if got := rowsText(rows); strings.Join(got, "|") != "see|"+url+" |now" && strings.Join(got, "|") != "see|"+url+"|now" {
		t.Errorf("rows %q", got)
	}

	long := "https://example.com/" + strings.Repeat("segment/", 12) + "end.html"
	for _, tc := range []struct {
		text  string
		glued int // cells of the link's word that are not the link
	}{{"x " + long + " y", 0}, {"(" + long + ").", 3}, {strings.Repeat("z", 50) + "(" + long + ")", 52}} {
		text := tc.text
		for _, w := range []int{12, 30, 45, 73} {
			// A little punctuation about it stays on its row: the link
			// is shortened to leave room for it.
			linkW := w
			if tc.glued <= w/3 {
				linkW = w - tc.glued
			}
			found := 0
			for _, r := range wrapSpans(parseInline(text), w) {
				rw := 0
				for _, s := range r {
					rw += ansi.StringWidth(s.text)
					if s.a&aLink == 0 {
						if strings.Contains(s.text, "example.com") || strings.Contains(s.text, "end.html") {
							t.Errorf("%q at %d: a piece of the link outside it: %q", text, w, s.text)
						}
						continue
					}
					found++
					if s.url != long {
						t.Errorf("%q at %d: target %q", text, w, s.url)
					}
					if ansi.StringWidth(s.text) != linkW || !strings.Contains(s.text, "…") {
						t.Errorf("%q at %d: shown as %q (%d cells)", text, w, s.text, ansi.StringWidth(s.text))
					}
					if linkW >= 30 && (!strings.HasPrefix(s.text, "https://example.com/") || !strings.HasSuffix(s.text, "end.html")) {
						t.Errorf("%q at %d: shown as %q: lost its start or end", text, w, s.text)
					}
				}
				if rw > w {
					t.Errorf("%q at %d: a row of %d cells", text, w, rw)
				}
			}
			if found != 1 {
				t.Errorf("%q at %d: the link is in %d pieces", text, w, found)
			}
		}
	}
}

func TestShortenLink(t *testing.T) {
	for _, tc := range []struct {
		in   string
		w    int
		want string
	}{
		{"https://example.com/very/long/path/to/the/end", 32, "https://example.com/very/lo…/end"},
		{"https://example.com/very/long/path/to/a-file-with-a-long-name.html", 30, "https://example.com/…name.html"},
		// A host too long for the row keeps its end, which names who
		// runs it.
		{"https://a-very-long-host-name.example.com/", 24, "https://…ame.example.com"},
		{"https://www.paypal.com.account-verify.security-check.evil.example/login", 40, "https://…y.security-check.evil.example/…"},
		{"https://example.com/x", 8, "https:/…"},
		// The site is kept first.
		{"https://example.com/segment/segment/end.html", 27, "https://example.com/…d.html"},
		{"https://a-long-site-name.example.com/path/to/end.html", 30, "https://…te-name.example.com/…"},
	} {
		got := shortenLink(tc.in, tc.w)
		if got != tc.want || ansi.StringWidth(got) != min(tc.w, ansi.StringWidth(tc.in)) {
			t.Errorf("shortenLink(%q, %d) = %q, want %q", tc.in, tc.w, got, tc.want)
		}
	}
}
