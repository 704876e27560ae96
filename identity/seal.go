package identity

// Sealing to an identity: a message only the holder of an identity can
// open, for sending a room's invite to one person through a room others
// read. The Ed25519 keys are converted to X25519 as libsodium does
// (crypto_sign_ed25519_pk_to_curve25519 and _sk_to_curve25519) and the
// message sealed with NaCl's anonymous sealed box.

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/nacl/box"
)

// ErrNotForYou says a sealed message did not open with this identity.
var ErrNotForYou = errors.New("sealed to another identity, or damaged")

// x25519Public is the X25519 form of an Ed25519 public key.
func x25519Public(pub []byte) (*[32]byte, error) {
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: not an Ed25519 public key", ErrBadIdentity)
	}
	// A point of small order would make the shared key known to all
	// (libsodium refuses them too).
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, fmt.Errorf("%w: a key of small order", ErrBadIdentity)
	}
	var out [32]byte
	copy(out[:], p.BytesMontgomery())
	return &out, nil
}

// x25519 is the identity's X25519 key pair.
func (id *Identity) x25519() (priv, pub *[32]byte, err error) {
	h := sha512.Sum512(id.priv.Seed())
	k, err := ecdh.X25519().NewPrivateKey(h[:32]) // clamped as X25519 does
	if err != nil {
		return nil, nil, err
	}
	priv, pub = new([32]byte), new([32]byte)
	copy(priv[:], k.Bytes())
	copy(pub[:], k.PublicKey().Bytes())
	return priv, pub, nil
}

// SealTo seals msg so that only the identity whose Ed25519 public key is
// to can open it (nobody learns who sealed it: sign inside if that
// matters).
func SealTo(to, msg []byte) ([]byte, error) {
	pub, err := x25519Public(to)
	if err != nil {
		return nil, err
	}
	return box.SealAnonymous(nil, msg, pub, rand.Reader)
}

// Open opens what SealTo sealed to this identity.
func (id *Identity) Open(sealed []byte) ([]byte, error) {
	priv, pub, err := id.x25519()
	if err != nil {
		return nil, err
	}
	msg, ok := box.OpenAnonymous(nil, sealed, pub, priv)
	if !ok {
		return nil, ErrNotForYou
	}
	return msg, nil
}
