// Package ui is the terminal chat: Bubble Tea models only. The root model
// composes the login form and the chat screen's panes (messages, users,
// input); every call to the server runs in a tea.Cmd through package chat,
// and the room's feed is a command that turns each event into a message
// and is re-armed after each one, so no goroutine touches model state.
package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/pb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// Smallest usable terminal.
const (
	MinWidth  = 60
	MinHeight = 15
)

// pageSize is how many messages a history load brings.
const pageSize = 100

// Options configure the chat.
type Options struct {
	Client *webaas.Client
	Server string // the server's URL, shown on the login screen
	Nick   string // pre-filled nickname
	Room   string // pre-filled room code
	// AutoLogin logs in with Nick and Room at start (both came from flags).
	AutoLogin bool
	// Remember is called after each successful login, to pre-fill the next
	// launch; it may be nil.
	Remember func(nick, room string) error
	// Bell rings the terminal bell when a line mentions you.
	Bell     bool
	Logger   *slog.Logger
	Location *time.Location // timestamps are shown in it (default: local)
	Session  chat.SessionOptions
	Follow   chat.FollowOptions
	// HostNote, if set, says while the chat cannot reach its server why
	// ("the host of this room left; waiting for it"), or "" when it knows
	// no reason; the header shows it.
	HostNote func() string
}

type screen int

const (
	loginScreen screen = iota
	chatScreen
)

// Connection states shown in the header.
const (
	connOffline      = "offline"
	connConnecting   = "connecting"
	connConnected    = "connected"
	connReconnecting = "reconnecting"
)

// Focus order on the chat screen.
const (
	focusInput = iota
	focusMessages
	focusUsers
)

// Model is the root model.
type Model struct {
	common
	opts          Options
	width, height int
	screen        screen
	help          help.Model
	showHelp      bool

	login *loginModel
	msgs  *messagesModel
	users *usersModel
	input *inputModel
	panes []pane
	focus int

	room     *chat.Room
	session  *chat.Session
	feed     <-chan chat.Event
	feedGen  int // events of an older feed (before a logout) are dropped
	stopFeed context.CancelFunc
	conn     string
	connNote string
	hostWhy  string // why the server is unreachable, from Options.HostNote

	status    string
	statusErr bool
	statusGen int

	olderGen     int // glow's trick: a history page for an older request is dropped
	loadingOlder bool
	noOlder      bool

	nextLocal  int
	quitting   bool
	dropUnsent bool // ctrl+c was told about unsent messages once
}

// New returns the root model.
func New(opts Options) *Model {
	keys := DefaultKeyMap()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	m := &Model{
		common: common{styles: DefaultStyles(), keys: &keys, log: opts.Logger, loc: opts.Location},
		opts:   opts,
		help:   help.New(),
		conn:   connOffline,
	}
	m.login = newLogin(&m.common, opts.Nick, opts.Room, opts.Server)
	m.msgs = newMessages(&m.common)
	m.users = newUsers(&m.common)
	m.input = newInput(&m.common)
	m.panes = []pane{m.input, m.msgs, m.users}
	return m
}

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd {
	if m.opts.AutoLogin && m.opts.Nick != "" {
		return m.login.submit()
	}
	return nil
}

