package ui

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// fakeCode stands in for the random room code in golden files.
const fakeCode = "0f8fad5b-d9cb-469f-a165-70867728950e"

// fakeSecret stands in for the random room secret in an invite.
const fakeSecret = "SECRETSECRETSECRETSECRETSECRETSECRETSECRET1"

// day0 is when the fixture conversation happens (shown in UTC).
var day0 = time.Date(2026, 11, 25, 21, 58, 0, 0, time.UTC)

func fixtureMessages() []chat.Message {
	at := func(min int) time.Time { return day0.Add(time.Duration(min) * time.Minute) }
	return []chat.Message{
		{Seq: 1, Nick: "alice", Kind: chat.Join, Sent: at(0)},
		{Seq: 2, Nick: "bob", Kind: chat.Join, Sent: at(1)},
		{Seq: 3, Nick: "bob", Text: "evening! is the build green?", Sent: at(1)},
		{Seq: 4, Nick: "alice", Text: "green since 21:40. the new range pages are byte-for-byte what the python client expects", Sent: at(2)},
		{Seq: 5, Nick: "carol", Kind: chat.Join, Sent: at(3)},
		{Seq: 6, Nick: "carol", Kind: chat.Action, Text: "waves", Sent: at(3)},
		{Seq: 7, Nick: "bob", Text: "alice: can you review my diff tomorrow?", Sent: at(4)},
		{Seq: 8, Nick: "carol", Text: "混合宽度的文字 and emoji 🎉🚀 wrap by cell width, not by byte", Sent: at(5)},
		{Seq: 9, Nick: "bob", Kind: chat.Rename, Text: "robert", Sent: at(6)},
		{Seq: 10, Nick: "alice", Text: "sure\nsecond line of the same message", Sent: at(125)},
	}
}

func fixtureMembers() []chat.Member {
	return []chat.Member{
		{Nick: "alice", Online: true}, {Nick: "carol", Online: true},
		{Nick: "robert", Online: true}, {Nick: "dave", Online: false},
	}
}

// newTestModel is a model wired to a real server on loopback.
func newTestModel(t testing.TB, srv *servertest.Server, nick, room string) *Model {
	t.Helper()
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return New(context.Background(), Options{
		Client: c, Server: "http://127.0.0.1:11232", Nick: nick, Room: room,
		Location: time.UTC,
		Follow:   chat.FollowOptions{Reconnect: backoff.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}},
	})
}

// loggedIn logs a model in for real (the login command runs against the
// server), then replaces what moves with the fixture, so the screen is
// the same on every run.
func loggedIn(t testing.TB, w, h int) *Model {
	t.Helper()
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	logIn(t, m, "alice", "")
	r := m.room()
	r.msgs.Reset()
	r.msgs.Add(fixtureMessages())
	feed(m, chat.Event{Kind: chat.Connected})
	feed(m, chat.Event{Kind: chat.Members, Members: fixtureMembers()})
	m.status.text = ""
	return m
}

// logIn logs m in for real (the login command runs against the server).
func logIn(t testing.TB, m *Model, nick, code string) loginDoneMsg {
	t.Helper()
	done := m.loginCmd(nick, code)().(loginDoneMsg)
	if done.err != nil {
		t.Fatal(done.err)
	}
	m.Update(done)
	t.Cleanup(func() { m.endRooms(); done.session.Close() })
	return done
}

// feed hands m an event of the feed of the room on screen.
func feed(m *Model, ev chat.Event) {
	m.Update(feedMsg{room: m.room().id, ok: true, ev: ev})
}

// shown is what the terminal shows, colours stripped and the room code
// replaced by a fixed one.
func shown(m *Model) string {
	s := ansi.Strip(m.View().Content)
	if r := m.room(); r != nil {
		if inv := r.room.Invite(m.opts.Server); inv.Secret != nil {
			// The help cuts the invite into lines: replace it line by line.
			real := chunks(inv.String(), inviteWidth)
			inv.Code = fakeCode
			inv.Secret, _ = base64.RawURLEncoding.DecodeString(fakeSecret)
			for i, fake := range chunks(inv.String(), inviteWidth) {
				s = strings.ReplaceAll(s, real[i], fake)
			}
		}
		s = strings.ReplaceAll(s, r.room.Code(), fakeCode)
	}
	return s
}

// checkFills fails unless the view is exactly w × h cells.
func checkFills(t *testing.T, name, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("%s at %dx%d: %d lines", name, w, h, len(lines))
		return
	}
	for i, l := range lines {
		// Both ways of counting: the layout's (grapheme clusters) and the
		// renderer's and most terminals' (code points).
		if got, wc := ansi.StringWidth(l), ansi.StringWidthWc(l); got != w || wc != w {
			t.Errorf("%s at %dx%d: line %d is %d cells wide (%d by code point): %q", name, w, h, i, got, wc, ansi.Strip(l))
			return
		}
	}
}

