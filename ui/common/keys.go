package common

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
)

// KeyMap is every key the chat answers to, in one place; it feeds the key
// hint line and the help overlay.
type KeyMap struct {
	Quit      key.Binding
	Redraw    key.Binding
	Logout    key.Binding
	Help      key.Binding
	Close     key.Binding
	Send      key.Binding
	Newline   key.Binding
	NextFocus key.Binding
	PrevFocus key.Binding
	NextRoom  key.Binding
	PrevRoom  key.Binding
	JumpRoom  key.Binding // alt+1 … alt+9: the room at that place in the list
	NextNews  key.Binding // the next room with mentions, else with unread lines
	Switcher  key.Binding
	PageUp    key.Binding
	PageDown  key.Binding
	Top       key.Binding
	Bottom    key.Binding
	LineUp    key.Binding
	LineDown  key.Binding
	Login     key.Binding
	NextField key.Binding
	PrevField key.Binding

	// Acting on messages: Select starts the selection; while it is on,
	// LineUp and LineDown move it and these act on the selected message.
	Select   key.Binding
	Reply    key.Binding
	Edit     key.Binding
	Delete   key.Binding
	React    key.Binding
	Jump     key.Binding // to what the selected reply answers
	Unselect key.Binding
	Confirm  key.Binding // yes, to a question in the status line

	// In the input: Tab completes the word before the cursor (else it is
	// NextFocus, shift+tab PrevFocus); ↑ on the first row and ↓ on the
	// last go through what was sent; LineStart and LineEnd move within
	// the line (the messages pane's are Top and Bottom).
	Complete     key.Binding
	CompleteBack key.Binding
	HistoryPrev  key.Binding
	HistoryNext  key.Binding
	LineStart    key.Binding
	LineEnd      key.Binding
	// CopyInvite, in the help overlay, copies the room's invite.
	CopyInvite key.Binding
	// Search: Search opens the search prompt; while a search is on,
	// SearchNext and SearchPrev go to the next (older) and previous
	// (newer) match, and in the prompt PromptNext and PromptPrev do.
	Search      key.Binding
	SearchNext  key.Binding
	SearchPrev  key.Binding
	PromptNext  key.Binding
	PromptPrev  key.Binding
	PromptLeave key.Binding // out of the prompt, the search kept (n/N then)
}

// DefaultKeyMap returns the default keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Quit:      key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Redraw:    key.NewBinding(key.WithKeys("ctrl+l"), key.WithHelp("ctrl+l", "redraw")),
		Logout:    key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "log out")),
		Help:      key.NewBinding(key.WithKeys("?", "f1"), key.WithHelp("?/f1", "help")),
		Close:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close help")),
		Send:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Newline:   key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"), key.WithHelp("alt+enter", "new line")),
		NextFocus: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevFocus: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		NextRoom:  key.NewBinding(key.WithKeys("ctrl+n"), key.WithHelp("ctrl+n", "next room")),
		PrevRoom:  key.NewBinding(key.WithKeys("ctrl+p"), key.WithHelp("ctrl+p", "previous room")),
		JumpRoom:  key.NewBinding(key.WithKeys("alt+1", "alt+2", "alt+3", "alt+4", "alt+5", "alt+6", "alt+7", "alt+8", "alt+9"), key.WithHelp("alt+1…9", "room 1…9")),
		NextNews:  key.NewBinding(key.WithKeys("alt+a"), key.WithHelp("alt+a", "next unread room")),
		Switcher:  key.NewBinding(key.WithKeys("ctrl+k"), key.WithHelp("ctrl+k", "find a room")),
		PageUp:    key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdown", "page down")),
		Top:       key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "oldest (loads history)")),
		Bottom:    key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "newest")),
		LineUp:    key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
		LineDown:  key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
		Login:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "log in")),
		NextField: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field")),
		PrevField: key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous field")),

		Select:   key.NewBinding(key.WithKeys("alt+up"), key.WithHelp("alt+↑", "select a message")),
		Reply:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "reply")),
		Edit:     key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Delete:   key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),
		React:    key.NewBinding(key.WithKeys("+"), key.WithHelp("+", "react")),
		Jump:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "go to original")),
		Unselect: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "done")),
		Confirm:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),

		Complete:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		CompleteBack: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous match")),
		HistoryPrev:  key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "older sent line")),
		HistoryNext:  key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "newer sent line")),
		LineStart:    key.NewBinding(key.WithKeys("home", "ctrl+a"), key.WithHelp("home/ctrl+a", "line start")),
		LineEnd:      key.NewBinding(key.WithKeys("end", "ctrl+e"), key.WithHelp("end/ctrl+e", "line end")),
		CopyInvite:   key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy invite")),
		Search:       key.NewBinding(key.WithKeys("ctrl+f"), key.WithHelp("ctrl+f", "search history")),
		SearchNext:   key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "older match")),
		SearchPrev:   key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "newer match")),
		PromptNext:   key.NewBinding(key.WithKeys("enter", "up"), key.WithHelp("enter/↑", "older")),
		PromptPrev:   key.NewBinding(key.WithKeys("shift+enter", "down"), key.WithHelp("shift+enter/↓", "newer")),
		PromptLeave:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "n/N then")),
	}
}