// Messages of the model's own commands.
type (
	loginDoneMsg struct {
		room    *chat.Room
		session *chat.Session
		latest  []*pb.Message
		feed    <-chan chat.Event
		stop    context.CancelFunc
		err     error
	}
	feedMsg struct {
		gen int
		ev  chat.Event
		ok  bool
	}
	sentMsg struct {
		local int
		text  string
		msg   *pb.Message
		err   error
	}
	olderMsg struct {
		gen  int
		msgs []*pb.Message
		err  error
	}
	loggedOutMsg struct {
		quit bool
		err  error
	}
	renamedMsg struct {
		nick string
		err  error
	}
	clearStatusMsg struct{ gen int }
	// hostCheckMsg asks, while reconnecting, whether HostNote changed.
	hostCheckMsg struct{ gen int }
)

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case loginRequest:
		m.conn = connConnecting
		return m, m.loginCmd(msg.nick, msg.room)
	case loginDoneMsg:
		return m, m.loggedIn(msg)
	case feedMsg:
		return m, m.onFeed(msg)
	case sentMsg:
		return m, m.onSent(msg)
	case olderMsg:
		return m, m.onOlder(msg)
	case renamedMsg:
		if msg.err != nil {
			return m, m.setStatus("Nickname not changed: "+errText(msg.err), true)
		}
		m.msgs.SetNick(msg.nick)
		m.users.SetMembers(m.users.members, msg.nick)
		return m, m.setStatus("You are now "+msg.nick, false)
	case loggedOutMsg:
		return m, m.onLoggedOut(msg)
	case clearStatusMsg:
		if msg.gen == m.statusGen {
			m.status = ""
		}
		return m, nil
	case hostCheckMsg:
		return m, m.checkHost(msg.gen)
	case tea.KeyPressMsg:
		return m, m.onKey(msg)
	case tea.MouseWheelMsg:
		if m.screen == chatScreen && !m.showHelp {
			m.msgs.Update(msg)
			return m, m.maybeLoadOlder()
		}
		return m, nil
	case tea.PasteMsg, tea.PasteStartMsg, tea.PasteEndMsg:
		if m.screen == loginScreen {
			return m, m.login.Update(msg)
		}
		m.setFocus(focusInput)
		return m, m.input.Update(msg)
	}
	// Anything else (cursor blinks, ...) goes to whoever may want it.
	if m.screen == loginScreen {
		return m, m.login.Update(msg)
	}
	return m, m.input.Update(msg)
}

func (m *Model) onKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.Quit) {
		return m.quit()
	}
	if key.Matches(msg, k.Redraw) {
		// Whatever a terminal made of what it was sent, the next frame is
		// drawn afresh onto a cleared screen.
		return tea.ClearScreen
	}
	if m.quitting {
		return nil
	}
	if m.showHelp {
		if key.Matches(msg, k.Close, k.Help) {
			m.showHelp = false
		}
		return nil
	}
	// "?" is a character in the input; F1 opens help from anywhere.
	typing := m.screen == loginScreen || m.focus == focusInput
	if key.Matches(msg, k.Help) && !(typing && msg.String() == "?") {
		m.showHelp = true
		return nil
	}
	if m.screen == loginScreen {
		return m.login.Update(msg)
	}
	switch {
	case key.Matches(msg, k.Logout):
		return m.logout()
	case key.Matches(msg, k.NextFocus):
		m.setFocus((m.focus + 1) % len(m.panes))
		return nil
	case key.Matches(msg, k.PrevFocus):
		m.setFocus((m.focus + len(m.panes) - 1) % len(m.panes))
		return nil
	case key.Matches(msg, k.PageUp):
		m.msgs.ScrollUp(max(m.msgs.innerHeight()-1, 1))
		return m.maybeLoadOlder()
	case key.Matches(msg, k.PageDown):
		m.msgs.ScrollDown(max(m.msgs.innerHeight()-1, 1))
		return nil
	case key.Matches(msg, k.Top):
		m.msgs.Top()
		return m.maybeLoadOlder()
	case key.Matches(msg, k.Bottom):
		m.msgs.Bottom()
		return nil
	case m.focus == focusInput && key.Matches(msg, k.Send):
		return m.submit()
	}
	cmd := m.panes[m.focus].Update(msg)
	if m.focus == focusMessages {
		return tea.Batch(cmd, m.maybeLoadOlder())
	}
	return cmd
}

func (m *Model) setFocus(i int) {
	for j, p := range m.panes {
		p.SetFocus(j == i)
	}
	m.focus = i
}

// setStatus shows a one-line note in place of the key hints for a while.
func (m *Model) setStatus(text string, isErr bool) tea.Cmd {
	m.statusGen++
	m.status, m.statusErr = chat.DisplayLine(text), isErr
	gen := m.statusGen
	return tea.Tick(6*time.Second, func(time.Time) tea.Msg { return clearStatusMsg{gen} })
}

