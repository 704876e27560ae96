package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// runCmd runs a command as the program would, each part of a batch on
// its own, and hands the model the answer a test waits on (a join or a
// leave); the other parts (status timers) are left to run out.
func runCmd(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	if cmd == nil {
		return
	}
	out := make(chan tea.Msg, 16)
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		msg := c()
		batch, ok := msg.(tea.BatchMsg)
		if !ok {
			out <- msg
			return
		}
		for _, c := range batch {
			if c != nil {
				go run(c)
			}
		}
	}
	go run(cmd)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case msg := <-out:
			switch msg.(type) {
			case joinedMsg, loggedOutMsg:
				m.Update(msg)
				return
			}
		case <-deadline:
			t.Fatal("no join or leave came of the command")
		}
	}
}

// feedUntil hands r's feed events to m until done says so, and returns
// what m asked to run for the last one. done is asked first with no event
// (is it done already?), then after each event m took.
func feedUntil(t *testing.T, m *Model, r *roomView, what string, done func(ev *chat.Event) bool) tea.Cmd {
	t.Helper()
	if done(nil) {
		return nil
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-r.feed:
			_, cmd := m.Update(feedMsg{room: r.id, ok: true, ev: ev})
			if done(&ev) {
				return cmd
			}
		case <-deadline:
			t.Fatalf("%s never came", what)
		}
	}
}

// holds reports whether ev brings a message that match says is the one.
func holds(ev *chat.Event, match func(chat.Message) bool) bool {
	if ev != nil {
		for _, msg := range ev.Messages {
			if match(msg) {
				return true
			}
		}
	}
	return false
}

// Two rooms in one chat: /join adds one and shows it; a line in the
// other raises its unread and mention counts in the room list; switching
// reads them; each room keeps its draft; /join of a joined room switches
// to it; /part leaves one and shows the other.
func TestTwoRooms(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	logIn(t, m, "alice", "")
	first := m.room()

	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.CreateRoom(context.Background(), "second room", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	first.input.SetValue("a draft in the first room")
	runCmd(t, m, m.command(first, "/join "+other.Invite(m.opts.Server).String()))
	if len(m.rooms) != 2 || m.room().room.Code() != other.Code() {
		t.Fatalf("after /join: %d rooms, on %q (%s)", len(m.rooms), m.room().name(), m.status.text)
	}
	t.Cleanup(func() { m.room().session.Close() })
	screen := shown(m)
	if !strings.Contains(screen, "Rooms") || !strings.Contains(screen, "▸ second room") {
		t.Fatalf("no room list:\n%s", screen)
	}

	// bob writes in the first room, naming alice.
	inv := first.room.Invite("")
	bobRoom, err := c.OpenRoom(context.Background(), inv.Code, chat.WithSecret(inv.Secret))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := bobRoom.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sent, err := bob.Send(context.Background(), "alice, look")
	if err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, first, "bob's line", func(ev *chat.Event) bool {
		return holds(ev, func(msg chat.Message) bool { return msg.Seq == sent.Seq })
	})
	if first.unread != 1 || first.mentions != 1 {
		t.Fatalf("counts %d unread, %d mentions; want 1, 1", first.unread, first.mentions)
	}
	if !strings.Contains(shown(m), "@1") {
		t.Errorf("the list does not show the counts:\n%s", shown(m))
	}

	m.Update(tea.KeyPressMsg{Code: 'p', Mod: tea.ModCtrl})
	if m.room() != first || first.unread != 0 || first.mentions != 0 {
		t.Fatalf("ctrl+p: on %q, counts %d/%d", m.room().name(), first.unread, first.mentions)
	}
	if got := first.input.Value(); got != "a draft in the first room" {
		t.Errorf("the first room's draft is %q", got)
	}
	m.command(first, "/join "+other.Invite(m.opts.Server).String())
	if len(m.rooms) != 2 || m.room().room.Code() != other.Code() {
		t.Fatalf("/join of a joined room: %d rooms", len(m.rooms))
	}
	runCmd(t, m, m.command(m.room(), "/part"))
	if len(m.rooms) != 1 || m.room() != first || m.screen != chatScreen {
		t.Fatalf("after /part: %d rooms, screen %v", len(m.rooms), m.screen)
	}
	if strings.Contains(shown(m), "Rooms") {
		t.Error("the room list stays with one room")
	}
}

