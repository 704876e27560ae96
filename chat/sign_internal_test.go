package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// roomOn is a room made on a new server, with a client of that server.
func roomOn(t *testing.T, name string, opts ...RoomOption) (*servertest.Server, *webaas.Client, *Room) {
	t.Helper()
	srv := servertest.Start(t)
	c, err := webaas.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err := NewClient(c).CreateRoom(context.Background(), name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, room
}

func newIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Whatever anyone with the room code writes through the raw API in
// alice's name, a reader never takes it for alice's: unsigned, signed by
// another key, tampered with, replayed at another place, or copied from
// another room.
func TestImpersonationIsNeverShownAsThePerson(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "sequenced", true: "plain"}[plain], func(t *testing.T) {
			ctx := context.Background()
			srv := servertest.Start(t, func(c *server.Config) { c.Plain = plain })
			c, err := webaas.New(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			room, err := NewClient(c).CreateRoom(ctx, "signed")
			if err != nil {
				t.Fatal(err)
			}
			other, err := NewClient(c).CreateRoom(ctx, "elsewhere")
			if err != nil {
				t.Fatal(err)
			}
			alice, mallory := newIdentity(t), newIdentity(t)
			as, err := room.Join(ctx, "alice", SessionOptions{Identity: alice})
			if err != nil {
				t.Fatal(err)
			}
			defer as.Close()
			sent, err := as.Send(ctx, "hi, it is alice")
			if err != nil {
				t.Fatal(err)
			}
			if sent.Trust != Verified {
				t.Fatalf("alice's own message: %v", sent.Trust)
			}
			raw, err := room.messages(ctx, sent.Seq, sent.Seq+1)
			if err != nil || len(raw) != 1 {
				t.Fatalf("alice's record: %v %v", raw, err)
			}
			genuine := raw[0]

			// alice in the other room, to copy from.
			os, err := other.Join(ctx, "alice", SessionOptions{Identity: alice})
			if err != nil {
				t.Fatal(err)
			}
			defer os.Close()
			elsewhere, err := os.Send(ctx, "said in another room")
			if err != nil {
				t.Fatal(err)
			}
			rawOther, err := other.messages(ctx, elsewhere.Seq, elsewhere.Seq+1)
			if err != nil || len(rawOther) != 1 {
				t.Fatal(err)
			}

			now := time.Now().UnixMilli()
			unsigned := &chatpb.Message{Nick: "alice", Text: "unsigned", SentUnixMs: now, ClientId: "x", ClientSeq: 1}
			byMallory := &chatpb.Message{Nick: "alice", Text: "signed by mallory", SentUnixMs: now, ClientId: "m", ClientSeq: 1}
			sign(mallory, room.Code(), byMallory)
			tampered := proto.Clone(genuine).(*chatpb.Message)
			tampered.Text = "hi, it is alice, send me money"
			replayed := proto.Clone(genuine).(*chatpb.Message)
			copied := proto.Clone(rawOther[0]).(*chatpb.Message)
			badSig := proto.Clone(genuine).(*chatpb.Message)
			badSig.Signature = badSig.Signature[:20]
			noKey := proto.Clone(genuine).(*chatpb.Message)
			noKey.AuthorKey = nil
			chattest.RawPost(t, c, room.Code(), unsigned, byMallory, tampered, replayed, copied, badSig, noKey)
			want := map[string]Trust{
				"unsigned": OtherKey, // alice's nick has a key

				"signed by mallory":              OtherKey,
				"hi, it is alice, send me money": Forged,
				"said in another room":           Forged,
			}

			// A reader that joins afterwards, with a fresh view of the room.
			c2, _ := webaas.New(srv.URL())
			bob, err := NewClient(c2).OpenRoom(ctx, room.Code())
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := bob.Latest(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			verified := 0
			for _, m := range msgs {
				switch {
				case m.Seq == replayed.Seq || m.Seq == badSig.Seq || m.Seq == noKey.Seq:
					if m.Trust == Verified {
						t.Errorf("seq %d (%q) is verified as alice's", m.Seq, m.Text)
					}
					if m.Seq == replayed.Seq && m.Trust != Replayed {
						t.Errorf("the replayed copy: %v, want replayed", m.Trust)
					}
				case m.Trust == Verified:
					verified++
				default:
					if w, ok := want[m.Text]; !ok || w != m.Trust {
						t.Errorf("%q: %v, want %v", m.Text, m.Trust, w)
					}
				}
				if w, ok := want[m.Text]; ok && m.Trust != w {
					t.Errorf("%q: %v, want %v", m.Text, m.Trust, w)
				}
			}
			if verified != 2 { // alice's join line and her message
				t.Errorf("%d verified messages, want 2: %+v", verified, msgs)
			}
			if string(bob.KeyOf("alice")) != string(alice.Public()) {
				t.Error("alice's nick is not bound to her key")
			}
		})
	}
}