// errText is an error as a person reads it: the server's words, not Go's
// wrapping.
func errText(err error) string {
	var we *webaas.Error
	if errors.As(err, &we) && we.Message != "" {
		return we.Message
	}
	return err.Error()
}

// loginCmd opens or creates the room, joins it, loads the latest page and
// starts following it.
func (m *Model) loginCmd(nick, code string) tea.Cmd {
	opts := m.opts
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		var room *chat.Room
		var err error
		if code == "" {
			room, err = chat.CreateRoom(ctx, opts.Client, "")
		} else {
			room, err = chat.OpenRoom(ctx, opts.Client, code)
		}
		if err != nil {
			return loginDoneMsg{err: err}
		}
		session, err := room.Join(ctx, nick, opts.Session)
		if err != nil {
			return loginDoneMsg{err: err}
		}
		latest, err := room.Latest(ctx, pageSize)
		if err != nil {
			session.Close()
			return loginDoneMsg{err: err}
		}
		var after int64
		if len(latest) > 0 {
			after = latest[len(latest)-1].Seq
		}
		fctx, stop := context.WithCancel(context.Background())
		follow := opts.Follow
		follow.Members = true
		follow.Logger = opts.Logger
		feed, err := room.Follow(fctx, after, follow)
		if err != nil {
			stop()
			session.Close()
			return loginDoneMsg{err: err}
		}
		if opts.Remember != nil {
			if err := opts.Remember(nick, room.Code()); err != nil {
				opts.Logger.Warn("remember login", "err", err)
			}
		}
		return loginDoneMsg{room: room, session: session, latest: latest, feed: feed, stop: stop}
	}
}

// loginError says what went wrong in words that fit the login form.
func (m *Model) loginError(err error) string {
	switch {
	case errors.Is(err, chat.ErrUnknownRoom):
		return "No room with that code on this server."
	case errors.Is(err, chat.ErrBadRoomCode):
		return "Room code: " + err.Error() + "."
	case errors.Is(err, chat.ErrNickTaken):
		return "That nickname is in use by someone online; pick another."
	case errors.Is(err, chat.ErrBadNick):
		return "Nickname: " + strings.TrimPrefix(err.Error(), chat.ErrBadNick.Error()+": ")
	case !webaas.IsAnswer(err):
		return "Cannot reach the server at " + m.opts.Server + " (is it running?)"
	}
	return errText(err)
}

func (m *Model) loggedIn(msg loginDoneMsg) tea.Cmd {
	if msg.err != nil {
		m.conn = connOffline
		m.login.setError(m.loginError(msg.err))
		return nil
	}
	m.room, m.session = msg.room, msg.session
	m.feed, m.stopFeed = msg.feed, msg.stop
	m.feedGen++
	m.screen = chatScreen
	m.conn = connConnecting
	m.msgs.Reset()
	m.msgs.ownClient = msg.session.ClientID()
	m.msgs.SetNick(msg.session.Nick())
	m.msgs.Add(msg.latest)
	m.noOlder = len(msg.latest) == 0 || msg.latest[0].Seq <= 1
	m.users.SetMembers(nil, msg.session.Nick())
	m.login.busy = false
	m.setFocus(focusInput)
	m.layout()
	return tea.Batch(waitFeed(m.feedGen, msg.feed), m.setStatus("Joined "+roomName(msg.room)+" as "+msg.session.Nick()+". Share the room code (F1) to invite.", false))
}

// waitFeed is the listener: one feed event becomes one message, and the
// handler calls waitFeed again for the next.
func waitFeed(gen int, feed <-chan chat.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-feed
		return feedMsg{gen: gen, ev: ev, ok: ok}
	}
}

