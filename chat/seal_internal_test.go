package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// An encrypted room works as any room for those holding its invite; the
// server's store holds none of what was said, nor who said it.
func TestEncryptedRoom(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "sequenced", true: "plain"}[plain], func(t *testing.T) {
			ctx := context.Background()
			srv := servertest.Start(t, func(c *server.Config) { c.Plain = plain })
			c, err := webaas.New(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			room, err := NewClient(c).CreateRoom(ctx, "secret room", Encrypted())
			if err != nil {
				t.Fatal(err)
			}
			if !room.Encrypted() {
				t.Fatal("not encrypted")
			}
			inv, err := ParseInvite(room.Invite(srv.URL()).String())
			if err != nil || inv.Code != room.Code() || !bytes.Equal(inv.Secret, room.secret) || inv.Server != srv.URL() {
				t.Fatalf("invite round trip: %+v, %v", inv, err)
			}

			// Without the secret, or with another, the room does not open.
			c2, _ := webaas.New(srv.URL())
			if _, err := NewClient(c2).OpenRoom(ctx, room.Code()); !errors.Is(err, ErrNeedsKey) {
				t.Fatalf("open by code: %v, want ErrNeedsKey", err)
			}
			if _, err := NewClient(c2).OpenRoom(ctx, room.Code(), WithSecret(newSecret())); !errors.Is(err, ErrWrongKey) {
				t.Fatalf("open with another secret: %v, want ErrWrongKey", err)
			}
			bobRoom, err := NewClient(c2).OpenRoom(ctx, inv.Code, WithSecret(inv.Secret))
			if err != nil {
				t.Fatal(err)
			}
			events, err := bobRoom.Follow(ctx, 0, FollowOptions{})
			if err != nil {
				t.Fatal(err)
			}

			marker := "marker-" + rand.Text()
			alice, err := room.Join(ctx, "alice-"+rand.Text()[:6], SessionOptions{Identity: newIdentity(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer alice.Close()
			sent, err := alice.Send(ctx, marker)
			if err != nil {
				t.Fatal(err)
			}
			if sent.Text != marker || sent.Trust != Verified {
				t.Fatalf("the sender's own copy: %+v", sent)
			}
			deadline := time.After(10 * time.Second)
		wait:
			for {
				select {
				case ev := <-events:
					for _, m := range ev.Messages {
						if m.Seq == sent.Seq {
							if m.Text != marker || m.Trust != Verified || m.Nick != alice.Nick() {
								t.Fatalf("bob got %+v", m)
							}
							break wait
						}
					}
				case <-deadline:
					t.Fatal("bob never got the message")
				}
			}

			// The store on disk: neither the text nor the sender's nick
			// in a message record (the nick is a Member record's key,
			// which the README says the server sees).
			alice.Close()
			srv.Stop()
			found := false
			filepath.WalkDir(srv.Dir(), func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				found = found || bytes.Contains(b, []byte(marker))
				return nil
			})
			if found {
				t.Fatal("the store holds the message's plaintext")
			}
		})
	}
}