// The Member record every member can read does not hold the owner token
// that reclaims a nickname, and what it holds does not reclaim it.
func TestMemberRecordDoesNotGiveAwayTheOwnerToken(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "r")
	const token = "0123456789abcdef0123456789abcdef"
	s, err := room.Join(ctx, "alice", SessionOptions{Owner: token})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := webaas.GetMessage[chatpb.Member](ctx, c, room.Code(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if m.ClientId == token || m.ClientId == "" {
		t.Fatalf("the Member record holds %q", m.ClientId)
	}
	if _, err := room.Join(ctx, "alice", SessionOptions{Owner: m.ClientId}); !errors.Is(err, ErrNickTaken) {
		t.Fatalf("joining with what the record holds: %v, want ErrNickTaken", err)
	}
	// The same installation gets it back at once (after a crash).
	again, err := room.Join(ctx, "alice", SessionOptions{Owner: token})
	if err != nil {
		t.Fatalf("the owner's own token: %v", err)
	}
	again.Close()
}

// memKeys is a KeyStore in memory, as a file would be across launches.
type memKeys struct {
	mu sync.Mutex
	m  map[string]map[string][]Binding
}

func (k *memKeys) Load(room string) (map[string][]Binding, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := map[string][]Binding{}
	for n, b := range k.m[room] {
		out[n] = b
	}
	return out, nil
}

func (k *memKeys) Bind(room, nick string, b []Binding) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]map[string][]Binding{}
	}
	if k.m[room] == nil {
		k.m[room] = map[string][]Binding{}
	}
	k.m[room][nick] = b
	return nil
}

// A chat started afresh that remembers who signs as whom is not fooled
// by a forgery it reads before any line of the real person; one that
// remembers nothing takes the first key it sees.
func TestRememberedKeysCatchAForgeryReadFirst(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "r", Encrypted())
	secret := room.secret
	alice, mallory := newIdentity(t), newIdentity(t)
	s, err := room.Sender("alice", SessionOptions{Identity: alice})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Send(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	store := &memKeys{}
	first, err := NewClient(c).OpenRoom(ctx, room.Code(), WithSecret(secret), WithKeyStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Latest(ctx, 10); err != nil {
		t.Fatal(err)
	}
	// mallory, under alice's nickname, from a session of his own.
	ms, err := room.Sender("alice", SessionOptions{Identity: mallory})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	if _, err := ms.Send(ctx, "send me money"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []RoomOption
		want Trust
	}{
		{"remembering", []RoomOption{WithSecret(secret), WithKeyStore(store)}, OtherKey},
		{"fresh", []RoomOption{WithSecret(secret)}, Verified}, // the weakness the store closes
	} {
		later, err := NewClient(c).OpenRoom(ctx, room.Code(), tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		last, err := later.Latest(ctx, 1)
		if err != nil || len(last) != 1 {
			t.Fatalf("%s: %v %v", tc.name, last, err)
		}
		if last[0].Text != "send me money" || last[0].Trust != tc.want {
			t.Errorf("%s: %q is %v, want %v", tc.name, last[0].Text, last[0].Trust, tc.want)
		}
	}
}

// History is read newest first: a forgery after alice's last line, read
// before any of hers, yields the binding to her older lines as soon as
// they are read; a copy read before its original yields to it. A binding
// remembered from an earlier launch does not move for an older record
// (anyone with the code can overwrite one).
func TestTheEarliestLineHoldsTheNickname(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "r")
	alice, mallory := newIdentity(t), newIdentity(t)
	as, err := room.Sender("alice", SessionOptions{Identity: alice})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	real, err := as.Send(ctx, "the real alice")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := room.messages(ctx, real.Seq, real.Seq+1)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := room.Sender("alice", SessionOptions{Identity: mallory})
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	forged, err := ms.Send(ctx, "mallory as alice")
	if err != nil {
		t.Fatal(err)
	}
	copied := proto.Clone(raw[0]).(*chatpb.Message)
	chattest.RawPost(t, c, room.Code(), copied)

	fresh, err := NewClient(c).OpenRoom(ctx, room.Code(), WithKeyStore(&memKeys{}))
	if err != nil {
		t.Fatal(err)
	}
	read := func(seq int64) Message {
		t.Helper()
		msgs, err := fresh.Before(ctx, seq+1, 1)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("seq %d: %v %v", seq, msgs, err)
		}
		return msgs[0]
	}
	read(copied.Seq)
	read(forged.Seq) // newest first: mallory is the first key seen
	if got := read(real.Seq); got.Trust != Verified {
		t.Fatalf("alice's older line, read after the forgery: %v", got.Trust)
	}
	if got := read(forged.Seq); got.Trust != OtherKey {
		t.Errorf("the forgery, read again: %v, want other-key", got.Trust)
	}
	if got := read(copied.Seq); got.Trust != Replayed {
		t.Errorf("the copy, read again: %v, want replayed", got.Trust)
	}
	if string(fresh.KeyOf("alice")) != string(alice.Public()) {
		t.Error("alice's nickname is not bound to her key")
	}

	// Relaunched with a store that holds alice's binding: an overwrite of
	// an old record by mallory does not take her nickname.
	store := &memKeys{}
	store.Bind(room.Code(), "alice", []Binding{{Key: alice.Public(), Seq: copied.Seq}}) // learnt from a later line
	early := &chatpb.Message{Seq: 1, Nick: "alice", Text: "rewritten history", SentUnixMs: 1, ClientId: "m", ClientSeq: 1}
	sign(mallory, room.Code(), early)
	if err := c.PutMessage(ctx, room.Code(), early); err != nil {
		t.Fatal(err)
	}
	again, err := NewClient(c).OpenRoom(ctx, room.Code(), WithKeyStore(store))
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := again.Before(ctx, 2, 1)
	if err != nil || len(msgs) != 1 || msgs[0].Trust != OtherKey {
		t.Fatalf("the overwritten first record: %+v %v, want other-key", msgs, err)
	}
	if string(again.KeyOf("alice")) != string(alice.Public()) {
		t.Error("an old record moved a remembered binding")
	}
}

