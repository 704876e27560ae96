package common

import "charm.land/bubbles/v2/key"

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
		NextRoom:  key.NewBinding(key.WithKeys("ctrl+n", "alt+down"), key.WithHelp("ctrl+n", "next room")),
		PrevRoom:  key.NewBinding(key.WithKeys("ctrl+p", "alt+up"), key.WithHelp("ctrl+p", "previous room")),
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
	}
}

// ShortHelp is the chat screen's key hint line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Send, k.Newline, k.NextFocus, k.Help, k.Logout, k.Quit}
}

// FullHelp is the chat screen's help overlay, a column per group.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Send, k.Newline, k.NextFocus, k.PrevFocus, k.NextRoom, k.PrevRoom, k.JumpRoom, k.NextNews, k.Switcher},
		{k.PageUp, k.PageDown, k.Top, k.Bottom, k.LineUp, k.LineDown},
		{k.Help, k.Close, k.Redraw, k.Logout, k.Quit},
	}
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
