package common

import (
	"errors"
	"image/color"
	"slices"
	"testing"

	"charm.land/lipgloss/v2"
)

func same(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	return ar == br && ag == bg && ab == bb && aa == ba
}

// TestDefaultStylesFollowTheTerminal: the default theme is ANSI palette
// indexes, as it always was.
func TestDefaultStylesFollowTheTerminal(t *testing.T) {
	s := DefaultStyles()
	for name, tc := range map[string]struct {
		got  color.Color
		want string
	}{
		"mention": {s.Mention.GetForeground(), "3"}, "own": {s.Own.GetForeground(), "5"},
		"border": {s.Pane.GetBorderTopForeground(), "8"}, "focus": {s.FocusedPane.GetBorderTopForeground(), "5"},
		"selection": {s.Selected.GetForeground(), "5"}, "online": {s.Online.GetForeground(), "2"},
		"error": {s.Error.GetForeground(), "1"},
	} {
		if !same(tc.got, lipgloss.Color(tc.want)) {
			t.Errorf("%s: %v, want ANSI %s", name, tc.got, tc.want)
		}
	}
	d, err := Theme("default")
	if err != nil || !same(d.Mention.GetForeground(), s.Mention.GetForeground()) {
		t.Fatalf("Theme(default): %v", err)
	}
}

// TestThemes: light and dark are fixed colours of their own, and carry
// them into every coloured style.
func TestThemes(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		accent, mention, border string
	}{{"light", "#7e22ce", "#b45309", "#9ca3af"}, {"dark", "#c084fc", "#facc15", "#6b7280"}} {
		s, err := Theme(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if !same(s.Own.GetForeground(), lipgloss.Color(tc.accent)) || !same(s.FocusedPane.GetBorderTopForeground(), lipgloss.Color(tc.accent)) ||
			!same(s.Mention.GetForeground(), lipgloss.Color(tc.mention)) || !same(s.Pane.GetBorderTopForeground(), lipgloss.Color(tc.border)) {
			t.Errorf("%s: styles do not carry the theme's colours", tc.name)
		}
		if c := s.Colors(); c.Own != tc.accent || c.Mention != tc.mention || c.Border != tc.border || len(c.Nicks) != 12 {
			t.Errorf("%s: Colors() = %+v", tc.name, c)
		}
	}
	if _, err := Theme("solarized"); !errors.Is(err, ErrUnknownTheme) {
		t.Fatalf("an unknown theme: %v", err)
	}
	if !slices.Equal(ThemeNames, []string{"default", "light", "dark"}) {
		t.Fatalf("theme names %v", ThemeNames)
	}
}

// TestSetColors: the colours set replace the theme's; a bad one is said
// and left out, the others still set.
func TestSetColors(t *testing.T) {
	s := DefaultStyles()
	err := s.SetColors(Colors{Nicks: []string{"#ff8800", "bad"}, Mention: "#010203", Own: "300", Border: "240", Focus: "#00ff00", Selection: "0"})
	if !errors.Is(err, ErrBadColor) {
		t.Fatalf("err %v", err)
	}
	if !same(s.Mention.GetForeground(), lipgloss.Color("#010203")) || !same(s.Own.GetForeground(), lipgloss.Color("5")) ||
		!same(s.Pane.GetBorderTopForeground(), lipgloss.Color("240")) || !same(s.FocusedPane.GetBorderTopForeground(), lipgloss.Color("#00ff00")) ||
		!same(s.Selected.GetForeground(), lipgloss.Color("0")) {
		t.Fatal("the colours were not set as asked")
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		if !same(s.Nick(n).GetForeground(), lipgloss.Color("#ff8800")) {
			t.Fatalf("%s's colour is not the only good one of the palette", n)
		}
	}
	c := s.Colors()
	if !slices.Equal(c.Nicks, []string{"#ff8800"}) || c.Mention != "#010203" || c.Own != "5" {
		t.Fatalf("Colors() = %+v", c)
	}
}