// While the window is not focused, a line naming you sends a desktop
// notification (OSC 9 here) naming the room and the sender, with nothing
// in it that could end the escape early, and the window title counts it;
// focus clears the count. Focused, there is no notification.
func TestMentionNotifiesWhenUnfocused(t *testing.T) {
	m := loggedIn(t, 100, 30)
	m.opts.Notify = NotifyOSC9
	r := m.room()
	mention := func(seq int64, text string) tea.Cmd {
		_, cmd := m.Update(feedMsg{room: r.id, ok: true, ev: chat.Event{Kind: chat.Messages, Messages: []chat.Message{{
			Seq: seq, Kind: chat.Text, Nick: "bob", Text: text, Sent: time.Now(),
		}}}})
		return cmd
	}
	if osc := findRaw(mention(2000, "alice: focused"), "\x1b]9;"); osc != "" {
		t.Fatalf("a notification while focused: %q", osc)
	}
	m.Update(tea.BlurMsg{})
	osc := findRaw(mention(2001, "alice: look\x07\x1b]0;evil\x07"), "\x1b]9;")
	if osc == "" || !strings.Contains(osc, "bob: alice: look") || strings.Count(osc, "\x07") != 1 || strings.Count(osc, "\x1b") != 1 {
		t.Fatalf("notification %q", osc)
	}
	if title := m.View().WindowTitle; !strings.HasPrefix(title, "(1) webaas-chat") {
		t.Errorf("title %q", title)
	}
	m.Update(tea.FocusMsg{})
	if title := m.View().WindowTitle; strings.HasPrefix(title, "(") {
		t.Errorf("title after focus %q", title)
	}
	// /notify all: every line of others, not only mentions.
	m.Update(tea.BlurMsg{})
	if osc := findRaw(mention(2002, "just chatting"), "\x1b]9;"); osc != "" {
		t.Fatalf("a line without a mention notified: %q", osc)
	}
	m.command(r, "/notify all")
	if osc := findRaw(mention(2003, "still chatting"), "\x1b]9;"); !strings.Contains(osc, "still chatting") {
		t.Fatalf("/notify all: %q", osc)
	}
}

// findRaw runs cmd (and a batch's parts that answer at once) and returns
// the raw output that starts with prefix, if any.
func findRaw(cmd tea.Cmd, prefix string) string {
	if cmd == nil {
		return ""
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(100 * time.Millisecond): // a timer: not what we look for
		return ""
	}
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			if s := findRaw(c, prefix); s != "" {
				return s
			}
		}
	case tea.RawMsg:
		if s, ok := msg.Msg.(string); ok && strings.HasPrefix(s, prefix) {
			return s
		}
	}
	return ""
}

// The rooms of the last launch are joined again at login, in the
// background (the one the login form opened stays on screen), each with
// its nickname; one that no longer opens is kept in the list for next
// time, and the list is remembered as it changes.
func TestRoomsOfTheLastLaunchAreJoinedAgain(t *testing.T) {
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.CreateRoom(context.Background(), "first", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateRoom(context.Background(), "second", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	m := newTestModel(t, srv, "alice", "")
	server := m.opts.Server
	gone := RoomEntry{Invite: "00000000-0000-4000-8000-000000000000", Nick: "alice"}
	m.opts.Rooms = []RoomEntry{{Invite: first.Invite(server).String(), Nick: "alice"}, {Invite: second.Invite(server).String(), Nick: "al"}, gone}
	var saved []RoomEntry
	m.opts.RememberRooms = func(list []RoomEntry) error { saved = list; return nil }
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})

	done := m.loginCmd("alice", first.Invite(server).String())().(loginDoneMsg)
	if done.err != nil {
		t.Fatal(done.err)
	}
	_, cmd := m.Update(done)
	t.Cleanup(func() {
		for _, s := range m.endRooms() {
			s.Close()
		}
	})
	// Two rejoins come of the login: one opens, one does not.
	msgs := make(chan tea.Msg, 8)
	go func() {
		for _, c := range cmd().(tea.BatchMsg) {
			if c != nil {
				go func() { msgs <- c() }()
			}
		}
	}()
	deadline := time.After(10 * time.Second)
	for answered := 0; answered < 2; {
		select {
		case msg := <-msgs:
			if j, ok := msg.(joinedMsg); ok {
				m.Update(j)
				answered++
			}
		case <-deadline:
			t.Fatal("the rooms of the last launch were not joined again")
		}
	}
	if len(m.rooms) != 2 || m.room().room.Code() != first.Code() {
		t.Fatalf("%d rooms, on %q", len(m.rooms), m.room().name())
	}
	if nick := m.rooms[1].session.Nick(); nick != "al" {
		t.Errorf("the second room's nickname is %q, want al", nick)
	}
	if len(saved) != 3 || saved[2] != gone || saved[1].Nick != "al" {
		t.Errorf("remembered %+v", saved)
	}
	if !strings.Contains(shown(m), "✗ gone 00000000") {
		t.Errorf("the room that did not open is not marked gone:\n%s", shown(m))
	}
	m.command(m.room(), "/move down")
	if m.cur != 1 || m.rooms[1].room.Code() != first.Code() || saved[1].Invite != first.Invite(server).String() {
		t.Errorf("/move down: on %d, remembered %+v", m.cur, saved)
	}
	m.command(m.room(), "/drop")
	if len(saved) != 2 || strings.Contains(shown(m), "✗ gone") {
		t.Errorf("/drop: remembered %+v", saved)
	}
}

