package identity_test

import (
	"testing"

	"github.com/webaas-chat/webaas-chat/identity"
)

// FuzzParse: an exported identity or a public key pasted wrong is an
// error, and one read right prints back the same; never a panic.
func FuzzParse(f *testing.F) {
	id, _ := identity.FromSeed(make([]byte, 32))
	f.Add(id.Export())
	f.Add(identity.PublicString(id.Public()))
	f.Add("webaas-chat-identity-v1:")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if id, err := identity.Parse(s); err == nil {
			if back, err := identity.Parse(id.Export()); err != nil || back.Fingerprint() != id.Fingerprint() {
				t.Fatalf("%q does not round-trip: %v", s, err)
			}
		}
		if pub, err := identity.ParsePublic(s); err == nil {
			if back, err := identity.ParsePublic(identity.PublicString(pub)); err != nil || string(back) != string(pub) {
				t.Fatalf("%q does not round-trip: %v", s, err)
			}
		}
	})
}
