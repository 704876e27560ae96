package pgstore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// The binary form of a store.TxnState, as kept in webaas_txns.state. Every
// call on a transaction decodes and re-encodes it, so it is built to be
// quick both ways and small on the wire:
//
//	format   byte     txnStateFormat
//	names    uvarint  count, then each: uvarint length, bytes
//	reads    uvarint  count, then each:
//	           uvarint app, uvarint schema (indexes into names)
//	           uvarint key length, key bytes
//	           uvarint version
//	writes   uvarint  count, then each:
//	           uvarint app, uvarint schema, uvarint key length, key bytes
//	           uvarint text key length, text key bytes
//	           uvarint value length<<1 | delete, value bytes
//
// App and schema names go into one table, each once: a transaction names
// the same few over and over, often at more length than its keys.
const txnStateFormat = 1

var errCorruptState = errors.New("corrupt transaction state")

// encodeTxnState returns st in binary form.
func encodeTxnState(st store.TxnState) []byte {
	size := 4
	index := map[string]uint64{}
	var names []string
	name := func(s string) {
		if _, ok := index[s]; !ok {
			index[s] = uint64(len(names))
			names = append(names, s)
			size += binary.MaxVarintLen32 + len(s)
		}
	}
	for _, r := range st.Reads {
		name(r.Key.App)
		name(r.Key.Schema)
		size += 3*binary.MaxVarintLen32 + binary.MaxVarintLen64 + len(r.Key.Key)
	}
	for _, w := range st.Writes {
		name(w.Key.App)
		name(w.Key.Schema)
		size += 5*binary.MaxVarintLen32 + len(w.Key.Key) + len(w.TextKey) + len(w.Value)
	}

	b := make([]byte, 0, size)
	b = append(b, txnStateFormat)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, s := range names {
		b = appendBytes(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(st.Reads)))
	for _, r := range st.Reads {
		b = appendKey(b, index, r.Key)
		b = binary.AppendUvarint(b, r.Version)
	}
	b = binary.AppendUvarint(b, uint64(len(st.Writes)))
	for _, w := range st.Writes {
		b = appendKey(b, index, w.Key)
		b = appendBytes(b, w.TextKey)
		flagged := uint64(len(w.Value)) << 1
		if w.Delete {
			flagged |= 1
		}
		b = binary.AppendUvarint(b, flagged)
		b = append(b, w.Value...)
	}
	return b
}

func appendBytes[T string | []byte](b []byte, s T) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendKey(b []byte, index map[string]uint64, k store.RecordKey) []byte {
	b = binary.AppendUvarint(b, index[k.App])
	b = binary.AppendUvarint(b, index[k.Schema])
	return appendBytes(b, k.Key)
}

// decodeTxnState parses what encodeTxnState made. Keys and values are
// slices of b, which must not change afterwards; they are capped, so that
// appending to one cannot overwrite the next.
func decodeTxnState(b []byte) (store.TxnState, error) {
	d := stateDecoder{b: b}
	if format := d.byte(); format != txnStateFormat {
		if d.err != nil {
			return store.TxnState{}, d.err
		}
		return store.TxnState{}, fmt.Errorf("%w: format %d, want %d", errCorruptState, format, txnStateFormat)
	}
	// Counts are checked against the bytes left (every entry takes at least
	// one byte each of a few fields), so corrupt data cannot make us
	// allocate more than a small multiple of its size.
	names := make([]string, d.count(1))
	for i := range names {
		names[i] = string(d.bytes())
	}
	var st store.TxnState
	if n := d.count(4); n > 0 {
		st.Reads = make([]store.Read, n)
		for i := range st.Reads {
			st.Reads[i] = store.Read{Key: d.key(names), Version: d.uvarint()}
		}
	}
	if n := d.count(5); n > 0 {
		st.Writes = make([]store.Write, n)
		for i := range st.Writes {
			w := store.Write{Key: d.key(names), TextKey: string(d.bytes())}
			flagged := d.uvarint()
			w.Delete = flagged&1 == 1
			w.Value = d.take(flagged >> 1)
			st.Writes[i] = w
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the end", len(d.b))
	}
	if d.err != nil {
		return store.TxnState{}, d.err
	}
	return st, nil
}

// stateDecoder reads b from the front; after the first error every read
// returns zero values and err keeps that error.
type stateDecoder struct {
	b   []byte
	err error
}

func (d *stateDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", errCorruptState, fmt.Sprintf(format, args...))
	}
	d.b = nil
}

func (d *stateDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *stateDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads an entry count, each entry taking at least minSize bytes.
func (d *stateDecoder) count(minSize int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/minSize) {
		d.fail("%d entries in %d bytes", n, len(d.b))
		return 0
	}
	return int(n)
}

func (d *stateDecoder) take(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail("%d bytes wanted, %d left", n, len(d.b))
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *stateDecoder) bytes() []byte { return d.take(d.uvarint()) }

func (d *stateDecoder) key(names []string) store.RecordKey {
	app, schema := d.uvarint(), d.uvarint()
	if d.err == nil && (app >= uint64(len(names)) || schema >= uint64(len(names))) {
		d.fail("name %d or %d of %d", app, schema, len(names))
	}
	if d.err != nil {
		return store.RecordKey{}
	}
	return store.RecordKey{App: names[app], Schema: names[schema], Key: d.bytes()}
}
