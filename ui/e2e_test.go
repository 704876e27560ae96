package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/webaas-chat/webaas-chat/pb"
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
	for _, e := range final.msgs.committed() {
		if e.msg.Kind == pb.Kind_KIND_TEXT {
			texts = append(texts, e.msg.Nick+": "+e.msg.Text)
		}
	}
	if got := strings.Join(texts, " | "); got != "alice: hello from alice | bob: hi alice, bob here" {
		t.Fatalf("bob's model holds %q", got)
	}
	ta.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
