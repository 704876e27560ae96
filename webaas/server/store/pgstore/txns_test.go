package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/storetest"
)

// TestTxnConformance runs the TxnStore conformance suite, each subtest on
// a fresh schema.
func TestTxnConformance(t *testing.T) {
	testURL(t)
	storetest.RunTxns(t, func(t *testing.T) store.TxnStore {
		return openStore(t, options(newSchema(t)))
	})
}

// TestTxnConformanceTwoNodes runs the suite again with every call going
// to one of two stores on the same schema in turn, as a load balancer
// would spread them: the promises hold across nodes, concurrent updates
// from both still take turns, and one EndTxn still wins.
func TestTxnConformanceTwoNodes(t *testing.T) {
	testURL(t)
	storetest.RunTxns(t, func(t *testing.T) store.TxnStore {
		opts := options(newSchema(t))
		return &roundRobin{nodes: []store.TxnStore{openStore(t, opts), openStore(t, opts)}}
	})
}

// roundRobin sends each call to the next node.
type roundRobin struct {
	nodes []store.TxnStore
	next  atomic.Uint32
}

func (r *roundRobin) pick() store.TxnStore {
	return r.nodes[int(r.next.Add(1))%len(r.nodes)]
}

func (r *roundRobin) BeginTxn(ctx context.Context, id string, expires time.Time) error {
	return r.pick().BeginTxn(ctx, id, expires)
}

func (r *roundRobin) BeginTxnFor(ctx context.Context, id string, owner store.TxnOwner, expires time.Time) error {
	return r.pick().BeginTxnFor(ctx, id, owner, expires)
}

func (r *roundRobin) UpdateTxn(ctx context.Context, id string, expires time.Time, fn func(*store.TxnState) error) error {
	return r.pick().UpdateTxn(ctx, id, expires, fn)
}

func (r *roundRobin) EndTxn(ctx context.Context, id string) (store.TxnState, error) {
	return r.pick().EndTxn(ctx, id)
}

func hour() time.Time { return time.Now().Add(time.Hour) }