// SelectHelp is the key hint line while a message is selected.
func (k KeyMap) SelectHelp() []key.Binding {
	mv := "↑/↓"
	if d := DefaultKeyMap(); k.LineUp.Help().Key != d.LineUp.Help().Key || k.LineDown.Help().Key != d.LineDown.Help().Key {
		mv = k.LineUp.Help().Key + "/" + k.LineDown.Help().Key // rebound: say which
	}
	move := key.NewBinding(key.WithKeys(append(k.LineUp.Keys(), k.LineDown.Keys()...)...), key.WithHelp(mv, "move"))
	return []key.Binding{move, k.Reply, k.Edit, k.Delete, k.React, k.Jump, k.Unselect}
}

// ShortHelp is the chat screen's key hint line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Send, k.Newline, k.NextFocus, k.Help, k.Logout, k.Quit}
}

// FullHelp is the chat screen's help overlay, a column per group. Pairs
// of keys share a row (tab/shift+tab), so that the whole help, commands
// included, fits a 100 × 30 terminal.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Send, k.Newline, pair(k.NextFocus, k.PrevFocus, "complete or pane"), pair(k.NextRoom, k.PrevRoom, "next/prev room"), k.JumpRoom, k.NextNews, k.Switcher},
		{
			pair(k.PageUp, k.PageDown, "page up/down"), pair(k.Top, k.Bottom, "oldest/newest"), pair(k.LineUp, k.LineDown, "scroll"),
			k.Select, helpOnly(k.Reply, k.Edit, k.Delete, k.React), k.Jump,
			key.NewBinding(key.WithKeys(append(append(k.Search.Keys(), k.SearchNext.Keys()...), k.SearchPrev.Keys()...)...),
				key.WithHelp(k.Search.Help().Key+" "+k.SearchNext.Help().Key+"/"+k.SearchPrev.Help().Key, "search, matches")),
		},
		{
			k.Help, key.NewBinding(key.WithKeys(k.Close.Keys()...), key.WithHelp(k.Close.Help().Key, "close, unselect")), k.Redraw,
			key.NewBinding(key.WithKeys(k.Logout.Keys()...), key.WithHelp(k.Logout.Help().Key, "log out (empty)")), k.Quit,
			pair(k.HistoryPrev, k.HistoryNext, "sent lines"), k.CopyInvite,
		},
	}
}

// pair is one help row for two keys.
func pair(a, b key.Binding, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(append(a.Keys(), b.Keys()...)...), key.WithHelp(a.Help().Key+"/"+b.Help().Key, desc))
}

// helpOnly is one help row for keys of the selection: "r/e/d/+",
// "reply, edit yours, …".
func helpOnly(bs ...key.Binding) key.Binding {
	var keys, names, descs []string
	for _, b := range bs {
		keys = append(keys, b.Keys()...)
		names, descs = append(names, b.Help().Key), append(descs, b.Help().Desc)
	}
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(strings.Join(names, " "), strings.Join(descs, ", ")))
}

// LoginKeys is the login screen's view of the KeyMap.
type LoginKeys struct{ KeyMap }

// ShortHelp is the login screen's key hint line.
func (k LoginKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Login, k.NextField, k.help(), k.Quit}
}

// FullHelp is the login screen's help overlay.
func (k LoginKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Login, k.NextField, k.PrevField}, {k.help(), k.Close, k.Redraw, k.Quit}}
}

// help is the Help key without "?": on the login screen every field
// takes text, and "?" is text.
func (k LoginKeys) help() key.Binding {
	var keys []string
	for _, s := range k.Help.Keys() {
		if s != "?" {
			keys = append(keys, s)
		}
	}
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(strings.Join(keys, "/"), k.Help.Help().Desc))
}

// Rebinding (the [keys] table of the config file).

var (
	// ErrUnknownBinding is a binding name the KeyMap does not have.
	ErrUnknownBinding = errors.New("no such key binding")
	// ErrBadKey is a key the chat could never see pressed as written.
	ErrBadKey = errors.New("not a key")
)

// MaxKeysPerBinding is how many keys one binding may take.
const MaxKeysPerBinding = 16

// ByName is every binding of the KeyMap by its name in the config file:
// the snake_case of its field (NextFocus is "next_focus"). The names come
// from the struct's fields by reflection, so a binding added to KeyMap is
// named and rebindable with nothing else to change.
func (k *KeyMap) ByName() map[string]*key.Binding {
	out := map[string]*key.Binding{}
	v := reflect.ValueOf(k).Elem()
	for _, f := range bindingFields() {
		out[f.name] = v.Field(f.index).Addr().Interface().(*key.Binding)
	}
	return out
}

