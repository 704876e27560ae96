package boltstore_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
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

// TestPublishedBeforeAnswered pins the order between a commit's
// subscribers and its caller: a subscriber has heard a commit's change
// before Commit returns, and no later write (a schema activation, say) is
// published while an earlier one is still being heard. Before, the
// committer answered first and published after, so a caller's next write
// could be heard before its previous one.
func TestPublishedBeforeAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := openAt(t, filepath.Join(t.TempDir(), "db"))
		if err := st.CreateApp(ctx, store.App{ID: "app"}); err != nil {
			t.Fatal(err)
		}
		heard := make(chan store.Change, 16)
		release := make(chan struct{})
		unhold := sync.OnceFunc(func() { close(release) })
		t.Cleanup(unhold) // before the store's Close, which waits for the committer
		held := false
		st.Subscribe(func(cs []store.Change) {
			heard <- cs[0]
			if !held { // hold the first publication until released
				held = true
				<-release
			}
		})
		committed := make(chan error, 1)
		go func() {
			_, err := st.Commit(ctx, store.Batch{Writes: []store.Write{{
				Key: store.RecordKey{App: "app", Schema: "T", Key: []byte("k")}, TextKey: "k", Value: []byte("v"),
			}}})
			committed <- err
		}()
		if c := <-heard; c.Kind != store.ChangeRecords {
			t.Fatalf("first change heard is %+v, want the commit", c)
		}
		synctest.Wait() // everything else has gone as far as it can
		select {
		case err := <-committed:
			t.Fatalf("Commit returned (%v) while its change was still being published", err)
		default:
		}
		activated := make(chan error, 1)
		go func() { activated <- st.ActivateSchema(ctx, "app", "v1", store.AnyRev) }()
		synctest.Wait()
		select {
		case err := <-activated:
			t.Fatalf("ActivateSchema returned (%v) while an earlier commit was still being published", err)
		default:
		}
		unhold()
		if err := <-committed; err != nil {
			t.Fatal(err)
		}
		if err := <-activated; err != nil {
			t.Fatal(err)
		}
		if c := <-heard; c.Kind != store.ChangeSchema {
			t.Fatalf("second change heard is %+v, want the activation", c)
		}
	})
}
