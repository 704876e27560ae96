package chat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

var ctx = context.Background()

func newRoom(t *testing.T) (*servertest.Server, *chat.Room) {
	t.Helper()
	return newRoomOn(t, false)
}

// newRoomOn makes a room on a new server; plain: one without the
// data-path extensions, where the chat falls back to the original design.
func newRoomOn(t *testing.T, plain bool) (*servertest.Server, *chat.Room) {
	t.Helper()
	srv := servertest.Start(t, func(c *server.Config) { c.Plain = plain })
	c, err := webaas.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err := chat.NewClient(c).CreateRoom(ctx, "test room")
	if err != nil {
		t.Fatal(err)
	}
	if room.Sequenced() == plain {
		t.Fatalf("a room on a server with plain=%v is sequenced=%v", plain, room.Sequenced())
	}
	return srv, room
}

// bothPaths runs fn on a sequenced room's path and on the original one.
func bothPaths(t *testing.T, fn func(t *testing.T, plain bool)) {
	for _, plain := range []bool{false, true} {
		name := "sequenced"
		if plain {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) { fn(t, plain) })
	}
}

func join(t *testing.T, room *chat.Room, nick string) *chat.Session {
	t.Helper()
	s, err := room.Join(ctx, nick, chat.SessionOptions{})
	if err != nil {
		t.Fatalf("join %s: %v", nick, err)
	}
	t.Cleanup(s.Close)
	return s
}

func texts(msgs []chat.Message) string {
	var out []string
	for _, m := range msgs {
		switch m.Kind {
		case chat.Join:
			out = append(out, m.Nick+" joined")
		case chat.Leave:
			out = append(out, m.Nick+" left")
		case chat.Rename:
			out = append(out, m.Nick+" is now "+m.Text)
		case chat.Action:
			out = append(out, "* "+m.Nick+" "+m.Text)
		default:
			out = append(out, m.Nick+": "+m.Text)
		}
	}
	return strings.Join(out, " | ")
}

func TestCreateOpenAndUnknownRoom(t *testing.T) {
	_, room := newRoom(t)
	again, err := chat.NewClient(room.Client()).OpenRoom(ctx, room.Code())
	if err != nil {
		t.Fatal(err)
	}
	if again.Name() != "test room" {
		t.Fatalf("name %q", again.Name())
	}
	if _, err := chat.NewClient(room.Client()).OpenRoom(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, chat.ErrUnknownRoom) {
		t.Fatalf("unknown code: %v", err)
	}
	// The original only checked three characters of the code; a prefix is
	// not a code at all here.
	if _, err := chat.NewClient(room.Client()).OpenRoom(ctx, room.Code()[:3]); !errors.Is(err, chat.ErrBadRoomCode) {
		t.Fatalf("prefix of the code: %v", err)
	}
}

func TestJoinSendFetch(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		_, room := newRoomOn(t, plain)
		alice := join(t, room, "alice")
		m, err := alice.Send(ctx, "hello")
		if err != nil {
			t.Fatal(err)
		}
		if m.Seq != 2 || m.Nick != "alice" { // 1 is "alice joined"
			t.Fatalf("sent %v", m)
		}
		if _, err := alice.Act(ctx, "waves"); err != nil {
			t.Fatal(err)
		}
		all, err := room.After(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := texts(all), "alice joined | alice: hello | * alice waves"; got != want {
			t.Fatalf("room holds %q, want %q", got, want)
		}
		newer, err := room.After(ctx, 2)
		if err != nil || texts(newer) != "* alice waves" {
			t.Fatalf("after 2: %q %v", texts(newer), err)
		}
		if _, err := alice.Send(ctx, "   "); !errors.Is(err, chat.ErrBadText) {
			t.Fatalf("blank message: %v", err)
		}
		if _, err := alice.Send(ctx, strings.Repeat("x", chat.MaxText+1)); !errors.Is(err, chat.ErrBadText) {
			t.Fatalf("overlong message: %v", err)
		}
	})
}