func TestGoldenLogin(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 20})
	golden.RequireEqual(t, shown(m))
}

func TestGoldenLoginError(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "bad nick!", "")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 20})
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	golden.RequireEqual(t, shown(m))
}

func TestGoldenChat(t *testing.T) {
	golden.RequireEqual(t, shown(loggedIn(t, 100, 30)))
}

func TestGoldenNarrowChat(t *testing.T) {
	golden.RequireEqual(t, shown(loggedIn(t, MinWidth, MinHeight)))
}

func TestGoldenHelpOverlay(t *testing.T) {
	m := loggedIn(t, 100, 30)
	m.Update(tea.KeyPressMsg{Code: tea.KeyF1})
	golden.RequireEqual(t, shown(m))
}

func TestGoldenTooSmall(t *testing.T) {
	golden.RequireEqual(t, shown(loggedIn(t, 50, 12)))
}

func TestGoldenWideCharacters(t *testing.T) {
	m := loggedIn(t, 70, 18)
	m.room().msgs.Reset()
	m.room().msgs.Add([]chat.Message{{Seq: 1, Nick: "小明", Text: "你好世界！这是一条很长的中文消息，用来检查换行是否按照终端单元格的宽度来计算，而不是按字节或字符。🙂👍🏽 emoji too", Sent: day0}})
	checkFills(t, "wide characters", m.View().Content, 70, 18)
	golden.RequireEqual(t, shown(m))
}

// TestEveryScreenFillsTheTerminal checks each screen at several sizes:
// exactly as many lines as the terminal has, each exactly as wide, so no
// stale cells survive a resize.
func TestEveryScreenFillsTheTerminal(t *testing.T) {
	sizes := [][2]int{{MinWidth, MinHeight}, {80, 24}, {100, 30}, {211, 57}, {59, 40}, {120, 14}, {20, 5}}
	m := loggedIn(t, 80, 24)
	srv := servertest.Start(t)
	login := newTestModel(t, srv, "", "")
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		for _, tc := range []struct {
			name  string
			model *Model
			help  bool
		}{{"login", login, false}, {"login help", login, true}, {"chat", m, false}, {"chat help", m, true}} {
			tc.model.Update(tea.WindowSizeMsg{Width: w, Height: h})
			tc.model.showHelp = tc.help
			checkFills(t, tc.name, tc.model.View().Content, w, h)
		}
	}
}

func TestScrollKeepsPlaceAndCountsNewMessages(t *testing.T) {
	m := loggedIn(t, 80, 24)
	var msgs []chat.Message
	for i := 11; i <= 200; i++ {
		msgs = append(msgs, chat.Message{Seq: int64(i), Nick: "bob", Text: fmt.Sprint("line ", i), Sent: day0.Add(time.Hour)})
	}
	m.room().msgs.Add(msgs)
	if !strings.Contains(shown(m), "line 200") {
		t.Fatal("the newest message is not on screen while following")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	before := shown(m)
	if strings.Contains(before, "line 200") {
		t.Fatal("page up still shows the newest message")
	}
	feed(m, chat.Event{Kind: chat.Messages, Messages: []chat.Message{
		{Seq: 201, Nick: "bob", Text: "new one", Sent: day0.Add(time.Hour)},
		{Seq: 202, Nick: "bob", Text: "new two", Sent: day0.Add(time.Hour)},
	}})
	after := shown(m)
	if !strings.Contains(after, "2 new messages") {
		t.Fatalf("no new-message indicator while scrolled up:\n%s", after)
	}
	if strings.Contains(after, "new two") {
		t.Fatal("the view jumped to the new message")
	}
	m.setFocus(focusMessages) // in the input, end is the line's
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnd})
	if s := shown(m); !strings.Contains(s, "new two") || strings.Contains(s, "new messages") {
		t.Fatalf("end does not return to the newest:\n%s", s)
	}
}

