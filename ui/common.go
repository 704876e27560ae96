package ui

import (
	"log/slog"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
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
