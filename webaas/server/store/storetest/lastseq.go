package storetest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// testLastSeq checks LastSeq against the commits around it: it is never
// behind a commit that returned before it was called, never ahead of the
// numbers handed out, never goes back, and a commit made after it gets a
// greater number. The server relies on that to keep a socket from hearing
// of a change committed before the socket opened.
func testLastSeq(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	lastSeq := func() uint64 {
		t.Helper()
		seq, err := st.LastSeq(ctx)
		if err != nil {
			t.Fatalf("LastSeq: %v", err)
		}
		return seq
	}
	if seq := lastSeq(); seq != 0 {
		t.Fatalf("LastSeq of a new store is %d, want 0", seq)
	}
	createApp(t, st, "a")
	k := rk("a", "T", stringKey("k"))
	first := put(t, st, k, "k", []byte("1"))
	if seq := lastSeq(); seq != first {
		t.Fatalf("LastSeq after commit %d is %d", first, seq)
	}
	// A refused commit takes no number.
	_, err := st.Commit(ctx, store.Batch{Reads: []store.Read{{Key: k, Version: 0}}, Writes: []store.Write{write(k, "k", "2")}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale commit: %v, want ErrConflict", err)
	}
	if seq := lastSeq(); seq != first {
		t.Fatalf("LastSeq after a refused commit is %d, want %d", seq, first)
	}
	// Other writes may take numbers too; commits after them still come later.
	if err := st.ActivateSchema(ctx, "a", "v1", store.AnyRev); err != nil {
		t.Fatal(err)
	}
	before := lastSeq()
	if before < first {
		t.Fatalf("LastSeq went back from %d to %d", first, before)
	}
	if seq := put(t, st, k, "k", []byte("3")); seq <= before {
		t.Fatalf("commit after LastSeq %d got seq %d", before, seq)
	} else if got := lastSeq(); got != seq {
		t.Fatalf("LastSeq after commit %d is %d", seq, got)
	}

	// Racing commits: each LastSeq covers every commit that had returned
	// when it was called.
	var returned atomic.Uint64 // the highest seq a Commit call has returned
	var wg sync.WaitGroup
	const workers, each = 4, 10
	for w := range workers {
		wg.Go(func() {
			key := rk("a", "T", unsignedKey(uint64(w)))
			for range each {
				seq, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(key, "w", "v")}})
				if err != nil {
					t.Error(err)
					return
				}
				for cur := returned.Load(); seq > cur && !returned.CompareAndSwap(cur, seq); cur = returned.Load() {
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	prev := uint64(0)
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		covered := returned.Load()
		seq, err := st.LastSeq(ctx)
		if err != nil {
			t.Fatalf("LastSeq: %v", err)
		}
		if seq < covered || seq < prev {
			t.Fatalf("LastSeq is %d after commit %d had returned and LastSeq had said %d", seq, covered, prev)
		}
		prev = seq
	}
	if seq := lastSeq(); seq != returned.Load() {
		t.Fatalf("LastSeq is %d once every commit returned; the last was %d", seq, returned.Load())
	}
}
