package chat

// Signed messages. A session with an identity signs each message it
// posts; receivers verify it and bind each nickname to the first key
// that signed as it (trust on first use, as SSH does with host keys).
// The server cannot help here: it is a generic store and knows no chat
// rules, so whatever it stores is checked by the clients.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/identity"
)

// Trust says what a message's signature proves.
type Trust int

const (
	// Unsigned: no signature (an old client, or a raw write). Whoever
	// could write to the room may have written it.
	Unsigned Trust = iota
	// Verified: signed by the key this room's clients bound to the nick.
	Verified
	// Forged: a signature that does not verify (tampered with, or made
	// up).
	Forged
	// OtherKey: a good signature by a key other than the one bound to
	// the nick, or no signature under a nick that has a key: someone
	// else using the nickname.
	OtherKey
	// Replayed: a signed message this client already saw at another
	// place in the room (copied, or copied from another room: the room is
	// in what is signed, so that copy is Forged).
	Replayed
	// Undecryptable: in an end-to-end encrypted room, a message that did
	// not open (tampered with, sealed under another key, truncated, or
	// written in the clear); nothing of it is shown.
	Undecryptable
)

// String is the trust's name in JSON output.
func (t Trust) String() string {
	switch t {
	case Unsigned:
		return "unsigned"
	case Verified:
		return "verified"
	case Forged:
		return "forged"
	case OtherKey:
		return "other-key"
	case Replayed:
		return "replayed"
	case Undecryptable:
		return "undecryptable"
	}
	return "unknown"
}

// signingDomain starts every signed encoding, so that a message
// signature can never be taken for a signature of anything else.
const signingDomain = "webaas-chat message v1"

// signedBytes is the canonical encoding of what a message's signature
// covers: each field in a fixed order, each as its length (uvarint) and
// bytes, so that no two different messages encode alike. The sequence
// number is not in it: the server assigns it after the signature is made.
func signedBytes(room string, m *chatpb.Message) []byte {
	var b bytes.Buffer
	field := func(p []byte) {
		b.Write(binary.AppendUvarint(nil, uint64(len(p))))
		b.Write(p)
	}
	num := func(v uint64) { field(binary.BigEndian.AppendUint64(nil, v)) }
	field([]byte(signingDomain))
	field([]byte(room))
	num(uint64(m.Kind))
	field([]byte(m.Nick))
	field([]byte(m.Text))
	num(uint64(m.SentUnixMs))
	field([]byte(m.ClientId))
	num(m.ClientSeq)
	field(m.AuthorKey)
	// Added with replies and amendments, only when set, so that what an
	// older message signed encodes as it did (the fields are
	// length-prefixed, so the count of them tells the two apart).
	if m.ReplyTo != 0 || m.Target != 0 {
		num(uint64(m.ReplyTo))
		num(uint64(m.Target))
	}
	return b.Bytes()
}

// memberSigningDomain starts a Member record's signed encoding.
const memberSigningDomain = "webaas-chat member v1"

// memberSignedBytes is the canonical encoding of what a Member record's
// signature covers: all of it but the signature.
func memberSignedBytes(room string, m *chatpb.Member) []byte {
	var b bytes.Buffer
	field := func(p []byte) {
		b.Write(binary.AppendUvarint(nil, uint64(len(p))))
		b.Write(p)
	}
	num := func(v uint64) { field(binary.BigEndian.AppendUint64(nil, v)) }
	field([]byte(memberSigningDomain))
	field([]byte(room))
	field([]byte(m.Nick))
	field([]byte(m.ClientId))
	if m.Online {
		num(1)
	} else {
		num(0)
	}
	num(uint64(m.JoinedUnixMs))
	num(uint64(m.LastSeenUnixMs))
	num(uint64(len(m.Sessions)))
	for _, x := range m.Sessions {
		field([]byte(x.Id))
		num(uint64(x.LastSeenUnixMs))
	}
	field(m.AuthorKey)
	return b.Bytes()
}

// signMember fills in a Member record's key and signature (id nil: it
// is left unsigned).
func signMember(id *identity.Identity, room string, m *chatpb.Member) {
	if id == nil {
		m.AuthorKey, m.Signature = nil, nil
		return
	}
	m.AuthorKey = id.Public()
	m.Signature = id.Sign(memberSignedBytes(room, m))
}