func TestHistoryLoadsOlderPagesLazily(t *testing.T) {
	srv := servertest.Start(t)
	ctx := context.Background()
	c, _ := chat.Dial(srv.URL())
	room, err := c.CreateRoom(ctx, "history")
	if err != nil {
		t.Fatal(err)
	}
	s, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Sent concurrently, the session batches them into a few transactions.
	var wg sync.WaitGroup
	for i := 1; i <= 250; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Send(ctx, fmt.Sprint("history ", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	m := newTestModel(t, srv, "alice", room.Code())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	logIn(t, m, "alice", room.Code())
	r := m.room()
	if got := r.msgs.OldestSeq(); got != 251-pageSize+1 {
		t.Fatalf("login loaded from seq %d, want the latest page only", got)
	}
	// home (in the messages pane) reaches the top of what is loaded,
	// which asks for the page above.
	m.setFocus(focusMessages)
	cmd := m.onKey(tea.KeyPressMsg{Code: tea.KeyHome})
	older := findMsg[olderMsg](t, cmd)
	// An answer to an older request is dropped...
	m.Update(olderMsg{room: r.id, gen: older.gen - 1, msgs: []chat.Message{{Seq: 1, Nick: "x"}}})
	if r.msgs.OldestSeq() == 1 {
		t.Fatal("a stale history page was applied")
	}
	m.Update(older)
	if got := r.msgs.OldestSeq(); got != 251-2*pageSize+1 {
		t.Fatalf("after one older page the oldest is %d", got)
	}
	m.Update(findMsg[olderMsg](t, m.command(r, "/history")))
	if r.msgs.OldestSeq() != 1 || !r.noOlder {
		t.Fatalf("oldest %d, noOlder %v after loading everything", r.msgs.OldestSeq(), r.noOlder)
	}
}

// findMsg runs cmd, and every command of a batch, concurrently, and
// returns the first message of type T; commands that wait (status ticks,
// the feed listener) are left running.
func findMsg[T any](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	found := make(chan T, 1)
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		go func() {
			switch msg := c().(type) {
			case tea.BatchMsg:
				for _, sub := range msg {
					run(sub)
				}
			case T:
				select {
				case found <- msg:
				default:
				}
			}
		}()
	}
	run(cmd)
	select {
	case v := <-found:
		return v
	case <-time.After(10 * time.Second):
		var zero T
		t.Fatalf("no %T from the command", zero)
		return zero
	}
}

func TestSlashCommands(t *testing.T) {
	m := loggedIn(t, 80, 24)
	type step struct {
		input string
		check func(*Model) error
	}
	for _, st := range []step{
		{"/frobnicate", func(m *Model) error {
			if !strings.Contains(m.status.text, "Unknown command /frobnicate") || !m.status.err {
				return fmt.Errorf("status %q", m.status.text)
			}
			return nil
		}},
		{"/help", func(m *Model) error {
			if !m.showHelp {
				return fmt.Errorf("help not shown")
			}
			m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
			if m.showHelp {
				return fmt.Errorf("esc did not close help")
			}
			return nil
		}},
		{"/users", func(m *Model) error {
			if m.focus != focusMembers {
				return fmt.Errorf("focus %d", m.focus)
			}
			m.setFocus(focusInput)
			return nil
		}},
		{"/nick", func(m *Model) error {
			if !strings.Contains(m.status.text, "Usage: /nick") {
				return fmt.Errorf("status %q", m.status.text)
			}
			return nil
		}},
	} {
		m.room().input.SetValue(st.input)
		m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
		if err := st.check(m); err != nil {
			t.Errorf("%s: %v", st.input, err)
		}
		if m.room().input.Value() != "" {
			t.Errorf("%s: input not cleared", st.input)
		}
	}
}

func TestRefusedMessageKeepsTheText(t *testing.T) {
	m := loggedIn(t, 80, 24)
	long := strings.Repeat("x", chat.MaxText+1)
	m.room().input.SetValue(long)
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if !m.status.err || !strings.Contains(m.status.text, "Not sent") {
		t.Fatalf("status %q", m.status.text)
	}
	if m.room().input.Value() != long {
		t.Fatal("the refused text was thrown away")
	}
}

func TestControlCharactersAreNotShown(t *testing.T) {
	m := loggedIn(t, 80, 24)
	m.room().msgs.Add([]chat.Message{{Seq: 11, Nick: "mallory", Text: "hi\x1b]0;pwned\x07\x1b[2J there", Sent: day0}})
	view := m.View().Content
	if strings.Contains(view, "\x1b]0;pwned") || strings.Contains(view, "\x1b[2J") {
		t.Fatal("escape sequences from a message reached the terminal")
	}
	// Shown, visibly, as what they are.
	if !strings.Contains(ansi.Strip(view), "hi<U+001B>]0;pwned<U+0007><U+001B>[2J") {
		t.Fatalf("the message's text is missing:\n%s", ansi.Strip(view))
	}
}

// TestQuitWarnsOfUnsentMessages: ctrl+c with a message the server has not
// taken yet says so instead of dropping it; a second ctrl+c quits.
func TestQuitWarnsOfUnsentMessages(t *testing.T) {
	m := loggedIn(t, 100, 30)
	m.room().msgs.AddPending(1, chat.Message{Nick: "alice", Text: "in flight"})
	ctrlC := tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	if _, cmd := m.Update(ctrlC); cmd != nil || m.quitting {
		t.Fatalf("the first ctrl+c with an unsent message started quitting")
	}
	if !strings.Contains(shown(m), "1 message not sent yet") {
		t.Fatalf("no warning on the screen:\n%s", shown(m))
	}
	if _, cmd := m.Update(ctrlC); cmd == nil || !m.quitting {
		t.Fatalf("the second ctrl+c did not quit")
	}
}
