package storetest

// Transactions under concurrent calls.

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

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
