package pgstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
)

// waitLimit only keeps a broken store from hanging a test.
const waitLimit = 30 * time.Second

// listener collects the changes one store publishes.
type listener struct {
	mu      sync.Mutex
	changes []store.Change
	signal  chan struct{}
}

func listen(t *testing.T, st store.Store) *listener {
	l := &listener{signal: make(chan struct{}, 1)}
	t.Cleanup(st.Subscribe(func(cs []store.Change) {
		l.mu.Lock()
		l.changes = append(l.changes, cs...)
		l.mu.Unlock()
		select {
		case l.signal <- struct{}{}:
		default:
		}
	}))
	return l
}

func (l *listener) snapshot() []store.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.changes)
}

// waitFor waits until cond holds for the changes heard so far.
func (l *listener) waitFor(t *testing.T, what string, cond func([]store.Change) bool) []store.Change {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		got := l.snapshot()
		if cond(got) {
			return got
		}
		select {
		case <-l.signal:
		case <-deadline:
			t.Fatalf("gave up waiting for %s; heard %d changes: %+v", what, len(got), got)
		}
	}
}

func (l *listener) waitSeq(t *testing.T, seq uint64) []store.Change {
	t.Helper()
	return l.waitFor(t, fmt.Sprint("seq ", seq), func(cs []store.Change) bool {
		return slices.ContainsFunc(cs, func(c store.Change) bool { return c.Kind == store.ChangeRecords && c.Seq == seq })
	})
}

