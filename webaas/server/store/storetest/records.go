package storetest

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// typedKeys returns keys of every kind in their typed order (the order a
// store must return them in), each with the text a client would write.
// Several contain 0x00 and 0xff bytes, and some are prefixes of others.
func typedKeys() (keys [][]byte, texts []string) {
	add := func(k []byte, text string) {
		keys = append(keys, k)
		texts = append(texts, text)
	}
	// Tags order the kinds: 'b' < 'i' < 's' < 'u'.
	add(boolKey(false), "false")
	add(boolKey(true), "true")
	for _, v := range []int64{math.MinInt64, -256, -255, -1, 0, 1, 9, 10, 255, 256, math.MaxInt64} {
		add(signedKey(v), fmt.Sprint(v))
	}
	for _, s := range []string{"", "\x00", "\x00\x00", "\x00\xff", "\x01", "a", "a\x00", "a\x00b", "ab", "a\xff", "b", "\x7f", "\x80", "é", "\xff", "\xff\x00", "\xff\xff"} {
		add(stringKey(s), s)
	}
	for _, v := range []uint64{0, 1, 255, 256, math.MaxUint32, math.MaxUint64 - 1, math.MaxUint64} {
		add(unsignedKey(v), fmt.Sprint(v))
	}
	return keys, texts
}

// testKeyOrder writes keys in random order and expects them back in typed
// order, which must be the byte order of their encodings.
func testKeyOrder(t *testing.T, st store.Store) {
	createApp(t, st, "app")
	keys, texts := typedKeys()
	if !slices.IsSortedFunc(keys, bytes.Compare) {
		t.Fatal("suite bug: typed keys are not in byte order")
	}
	for _, i := range rand.Perm(len(keys)) {
		put(t, st, rk("app", "T", keys[i]), texts[i], []byte("value "+texts[i]))
	}
	got := rangeAll(t, st, "app", "T", []byte{0x00}, bytes.Repeat([]byte{0xff}, 16))
	if !equalKeys(keysOf(got), keys) {
		t.Fatalf("full range returned keys\n%q\nwant\n%q", keysOf(got), keys)
	}
	for i, rec := range got {
		if want := "value " + texts[i]; string(rec.Value) != want {
			t.Fatalf("record %q has value %q, want %q", rec.Key, rec.Value, want)
		}
	}
	// Each kind on its own, as the server asks: [tag, tag+1).
	for _, tag := range []byte{'b', 'i', 's', 'u'} {
		var want [][]byte
		for _, k := range keys {
			if k[0] == tag {
				want = append(want, k)
			}
		}
		got := rangeAll(t, st, "app", "T", []byte{tag}, []byte{tag + 1})
		if !equalKeys(keysOf(got), want) {
			t.Fatalf("range of tag %q returned %q, want %q", tag, keysOf(got), want)
		}
	}
	// Integers order numerically ("9" < "10"), negatives first.
	got = rangeAll(t, st, "app", "T", signedKey(-1), signedKey(11))
	var texts2 []string
	for _, rec := range got {
		texts2 = append(texts2, string(rec.Value[len("value "):]))
	}
	if want := []string{"-1", "0", "1", "9", "10"}; !slices.Equal(texts2, want) {
		t.Fatalf("signed range [-1, 11) returned %q, want %q", texts2, want)
	}
}

// testRangeBounds checks begin included, end excluded, and empty ranges.
func testRangeBounds(t *testing.T, st store.Store) {
	createApp(t, st, "app")
	for _, s := range []string{"a", "a\x00", "a\x00\x00", "a\x01", "a\xff", "b", "b\x00", "c"} {
		put(t, st, rk("app", "T", stringKey(s)), s, []byte(s))
	}
	cases := []struct {
		begin, end string
		want       []string
	}{
		{"a", "b", []string{"a", "a\x00", "a\x00\x00", "a\x01", "a\xff"}},
		{"a\x00", "a\x01", []string{"a\x00", "a\x00\x00"}},
		{"a\x00\x00", "a\xff", []string{"a\x00\x00", "a\x01"}},
		{"a\xff", "b\x00", []string{"a\xff", "b"}},
		{"a\x00\x01", "a\x01\x00", []string{"a\x01"}}, // bounds that are not keys
		{"b", "b", nil},     // begin == end: empty
		{"c", "a", nil},     // begin > end: empty
		{"c\x00", "z", nil}, // past the last key
		{"", "a", nil},      // before the first key
		{"", "\xff", []string{"a", "a\x00", "a\x00\x00", "a\x01", "a\xff", "b", "b\x00", "c"}},
	}
	for _, c := range cases {
		got := rangeAll(t, st, "app", "T", stringKey(c.begin), stringKey(c.end))
		var want [][]byte
		for _, s := range c.want {
			want = append(want, stringKey(s))
		}
		if !equalKeys(keysOf(got), want) {
			t.Errorf("range [%q, %q) returned %q, want %q", c.begin, c.end, keysOf(got), want)
		}
	}
}