// checkMember says what a Member record's signature proves, against the
// binding its nickname has from messages (a record alone binds nothing:
// it has no place in the room's order).
func (p *pins) checkMember(room string, m *chatpb.Member) Trust {
	p.mu.Lock()
	chain := p.byNick[m.Nick]
	bound := len(chain) > 0
	var b Binding
	if bound {
		b = chain[len(chain)-1]
	}
	p.mu.Unlock()
	switch {
	case len(m.AuthorKey) == 0 && len(m.Signature) == 0:
		if bound {
			return OtherKey
		}
		return Unsigned
	case !identity.Verify(m.AuthorKey, memberSignedBytes(room, m), m.Signature):
		return Forged
	case bound && !bytes.Equal(b.Key, m.AuthorKey):
		return OtherKey
	case bound:
		return Verified
	}
	return Unsigned // signed, by a key no line of the nick has shown yet
}

// sign fills in m's key and signature.
func sign(id *identity.Identity, room string, m *chatpb.Message) {
	m.AuthorKey = id.Public()
	m.Signature = id.Sign(signedBytes(room, m))
}

// A Binding is a key a nickname is bound to in a room from a place in
// its order on: from the earliest line by that key under that nickname
// (trust goes to the first to sign as a nickname; a chat reads history
// newest first, so an older line by another key, read later, takes a
// fresh binding over), or from the hand-over that named it.
type Binding struct {
	Key []byte
	Seq int64
}

// A KeyStore keeps the bindings of nicknames to keys across launches, so
// that a chat started afresh still knows alice's key before it reads a
// line of hers (trust on first use is only as good as what it
// remembers). Load is called when a room is opened; Bind when a
// nickname's bindings change (oldest first: each hand-over adds one; an
// empty chain: forgotten, bind it anew).
// It is used from several goroutines.
type KeyStore interface {
	Load(room string) (map[string][]Binding, error)
	Bind(room, nick string, chain []Binding) error
}

// WithKeyStore makes CreateRoom and OpenRoom remember bindings in ks.
func WithKeyStore(ks KeyStore) RoomOption { return func(o *roomOptions) { o.keys = ks } }

// pins is what one Room remembers of signatures: which keys each
// nickname is bound to, and which signed messages it has seen where.
type pins struct {
	mu     sync.Mutex
	byNick map[string][]Binding // oldest first
	// fixed are the nicknames whose bindings came from the store: an
	// older line by another key does not move them (anyone with the room
	// code can overwrite an old record, and a binding held since an
	// earlier launch is the one to keep).
	fixed map[string]bool
	seen  map[string]int64 // a signature -> the lowest seq it was seen at
	store KeyStore         // nil: bindings last as long as the Room
	room  string
}

// newPins starts from what ks remembers of room.
func newPins(ks KeyStore, room string) (*pins, error) {
	p := &pins{byNick: map[string][]Binding{}, fixed: map[string]bool{}, seen: map[string]int64{}, store: ks, room: room}
	if ks == nil {
		return p, nil
	}
	known, err := ks.Load(room)
	if err != nil {
		return nil, fmt.Errorf("known keys: %w", err)
	}
	for nick, chain := range known {
		if len(chain) > 0 {
			p.byNick[nick] = cloneChain(chain)
			p.fixed[nick] = true
		}
	}
	return p, nil
}

func cloneChain(chain []Binding) []Binding {
	out := make([]Binding, len(chain))
	for i, b := range chain {
		out[i] = Binding{Key: bytes.Clone(b.Key), Seq: b.Seq}
	}
	return out
}

// inForce is the index of the binding in force at seq: the last that
// starts at or before it; -1 if seq comes before them all.
func inForce(chain []Binding, seq int64) int {
	i := -1
	for j, b := range chain {
		if b.Seq <= seq {
			i = j
		}
	}
	return i
}