func (m *Model) onFeed(msg feedMsg) tea.Cmd {
	if msg.gen != m.feedGen || !msg.ok {
		return nil // a feed from before a logout, or one that ended
	}
	var cmds []tea.Cmd
	switch msg.ev.Kind {
	case chat.Connected:
		m.conn, m.connNote, m.hostWhy = connConnected, "", ""
	case chat.Reconnecting:
		checking := m.conn == connReconnecting
		m.conn = connReconnecting
		m.connNote = fmt.Sprintf("retry in %.1fs", msg.ev.Retry.Seconds())
		m.hostNote()
		m.log.Info("feed reconnecting", "err", msg.ev.Err, "retry", msg.ev.Retry)
		if !checking {
			cmds = append(cmds, hostCheck(m.feedGen))
		}
	case chat.Messages:
		if mentions := m.msgs.Add(msg.ev.Messages); mentions > 0 && m.opts.Bell {
			cmds = append(cmds, tea.Raw("\a"))
		}
	case chat.Members:
		m.users.SetMembers(msg.ev.Members, m.session.Nick())
	case chat.Gap:
		what := fmt.Sprintf("Message %d is", msg.ev.From)
		if msg.ev.To > msg.ev.From {
			what = fmt.Sprintf("Messages %d to %d are", msg.ev.From, msg.ev.To)
		}
		cmds = append(cmds, m.setStatus(what+" missing from this room (written around the chat); skipped.", true))
	}
	cmds = append(cmds, m.rearm(msg.gen))
	return tea.Batch(cmds...)
}

// hostNote asks why the server is unreachable, if a reason is known.
func (m *Model) hostNote() {
	if m.opts.HostNote != nil {
		m.hostWhy = m.opts.HostNote()
	}
}

// hostCheck asks again in a second: the host may leave (or come back)
// between two reconnect attempts, which are up to seconds apart.
func hostCheck(gen int) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return hostCheckMsg{gen} })
}

func (m *Model) checkHost(gen int) tea.Cmd {
	if gen != m.feedGen || m.conn != connReconnecting {
		return nil // connected again, or logged out: stop asking
	}
	m.hostNote()
	return hostCheck(gen)
}

// rearm keeps the listener going on the current feed.
func (m *Model) rearm(gen int) tea.Cmd { return waitFeed(gen, m.feed) }

// submit sends what is in the input, or runs it as a slash command.
func (m *Model) submit() tea.Cmd {
	text := strings.TrimRight(m.input.Value(), "\n")
	if strings.TrimSpace(text) == "" {
		return nil
	}
	if strings.HasPrefix(text, "/") && !strings.HasPrefix(text, "//") {
		m.input.Reset()
		return m.command(text)
	}
	text = strings.TrimPrefix(text, "/") // "//etc" sends "/etc"
	return m.send(pb.Kind_KIND_TEXT, text)
}

func (m *Model) send(kind pb.Kind, text string) tea.Cmd {
	if err := chat.CheckText(text); err != nil {
		return m.setStatus("Not sent: "+strings.TrimPrefix(err.Error(), chat.ErrBadText.Error()+": "), true)
	}
	if m.conn == connReconnecting {
		// Nothing could take it now; queued, it would be lost if the chat
		// closed before the server came back. It stays in the input.
		why := "the server is unreachable"
		if m.hostWhy != "" {
			why = m.hostWhy
		}
		return m.setStatus("Not sent: "+why+". Your text stays in the input; send it once connected.", true)
	}
	m.input.Reset()
	m.nextLocal++
	local := m.nextLocal
	m.msgs.AddPending(local, &pb.Message{Nick: m.session.Nick(), Text: text, Kind: kind, SentUnixMs: time.Now().UnixMilli()})
	m.msgs.Bottom()
	session := m.session
	return func() tea.Msg {
		// No timeout: the session retries until the server takes the
		// message or the session ends (logout, quit).
		var msg *pb.Message
		var err error
		if kind == pb.Kind_KIND_ACTION {
			msg, err = session.Act(context.Background(), text)
		} else {
			msg, err = session.Send(context.Background(), text)
		}
		return sentMsg{local: local, text: text, msg: msg, err: err}
	}
}

