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