// 50 rooms in the list draw within the screen at the smallest size, the
// room on screen among those shown; alt+a goes to the next room with
// mentions, then with unread lines.
func TestManyRoomsInTheList(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: MinWidth, Height: MinHeight})
	done := logIn(t, m, "alice", "")
	for i := 1; i < 50; i++ { // views of one room: drawing is what is tested
		m.nextID++
		m.rooms = append(m.rooms, newRoomView(m.c, m.nextID, done.joined))
	}
	m.layout()
	m.rooms[7].unread = 2
	m.rooms[31].mentions, m.rooms[31].unread = 1, 1
	m.Update(tea.KeyPressMsg{Code: 'a', Mod: tea.ModAlt})
	if m.cur != 31 {
		t.Fatalf("alt+a went to room %d, want 31 (a mention)", m.cur)
	}
	m.Update(tea.KeyPressMsg{Code: 'a', Mod: tea.ModAlt})
	if m.cur != 7 {
		t.Fatalf("alt+a went to room %d, want 7 (unread)", m.cur)
	}
	for _, cur := range []int{0, 7, 45, 49} {
		m.switchTo(cur)
		view := shown(m)
		checkFills(t, "50 rooms", view, MinWidth, MinHeight)
		if !strings.Contains(view, "▸") || !strings.Contains(view, "Rooms 50") {
			t.Fatalf("room %d of 50: the list does not show it:\n%s", cur, view)
		}
	}
	m.rooms = m.rooms[:1] // the others share its session: closed once
}