func (m *Model) onSent(msg sentMsg) tea.Cmd {
	m.msgs.RemovePending(msg.local)
	if msg.err != nil {
		if errors.Is(msg.err, chat.ErrClosed) {
			return nil // logged out meanwhile
		}
		if m.input.Value() == "" {
			m.input.SetValue(msg.text) // keep what was typed
		}
		return m.setStatus("Not sent: "+errText(msg.err), true)
	}
	m.msgs.Add([]*pb.Message{msg.msg})
	return nil
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// commandHelp lists the slash commands, for /help and the help overlay.
var commandHelp = [][2]string{
	{"/help", "this help"},
	{"/users", "focus the member list"},
	{"/history", "load older messages"},
	{"/nick NAME", "change your nickname"},
	{"/me ACTION", "say what you do: * alice waves"},
	{"/logout", "back to the login screen"},
	{"/quit", "leave the chat"},
	{"//text", "send text that starts with /"},
}

func (m *Model) command(line string) tea.Cmd {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "/help":
		m.showHelp = true
	case "/users":
		m.setFocus(focusUsers)
		return m.setStatus(fmt.Sprintf("%d members, %d online (tab: back to the input)", len(m.users.members), m.users.Online()), false)
	case "/history":
		if m.noOlder {
			return m.setStatus("No older messages.", false)
		}
		return m.loadOlder()
	case "/nick":
		if arg == "" {
			return m.setStatus("Usage: /nick NAME", true)
		}
		session := m.session
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			return renamedMsg{nick: arg, err: session.Rename(ctx, arg)}
		}
	case "/me":
		if arg == "" {
			return m.setStatus("Usage: /me ACTION", true)
		}
		return m.send(pb.Kind_KIND_ACTION, arg)
	case "/logout":
		return m.logout()
	case "/quit":
		return m.quit()
	default:
		return m.setStatus(fmt.Sprintf("Unknown command %s; /help lists them.", name), true)
	}
	return nil
}

// maybeLoadOlder asks for the previous page when the oldest held message
// has scrolled into view.
func (m *Model) maybeLoadOlder() tea.Cmd {
	if m.screen != chatScreen || m.noOlder || m.loadingOlder || !m.msgs.AtTop() {
		return nil
	}
	return m.loadOlder()
}

func (m *Model) loadOlder() tea.Cmd {
	if m.loadingOlder {
		return nil
	}
	m.olderGen++
	m.loadingOlder = true
	gen, room, before := m.olderGen, m.room, m.msgs.OldestSeq()
	if before == 0 {
		before = 1 << 62 // nothing held yet: the newest page
	}
	return tea.Batch(m.setStatus("Loading older messages…", false), func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		msgs, err := room.Before(ctx, before, pageSize)
		return olderMsg{gen: gen, msgs: msgs, err: err}
	})
}

func (m *Model) onOlder(msg olderMsg) tea.Cmd {
	if msg.gen != m.olderGen {
		return nil // an answer for a request we no longer care about
	}
	m.loadingOlder = false
	if msg.err != nil {
		return m.setStatus("Could not load older messages: "+errText(msg.err), true)
	}
	m.msgs.Add(msg.msgs)
	m.noOlder = len(msg.msgs) == 0 || msg.msgs[0].Seq <= 1
	text := fmt.Sprintf("Loaded %d older message%s.", len(msg.msgs), plural(len(msg.msgs)))
	if m.noOlder {
		text += " That is the beginning of the room."
	}
	return m.setStatus(text, false)
}

// leaveCmd posts "left", marks us offline and ends the session; quitting
// waits for it only briefly, so a dead server cannot hold the terminal.
func leaveCmd(session *chat.Session, quit bool, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err := session.Leave(ctx)
		if err != nil {
			session.Close()
		}
		return loggedOutMsg{quit: quit, err: err}
	}
}

func (m *Model) endSession() *chat.Session {
	s := m.session
	if m.stopFeed != nil {
		m.stopFeed()
		m.stopFeed = nil
	}
	m.feedGen++
	m.olderGen++
	m.loadingOlder = false
	m.session, m.room, m.feed = nil, nil, nil
	m.conn = connOffline
	return s
}

