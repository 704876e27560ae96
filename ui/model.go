// Package ui is the terminal chat: Bubble Tea models only, talking to the
// server through package chat. The root model (this file) holds the
// screens and routes messages; each joined room is a roomView (room.go)
// holding that room's session, feed and panes; the panes are packages of
// their own (ui/messages, ui/members, ui/composer, ui/login) sharing
// ui/common. Every call to the server runs in a tea.Cmd, and a room's
// feed is a command that turns each event into a message and is re-armed
// after each one, so no goroutine touches model state.
package ui

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/ui/login"
)

// Smallest usable terminal.
const (
	MinWidth  = 60
	MinHeight = 15
)

// Options configure the chat.
type Options struct {
	Client *chat.Client
	Server string // the server's address, as the login screen shows it
	Nick   string // pre-filled nickname
	Room   string // pre-filled room code or invite
	// AutoLogin logs in with Nick and Room at start (both came from flags).
	AutoLogin bool
	// Remember is called after each successful login, to pre-fill the next
	// launch; it may be nil.
	Remember func(nick, room string) error
	// Rooms are the rooms joined at the last launch besides the one the
	// login form opens (which it joins again once logged in), and
	// RememberRooms is called with the list whenever it changes; either
	// may be nil.
	Rooms         []RoomEntry
	RememberRooms func([]RoomEntry) error
	// Bell rings the terminal bell when a line mentions you.
	Bell bool
	// Notify, when the terminal window is not focused, sends a desktop
	// notification of a line that mentions you: NotifyOSC9 (most
	// terminals that notify: iTerm2, kitty, WezTerm, foot, Windows
	// Terminal), NotifyOSC777 (urxvt, some VTE terminals) or "" (none).
	Notify   string
	Logger   *slog.Logger
	Location *time.Location // timestamps are shown in it (default: local)
	Session  chat.SessionOptions
	Follow   chat.FollowOptions
	// RoomOptions go with every room the chat creates or opens (e.g.
	// chat.WithKeyStore, which remembers who signs as whom).
	RoomOptions []chat.RoomOption
	// HostNote, if set, says while the chat cannot reach its server why
	// ("the host of this room left; waiting for it"), or "" when it knows
	// no reason; the header shows it.
	HostNote func() string
	// Now is the clock typing indicators are timed by (nil: time.Now).
	Now func() time.Time
	// Styles and Keys, if set, are the chat's look and keys in place of
	// the defaults (the config file's theme, [colors] and [keys]).
	Styles *common.Styles
	Keys   *common.KeyMap
	// TimeFormat is the layout of message times (time.Format; "": 15:04).
	TimeFormat string
	// Notice, if set, is shown in the status line after the first login
	// (a mistake in the config file).
	Notice string
	// Recall keeps what was sent in each room across launches, for ↑ in
	// the input (nil: this launch only).
	Recall Recall
	// Cache, if set, keeps what the chat reads of rooms (cache.go): search
	// reads a room's history from it, and a login shows the room's last
	// page from it before the server answers.
	Cache Cache
}

type screen int

const (
	loginScreen screen = iota
	chatScreen
)

// Focus order on the chat screen.
const (
	focusInput = iota
	focusMessages
	focusMembers
	focusCount
)

// Model is the root model.
type Model struct {
	c             *common.Common
	opts          Options
	width, height int
	screen        screen
	help          help.Model
	showHelp      bool
	info          []string  // an overlay of lines (/seen), first the title; nil: none
	switcher      *switcher // the room switcher, while open (ctrl+k)
	login         *login.Model

	// rooms are the joined rooms, in the list's order, cur the one on
	// screen; the screen is drawn from rooms[cur].
	rooms  []*roomView
	cur    int
	nextID int // ids tell apart answers for rooms (and logins) gone since
	focus  int

	status status
	// gen counts logins and logouts: a join that finishes after the login
	// it was made for has ended is left, not added to the next one.
	gen        int
	offers     []offer        // direct rooms offered to us, not accepted yet (newest last)
	order      map[string]int // room code -> place in the remembered list, at this launch
	unjoined   []RoomEntry    // rooms of the last launch that did not open this time
	blurred    bool           // the terminal window lost focus (focus reports)
	unseen     int            // mentions in the room on screen since the window lost focus
	quitting   bool
	dropUnsent bool // ctrl+c was told about unsent messages once

	preview    *preview   // the room logged in to, from the cache, until the server answers
	previewGen int        // counts previews: a retry for one gone is dropped
	cacheq     cacheQueue // the cache's writes, in order
}

// status is the one-line note shown in place of the key hints for a while.
type status struct {
	text string
	err  bool
	gen  int
}

