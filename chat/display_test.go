package chat

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

func TestDisplayText(t *testing.T) {
	zalgo := "Z" + strings.Repeat("\u0301", 30) + "algo"
	for _, tc := range []struct{ in, want string }{
		{"plain text, 中文 and 🎉", "plain text, 中文 and 🎉"},
		{"price: \u202e0001$\u202c ok", "price: <U+202E>0001$<U+202C> ok"},
		{"\u2066isolate\u2069 \u200fmark\u200e \u061c", "<U+2066>isolate<U+2069> <U+200F>mark<U+200E> <U+061C>"},
		{"zero\u200bwidth\u2060joiner\ufeffbom", "zero<U+200B>width<U+2060>joiner<U+FEFF>bom"},
		{"soft\u00adhyphen", "soft<U+00AD>hyphen"},
		{"ali\u200cce and ali\u200dce", "ali<U+200C>ce and ali<U+200D>ce"},
		{"filler\u3164\u115f", "filler<U+3164><U+115F>"},
		{"line\u2028separator\u2029", "line<U+2028>separator<U+2029>"},
		// Emoji sequences: their parts, side by side.
		{"👨\u200d👩\u200d👧\u200d👦", "👨👩👧👦"},
		{"👩🏽\u200d💻 👍🏽", "👩💻 👍"},
		{"🏳\ufe0f\u200d🌈 ❤\ufe0f ☺\ufe0f", "🏳🌈 ❤ ☺"},
		{"🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "🏴"},
		{"1\ufe0f\u20e3", "1\u20e3"},
		{"🇫🇷 e\u0301", "🇫🇷 e\u0301"},
		{"👍\u200dx", "👍<U+200D>x"},
		// Joiners that are orthography are kept.
		{"می\u200cخواهم", "می\u200cخواهم"},
		{"क्\u200dष", "क्\u200dष"},
		// Zalgo: four marks per character at most.
		{zalgo, "Z" + strings.Repeat("\u0301", maxMarks) + "algo"},
		{"ệ", "ệ"},
		// Controls.
		{"hi\x1b]0;pwned\x07\x1b[2J there", "hi<U+001B>]0;pwned<U+0007><U+001B>[2J there"},
		{"c1 \u009b31m del \x7f", "c1 <U+009B>31m del <U+007F>"},
		{"tab\there", "tab here"},
		{"crlf\r\nnext\rcr", "crlf\nnext<U+000D>cr"},
		{"bad \xff byte", "bad \ufffd byte"},
	} {
		if got := DisplayText(tc.in); got != tc.want {
			t.Errorf("DisplayText(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
	if got := DisplayLine("one\ntwo\r\nthree"); got != "one ↵ two ↵ three" {
		t.Errorf("DisplayLine: %q", got)
	}
}

// hostile is what a raw write can put in a message: every kind of
// character the display filter deals with.
var hostile = []string{
	"\u202e\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
	"\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u2061\u034f\u3164\u115f\u1160\uffa0",
	"👨\u200d👩\u200d👧\u200d👦 👩🏽\u200d💻 🧑\u200d🤝\u200d🧑 ❤\ufe0f\u200d🔥 🏳\ufe0f\u200d⚧\ufe0f 👁\ufe0f\u200d🗨\ufe0f",
	"☺\ufe0f ✔\ufe0f 1\ufe0f\u20e3 #\ufe0f\u20e3 ©\ufe0f ™\ufe0f 👍🏽 👋🏿 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
	"🇫🇷🇺🇳 😀🎉🚀 中文 한국어 日本語",
	"Z" + strings.Repeat("\u0301\u0336\u0489", 40) + "algo",
	"\x00\x01\x07\x1b[2J\x1b]0;x\x07\x7f\u0085\u009b\r\v\f",
	"\u2028\u2029\ufdd0\uffff\U0010ffff",
}

// TestDisplayedTextHasOneWidth: what the filter lets through has the same
// width measured by grapheme clusters (the layout) and by code points
// (the renderer and most terminals), and holds nothing invisible.
func TestDisplayedTextHasOneWidth(t *testing.T) {
	for _, in := range hostile {
		for _, out := range []string{DisplayText(in), DisplayLine(in), DisplayNick(in)} {
			if g, w := ansi.StringWidth(out), ansi.StringWidthWc(out); g != w {
				t.Errorf("%+q shown as %+q: %d cells by graphemes, %d by code points", in, out, g, w)
			}
			for _, r := range out {
				if hidden(r) && r != '\n' {
					t.Errorf("%+q shown as %+q still holds %U", in, out, r)
				}
			}
		}
	}
}

func TestDisplayNick(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"小明", "小明"},
		{"mallory\n2 2026-12-01 09:00:00 alice", `"mallory\n2 2026-12-01 09:00:00 alice"`},
		{"\u202emallory", `"\u202emallory"`},
		{"a\"b\\c", `"a\"b\\c"`},
		{"e\u0301", `"e\u0301"`},
		{"👨\u200d👩", `"👨\u200d👩"`},
		{"👍🏽", `"👍\U0001f3fd"`},
		{"\u3164", `"\u3164"`},
		{"", `""`},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", maxShownNick) + `"…`},
	} {
		if got := DisplayNick(tc.in); got != tc.want {
			t.Errorf("DisplayNick(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

func TestEscapeJSONRoundTrips(t *testing.T) {
	for _, in := range append(hostile, "plain", "quote \" and \\ and </script>") {
		if !utf8.ValidString(in) {
			continue
		}
		data, err := json.Marshal(map[string]string{"text": in})
		if err != nil {
			t.Fatal(err)
		}
		safe := EscapeJSON(data)
		var back map[string]string
		if err := json.Unmarshal(safe, &back); err != nil {
			t.Fatalf("%+q: escaped JSON does not parse: %v\n%s", in, err, safe)
		}
		if back["text"] != in {
			t.Errorf("%+q came back as %+q", in, back["text"])
		}
		for _, r := range string(safe) {
			if hidden(r) || r == zwj || r == vs16 || isModifier(r) {
				t.Errorf("%+q: escaped JSON holds %U raw: %s", in, r, safe)
			}
		}
	}
}

func FuzzDisplay(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, nick := DisplayLine(s), DisplayNick(s)
		for _, out := range []string{DisplayText(s), line, nick} {
			for _, r := range out {
				if hidden(r) && r != '\n' {
					t.Fatalf("%+q shown as %+q holds %U", s, out, r)
				}
			}
		}
		if strings.Contains(line, "\n") || strings.Contains(nick, "\n") {
			t.Fatalf("%+q: a line or nick shown with a newline", s)
		}
		if !utf8.ValidString(s) {
			return
		}
		data, _ := json.Marshal(s)
		var back string
		if err := json.Unmarshal(EscapeJSON(data), &back); err != nil || back != s {
			t.Fatalf("%+q: EscapeJSON does not round-trip: %v %+q", s, err, back)
		}
	})
}

// BenchmarkDisplay filters a large record's worth of text: `history`
// runs every message through it.
func BenchmarkDisplay(b *testing.B) {
	for _, tc := range []struct{ name, text string }{
		{"ascii", strings.Repeat("the quick brown fox. ", 3000)},
		{"lines", strings.Repeat("a line\n", 9000)},
		{"mixed", strings.Repeat("混合 text ✓ 👍🏽 é\u0301 ", 3000)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.text)))
			for b.Loop() {
				DisplayLine(tc.text)
			}
		})
	}
}

func TestHasNonASCII(t *testing.T) {
	base := []byte(strings.Repeat("plain ascii ~ text", 3))
	if hasNonASCII(base) {
		t.Fatal("printable ASCII counted as non-ASCII")
	}
	for i := range base {
		for _, c := range []byte{0x7f, 0x80, 0xc3, 0xff} {
			b := bytes.Clone(base)
			b[i] = c
			if !hasNonASCII(b) {
				t.Fatalf("%#x at %d not seen", c, i)
			}
		}
	}
}