func (m *Model) logout() tea.Cmd {
	s := m.endSession()
	if s == nil {
		return nil
	}
	m.screen = loginScreen
	m.login.fields[0].SetValue(s.Nick())
	m.login.fields[1].SetValue(s.Room().Code())
	m.login.err, m.login.busy = "", true
	m.showHelp = false
	return leaveCmd(s, false, 10*time.Second)
}

func (m *Model) quit() tea.Cmd {
	if m.quitting { // a second ctrl+c: do not wait
		return tea.Quit
	}
	if n := m.msgs.pending; n > 0 && !m.dropUnsent {
		// Sent while the server was reachable, not taken yet: quitting
		// now would lose them, so say so once.
		m.dropUnsent = true
		m.statusGen++
		m.status, m.statusErr = fmt.Sprintf("%d message%s not sent yet (the server has not taken %s): ctrl+c again to quit and drop %s", n, plural(n), pronoun(n), pronoun(n)), true
		return nil
	}
	m.quitting = true
	s := m.endSession()
	if s == nil {
		return tea.Quit
	}
	m.status, m.statusErr = "Leaving the room… (ctrl+c again: quit now)", false
	return leaveCmd(s, true, 2*time.Second)
}

func (m *Model) onLoggedOut(msg loggedOutMsg) tea.Cmd {
	if msg.err != nil {
		m.log.Warn("leave", "err", msg.err)
	}
	if msg.quit {
		return tea.Quit
	}
	m.login.busy = false
	m.msgs.Reset()
	m.users.SetMembers(nil, "")
	return nil
}

// layout sizes the panes for the terminal.
func (m *Model) layout() {
	w, h := m.width, m.height
	m.login.SetSize(w, max(h-1, 1))
	m.help.SetWidth(w)
	usersW := min(max(w/4, 16), 28)
	bodyH := max(h-2-(inputHeight+2), 3)
	m.msgs.SetSize(w-usersW, bodyH)
	m.users.SetSize(usersW, bodyH)
	m.input.SetSize(w, inputHeight+2)
}

// View implements tea.Model.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "webaas-chat"
	if m.room != nil {
		v.WindowTitle += " · " + roomName(m.room)
	}
	return v
}

// render draws the whole screen: exactly width × height cells.
func (m *Model) render() string {
	w, h := m.width, m.height
	if w <= 0 || h <= 0 {
		return ""
	}
	if w < MinWidth || h < MinHeight {
		note := fmt.Sprintf("Terminal too small: %d×%d.\nwebaas-chat needs at least %d×%d.\nEnlarge the window, or ctrl+c to quit.", w, h, MinWidth, MinHeight)
		return fill(lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, ansi.Wrap(note, w, "")), w, h)
	}
	var screen string
	if m.screen == loginScreen {
		screen = m.login.View() + "\n" + m.hintLine(m.login)
	} else {
		screen = strings.Join([]string{
			m.header(),
			lipgloss.JoinHorizontal(lipgloss.Top, m.frame(m.msgs, m.focus == focusMessages), m.frame(m.users, m.focus == focusUsers)),
			m.frame(m.input, m.focus == focusInput),
			m.hintLine(*m.keys),
		}, "\n")
	}
	screen = fill(screen, w, h)
	if m.showHelp {
		screen = m.overlay(screen, m.helpBox())
	}
	return screen
}

// frame draws a pane inside its border; the focused pane's is heavier
// and coloured, so focus shows even without colour.
func (m *Model) frame(p interface{ View() string }, focused bool) string {
	st := m.styles.Pane
	if focused {
		st = m.styles.FocusedPane
	}
	return st.Render(p.View())
}