// Reading a room on one device clears its unread count on another with
// the same identity, live; a restart counts what is still unread.
func TestReadOnAnotherDeviceClearsTheCount(t *testing.T) {
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	busy, err := c.CreateRoom(context.Background(), "busy", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := c.CreateRoom(context.Background(), "quiet", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	alice := mustIdentity(t)
	device := func(onScreen, background *chat.Room) *Model {
		m := newTestModel(t, srv, "alice", "")
		m.opts.Session.Identity = alice
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
		logIn(t, m, "alice", onScreen.Invite(m.opts.Server).String())
		if background != nil { // as a launch joins the rooms of the last one
			runCmd(t, m, m.rejoinCmd("alice", background.Invite(m.opts.Server).String(), false))
		}
		return m
	}
	laptop := device(quiet, busy) // busy in the background
	phone := device(busy, nil)    // busy on screen
	t.Cleanup(func() {
		for _, s := range append(laptop.endRooms(), phone.endRooms()...) {
			s.Close()
		}
	})
	var onLaptop, onPhone *roomView
	for _, r := range laptop.rooms {
		if r.room.Code() == busy.Code() {
			onLaptop = r
		}
	}
	onPhone = phone.room()

	inv := busy.Invite("")
	bobRoom, err := c.OpenRoom(context.Background(), inv.Code, chat.WithSecret(inv.Secret))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := bobRoom.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sent, err := bob.Send(context.Background(), "news for alice")
	if err != nil {
		t.Fatal(err)
	}
	pump := func(m *Model, r *roomView, until func() bool) {
		t.Helper()
		feedUntil(t, m, r, "the line", func(*chat.Event) bool { return until() })
	}
	pump(laptop, onLaptop, func() bool { return onLaptop.lastSeq >= sent.Seq })
	pump(phone, onPhone, func() bool { return onPhone.lastSeq >= sent.Seq })
	if onLaptop.unread != 1 || onLaptop.mentions != 1 {
		t.Fatalf("the laptop counts %d/%d, want 1/1", onLaptop.unread, onLaptop.mentions)
	}
	if onPhone.markWant < sent.Seq {
		t.Fatalf("the phone, showing the room, has not read it: want %d", onPhone.markWant)
	}
	runCmd0(onPhone.markCmd(context.Background())) // the tick came
	pump(laptop, onLaptop, func() bool { return onLaptop.unread == 0 })
	if onLaptop.mentions != 0 {
		t.Errorf("mentions %d after the read on the phone", onLaptop.mentions)
	}

	// Two more lines nobody has read; a relaunched laptop counts them.
	for _, text := range []string{"one more", "alice, and another"} {
		if _, err := bob.Send(context.Background(), text); err != nil {
			t.Fatal(err)
		}
	}
	again := device(quiet, busy)
	t.Cleanup(func() {
		for _, s := range again.endRooms() {
			s.Close()
		}
	})
	for _, r := range again.rooms {
		if r.room.Code() == busy.Code() && (r.unread != 2 || r.mentions != 1) {
			t.Errorf("after a restart the busy room counts %d/%d, want 2/1", r.unread, r.mentions)
		}
	}
}

// runCmd0 runs a command that answers nothing the model needs.
func runCmd0(cmd tea.Cmd) {
	if cmd != nil {
		cmd()
	}
}

// ctrl+k finds a room by part of its name, rooms with mentions first;
// enter switches to it, esc leaves things as they were.
func TestRoomSwitcher(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	done := logIn(t, m, "alice", "")
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"design", "operations", "random", "ops review"}
	for i, name := range names {
		room, err := c.CreateRoom(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		j := done.joined // drawing is what is tested: one session for all
		j.room = room
		if i == 0 {
			m.rooms[0].room = room
			continue
		}
		m.nextID++
		m.rooms = append(m.rooms, newRoomView(m.c, m.nextID, j))
	}
	t.Cleanup(func() { m.rooms = m.rooms[:1] })
	m.rooms[3].mentions, m.rooms[3].unread = 1, 1
	m.layout()

	key := func(k tea.KeyPressMsg) { m.Update(k) }
	typ := func(s string) {
		for _, r := range s {
			key(tea.KeyPressMsg{Code: r, Text: string(r)})
		}
	}
	key(tea.KeyPressMsg{Code: 'k', Mod: tea.ModCtrl})
	if m.switcher == nil || !strings.Contains(shown(m), "Switch room") {
		t.Fatalf("ctrl+k opened nothing:\n%s", shown(m))
	}
	typ("ops")
	if got := m.matches(m.switcher.input.Value()); len(got) != 2 || got[0] != 3 || got[1] != 1 {
		t.Fatalf("'ops' finds %v, want [3 1] (the mention first)", got)
	}
	key(tea.KeyPressMsg{Code: tea.KeyDown})
	key(tea.KeyPressMsg{Code: tea.KeyEnter})
	if m.switcher != nil || m.cur != 1 {
		t.Fatalf("enter: switcher open %v, on room %d, want 1", m.switcher != nil, m.cur)
	}
	key(tea.KeyPressMsg{Code: 'k', Mod: tea.ModCtrl})
	typ("zzz")
	if !strings.Contains(shown(m), "no room's name") {
		t.Errorf("no match shows nothing:\n%s", shown(m))
	}
	key(tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.switcher != nil || m.cur != 1 {
		t.Fatal("esc did not close the switcher, or moved")
	}
}

// A room on another server joins beside the others, with a client of its
// own; its invite names its server, and its lines arrive.
func TestRoomOnAnotherServer(t *testing.T) {
	here, there := servertest.Start(t), servertest.Start(t)
	m := newTestModel(t, here, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	logIn(t, m, "alice", "")
	c, err := chat.Dial(there.URL())
	if err != nil {
		t.Fatal(err)
	}
	far, err := c.CreateRoom(context.Background(), "far away", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	runCmd(t, m, m.command(m.room(), "/join "+far.Invite(there.URL()).String()))
	r := m.room()
	if len(m.rooms) != 2 || r.room.Code() != far.Code() {
		t.Fatalf("not joined: %s", m.status.text)
	}
	t.Cleanup(func() {
		for _, s := range m.endRooms() {
			s.Close()
		}
	})
	if inv, _ := chat.ParseInvite(r.invite()); inv.Server != there.URL() {
		t.Errorf("its invite names %q, want %q", inv.Server, there.URL())
	}
	s, err := far.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sent, err := s.Send(context.Background(), "from far away")
	if err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "the far room's line", func(*chat.Event) bool { return r.lastSeq >= sent.Seq })
}

// A login form filled from the last login: typing replaces a field's
// value (it made "alicebob"); a key that moves first makes it editable.
func TestPrefilledFieldIsReplacedByTyping(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	for _, r := range "bob" {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	if !strings.Contains(shown(m), "Nickname   bob ") || strings.Contains(shown(m), "alicebob") {
		t.Fatalf("typing into the filled nickname:\n%s", shown(m))
	}
	m2 := newTestModel(t, srv, "alice", "")
	m2.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m2.Update(tea.KeyPressMsg{Code: tea.KeyEnd})
	m2.Update(tea.KeyPressMsg{Code: '2', Text: "2"})
	if !strings.Contains(shown(m2), "alice2") {
		t.Fatalf("end, then typing:\n%s", shown(m2))
	}
}

// withRooms is the fixture chat with three more rooms in its list, with
// counts, for the golden files.
func withRooms(t *testing.T, w, h int) *Model {
	t.Helper()
	m := loggedIn(t, w, h)
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	base := m.room()
	for i, name := range []string{"design reviews", "ops", "a room with a rather long name"} {
		room, err := c.CreateRoom(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		m.nextID++
		r := newRoomView(m.c, m.nextID, joined{room: room, session: base.session})
		r.unread, r.mentions = []int{3, 12, 0}[i], []int{1, 0, 0}[i]
		m.rooms = append(m.rooms, r)
	}
	m.rooms[2].conn = connReconnecting // its server is down: marked in the list
	t.Cleanup(func() { m.rooms = m.rooms[:1] })
	m.layout()
	return m
}

func TestGoldenRoomList(t *testing.T) {
	golden.RequireEqual(t, shown(withRooms(t, 100, 30)))
}

func TestGoldenRoomListNarrow(t *testing.T) {
	golden.RequireEqual(t, shown(withRooms(t, MinWidth, MinHeight)))
}

func TestGoldenRoomListWide(t *testing.T) {
	golden.RequireEqual(t, shown(withRooms(t, 160, 40)))
}

// /msg bob: a direct room, its invite sealed to bob's key and offered in
// the room alice and bob share; bob's chat joins it, carol's cannot open
// it; the first line is there for bob.
func TestDirectRoom(t *testing.T) {
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	shared, err := c.CreateRoom(context.Background(), "shared", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	person := func(nick string) *Model {
		m := newTestModel(t, srv, nick, "")
		m.opts.Session.Identity = mustIdentity(t)
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
		logIn(t, m, nick, shared.Invite(m.opts.Server).String())
		t.Cleanup(func() {
			for _, s := range m.endRooms() {
				s.Close()
			}
		})
		return m
	}
	alice := person("alice")
	bob, carol := person("bob"), person("carol")
	// pump feeds m's room r until done says so, running what it asks.
	pump := func(m *Model, r *roomView, done func(chat.Message) bool) tea.Cmd {
		t.Helper()
		return feedUntil(t, m, r, "the line", func(ev *chat.Event) bool { return holds(ev, done) })
	}
	pump(alice, alice.room(), func(msg chat.Message) bool { return msg.Kind == chat.Join && msg.Nick == "carol" })
	runCmd(t, alice, alice.command(alice.room(), "/msg bob hello, just you"))
	if len(alice.rooms) != 2 || alice.room().name() != "alice ↔ bob" {
		t.Fatalf("alice: %d rooms, on %q (%s)", len(alice.rooms), alice.room().name(), alice.status.text)
	}
	isOffer := func(msg chat.Message) bool { return msg.Kind == chat.Direct }
	pump(bob, bob.room(), isOffer)
	if len(bob.offers) != 1 || len(bob.rooms) != 1 || !strings.Contains(bob.status.text, "/accept") {
		t.Fatalf("bob: %d offers, %d rooms (%s): an offer waits for /accept", len(bob.offers), len(bob.rooms), bob.status.text)
	}
	runCmd(t, bob, bob.command(bob.room(), "/accept"))
	if len(bob.rooms) != 2 || bob.rooms[1].name() != "alice ↔ bob" || bob.room() != bob.rooms[1] {
		t.Fatalf("bob after /accept: %d rooms (%s)", len(bob.rooms), bob.status.text)
	}
	dm := bob.rooms[1]
	feedUntil(t, bob, dm, "the direct room's first line", func(*chat.Event) bool {
		return strings.Contains(shown(bob), "hello, just you")
	})
	pump(carol, carol.room(), isOffer)
	if len(carol.offers) != 0 || len(carol.rooms) != 1 {
		t.Fatalf("carol: %d offers, %d rooms, for a room sealed to bob", len(carol.offers), len(carol.rooms))
	}
}
