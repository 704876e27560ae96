package chat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
)

// follow follows the room from its start until the test ends.
func follow(t *testing.T, room *chat.Room, gapWait time.Duration) <-chan chat.Event {
	t.Helper()
	fctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	events, err := room.Follow(fctx, 0, chat.FollowOptions{GapWait: gapWait})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// collect reads events until the feed has delivered want messages; it
// returns them and the gaps it reported.
func collect(t *testing.T, events <-chan chat.Event, want int) (msgs []chat.Message, gaps [][2]int64) {
	t.Helper()
	deadline := time.After(20 * time.Second) // only keeps a broken feed from hanging the test
	for len(msgs) < want {
		select {
		case ev := <-events:
			switch ev.Kind {
			case chat.Messages:
				msgs = append(msgs, ev.Messages...)
			case chat.Gap:
				gaps = append(gaps, [2]int64{ev.From, ev.To})
			}
		case <-deadline:
			t.Fatalf("the feed delivered %d of %d messages (%s), gaps %v", len(msgs), want, texts(msgs), gaps)
		}
	}
	return msgs, gaps
}

func sendN(t *testing.T, s *chat.Session, from, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Send(ctx, fmt.Sprint("honest ", from+i)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFarFutureRecordDoesNotFreezeTheRoom: one raw write of a message
// with a far-future sequence number made every feed retry for ever, and
// followers showed none of the honest messages after it while the header
// said "connected". Reads now stop at the head counter.
func TestFarFutureRecordDoesNotFreezeTheRoom(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		_, room := newRoomOn(t, plain)
		bob, err := room.Sender("bob", chat.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer bob.Close()
		events := follow(t, room, time.Hour) // no gap is expected: none may be waited out
		sendN(t, bob, 1, 2)
		hostile := &chatpb.Message{Seq: 1_000_000, Nick: "mallory", Text: "from the future"}
		if err := room.Client().PutMessage(ctx, room.Code(), hostile); err != nil {
			t.Fatal(err)
		}
		sendN(t, bob, 3, 3)
		msgs, gaps := collect(t, events, 5)
		if got, want := texts(msgs), "bob: honest 1 | bob: honest 2 | bob: honest 3 | bob: honest 4 | bob: honest 5"; got != want || len(gaps) > 0 {
			t.Fatalf("the feed delivered %q with gaps %v; want %q", got, gaps, want)
		}
		all, err := room.After(ctx, 0)
		if err != nil || len(all) != 5 {
			t.Fatalf("After(0) holds %d messages (%s), %v; want the 5 honest ones", len(all), texts(all), err)
		}
	})
}

// TestGapIsReportedOnceAndSkipped: the head counter moved past messages
// that do not exist (a raw write of the counter): the feed waits a little,
// reports the gap once, and delivers the honest messages after it.
// TestSequencedGapIsSkipped is the same in a sequenced room.
func TestGapIsReportedOnceAndSkipped(t *testing.T) {
	_, room := newRoomOn(t, true)
	bob, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	events := follow(t, room, 50*time.Millisecond)
	sendN(t, bob, 1, 2)
	head, err := room.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := room.Client().PutMessage(ctx, room.Code(), &chatpb.Counter{Name: "head", Value: head + 3}); err != nil {
		t.Fatal(err)
	}
	sendN(t, bob, 3, 2)
	msgs, gaps := collect(t, events, 4)
	if got, want := texts(msgs), "bob: honest 1 | bob: honest 2 | bob: honest 3 | bob: honest 4"; got != want {
		t.Fatalf("the feed delivered %q, want %q", got, want)
	}
	if len(gaps) != 1 || gaps[0] != [2]int64{head + 1, head + 3} {
		t.Fatalf("gaps reported %v, want one: %d to %d", gaps, head+1, head+3)
	}
	if msgs[2].Seq != head+4 {
		t.Fatalf("the first message after the gap has seq %d, want %d", msgs[2].Seq, head+4)
	}
}

// TestSequencedGapIsSkipped: in a sequenced room, messages the sequence
// gave that are gone (a raw delete) are a gap: waited out, reported once,
// skipped.
func TestSequencedGapIsSkipped(t *testing.T) {
	_, room := newRoom(t)
	bob, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sendN(t, bob, 1, 5)
	for _, key := range []string{"3", "4"} {
		if err := room.Client().Delete(ctx, room.Code(), "chatroom.Message", key); err != nil {
			t.Fatal(err)
		}
	}
	events := follow(t, room, 50*time.Millisecond)
	msgs, gaps := collect(t, events, 3)
	if got, want := texts(msgs), "bob: honest 1 | bob: honest 2 | bob: honest 5"; got != want {
		t.Fatalf("the feed delivered %q, want %q", got, want)
	}
	if len(gaps) != 1 || gaps[0] != [2]int64{3, 4} {
		t.Fatalf("gaps reported %v, want one: 3 to 4", gaps)
	}
}

// TestRecordAheadOfTheSequenceIsNotDelivered: a record written by hand at
// the next number, before the real message takes it, is not shown: the
// real message is.
func TestRecordAheadOfTheSequenceIsNotDelivered(t *testing.T) {
	_, room := newRoom(t)
	bob, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	events := follow(t, room, time.Hour)
	sendN(t, bob, 1, 1)
	if msgs, _ := collect(t, events, 1); texts(msgs) != "bob: honest 1" {
		t.Fatalf("delivered %q", texts(msgs))
	}
	if err := room.Client().PutMessage(ctx, room.Code(), &chatpb.Message{Seq: 2, Nick: "mallory", Text: "first!"}); err != nil {
		t.Fatal(err)
	}
	sendN(t, bob, 2, 1)
	if msgs, _ := collect(t, events, 1); texts(msgs) != "bob: honest 2" {
		t.Fatalf("delivered %q, want bob's message 2", texts(msgs))
	}
}
