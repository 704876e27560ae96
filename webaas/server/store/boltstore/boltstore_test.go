package boltstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/boltstore"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/storetest"
)

// openAt opens the bbolt file at path and closes it when the test ends.
func openAt(t *testing.T, path string) store.Store {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestConformance runs the store conformance suite on a real file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openAt(t, filepath.Join(t.TempDir(), "db"))
	})
}

// TestDurable closes and reopens the same file.
func TestDurable(t *testing.T) {
	storetest.RunDurable(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "db")
		return openAt(t, path), func() store.Store { return openAt(t, path) }
	})
}

// TestGroupCommit shows that concurrent commits share bbolt transactions
// (and so fsyncs) instead of taking one each.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateApp(ctx, store.App{ID: "app"}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 50, 20
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				key := fmt.Sprintf("s%d-%d", w, i)
				_, err := st.Commit(ctx, store.Batch{Writes: []store.Write{{
					Key: store.RecordKey{App: "app", Schema: "T", Key: []byte(key)}, TextKey: key, Value: []byte("v"),
				}}})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	stats := st.Stats()
	if stats.Commits != writers*each {
		t.Fatalf("%d commits counted, want %d", stats.Commits, writers*each)
	}
	if stats.Groups >= stats.Commits {
		t.Fatalf("%d commits took %d bbolt transactions: no grouping", stats.Commits, stats.Groups)
	}
	t.Logf("%d commits in %d groups (%.1f per fsync pair)", stats.Commits, stats.Groups, float64(stats.Commits)/float64(stats.Groups))
	recs, _, err := st.Range(ctx, "app", "T", []byte("s"), []byte("t"), 0, 10000)
	if err != nil || len(recs) != writers*each {
		t.Fatalf("%d records stored, %v", len(recs), err)
	}
}
