package storetest

// Helpers of the transaction suite.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// errBoom is what the suite's failing fns return.
var errBoom = errors.New("storetest: fn failed on purpose")

// later is an expiry no subtest reaches.
func later() time.Time { return time.Now().Add(time.Hour) }

func beginTxn(t *testing.T, ts store.TxnStore, id string, expires time.Time) {
	t.Helper()
	if err := ts.BeginTxn(ctxFor(t), id, expires); err != nil {
		t.Fatalf("BeginTxn(%q): %v", id, err)
	}
}

// updateTxn runs fn on transaction id, which must succeed.
func updateTxn(t *testing.T, ts store.TxnStore, id string, fn func(*store.TxnState) error) {
	t.Helper()
	if err := ts.UpdateTxn(ctxFor(t), id, later(), fn); err != nil {
		t.Fatalf("UpdateTxn(%q): %v", id, err)
	}
}

// appendState is an fn that adds the reads and writes of add.
func appendState(add store.TxnState) func(*store.TxnState) error {
	return func(st *store.TxnState) error {
		st.Reads = append(st.Reads, add.Reads...)
		st.Writes = append(st.Writes, add.Writes...)
		return nil
	}
}

// peekTxn returns a deep copy of transaction id's state, leaving it be.
func peekTxn(t *testing.T, ts store.TxnStore, id string) store.TxnState {
	t.Helper()
	var got store.TxnState
	updateTxn(t, ts, id, func(st *store.TxnState) error {
		got = cloneState(*st)
		return nil
	})
	return got
}

func endTxn(t *testing.T, ts store.TxnStore, id string) store.TxnState {
	t.Helper()
	st, err := ts.EndTxn(ctxFor(t), id)
	if err != nil {
		t.Fatalf("EndTxn(%q): %v", id, err)
	}
	return st
}

// wantTxnGone checks that transaction id is unknown to UpdateTxn (without
// calling fn) and to EndTxn.
func wantTxnGone(t *testing.T, ts store.TxnStore, id, why string) {
	t.Helper()
	called := false
	err := ts.UpdateTxn(ctxFor(t), id, later(), func(*store.TxnState) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrNotFound) || called {
		t.Fatalf("UpdateTxn(%q) %s: %v (fn called: %v); want ErrNotFound without calling fn", id, why, err, called)
	}
	if st, err := ts.EndTxn(ctxFor(t), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EndTxn(%q) %s: %d reads, %d writes, %v; want ErrNotFound", id, why, len(st.Reads), len(st.Writes), err)
	}
}

// wantState fails unless got is want, field by field and in order.
func wantState(t *testing.T, what string, got, want store.TxnState) {
	t.Helper()
	if diff := stateDiff(got, want); diff != "" {
		t.Fatalf("%s: %s", what, diff)
	}
}

// stateDiff describes the first difference between got and want, or
// returns "". Nil and empty byte slices count as equal: the store package
// gives them no different meanings.
func stateDiff(got, want store.TxnState) string {
	if len(got.Reads) != len(want.Reads) || len(got.Writes) != len(want.Writes) {
		return fmt.Sprintf("%d reads and %d writes, want %d and %d\ngot:\n%swant:\n%s",
			len(got.Reads), len(got.Writes), len(want.Reads), len(want.Writes), describeState(got), describeState(want))
	}
	for i, w := range want.Reads {
		if g := got.Reads[i]; !sameRecordKey(g.Key, w.Key) || g.Version != w.Version {
			return fmt.Sprintf("read %d is %s, want %s", i, describeRead(g), describeRead(w))
		}
	}
	for i, w := range want.Writes {
		if g := got.Writes[i]; !sameRecordKey(g.Key, w.Key) || g.TextKey != w.TextKey || g.Delete != w.Delete || !bytes.Equal(g.Value, w.Value) {
			return fmt.Sprintf("write %d is %s, want %s", i, describeWrite(g), describeWrite(w))
		}
	}
	return ""
}

func sameRecordKey(a, b store.RecordKey) bool {
	return a.App == b.App && a.Schema == b.Schema && bytes.Equal(a.Key, b.Key)
}

