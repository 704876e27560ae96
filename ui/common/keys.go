package common

import (
	"strings"

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

		Search:      key.NewBinding(key.WithKeys("ctrl+f"), key.WithHelp("ctrl+f", "search history")),
		SearchNext:  key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "older match")),
		SearchPrev:  key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "newer match")),
		PromptNext:  key.NewBinding(key.WithKeys("enter", "up"), key.WithHelp("enter/↑", "older")),
		PromptPrev:  key.NewBinding(key.WithKeys("shift+enter", "down"), key.WithHelp("shift+enter/↓", "newer")),
		PromptLeave: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "n/N then")),
	}
}

// SelectHelp is the key hint line while a message is selected.
func (k KeyMap) SelectHelp() []key.Binding {
	move := key.NewBinding(key.WithKeys(append(k.LineUp.Keys(), k.LineDown.Keys()...)...), key.WithHelp("↑/↓", "move"))
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
		{k.Send, k.Newline, pair(k.NextFocus, k.PrevFocus, "next/prev pane"), pair(k.NextRoom, k.PrevRoom, "next/prev room"), k.JumpRoom, k.NextNews, k.Switcher},
		{
			pair(k.PageUp, k.PageDown, "page up/down"), k.Top, k.Bottom, pair(k.LineUp, k.LineDown, "scroll"),
			k.Select, helpOnly(k.Reply, k.Edit, k.Delete, k.React), k.Jump,
		},
		{k.Help, key.NewBinding(key.WithKeys(k.Close.Keys()...), key.WithHelp(k.Close.Help().Key, "close, unselect")), k.Redraw, k.Logout, k.Quit, k.Search, pair(k.SearchNext, k.SearchPrev, "next/prev match")},
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
	return []key.Binding{k.Login, k.NextField, k.Help, k.Quit}
}

// FullHelp is the login screen's help overlay.
func (k LoginKeys) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Login, k.NextField, k.PrevField}, {k.Help, k.Close, k.Redraw, k.Quit}}
}