// Whatever is written into an encrypted room around the chat, a reader
// shows it as "could not decrypt" and nothing else is hidden.
func TestBadCiphertextsAreShownAsSuch(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "secret", Encrypted())
	other, err := NewClient(c).CreateRoom(ctx, "other", Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	s, err := room.Sender("alice", SessionOptions{Identity: newIdentity(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	good, err := s.Send(ctx, "genuine")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := room.messages(ctx, good.Seq, good.Seq+1)
	if err != nil || len(raw) != 1 {
		t.Fatal(err)
	}
	os, err := other.Sender("alice", SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer os.Close()
	elsewhere, err := os.Send(ctx, "in another room")
	if err != nil {
		t.Fatal(err)
	}
	rawOther, err := other.messages(ctx, elsewhere.Seq, elsewhere.Seq+1)
	if err != nil || len(rawOther) != 1 {
		t.Fatal(err)
	}

	flipped := proto.Clone(raw[0]).(*chatpb.Message)
	flipped.Sealed[len(flipped.Sealed)-1] ^= 1
	truncated := proto.Clone(raw[0]).(*chatpb.Message)
	truncated.Sealed = truncated.Sealed[:10]
	moved := proto.Clone(rawOther[0]).(*chatpb.Message) // another room's key
	otherSession := proto.Clone(raw[0]).(*chatpb.Message)
	otherSession.ClientId = "someone-else"
	clear := &chatpb.Message{Nick: "alice", Text: "in the clear"}
	chattest.RawPost(t, c, room.Code(), flipped, truncated, moved, otherSession, clear)
	after, err := s.Send(ctx, "still fine")
	if err != nil {
		t.Fatal(err)
	}

	msgs, err := room.Latest(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[int64]bool{flipped.Seq: true, truncated.Seq: true, moved.Seq: true, otherSession.Seq: true, clear.Seq: true}
	for _, m := range msgs {
		switch {
		case bad[m.Seq]:
			if m.Trust != Undecryptable || m.Text != "" || m.Nick != "" {
				t.Errorf("seq %d: %+v, want undecryptable and empty", m.Seq, m)
			}
			if lead, text := m.Parts(true); lead != "⚠" || text == "" {
				t.Errorf("seq %d reads %q %q", m.Seq, lead, text)
			}
			delete(bad, m.Seq)
		case m.Seq == good.Seq || m.Seq == after.Seq:
			if m.Trust != Verified {
				t.Errorf("seq %d (%q): %v", m.Seq, m.Text, m.Trust)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("not read back: %v", bad)
	}
}

func TestParseInvite(t *testing.T) {
	code := "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	secret := bytes.Repeat([]byte{0xab}, SecretSize)
	for _, inv := range []Invite{
		{Code: code},
		{Server: "http://127.0.0.1:11232", Code: code},
		{Server: "https://chat.example.org/webaas", Code: code, Secret: secret},
	} {
		got, err := ParseInvite(" " + inv.String() + "\n")
		if err != nil || got.Server != inv.Server || got.Code != inv.Code || !bytes.Equal(got.Secret, inv.Secret) {
			t.Errorf("%q: %+v, %v", inv.String(), got, err)
		}
	}
	for _, s := range []string{
		"", "hello", "1b4e28ba", "http://127.0.0.1:11232/" + code,
		"webaas-chat+ftp://h/" + code,
		"webaas-chat+http:///" + code,
		"webaas-chat+http://h/not-a-code",
		"webaas-chat+http://h/" + code + "#short",
		"webaas-chat+http://h/" + code + "#!!!",
		"webaas-chat+http://u:p@h/" + code,
		"webaas-chat+http://h/" + code + "?x=1",
	} {
		if _, err := ParseInvite(s); !errors.Is(err, ErrBadInvite) {
			t.Errorf("ParseInvite(%q) = %v, want ErrBadInvite", s, err)
		}
	}
}

// Someone with the room code who blanks the Room record's key check to
// turn encryption off gets no message sent in the clear: the invite says
// the room is encrypted, so the room is refused.
func TestEncryptionCannotBeTurnedOffByTheRecord(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "secret", Encrypted())
	info := proto.Clone(room.info).(*chatpb.Room)
	info.KeyCheck = nil
	if err := c.PutMessage(ctx, room.Code(), info); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(c).OpenRoom(ctx, room.Code(), WithSecret(room.secret)); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("open with the invite after the downgrade: %v, want ErrNotEncrypted", err)
	}
}

// A record written first with a send's (predictable) session pair but
// other content is not taken for that send after a lost answer.
func TestSameSendComparesContent(t *testing.T) {
	want := &chatpb.Message{Nick: "alice", Text: "hi", ClientId: "c1", ClientSeq: 3, Signature: []byte{1}}
	if !sameSend(proto.Clone(want).(*chatpb.Message), want) {
		t.Fatal("the send itself is not the same send")
	}
	for name, f := range map[string]func(m *chatpb.Message){
		"text":      func(m *chatpb.Message) { m.Text = "bye" },
		"signature": func(m *chatpb.Message) { m.Signature = []byte{2} },
		"sealed":    func(m *chatpb.Message) { m.Sealed = []byte{3} },
		"seq":       func(m *chatpb.Message) { m.ClientSeq = 4 },
	} {
		m := proto.Clone(want).(*chatpb.Message)
		f(m)
		if sameSend(m, want) {
			t.Errorf("another %s is taken for the same send", name)
		}
	}
}
