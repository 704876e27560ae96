package common

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
)

// TestByNameIsEveryBinding: every key.Binding field has a name, a
// distinct binding behind it, in the struct's order.
func TestByNameIsEveryBinding(t *testing.T) {
	km := DefaultKeyMap()
	names, byName := km.Names(), km.ByName()
	fields := 0
	typ := reflect.TypeFor[KeyMap]()
	for i := range typ.NumField() {
		if typ.Field(i).Type == reflect.TypeFor[key.Binding]() {
			fields++
		}
	}
	if len(names) != fields || len(byName) != fields {
		t.Fatalf("%d names, %d bindings by name, %d fields", len(names), len(byName), fields)
	}
	if names[0] != "quit" || !slices.Contains(names, "next_focus") || !slices.Contains(names, "jump_room") || !slices.Contains(names, "page_up") {
		t.Fatalf("names %v", names)
	}
	seen := map[*key.Binding]bool{}
	for _, n := range names {
		b := byName[n]
		if b == nil || seen[b] {
			t.Fatalf("%s: no binding of its own", n)
		}
		seen[b] = true
	}
	if byName["send"] != &km.Send || byName["next_focus"] != &km.NextFocus {
		t.Fatal("the names point at other fields")
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"Quit": "quit", "NextFocus": "next_focus", "PageUp": "page_up", "OpenURL": "open_url", "URLOpen": "url_open", "F1Help": "f1_help"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	km := DefaultKeyMap()
	if err := km.Rebind("send", []string{"ctrl+s", "alt+enter"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(km.Send.Keys(), []string{"ctrl+s", "alt+enter"}) || km.Send.Help().Key != "ctrl+s" || km.Send.Help().Desc != "send" {
		t.Fatalf("send is %v %+v", km.Send.Keys(), km.Send.Help())
	}
	if DefaultKeyMap().Send.Help().Key != "enter" {
		t.Fatal("rebinding changed the defaults")
	}
	// Keys that are characters go only to bindings that are no typing's.
	if err := km.Rebind("reply", []string{"R"}); err != nil {
		t.Fatal(err)
	}
	if err := km.Rebind("line_up", []string{"up", "i"}); err != nil {
		t.Fatal(err)
	}
	if got := km.SelectHelp()[0].Help().Key; got != "up/↓/j" {
		t.Fatalf("the selection's move hint after a rebind: %q", got)
	}
	for _, tc := range []struct {
		name string
		keys []string
		want error
		says string
	}{
		{"sendd", []string{"enter"}, ErrUnknownBinding, `no such key binding "sendd"`},
		{"send", nil, nil, `send: no keys: give at least one (the defaults are "enter")`},
		{"send", []string{"s"}, nil, `"s" is a character you type`},
		{"quit", []string{"ctrl+q", "ctrl+q"}, nil, `"ctrl+q" is listed twice`},
		{"quit", []string{"ctrl+shft+q"}, ErrBadKey, `"shft" is not a modifier`},
		{"quit", []string{"alt+ctrl+q"}, ErrBadKey, `never matches: write the modifiers in the order ctrl, alt, shift`},
		{"quit", []string{"ctrl+ctrl+q"}, ErrBadKey, `ctrl twice`},
		{"quit", []string{"ctrl+escape"}, ErrBadKey, `"escape" is neither a named key`},
		{"reply", []string{"shift+r"}, ErrBadKey, `a shifted character is the character it types ("R")`},
		{"reply", []string{" "}, ErrBadKey, `write the space bar as "space"`},
		{"quit", make([]string, MaxKeysPerBinding+1), nil, "the limit is 16"},
	} {
		var before []string
		if b := km.ByName()[tc.name]; b != nil {
			before = b.Keys()
		}
		err := km.Rebind(tc.name, tc.keys)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Rebind(%q, %q) = %v, want %q", tc.name, tc.keys, err, tc.says)
		}
		if b := km.ByName()[tc.name]; b != nil && !slices.Equal(b.Keys(), before) {
			t.Errorf("a refused rebind changed %s", tc.name)
		}
	}
}

func TestCheckKey(t *testing.T) {
	for _, ok := range []string{"enter", "ctrl+s", "alt+up", "ctrl+alt+shift+f12", "f63", "?", "A", "é", "+", "alt++", "ctrl+space", "super+k", "pgdown", "shift+tab"} {
		if err := CheckKey(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ctrl+", "f64", "Enter", "ctrl-s", "ab", "shift+a", "hyper+ctrl+x", "\x01"} {
		if err := CheckKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
