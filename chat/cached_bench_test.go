package chat

import (
	"fmt"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
)

// BenchmarkDecode100k is what a room's first search in a launch costs
// when the cache holds the room: decoding 100,000 kept records of an
// encrypted room (opening each seal, checking each signature), one Room
// for all as the chat has. go test -run '^$' -bench Decode100k -benchtime 3x ./chat
func BenchmarkDecode100k(b *testing.B) {
	id, keys, m := benchMessage(b)
	const code = "1b4e28ba-2fa1-41d2-883f-0016d3cca427"
	recs := make([][]byte, 100_000)
	for i := range recs {
		msg := &chatpb.Message{Nick: m.Nick, Text: fmt.Sprintf("%s %d", m.Text, i), SentUnixMs: int64(i), ClientId: m.ClientId, ClientSeq: uint64(i + 1)}
		sign(id, code, msg)
		sealed, err := keys.seal(code, msg)
		if err != nil {
			b.Fatal(err)
		}
		sealed.Seq = int64(i + 1)
		recs[i] = record(sealed)
	}
	b.ResetTimer()
	for b.Loop() {
		r := &Room{code: code, info: &chatpb.Room{KeyCheck: keys.check}, keys: keys, pins: &pins{}}
		for _, rec := range recs {
			if got, err := r.Decode(rec); err != nil || got.Trust != Verified {
				b.Fatalf("trust %v, %v", got.Trust, err)
			}
		}
	}
}