// testRangePaging checks skip, limit and more, page by page.
func testRangePaging(t *testing.T, st store.Store) {
	createApp(t, st, "app")
	const n = 23
	var want [][]byte
	for i := range n {
		k := signedKey(int64(i * 7))
		want = append(want, k)
		put(t, st, rk("app", "T", k), fmt.Sprint(i*7), []byte{byte(i)})
	}
	begin, end := signedKey(math.MinInt64), signedKey(math.MaxInt64)
	for _, size := range []int{1, 5, 10, 23, 24, 100} {
		var got [][]byte
		for page := 0; ; page++ {
			recs, more, err := st.Range(ctxFor(t), "app", "T", begin, end, page*size, size)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) > size {
				t.Fatalf("page %d of size %d returned %d records", page, size, len(recs))
			}
			got = append(got, keysOf(recs)...)
			wantMore := (page+1)*size < n
			if more != wantMore {
				t.Fatalf("page %d of size %d: more = %v, want %v", page, size, more, wantMore)
			}
			if !more {
				break
			}
			if len(recs) != size {
				t.Fatalf("page %d of size %d has %d records but more is set", page, size, len(recs))
			}
		}
		if !equalKeys(got, want) {
			t.Fatalf("pages of %d returned %q, want %q", size, got, want)
		}
	}
	// Skip past the end, and the exact end.
	for _, skip := range []int{n, n + 1, 1000} {
		recs, more, err := st.Range(ctxFor(t), "app", "T", begin, end, skip, 10)
		if err != nil || len(recs) != 0 || more {
			t.Fatalf("skip %d: %d records, more %v, %v; want none", skip, len(recs), more, err)
		}
	}
	// Skip and limit inside a narrower range: [14, 70) holds 14..63, 8 keys.
	recs, more, err := st.Range(ctxFor(t), "app", "T", signedKey(14), signedKey(70), 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if !equalKeys(keysOf(recs), want[5:9]) || !more {
		t.Fatalf("[14,70) skip 3 limit 4 returned %q more %v; want %q more true", keysOf(recs), more, want[5:9])
	}
	recs, more, err = st.Range(ctxFor(t), "app", "T", signedKey(14), signedKey(70), 4, 4)
	if err != nil || !equalKeys(keysOf(recs), want[6:10]) || more {
		t.Fatalf("[14,70) skip 4 limit 4 returned %q more %v %v; want %q more false", keysOf(recs), more, err, want[6:10])
	}
	// A zero limit returns nothing, but still says whether records exist.
	recs, more, err = st.Range(ctxFor(t), "app", "T", begin, end, 0, 0)
	if err != nil || len(recs) != 0 || !more {
		t.Fatalf("limit 0: %d records, more %v, %v; want none and more", len(recs), more, err)
	}
	// Records carry their values and versions.
	recs, _, err = st.Range(ctxFor(t), "app", "T", signedKey(0), signedKey(1), 0, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("range [0,1): %d records, %v", len(recs), err)
	}
	wantValue(t, st, rk("app", "T", signedKey(0)), recs[0].Value, recs[0].Version)
}

// testRangeSize checks, for a store that sizes ranges, that the sizes are
// those of what Range returns, for pages within, across and past the
// records, and for a type or app with none.
func testRangeSize(t *testing.T, st store.Store) {
	sizer, ok := st.(store.RangeSizer)
	if !ok {
		t.Skip("the store does not implement store.RangeSizer")
	}
	createApp(t, st, "app")
	for i := range 12 {
		put(t, st, rk("app", "T", signedKey(int64(i))), fmt.Sprint(i), bytes.Repeat([]byte{byte(i)}, i*100))
	}
	put(t, st, rk("app", "Other", signedKey(1)), "1", make([]byte, 5000))
	begin, end := signedKey(math.MinInt64), signedKey(math.MaxInt64)
	for _, c := range []struct {
		schema     string
		begin, end []byte
		skip, n    int
	}{
		{"T", begin, end, 0, 100},
		{"T", begin, end, 0, 5},
		{"T", begin, end, 5, 5},
		{"T", begin, end, 10, 5},
		{"T", begin, end, 12, 5},
		{"T", signedKey(3), signedKey(7), 1, 10},
		{"T", signedKey(3), signedKey(7), 0, 0},
		{"None", begin, end, 0, 10},
	} {
		recs, _, err := st.Range(ctxFor(t), "app", c.schema, c.begin, c.end, c.skip, c.n)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, r := range recs {
			want += int64(len(r.Value))
		}
		n, size, err := sizer.RangeSize(ctxFor(t), "app", c.schema, c.begin, c.end, c.skip, c.n)
		if err != nil || n != len(recs) || size != want {
			t.Fatalf("RangeSize(%s skip %d limit %d) = %d records, %d bytes, %v; Range has %d, %d bytes", c.schema, c.skip, c.n, n, size, err, len(recs), want)
		}
	}
}