// A Member record rewritten around the chat (to mark alice offline, or
// to claim her nickname under another key) is shown as unverified; her
// own signed record is verified.
func TestRewrittenMemberRecordIsUnverified(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "r")
	alice, mallory := newIdentity(t), newIdentity(t)
	as, err := room.Join(ctx, "alice", SessionOptions{Identity: alice})
	if err != nil {
		t.Fatal(err)
	}
	defer as.Close()
	reader, err := NewClient(c).OpenRoom(ctx, room.Code())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Latest(ctx, 10); err != nil { // her join line binds her key
		t.Fatal(err)
	}
	trustOf := func() Trust {
		t.Helper()
		ms, err := reader.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Nick == "alice" {
				return m.Trust
			}
		}
		t.Fatal("alice is not a member")
		return 0
	}
	if got := trustOf(); got != Verified {
		t.Fatalf("alice's own record: %v", got)
	}
	rec, err := webaas.GetMessage[chatpb.Member](ctx, c, room.Code(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for name, rewrite := range map[string]func(m *chatpb.Member){
		"unsigned, offline":     func(m *chatpb.Member) { m.Online = false; m.AuthorKey, m.Signature = nil, nil },
		"her signature, edited": func(m *chatpb.Member) { m.Online = false },
		"mallory's key":         func(m *chatpb.Member) { m.Online = false; signMember(mallory, room.Code(), m) },
	} {
		m := proto.Clone(rec).(*chatpb.Member)
		rewrite(m)
		if err := c.PutMessage(ctx, room.Code(), m); err != nil {
			t.Fatal(err)
		}
		if got := trustOf(); got == Verified || got == Unsigned {
			t.Errorf("%s: %v, want unverified", name, got)
		}
	}
}

// alice moves to a new device: her old key hands her nickname over to the
// new one. Lines before the hand-over stay hers, lines after it by the new
// key are hers, by the old key another's; a hand-over signed by anyone
// else moves nothing. A fresh reader, reading newest first, agrees.
func TestHandOverMovesTheNickname(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "r", Encrypted())
	laptop, phone, mallory := newIdentity(t), newIdentity(t), newIdentity(t)
	sender := func(id *identity.Identity) *Session {
		s, err := room.Sender("alice", SessionOptions{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	onLaptop, onPhone, byMallory := sender(laptop), sender(phone), sender(mallory)
	send := func(s *Session, text string) Message {
		t.Helper()
		m, err := s.Send(ctx, text)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	before := send(onLaptop, "from the laptop")
	early := send(onPhone, "from the phone, too early")
	if _, err := byMallory.HandOver(ctx, identity.PublicString(mallory.Public())); err != nil {
		t.Fatal(err)
	}
	if _, err := onLaptop.HandOver(ctx, identity.PublicString(phone.Public())); err != nil {
		t.Fatal(err)
	}
	after := send(onPhone, "from the phone")
	stale := send(onLaptop, "from the laptop, after")
	fake := send(byMallory, "mallory")

	want := map[int64]Trust{before.Seq: Verified, early.Seq: OtherKey, after.Seq: Verified, stale.Seq: OtherKey, fake.Seq: OtherKey}
	for _, order := range []string{"oldest first", "newest first"} {
		reader, err := NewClient(c).OpenRoom(ctx, room.Code(), WithSecret(room.secret))
		if err != nil {
			t.Fatal(err)
		}
		head, _ := reader.Head(ctx)
		var all []Message
		if order == "oldest first" {
			all, err = reader.After(ctx, 0)
		} else {
			for seq := head; seq >= 1; seq-- { // page by page of one, newest first
				page, err := reader.Before(ctx, seq+1, 1)
				if err != nil {
					t.Fatal(err)
				}
				all = append(page, all...)
			}
			all, err = reader.After(ctx, 0) // and read again, as a scroll back would
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range all {
			if w, ok := want[m.Seq]; ok && m.Trust != w {
				t.Errorf("%s: %q is %v, want %v", order, m.Text, m.Trust, w)
			}
			if m.Kind == Rekey && m.Trust == Verified && !strings.Contains(m.Text, identity.PublicString(phone.Public())) {
				t.Errorf("%s: a verified hand-over to another key: %+v", order, m)
			}
		}
		if string(reader.KeyOf("alice")) != string(phone.Public()) {
			t.Errorf("%s: alice's nickname is not bound to the phone's key", order)
		}
	}
}

// After a lost identity there is no hand-over: a member who has compared
// the new key's fingerprint forgets the old binding, and the next signed
// line binds the nickname again, in the store too.
func TestForgetBindsAnew(t *testing.T) {
	ctx := context.Background()
	_, c, room := roomOn(t, "r")
	old, lost := newIdentity(t), newIdentity(t)
	so, err := room.Sender("alice", SessionOptions{Identity: old})
	if err != nil {
		t.Fatal(err)
	}
	defer so.Close()
	if _, err := so.Send(ctx, "before"); err != nil {
		t.Fatal(err)
	}
	store := &memKeys{}
	reader, err := NewClient(c).OpenRoom(ctx, room.Code(), WithKeyStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Latest(ctx, 10); err != nil {
		t.Fatal(err)
	}
	sn, err := room.Sender("alice", SessionOptions{Identity: lost})
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	sent, err := sn.Send(ctx, "my new key")
	if err != nil {
		t.Fatal(err)
	}
	readOne := func(r *Room) Trust {
		t.Helper()
		msgs, err := r.Before(ctx, sent.Seq+1, 1)
		if err != nil || len(msgs) != 1 {
			t.Fatal(msgs, err)
		}
		return msgs[0].Trust
	}
	if got := readOne(reader); got != OtherKey {
		t.Fatalf("before forgetting: %v", got)
	}
	if err := reader.Forget("alice"); err != nil {
		t.Fatal(err)
	}
	if got := readOne(reader); got != Verified {
		t.Fatalf("after forgetting: %v", got)
	}
	relaunched, err := NewClient(c).OpenRoom(ctx, room.Code(), WithKeyStore(store))
	if err != nil {
		t.Fatal(err)
	}
	if string(relaunched.KeyOf("alice")) != string(lost.Public()) {
		t.Fatal("the store does not hold the new binding")
	}
}

// One identity on two devices reads one room: a read on one moves the
// marker the other follows, live; a device that read less does not move
// it back; another identity has a marker of its own.
func TestReadMarkerFollowsTheIdentity(t *testing.T) {
	for _, plain := range []bool{false, true} {
		t.Run(map[bool]string{false: "sequenced", true: "plain"}[plain], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			srv := servertest.Start(t, func(c *server.Config) { c.Plain = plain })
			c, err := webaas.New(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			room, err := NewClient(c).CreateRoom(ctx, "r")
			if err != nil {
				t.Fatal(err)
			}
			alice := newIdentity(t)
			laptop, err := room.Sender("alice", SessionOptions{Identity: alice})
			if err != nil {
				t.Fatal(err)
			}
			defer laptop.Close()
			c2, _ := webaas.New(srv.URL())
			room2, err := NewClient(c2).OpenRoom(ctx, room.Code())
			if err != nil {
				t.Fatal(err)
			}
			phone, err := room2.Sender("alice", SessionOptions{Identity: alice})
			if err != nil {
				t.Fatal(err)
			}
			defer phone.Close()
			bob, err := room2.Sender("bob", SessionOptions{Identity: newIdentity(t)})
			if err != nil {
				t.Fatal(err)
			}
			defer bob.Close()
			if laptop.Reader() != phone.Reader() || laptop.Reader() == bob.Reader() {
				t.Fatal("readers: one identity must be one reader, two identities two")
			}
			events, err := room2.Follow(ctx, 0, FollowOptions{Reader: phone.Reader()})
			if err != nil {
				t.Fatal(err)
			}
			waitRead := func(want int64) {
				t.Helper()
				deadline := time.After(10 * time.Second)
				for {
					select {
					case ev := <-events:
						if ev.Kind == ReadUpTo && ev.Seq == want {
							return
						}
					case <-deadline:
						t.Fatalf("no ReadUpTo %d", want)
					}
				}
			}
			if err := laptop.MarkRead(ctx, 5); err != nil {
				t.Fatal(err)
			}
			waitRead(5)
			if err := phone.MarkRead(ctx, 3); err != nil { // read less: no change
				t.Fatal(err)
			}
			if err := laptop.MarkRead(ctx, 9); err != nil {
				t.Fatal(err)
			}
			waitRead(9)
			if got, err := room.ReadUpTo(ctx, laptop.Reader()); err != nil || got != 9 {
				t.Fatalf("ReadUpTo = %d, %v", got, err)
			}
			if got, _ := room.ReadUpTo(ctx, bob.Reader()); got != 0 {
				t.Fatalf("bob's marker moved: %d", got)
			}
		})
	}
}

// One identity in one room from two devices is one member: one "joined"
// line, online while either is, "left" and offline only when the last
// one leaves.
func TestOneIdentityTwoDevicesIsOneMember(t *testing.T) {
	ctx := context.Background()
	srv, _, room := roomOn(t, "r")
	alice := newIdentity(t)
	open := func() *Room {
		wc, _ := webaas.New(srv.URL())
		r, err := NewClient(wc).OpenRoom(ctx, room.Code())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	laptop, err := open().Join(ctx, "alice", SessionOptions{Identity: alice, Owner: "laptop-token"})
	if err != nil {
		t.Fatal(err)
	}
	phone, err := open().Join(ctx, "alice", SessionOptions{Identity: alice, Owner: "phone-token"})
	if err != nil {
		t.Fatalf("the second device: %v", err)
	}
	lines := func() (joins, leaves int) {
		msgs, err := room.Latest(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			switch m.Kind {
			case Join:
				joins++
			case Leave:
				leaves++
			}
		}
		return
	}
	online := func() bool {
		ms, err := room.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Nick == "alice" {
				return m.Online
			}
		}
		return false
	}
	if j, _ := lines(); j != 1 {
		t.Fatalf("%d joined lines for one member on two devices", j)
	}
	if err := laptop.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if _, l := lines(); l != 0 || !online() {
		t.Fatalf("after one device left: %d left lines, online %v; want 0, true", l, online())
	}
	if err := phone.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if _, l := lines(); l != 1 || online() {
		t.Fatalf("after the last device left: %d left lines, online %v; want 1, false", l, online())
	}
}

// What alice publishes (her public key) does not let anyone hold her
// nickname: the holder comes from a secret of her identity.
func TestHolderIsNotThePublicKey(t *testing.T) {
	ctx := context.Background()
	_, _, room := roomOn(t, "r")
	alice := newIdentity(t)
	s, err := room.Join(ctx, "alice", SessionOptions{Identity: alice})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, owner := range []string{"key:" + string(alice.Public()), "identity:" + string(alice.Public()), string(alice.Public())} {
		if _, err := room.Join(ctx, "alice", SessionOptions{Owner: owner}); !errors.Is(err, ErrNickTaken) {
			t.Errorf("owner %q: %v, want ErrNickTaken", owner[:8], err)
		}
	}
}
