package ui

import (
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/webaas-chat/webaas-chat/chat"
)

// showing puts msgs, one a minute from day0, in the pane on screen.
func showing(m *Model, texts ...string) {
	msgs := make([]chat.Message, len(texts))
	nicks := []string{"bob", "alice", "carol"}
	for i, text := range texts {
		msgs[i] = chat.Message{Seq: int64(i + 1), Nick: nicks[i%len(nicks)], Text: text, Sent: day0.Add(time.Duration(i) * time.Minute)}
	}
	m.room().msgs.Reset()
	m.room().msgs.Add(msgs)
}

var formattingTexts = []string{
	"**bold**, *italic*, _italic_, ~~struck~~ and `code`; snake_case_name, __init__ and 2 * 3 * 4 stay as they are",
	"***both*** and **bold with *italic* inside**; \\*escaped\\*, **unbalanced, `open and ~~open",
	"> a quote with **bold** in it, long enough to wrap under its own bar at this width, as quotes do\nand the answer under it",
	"```go\nfunc main() {\n    fmt.Println(\"a code line long enough to be cut at the pane's edge rather than wrapped onto the next row\")\n}\n```",
	"```\nan unclosed fence stays text, *formatted* as text is",
	"\\> not a quote, >_< not one either",
}

func TestGoldenFormatting(t *testing.T) {
	m := loggedIn(t, 100, 30)
	showing(m, formattingTexts...)
	checkFills(t, "formatting", m.View().Content, 100, 30)
	golden.RequireEqual(t, shown(m))
}

// longLink is longer than the pane at 100x30 is wide.
const longLink = "https://example.com/docs/" + "a-very-long-segment/another-segment/and-yet-another-one/still-going/" +
	"and-going/and-going-on/for-longer-than-the-widest-pane/is-wide/" + "the-end.html"

var linkTexts = []string{
	"the docs: https://example.com/docs/getting-started. (see also https://en.wikipedia.org/wiki/Go_(language))",
	"www.example.org and <https://example.net/x>, not xhttps://nope.example",
	"this one does not fit the rest of the row: https://example.com/a/fairly/long/path?with=query",
	"too long for any row (" + longLink + "), and after it",
	"`https://in.code/not/a/link` and **https://bold.example/link**",
}

func TestGoldenLinks(t *testing.T) {
	m := loggedIn(t, 100, 30)
	showing(m, linkTexts...)
	checkFills(t, "links", m.View().Content, 100, 30)
	golden.RequireEqual(t, shown(m))
}

// osc8 is a hyperlink found in a row of raw output.
type osc8 struct {
	target, text string
	row          int
}

// hyperlinks finds the OSC 8 hyperlinks of a view, each with the text it
// covers (escapes stripped); it fails the test on one not closed in its
// row (the pane's border and the next rows would be part of it).
func hyperlinks(t *testing.T, view string) []osc8 {
	t.Helper()
	const open, end = "\x1b]8;;", "\x07"
	var out []osc8
	for i, row := range strings.Split(view, "\n") {
		for {
			at := strings.Index(row, open)
			if at < 0 {
				break
			}
			row = row[at+len(open):]
			stop := strings.Index(row, end)
			if stop < 0 {
				t.Fatalf("row %d: an OSC 8 with no end: %q", i, row)
			}
			target := row[:stop]
			row = row[stop+len(end):]
			if target == "" {
				continue // a reset
			}
			reset := strings.Index(row, open+end)
			if reset < 0 {
				t.Fatalf("row %d: the link to %q is not closed in its row", i, target)
			}
			out = append(out, osc8{target: target, text: ansi.Strip(row[:reset]), row: i})
		}
	}
	return out
}

