package pgstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// callAll makes every kind of call at once and returns each one's error;
// a call that does not return within waitLimit fails the test.
func callAll(t *testing.T, st store.Store, lost store.RecordKey) map[string]error {
	t.Helper()
	ctx := context.Background()
	calls := map[string]func() error{
		"CreateApp":      func() error { return st.CreateApp(ctx, store.App{ID: "new", Created: time.Now()}) },
		"App":            func() error { _, err := st.App(ctx, "app"); return err },
		"DeleteApp":      func() error { return st.DeleteApp(ctx, "app") },
		"PutSchemaFile":  func() error { return st.PutSchemaFile(ctx, "app", "v", "f", nil, store.AnyRev) },
		"SchemaFiles":    func() error { _, err := st.SchemaFiles(ctx, "app", "v"); return err },
		"ActivateSchema": func() error { return st.ActivateSchema(ctx, "app", "v", store.AnyRev) },
		"Get":            func() error { _, err := st.Get(ctx, lost); return err },
		"Range": func() error {
			_, _, err := st.Range(ctx, "app", "T", []byte("s"), []byte("t"), 0, 10)
			return err
		},
		"Commit": func() error {
			_, err := st.Commit(ctx, store.Batch{Writes: []store.Write{{Key: lost, TextKey: "lost", Value: []byte("x")}}})
			return err
		},
		"PutNotification":    func() error { return st.PutNotification(ctx, store.Notification{ID: "n", App: "app"}) },
		"Notification":       func() error { _, err := st.Notification(ctx, "app", "n"); return err },
		"DeleteNotification": func() error { return st.DeleteNotification(ctx, "app", "n") },
	}
	if ts, ok := st.(store.TxnStore); ok {
		calls["BeginTxn"] = func() error { return ts.BeginTxn(ctx, "lost", time.Now().Add(time.Hour)) }
		calls["UpdateTxn"] = func() error {
			return ts.UpdateTxn(ctx, "tx", time.Now().Add(time.Hour), func(*store.TxnState) error { return nil })
		}
		calls["EndTxn"] = func() error { _, err := ts.EndTxn(ctx, "tx"); return err }
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(calls))
	for name, call := range calls {
		go func() { results <- result{name, call()} }()
	}
	errs := map[string]error{}
	deadline := time.After(waitLimit)
	for range calls {
		select {
		case r := <-results:
			errs[r.name] = r.err
		case <-deadline:
			t.Fatalf("calls hang with the database unreachable; returned so far: %v", errs)
		}
	}
	return errs
}

// TestUnavailable takes the database away from node A, first by resetting
// and refusing its connections, then by letting no byte through. Every
// call fails with ErrUnavailable instead of hanging, the failed commit
// wrote nothing, and once the database is back A works again and hears
// what node B committed meanwhile.
func TestUnavailable(t *testing.T) {
	opts := options(newSchema(t))
	opts.StatementTimeout = time.Second
	opts.PollInterval = time.Hour // only the LISTEN reconnect may catch up
	p, via := startProxy(t)
	a := openAt(t, via, opts)
	b := openStore(t, opts)
	la := listen(t, a)
	createApps(t, b, "app")
	la.waitSeq(t, commit(t, b, "app", "before"))

	for _, mode := range []struct {
		name         string
		cut, restore func()
	}{
		{"refused", func() { p.setDown(true) }, func() { p.setDown(false) }},
		{"silent", func() { p.setPaused(true) }, func() { p.setPaused(false) }},
	} {
		t.Run(mode.name, func(t *testing.T) {
			lost := store.RecordKey{App: "app", Schema: "T", Key: []byte("s-lost-" + mode.name)}
			mode.cut()
			for name, err := range callAll(t, a, lost) {
				if !errors.Is(err, store.ErrUnavailable) {
					t.Errorf("%s with the database %s: %v, want ErrUnavailable", name, mode.name, err)
				}
			}
			meanwhile := commit(t, b, "app", "meanwhile-"+mode.name)
			mode.restore()

			la.waitSeq(t, meanwhile)
			if _, err := a.Get(bg(t), lost); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the commit that failed: %v, want ErrNotFound", err)
			}
			if _, err := a.App(bg(t), "app"); err != nil {
				t.Fatalf("app after the outage: %v", err)
			}
			la.waitSeq(t, commit(t, a, "app", "after-"+mode.name))
		})
	}
}

// TestLockTimeout holds the commit lock from outside: commits give up at
// the statement timeout with ErrUnavailable and write nothing, reads go
// on, and commits work again once the lock is released.
func TestLockTimeout(t *testing.T) {
	schema := newSchema(t)
	opts := options(schema)
	opts.StatementTimeout = time.Second
	st := openStore(t, opts)
	createApps(t, st, "app")
	seq := commit(t, st, "app", "k")

	ctx := bg(t)
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT seq FROM "+pgx.Identifier{schema, "webaas_counter"}.Sanitize()+" FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	key := store.RecordKey{App: "app", Schema: "T", Key: []byte("sk")}
	_, err = st.Commit(ctx, store.Batch{
		Reads:  []store.Read{{Key: key, Version: seq}},
		Writes: []store.Write{{Key: key, TextKey: "k", Value: []byte("blocked")}},
	})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("commit while the lock is held: %v, want ErrUnavailable", err)
	}
	if err := st.DeleteApp(ctx, "app"); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("DeleteApp while the lock is held: %v, want ErrUnavailable", err)
	}
	rec, err := st.Get(ctx, key)
	if err != nil || string(rec.Value) != "k" || rec.Version != seq {
		t.Fatalf("read while the lock is held: %q version %d, %v", rec.Value, rec.Version, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, store.Batch{
		Reads:  []store.Read{{Key: key, Version: seq}},
		Writes: []store.Write{{Key: key, TextKey: "k", Value: []byte("free")}},
	}); err != nil {
		t.Fatalf("commit after the lock is released: %v", err)
	}
}
