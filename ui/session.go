package ui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// The lifecycle of a session: log in (open or create the room, join it,
// load the latest page, follow it), log out, quit.

// joined is what logging in to a room brings.
type joined struct {
	room    *chat.Room
	session *chat.Session
	latest  []chat.Message
	feed    <-chan chat.Event
	stop    context.CancelFunc
}

type (
	loginDoneMsg struct {
		joined
		err error
	}
	loggedOutMsg struct {
		quit bool
		err  error
	}
	clearStatusMsg struct{ gen int }
)

// loginCmd opens or creates the room, joins it, loads the latest page and
// starts following it.
func (m *Model) loginCmd(nick, code string) tea.Cmd {
	opts, ctx := m.opts, m.c.Ctx
	return func() tea.Msg {
		j, err := join(ctx, opts, nick, code)
		return loginDoneMsg{joined: j, err: err}
	}
}

func join(ctx context.Context, opts Options, nick, code string) (joined, error) {
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var room *chat.Room
	var err error
	if code == "" {
		room, err = opts.Client.CreateRoom(cctx, "", append(opts.RoomOptions, chat.Encrypted())...)
	} else {
		var inv chat.Invite
		if inv, err = chat.ParseInvite(code); err != nil {
			return joined{}, err
		}
		if inv.Server != "" && !chat.SameServer(inv.Server, opts.Server) {
			return joined{}, &chat.OtherServerError{Invite: inv.Server, Here: opts.Server}
		}
		room, err = opts.Client.OpenRoom(cctx, inv.Code, append(opts.RoomOptions, chat.WithSecret(inv.Secret))...)
	}
	if err != nil {
		return joined{}, err
	}
	session, err := room.Join(cctx, nick, opts.Session)
	if err != nil {
		return joined{}, err
	}
	latest, err := room.Latest(cctx, pageSize)
	if err != nil {
		session.Close()
		return joined{}, err
	}
	var after int64
	if len(latest) > 0 {
		after = latest[len(latest)-1].Seq
	}
	fctx, stop := context.WithCancel(ctx)
	follow := opts.Follow
	follow.Members = true
	follow.Logger = opts.Logger
	feed, err := room.Follow(fctx, after, follow)
	if err != nil {
		stop()
		session.Close()
		return joined{}, err
	}
	if opts.Remember != nil {
		if err := opts.Remember(nick, room.Invite(opts.Server).String()); err != nil {
			opts.Logger.Warn("remember login", "err", err)
		}
	}
	return joined{room: room, session: session, latest: latest, feed: feed, stop: stop}, nil
}

// loginError says what went wrong in words that fit the login form.
func (m *Model) loginError(err error) string {
	if chat.Unreachable(err) {
		return "Cannot reach the server at " + m.opts.Server + " (is it running?)"
	}
	return chat.Explain(err)
}

func (m *Model) loggedIn(msg loginDoneMsg) tea.Cmd {
	if msg.err != nil {
		m.login.SetError(m.loginError(msg.err))
		return nil
	}
	m.nextID++
	r := newRoomView(m.c, m.nextID, msg.joined)
	m.rooms, m.cur = []*roomView{r}, 0
	m.screen = chatScreen
	m.login.Ready()
	m.layout()
	m.setFocus(focusInput)
	return tea.Batch(r.waitFeed(), m.setStatus("Joined "+r.name()+" as "+r.session.Nick()+". Share the room code (F1) to invite.", false))
}

// leaveCmd posts "left", marks us offline and ends the session; quitting
// waits for it only briefly, so a dead server cannot hold the terminal.
func leaveCmd(ctx context.Context, session *chat.Session, quit bool, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		// Leaving must happen even as the program's context ends (ctrl+c).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		err := session.Leave(ctx)
		if err != nil {
			session.Close()
		}
		return loggedOutMsg{quit: quit, err: err}
	}
}

// endRoom drops the room on screen and returns its session, to leave.
// (With several rooms, logging out will leave them all.)
func (m *Model) endRoom() *chat.Session {
	r := m.room()
	if r == nil {
		return nil
	}
	r.close()
	m.rooms = nil
	m.cur = 0
	return r.session
}

func (m *Model) logout() tea.Cmd {
	r := m.room()
	s := m.endRoom()
	if s == nil {
		return nil
	}
	m.screen = loginScreen
	m.login.Reset(s.Nick(), r.room.Invite(m.opts.Server).String())
	m.showHelp = false
	return leaveCmd(m.c.Ctx, s, false, 10*time.Second)
}

func (m *Model) quit() tea.Cmd {
	if m.quitting { // a second ctrl+c: do not wait
		return tea.Quit
	}
	if r := m.room(); r != nil && r.msgs.Pending() > 0 && !m.dropUnsent {
		// Sent while the server was reachable, not taken yet: quitting
		// now would lose them, so say so once.
		n := r.msgs.Pending()
		m.dropUnsent = true
		m.status.gen++
		m.status.text, m.status.err = fmt.Sprintf("%d message%s not sent yet (the server has not taken %s): ctrl+c again to quit and drop %s", n, common.Plural(n), pronoun(n), pronoun(n)), true
		return nil
	}
	m.quitting = true
	r := m.room()
	if r == nil {
		return tea.Quit
	}
	// The room stays on screen, offline, while we leave it.
	r.close()
	r.conn = connOffline
	s := r.session
	m.status.text, m.status.err = "Leaving the room… (ctrl+c again: quit now)", false
	return leaveCmd(m.c.Ctx, s, true, 2*time.Second)
}

// Leave leaves the room on screen, within timeout, unless the chat is
// already leaving it (ctrl+c, /quit) or holds none: for a program that
// ended without the chat quitting (a signal, the terminal gone), so that
// its nickname goes offline at once and the room reads "alice left".
// Call it once the program has returned.
func (m *Model) Leave(timeout time.Duration) error {
	if m.quitting {
		return nil
	}
	s := m.endRoom()
	if s == nil {
		return nil
	}
	m.quitting = true
	return leaveCmd(m.c.Ctx, s, true, timeout)().(loggedOutMsg).err
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func (m *Model) onLoggedOut(msg loggedOutMsg) tea.Cmd {
	if msg.err != nil {
		m.c.Log.Warn("leave", "err", msg.err)
	}
	if msg.quit {
		return tea.Quit
	}
	m.login.Ready()
	return nil
}
