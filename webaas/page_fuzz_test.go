package webaas

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// encodePage frames records as a range answer does: a byte that says
// whether a later page exists, then each record after its 2-byte
// big-endian length.
func encodePage(records [][]byte, more bool) []byte {
	out := []byte{0}
	if more {
		out[0] = 1
	}
	for _, r := range records {
		out = binary.BigEndian.AppendUint16(out, uint16(len(r)))
		out = append(out, r...)
	}
	return out
}

// FuzzDecodePage: DecodePage never panics, refuses with ErrBadPage what it
// cannot split, and what it accepts encodes back to the same bytes.
func FuzzDecodePage(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{0},
		{1},
		{2},
		{0, 0},
		{0, 0, 0},
		{0, 0, 1},
		{0, 0, 1, 'x'},
		{1, 0, 0, 0, 2, 'a', 'b'},
		{0, 0xff, 0xff, 'x'},
		encodePage([][]byte{[]byte("first"), nil, bytes.Repeat([]byte{7}, 300)}, true),
		encodePage([][]byte{bytes.Repeat([]byte{1}, 65535)}, false),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		records, more, err := DecodePage(data)
		if err != nil {
			if !errors.Is(err, ErrBadPage) {
				t.Fatalf("DecodePage(%x): error %v is not ErrBadPage", data, err)
			}
			if records != nil || more {
				t.Fatalf("DecodePage(%x) failed but returned %d records, more=%v", data, len(records), more)
			}
			return
		}
		if again := encodePage(records, more); !bytes.Equal(again, data) {
			t.Fatalf("DecodePage(%x) = %d records, more=%v, which encode to %x", data, len(records), more, again)
		}
		// The records must not share capacity: appending to one must not
		// overwrite the next.
		for i, r := range records {
			if cap(r) != len(r) {
				t.Fatalf("record %d has len %d but cap %d: an append would overwrite the page", i, len(r), cap(r))
			}
		}
	})
}
