package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
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
