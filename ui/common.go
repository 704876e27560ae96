package ui

import (
	"log/slog"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
)

// common is what every pane shares: one set of styles and keys, the
// logger and the time zone that timestamps are shown in.
type common struct {
	styles *Styles
	keys   *KeyMap
	log    *slog.Logger
	loc    *time.Location
}

// pane is what the chat screen's panes have in common: they draw at a
// size, react to messages when focused, and say which keys they take.
type pane interface {
	help.KeyMap
	SetSize(width, height int)
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetFocus(bool)
}

// roomName is a room's name as shown: through the display filter, and cut
// to the longest name the chat lets anyone give (a raw write may store
// 64 KB, and the header and title are drawn every frame).
func roomName(r *chat.Room) string {
	name := r.Name()
	if utf8.RuneCountInString(name) > chat.MaxRoomName {
		name = string([]rune(name)[:chat.MaxRoomName]) + "…"
	}
	return chat.DisplayLine(name)
}
