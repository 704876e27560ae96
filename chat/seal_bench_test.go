package chat

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/identity"
)

// The cost the sender and every receiver pay per message in an encrypted
// room, beside the data path's: go test -run '^$' -bench Seal ./chat
func benchMessage(b *testing.B) (*identity.Identity, *roomKeys, *chatpb.Message) {
	id, err := identity.Generate()
	if err != nil {
		b.Fatal(err)
	}
	keys, err := deriveKeys(newSecret(), "1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	if err != nil {
		b.Fatal(err)
	}
	return id, keys, &chatpb.Message{Nick: "alice", Text: strings.Repeat("a typical line of chat ", 4), SentUnixMs: 1, ClientId: "0123456789abcdef", ClientSeq: 7}
}

func BenchmarkSealSend(b *testing.B) {
	id, keys, m := benchMessage(b)
	const code = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	b.ReportAllocs()
	var sealed *chatpb.Message
	for b.Loop() {
		sign(id, code, m)
		var err error
		if sealed, err = keys.seal(code, m); err != nil {
			b.Fatal(err)
		}
	}
	// What the server sees of a message's size, beyond its text.
	sealed.Seq = 123456
	wire, _ := proto.Marshal(sealed)
	b.ReportMetric(float64(len(wire)-len(m.Text)), "B-overhead")
}

func BenchmarkSealReceive(b *testing.B) {
	id, keys, m := benchMessage(b)
	const code = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	sign(id, code, m)
	sealed, err := keys.seal(code, m)
	if err != nil {
		b.Fatal(err)
	}
	r := &Room{code: code, info: &chatpb.Room{KeyCheck: keys.check}, keys: keys, pins: &pins{}}
	b.ReportAllocs()
	for b.Loop() {
		if got := r.messageOf(sealed); got.Trust != Verified {
			b.Fatalf("trust %v", got.Trust)
		}
	}
}