// check verifies m (at m.Seq), binds its nickname on first use or to an
// earlier line than a fresh binding rests on, and follows a verified
// hand-over to the key it names.
func (p *pins) check(room string, m *chatpb.Message) Trust {
	changed := map[string][]Binding{}
	defer func() {
		// Saved outside the lock: a file write must not hold up readers.
		for nick, chain := range changed {
			// A binding that could not be saved is still held by this
			// Room; the store says why to whoever it logs to.
			_ = p.store.Bind(p.room, nick, chain)
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byNick == nil {
		p.byNick, p.fixed, p.seen = map[string][]Binding{}, map[string]bool{}, map[string]int64{}
	}
	if len(m.AuthorKey) == 0 && len(m.Signature) == 0 {
		if len(p.byNick[m.Nick]) > 0 {
			return OtherKey // no key is not the nick's key
		}
		return Unsigned
	}
	if !identity.Verify(m.AuthorKey, signedBytes(room, m), m.Signature) {
		return Forged
	}
	// The same signed message at two places: the earlier is the
	// original, the later the copy.
	sig := string(m.Signature)
	if at, ok := p.seen[sig]; ok && at < m.Seq {
		return Replayed
	}
	p.seen[sig] = m.Seq
	key := m.AuthorKey
	// A rename's new nickname is bound to the key that renamed to it.
	for _, nick := range boundNicks(m) {
		chain := p.byNick[nick]
		i := inForce(chain, m.Seq)
		switch {
		case len(chain) == 0:
			chain = []Binding{{Key: bytes.Clone(key), Seq: m.Seq}}
		case i >= 0 && bytes.Equal(chain[i].Key, key):
			continue // the key in force
		case i < 0 && bytes.Equal(chain[0].Key, key):
			chain[0].Seq = m.Seq // an earlier line by the same key
		case i < 0 && len(chain) == 1 && !p.fixed[nick]:
			chain = []Binding{{Key: bytes.Clone(key), Seq: m.Seq}} // the earliest line holds it
		default:
			return OtherKey
		}
		p.byNick[nick] = chain
		changed[nick] = cloneChain(chain)
	}
	if m.Kind == chatpb.Kind_KIND_REKEY {
		next, err := identity.ParsePublic(m.Text)
		if err != nil {
			return Forged // a hand-over to no key: not one the chat writes
		}
		// The new key holds the nickname from the next line on.
		chain := p.byNick[m.Nick]
		if inForce(chain, m.Seq) >= 0 && !hasBindingAt(chain, m.Seq+1) {
			chain = append(chain, Binding{Key: next, Seq: m.Seq + 1})
			slices.SortStableFunc(chain, func(a, b Binding) int { return cmp.Compare(a.Seq, b.Seq) })
			p.byNick[m.Nick] = chain
			changed[m.Nick] = cloneChain(chain)
		}
	}
	if p.store == nil {
		clear(changed)
	}
	return Verified
}

func hasBindingAt(chain []Binding, seq int64) bool {
	for _, b := range chain {
		if b.Seq == seq {
			return true
		}
	}
	return false
}

// boundNicks are the nicknames m speaks for.
func boundNicks(m *chatpb.Message) []string {
	if m.Kind == chatpb.Kind_KIND_NICK && m.Text != "" {
		return []string{m.Nick, m.Text}
	}
	return []string{m.Nick}
}

// FingerprintOf is the fingerprint of the key nick is bound to in this
// room, as far as this client has seen ("": no signed message from nick
// seen yet).
func (r *Room) FingerprintOf(nick string) string { return identity.Fingerprint(r.KeyOf(nick)) }

// Fingerprint is the fingerprint of the key that signed m ("": unsigned).
func (m Message) Fingerprint() string { return identity.Fingerprint(m.Key) }

// ErrNoIdentity says a session that signs nothing was asked to hand its
// nickname over.
var ErrNoIdentity = errors.New("this session signs with no identity, so it has no key to hand over")

// HandOver posts a hand-over of the session's nickname to the key next
// (an identity.PublicString from the new device), signed by this
// session's key: from it on, readers take lines signed by next as the
// nickname's and lines by the old key as another's.
func (s *Session) HandOver(ctx context.Context, next string) (Message, error) {
	if s.id == nil {
		return Message{}, ErrNoIdentity
	}
	pub, err := identity.ParsePublic(next)
	if err != nil {
		return Message{}, err
	}
	return s.post(ctx, chatpb.Kind_KIND_REKEY, identity.PublicString(pub))
}

// Fingerprint is the session's identity's fingerprint ("": it signs
// nothing).
func (s *Session) Fingerprint() string {
	if s.id == nil {
		return ""
	}
	return s.id.Fingerprint()
}

// Forget drops this chat's binding of nick in the room, here and in its
// KeyStore, so that the next signed line under nick binds it again: what
// a member does after comparing a new key's fingerprint with its holder
// (a lost identity cannot hand over).
func (r *Room) Forget(nick string) error {
	r.pins.mu.Lock()
	delete(r.pins.byNick, nick)
	delete(r.pins.fixed, nick)
	r.pins.mu.Unlock()
	if r.pins.store == nil {
		return nil
	}
	return r.pins.store.Bind(r.code, nick, nil)
}

// KeyOf is the key that nick is bound to in this room, as far as this
// client has seen (nil: none yet).
func (r *Room) KeyOf(nick string) []byte {
	r.pins.mu.Lock()
	defer r.pins.mu.Unlock()
	chain := r.pins.byNick[nick]
	if len(chain) == 0 {
		return nil
	}
	return bytes.Clone(chain[len(chain)-1].Key)
}

// Key is the session's identity's public key (nil: it signs nothing):
// what marks its reactions as its own (NewLedger).
func (s *Session) Key() []byte {
	if s.id == nil {
		return nil
	}
	return s.id.Public()
}
