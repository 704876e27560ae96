package chat_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// cachedRoom is a room with one signed line of alice's, and the room
// opened again by another client that keeps records.
func cachedRoom(t *testing.T, opts ...chat.RoomOption) (*chat.Room, chat.Message) {
	t.Helper()
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err := c.CreateRoom(ctx, "cached", opts...)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := room.Sender("alice", chat.SessionOptions{Identity: id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Send(ctx, "the plans are in the blue folder"); err != nil {
		t.Fatal(err)
	}
	var open []chat.RoomOption
	if room.Encrypted() {
		open = append(open, chat.WithSecret(room.Invite("").Secret))
	}
	reader, err := c.OpenRoom(ctx, room.Code(), append(open, chat.KeepRecords())...)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := reader.Latest(ctx, 10)
	if err != nil || len(latest) != 1 {
		t.Fatalf("latest %v, %v", latest, err)
	}
	return reader, latest[0]
}

// A record kept reads back as the message read from the server; one
// changed since does not read as a verified line.
func TestDecodeKeptRecord(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		var opts []chat.RoomOption
		if encrypted {
			opts = append(opts, chat.Encrypted())
		}
		room, msg := cachedRoom(t, opts...)
		if msg.Record() == nil || msg.Trust != chat.Verified {
			t.Fatalf("encrypted %v: read with KeepRecords: record %d bytes, trust %v", encrypted, len(msg.Record()), msg.Trust)
		}
		got, err := room.Decode(msg.Record())
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != msg.Seq || got.Text != msg.Text || got.Trust != chat.Verified || got.Nick != "alice" {
			t.Errorf("encrypted %v: decoded %+v, want %+v", encrypted, got, msg)
		}

		// Changed on disk: the text, or (sealed) a byte of the seal.
		wire := &chatpb.Message{}
		if err := proto.Unmarshal(msg.Record(), wire); err != nil {
			t.Fatal(err)
		}
		if encrypted {
			wire.Sealed[len(wire.Sealed)/2] ^= 1
		} else {
			wire.Text = "the plans are in the red folder"
		}
		tampered, _ := proto.Marshal(wire)
		bad, err := room.Decode(tampered)
		if err != nil {
			t.Fatal(err)
		}
		want := chat.Forged
		if encrypted {
			want = chat.Undecryptable
		}
		if bad.Trust != want || bad.Trust == chat.Verified {
			t.Errorf("encrypted %v: a tampered record decodes as %v, want %v", encrypted, bad.Trust, want)
		}
	}
}

func TestDecodeRefusesWhatIsNoRecord(t *testing.T) {
	room, _ := cachedRoom(t)
	for _, rec := range [][]byte{{0xff, 0xff, 0xff}, nil} {
		if _, err := room.Decode(rec); !errors.Is(err, chat.ErrBadRecord) {
			t.Errorf("Decode(%x): %v, want ErrBadRecord", rec, err)
		}
	}
}

// RoomFromRecord opens a room from its kept record, with the secret
// checked as OpenRoom checks it.
func TestRoomFromRecord(t *testing.T) {
	room, msg := cachedRoom(t, chat.Encrypted())
	info := room.InfoRecord()
	c := chat.NewClient(room.Client())
	again, err := c.RoomFromRecord(room.Code(), info, chat.WithSecret(room.Invite("").Secret))
	if err != nil {
		t.Fatal(err)
	}
	if again.Name() != "cached" || !again.Encrypted() {
		t.Fatalf("name %q, encrypted %v", again.Name(), again.Encrypted())
	}
	if got, err := again.Decode(msg.Record()); err != nil || got.Text != msg.Text {
		t.Fatalf("decoded with the room from its record: %+v, %v", got, err)
	}
	other := make([]byte, len(room.Invite("").Secret))
	if _, err := c.RoomFromRecord(room.Code(), info, chat.WithSecret(other)); !errors.Is(err, chat.ErrWrongKey) {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := c.RoomFromRecord(room.Code(), info); !errors.Is(err, chat.ErrNeedsKey) {
		t.Errorf("no secret: %v", err)
	}
	if _, err := c.RoomFromRecord(room.Code(), []byte("junk")); !errors.Is(err, chat.ErrBadRecord) {
		t.Errorf("junk record: %v", err)
	}
	if _, err := c.RoomFromRecord("nope", info); !errors.Is(err, chat.ErrBadRoomCode) {
		t.Errorf("bad code: %v", err)
	}
}

// Without KeepRecords a message carries no record: nothing extra is
// held for readers that keep no cache.
func TestNoRecordsUnlessAsked(t *testing.T) {
	room, _ := cachedRoom(t)
	c := chat.NewClient(room.Client())
	plain, err := c.OpenRoom(ctx, room.Code())
	if err != nil {
		t.Fatal(err)
	}
	latest, err := plain.Latest(ctx, 1)
	if err != nil || len(latest) != 1 || latest[0].Record() != nil {
		t.Fatalf("latest %+v, %v", latest, err)
	}
}
