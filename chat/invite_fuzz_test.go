package chat

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
)

// FuzzParseInvite: whatever is pasted, ParseInvite answers an invite that
// prints back to one it reads the same, or an error; never a panic.
func FuzzParseInvite(f *testing.F) {
	for _, s := range []string{
		"1b4e28ba-2fa1-41d2-883f-0016d3cca427",
		"webaas-chat+http://127.0.0.1:11232/1b4e28ba-2fa1-41d2-883f-0016d3cca427#q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng",
		"webaas-chat+https://h/x/1b4e28ba-2fa1-41d2-883f-0016d3cca427",
		"webaas-chat+http://%zz/", "webaas-chat+", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvite(s)
		if err != nil {
			return
		}
		back, err := ParseInvite(inv.String())
		if err != nil || back.Code != inv.Code || back.Server != inv.Server || !bytes.Equal(back.Secret, inv.Secret) {
			t.Fatalf("%q read as %+v, printed %q, read back as %+v, %v", s, inv, inv.String(), back, err)
		}
	})
}

// FuzzOpenSealed: a record written around the chat into an encrypted room,
// whatever its bytes, is shown as could-not-decrypt or as what it holds,
// never as a verified line it was not sealed and signed as; never a panic.
func FuzzOpenSealed(f *testing.F) {
	keys, err := deriveKeys(bytes.Repeat([]byte{7}, SecretSize), "1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	if err != nil {
		f.Fatal(err)
	}
	good, err := keys.seal("1b4e28ba-2fa1-41d2-883f-0016d3cca427", &chatpb.Message{Nick: "alice", Text: "hi", ClientId: "c", ClientSeq: 1})
	if err != nil {
		f.Fatal(err)
	}
	wire, _ := proto.Marshal(good)
	f.Add(wire)
	f.Add([]byte{})
	f.Add([]byte{0x52, 0x03, 1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m chatpb.Message
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		r := &Room{code: "1b4e28ba-2fa1-41d2-883f-0016d3cca427", info: &chatpb.Room{KeyCheck: keys.check}, keys: keys, pins: &pins{}}
		got := r.messageOf(&m)
		if got.Trust == Verified {
			t.Fatalf("a record nobody signed reads as verified: %+v", got)
		}
	})
}
