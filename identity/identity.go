// Package identity is an installation's Ed25519 key pair: made on first
// run, kept in one file only its owner can read, shown to people as a
// short fingerprint, and carried to another device as one string.
//
// It signs and verifies with crypto/ed25519 and nothing else; what a
// signature covers is the caller's business (package chat signs a
// canonical encoding of each record).
package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the identity's file in the config directory.
const FileName = "identity"

// exportPrefix starts an exported identity, so that a string pasted in
// the wrong place is recognised as a secret key, and a future format can
// be told apart.
const exportPrefix = "webaas-chat-identity-v1:"

// header is the file's first line: what the file is and that it is a
// secret.
const header = "# webaas-chat identity: a secret key; whoever holds this file can post as you\n"

// ErrBadIdentity says an identity file or exported string could not be
// read as one.
var ErrBadIdentity = errors.New("not a webaas-chat identity")

// ErrExists says an identity file is already there (import refuses to
// replace one unless told to).
var ErrExists = errors.New("an identity already exists")

// An Identity is a key pair.
type Identity struct {
	priv ed25519.PrivateKey
}

// Generate makes a new identity from the system's random source.
func Generate() (*Identity, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	return &Identity{priv: priv}, nil
}

// FromSeed is the identity of a 32-byte Ed25519 seed (tests, import).
func FromSeed(seed []byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: a key of %d bytes, want %d", ErrBadIdentity, len(seed), ed25519.SeedSize)
	}
	return &Identity{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Public is the identity's public key.
func (id *Identity) Public() ed25519.PublicKey {
	return id.priv.Public().(ed25519.PublicKey)
}

// Sign signs msg.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.priv, msg) }

// Secret is a secret of the identity's for one purpose: HMAC-SHA256 of
// the purpose under the private seed. Unlike anything derived from the
// public key, nobody can compute it from what the identity publishes.
func (id *Identity) Secret(purpose string) []byte {
	mac := hmac.New(sha256.New, id.priv.Seed())
	mac.Write([]byte("webaas-chat identity secret v1\x00" + purpose))
	return mac.Sum(nil)
}

// Verify says whether sig is pub's signature of msg. A key of the wrong
// size verifies nothing (ed25519.Verify would panic on it).
func Verify(pub, msg, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, msg, sig)
}

// Fingerprint is the identity's public key as people compare it.
func (id *Identity) Fingerprint() string { return Fingerprint(id.Public()) }

// fingerprintEncoding is RFC 4648's base32 alphabet in lower case: it has
// no 0, 1, 8 or 9, so nobody mistakes 0 for o or 1 for l when reading a
// fingerprint aloud.
var fingerprintEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Fingerprint is a public key as people compare it: the first 120 bits
// of its SHA-256, in base32, in six groups of four, e.g.
// "k4f2-x7qa-…". Reading it aloud takes seconds; finding another key
// with the same fingerprint takes about 2^120 tries. A key of the wrong
// size has no fingerprint.
func Fingerprint(pub []byte) string {
	if len(pub) != ed25519.PublicKeySize {
		return ""
	}
	sum := sha256.Sum256(pub)
	s := fingerprintEncoding.EncodeToString(sum[:15]) // 24 characters
	groups := make([]string, 0, 6)
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	return strings.Join(groups, "-")
}

// publicPrefix starts a public key as a string (PublicString).
const publicPrefix = "webaas-chat-key-v1:"

// PublicString is a public key as one string, to give to the holder of
// another identity (a hand-over names the new key so); it is not secret.
func PublicString(pub []byte) string {
	return publicPrefix + base64.RawURLEncoding.EncodeToString(pub)
}

// ParsePublic reads a PublicString.
func ParsePublic(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), publicPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: want a public key that starts with %q (webaas-chat identity public prints one)", ErrBadIdentity, publicPrefix)
	}
	pub, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: a damaged public key", ErrBadIdentity)
	}
	return pub, nil
}

// Export is the identity as one string, to import on another device.
// It is the secret key: whoever holds it can post as this identity.
func (id *Identity) Export() string {
	return exportPrefix + base64.RawURLEncoding.EncodeToString(id.priv.Seed())
}

// Parse reads an exported identity (surrounding space is ignored).
func Parse(s string) (*Identity, error) {
	s = strings.TrimSpace(s)
	rest, ok := strings.CutPrefix(s, exportPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: want a string that starts with %q", ErrBadIdentity, exportPrefix)
	}
	seed, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadIdentity, err)
	}
	return FromSeed(seed)
}

// Load reads the identity file at path.
func Load(path string) (*Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	var line string
	for l := range strings.Lines(string(b)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			line = l
			break
		}
	}
	id, err := Parse(line)
	if err != nil {
		return nil, fmt.Errorf("identity file %s: %w", path, err)
	}
	return id, nil
}

// LoadOrCreate reads the identity file at path, or makes a new identity
// there if there is none. Two processes starting at once end up with the
// same identity: the file appears whole or not at all, and only once.
func LoadOrCreate(path string) (id *Identity, created bool, err error) {
	id, err = Load(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return id, false, err
	}
	id, err = Generate()
	if err != nil {
		return nil, false, err
	}
	switch err := Save(path, id); {
	case err == nil:
		return id, true, nil
	case errors.Is(err, ErrExists): // another process was first
		id, err = Load(path)
		return id, false, err
	default:
		return nil, false, err
	}
}

// Save writes id to a new file at path, readable by its owner only; it
// refuses (ErrExists) to replace a file that is already there.
func Save(path string, id *Identity) error {
	return write(path, id, func(tmp, path string) error {
		// A hard link, unlike a rename, fails if path exists: the file
		// appears complete, and never replaces another identity.
		err := os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
		return err
	})
}

// Replace writes id at path, replacing whatever identity was there (its
// key is then gone, unless exported).
func Replace(path string, id *Identity) error {
	return write(path, id, os.Rename)
}

// write puts id in a temporary file beside path, on disk, then has place
// move it to path.
func write(path string, id *Identity, place func(tmp, path string) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".identity-*")
	if err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	defer os.Remove(tmp.Name())
	var body bytes.Buffer
	body.WriteString(header)
	body.WriteString(id.Export())
	body.WriteByte('\n')
	// CreateTemp makes the file 0600; chmod anyway, in case a platform
	// did otherwise.
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		tmp.Close()
		return fmt.Errorf("identity: %w", err)
	}
	if _, err := tmp.Write(body.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("identity: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := place(tmp.Name(), path); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	return nil
}