func commit(t testing.TB, st store.Store, app, key string) uint64 {
	t.Helper()
	seq, err := st.Commit(bg(t), store.Batch{Writes: []store.Write{{
		Key: store.RecordKey{App: app, Schema: "T", Key: []byte("s" + key)}, TextKey: key, Value: []byte(key),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

func createApps(t testing.TB, st store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := st.CreateApp(bg(t), store.App{ID: id, Created: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTwoNodes runs two stores on one schema: each hears the other's
// changes of every kind, and both hear all changes in the same order.
func TestTwoNodes(t *testing.T) {
	ctx := bg(t)
	opts := options(newSchema(t))
	a, b := openStore(t, opts), openStore(t, opts)
	la, lb := listen(t, a), listen(t, b)
	createApps(t, a, "app", "other")

	s1 := commit(t, a, "app", "from-a")
	got := lb.waitSeq(t, s1)
	if c := got[0]; c.App != "app" || c.Schema != "T" || !slices.Equal(c.Keys, []string{"from-a"}) {
		t.Fatalf("node B heard %+v", c)
	}
	s2 := commit(t, b, "app", "from-b")
	la.waitSeq(t, s2)

	// The other kinds of change reach the other node too.
	if err := a.PutNotification(ctx, store.Notification{ID: "n", App: "app", Schema: "T", Keys: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Notification(ctx, "app", "n"); err != nil || n.Schema != "T" {
		t.Fatalf("node B reading node A's notification: %+v, %v", n, err)
	}
	for _, step := range []func() error{
		func() error { return a.ActivateSchema(ctx, "app", "v1", store.AnyRev) },
		func() error { return a.DeleteNotification(ctx, "app", "n") },
		func() error { return a.DeleteApp(ctx, "app") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	s3 := commit(t, a, "other", "last")
	want := []store.Change{
		{Kind: store.ChangeSchema, App: "app"},
		{Kind: store.ChangeNotificationDeleted, App: "app", NotificationID: "n"},
		{Kind: store.ChangeAppDeleted, App: "app"},
	}
	got = lb.waitSeq(t, s3)
	if len(got) != 6 || !equalChanges(got[2:5], want) {
		t.Fatalf("node B heard %+v", got)
	}

	// Concurrent commits through both nodes: each node hears every one,
	// in the same order, in sequence order.
	var wg sync.WaitGroup
	var last uint64
	var mu sync.Mutex
	for i, st := range []store.Store{a, b, a, b} {
		wg.Go(func() {
			for j := range 25 {
				seq := commit(t, st, "other", fmt.Sprint(i, "-", j))
				mu.Lock()
				last = max(last, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ga, gb := la.waitSeq(t, last), lb.waitSeq(t, last)
	if !equalChanges(ga, gb) {
		t.Fatalf("the nodes heard different sequences:\nA: %+v\nB: %+v", ga, gb)
	}
	if n := len(ga); n != 6+100 {
		t.Fatalf("heard %d changes, want 106", n)
	}
	for i := 1; i < len(ga); i++ {
		if ga[i].Kind == store.ChangeRecords && ga[i-1].Kind == store.ChangeRecords && ga[i].Seq <= ga[i-1].Seq {
			t.Fatalf("seq %d heard after %d", ga[i].Seq, ga[i-1].Seq)
		}
	}
}

func equalChanges(a, b []store.Change) bool {
	return slices.EqualFunc(a, b, func(x, y store.Change) bool {
		return x.Kind == y.Kind && x.Seq == y.Seq && x.App == y.App && x.Schema == y.Schema &&
			slices.Equal(x.Keys, y.Keys) && x.NotificationID == y.NotificationID
	})
}

// TestListenReconnect kills node B's LISTEN connection, commits on node A
// while B cannot listen, and expects B to catch up from the change log
// once it reconnects, then to keep listening. Polling is off, so only the
// reconnect can deliver.
func TestListenReconnect(t *testing.T) {
	opts := options(newSchema(t))
	opts.PollInterval = time.Hour
	a := openStore(t, opts)

	var mu sync.Mutex
	var hold chan struct{}            // when set, B's next connection attempt waits for it
	reached := make(chan struct{}, 1) // B tried to reconnect while held
	optsB := opts
	pgstore.SetListenGate(&optsB, func(ctx context.Context) {
		mu.Lock()
		h := hold
		mu.Unlock()
		if h == nil {
			return
		}
		reached <- struct{}{}
		select {
		case <-h:
		case <-ctx.Done():
		}
	})
	b := openStore(t, optsB)
	lb := listen(t, b)
	createApps(t, a, "app")

	// B listens: a commit on A reaches it.
	lb.waitSeq(t, commit(t, a, "app", "before"))
	pid := pgstore.ListenPID(b)
	if pid == 0 {
		t.Fatal("no LISTEN connection")
	}

	mu.Lock()
	hold = make(chan struct{})
	mu.Unlock()
	admin(t, "SELECT pg_terminate_backend($1)", int32(pid))
	select {
	case <-reached:
	case <-time.After(waitLimit):
		t.Fatal("node B did not notice its LISTEN connection was killed")
	}
	// B is deaf now: these commits only reach it through the log.
	var missed []uint64
	for i := range 5 {
		missed = append(missed, commit(t, a, "app", fmt.Sprint("missed-", i)))
	}
	if err := a.ActivateSchema(bg(t), "app", "v2", store.AnyRev); err != nil {
		t.Fatal(err)
	}
	// More log entries than one read returns, with commits of many
	// entries each, so pages end inside a commit.
	const wide, schemas = 3, 250
	var wideSeqs []uint64
	for i := range wide {
		var writes []store.Write
		for j := range schemas {
			writes = append(writes, store.Write{Key: store.RecordKey{App: "app", Schema: fmt.Sprintf("S%03d", j), Key: []byte("sw")}, TextKey: fmt.Sprint("w", i)})
		}
		seq, err := a.Commit(bg(t), store.Batch{Writes: writes})
		if err != nil {
			t.Fatal(err)
		}
		wideSeqs = append(wideSeqs, seq)
	}
	mu.Lock()
	close(hold)
	hold = nil
	mu.Unlock()

	// The last commit's changes arrive one by one: wait for all of them.
	total := 1 + len(missed) + 1 + wide*schemas
	got := lb.waitFor(t, fmt.Sprint(total, " changes"), func(cs []store.Change) bool { return len(cs) >= total })
	if len(got) != total {
		t.Fatalf("after reconnecting, node B heard %d changes, want %d", len(got), total)
	}
	for i, seq := range missed {
		if c := got[1+i]; c.Seq != seq || !slices.Equal(c.Keys, []string{fmt.Sprint("missed-", i)}) {
			t.Fatalf("after reconnecting, change %d is %+v, want seq %d", 1+i, c, seq)
		}
	}
	if c := got[1+len(missed)]; c.Kind != store.ChangeSchema || c.App != "app" {
		t.Fatalf("after reconnecting, change %d is %+v, want the schema change", 1+len(missed), c)
	}
	rest := got[2+len(missed):]
	for i, c := range rest {
		w, j := i/schemas, i%schemas
		if c.Seq != wideSeqs[w] || c.Schema != fmt.Sprintf("S%03d", j) || !slices.Equal(c.Keys, []string{fmt.Sprint("w", w)}) {
			t.Fatalf("wide change %d is %+v, want seq %d schema S%03d", i, c, wideSeqs[w], j)
		}
	}
	if np := pgstore.ListenPID(b); np == pid || np == 0 {
		t.Fatalf("LISTEN connection pid %d after reconnecting; it was %d", np, pid)
	}
	// And B listens again.
	lb.waitSeq(t, commit(t, a, "app", "after"))
	if n, want := len(lb.snapshot()), len(got)+1; n != want {
		t.Fatalf("node B heard %d changes, want %d", n, want)
	}
}

// TestMigrateConcurrently starts several nodes on a new schema at once:
// they take turns migrating, and all work.
func TestMigrateConcurrently(t *testing.T) {
	opts := options(newSchema(t))
	const nodes = 4
	stores := make([]*pgstore.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = pgstore.Open(bg(t), testURL(t), opts) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	createApps(t, stores[0], "app")
	for i, st := range stores {
		commit(t, st, "app", fmt.Sprint(i))
	}
	// Opening again finds everything applied.
	again := openStore(t, opts)
	if _, err := again.Get(bg(t), store.RecordKey{App: "app", Schema: "T", Key: []byte("s3")}); err != nil {
		t.Fatal(err)
	}
}

// TestPrune checks that pruning keeps recent entries, deletes old ones,
// and that a node whose position was pruned away says so.
func TestPrune(t *testing.T) {
	ctx := bg(t)
	opts := options(newSchema(t))
	opts.PollInterval = time.Hour
	keep := openStore(t, opts) // the default retention: minutes
	createApps(t, keep, "app")
	commit(t, keep, "app", "1")
	if n, err := pgstore.Prune(ctx, keep); err != nil || n != 0 {
		t.Fatalf("pruning fresh entries: %d deleted, %v", n, err)
	}

	// A node that stays deaf while entries are committed and pruned.
	var hold = make(chan struct{})
	reached := make(chan struct{}, 10)
	deafOpts := opts
	first := true
	pgstore.SetListenGate(&deafOpts, func(ctx context.Context) {
		if first { // the first connection goes through
			first = false
			return
		}
		reached <- struct{}{}
		select {
		case <-hold:
		case <-ctx.Done():
		}
	})
	deaf := openStore(t, deafOpts)
	ld := listen(t, deaf)
	ld.waitSeq(t, commit(t, keep, "app", "2"))
	admin(t, "SELECT pg_terminate_backend($1)", int32(pgstore.ListenPID(deaf)))
	<-reached

	commit(t, keep, "app", "3")
	short := opts
	short.ChangeRetention = time.Microsecond
	pruner := openStore(t, short)
	n, err := pgstore.Prune(ctx, pruner)
	if err != nil || n < 3 {
		t.Fatalf("pruning with a tiny retention: %d deleted, %v", n, err)
	}
	if deaf.Lost() != 0 {
		t.Fatal("lost changes counted before catching up")
	}
	close(hold)
	after := commit(t, keep, "app", "4")
	ld.waitSeq(t, after)
	if deaf.Lost() != 1 {
		t.Fatalf("Lost() = %d after catching up past a pruned entry, want 1", deaf.Lost())
	}
	// Entries after the pruned ones still arrive, in order.
	got := ld.snapshot()
	if len(got) != 2 || !slices.Equal(got[1].Keys, []string{"4"}) {
		t.Fatalf("deaf node heard %+v", got)
	}
}
