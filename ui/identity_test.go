package ui

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// Someone who sends as alice from another installation (send --nick
// alice) is never shown as alice: the line reads unverified, the change
// of key is announced once, and /whois alice shows her own fingerprint.
func TestAnotherKeyUnderYourNickIsAnnounced(t *testing.T) {
	srv := servertest.Start(t)
	alice, bob := mustIdentity(t), mustIdentity(t)
	m := newTestModel(t, srv, "alice", "")
	m.opts.Session.Identity = alice
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	logIn(t, m, "alice", "")
	r := m.room()
	if !r.room.Encrypted() {
		t.Fatal("a room made at the login is not encrypted")
	}

	inv := r.room.Invite("")
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.OpenRoom(context.Background(), inv.Code, chat.WithSecret(inv.Secret))
	if err != nil {
		t.Fatal(err)
	}
	s, err := other.Sender("alice", chat.SessionOptions{Identity: bob})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, text := range []string{"it is alice, really", "and again"} {
		if _, err := s.Send(context.Background(), text); err != nil {
			t.Fatal(err)
		}
	}

	// The model's own feed brings them.
	got := 0
	feedUntil(t, m, r, "the messages", func(ev *chat.Event) bool {
		holds(ev, func(msg chat.Message) bool {
			if strings.HasPrefix(msg.Text, "it is alice") || msg.Text == "and again" {
				got++
			}
			return false
		})
		return got == 2
	})
	if !strings.Contains(m.status.text, "Unverified line as alice, key "+bob.Fingerprint()) {
		t.Errorf("status %q does not announce bob's key", m.status.text)
	}
	if n := len([]rune(m.status.text)); n > 80 {
		t.Errorf("the notice is %d characters, more than 80 columns show", n)
	}
	screen := shown(m)
	if strings.Count(screen, "⚠ alice (unverified):") != 2 || regexp.MustCompile(`▌\d\d:\d\d ⚠`).MatchString(screen) {
		t.Errorf("the screen does not mark both lines:\n%s", screen)
	}
	m.command(r, "/whois alice")
	if !strings.Contains(m.status.text, "You sign as "+alice.Fingerprint()) {
		t.Errorf("/whois alice: %q", m.status.text)
	}
	// Someone else's nickname: the key this chat bound it to.
	carol := mustIdentity(t)
	cs, err := other.Sender("carol", chat.SessionOptions{Identity: carol})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	sent, err := cs.Send(context.Background(), "hello from carol")
	if err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "carol's message", func(ev *chat.Event) bool {
		return holds(ev, func(msg chat.Message) bool { return msg.Seq == sent.Seq })
	})
	m.command(r, "/whois carol")
	if !strings.Contains(m.status.text, "carol (") || !strings.Contains(m.status.text, carol.Fingerprint()) {
		t.Errorf("/whois carol: %q", m.status.text)
	}
	m.command(r, "/whois nobody")
	if !strings.Contains(m.status.text, "no signed message") {
		t.Errorf("/whois nobody: %q", m.status.text)
	}
}

func mustIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The session id is in every record: a forged line that carries ours is
// still not marked as our own.
func TestForgedLineWithOurSessionIDIsNotOurs(t *testing.T) {
	m := loggedIn(t, 100, 30)
	r := m.room()
	feed(m, chat.Event{Kind: chat.Messages, Messages: []chat.Message{{
		Seq: 1000, Kind: chat.Text, Nick: "mallory", Text: "looks like mine", Sent: time.Now(),
		ClientID: r.session.ClientID(), Trust: chat.OtherKey,
	}}})
	screen := shown(m)
	if !strings.Contains(screen, "looks like mine") {
		t.Fatalf("the line is not on screen:\n%s", screen)
	}
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, "looks like mine") && strings.Contains(line, "▌") {
			t.Fatalf("marked as ours: %q", line)
		}
	}
}

// A member whose record was rewritten around the chat is flagged in the
// member list, not shown as that person's word.
func TestSuspectMemberIsFlagged(t *testing.T) {
	m := loggedIn(t, 100, 30)
	feed(m, chat.Event{Kind: chat.Members, Members: []chat.Member{
		{Nick: "alice", Online: true, Trust: chat.Verified},
		{Nick: "bob", Online: false, Trust: chat.OtherKey},
	}})
	screen := shown(m)
	if !strings.Contains(screen, "⚠ bob (unverifi") || strings.Contains(screen, "⚠ alice") {
		t.Fatalf("the member list:\n%s", screen)
	}
}

// /handover posts the hand-over and says so; a bad key or a session
// without an identity says why.
func TestHandOverCommand(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.opts.Session.Identity = mustIdentity(t)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	logIn(t, m, "alice", "")
	r := m.room()
	run := func(line string) {
		t.Helper()
		if cmd := m.command(r, line); cmd != nil {
			if msg := cmd(); msg != nil {
				m.Update(msg)
			}
		}
	}
	run("/handover nonsense")
	if !strings.Contains(m.status.text, "Not a key") {
		t.Errorf("a bad key: %q", m.status.text)
	}
	run("/handover " + identity.PublicString(mustIdentity(t).Public()))
	if !strings.HasPrefix(m.status.text, "Handed over") {
		t.Errorf("a good key: %q", m.status.text)
	}
}