func (m *Model) header() string {
	st := m.styles
	var state string
	switch m.conn {
	case connConnected:
		state = st.Connected.Render("● connected")
	case connReconnecting:
		if m.hostWhy != "" {
			state = st.Reconnecting.Render("◌ " + m.hostWhy)
		} else {
			state = st.Reconnecting.Render("◌ reconnecting " + m.connNote)
		}
	case connConnecting:
		state = st.Reconnecting.Render("◌ connecting")
	default:
		state = st.Offline.Render("○ offline")
	}
	name, nick, code := "webaas-chat", "", ""
	if m.room != nil { // nil while leaving
		name, nick = roomName(m.room), m.session.Nick()
		code = st.HeaderCode.Render("room " + m.room.Code() + " ")
	}
	left := st.HeaderRoom.Render(" "+name) + st.Header.Render(" · ") + st.HeaderNick.Render(nick+" ")
	right := state + st.Header.Render(" ")
	gap := m.width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if code != "" && gap >= ansi.StringWidth(code)+1 {
		right = code + right
		gap -= ansi.StringWidth(code)
	}
	if gap < 0 {
		return padRight(left+right, m.width)
	}
	return left + st.Header.Render(strings.Repeat(" ", gap)) + right
}

func (m *Model) hintLine(keys help.KeyMap) string {
	if m.status != "" {
		st := m.styles.Hint
		if m.statusErr {
			st = m.styles.Error
		}
		return padRight(st.Render(ansi.Truncate(m.status, m.width, "…")), m.width)
	}
	return padRight(m.help.ShortHelpView(keys.ShortHelp()), m.width)
}

// helpBox is the full help: keys, slash commands and the room code. It
// keeps to the terminal: key groups sit side by side when they fit, and
// sections that do not fit in the height are left out, the room code last.
func (m *Model) helpBox() string {
	st := m.styles
	var keys help.KeyMap = *m.keys
	if m.screen == loginScreen {
		keys = m.login
	}
	maxW, maxH := m.width-4, m.height-2 // inside the box's border and padding
	var groups []string
	for _, g := range keys.FullHelp() {
		groups = append(groups, m.help.FullHelpView([][]key.Binding{g}))
	}
	keyBlock := lipgloss.JoinHorizontal(lipgloss.Top, intersperse(groups, "   ")...)
	if lipgloss.Width(keyBlock) > maxW {
		keyBlock = lipgloss.JoinVertical(lipgloss.Left, groups...)
	}
	sections := [][]string{{st.Title.Render("webaas-chat help")}}
	if m.screen == chatScreen && m.room != nil {
		sections = append(sections, []string{st.Label.Render("Room code") + st.Dim.Render(" (share it to invite; it is the key to the room)"), m.room.Code()})
	}
	sections = append(sections, strings.Split(keyBlock, "\n"))
	if m.screen == chatScreen {
		cmds := []string{st.Label.Render("Commands")}
		for _, c := range commandHelp {
			cmds = append(cmds, padRight(c[0], 12)+st.Dim.Render(c[1]))
		}
		sections = append(sections, cmds)
	}
	footer := st.Hint.Render("esc closes this help")
	var lines []string
	for _, sec := range sections {
		if len(lines)+1+len(sec)+2 > maxH && len(lines) > 0 {
			footer = st.Hint.Render("esc closes · enlarge the terminal for more")
			break
		}
		if len(lines) > 0 {
			lines = append(lines, "")
		}
		lines = append(lines, sec...)
	}
	lines = append(lines, "", footer)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, maxW, "…")
	}
	return st.HelpBox.Render(strings.Join(lines, "\n"))
}

func intersperse(items []string, sep string) []string {
	var out []string
	for i, it := range items {
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, it)
	}
	return out
}

// overlay draws box centred over screen.
func (m *Model) overlay(screen, box string) string {
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	x, y := max((m.width-bw)/2, 0), max((m.height-bh)/2, 0)
	c := lipgloss.NewCompositor(lipgloss.NewLayer(screen), lipgloss.NewLayer(box).X(x).Y(y).Z(1))
	return fill(c.Render(), m.width, m.height)
}

// fill makes s exactly w × h cells: every view fills the terminal, so no
// stale cells survive a resize.
func fill(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = padRight(l, w)
	}
	return strings.Join(lines, "\n")
}