// Names lists the bindings' names in the KeyMap's order.
func (k *KeyMap) Names() []string {
	var out []string
	for _, f := range bindingFields() {
		out = append(out, f.name)
	}
	return out
}

type bindingField struct {
	name  string
	index int
}

// bindingFields are KeyMap's key.Binding fields, in order.
var bindingFields = sync.OnceValue(func() []bindingField {
	var out []bindingField
	t := reflect.TypeFor[KeyMap]()
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Type == reflect.TypeFor[key.Binding]() {
			out = append(out, bindingField{snake(f.Name), i})
		}
	}
	return out
})

// snake is a Go name in snake_case: NextFocus "next_focus", OpenURL
// "open_url".
func snake(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
			i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Rebind gives the binding called name (see ByName) these keys in place
// of its own. It keeps its help text; the help shows the first key.
// A binding that acts while one types (send, quit, next_room…: any whose
// default keys are no plain character) cannot take a plain character,
// which would stop it being typed.
func (k *KeyMap) Rebind(name string, keys []string) error {
	b, ok := k.ByName()[name]
	if !ok {
		return fmt.Errorf("%w %q (webaas-chat config lists them)", ErrUnknownBinding, name)
	}
	def := DefaultKeyMap()
	defKeys := def.ByName()[name].Keys()
	if len(keys) == 0 {
		return fmt.Errorf("%s: no keys: give at least one (the defaults are %s)", name, quoteAll(defKeys))
	}
	if len(keys) > MaxKeysPerBinding {
		return fmt.Errorf("%s: %d keys, the limit is %d", name, len(keys), MaxKeysPerBinding)
	}
	typed := !slices.ContainsFunc(defKeys, IsCharacter)
	for i, s := range keys {
		if err := CheckKey(s); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if typed && IsCharacter(s) {
			return fmt.Errorf("%s: %q is a character you type, and %s acts while you type: bind it with ctrl or alt, or to a function key", name, s, name)
		}
		if slices.Contains(keys[:i], s) {
			return fmt.Errorf("%s: %q is listed twice", name, s)
		}
	}
	*b = key.NewBinding(key.WithKeys(keys...), key.WithHelp(keys[0], b.Help().Desc))
	return nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// IsCharacter reports whether a key, as Bubble Tea names a key press, is
// a plain character: what typing it puts in the input.
func IsCharacter(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n == len(s) && r != utf8.RuneError && unicode.IsPrint(r) && r != ' '
}

// modifiers are in the order Bubble Tea writes them: "ctrl+alt+s", never
// "alt+ctrl+s". Keys are matched as those strings, so a key written in
// another order would never match.
var modifiers = []string{"ctrl", "alt", "shift", "meta", "hyper", "super"}

// namedKeys are the keys that are not characters, by Bubble Tea's names.
var namedKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`enter tab backspace esc space up down left right begin find insert
		delete select pgup pgdown home end equal mul plus comma minus period div sep
		capslock scrolllock numlock printscreen pause menu`) {
		m[k] = true
	}
	for i := 1; i <= 63; i++ {
		m[fmt.Sprintf("f%d", i)] = true
	}
	return m
}()

// CheckKey says why s is not a key the chat can see pressed, or nil. A
// key is what Bubble Tea calls a key press: modifiers in the order ctrl,
// alt, shift, meta, hyper, super, each followed by "+", then a named key
// (enter, esc, tab, space, up, pgdown, f1…f63, …) or one character.
func CheckKey(s string) error {
	if s == "" {
		return fmt.Errorf("%w: an empty key", ErrBadKey)
	}
	mods, base := "", s
	if i := strings.LastIndex(s[:len(s)-1], "+"); i >= 0 {
		mods, base = s[:i], s[i+1:]
	}
	at := -1
	if mods != "" {
		for m := range strings.SplitSeq(mods, "+") {
			j := slices.Index(modifiers, m)
			switch {
			case j < 0:
				return fmt.Errorf("%w: %q: %q is not a modifier (%s)", ErrBadKey, s, m, strings.Join(modifiers, ", "))
			case j == at:
				return fmt.Errorf("%w: %q: %s twice", ErrBadKey, s, m)
			case j < at:
				return fmt.Errorf("%w: %q never matches: write the modifiers in the order %s", ErrBadKey, s, strings.Join(modifiers, ", "))
			}
			at = j
		}
	}
	switch {
	case namedKeys[base]:
	case base == " ":
		return fmt.Errorf("%w: %q: write the space bar as \"space\"", ErrBadKey, s)
	case IsCharacter(base):
		if mods == "shift" {
			return fmt.Errorf("%w: %q never matches: a shifted character is the character it types (%q)", ErrBadKey, s, strings.ToUpper(base))
		}
	default:
		return fmt.Errorf("%w: %q: %q is neither a named key (enter, esc, tab, space, up, pgdown, f1, …) nor one character", ErrBadKey, s, base)
	}
	return nil
}