// TestLinksAreOSC8 reads the raw view: each link is one OSC 8 hyperlink,
// opened and closed in one row, its target whole; one that does not fit
// the rest of its row starts the next; one longer than the pane is
// shortened on screen, its target still whole. So too with the message
// selected (its mark column is redrawn) and at other sizes.
func TestLinksAreOSC8(t *testing.T) {
	m := loggedIn(t, 100, 30)
	showing(m, linkTexts...)
	want := map[string]string{
		"https://example.com/docs/getting-started":          "https://example.com/docs/getting-started",
		"https://en.wikipedia.org/wiki/Go_(language)":       "https://en.wikipedia.org/wiki/Go_(language)",
		"https://www.example.org":                           "www.example.org",
		"https://example.net/x":                             "https://example.net/x",
		"https://example.com/a/fairly/long/path?with=query": "https://example.com/a/fairly/long/path?with=query",
		longLink:                    "",
		"https://bold.example/link": "https://bold.example/link",
	}
	// startsRow: the links that must start their row.
	check := func(name string, w int, startsRow ...string) {
		t.Helper()
		view := m.View().Content
		links := hyperlinks(t, view)
		got := map[string]bool{}
		rows := strings.Split(ansi.Strip(view), "\n")
		for _, l := range links {
			if got[l.target] {
				t.Errorf("%s: the link to %q is in two pieces", name, l.target)
			}
			got[l.target] = true
			text, ok := want[l.target]
			switch {
			case !ok:
				t.Errorf("%s: a link to %q (%q)", name, l.target, l.text)
			case l.target == longLink:
				if !strings.Contains(l.text, "…") || !strings.HasPrefix(l.text, "https://example.com/") || !strings.HasSuffix(l.text, "the-end.html") {
					t.Errorf("%s: the long link shows as %q", name, l.text)
				}
			case l.text != text:
				t.Errorf("%s: the link to %q shows as %q, want %q", name, l.target, l.text, text)
			}
			if slices.Contains(startsRow, l.target) {
				// It starts its row, after the gutter (and the long
				// one's "(", which stays with it, as its "),").
				row := strings.TrimLeft(strings.TrimLeft(rows[l.row], "│ ┃▶"), " (")
				if !strings.HasPrefix(row, l.text) || l.target == longLink && !strings.HasPrefix(row, l.text+"),") {
					t.Errorf("%s: %q does not start its row: %q", name, l.text, rows[l.row])
				}
			}
		}
		for target := range want {
			if !got[target] {
				t.Errorf("%s: no link to %q:\n%s", name, target, ansi.Strip(view))
			}
		}
		checkFills(t, name, view, w, 30)
	}
	fairly := "https://example.com/a/fairly/long/path?with=query"
	check("100x30", 100, longLink, fairly)
	m.room().msgs.SelectSeq(4)
	check("100x30 selected", 100, longLink, fairly)
	m.room().msgs.Unselect()
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 30})
	check("160x30", 160, longLink)
}

// TestHostileLinksInThePane: message text that holds escape sequences
// (an OSC 8 of its own, C1 controls, a bidi override) around links
// reaches the terminal as SGR and well-formed OSC 8 hyperlinks only,
// every target printable ASCII and what the link shows.
func TestHostileLinksInThePane(t *testing.T) {
	m := loggedIn(t, 100, 30)
	showing(m,
		"https://evil.example/\x1b]8;;https://phish.example\x07click me\x1b]8;;\x07",
		"https://evil.example/x\u009d8;;https://phish.example\u009c and \x1b[2J",
		"**https://evil.example/\u202egpj.exe** www.evil.example/\x07",
		"https://例え.jp/パス?q=ü",
	)
	view := m.View()
	checkTerminalSafe(t, "hostile links", view, 100, 30)
	var state byte
	for s := view.Content; s != ""; {
		seq, width, n, next := ansi.DecodeSequence(s, state, nil)
		state = next
		if n == 0 {
			break
		}
		s = s[n:]
		if width > 0 || seq == "\n" || seq[0] != '\x1b' {
			continue
		}
		switch {
		case ansi.HasCsiPrefix(seq) && strings.HasSuffix(seq, "m"):
		case strings.HasPrefix(seq, "\x1b]8;;") && strings.HasSuffix(seq, "\x07"):
			if target := strings.TrimSuffix(strings.TrimPrefix(seq, "\x1b]8;;"), "\x07"); !printableASCII(target) {
				t.Errorf("an OSC 8 target %q", target)
			}
		default:
			t.Errorf("the view holds %q", seq)
		}
	}
	for _, l := range hyperlinks(t, view.Content) {
		shownAs := l.text
		if strings.HasPrefix(shownAs, "www.") {
			shownAs = "https://" + shownAs
		}
		if l.target != shownAs && l.target != "https://%E4%BE%8B%E3%81%88.jp/%E3%83%91%E3%82%B9?q=%C3%BC" {
			t.Errorf("a link shows %q and goes to %q", l.text, l.target)
		}
	}
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// TestFormattingIsStyled reads the raw view: each construct is drawn in
// its style from Styles, the markers gone.
func TestFormattingIsStyled(t *testing.T) {
	m := loggedIn(t, 100, 30)
	showing(m, formattingTexts...)
	view := m.View().Content
	st := m.c.Styles
	for _, want := range []string{
		st.Bold.Render("bold"), st.Italic.Render("italic"), st.Strike.Render("struck"), st.Code.Render("code"),
		st.Bold.Inherit(st.Italic).Render("both"),
		st.QuoteBar.Render("▎ "), st.Quote.Bold(true).Render("bold"),
		// The block is as wide as the rows (66 cells, less a cell of
		// background each side), its longest line being cut.
		st.CodeBlock.Render(" func main() {" + strings.Repeat(" ", 64-len("func main() {")) + " "),
	} {
		if !strings.Contains(view, want) {
			t.Errorf("the view does not hold %q:\n%q", want, view)
		}
	}
	for _, marker := range []string{"**bold**", "*italic*", "~~struck~~", "`code`", "```go"} {
		if strings.Contains(ansi.Strip(view), marker) {
			t.Errorf("the view shows %q", marker)
		}
	}
}
