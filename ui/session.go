package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// The lifecycle of a session: log in (open or create the room, join it,
// load the latest page, follow it), log out, quit.

// joined is what logging in to a room brings.
type joined struct {
	room     *chat.Room
	server   string // the room's server, as invites name it
	session  *chat.Session
	latest   []chat.Message
	readUpTo int64 // this reader's read marker when joined
	feed     <-chan chat.Event
	stop     context.CancelFunc
}

type (
	loginDoneMsg struct {
		joined
		err error
	}
	joinedMsg struct { // a room joined by /join, or again at launch
		joined
		err        error
		gen        int    // the login it was made for
		background bool   // joined again at launch: not shown at once
		invite     string // what was joined, and as whom
		nick       string
		notifyAll  bool
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
	m.startPreview(nick, code) // the cache's last page, until the server answers
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
	server := opts.Server
	if opts.Cache != nil {
		opts.RoomOptions = append(slices.Clip(opts.RoomOptions), chat.KeepRecords()) // for the cache
	}
	if code == "" {
		room, err = opts.Client.CreateRoom(cctx, "", append(slices.Clip(opts.RoomOptions), chat.Encrypted())...)
	} else {
		var inv chat.Invite
		if inv, err = chat.ParseInvite(code); err != nil {
			return joined{}, err
		}
		client := opts.Client
		if inv.Server != "" && !chat.SameServer(inv.Server, opts.Server) {
			// A room on another server: a client of its own.
			if client, err = chat.Dial(inv.Server); err != nil {
				return joined{}, err
			}
			server = inv.Server
		}
		room, err = client.OpenRoom(cctx, inv.Code, append(slices.Clip(opts.RoomOptions), chat.WithSecret(inv.Secret))...)
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
	follow := opts.Follow
	follow.Members = true
	follow.Logger = opts.Logger
	follow.Reader = session.Reader()
	follow.Readers, follow.Typing = true, true // "seen by", "is typing"
	readUpTo, err := room.ReadUpTo(cctx, follow.Reader)
	if err != nil {
		session.Close()
		return joined{}, err
	}
	fctx, stop := context.WithCancel(ctx)
	feed, err := room.Follow(fctx, after, follow)
	if err != nil {
		stop()
		session.Close()
		return joined{}, err
	}
	keep(opts, room, latest)
	if opts.Remember != nil {
		if err := opts.Remember(nick, room.Invite(server).String()); err != nil {
			opts.Logger.Warn("remember login", "err", err)
		}
	}
	return joined{room: room, server: server, session: session, latest: latest, readUpTo: readUpTo, feed: feed, stop: stop}, nil
}

// loginError says what went wrong in words that fit the login form.
func (m *Model) loginError(err error) string {
	if chat.Unreachable(err) {
		return "Cannot reach the server at " + m.opts.Server + " (is it running?)"
	}
	return chat.Explain(err)
}

// joinCmd joins another room with the nickname in use, beside those
// joined.
func (m *Model) joinCmd(nick, code string) tea.Cmd {
	opts, ctx, gen := m.opts, m.c.Ctx, m.gen
	return func() tea.Msg {
		j, err := join(ctx, opts, nick, code)
		return joinedMsg{joined: j, err: err, gen: gen}
	}
}

// onJoined adds a room joined by /join and shows it.
func (m *Model) onJoined(msg joinedMsg) tea.Cmd {
	if msg.gen != m.gen {
		// For a login that has ended: nothing of it is added now.
		if msg.err == nil {
			msg.stop()
			return leaveCmd(m.c.Ctx, []*chat.Session{msg.session}, false, 10*time.Second)
		}
		return nil
	}
	if msg.err != nil {
		if msg.background {
			// Kept in the list for the next launch: the server may be back.
			m.unjoined = append(m.unjoined, RoomEntry{Invite: msg.invite, Nick: msg.nick})
			return m.setStatus("Could not join a room of the last launch again: "+m.loginError(msg.err), true)
		}
		return m.setStatus("Not joined: "+m.loginError(msg.err), true)
	}
	if m.screen != chatScreen || m.quitting {
		// Logged out or quitting meanwhile: leave it again.
		msg.stop()
		return leaveCmd(m.c.Ctx, []*chat.Session{msg.session}, false, 10*time.Second)
	}
	for _, other := range m.rooms {
		if other.room.Code() == msg.room.Code() { // joined twice meanwhile
			msg.stop()
			return leaveCmd(m.c.Ctx, []*chat.Session{msg.session}, false, 10*time.Second)
		}
	}
	m.nextID++
	r := newRoomView(m.c, m.nextID, msg.joined)
	r.notifyAll = msg.notifyAll
	m.dropUnjoined(r.room.Code()) // a room of the last launch, joined at last
	defer m.saveRooms()
	offers := m.directOffers(r, msg.latest) // made while we were away
	if msg.background {
		m.insertInOrder(r)
		m.layout() // the room list may appear
		return tea.Batch(r.waitFeed(), offers)
	}
	m.rooms = append(m.rooms, r)
	return tea.Batch(r.waitFeed(), offers, m.switchTo(len(m.rooms)-1), m.setStatus("Joined "+r.name()+" as "+r.session.Nick()+" (ctrl+n/ctrl+p switch rooms).", false))
}

func (m *Model) loggedIn(msg loginDoneMsg) tea.Cmd {
	if msg.err != nil {
		if cmd, ok := m.previewFailed(msg.err); ok {
			return cmd // the preview stays; it tries again
		}
		m.login.SetError(m.loginError(msg.err))
		return nil
	}
	m.preview = nil // what the server says replaces it
	m.nextID++
	m.gen++
	r := newRoomView(m.c, m.nextID, msg.joined)
	m.rooms, m.cur = []*roomView{r}, 0
	m.screen = chatScreen
	m.login.Ready()
	m.layout()
	m.setFocus(focusInput)
	// On screen, at its newest line: read.
	cmds := []tea.Cmd{r.waitFeed(), r.read(), m.directOffers(r, msg.latest), m.setStatus("Joined "+r.name()+" as "+r.session.Nick()+". /invite copies the invite.", false)}
	// The other rooms of the last launch, in the background, each put
	// back at its place in the list.
	m.order = map[string]int{}
	for i, e := range m.opts.Rooms {
		inv, err := chat.ParseInvite(e.Invite)
		if err != nil {
			continue
		}
		m.order[inv.Code] = i
		if inv.Code == r.room.Code() {
			r.notifyAll = e.NotifyAll
		}
	}
	for _, e := range m.opts.Rooms {
		if inv, err := chat.ParseInvite(e.Invite); err == nil && inv.Code != r.room.Code() {
			nick := e.Nick
			if nick == "" {
				nick = r.session.Nick()
			}
			cmds = append(cmds, m.rejoinCmd(nick, e.Invite, e.NotifyAll))
		}
	}
	m.opts.Rooms = nil // once per launch
	m.saveRooms()
	if m.opts.Notice != "" { // over the greeting: it matters more
		cmds = append(cmds, m.setStatus(m.opts.Notice, true))
		m.opts.Notice = ""
	}
	return tea.Batch(cmds...)
}

// rejoinCmd joins a remembered room without showing it.
func (m *Model) rejoinCmd(nick, invite string, notifyAll bool) tea.Cmd {
	opts, ctx, gen := m.opts, m.c.Ctx, m.gen
	opts.Remember = nil // the room the login form shows stays the last one
	return func() tea.Msg {
		j, err := join(ctx, opts, nick, invite)
		return joinedMsg{joined: j, err: err, gen: gen, background: true, invite: invite, nick: nick, notifyAll: notifyAll}
	}
}

// insertInOrder puts a room joined again at launch back at its place in
// the remembered list, keeping the room on screen on screen.
func (m *Model) insertInOrder(r *roomView) {
	want, known := m.order[r.room.Code()]
	at := len(m.rooms)
	if known {
		for i, other := range m.rooms {
			if j, ok := m.order[other.room.Code()]; ok && j > want {
				at = i
				break
			}
		}
	}
	m.rooms = slices.Insert(m.rooms, at, r)
	if at <= m.cur && len(m.rooms) > 1 {
		m.cur++
	}
}

// roomEntries are the joined rooms as the chat remembers them, then
// those of the last launch that did not open this time.
func (m *Model) roomEntries() []RoomEntry {
	var list []RoomEntry
	for _, r := range m.rooms {
		list = append(list, RoomEntry{Invite: r.invite(), Nick: r.session.Nick(), NotifyAll: r.notifyAll})
	}
	return append(list, m.unjoined...)
}

// saveRooms remembers the joined rooms, in the list's order, and those
// that could not be joined again this launch (kept, to try next time).
func (m *Model) saveRooms() {
	if m.opts.RememberRooms == nil {
		return
	}
	if err := m.opts.RememberRooms(m.roomEntries()); err != nil {
		m.c.Log.Warn("remember rooms", "err", err)
	}
}

// leaveCmd posts "left", marks us offline and ends the sessions (every
// room's at once); quitting waits for it only briefly, so a dead server
// cannot hold the terminal.
func leaveCmd(ctx context.Context, sessions []*chat.Session, quit bool, timeout time.Duration) tea.Cmd {
	return func() tea.Msg {
		// Leaving must happen even as the program's context ends (ctrl+c).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		errs := make([]error, len(sessions))
		var wg sync.WaitGroup
		for i, s := range sessions {
			wg.Go(func() {
				if errs[i] = s.Leave(ctx); errs[i] != nil {
					s.Close()
				}
			})
		}
		wg.Wait()
		return loggedOutMsg{quit: quit, err: errors.Join(errs...)}
	}
}

// endRooms drops every joined room and returns their sessions, to leave.
func (m *Model) endRooms() []*chat.Session {
	var out []*chat.Session
	for _, r := range m.rooms {
		r.close()
		out = append(out, r.session)
	}
	m.rooms, m.cur = nil, 0
	return out
}

func (m *Model) logout() tea.Cmd {
	r := m.room()
	if r == nil {
		return nil
	}
	nick, invite := r.session.Nick(), r.invite()
	// The next login joins them all again, as a launch would.
	m.opts.Rooms, m.unjoined, m.offers = m.roomEntries(), nil, nil
	m.gen++
	sessions := m.endRooms()
	m.screen = loginScreen
	m.login.Reset(nick, invite)
	m.showHelp = false
	return leaveCmd(m.c.Ctx, sessions, false, 10*time.Second)
}

// part leaves the room on screen and shows the next; leaving the last
// room is logging out.
func (m *Model) part() tea.Cmd {
	r := m.room()
	if r == nil || len(m.rooms) == 1 {
		return m.logout()
	}
	r.close()
	m.rooms = append(m.rooms[:m.cur:m.cur], m.rooms[m.cur+1:]...)
	shown := m.switchTo(min(m.cur, len(m.rooms)-1))
	m.saveRooms()
	return tea.Batch(shown, leaveCmd(m.c.Ctx, []*chat.Session{r.session}, false, 10*time.Second),
		m.setStatus("Left "+r.name()+".", false))
}

func (m *Model) quit() tea.Cmd {
	if m.quitting { // a second ctrl+c: do not wait
		return tea.Quit
	}
	pending := 0
	for _, r := range m.rooms {
		pending += r.msgs.Pending()
	}
	if pending > 0 && !m.dropUnsent {
		// Sent while the server was reachable, not taken yet: quitting
		// now would lose them, so say so once.
		n := pending
		m.dropUnsent = true
		m.status.gen++
		m.status.text, m.status.err = fmt.Sprintf("%d message%s not sent yet (the server has not taken %s): ctrl+c again to quit and drop %s", n, common.Plural(n), pronoun(n), pronoun(n)), true
		return nil
	}
	m.quitting = true
	if len(m.rooms) == 0 {
		return tea.Quit
	}
	// The rooms stay on screen, offline, while we leave them.
	var sessions []*chat.Session
	for _, r := range m.rooms {
		r.close()
		r.conn = connOffline
		sessions = append(sessions, r.session)
	}
	m.status.text, m.status.err = "Leaving… (ctrl+c again: quit now)", false
	return leaveCmd(m.c.Ctx, sessions, true, 2*time.Second)
}

// Leave leaves the joined rooms, within timeout, unless the chat is
// already leaving them (ctrl+c, /quit) or holds none: for a program that
// ended without the chat quitting (a signal, the terminal gone), so that
// its nicknames go offline at once and the rooms read "alice left".
// Call it once the program has returned.
func (m *Model) Leave(timeout time.Duration) error {
	if m.quitting {
		return nil
	}
	sessions := m.endRooms()
	if len(sessions) == 0 {
		return nil
	}
	m.quitting = true
	return leaveCmd(m.c.Ctx, sessions, true, timeout)().(loggedOutMsg).err
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
