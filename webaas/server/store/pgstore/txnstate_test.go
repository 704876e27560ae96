package pgstore

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// sampleTxnState has a little of everything: shared and distinct names,
// empty keys and values, a delete carrying a value, the largest version.
func sampleTxnState() store.TxnState {
	k := func(app, schema, key string) store.RecordKey {
		return store.RecordKey{App: app, Schema: schema, Key: []byte(key)}
	}
	return store.TxnState{
		Reads: []store.Read{
			{Key: k("chat", "chat.Room", "sroom"), Version: 300},
			{Key: k("chat", "chat.Message", ""), Version: 0},
			{Key: k("", "", "\x00\xff"), Version: ^uint64(0)},
		},
		Writes: []store.Write{
			{Key: k("chat", "chat.Message", "u\x00\x00\x01"), TextKey: "1", Value: bytes.Repeat([]byte("m"), 300)},
			{Key: k("chat", "chat.Room", "sroom"), TextKey: "room", Value: []byte{}},
			{Key: k("other", "chat.Room", "x"), TextKey: "x", Value: []byte("v"), Delete: true},
		},
	}
}

// TestTxnStateRoundTrip encodes and decodes, and checks the encoding is
// compact: names once, a few bytes of framing per entry.
func TestTxnStateRoundTrip(t *testing.T) {
	for name, st := range map[string]store.TxnState{"empty": {}, "sample": sampleTxnState()} {
		b := encodeTxnState(st)
		got, err := decodeTxnState(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(normalizeState(got), normalizeState(st)) {
			t.Fatalf("%s: decoded %+v, want %+v", name, got, st)
		}
	}
	if n := len(encodeTxnState(store.TxnState{})); n != 4 {
		t.Errorf("the empty state takes %d bytes, want 4", n)
	}
	st := sampleTxnState()
	payload := 0
	for _, s := range []string{"chat", "chat.Room", "chat.Message", "", "other"} {
		payload += len(s)
	}
	for _, r := range st.Reads {
		payload += len(r.Key.Key)
	}
	for _, w := range st.Writes {
		payload += len(w.Key.Key) + len(w.TextKey) + len(w.Value)
	}
	// Framing: format, 3 counts, 5 name lengths, per read 3 varints and
	// the version (up to 10 bytes), per write 5 varints (the value's two).
	if n, most := len(encodeTxnState(st)), payload+1+3+5+3*(3+10)+3*6; n > most {
		t.Errorf("the sample state takes %d bytes; its payload is %d, and framing should add at most %d", n, payload, most-payload)
	}
}

// normalizeState turns nil byte slices into empty ones, which the store
// package treats alike.
func normalizeState(st store.TxnState) store.TxnState {
	nn := func(b []byte) []byte {
		if b == nil {
			return []byte{}
		}
		return b
	}
	var out store.TxnState
	for _, r := range st.Reads {
		r.Key.Key = nn(r.Key.Key)
		out.Reads = append(out.Reads, r)
	}
	for _, w := range st.Writes {
		w.Key.Key, w.Value = nn(w.Key.Key), nn(w.Value)
		out.Writes = append(out.Writes, w)
	}
	return out
}

// TestTxnStateCorrupt decodes damaged encodings: an error every time,
// never a panic or a wrong state.
func TestTxnStateCorrupt(t *testing.T) {
	good := encodeTxnState(sampleTxnState())
	cases := map[string][]byte{
		"nil":               nil,
		"format":            append([]byte{2}, good[1:]...),
		"trailing":          append(append([]byte{}, good...), 0),
		"huge count":        {txnStateFormat, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"name out of range": {txnStateFormat, 0, 1, 0, 0, 0, 0, 0},
	}
	for i := 1; i < len(good); i++ {
		if _, err := decodeTxnState(good[:i]); !errors.Is(err, errCorruptState) {
			t.Fatalf("decoding the first %d of %d bytes: %v, want errCorruptState", i, len(good), err)
		}
	}
	for name, b := range cases {
		if _, err := decodeTxnState(b); !errors.Is(err, errCorruptState) {
			t.Errorf("%s: %v, want errCorruptState", name, err)
		}
	}
}

// TestTxnStateNoOverlap appends to a decoded key: the next field must not
// change.
func TestTxnStateNoOverlap(t *testing.T) {
	st, err := decodeTxnState(encodeTxnState(sampleTxnState()))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(st.Reads[0].Key.Key, "XXXXXXXX"...)
	_ = append(st.Writes[0].Value, "XXXXXXXX"...)
	if !reflect.DeepEqual(normalizeState(st), normalizeState(sampleTxnState())) {
		t.Fatal("appending to a decoded slice changed another field")
	}
}

// FuzzDecodeTxnState decodes anything without panicking; what decodes
// encodes to a form that decodes to the same state.
func FuzzDecodeTxnState(f *testing.F) {
	f.Add(encodeTxnState(store.TxnState{}))
	f.Add(encodeTxnState(sampleTxnState()))
	f.Add([]byte{txnStateFormat, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeTxnState(b)
		if err != nil {
			return
		}
		again, err := decodeTxnState(encodeTxnState(st))
		if err != nil {
			t.Fatalf("re-encoding a decoded state: %v", err)
		}
		if !reflect.DeepEqual(normalizeState(again), normalizeState(st)) {
			t.Fatalf("round trip changed %+v into %+v", st, again)
		}
	})
}
