package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/storetest"
)

// waitLimit only keeps a broken MemTxns from hanging a test.
const waitLimit = 30 * time.Second

func newMemTxns(t *testing.T, limit int) *store.MemTxns {
	t.Helper()
	m := store.NewMemTxns(limit)
	t.Cleanup(func() { m.Close() })
	return m
}

// TestMemTxnsConformance runs the TxnStore conformance suite.
func TestMemTxnsConformance(t *testing.T) {
	storetest.RunTxns(t, func(t *testing.T) store.TxnStore { return newMemTxns(t, 1000) })
}

// TestMemTxnsLimit fills the limit: one more is refused until one ends or
// expires.
func TestMemTxnsLimit(t *testing.T) {
	ctx := context.Background()
	m := newMemTxns(t, 3)
	for i := range 3 {
		if err := m.BeginTxn(ctx, fmt.Sprint(i), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.BeginTxn(ctx, "over", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrTooManyTxns) {
		t.Fatalf("BeginTxn over the limit: %v, want ErrTooManyTxns", err)
	}
	if _, err := m.EndTxn(ctx, "0"); err != nil {
		t.Fatal(err)
	}
	if err := m.BeginTxn(ctx, "after-end", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("BeginTxn after one ended: %v", err)
	}
	// An expired transaction does not hold its place, even before the
	// janitor runs.
	if err := m.UpdateTxn(ctx, "1", time.Now().Add(-time.Second), func(*store.TxnState) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := m.BeginTxn(ctx, "after-expiry", time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("BeginTxn after one expired: %v", err)
	}
	if err := m.BeginTxn(ctx, "over", time.Now().Add(time.Hour)); !errors.Is(err, store.ErrTooManyTxns) {
		t.Fatalf("BeginTxn over the limit: %v, want ErrTooManyTxns", err)
	}
}

// TestMemTxnsJanitor leaves expired and live transactions alone: the
// janitor frees the expired ones and keeps the live one.
func TestMemTxnsJanitor(t *testing.T) {
	ctx := context.Background()
	m := newMemTxns(t, 0)
	for i := range 10 {
		if err := m.BeginTxn(ctx, fmt.Sprint(i), time.Now().Add(50*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.BeginTxn(ctx, "live", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for m.Len() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions held %v after 10 of 11 expired", m.Len(), waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := m.EndTxn(ctx, "live"); err != nil {
		t.Fatalf("the live transaction after the janitor ran: %v", err)
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("%d transactions held after the last one ended", n)
	}
}

// TestMemTxnsWaitHonoursContext waits for a transaction held by a long fn
// with a context that ends: the wait gives up with the context's error.
func TestMemTxnsWaitHonoursContext(t *testing.T) {
	ctx := context.Background()
	m := newMemTxns(t, 0)
	if err := m.BeginTxn(ctx, "t", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	inFn, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- m.UpdateTxn(ctx, "t", time.Now().Add(time.Hour), func(*store.TxnState) error {
			close(inFn)
			<-release
			return nil
		})
	}()
	<-inFn
	waitCtx, cancel := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() {
		_, err := m.EndTxn(waitCtx, "t")
		waited <- err
	}()
	cancel()
	select {
	case err := <-waited:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("EndTxn whose context ended while waiting: %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Errorf("EndTxn kept waiting %v after its context ended", waitLimit)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	// The abandoned EndTxn ended nothing.
	if _, err := m.EndTxn(ctx, "t"); err != nil {
		t.Fatalf("EndTxn after an abandoned one: %v", err)
	}
}

// TestMemTxnsClose closes twice; the transactions stay usable.
func TestMemTxnsClose(t *testing.T) {
	ctx := context.Background()
	m := store.NewMemTxns(1)
	if err := m.BeginTxn(ctx, "t", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.EndTxn(ctx, "t"); err != nil {
		t.Fatalf("EndTxn after Close: %v", err)
	}
}

// BenchmarkMemTxnsSend is a chat send through the transactional API in
// memory: begin, a read, two writes, end.
func BenchmarkMemTxnsSend(b *testing.B) {
	ctx := context.Background()
	m := store.NewMemTxns(0)
	defer m.Close()
	key := store.RecordKey{App: "chat", Schema: "chat.Message", Key: []byte("sroom")}
	steps := []func(*store.TxnState) error{
		func(st *store.TxnState) error {
			st.Reads = append(st.Reads, store.Read{Key: key, Version: 1})
			return nil
		},
		func(st *store.TxnState) error {
			st.Writes = append(st.Writes, store.Write{Key: key, Value: make([]byte, 20)})
			return nil
		},
		func(st *store.TxnState) error {
			st.Writes = append(st.Writes, store.Write{Key: key, Value: make([]byte, 200)})
			return nil
		},
	}
	for i := range b.N {
		id := fmt.Sprint(i)
		if err := m.BeginTxn(ctx, id, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		for _, step := range steps {
			if err := m.UpdateTxn(ctx, id, time.Now().Add(time.Hour), step); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := m.EndTxn(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMemTxnsBytesLimit fills the bound on bytes of all transactions:
// Grow beyond it is refused, a refused or failing fn takes nothing, and
// the bytes come back when a transaction ends or expires.
func TestMemTxnsBytesLimit(t *testing.T) {
	ctx := context.Background()
	m := store.NewMemTxnsLimits(store.MemTxnsLimits{Bytes: 100 << 10})
	t.Cleanup(func() { m.Close() })
	later := time.Now().Add(time.Hour)
	// put adds one write of n bytes of value to id, asking Grow first.
	put := func(id string, key, n int) error {
		return m.UpdateTxn(ctx, id, later, func(st *store.TxnState) error {
			w := store.Write{Key: store.RecordKey{App: "a", Schema: "T", Key: []byte(fmt.Sprint(key))}, Value: make([]byte, n)}
			if err := st.Grow(store.WriteSize(w)); err != nil {
				return err
			}
			st.AddWrite(w)
			return nil
		})
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := m.BeginTxn(ctx, id, later); err != nil {
			t.Fatal(err)
		}
	}
	if err := put("a", 1, 60<<10); err != nil {
		t.Fatal(err)
	}
	if err := put("b", 1, 60<<10); !errors.Is(err, store.ErrTxnBytes) {
		t.Fatalf("a write past the bound: %v, want ErrTxnBytes", err)
	}
	// A fn that fails after Grow gives the grant back.
	err := m.UpdateTxn(ctx, "b", later, func(st *store.TxnState) error {
		if err := st.Grow(30 << 10); err != nil {
			return err
		}
		return errors.New("changed its mind")
	})
	if err == nil || errors.Is(err, store.ErrTxnBytes) {
		t.Fatalf("failing fn: %v", err)
	}
	if err := put("b", 1, 30<<10); err != nil {
		t.Fatalf("a write that fits after a failing fn: %v", err)
	}
	if got, want := m.Bytes(), int64(90<<10)+2*(2+160); got != want {
		t.Fatalf("Bytes() = %d, want %d", got, want)
	}
	if _, err := m.EndTxn(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := put("c", 1, 60<<10); err != nil {
		t.Fatalf("a write after a transaction ended freed its bytes: %v", err)
	}
	// An expired transaction gives its bytes back once purged; the
	// janitor does that within a second or so.
	if err := m.UpdateTxn(ctx, "c", time.Now(), func(*store.TxnState) error { return nil }); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit)
	for m.Bytes() > 40<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("an expired transaction still counts: %d bytes held after %v", m.Bytes(), waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkMemTxnsRead is one transactional read, as the server makes it
// (look the key up among the writes and the reads, then add the read), in
// a transaction that already read b.N keys: with an index and no copy of
// the state per call, the cost does not grow with the reads made so far.
func BenchmarkMemTxnsRead(b *testing.B) {
	for _, before := range []int{0, 10000, 40000} {
		b.Run(fmt.Sprint("after ", before, " reads"), func(b *testing.B) {
			ctx := context.Background()
			m := store.NewMemTxns(0)
			defer m.Close()
			if err := m.BeginTxn(ctx, "t", time.Now().Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
			key := func(i int) store.RecordKey {
				return store.RecordKey{App: "chat", Schema: "chat.Message", Key: fmt.Appendf(nil, "k%09d", i)}
			}
			read := func(i int) {
				err := m.UpdateTxn(ctx, "t", time.Now().Add(time.Hour), func(st *store.TxnState) error {
					k := key(i)
					if _, ok := st.FindWrite(k); ok {
						return nil
					}
					if _, ok := st.FindRead(k); !ok {
						st.AddRead(store.Read{Key: k, Version: 1})
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			for i := range before {
				read(i)
			}
			b.ResetTimer()
			for i := range b.N {
				read(before + i)
			}
		})
	}
}
