package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

func recordsChange(seq uint64, app, schema string, keys ...string) store.Change {
	return store.Change{Kind: store.ChangeRecords, Seq: seq, App: app, Schema: schema, Keys: keys}
}

// barrier commits a marker record and waits until c has heard it, so that
// everything published before it has been heard too. It returns the
// changes heard, marker last.
func barrier(t *testing.T, st store.Store, c *collector, app string) []store.Change {
	t.Helper()
	seq := put(t, st, rk(app, "Barrier", stringKey("b")), "b", nil)
	return c.waitFor(t, fmt.Sprintf("the barrier commit %d", seq), func(cs []store.Change) bool {
		return slices.ContainsFunc(cs, func(ch store.Change) bool { return ch.Kind == store.ChangeRecords && ch.Seq == seq })
	})
}

// testSubscribeRecords checks what a record change carries, and that
// refused commits publish nothing.
func testSubscribeRecords(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	c := subscribe(t, st)
	odd := "k\x00\xff" // a bytes key's text may hold any byte
	s1, err := st.Commit(ctx, store.Batch{Writes: []store.Write{
		write(rk("a", "T", stringKey("k1")), "k1", "v"),
		write(rk("a", "T", stringKey(odd)), odd, "v"),
		write(rk("a", "U", signedKey(-7)), "-7", "v"),
		write(rk("b", "T", stringKey("k1")), "k1", "v"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	s2 := del(t, st, rk("a", "T", stringKey("k1")), "k1")
	s3 := del(t, st, rk("a", "T", stringKey("never")), "never") // deleting nothing is still a write
	// Refused and read-only commits change nothing, so publish nothing.
	if _, err := st.Commit(ctx, store.Batch{Reads: []store.Read{{Key: rk("a", "T", stringKey(odd)), Version: 0}}, Writes: []store.Write{write(rk("a", "T", stringKey("x")), "x", "v")}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale commit: %v", err)
	}
	if _, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(rk("nosuchapp", "T", stringKey("x")), "x", "v")}}); !errors.Is(err, store.ErrUnknownApp) {
		t.Fatalf("commit to unknown app: %v", err)
	}
	if _, err := st.Commit(ctx, store.Batch{Reads: []store.Read{{Key: rk("a", "T", stringKey(odd)), Version: s1}}}); err != nil {
		t.Fatal(err)
	}
	got := barrier(t, st, c, "a")
	mark := got[len(got)-1]
	wantChanges(t, got, []store.Change{
		recordsChange(s1, "a", "T", "k1", odd),
		recordsChange(s1, "a", "U", "-7"),
		recordsChange(s1, "b", "T", "k1"),
		recordsChange(s2, "a", "T", "k1"),
		recordsChange(s3, "a", "T", "never"),
		mark,
	})
}

// testSubscribeOrder interleaves every kind of change from one goroutine:
// subscribers must hear them in the order they were made, and nothing for
// the calls that failed.
func testSubscribeOrder(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "keep")
	c := subscribe(t, st)
	var want []store.Change
	for round := range 5 {
		app := fmt.Sprint("app", round)
		createApp(t, st, app)
		want = append(want, recordsChange(put(t, st, rk(app, "T", stringKey("k")), "k", []byte("v")), app, "T", "k"))
		if err := st.ActivateSchema(ctx, app, "v1", store.AnyRev); err != nil {
			t.Fatal(err)
		}
		want = append(want, store.Change{Kind: store.ChangeSchema, App: app})
		want = append(want, recordsChange(put(t, st, rk(app, "T", stringKey("k2")), "k2", []byte("v")), app, "T", "k2"))
		n := store.Notification{ID: "n1", App: app, Schema: "T", Keys: []string{"k"}}
		if err := st.PutNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteNotification(ctx, app, "n1"); err != nil {
			t.Fatal(err)
		}
		want = append(want, store.Change{Kind: store.ChangeNotificationDeleted, App: app, NotificationID: "n1"})
		want = append(want, recordsChange(del(t, st, rk(app, "T", stringKey("k")), "k"), app, "T", "k"))
		// Failed calls publish nothing.
		if err := st.DeleteNotification(ctx, app, "n1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second DeleteNotification: %v, want ErrNotFound", err)
		}
		if err := st.DeleteApp(ctx, "nosuchapp"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("DeleteApp of an unknown app: %v, want ErrNotFound", err)
		}
		if err := st.ActivateSchema(ctx, "nosuchapp", "v1", store.AnyRev); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("ActivateSchema of an unknown app: %v, want ErrNotFound", err)
		}
		want = append(want, recordsChange(put(t, st, rk("keep", "T", stringKey("k")), "k", []byte("v")), "keep", "T", "k"))
		if err := st.DeleteApp(ctx, app); err != nil {
			t.Fatal(err)
		}
		want = append(want, store.Change{Kind: store.ChangeAppDeleted, App: app})
	}
	got := barrier(t, st, c, "keep")
	wantChanges(t, got, append(want, got[len(got)-1]))
}

// testSubscribeConcurrent commits from many goroutines at once: every
// commit is heard exactly once, with its own seq, in seq order.
func testSubscribeConcurrent(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	c := subscribe(t, st)
	const workers, each = 8, 15
	var mu sync.Mutex
	want := map[uint64][]store.Change{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				writes := []store.Write{write(rk("a", "T", stringKey(key)), key, "v")}
				if i%3 == 0 { // some commits span two apps
					writes = append(writes, write(rk("b", "U", stringKey(key)), key, "v"))
				}
				seq, err := st.Commit(ctx, store.Batch{Writes: writes})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[seq] = append(want[seq], recordsChange(seq, "a", "T", key))
				if i%3 == 0 {
					want[seq] = append(want[seq], recordsChange(seq, "b", "U", key))
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(want) != workers*each {
		t.Fatalf("%d commits returned only %d distinct seqs", workers*each, len(want))
	}
	var seqs []uint64
	n := 0
	for seq, cs := range want {
		seqs = append(seqs, seq)
		n += len(cs)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	var wantAll []store.Change
	for _, seq := range seqs {
		wantAll = append(wantAll, want[seq]...)
	}
	got := c.waitCount(t, n)
	wantChanges(t, got, wantAll)
	got = barrier(t, st, c, "a")
	if len(got) != n+1 {
		t.Fatalf("heard %d changes, want %d and the barrier:\n%s", len(got), n, describe(got[n:]))
	}
}

// testSubscribeCancel checks that every subscriber hears every change, and
// that a cancelled one hears nothing more.
func testSubscribeCancel(t *testing.T, st store.Store) {
	createApp(t, st, "a")
	c1 := &collector{signal: make(chan struct{}, 1)}
	cancel1 := st.Subscribe(c1.add)
	c2 := subscribe(t, st)
	s1 := put(t, st, rk("a", "T", stringKey("1")), "1", nil)
	want1 := []store.Change{recordsChange(s1, "a", "T", "1")}
	wantChanges(t, c1.waitCount(t, 1), want1)
	wantChanges(t, c2.waitCount(t, 1), want1)
	cancel1()
	s2 := put(t, st, rk("a", "T", stringKey("2")), "2", nil)
	// Once c2 heard the second change, c1 would have heard it too.
	wantChanges(t, c2.waitCount(t, 2), append(want1, recordsChange(s2, "a", "T", "2")))
	got := barrier(t, st, c2, "a")
	if len(got) != 3 {
		t.Fatalf("c2 heard %d changes, want 3", len(got))
	}
	wantChanges(t, c1.snapshot(), want1)
}
