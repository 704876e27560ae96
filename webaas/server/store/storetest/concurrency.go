package storetest

// Commits racing each other.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// commitAll commits the batches concurrently, released together.
func commitAll(t *testing.T, st store.Store, batches ...store.Batch) []error {
	ctx := ctxFor(t)
	errs := make([]error, len(batches))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, b := range batches {
		wg.Go(func() {
			<-start
			_, errs[i] = st.Commit(ctx, b)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// testOneWinnerPerVersion has many goroutines commit a read-modify-write
// of one key, all having read the same version: exactly one wins.
func testOneWinnerPerVersion(t *testing.T, st store.Store) {
	createApp(t, st, "a")
	k := rk("a", "Head", stringKey("room"))
	const contenders = 8
	for round := range 10 {
		v := version(t, st, k)
		batches := make([]store.Batch, contenders)
		for i := range batches {
			batches[i] = store.Batch{Reads: []store.Read{{Key: k, Version: v}}, Writes: []store.Write{write(k, "room", fmt.Sprint(round, "/", i))}}
		}
		winners := 0
		for _, err := range commitAll(t, st, batches...) {
			switch {
			case err == nil:
				winners++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if winners != 1 {
			t.Fatalf("round %d: %d of %d commits that read version %d won, want exactly 1", round, winners, contenders, v)
		}
		if nv := version(t, st, k); nv <= v {
			t.Fatalf("round %d: version went from %d to %d", round, v, nv)
		}
	}
}

// testConcurrentCounter increments one counter from many goroutines with
// retried read-modify-write commits. Every successful commit must have
// read the version the previous one wrote (one winner per version, no
// lost update), and the counter ends at the number of successes.
func testConcurrentCounter(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	k := rk("a", "Counter", stringKey("c"))
	changes := subscribe(t, st)
	const workers, each = 8, 12

	var mu sync.Mutex
	readVersions := map[uint64]int{} // version read -> successful commits that read it
	var seqs []uint64
	conflicts := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for done := 0; done < each; {
				n, v, err := readCounter(ctx, st, k)
				if err != nil {
					t.Error(err)
					return
				}
				seq, err := st.Commit(ctx, store.Batch{
					Reads:  []store.Read{{Key: k, Version: v}},
					Writes: []store.Write{{Key: k, TextKey: "c", Value: binary.BigEndian.AppendUint64(nil, n+1)}},
				})
				mu.Lock()
				switch {
				case err == nil:
					done++
					readVersions[v]++
					seqs = append(seqs, seq)
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					t.Error(err)
					mu.Unlock()
					return
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	const total = workers * each
	n, v, err := readCounter(ctx, st, k)
	if err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Fatalf("counter is %d after %d successful increments (%d conflicts)", n, total, conflicts)
	}
	for rv, c := range readVersions {
		if c != 1 {
			t.Fatalf("%d commits that read version %d all won", c, rv)
		}
	}
	// The successes form one chain: each read the version the one before
	// it wrote, starting from absent.
	slices.Sort(seqs)
	chain := append([]uint64{0}, seqs[:len(seqs)-1]...)
	for _, rv := range chain {
		if readVersions[rv] != 1 {
			t.Fatalf("no successful commit read version %d: the chain of versions is broken", rv)
		}
	}
	if v != seqs[len(seqs)-1] {
		t.Fatalf("final version %d is not the last successful commit's seq %d", v, seqs[len(seqs)-1])
	}
	t.Logf("%d increments, %d conflicts", total, conflicts)

	// Subscribers heard every success, once, in order.
	got := changes.waitCount(t, total)
	for i, c := range got {
		if c.Kind != store.ChangeRecords || c.Seq != seqs[i] || c.App != "a" || c.Schema != "Counter" || !slices.Equal(c.Keys, []string{"c"}) {
			t.Fatalf("change %d is %s, want records seq=%d a/Counter [c]", i, changeString(c), seqs[i])
		}
	}
}

func readCounter(ctx context.Context, st store.Store, k store.RecordKey) (n, version uint64, err error) {
	rec, err := st.Get(ctx, k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if len(rec.Value) != 8 {
		return 0, 0, fmt.Errorf("counter value is %d bytes", len(rec.Value))
	}
	return binary.BigEndian.Uint64(rec.Value), rec.Version, nil
}

// testGroupCommit: concurrent commits share durable writes instead of
// taking one each (for stores that commit in groups and count them).
func testGroupCommit(t *testing.T, st store.Store) {
	gc, ok := st.(store.GroupCommitter)
	if !ok {
		t.Skip("the store does not count its groups")
	}
	ctx := ctxFor(t)
	createApp(t, st, "app")
	before := gc.CommitStats()
	const writers, each = 32, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprint(w, "-", i)
				if _, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(rk("app", "T", stringKey(key)), key, "v")}}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	after := gc.CommitStats()
	commits, groups := after.Commits-before.Commits, after.Groups-before.Groups
	if commits != writers*each {
		t.Fatalf("%d commits counted, want %d", commits, writers*each)
	}
	if groups >= commits {
		t.Fatalf("%d commits took %d groups: no grouping", commits, groups)
	}
	t.Logf("%d commits in %d groups (%.1f per durable write)", commits, groups, float64(commits)/float64(groups))
	if got := rangeAll(t, st, "app", "T", []byte{0}, []byte{0xff}); len(got) != writers*each {
		t.Fatalf("%d records stored, want %d", len(got), writers*each)
	}
}