func TestHistoryPaging(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		_, room := newRoomOn(t, plain)
		s, err := room.Join(ctx, "pager", chat.SessionOptions{NoJoinLine: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for i := 1; i <= 250; i++ {
			if _, err := s.Send(ctx, fmt.Sprint(i)); err != nil {
				t.Fatal(err)
			}
		}
		latest, err := room.Latest(ctx, 100)
		if err != nil || len(latest) != 100 || latest[0].Seq != 151 || latest[99].Seq != 250 {
			t.Fatalf("latest: %d messages (%v), %v", len(latest), latest, err)
		}
		older, err := room.Before(ctx, 151, 100)
		if err != nil || len(older) != 100 || older[0].Seq != 51 || older[99].Seq != 150 {
			t.Fatalf("before 151: %d, %v", len(older), err)
		}
		oldest, err := room.Before(ctx, 51, 100)
		if err != nil || len(oldest) != 50 || oldest[0].Seq != 1 {
			t.Fatalf("before 51: %d, %v", len(oldest), err)
		}
		// More than a server page (100) after one seq: paged transparently.
		all, err := room.After(ctx, 0)
		if err != nil || len(all) != 250 {
			t.Fatalf("after 0: %d, %v", len(all), err)
		}
	})
}

// TestConcurrentSendersOneOrder: two people send at the same instant,
// repeatedly; every message lands once, and every reader sees one order.
func TestConcurrentSendersOneOrder(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		_, room := newRoomOn(t, plain)
		alice, bob := join(t, room, "alice"), join(t, room, "bob")
		const each = 50
		var wg sync.WaitGroup
		for _, s := range []*chat.Session{alice, bob} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if _, err := s.Send(ctx, fmt.Sprintf("%s %d", s.Nick(), i)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		first, err := room.After(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		second, err := room.After(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if texts(first) != texts(second) {
			t.Fatal("two reads disagree on the order")
		}
		seen := map[string]bool{}
		for i, m := range first {
			if m.Seq != int64(i+1) {
				t.Fatalf("message %d has seq %d: gap or duplicate", i+1, m.Seq)
			}
			if m.Kind == chat.Text {
				if seen[m.Text] {
					t.Fatalf("%q twice", m.Text)
				}
				seen[m.Text] = true
			}
		}
		if len(seen) != 2*each {
			t.Fatalf("%d distinct messages, want %d", len(seen), 2*each)
		}
	})
}

func roster(members []chat.Member) string {
	var out []string
	for _, m := range members {
		out = append(out, fmt.Sprintf("%s=%v", m.Nick, m.Online))
	}
	return strings.Join(out, " ")
}

func TestPresence(t *testing.T) {
	_, room := newRoom(t)
	alice := join(t, room, "alice")
	bob := join(t, room, "bob")
	members, err := room.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if roster(members) != "alice=true bob=true" {
		t.Fatalf("members %+v", members)
	}
	// An online nickname cannot be taken.
	if _, err := room.Join(ctx, "alice", chat.SessionOptions{}); !errors.Is(err, chat.ErrNickTaken) {
		t.Fatalf("second alice: %v", err)
	}
	if _, err := room.Join(ctx, "bad nick", chat.SessionOptions{}); !errors.Is(err, chat.ErrBadNick) {
		t.Fatalf("nick with a space: %v", err)
	}
	if err := bob.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	members, _ = room.Members(ctx)
	if roster(members) != "alice=true bob=false" {
		t.Fatalf("after bob left: %+v", members)
	}
	// Once gone, the nickname is free again.
	bob2 := join(t, room, "bob")
	if err := bob2.Rename(ctx, "robert"); err != nil {
		t.Fatal(err)
	}
	members, _ = room.Members(ctx)
	if got := roster(members); got != "alice=true robert=true bob=false" {
		t.Fatalf("after rename: %v", got)
	}
	all, _ := room.After(ctx, 0)
	if want := "alice joined | bob joined | bob left | bob joined | bob is now robert"; texts(all) != want {
		t.Fatalf("system lines %q, want %q", texts(all), want)
	}
	_ = alice
}

func TestFollowDeliversInOrderAcrossRestart(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		srv, room := newRoomOn(t, plain)
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		events, err := room.Follow(fctx, 0, chat.FollowOptions{Members: true, Reconnect: backoff.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		s := join(t, room, "carol")
		var got []chat.Message
		wait := func(n int) {
			t.Helper()
			deadline := time.After(20 * time.Second)
			for len(got) < n {
				select {
				case ev := <-events:
					if ev.Kind == chat.Messages {
						got = append(got, ev.Messages...)
					}
				case <-deadline:
					t.Fatalf("have %d messages, want %d", len(got), n)
				}
			}
		}
		for i := 0; i < 5; i++ {
			if _, err := s.Send(ctx, fmt.Sprint("before ", i)); err != nil {
				t.Fatal(err)
			}
		}
		wait(6)
		srv.Restart()
		for i := 0; i < 5; i++ {
			if _, err := s.Send(ctx, fmt.Sprint("after ", i)); err != nil {
				t.Fatal(err)
			}
		}
		wait(11)
		for i, m := range got {
			if m.Seq != int64(i+1) {
				t.Fatalf("delivered seq %d at position %d", m.Seq, i+1)
			}
		}
		if len(got) != 11 {
			t.Fatalf("%d delivered, want 11 (duplicates?)", len(got))
		}
	})
}

// TestCrashedMemberGoesOffline: a client that stops without leaving (a
// crash) counts as offline once its heartbeat is older than the timeout,
// and its nickname is free again.
func TestCrashedMemberGoesOffline(t *testing.T) {
	_, room := newRoom(t)
	// Ten heartbeats to a timeout: a few of them slow or lost on a loaded
	// CI machine (each must finish within its interval) do not make her
	// offline (at 400 ms and 50 ms beats, CI once saw her so).
	room = room.WithPresenceTimeout(time.Second)
	alice, err := room.Join(ctx, "alice", chat.SessionOptions{Heartbeat: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// Heartbeats keep alice online well past the timeout: wait until her
	// record says she was seen more than two timeouts after joining.
	for deadline := time.Now().Add(10 * time.Second); ; {
		m, err := room.Members(ctx)
		if err != nil || len(m) != 1 {
			t.Fatalf("members %v, %v", m, err)
		}
		if !m[0].Online {
			t.Fatalf("alive, heartbeating, yet offline %v after joining", m[0].LastSeen.Sub(m[0].Joined))
		}
		if m[0].LastSeen.Sub(m[0].Joined) > 2*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no heartbeat moved alice's last-seen time in 10 s")
		}
		time.Sleep(50 * time.Millisecond) // polling for the effect, not ordering
	}
	alice.Close() // no "left", no offline write: a crash
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := room.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if roster(m) == "alice=false" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %v long after the heartbeats stopped", roster(m))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := room.Join(ctx, "alice", chat.SessionOptions{}); err != nil {
		t.Fatalf("the crashed member's nickname is not free: %v", err)
	}
}

// TestFollowResyncsWhenOnlyTheSocketDrops: the server closes the
// websocket while HTTP keeps working; the feed reconnects and delivers
// what was sent meanwhile, with no gap and no duplicate.
func TestFollowResyncsWhenOnlyTheSocketDrops(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		srv, room := newRoomOn(t, plain)
		fctx, cancel := context.WithCancel(ctx)
		defer cancel()
		events, err := room.Follow(fctx, 0, chat.FollowOptions{Reconnect: backoff.Backoff{Min: 50 * time.Millisecond, Max: 200 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := room.Sender("bob", chat.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var got []chat.Message
		reconnected := false
		for round := 0; round < 3; round++ {
			srv.API.CloseSockets("test: moving clients")
			for i := 0; i < 5; i++ { // sent while the socket is down
				if _, err := s.Send(ctx, fmt.Sprint(round, "-", i)); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.After(20 * time.Second)
			for len(got) < 5*(round+1) {
				select {
				case ev := <-events:
					switch ev.Kind {
					case chat.Reconnecting:
						reconnected = true
					case chat.Messages:
						got = append(got, ev.Messages...)
					}
				case <-deadline:
					t.Fatalf("round %d: have %d messages", round, len(got))
				}
			}
		}
		if !reconnected {
			t.Fatal("the feed never saw the socket drop")
		}
		for i, m := range got {
			if m.Seq != int64(i+1) {
				t.Fatalf("seq %d at position %d: gap or duplicate", m.Seq, i+1)
			}
		}
	})
}