func describeRead(r store.Read) string {
	return fmt.Sprintf("%q/%q/%q@%d", r.Key.App, r.Key.Schema, clip(r.Key.Key), r.Version)
}

func describeWrite(w store.Write) string {
	return fmt.Sprintf("%q/%q/%q text=%q delete=%v value=%d bytes %q", w.Key.App, w.Key.Schema, clip(w.Key.Key), w.TextKey, w.Delete, len(w.Value), clip(w.Value))
}

func describeState(st store.TxnState) string {
	var b strings.Builder
	for _, r := range st.Reads {
		fmt.Fprintf(&b, "  read %s\n", describeRead(r))
	}
	for _, w := range st.Writes {
		fmt.Fprintf(&b, "  write %s\n", describeWrite(w))
	}
	return b.String()
}

// cloneState copies st down to the bytes, so that what the suite keeps
// cannot change behind its back.
func cloneState(st store.TxnState) store.TxnState {
	cloneKey := func(k store.RecordKey) store.RecordKey {
		return store.RecordKey{App: k.App, Schema: k.Schema, Key: bytes.Clone(k.Key)}
	}
	var out store.TxnState
	for _, r := range st.Reads {
		out.Reads = append(out.Reads, store.Read{Key: cloneKey(r.Key), Version: r.Version})
	}
	for _, w := range st.Writes {
		out.Writes = append(out.Writes, store.Write{Key: cloneKey(w.Key), TextKey: w.TextKey, Value: bytes.Clone(w.Value), Delete: w.Delete})
	}
	return out
}

// sampleState has the reads and writes that trip up an encoding: every
// byte value in keys, text keys and names, empty keys and values, a 64 KiB
// value, extreme versions, deletes (one carrying a value), several apps
// and a key written twice.
func sampleState() store.TxnState {
	every := make([]byte, 256)
	for i := range every {
		every[i] = byte(i)
	}
	big := make([]byte, 64<<10)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	msg := rk("app", "chat.Message", unsignedKey(7))
	return store.TxnState{
		Reads: []store.Read{
			{Key: rk("app", "chat.Room", stringKey("room\x00one")), Version: 1},
			{Key: rk("app", "chat.Message", signedKey(-1)), Version: 0},
			{Key: rk("äpp ☃", "pkg.v2.T", every), Version: ^uint64(0)},
			{Key: rk("", "", nil), Version: 1 << 63},
			{Key: rk("other", "chat.Room", []byte{0xff, 0x00, 0xff}), Version: 1<<32 + 1},
		},
		Writes: []store.Write{
			{Key: msg, TextKey: "7", Value: []byte("hello")},
			{Key: rk("app", "chat.Room", stringKey("room\x00one")), TextKey: "room\x00one", Value: []byte{}},
			{Key: rk("other", "chat.Blob", boolKey(true)), TextKey: "true", Value: big},
			{Key: rk("app", "chat.Message", unsignedKey(8)), TextKey: "8", Delete: true},
			{Key: rk("äpp ☃", "pkg.v2.T", every), TextKey: string(every), Value: every, Delete: true},
			{Key: msg, TextKey: "7", Value: []byte("hello again")},
		},
	}
}

// pollUntilGone calls UpdateTxn(id, expires, fn) until it returns
// ErrNotFound, failing the test at waitLimit. fn must leave the expiry
// where it is: succeed with the transaction's own expiry, or fail.
func pollUntilGone(t *testing.T, ts store.TxnStore, id string, expires time.Time, fn func(*store.TxnState) error) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		err := ts.UpdateTxn(ctxFor(t), id, expires, fn)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return
		case err != nil && !errors.Is(err, errBoom):
			t.Fatalf("UpdateTxn(%q) while waiting for it to expire: %v", id, err)
		case time.Now().After(deadline):
			t.Fatalf("transaction %q, which expires at %v, is still there at %v", id, expires.Format(time.StampMilli), time.Now().Format(time.StampMilli))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sizeOf(st store.TxnState) int64 {
	var n int64
	for _, r := range st.Reads {
		n += store.ReadSize(r)
	}
	for _, w := range st.Writes {
		n += store.WriteSize(w)
	}
	return n
}