// testRangeScope checks that a range never crosses into another type or
// app, even one whose name extends this one's.
func testRangeScope(t *testing.T, st store.Store) {
	createApp(t, st, "app", "app2", "ap")
	for _, app := range []string{"app", "app2", "ap"} {
		for _, schema := range []string{"T", "T2", "U", "t"} {
			for _, s := range []string{"k1", "k2"} {
				put(t, st, rk(app, schema, stringKey(s)), s, []byte(app+"/"+schema+"/"+s))
			}
		}
	}
	got := rangeAll(t, st, "app", "T", stringKey(""), stringKey("\xff"))
	if len(got) != 2 {
		t.Fatalf("app/T holds %d records, want 2", len(got))
	}
	for _, rec := range got {
		if want := "app/T/" + string(rec.Key[1:]); string(rec.Value) != want {
			t.Fatalf("app/T range returned %q", rec.Value)
		}
	}
	if got := rangeAll(t, st, "app", "V", stringKey(""), stringKey("\xff")); len(got) != 0 {
		t.Fatalf("a type never written holds %d records", len(got))
	}
	if got := rangeAll(t, st, "nosuchapp", "T", stringKey(""), stringKey("\xff")); len(got) != 0 {
		t.Fatalf("an unknown app holds %d records", len(got))
	}
}

// testGet checks Get and ErrNotFound.
func testGet(t *testing.T, st store.Store) {
	createApp(t, st, "app")
	key := rk("app", "T", stringKey("k"))
	wantAbsent(t, st, key)
	wantAbsent(t, st, rk("app", "Never", stringKey("k")))
	wantAbsent(t, st, rk("nosuchapp", "T", stringKey("k")))
	seq := put(t, st, key, "k", []byte("v1"))
	wantValue(t, st, key, []byte("v1"), seq)
	wantAbsent(t, st, rk("app", "T", stringKey("k\x00")))
	wantAbsent(t, st, rk("app", "T", stringKey("")))
	wantAbsent(t, st, rk("app", "t", stringKey("k")))

	// An all-defaults proto3 record is empty; it is still a record.
	empty := rk("app", "T", signedKey(0))
	seq = put(t, st, empty, "0", nil)
	rec := mustGet(t, st, empty)
	if len(rec.Value) != 0 || rec.Version != seq {
		t.Fatalf("empty record read back as %q version %d", rec.Value, rec.Version)
	}
	del(t, st, empty, "0")
	wantAbsent(t, st, empty)

	// The returned record is the caller's: changing it changes nothing.
	rec = mustGet(t, st, key)
	rec.Value[0] = 'X'
	wantValue(t, st, key, []byte("v1"), rec.Version)
}

// testLargeKeysAndValues uses the server's limits: keys of 1 KiB of text
// (plus the tag) and records of 64 KiB.
func testLargeKeysAndValues(t *testing.T, st store.Store) {
	createApp(t, st, "app")
	long := bytes.Repeat([]byte{0xff, 0x00, 'x', 0x80}, 256)
	key := rk("app", "T", stringKey(string(long)))
	value := make([]byte, 65535)
	for i := range value {
		value[i] = byte(i * 7)
	}
	seq := put(t, st, key, string(long), value)
	wantValue(t, st, key, value, seq)
	big := rk("app", "T", stringKey("big"))
	value = bytes.Repeat([]byte{0, 1, 0xff}, 100000)
	seq = put(t, st, big, "big", value)
	wantValue(t, st, big, value, seq)
	got := rangeAll(t, st, "app", "T", stringKey(""), stringKey("\xff\xff"))
	if len(got) != 2 || !bytes.Equal(got[0].Key, big.Key) || !bytes.Equal(got[1].Key, key.Key) {
		t.Fatalf("range over large keys returned %d records", len(got))
	}
}
