package ui

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// program runs a model as a real Bubble Tea program in a virtual terminal.
func program(t *testing.T, m *Model) *teatest.TestModel {
	t.Helper()
	return teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
}

func waitScreen(t *testing.T, tm *teatest.TestModel, what string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(what)) },
		teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
}

// TestTwoClientsChat runs two chats against one real server: alice
// creates a room, bob joins it with its code, alice sends, and bob's
// screen and model show the message; then both quit.
func TestTwoClientsChat(t *testing.T) {
	srv := servertest.Start(t)

	var mu sync.Mutex
	var code string
	alice := newTestModel(t, srv, "alice", "")
	alice.opts.AutoLogin = true
	alice.opts.Remember = func(nick, room string) error {
		mu.Lock()
		defer mu.Unlock()
		code = room
		return nil
	}
	ta := program(t, alice)
	waitScreen(t, ta, "Joined webaas-chat as alice")
	mu.Lock()
	roomCode := code
	mu.Unlock()

	bob := newTestModel(t, srv, "bob", roomCode)
	bob.opts.AutoLogin = true
	tb := program(t, bob)
	waitScreen(t, tb, "Joined webaas-chat as bob")
	waitScreen(t, ta, "bob joined")

	ta.Type("hello from alice")
	ta.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitScreen(t, tb, "hello from alice")

	tb.Type("hi alice, bob here")
	tb.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitScreen(t, ta, "bob here")

	for _, tm := range []*teatest.TestModel{tb, ta} {
		tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	}
	final := tb.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	var texts []string
	for _, msg := range final.room().msgs.Messages() {
		if msg.Kind == chat.Text {
			texts = append(texts, msg.Nick+": "+msg.Text)
		}
	}
	if got := strings.Join(texts, " | "); got != "alice: hello from alice | bob: hi alice, bob here" {
		t.Fatalf("bob's model holds %q", got)
	}
	ta.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}

// TestReconnectShowsStateAndCatchesUp stops the server under a running
// chat: the header says "reconnecting"; once the server is back, the
// messages sent meanwhile appear, once each.
func TestReconnectShowsStateAndCatchesUp(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.opts.AutoLogin = true
	var mu sync.Mutex
	var code string
	m.opts.Remember = func(_, room string) error { mu.Lock(); code = room; mu.Unlock(); return nil }
	tm := program(t, m)
	waitScreen(t, tm, "● connected")

	srv.Stop()
	waitScreen(t, tm, "reconnecting")
	srv.Restart()

	mu.Lock()
	room := code
	mu.Unlock()
	c, _ := chat.Dial(srv.URL())
	inv, err := chat.ParseInvite(room) // what the chat remembers is the invite
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.OpenRoom(context.Background(), inv.Code, chat.WithSecret(inv.Secret))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := r.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	for i := 0; i < 3; i++ {
		if _, err := bob.Send(context.Background(), fmt.Sprint("while you were away ", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitScreen(t, tm, "while you were away 2")
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	var seqs []int64
	for _, msg := range final.room().msgs.Messages() {
		seqs = append(seqs, msg.Seq)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("the chat holds seqs %v: gap or duplicate", seqs)
		}
	}
	if len(seqs) != 4 { // alice joined + 3
		t.Fatalf("the chat holds %d messages, want 4", len(seqs))
	}
}

// TestHostLeftKeepsTheDraft: while the embedded server's host is away,
// the header says so, and a message sent then stays in the input instead
// of being queued where a closed chat would lose it; once the server is
// back, the same text goes out.
func TestHostLeftKeepsTheDraft(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.opts.AutoLogin = true
	var hostLeft atomic.Bool
	m.opts.HostNote = func() string {
		if hostLeft.Load() {
			return "the host of this room left; waiting for it"
		}
		return ""
	}
	tm := program(t, m)
	waitScreen(t, tm, "● connected")

	hostLeft.Store(true)
	srv.Stop()
	waitScreen(t, tm, "◌ the host of this room left; waiting for it")
	tm.Type("kept while away")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitScreen(t, tm, "Not sent: the host of this room left")

	hostLeft.Store(false)
	srv.Restart()
	waitScreen(t, tm, "● connected")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	// The committed line (marked ▌ and timed), not the pending one
	// (marked … and ⋯): a ctrl+c with a message still pending only warns.
	sent := regexp.MustCompile(`▌[^\n…⋯]*alice:(\x1b\[[0-9;]*m)* kept while away`)
	teatest.WaitFor(t, tm.Output(), sent.Match, teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*Model)
	if v := final.room().input.Value(); v != "" {
		t.Fatalf("the input still holds %q after the message went out", v)
	}
}
