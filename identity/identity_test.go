package identity_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/webaas-chat/webaas-chat/identity"
)

func TestLoadOrCreateMakesAPrivateFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", identity.FileName)
	id, created, err := identity.LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("first run: created=%v, %v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("identity file mode %v, want 0600", fi.Mode().Perm())
	}
	again, created, err := identity.LoadOrCreate(path)
	if err != nil || created {
		t.Fatalf("second run: created=%v, %v", created, err)
	}
	if !bytes.Equal(again.Public(), id.Public()) {
		t.Fatal("the second run has another key")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".identity-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// Two chats started at once on a fresh installation must not end up with
// two identities (one of them would post under a key that is then lost).
func TestConcurrentFirstRunsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), identity.FileName)
	const n = 16
	keys := make([][]byte, n)
	var created int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id, c, err := identity.LoadOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = id.Public()
			if c {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d of %d runs say they created the identity, want 1", created, n)
	}
	for i := range keys {
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("run %d has another key", i)
		}
	}
}

func TestExportImport(t *testing.T) {
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s := id.Export()
	back, err := identity.Parse("  " + s + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if back.Fingerprint() != id.Fingerprint() {
		t.Fatal("import gives another identity")
	}
	// Saved on the other device, it loads as the same identity.
	path := filepath.Join(t.TempDir(), identity.FileName)
	if err := identity.Save(path, back); err != nil {
		t.Fatal(err)
	}
	loaded, err := identity.Load(path)
	if err != nil || loaded.Fingerprint() != id.Fingerprint() {
		t.Fatalf("loaded %v, %v", loaded, err)
	}
	// It never replaces an identity that is there.
	other, _ := identity.Generate()
	if err := identity.Save(path, other); !errors.Is(err, identity.ErrExists) {
		t.Fatalf("saving over an identity: %v, want ErrExists", err)
	}
	if kept, _ := identity.Load(path); kept.Fingerprint() != id.Fingerprint() {
		t.Fatal("the identity was replaced")
	}
}

func TestBadIdentities(t *testing.T) {
	good, _ := identity.Generate()
	for _, s := range []string{
		"",
		"hello",
		strings.TrimPrefix(good.Export(), "webaas-chat-identity-v1:"), // no prefix
		good.Export()[:len(good.Export())-4],                          // truncated
		good.Export() + "AAAA",                                        // too long
		good.Export()[:30] + "*" + good.Export()[31:],                 // not base64
	} {
		if _, err := identity.Parse(s); !errors.Is(err, identity.ErrBadIdentity) {
			t.Errorf("Parse(%q) = %v, want ErrBadIdentity", s, err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, identity.FileName)
	if err := os.WriteFile(path, []byte("# only a comment\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := identity.LoadOrCreate(path); !errors.Is(err, identity.ErrBadIdentity) {
		t.Fatalf("a broken file: %v, want ErrBadIdentity (never silently replaced)", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "# only a comment\n" {
		t.Fatal("the broken file was changed")
	}
}

func TestSignVerify(t *testing.T) {
	id, _ := identity.Generate()
	other, _ := identity.Generate()
	msg := []byte("hello")
	sig := id.Sign(msg)
	if !identity.Verify(id.Public(), msg, sig) {
		t.Fatal("a good signature does not verify")
	}
	for name, c := range map[string]struct{ pub, msg, sig []byte }{
		"another key":     {other.Public(), msg, sig},
		"another message": {id.Public(), []byte("hellO"), sig},
		"short signature": {id.Public(), msg, sig[:10]},
		"short key":       {id.Public()[:5], msg, sig},
		"no key":          {nil, msg, sig},
	} {
		if identity.Verify(c.pub, c.msg, c.sig) {
			t.Errorf("%s verifies", name)
		}
	}
}

// The fingerprint of a fixed key never changes: people compare it across
// devices and versions.
func TestFingerprintIsStable(t *testing.T) {
	id, err := identity.FromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	got := id.Fingerprint()
	const want = "72as-yext-vngo-nlc5-w2nm-guxz" // checked with Python's cryptography package
	if got != want {
		t.Errorf("fingerprint %q, want %q", got, want)
	}
	if identity.Fingerprint([]byte{1, 2, 3}) != "" {
		t.Error("a short key has a fingerprint")
	}
}

// What is sealed to bob opens for bob and for nobody else; a damaged
// box opens for nobody.
func TestSealTo(t *testing.T) {
	bob, _ := identity.Generate()
	carol, _ := identity.Generate()
	sealed, err := identity.SealTo(bob.Public(), []byte("the invite"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := bob.Open(sealed); err != nil || string(got) != "the invite" {
		t.Fatalf("bob: %q %v", got, err)
	}
	if _, err := carol.Open(sealed); !errors.Is(err, identity.ErrNotForYou) {
		t.Fatalf("carol: %v, want ErrNotForYou", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := bob.Open(sealed); !errors.Is(err, identity.ErrNotForYou) {
		t.Fatalf("a damaged box: %v", err)
	}
	if _, err := identity.SealTo([]byte{1, 2}, []byte("x")); !errors.Is(err, identity.ErrBadIdentity) {
		t.Fatalf("sealing to no key: %v", err)
	}
}
