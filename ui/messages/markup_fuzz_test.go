package messages

import (
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
)

// FuzzMarkup: whatever a message says, after the display filter (as the
// pane draws it), laying it out never panics, no row is wider than the
// pane, and every link's target is printable ASCII (nothing can slip
// an escape into an OSC 8 sequence).
func FuzzMarkup(f *testing.F) {
	for _, s := range []string{
		"**bold** *it* _it_ ~~s~~ `c` \\*lit\\*",
		"see https://example.com/a_(b)_c. and www.x.org,",
		"```\ncode line that is long\n```\n> quote **b**",
		"***both*** ** * *** _a_b_ `` x ` y ``",
		"http://\x1b]8;;evil\x07x",
	} {
		f.Add(s, 40)
	}
	f.Fuzz(func(t *testing.T, text string, w int) {
		w = 16 + abs(w)%200 // the narrowest text column a 60-column terminal leaves
		shown := chat.DisplayText(text)
		rows := layout("bob:", parseMarkup(shown), true, w)
		for i, row := range rows {
			width := 0
			for _, s := range row {
				width += ansi.StringWidth(s.text)
				for j := 0; j < len(s.url); j++ {
					if c := s.url[j]; c < 0x21 || c > 0x7e {
						t.Fatalf("row %d: link target %q has byte %#x", i, s.url, c)
					}
				}
			}
			if width > w {
				t.Fatalf("row %d is %d cells in a pane of %d: %+v", i, width, w, row)
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
