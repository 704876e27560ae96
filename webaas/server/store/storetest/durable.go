package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// testReopen writes every kind of data, closes the store, reopens it and
// expects all of it back; versions keep growing across the restart.
func testReopen(t *testing.T, st store.Store, reopen func() store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b", "gone")
	fill(t, st, "a")
	fill(t, st, "gone")
	keys, texts := typedKeys()
	var last uint64
	for i, k := range keys {
		last = put(t, st, rk("b", "T", k), texts[i], []byte(texts[i]))
	}
	deleted := rk("b", "T", keys[0])
	last = del(t, st, deleted, texts[0])
	if err := st.DeleteApp(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteNotification(ctx, "a", "n2"); err != nil {
		t.Fatal(err)
	}
	before := map[string]store.Record{}
	for _, r := range rangeAll(t, st, "b", "T", []byte{0}, []byte{0xff}) {
		before[string(r.Key)] = r
	}
	id := st.ID()
	if id == "" {
		t.Fatal("the store's ID is empty")
	}
	lastSeq, err := st.LastSeq(ctx)
	if err != nil || lastSeq < last {
		t.Fatalf("LastSeq before closing: %d, %v; the last commit was %d", lastSeq, err, last)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st = reopen()
	if st.ID() != id {
		t.Fatalf("the store's ID changed across a restart: %q, then %q", id, st.ID())
	}
	if seq, err := st.LastSeq(ctx); err != nil || seq != lastSeq {
		t.Fatalf("LastSeq after reopening: %d, %v; before closing, %d", seq, err, lastSeq)
	}
	after := rangeAll(t, st, "b", "T", []byte{0}, []byte{0xff})
	if len(after) != len(keys)-1 || len(before) != len(after) {
		t.Fatalf("after reopening, %d records; before, %d; want %d", len(after), len(before), len(keys)-1)
	}
	for _, r := range after {
		b := before[string(r.Key)]
		if string(r.Value) != string(b.Value) || r.Version != b.Version {
			t.Fatalf("record %q came back as %q version %d; it was %q version %d", r.Key, r.Value, r.Version, b.Value, b.Version)
		}
	}
	wantAbsent(t, st, deleted)
	if _, err := st.Notification(ctx, "a", "n2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted notification after reopening: %v", err)
	}
	if err := st.PutNotification(ctx, store.Notification{ID: "n2", App: "a", Schema: "T", Keys: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	wantFilled(t, st, "a")
	if _, err := st.App(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted app after reopening: %v", err)
	}
	wantGone(t, st, "gone")

	// Versions only grow, across restarts too, and subscribers still hear.
	c := subscribe(t, st)
	seq := put(t, st, rk("b", "T", keys[0]), texts[0], []byte("again"))
	if seq <= last {
		t.Fatalf("first commit after reopening got seq %d; before closing, %d", seq, last)
	}
	wantChanges(t, c.waitCount(t, 1), []store.Change{recordsChange(seq, "b", "T", texts[0])})
}

// testCloseDuringCommits closes the store while commits are in flight:
// each commit that reported success must be there after reopening, and
// each that failed must not.
func testCloseDuringCommits(t *testing.T, st store.Store, reopen func() store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	const workers, each = 6, 40
	type outcome struct {
		seq uint64
		err error
	}
	var mu sync.Mutex
	results := map[string]outcome{}
	started := make(chan struct{}, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				k := rk("a", "T", stringKey(key))
				seq, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(k, key, key), write(rk("a", "U", stringKey(key)), key, key)}})
				mu.Lock()
				results[key] = outcome{seq, err}
				mu.Unlock()
				started <- struct{}{}
			}
		})
	}
	// Close once some commits went through, with others still coming.
	for range workers {
		<-started
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()

	st = reopen()
	ok, refused := 0, 0
	for key, o := range results {
		for _, schema := range []string{"T", "U"} {
			k := rk("a", schema, stringKey(key))
			switch {
			case o.err == nil:
				wantValue(t, st, k, []byte(key), o.seq)
			case errors.Is(o.err, store.ErrClosed):
				wantAbsent(t, st, k)
			default:
				t.Fatalf("commit %s while closing: %v, want success or ErrClosed", key, o.err)
			}
		}
		if o.err == nil {
			ok++
		} else {
			refused++
		}
	}
	t.Logf("%d commits acknowledged before Close, %d refused", ok, refused)
}
