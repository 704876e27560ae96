package chat

// End-to-end encrypted rooms. A room's secret is 32 random bytes that
// never reach the server: the invite carries them. Message content (who,
// what, when, what kind, and the signature over it) is sealed with
// XChaCha20-Poly1305 under a key derived from the secret with HKDF; the
// server stores the ciphertext with the little it needs to order and
// deduplicate sends (the sequence number, the sending session's id and
// number). Only standard constructions from golang.org/x/crypto are used.

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
)

// SecretSize is the length of a room secret.
const SecretSize = 32

// ErrNeedsKey says a room is end-to-end encrypted and was opened without
// its secret (its code alone, not its invite).
var ErrNeedsKey = errors.New("this room is end-to-end encrypted: join it with its invite, not its room code")

// ErrNotEncrypted says an invite carries a secret but the room's record
// says it is in the clear: either the invite is for another room, or
// someone rewrote the record to turn encryption off. The chat refuses
// rather than send in the clear.
var ErrNotEncrypted = errors.New("the invite is for an encrypted room, but this room says it is in the clear: it may have been tampered with, so nothing is sent")

// ErrWrongKey says the secret given is not the room's.
var ErrWrongKey = errors.New("the invite's key is not this room's (a mistyped or outdated invite)")

// roomKeys are the keys derived from a room's secret.
type roomKeys struct {
	content []byte // the AEAD key for message content
	check   []byte // stored in the Room record, so a wrong secret is known at once
}

// deriveKeys derives a room's keys from its secret, with the room code
// as the salt, so one secret used for two rooms gives unrelated keys.
func deriveKeys(secret []byte, code string) (*roomKeys, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w: a key of %d bytes, want %d", ErrWrongKey, len(secret), SecretSize)
	}
	content, err := hkdf.Key(sha256.New, secret, []byte(code), "webaas-chat content key v1", chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	check, err := hkdf.Key(sha256.New, secret, []byte(code), "webaas-chat key check v1", 32)
	if err != nil {
		return nil, err
	}
	return &roomKeys{content: content, check: check}, nil
}

// matches says whether k is the room's, by the check value its Room
// record holds.
func (k *roomKeys) matches(info *chatpb.Room) bool {
	return subtle.ConstantTimeCompare(k.check, info.GetKeyCheck()) == 1
}

// newSecret makes a room secret.
func newSecret() []byte {
	b := make([]byte, SecretSize)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return b
}

// sealAAD binds a sealed message to its room and to what the server can
// see of it, so that a ciphertext moved into another room, or under
// another session's id, does not open.
func sealAAD(code string, outer *chatpb.Message) []byte {
	var b []byte
	for _, f := range [][]byte{[]byte("webaas-chat sealed message v1"), []byte(code), []byte(outer.ClientId)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return binary.BigEndian.AppendUint64(b, outer.ClientSeq)
}

// seal replaces m's content with its ciphertext: what is left in the
// clear is the sequence number, the session id and number, and Sealed.
func (k *roomKeys) seal(code string, m *chatpb.Message) (*chatpb.Message, error) {
	inner := &chatpb.Message{
		Nick: m.Nick, Text: m.Text, SentUnixMs: m.SentUnixMs, Kind: m.Kind,
		AuthorKey: m.AuthorKey, Signature: m.Signature, ReplyTo: m.ReplyTo, Target: m.Target,
	}
	plain, err := proto.Marshal(inner)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(k.content)
	if err != nil {
		return nil, err
	}
	outer := &chatpb.Message{Seq: m.Seq, ClientId: m.ClientId, ClientSeq: m.ClientSeq}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	outer.Sealed = aead.Seal(nonce, nonce, plain, sealAAD(code, outer))
	return outer, nil
}

// errUndecryptable says a sealed message did not open.
var errUndecryptable = errors.New("could not decrypt")

// open is the message a sealed one holds, with the outer record's seq and
// session fields.
func (k *roomKeys) open(code string, outer *chatpb.Message) (*chatpb.Message, error) {
	aead, err := chacha20poly1305.NewX(k.content)
	if err != nil {
		return nil, err
	}
	if len(outer.Sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errUndecryptable
	}
	nonce, box := outer.Sealed[:aead.NonceSize()], outer.Sealed[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, box, sealAAD(code, outer))
	if err != nil {
		return nil, errUndecryptable
	}
	inner := &chatpb.Message{}
	if err := proto.Unmarshal(plain, inner); err != nil {
		return nil, errUndecryptable
	}
	inner.Seq, inner.ClientId, inner.ClientSeq, inner.Sealed = outer.Seq, outer.ClientId, outer.ClientSeq, nil
	return inner, nil
}