// New returns the root model. Its I/O (commands) ends with ctx.
func New(ctx context.Context, opts Options) *Model {
	keys := common.DefaultKeyMap()
	if opts.Keys != nil {
		keys = *opts.Keys
	}
	styles := opts.Styles
	if styles == nil {
		styles = common.DefaultStyles()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	c := &common.Common{Ctx: ctx, Styles: styles, Keys: &keys, Log: opts.Logger, Loc: opts.Location}
	c.SetTimeFormat(opts.TimeFormat)
	m := &Model{c: c, opts: opts, help: help.New()}
	m.login = login.New(c, opts.Nick, opts.Room, opts.Server)
	return m
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	if m.opts.AutoLogin && m.opts.Nick != "" {
		return m.login.Submit()
	}
	return nil
}

// An offer is a direct room someone offered us, to /accept.
type offer struct {
	from, nick, invite string // who offered, our nickname there, the room
}

// A RoomEntry is a joined room as the chat remembers it.
type RoomEntry struct {
	Invite string `json:"invite"`
	Nick   string `json:"nick"`
	// NotifyAll: ring and notify for every line in the room, not only
	// those that mention you (/notify all).
	NotifyAll bool `json:"notify_all,omitempty"`
}

// The notification dialects of Options.Notify.
const (
	NotifyOSC9   = "osc9"
	NotifyOSC777 = "osc777"
)

// mentionCount is what the window title counts: mentions in rooms not on
// screen, and in the one on screen while the window is not focused.
func (m *Model) mentionCount() int {
	n := m.unseen
	for i, r := range m.rooms {
		if i != m.cur {
			n += r.mentions
		}
	}
	return n
}

// notify is the escape sequence of a desktop notification (nil: none
// wanted, or the window is focused).
func (m *Model) notify(title, body string) tea.Cmd {
	if !m.blurred {
		return nil
	}
	// The display filter leaves no control character that could end the
	// sequence early or start another.
	title, body = ansi.Truncate(chat.DisplayLine(title), 60, "…"), ansi.Truncate(chat.DisplayLine(body), 200, "…")
	switch m.opts.Notify {
	case NotifyOSC9:
		return tea.Raw("\x1b]9;" + title + ": " + body + "\x07")
	case NotifyOSC777:
		return tea.Raw("\x1b]777;notify;" + strings.ReplaceAll(title, ";", ",") + ";" + body + "\x07")
	}
	return nil
}

// room is the room on screen, or nil.
func (m *Model) room() *roomView {
	if m.cur < len(m.rooms) {
		return m.rooms[m.cur]
	}
	return nil
}

// byID finds a joined room by id, or nil (it was left since).
func (m *Model) byID(id int) *roomView {
	for _, r := range m.rooms {
		if r.id == id {
			return r
		}
	}
	return nil
}

// setStatus shows a one-line note in place of the key hints for a while.
func (m *Model) setStatus(text string, isErr bool) tea.Cmd {
	m.status.gen++
	m.status.text, m.status.err = chat.DisplayLine(text), isErr
	gen := m.status.gen
	return tea.Tick(6*time.Second, func(time.Time) tea.Msg { return clearStatusMsg{gen} })
}

// now is the chat's clock.
func (m *Model) now() time.Time {
	if m.opts.Now != nil {
		return m.opts.Now()
	}
	return time.Now()
}

// setFocus focuses pane i of the room on screen.
func (m *Model) setFocus(i int) {
	m.focus = i
	if r := m.room(); r != nil {
		r.setFocus(i)
		if i != focusMessages {
			r.msgs.Unselect() // the selection's keys are the messages pane's
		}
	}
}

// layout sizes the screens for the terminal.
func (m *Model) layout() {
	m.login.SetSize(m.width, max(m.height-1, 1))
	m.help.SetWidth(m.width)
	for _, r := range m.rooms {
		r.setSize(m.width, m.height, m.listWidth())
	}
}

// listWidth is the room list's width: shown once two rooms are joined.
func (m *Model) listWidth() int {
	if len(m.rooms)+len(m.unjoined) < 2 {
		return 0
	}
	return min(max(m.width/6, 14), 24)
}

// nextNews is the next room after the one on screen with mentions, else
// the next with unread lines; -1: none.
func (m *Model) nextNews() int {
	for _, want := range []func(*roomView) bool{
		func(r *roomView) bool { return r.mentions > 0 },
		func(r *roomView) bool { return r.unread > 0 },
	} {
		for k := 1; k < len(m.rooms); k++ {
			if i := (m.cur + k) % len(m.rooms); want(m.rooms[i]) {
				return i
			}
		}
	}
	return -1
}

// switchTo puts rooms[i] on screen; what it holds is read.
func (m *Model) switchTo(i int) tea.Cmd {
	if i < 0 || i >= len(m.rooms) {
		return nil
	}
	m.cur = i
	m.layout()
	m.setFocus(m.focus)
	if r := m.rooms[i]; r.msgs.Following() { // left scrolled up: not read yet
		return r.read()
	}
	return nil
}
