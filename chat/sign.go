package chat

// Signed messages. A session with an identity signs each message it
// posts; receivers verify it and bind each nickname to the first key
// that signed as it (trust on first use, as SSH does with host keys).
// The server cannot help here: it is a generic store and knows no chat
// rules, so whatever it stores is checked by the clients.

import (
	"bytes"
	"encoding/binary"
	"fmt"
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
	return b.Bytes()
}

// sign fills in m's key and signature.
func sign(id *identity.Identity, room string, m *chatpb.Message) {
	m.AuthorKey = id.Public()
	m.Signature = id.Sign(signedBytes(room, m))
}

// A KeyStore keeps the bindings of nicknames to keys across launches, so
// that a chat started afresh still knows alice's key before it reads a
// line of hers (trust on first use is only as good as what it
// remembers). Load is called when a room is opened; Bind when a nickname
// is first bound to a key in it. It is used from several goroutines.
type KeyStore interface {
	Load(room string) (map[string][]byte, error)
	Bind(room, nick string, key []byte) error
}

// WithKeyStore makes CreateRoom and OpenRoom remember bindings in ks.
func WithKeyStore(ks KeyStore) RoomOption { return func(o *roomOptions) { o.keys = ks } }

// pins is what one Room remembers of signatures: which key each nickname
// is bound to, and which signed messages it has seen where.
type pins struct {
	mu     sync.Mutex
	byNick map[string][]byte // nickname -> the first key that signed as it
	seen   map[string]int64  // a signature -> the seq it was first seen at
	store  KeyStore          // nil: bindings last as long as the Room
	room   string
}

// newPins starts from what ks remembers of room.
func newPins(ks KeyStore, room string) (*pins, error) {
	p := &pins{byNick: map[string][]byte{}, seen: map[string]int64{}, store: ks, room: room}
	if ks == nil {
		return p, nil
	}
	known, err := ks.Load(room)
	if err != nil {
		return nil, fmt.Errorf("known keys: %w", err)
	}
	for nick, key := range known {
		p.byNick[nick] = bytes.Clone(key)
	}
	return p, nil
}

// check verifies m (at m.Seq) and binds its nickname on first use.
func (p *pins) check(room string, m *chatpb.Message) Trust {
	var bound []string
	defer func() {
		// Saved outside the lock: a file write must not hold up readers.
		for _, nick := range bound {
			// A binding that could not be saved is still held by this
			// Room; the store says why to whoever it logs to.
			_ = p.store.Bind(p.room, nick, m.AuthorKey)
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byNick == nil {
		p.byNick, p.seen = map[string][]byte{}, map[string]int64{}
	}
	if len(m.AuthorKey) == 0 && len(m.Signature) == 0 {
		if _, bound := p.byNick[m.Nick]; bound {
			return OtherKey // no key is not the nick's key
		}
		return Unsigned
	}
	if !identity.Verify(m.AuthorKey, signedBytes(room, m), m.Signature) {
		return Forged
	}
	sig := string(m.Signature)
	if at, ok := p.seen[sig]; ok && at != m.Seq {
		return Replayed
	}
	p.seen[sig] = m.Seq
	// A rename's new nickname is bound to the key that renamed to it.
	for _, nick := range boundNicks(m) {
		key, ok := p.byNick[nick]
		if !ok {
			p.byNick[nick] = bytes.Clone(m.AuthorKey)
			if p.store != nil {
				bound = append(bound, nick)
			}
		} else if !bytes.Equal(key, m.AuthorKey) {
			return OtherKey
		}
	}
	return Verified
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

// Fingerprint is the session's identity's fingerprint ("": it signs
// nothing).
func (s *Session) Fingerprint() string {
	if s.id == nil {
		return ""
	}
	return s.id.Fingerprint()
}

// KeyOf is the key that nick is bound to in this room, as far as this
// client has seen (nil: none yet).
func (r *Room) KeyOf(nick string) []byte {
	r.pins.mu.Lock()
	defer r.pins.mu.Unlock()
	return bytes.Clone(r.pins.byNick[nick])
}