// TestTxnTwoNodes begins a transaction through node A, reads and writes in
// it through node B and A, and commits it through node B.
func TestTxnTwoNodes(t *testing.T) {
	ctx := bg(t)
	opts := options(newSchema(t))
	a, b := openStore(t, opts), openStore(t, opts)
	createApps(t, a, "app")
	head := store.RecordKey{App: "app", Schema: "Head", Key: []byte("sroom")}
	seq := commit(t, a, "app", "x")
	if _, err := a.Commit(ctx, store.Batch{Writes: []store.Write{{Key: head, TextKey: "room", Value: []byte("1")}}}); err != nil {
		t.Fatal(err)
	}

	if err := a.BeginTxn(ctx, "tx", hour()); err != nil {
		t.Fatal(err)
	}
	// A transactional read on B: it reads through B and records the version.
	var version uint64
	err := b.UpdateTxn(ctx, "tx", hour(), func(st *store.TxnState) error {
		rec, err := b.Get(ctx, head)
		if err != nil {
			return err
		}
		version = rec.Version
		st.Reads = append(st.Reads, store.Read{Key: head, Version: rec.Version})
		return nil
	})
	if err != nil || version <= seq {
		t.Fatalf("transactional read through node B: version %d, %v", version, err)
	}
	msg := store.Write{Key: store.RecordKey{App: "app", Schema: "Message", Key: []byte("u2")}, TextKey: "2", Value: []byte("hi")}
	newHead := store.Write{Key: head, TextKey: "room", Value: []byte("2")}
	// Writes through A, then B: each sees what the other saved.
	for i, node := range []*pgstore.Store{a, b} {
		err := node.UpdateTxn(ctx, "tx", hour(), func(st *store.TxnState) error {
			if len(st.Reads) != 1 || len(st.Writes) != i {
				return fmt.Errorf("node %d sees %d reads and %d writes", i, len(st.Reads), len(st.Writes))
			}
			st.Writes = append(st.Writes, []store.Write{msg, newHead}[i])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Commit through B: it ends the transaction and commits its batch.
	st, err := b.EndTxn(ctx, "tx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(ctx, store.Batch{Reads: st.Reads, Writes: st.Writes}); err != nil {
		t.Fatalf("committing the transaction's batch: %v", err)
	}
	if rec, err := a.Get(ctx, head); err != nil || string(rec.Value) != "2" {
		t.Fatalf("head after the commit: %q, %v", rec.Value, err)
	}
	// Gone on both nodes.
	for _, node := range []*pgstore.Store{a, b} {
		if err := node.UpdateTxn(ctx, "tx", hour(), func(*store.TxnState) error { return nil }); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("UpdateTxn after EndTxn on the other node: %v, want ErrNotFound", err)
		}
		if _, err := node.EndTxn(ctx, "tx"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("EndTxn after EndTxn on the other node: %v, want ErrNotFound", err)
		}
	}
}

// countTxns returns how many rows webaas_txns of schema holds.
func countTxns(t *testing.T, schema string) int {
	t.Helper()
	conn, err := pgx.Connect(bg(t), testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(bg(t))
	var n int
	if err := conn.QueryRow(bg(t), "SELECT count(*) FROM "+pgx.Identifier{schema, "webaas_txns"}.Sanitize()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTxnPurge checks that a purge deletes the rows of expired
// transactions, and only those.
func TestTxnPurge(t *testing.T) {
	ctx := bg(t)
	opts := options(newSchema(t))
	st := openStore(t, opts)
	for i := range 5 {
		if err := st.BeginTxn(ctx, fmt.Sprint("expired-", i), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.BeginTxn(ctx, "live", hour()); err != nil {
		t.Fatal(err)
	}
	if n := countTxns(t, opts.Schema); n != 6 {
		t.Fatalf("%d rows before the purge, want 6", n)
	}
	n, err := pgstore.PurgeTxns(ctx, st)
	if err != nil || n != 5 {
		t.Fatalf("purge deleted %d rows, %v; want 5", n, err)
	}
	if n := countTxns(t, opts.Schema); n != 1 {
		t.Fatalf("%d rows after the purge, want 1", n)
	}
	if _, err := st.EndTxn(ctx, "live"); err != nil {
		t.Fatalf("the live transaction after the purge: %v", err)
	}
	// EndTxn of an expired transaction deletes its row without waiting
	// for a purge.
	if err := st.BeginTxn(ctx, "expired", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EndTxn(ctx, "expired"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("EndTxn of an expired transaction: %v, want ErrNotFound", err)
	}
	if n := countTxns(t, opts.Schema); n != 0 {
		t.Fatalf("%d rows after EndTxn of the expired one, want 0", n)
	}
}

// TestTxnFnReadsThroughStore runs more concurrent UpdateTxn calls than the
// pool has connections, each fn reading through the same store as a
// transactional read does: they must not hold every connection while
// waiting for one.
func TestTxnFnReadsThroughStore(t *testing.T) {
	ctx := bg(t)
	opts := options(newSchema(t))
	opts.PoolSize = 2
	opts.StatementTimeout = 3 * time.Second // a deadlock shows as ErrUnavailable after this
	st := openStore(t, opts)
	createApps(t, st, "app")
	commit(t, st, "app", "k")
	key := store.RecordKey{App: "app", Schema: "T", Key: []byte("sk")}
	const callers = 8
	for i := range callers {
		if err := st.BeginTxn(ctx, fmt.Sprint(i), hour()); err != nil {
			t.Fatal(err)
		}
	}
	errs := make([]error, callers)
	// No fn reads before every caller is on its way, so the calls pile up
	// behind the one inside.
	var started sync.WaitGroup
	started.Add(callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			started.Done()
			errs[i] = st.UpdateTxn(ctx, fmt.Sprint(i), hour(), func(ts *store.TxnState) error {
				started.Wait()
				rec, err := st.Get(ctx, key)
				if err != nil {
					return fmt.Errorf("read inside fn: %w", err)
				}
				ts.Reads = append(ts.Reads, store.Read{Key: key, Version: rec.Version})
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateTxn %d reading through the store: %v", i, err)
		}
	}
}

// TestTxnCloseDuringUpdate closes the store while an UpdateTxn is inside
// fn, which then calls the store: Close must not wait for fn while fn
// waits for Close.
func TestTxnCloseDuringUpdate(t *testing.T) {
	ctx := bg(t)
	st := openStore(t, options(newSchema(t)))
	if err := st.BeginTxn(ctx, "tx", hour()); err != nil {
		t.Fatal(err)
	}
	inFn := make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- st.UpdateTxn(ctx, "tx", hour(), func(*store.TxnState) error {
			close(inFn)
			// Call the store until Close has begun: it answers ErrClosed.
			for {
				_, err := st.App(ctx, "app")
				if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				time.Sleep(time.Millisecond) // polling for the effect, not ordering
			}
		})
	}()
	<-inFn
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Close did not return within %v while an UpdateTxn's fn called the store", waitLimit)
	}
	if err := <-updated; !errors.Is(err, store.ErrClosed) {
		t.Fatalf("UpdateTxn whose fn called the closing store: %v, want fn's ErrClosed", err)
	}
	if err := st.BeginTxn(ctx, "after", hour()); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("BeginTxn after Close: %v, want ErrClosed", err)
	}
	if err := st.UpdateTxn(ctx, "tx", hour(), func(*store.TxnState) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("UpdateTxn after Close: %v, want ErrClosed", err)
	}
	if _, err := st.EndTxn(ctx, "tx"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("EndTxn after Close: %v, want ErrClosed", err)
	}
}

// TestTxnSlowFn runs a fn that outlasts the statement timeout: the
// database ends the transaction, UpdateTxn reports ErrUnavailable, nothing
// is saved, and the transaction is usable again.
func TestTxnSlowFn(t *testing.T) {
	ctx := bg(t)
	opts := options(newSchema(t))
	opts.StatementTimeout = 300 * time.Millisecond
	st := openStore(t, opts)
	if err := st.BeginTxn(ctx, "tx", hour()); err != nil {
		t.Fatal(err)
	}
	err := st.UpdateTxn(ctx, "tx", hour(), func(ts *store.TxnState) error {
		ts.Reads = append(ts.Reads, store.Read{Key: store.RecordKey{App: "app", Schema: "T", Key: []byte("k")}, Version: 1})
		time.Sleep(2 * opts.StatementTimeout)
		return nil
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("UpdateTxn with a fn slower than the timeout: %v, want ErrUnavailable", err)
	}
	ts, err := st.EndTxn(ctx, "tx")
	if err != nil || len(ts.Reads) != 0 {
		t.Fatalf("after the slow fn: %d reads, %v; want 0 reads", len(ts.Reads), err)
	}
}

// TestTxnMigration opens a schema as a store from before transactions
// left it: the next Open adds the table, and the one after finds it.
func TestTxnMigration(t *testing.T) {
	opts := options(newSchema(t))
	st := openStore(t, opts)
	st.Close()
	table := pgx.Identifier{opts.Schema, "webaas_txns"}.Sanitize()
	migrations := pgx.Identifier{opts.Schema, "webaas_migrations"}.Sanitize()
	admin(t, "DROP TABLE "+table)
	admin(t, "DELETE FROM "+migrations+" WHERE version >= 2")

	for range 2 {
		st := openStore(t, opts)
		if err := st.BeginTxn(bg(t), "tx", hour()); err != nil {
			t.Fatalf("BeginTxn after migrating: %v", err)
		}
		if _, err := st.EndTxn(bg(t), "tx"); err != nil {
			t.Fatalf("EndTxn after migrating: %v", err)
		}
		st.Close()
	}
}
