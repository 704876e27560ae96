package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// TxnOpenFunc returns a new, empty TxnStore owned by t, closed (if it
// needs closing) when t ends.
type TxnOpenFunc func(t *testing.T) store.TxnStore

// RunTxns checks every promise of store.TxnStore against stores from open:
// state kept exactly, unknown, ended and expired ids refused, expiry
// refreshed by use, nothing saved by a failing fn, calls on one id taking
// turns and calls on different ids not, exactly one EndTxn winning, keys
// found through the state's index across calls, and each owner's limit.
// Each subtest gets its own store.
//
// Expiry is checked with short expiries and polling up to a generous
// deadline, never by asserting how soon something happens, so a slow
// machine only makes the suite slower. It does assume that the store's
// clock agrees with the test's to well within a second.
func RunTxns(t *testing.T, open TxnOpenFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ts store.TxnStore)
	}{
		{"RoundTrip", testTxnRoundTrip},
		{"Empty", testTxnEmpty},
		{"UnknownID", testTxnUnknownID},
		{"BeginTaken", testTxnBeginTaken},
		{"Ended", testTxnEnded},
		{"Expired", testTxnExpired},
		{"ExpiresWhileIdle", testTxnExpiresWhileIdle},
		{"UpdateRefreshesExpiry", testTxnUpdateRefreshesExpiry},
		{"FailingFn", testTxnFailingFn},
		{"FailingFnKeepsExpiry", testTxnFailingFnKeepsExpiry},
		{"Lookups", testTxnLookups},
		{"OwnerLimit", testTxnOwnerLimit},
		{"ConcurrentUpdates", testTxnConcurrentUpdates},
		{"IndependentIDs", testTxnIndependentIDs},
		{"EndWaitsForUpdate", testTxnEndWaitsForUpdate},
		{"ConcurrentEnds", testTxnConcurrentEnds},
		{"UpdatesRacingEnd", testTxnUpdatesRacingEnd},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

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

// testTxnRoundTrip builds a state over several calls and gets it back
// exactly from each later call and from EndTxn.
func testTxnRoundTrip(t *testing.T, ts store.TxnStore) {
	want := sampleState()
	beginTxn(t, ts, "t1", later())
	updateTxn(t, ts, "t1", func(st *store.TxnState) error {
		if len(st.Reads) != 0 || len(st.Writes) != 0 {
			return fmt.Errorf("a new transaction has %d reads and %d writes", len(st.Reads), len(st.Writes))
		}
		st.Reads = append(st.Reads, want.Reads[:2]...)
		st.Writes = append(st.Writes, want.Writes[:3]...)
		return nil
	})
	var seen store.TxnState
	updateTxn(t, ts, "t1", func(st *store.TxnState) error {
		seen = cloneState(*st)
		st.Reads = append(st.Reads, want.Reads[2:]...)
		st.Writes = append(st.Writes, want.Writes[3:]...)
		return nil
	})
	wantState(t, "the second call saw", seen, store.TxnState{Reads: want.Reads[:2], Writes: want.Writes[:3]})
	wantState(t, "the third call saw", peekTxn(t, ts, "t1"), want)
	wantState(t, "EndTxn returned", endTxn(t, ts, "t1"), want)
}

// testTxnEmpty ends a transaction that was never used.
func testTxnEmpty(t *testing.T, ts store.TxnStore) {
	beginTxn(t, ts, "t1", later())
	wantState(t, "EndTxn of an unused transaction returned", endTxn(t, ts, "t1"), store.TxnState{})
}

// testTxnUnknownID asks for ids never begun, with another one open.
func testTxnUnknownID(t *testing.T, ts store.TxnStore) {
	beginTxn(t, ts, "open", later())
	// Ids come from clients: any string must get the same answer.
	for _, id := range []string{"never", "OPEN", "open ", "", "open\x00", "open\xff", strings.Repeat("x", 10000)} {
		wantTxnGone(t, ts, id, "of an id never begun")
	}
	updateTxn(t, ts, "open", func(*store.TxnState) error { return nil })
}

// testTxnBeginTaken begins an id that is open: refused, and the open
// transaction keeps its state.
func testTxnBeginTaken(t *testing.T, ts store.TxnStore) {
	add := store.TxnState{Reads: []store.Read{{Key: rk("app", "T", stringKey("k")), Version: 3}}}
	beginTxn(t, ts, "t1", later())
	updateTxn(t, ts, "t1", appendState(add))
	if err := ts.BeginTxn(ctxFor(t), "t1", later()); !errors.Is(err, store.ErrExists) {
		t.Fatalf("BeginTxn of an open id: %v, want ErrExists", err)
	}
	wantState(t, "after a second BeginTxn, the transaction", endTxn(t, ts, "t1"), add)
}

// testTxnEnded uses an id after EndTxn: gone, and a new transaction with
// the same id starts empty.
func testTxnEnded(t *testing.T, ts store.TxnStore) {
	add := store.TxnState{Writes: []store.Write{write(rk("app", "T", stringKey("k")), "k", "v")}}
	beginTxn(t, ts, "t1", later())
	updateTxn(t, ts, "t1", appendState(add))
	wantState(t, "EndTxn returned", endTxn(t, ts, "t1"), add)
	wantTxnGone(t, ts, "t1", "after EndTxn")

	beginTxn(t, ts, "t1", later())
	wantState(t, "a transaction begun again with an ended id", peekTxn(t, ts, "t1"), store.TxnState{})
}

// testTxnExpired uses transactions whose expiry has passed, however it
// got there: they are gone, and their id may be begun again.
func testTxnExpired(t *testing.T, ts store.TxnStore) {
	past := time.Now().Add(-time.Minute)
	beginTxn(t, ts, "begun-expired", past)
	wantTxnGone(t, ts, "begun-expired", "begun with an expiry in the past")

	// EndTxn on its own, in case UpdateTxn's refusal removed it.
	beginTxn(t, ts, "end-expired", past)
	if _, err := ts.EndTxn(ctxFor(t), "end-expired"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EndTxn of an expired transaction: %v, want ErrNotFound", err)
	}

	// UpdateTxn saves the expiry it is given, even an earlier one.
	add := store.TxnState{Reads: []store.Read{{Key: rk("app", "T", stringKey("k")), Version: 1}}}
	beginTxn(t, ts, "updated-expired", later())
	if err := ts.UpdateTxn(ctxFor(t), "updated-expired", past, appendState(add)); err != nil {
		t.Fatalf("UpdateTxn with an expiry in the past: %v", err)
	}
	wantTxnGone(t, ts, "updated-expired", "after an update set its expiry in the past")

	beginTxn(t, ts, "begun-expired", later())
	wantState(t, "a transaction begun again with an expired id", endTxn(t, ts, "begun-expired"), store.TxnState{})
	beginTxn(t, ts, "updated-expired", later())
	wantState(t, "a transaction begun again with an expired id", endTxn(t, ts, "updated-expired"), store.TxnState{})
}

// testTxnExpiresWhileIdle lets a transaction expire with time, while one
// begun with it that expires later stays.
func testTxnExpiresWhileIdle(t *testing.T, ts store.TxnStore) {
	soon := time.Now().Add(100 * time.Millisecond)
	beginTxn(t, ts, "short", soon)
	beginTxn(t, ts, "long", later())
	// Polling with the same expiry does not extend it.
	pollUntilGone(t, ts, "short", soon, func(*store.TxnState) error { return nil })
	wantTxnGone(t, ts, "short", "after it expired")
	updateTxn(t, ts, "long", func(*store.TxnState) error { return nil })
	endTxn(t, ts, "long")
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

// testTxnUpdateRefreshesExpiry begins a transaction with a short expiry,
// extends it with an update and uses it after the first expiry passed. On
// a machine too slow to update before the short expiry, it retries with
// longer ones.
func testTxnUpdateRefreshesExpiry(t *testing.T, ts store.TxnStore) {
	for d := 200 * time.Millisecond; ; d *= 2 {
		if d > waitLimit {
			t.Fatalf("could not update a transaction before its expiry, even %v away", d/2)
		}
		id := fmt.Sprint("refresh-", d)
		short := time.Now().Add(d)
		beginTxn(t, ts, id, short)
		err := ts.UpdateTxn(ctxFor(t), id, later(), func(*store.TxnState) error { return nil })
		if errors.Is(err, store.ErrNotFound) && time.Now().After(short) {
			continue // too slow: try a longer expiry
		}
		if err != nil {
			t.Fatalf("UpdateTxn before the expiry: %v", err)
		}
		time.Sleep(time.Until(short) + d) // well past the first expiry
		updateTxn(t, ts, id, func(*store.TxnState) error { return nil })
		endTxn(t, ts, id)
		return
	}
}

// testTxnFailingFn has fn fail, leaving the state as it found it (as
// TxnStore asks of fn): nothing is saved, and fn's error comes back.
func testTxnFailingFn(t *testing.T, ts store.TxnStore) {
	want := sampleState()
	beginTxn(t, ts, "t1", later())
	updateTxn(t, ts, "t1", appendState(cloneState(want)))
	err := ts.UpdateTxn(ctxFor(t), "t1", later(), func(st *store.TxnState) error {
		if _, ok := st.FindWrite(want.Writes[2].Key); !ok {
			return errors.New("the failing fn did not find a write of the state")
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("UpdateTxn with a failing fn: %v, want fn's error", err)
	}
	wantState(t, "after a failing fn, the next call saw", peekTxn(t, ts, "t1"), want)
	// A fn that fails on a new transaction saves nothing either.
	beginTxn(t, ts, "t2", later())
	err = ts.UpdateTxn(ctxFor(t), "t2", later(), func(st *store.TxnState) error { return errBoom })
	if !errors.Is(err, errBoom) {
		t.Fatalf("UpdateTxn with a failing fn: %v, want fn's error", err)
	}
	wantState(t, "after a failing fn, EndTxn returned", endTxn(t, ts, "t2"), store.TxnState{})
	wantState(t, "after a failing fn, EndTxn returned", endTxn(t, ts, "t1"), want)
}

// testTxnLookups adds reads and writes through the TxnState methods and by
// appending, over several calls: later calls find each by key, and the
// state's size is the sum of its entries'.
func testTxnLookups(t *testing.T, ts store.TxnStore) {
	k := func(app string, i uint64) store.RecordKey { return rk(app, "chat.Message", unsignedKey(i)) }
	beginTxn(t, ts, "t1", later())
	updateTxn(t, ts, "t1", func(st *store.TxnState) error {
		st.AddRead(store.Read{Key: k("app", 1), Version: 5})
		st.AddWrite(write(k("app", 2), "2", "two"))
		st.AddWrite(write(k("app", 3), "3", "three"))
		return nil
	})
	bigger := write(k("app", 2), "2", strings.Repeat("two", 100))
	updateTxn(t, ts, "t1", func(st *store.TxnState) error {
		for _, c := range []struct {
			what  string
			found func(store.RecordKey) (int, bool)
			key   store.RecordKey
			at    int
			ok    bool
		}{
			{"read 1", st.FindRead, k("app", 1), 0, true},
			{"read 2 (a write)", st.FindRead, k("app", 2), 0, false},
			{"read 1 of another app", st.FindRead, k("other", 1), 0, false},
			{"write 2", st.FindWrite, k("app", 2), 0, true},
			{"write 3", st.FindWrite, k("app", 3), 1, true},
			{"write 1 (a read)", st.FindWrite, k("app", 1), 0, false},
		} {
			if at, ok := c.found(c.key); ok != c.ok || ok && at != c.at {
				return fmt.Errorf("%s: at %d, found %v; want %d, %v", c.what, at, ok, c.at, c.ok)
			}
		}
		if got, want := st.Bytes(), sizeOf(*st); got != want {
			return fmt.Errorf("Bytes() = %d, the entries take %d", got, want)
		}
		st.SetWrite(0, bigger)
		st.Writes = append(st.Writes, write(k("app", 4), "4", "four"))
		return nil
	})
	updateTxn(t, ts, "t1", func(st *store.TxnState) error {
		if at, ok := st.FindWrite(k("app", 4)); !ok || at != 2 {
			return fmt.Errorf("a write appended directly: at %d, found %v; want 2", at, ok)
		}
		if got, want := st.Bytes(), sizeOf(*st); got != want {
			return fmt.Errorf("Bytes() = %d after SetWrite and an append, the entries take %d", got, want)
		}
		return nil
	})
	wantState(t, "EndTxn returned", endTxn(t, ts, "t1"), store.TxnState{
		Reads:  []store.Read{{Key: k("app", 1), Version: 5}},
		Writes: []store.Write{bigger, write(k("app", 3), "3", "three"), write(k("app", 4), "4", "four")},
	})
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

// testTxnOwnerLimit begins transactions for owners with a limit: one over
// it is refused, other owners are not, and a place comes back when one of
// the owner's transactions ends or expires. Concurrent begins of one
// owner get exactly its limit.
func testTxnOwnerLimit(t *testing.T, ts store.TxnStore) {
	alice := store.TxnOwner{ID: "192.0.2.1", Limit: 3}
	beginFor := func(id string, o store.TxnOwner) error {
		return ts.BeginTxnFor(ctxFor(t), id, o, later())
	}
	for i := range 3 {
		if err := beginFor(fmt.Sprint("a", i), alice); err != nil {
			t.Fatalf("BeginTxnFor %d of 3: %v", i, err)
		}
	}
	if err := beginFor("a-over", alice); !errors.Is(err, store.ErrTooManyOwnerTxns) {
		t.Fatalf("BeginTxnFor over the owner's limit: %v, want ErrTooManyOwnerTxns", err)
	}
	wantTxnGone(t, ts, "a-over", "after its BeginTxnFor was refused")
	if err := beginFor("b0", store.TxnOwner{ID: "192.0.2.2", Limit: 3}); err != nil {
		t.Fatalf("BeginTxnFor of another owner: %v", err)
	}
	if err := ts.BeginTxn(ctxFor(t), "nobody", later()); err != nil {
		t.Fatalf("BeginTxn while an owner is at its limit: %v", err)
	}
	endTxn(t, ts, "a0")
	if err := beginFor("a3", alice); err != nil {
		t.Fatalf("BeginTxnFor after one of the owner's ended: %v", err)
	}
	if err := ts.UpdateTxn(ctxFor(t), "a1", time.Now().Add(-time.Second), func(*store.TxnState) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := beginFor("a4", alice); err != nil {
		t.Fatalf("BeginTxnFor after one of the owner's expired: %v", err)
	}
	if err := beginFor("a-over", alice); !errors.Is(err, store.ErrTooManyOwnerTxns) {
		t.Fatalf("BeginTxnFor over the owner's limit: %v, want ErrTooManyOwnerTxns", err)
	}

	// Rounds of racers, each round a new owner: a store that counts
	// without making one owner's begins take turns lets two take the last
	// place in some round.
	const rounds, racers, limit = 8, 16, 4
	for round := range rounds {
		bob := store.TxnOwner{ID: fmt.Sprint("198.51.100.", round), Limit: limit}
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { errs[i] = beginFor(fmt.Sprint("bob", round, "-", i), bob) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrTooManyOwnerTxns):
				t.Fatalf("concurrent BeginTxnFor: %v", err)
			}
		}
		if won != limit {
			t.Fatalf("round %d: %d of %d concurrent BeginTxnFor calls of one owner succeeded, want its limit %d", round, won, racers, limit)
		}
	}
}

// testTxnFailingFnKeepsExpiry checks that a failing fn does not save the
// new expiry either: the transaction still expires at its old one.
func testTxnFailingFnKeepsExpiry(t *testing.T, ts store.TxnStore) {
	soon := time.Now().Add(200 * time.Millisecond)
	beginTxn(t, ts, "t1", soon)
	fail := func(*store.TxnState) error { return errBoom }
	// Each poll asks for a far expiry with a failing fn: if that were
	// saved, the transaction would never expire.
	pollUntilGone(t, ts, "t1", later(), fail)
}

// testTxnConcurrentUpdates appends from many goroutines at once to one
// transaction: the fns take turns, and no append is lost.
func testTxnConcurrentUpdates(t *testing.T, ts store.TxnStore) {
	const n = 32
	beginTxn(t, ts, "t1", later())
	var inFn, overlaps atomic.Int32
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = ts.UpdateTxn(ctxFor(t), "t1", later(), func(st *store.TxnState) error {
				if inFn.Add(1) > 1 {
					overlaps.Add(1)
				}
				defer inFn.Add(-1)
				// Read, wait, write: the window a lost update needs.
				reads, writes := st.Reads, st.Writes
				time.Sleep(time.Millisecond)
				st.Reads = append(reads, store.Read{Key: rk("app", "T", unsignedKey(uint64(i))), Version: uint64(i) + 1})
				st.Writes = append(writes, write(rk("app", "T", unsignedKey(uint64(i))), fmt.Sprint(i), fmt.Sprint("value ", i)))
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("UpdateTxn %d: %v", i, err)
		}
	}
	if o := overlaps.Load(); o > 0 {
		t.Errorf("fns of one transaction ran at the same time %d times; they must take turns", o)
	}
	st := endTxn(t, ts, "t1")
	if len(st.Reads) != n || len(st.Writes) != n {
		t.Fatalf("%d concurrent appends left %d reads and %d writes: updates were lost", n, len(st.Reads), len(st.Writes))
	}
	seen := map[uint64]bool{}
	for j, r := range st.Reads {
		i := r.Version - 1
		if seen[i] || i >= n {
			t.Fatalf("read %d is %s: a duplicate or a stranger", j, describeRead(r))
		}
		seen[i] = true
		// Each fn appended a read and a write together.
		w := st.Writes[j]
		if !sameRecordKey(r.Key, w.Key) || string(w.Value) != fmt.Sprint("value ", i) || !bytes.Equal(r.Key.Key, unsignedKey(i)) {
			t.Fatalf("read %d is %s but write %d is %s: one fn's appends were split", j, describeRead(r), j, describeWrite(w))
		}
	}
}

// testTxnIndependentIDs holds one transaction inside fn: calls on other
// ids go on meanwhile.
func testTxnIndependentIDs(t *testing.T, ts store.TxnStore) {
	beginTxn(t, ts, "held", later())
	beginTxn(t, ts, "free", later())
	inFn, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // a failing test must not leave fn blocked
	held := make(chan error, 1)
	go func() {
		held <- ts.UpdateTxn(ctxFor(t), "held", later(), func(*store.TxnState) error {
			close(inFn)
			<-release
			return nil
		})
	}()
	<-inFn

	done := make(chan error, 1)
	go func() {
		add := store.TxnState{Reads: []store.Read{{Key: rk("app", "T", stringKey("k")), Version: 1}}}
		err := ts.UpdateTxn(ctxFor(t), "free", later(), appendState(add))
		if err == nil {
			err = ts.BeginTxn(ctxFor(t), "new", later())
		}
		if err == nil {
			_, err = ts.EndTxn(ctxFor(t), "free")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("calls on other ids while one transaction is held: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("calls on other ids did not return within %v while one transaction was held in fn", waitLimit)
	}
	free()
	if err := <-held; err != nil {
		t.Fatalf("the held UpdateTxn: %v", err)
	}
}

// testTxnEndWaitsForUpdate ends a transaction while an update is inside
// fn: EndTxn waits, and returns the state with that update.
func testTxnEndWaitsForUpdate(t *testing.T, ts store.TxnStore) {
	add := store.TxnState{Writes: []store.Write{write(rk("app", "T", stringKey("k")), "k", "in flight")}}
	beginTxn(t, ts, "t1", later())
	inFn, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	updated := make(chan error, 1)
	go func() {
		updated <- ts.UpdateTxn(ctxFor(t), "t1", later(), func(st *store.TxnState) error {
			close(inFn)
			<-release
			return appendState(add)(st)
		})
	}()
	<-inFn
	type result struct {
		st  store.TxnState
		err error
	}
	ended := make(chan result, 1)
	go func() {
		st, err := ts.EndTxn(ctxFor(t), "t1")
		ended <- result{st, err}
	}()
	// Give an EndTxn that does not wait the time to answer too early; one
	// that waits answers after the release either way.
	time.Sleep(100 * time.Millisecond)
	free()
	if err := <-updated; err != nil {
		t.Fatalf("the UpdateTxn that was first: %v", err)
	}
	r := <-ended
	if r.err != nil {
		t.Fatalf("EndTxn during an update: %v", r.err)
	}
	wantState(t, "EndTxn during an update returned", r.st, add)
}

// testTxnConcurrentEnds ends each transaction from many goroutines at
// once: exactly one gets its state, the others ErrNotFound. In odd rounds
// the enders pile up behind an update holding the transaction, so they
// all find it open before any of them can end it.
func testTxnConcurrentEnds(t *testing.T, ts store.TxnStore) {
	const rounds, enders = 6, 16
	for round := range rounds {
		id := fmt.Sprint("t", round)
		add := store.TxnState{Reads: []store.Read{{Key: rk("app", "T", stringKey(id)), Version: uint64(round) + 1}}}
		beginTxn(t, ts, id, later())
		updateTxn(t, ts, id, appendState(add))
		release := func() {}
		updated := make(chan error, 1)
		if round%2 == 1 {
			inFn, held := make(chan struct{}), make(chan struct{})
			var once sync.Once
			release = func() { once.Do(func() { close(held) }) }
			t.Cleanup(release)
			go func() {
				updated <- ts.UpdateTxn(ctxFor(t), id, later(), func(*store.TxnState) error {
					close(inFn)
					<-held
					return nil
				})
			}()
			<-inFn
		} else {
			updated <- nil
		}
		states := make([]store.TxnState, enders)
		errs := make([]error, enders)
		var wg sync.WaitGroup
		for i := range enders {
			wg.Go(func() { states[i], errs[i] = ts.EndTxn(ctxFor(t), id) })
		}
		time.Sleep(50 * time.Millisecond) // let the enders reach the held transaction
		release()
		wg.Wait()
		if err := <-updated; err != nil {
			t.Fatalf("the update holding the transaction: %v", err)
		}
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				wantState(t, "the EndTxn that won returned", states[i], add)
			case !errors.Is(err, store.ErrNotFound):
				t.Fatalf("EndTxn racing others: %v, want success or ErrNotFound", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent EndTxn calls succeeded, want exactly 1", wins, enders)
		}
	}
}

// testTxnUpdatesRacingEnd runs updates and ends on one transaction at
// once: one EndTxn wins, and its state holds every update that succeeded
// and nothing else; updates after it get ErrNotFound.
func testTxnUpdatesRacingEnd(t *testing.T, ts store.TxnStore) {
	const updaters, enders = 16, 4
	beginTxn(t, ts, "t1", later())
	updErrs := make([]error, updaters)
	endErrs := make([]error, enders)
	endStates := make([]store.TxnState, enders)
	var wg sync.WaitGroup
	for i := range updaters {
		wg.Go(func() {
			add := store.TxnState{Reads: []store.Read{{Key: rk("app", "T", unsignedKey(uint64(i))), Version: uint64(i) + 1}}}
			updErrs[i] = ts.UpdateTxn(ctxFor(t), "t1", later(), appendState(add))
		})
	}
	for i := range enders {
		wg.Go(func() { endStates[i], endErrs[i] = ts.EndTxn(ctxFor(t), "t1") })
	}
	wg.Wait()
	var final store.TxnState
	wins := 0
	for i, err := range endErrs {
		switch {
		case err == nil:
			wins++
			final = endStates[i]
		case !errors.Is(err, store.ErrNotFound):
			t.Fatalf("EndTxn racing updates: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d EndTxn calls racing updates succeeded, want exactly 1", wins, enders)
	}
	in := map[uint64]bool{}
	for _, r := range final.Reads {
		in[r.Version-1] = true
	}
	saved := 0
	for i, err := range updErrs {
		switch {
		case err == nil:
			saved++
			if !in[uint64(i)] {
				t.Errorf("update %d succeeded but is not in the state EndTxn returned", i)
			}
		case errors.Is(err, store.ErrNotFound):
			if in[uint64(i)] {
				t.Errorf("update %d got ErrNotFound but is in the state EndTxn returned", i)
			}
		default:
			t.Fatalf("UpdateTxn racing EndTxn: %v", err)
		}
	}
	if len(final.Reads) != saved {
		t.Errorf("EndTxn returned %d reads; %d updates succeeded", len(final.Reads), saved)
	}
}
