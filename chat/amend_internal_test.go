package chat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// amendRoom is a room on a new server (plain: one without extensions;
// opts: e.g. Encrypted) with alice and bob in it, each signing.
func amendRoom(t *testing.T, plain bool, opts ...RoomOption) (c *webaas.Client, room *Room, alice, bob *Session) {
	t.Helper()
	ctx := context.Background()
	srv := servertest.Start(t, func(c *server.Config) { c.Plain = plain })
	c, err := webaas.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err = NewClient(c).CreateRoom(ctx, "amend", opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		nick string
		s    **Session
	}{{"alice", &alice}, {"bob", &bob}} {
		s, err := room.Join(ctx, p.nick, SessionOptions{Identity: newIdentity(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		*p.s = s
	}
	return c, room, alice, bob
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// folded is how a folded history reads, one line per message said:
// "seq nick: text [edited] [deleted] [👍2 ❤️1*]" (* mine).
func folded(fs []Folded) string {
	var out []string
	for _, f := range fs {
		if f.Kind != Text && f.Kind != Action && f.Kind != Removed {
			continue
		}
		line := fmt.Sprintf("%d %s: %s", f.Seq, f.Nick, f.State.Text)
		if f.ReplyTo != 0 {
			line += fmt.Sprintf(" (re %d)", f.ReplyTo)
		}
		if f.State.Edited {
			line += " [edited]"
		}
		if f.State.Deleted {
			line += " [deleted]"
		}
		if len(f.State.Reactions) > 0 {
			var rs []string
			for _, r := range f.State.Reactions {
				mine := ""
				if r.Mine {
					mine = "*"
				}
				rs = append(rs, fmt.Sprintf("%s%d%s", r.Emoji, r.Count, mine))
			}
			line += " [" + strings.Join(rs, " ") + "]"
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Replies, edits, deletes and reactions, sent by the chat to a real
// server, read the same by a follower and by a fresh read of the whole
// history, on both paths and in an encrypted room; a deleted message's
// text is gone from the server's record.
func TestAmendmentsEveryClientAgreesOn(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plain bool
		opts  []RoomOption
	}{{"sequenced", false, nil}, {"plain", true, nil}, {"encrypted", false, []RoomOption{Encrypted()}}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c, room, alice, bob := amendRoom(t, tc.plain, tc.opts...)
			events, err := room.Follow(ctx, 0, FollowOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ok := must[Message](t)
			first := ok(alice.Send(ctx, "first"))
			second := ok(alice.Send(ctx, "second, a secret"))
			reply := ok(bob.Reply(ctx, first, "answer to first"))
			ok(alice.Edit(ctx, first, "first (typo fixed)"))
			ok(alice.Edit(ctx, first, "first, edited twice"))
			ok(alice.Delete(ctx, second))
			ok(bob.React(ctx, first, "👍"))
			ok(alice.React(ctx, first, "👍"))
			ok(alice.React(ctx, first, "❤️"))
			ok(bob.React(ctx, first, "👍")) // taken back
			last := ok(bob.React(ctx, reply, "🎉"))
			if reply.ReplyTo != first.Seq {
				t.Fatalf("the reply says it answers %d", reply.ReplyTo)
			}

			want := fmt.Sprintf("%d alice: first, edited twice [edited] [👍1* ❤️1*]\n"+
				"%d alice:  [deleted]\n"+
				"%d bob: answer to first (re %d) [🎉1]", first.Seq, second.Seq, reply.Seq, first.Seq)
			var live []Message
			for len(live) == 0 || live[len(live)-1].Seq < last.Seq {
				select {
				case ev := <-events:
					live = append(live, ev.Messages...)
				case <-time.After(20 * time.Second):
					t.Fatalf("the feed stopped at %d messages", len(live))
				}
			}
			if got := folded(Fold(alice.Key(), live)); got != want {
				t.Errorf("as followed:\n%s\nwant\n%s", got, want)
			}
			all := must[[]Message](t)(room.Latest(ctx, 100))
			if got := folded(Fold(alice.Key(), all)); got != want {
				t.Errorf("read afresh:\n%s\nwant\n%s", got, want)
			}
			rec, err := webaas.GetMessage[chatpb.Message](ctx, c, room.Code(), strconv.FormatInt(second.Seq, 10))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(rec.Sealed)+rec.Text, "secret") || room.messageOf(rec).Kind != Removed {
				t.Errorf("the deleted message's record is still %v", rec)
			}
		})
	}
}

// Nobody but a message's author changes it: the chat refuses, and an
// edit or delete written around it (signed by another key, unsigned
// under the author's nick, or a copy of one of the author's own amendments
// moved onto another message) changes nothing in any client.
func TestOthersCannotEditOrDelete(t *testing.T) {
	ctx := context.Background()
	c, room, alice, bob := amendRoom(t, false)
	ok := must[Message](t)
	mine := ok(alice.Send(ctx, "alice's words"))
	other := ok(alice.Send(ctx, "more of alice's words"))
	if _, err := bob.Edit(ctx, mine, "bob's words"); !errors.Is(err, ErrNotYours) {
		t.Fatalf("bob's edit of alice's line: %v", err)
	}
	if _, err := bob.Delete(ctx, mine); !errors.Is(err, ErrNotYours) {
		t.Fatalf("bob's delete of alice's line: %v", err)
	}
	// alice's own edit of the other line, to copy.
	genuine := ok(alice.Edit(ctx, other, "alice edited this"))
	raw := must[[]*chatpb.Message](t)(room.messages(ctx, genuine.Seq, genuine.Seq+1))[0]
	moved := proto.Clone(raw).(*chatpb.Message)
	moved.Target = mine.Seq // the signature covers the target

	now := time.Now().UnixMilli()
	byBob := &chatpb.Message{Kind: chatpb.Kind_KIND_EDIT, Nick: "bob", Text: "edited by bob", Target: mine.Seq, SentUnixMs: now, ClientId: "b", ClientSeq: 1}
	sign(bob.id, room.Code(), byBob)
	bobDeletes := &chatpb.Message{Kind: chatpb.Kind_KIND_DELETE, Nick: "bob", Target: mine.Seq, SentUnixMs: now, ClientId: "b", ClientSeq: 2}
	sign(bob.id, room.Code(), bobDeletes)
	unsigned := &chatpb.Message{Kind: chatpb.Kind_KIND_EDIT, Nick: "alice", Text: "unsigned edit", Target: mine.Seq, SentUnixMs: now, ClientId: "x", ClientSeq: 1}
	chattest.RawPost(t, c, room.Code(), byBob, bobDeletes, unsigned, moved)

	all := must[[]Message](t)(room.Latest(ctx, 100))
	want := fmt.Sprintf("%d alice: alice's words\n%d alice: alice edited this [edited]", mine.Seq, other.Seq)
	if got := folded(Fold(nil, all)); got != want {
		t.Errorf("after others' edits:\n%s\nwant\n%s", got, want)
	}
}

// The ledger's rules, one by one, on messages as the feed gives them.
func TestLedgerRules(t *testing.T) {
	key := func(s string) []byte { return []byte(strings.Repeat(s, 32)) }
	line := func(seq int64, who, text string) Message {
		return Message{Seq: seq, Kind: Text, Nick: who, Text: text, Trust: Verified, Key: key(who)}
	}
	amend := func(seq int64, kind Kind, who string, target int64, text string) Message {
		return Message{Seq: seq, Kind: kind, Nick: who, Text: text, Target: target, Trust: Verified, Key: key(who), ClientID: who, ClientSeq: uint64(seq)}
	}
	state := func(l *Ledger, seq int64) string {
		st, ok := l.State(seq)
		if !ok {
			return "not held"
		}
		s := st.Text
		if st.Edited {
			s += " (edited)"
		}
		if st.Deleted {
			s += "(deleted)"
		}
		for _, r := range st.Reactions {
			s += fmt.Sprintf(" %s%d", r.Emoji, r.Count)
		}
		return s
	}
	t.Run("an amendment before its target waits for it, and applies in seq order", func(t *testing.T) {
		l := NewLedger(nil)
		// Newest first, as history pages come.
		for _, m := range []Message{amend(9, React, "b", 1, "👍"), amend(8, Edit, "a", 1, "later"), amend(7, React, "b", 1, "👍"), amend(6, React, "b", 1, "👍"), amend(5, Edit, "a", 1, "earlier")} {
			if got := l.Add(m); got != 0 {
				t.Fatalf("amendment %d changed line %d before it loaded", m.Seq, got)
			}
		}
		if got := l.Add(line(1, "a", "original")); got != 1 {
			t.Fatalf("loading the target reports %d", got)
		}
		if got := state(l, 1); got != "later (edited) 👍1" {
			t.Errorf("state %q", got)
		}
	})
	t.Run("concurrent edits: the later in seq order wins", func(t *testing.T) {
		l := NewLedger(nil)
		l.Add(line(1, "a", "x"))
		l.Add(amend(3, Edit, "a", 1, "three"))
		l.Add(amend(2, Edit, "a", 1, "two")) // read later, numbered earlier
		if got := state(l, 1); got != "three (edited)" {
			t.Errorf("state %q", got)
		}
	})
	t.Run("a target that is not a line, is deleted, is later, or is missing changes nothing", func(t *testing.T) {
		l := NewLedger(nil)
		l.Add(Message{Seq: 1, Kind: Join, Nick: "a", Trust: Verified, Key: key("a")})
		l.Add(line(2, "a", "x"))
		l.Add(amend(3, Delete, "a", 2, ""))
		for _, m := range []Message{amend(4, Edit, "a", 1, "join edited"), amend(5, Edit, "a", 2, "undeleted"), amend(6, React, "b", 2, "👍"), amend(7, Edit, "a", 9, "future"), amend(8, Edit, "a", 8, "itself")} {
			if got := l.Add(m); got != 0 {
				t.Errorf("amendment %d changed %d", m.Seq, got)
			}
		}
		if got := state(l, 2); got != "(deleted)" {
			t.Errorf("state %q", got)
		}
		if _, ok := l.State(1); ok {
			t.Errorf("a join line is held as a target")
		}
	})
	t.Run("a page read twice counts once", func(t *testing.T) {
		l := NewLedger(key("b"))
		l.Add(line(1, "a", "x"))
		r := amend(2, React, "b", 1, "👍")
		l.Add(r)
		l.Add(r)
		st, _ := l.State(1)
		if len(st.Reactions) != 1 || st.Reactions[0].Count != 1 || !st.Reactions[0].Mine {
			t.Errorf("reactions %+v", st.Reactions)
		}
	})
	t.Run("an unverified reaction, or one that is not one emoji, counts nowhere", func(t *testing.T) {
		l := NewLedger(nil)
		l.Add(line(1, "a", "x"))
		forged := amend(2, React, "b", 1, "👍")
		forged.Trust = Forged
		for _, m := range []Message{forged, amend(3, React, "b", 1, "👍👍"), amend(4, React, "b", 1, "\u202e")} {
			if got := l.Add(m); got != 0 {
				t.Errorf("reaction %d counted", m.Seq)
			}
		}
	})
}

// Typing is told to followers of a sequenced room as it changes; a plain
// room's sessions write nothing for it.
func TestTypingIsPushed(t *testing.T) {
	ctx := context.Background()
	_, room, alice, bob := amendRoom(t, false)
	events, err := room.Follow(ctx, 0, FollowOptions{Typing: true})
	if err != nil {
		t.Fatal(err)
	}
	next := func(kind EventKind) Event {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.Kind == kind {
					return ev
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("no %d event", kind)
			}
		}
	}
	next(Connected) // only what changes from then on is told
	if err := alice.Typing(ctx, true); err != nil {
		t.Fatal(err)
	}
	if ev := next(Typing); ev.Nick != "alice" || !ev.Active {
		t.Errorf("got %+v", ev)
	}
	if err := bob.Typing(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := alice.Typing(ctx, false); err != nil {
		t.Fatal(err)
	}
	if ev := next(Typing); ev.Nick != "bob" || !ev.Active {
		t.Errorf("got %+v", ev)
	}
	if ev := next(Typing); ev.Nick != "alice" || ev.Active {
		t.Errorf("got %+v", ev)
	}

	c, plain, carol, _ := amendRoom(t, true)
	if err := carol.Typing(ctx, true); err != nil {
		t.Fatal(err)
	}
	if _, err := webaas.GetMessage[chatpb.Counter](ctx, c, plain.Code(), typingPrefix+"alice"); !errors.Is(err, webaas.ErrNotFound) {
		t.Errorf("a plain room's typing record: %v", err)
	}
}

// Every nickname's "seen" marker reaches followers who ask (Readers), at
// the start and as it moves, on both paths; the reader's own marker
// moves with it, under its private name.
func TestSeenMarkersOfEveryMember(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "sequenced", true: "plain"}[plain], func(t *testing.T) {
			ctx := context.Background()
			_, room, alice, bob := amendRoom(t, plain)
			m := must[Message](t)(alice.Send(ctx, "read me"))
			if err := bob.MarkRead(ctx, m.Seq); err != nil {
				t.Fatal(err)
			}
			if own, err := room.ReadUpTo(ctx, bob.Reader()); err != nil || own != m.Seq {
				t.Fatalf("bob's own marker: %d, %v", own, err)
			}
			events, err := room.Follow(ctx, 0, FollowOptions{Readers: true, Refresh: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int64{}
			marked := false
			for seen["alice"] != m.Seq || seen["bob"] != m.Seq {
				select {
				case ev := <-events:
					if ev.Kind == Marker {
						seen[ev.Nick] = ev.Seq
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("markers seen %v", seen)
				}
				if seen["bob"] == m.Seq && !marked {
					marked = true
					if err := alice.MarkRead(ctx, m.Seq); err != nil { // a move, after the start
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// A room made by an earlier version, whose schema has no reply_to or
// target fields and no amendment kinds, keeps them all: the server keeps
// the fields its schema does not name.
func TestAmendmentsInARoomOfTheFirstSchema(t *testing.T) {
	ctx := context.Background()
	old, err := os.ReadFile("testdata/chatroom-1.proto")
	if err != nil {
		t.Fatal(err)
	}
	c, room, alice, bob := amendRoom(t, false)
	if err := c.PutSchema(ctx, room.Code(), "chatroom-1", schemaFile, old); err != nil {
		t.Fatal(err)
	}
	if err := c.ActivateSchema(ctx, room.Code(), "chatroom-1"); err != nil {
		t.Fatal(err)
	}
	ok := must[Message](t)
	first := ok(alice.Send(ctx, "first"))
	second := ok(alice.Send(ctx, "second"))
	reply := ok(bob.Reply(ctx, first, "answer"))
	ok(alice.Edit(ctx, first, "first, edited"))
	ok(alice.Delete(ctx, second))
	ok(bob.React(ctx, first, "👍"))
	all := must[[]Message](t)(room.Latest(ctx, 100))
	want := fmt.Sprintf("%d alice: first, edited [edited] [👍1]\n%d alice:  [deleted]\n%d bob: answer (re %d)", first.Seq, second.Seq, reply.Seq, first.Seq)
	if got := folded(Fold(nil, all)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Two devices of one identity edit one message at once: every follower,
// and a fresh read, shows the edit the room numbered later.
func TestConcurrentEditsAgree(t *testing.T) {
	ctx := context.Background()
	_, room, alice, bob := amendRoom(t, false)
	other, err := room.Join(ctx, "alice", SessionOptions{Identity: alice.id})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	target := must[Message](t)(alice.Send(ctx, "version 0"))
	var follows []<-chan Event
	for range 2 {
		ev, err := room.Follow(ctx, 0, FollowOptions{})
		if err != nil {
			t.Fatal(err)
		}
		follows = append(follows, ev)
	}
	const rounds = 20
	done := make(chan error, 2*rounds)
	for i := range rounds {
		for j, s := range []*Session{alice, other} {
			go func() {
				_, err := s.Edit(ctx, target, fmt.Sprintf("version %d from device %d", i, j))
				done <- err
			}()
		}
	}
	for range 2 * rounds {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	marker := must[Message](t)(bob.Send(ctx, "after the edits"))
	all := must[[]Message](t)(room.Latest(ctx, 1000))
	var lastEdit Message
	for _, m := range all {
		if m.Kind == Edit {
			lastEdit = m
		}
	}
	want := lastEdit.Text
	if st, _ := ledgerNewestFirst(all).State(target.Seq); st.Text != want {
		t.Fatalf("read afresh: %q, want the last edit %q", st.Text, want)
	}
	for i, events := range follows {
		l := NewLedger(nil)
		for seen := int64(0); seen < marker.Seq; {
			select {
			case ev := <-events:
				for _, m := range ev.Messages {
					l.Add(m)
					seen = m.Seq
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("follower %d stopped", i)
			}
		}
		if st, _ := l.State(target.Seq); st.Text != want {
			t.Errorf("follower %d shows %q, want %q", i, st.Text, want)
		}
	}
}

// ledgerNewestFirst is a ledger that took msgs, newest first (as history pages
// come): the order a ledger must not depend on.
func ledgerNewestFirst(msgs []Message) *Ledger {
	l := NewLedger(nil)
	for i := len(msgs) - 1; i >= 0; i-- {
		l.Add(msgs[i])
	}
	return l
}

// What a delete leaves, copied onto another message, deletes nothing
// and is shown as a copy; a reaction posted again (a replay) counts once
// in every client, whichever of the two it reads first.
func TestCopiedRemovalsAndReplayedReactions(t *testing.T) {
	ctx := context.Background()
	c, room, alice, bob := amendRoom(t, false)
	ok := must[Message](t)
	gone := ok(alice.Send(ctx, "to be deleted"))
	kept := ok(alice.Send(ctx, "to be kept"))
	liked := ok(alice.Send(ctx, "to be liked"))
	ok(alice.Delete(ctx, gone))
	react := ok(bob.React(ctx, liked, "👍"))

	tomb := must[[]*chatpb.Message](t)(room.messages(ctx, gone.Seq, gone.Seq+1))[0]
	moved := proto.Clone(tomb).(*chatpb.Message)
	moved.Seq = kept.Seq
	rec, err := proto.Marshal(moved)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, room.Code(), messageType, rec); err != nil {
		t.Fatal(err)
	}
	again := must[[]*chatpb.Message](t)(room.messages(ctx, react.Seq, react.Seq+1))[0]
	chattest.RawPost(t, c, room.Code(), proto.Clone(again).(*chatpb.Message))

	// A fresh reader, twice: one reads the room in its order, the other
	// newest first (as history pages come), which is when a copy is met
	// before its original.
	for _, newestFirst := range []bool{false, true} {
		name := map[bool]string{false: "in order", true: "newest first"}[newestFirst]
		fresh, err := NewClient(c).OpenRoom(ctx, room.Code())
		if err != nil {
			t.Fatal(err)
		}
		head := must[int64](t)(fresh.Head(ctx))
		all := make([]Message, head)
		for i := range head {
			seq := i + 1
			if newestFirst {
				seq = head - i
			}
			all[seq-1] = must[Message](t)(fresh.Message(ctx, seq))
		}
		l := foldedLedger(all)
		if newestFirst {
			l = ledgerNewestFirst(all)
		}
		if st, _ := l.State(kept.Seq); st.Deleted || !all[kept.Seq-1].Suspect() {
			t.Errorf("%s: the copied removal deleted message %d (%v), or reads as %v, not as a copy", name, kept.Seq, st.Deleted, all[kept.Seq-1].Trust)
		}
		if st, _ := l.State(gone.Seq); !st.Deleted {
			t.Errorf("%s: the real delete does not count", name)
		}
		if st, _ := l.State(liked.Seq); len(st.Reactions) != 1 || st.Reactions[0].Count != 1 {
			t.Errorf("%s: the replayed reaction: %+v", name, st.Reactions)
		}
	}
}

// A page of reactions on a line, replayed once: every order counts one.
func TestReplayedAmendmentCountsOnce(t *testing.T) {
	key := []byte(strings.Repeat("b", 32))
	line := Message{Seq: 1, Kind: Text, Nick: "a", Text: "x", Trust: Verified, Key: []byte(strings.Repeat("a", 32))}
	react := Message{Seq: 2, Kind: React, Nick: "b", Text: "👍", Target: 1, Trust: Verified, Key: key, ClientID: "s", ClientSeq: 7}
	copied := react
	copied.Seq = 9
	msgs := []Message{line, react, copied}
	for name, l := range map[string]*Ledger{"in order": foldedLedger(msgs), "newest first": ledgerNewestFirst(msgs)} {
		st, _ := l.State(1)
		if len(st.Reactions) != 1 || st.Reactions[0].Count != 1 {
			t.Errorf("%s: %+v", name, st.Reactions)
		}
	}
}

func foldedLedger(msgs []Message) *Ledger {
	l := NewLedger(nil)
	for _, m := range msgs {
		l.Add(m)
	}
	return l
}
