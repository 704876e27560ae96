package storetest

// Named sequences, idempotency tokens and the records' bytes in published
// changes: the extensions of the data path.

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// seqWrite writes the next value n of app's sequence name as the record
// keyed n in schema M, holding "prefix n"; it refuses n == refuse.
func seqWrite(app, name, prefix string, refuse uint64) store.Write {
	return store.Write{
		Key: rk(app, "M", nil), Sequence: name,
		Assign: func(n uint64) ([]byte, string, []byte, error) {
			if n == refuse {
				return nil, "", nil, fmt.Errorf("value %d refused", n)
			}
			return unsignedKey(n), fmt.Sprint(n), fmt.Appendf(nil, "%s %d", prefix, n), nil
		},
	}
}

func sequence(t *testing.T, st store.Store, app, name string) uint64 {
	t.Helper()
	n, err := st.Sequence(ctxFor(t), app, name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testSequences checks that sequenced writes take consecutive values in
// commit and write order, atomically with the commit's other writes, that
// refused commits take none, and that each app's sequences are its own.
func testSequences(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	c := subscribe(t, st)
	if n := sequence(t, st, "a", "m"); n != 0 {
		t.Fatalf("a new sequence is at %d, want 0", n)
	}
	var assigned []uint64
	other := rk("a", "T", stringKey("head"))
	s1, err := st.Commit(ctx, store.Batch{Assigned: &assigned, Writes: []store.Write{
		seqWrite("a", "m", "first", 0), write(other, "head", "h"), seqWrite("a", "m", "second", 0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(assigned, []uint64{1, 2}) {
		t.Fatalf("the sequenced writes were given %v, want [1 2]", assigned)
	}
	wantValue(t, st, rk("a", "M", unsignedKey(1)), []byte("first 1"), s1)
	wantValue(t, st, rk("a", "M", unsignedKey(2)), []byte("second 2"), s1)
	wantValue(t, st, other, []byte("h"), s1)

	// A refused commit takes no value: by a stale read, by Assign, by an
	// unknown app.
	refusals := []store.Batch{
		{Reads: []store.Read{{Key: other, Version: s1 + 100}}, Writes: []store.Write{seqWrite("a", "m", "stale", 0)}},
		{Writes: []store.Write{seqWrite("a", "m", "ok", 0), seqWrite("a", "m", "refused", 4)}},
		{Writes: []store.Write{seqWrite("a", "m", "x", 0), write(rk("nosuchapp", "T", stringKey("k")), "k", "v")}},
	}
	for i, b := range refusals {
		if _, err := st.Commit(ctx, b); err == nil {
			t.Fatalf("refusal %d committed", i)
		}
	}
	if n := sequence(t, st, "a", "m"); n != 2 {
		t.Fatalf("after refused commits the sequence is at %d, want 2", n)
	}
	wantAbsent(t, st, rk("a", "M", unsignedKey(3)))

	// Sequences are per app and per name.
	s2, err := st.Commit(ctx, store.Batch{Assigned: &assigned, Writes: []store.Write{seqWrite("b", "m", "b", 0), seqWrite("a", "other", "o", 0), seqWrite("a", "m", "third", 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(assigned, []uint64{1, 1, 3}) {
		t.Fatalf("given %v, want [1 1 3]", assigned)
	}
	for app, want := range map[string]uint64{"a": 3, "b": 1} {
		if n := sequence(t, st, app, "m"); n != want {
			t.Fatalf("sequence m of %s is at %d, want %d", app, n, want)
		}
	}
	if n := sequence(t, st, "a", "other"); n != 1 {
		t.Fatalf("sequence other of a is at %d, want 1", n)
	}

	// Subscribers hear the records' bytes; a delete is nil, an empty
	// record is not.
	empty := rk("a", "T", stringKey("empty"))
	s3 := put(t, st, empty, "empty", []byte{})
	s4 := del(t, st, other, "head")
	got := barrier(t, st, c, "a")
	values := map[string][]byte{}
	seqs := map[string]string{}
	for _, ch := range got {
		seqs[fmt.Sprintf("%d %s/%s", ch.Seq, ch.App, ch.Schema)] = fmt.Sprint(ch.Sequences)
		if ch.Kind != store.ChangeRecords || len(ch.Values) != len(ch.Keys) {
			t.Fatalf("change %s carries %d values for %d keys", changeString(ch), len(ch.Values), len(ch.Keys))
		}
		for i, k := range ch.Keys {
			values[fmt.Sprintf("%d %s/%s/%s", ch.Seq, ch.App, ch.Schema, k)] = ch.Values[i]
		}
	}
	want := map[string][]byte{
		fmt.Sprintf("%d a/M/1", s1): []byte("first 1"), fmt.Sprintf("%d a/M/2", s1): []byte("second 2"),
		fmt.Sprintf("%d a/T/head", s1): []byte("h"),
		fmt.Sprintf("%d a/M/3", s2):    []byte("third 3"), fmt.Sprintf("%d b/M/1", s2): []byte("b 1"), fmt.Sprintf("%d a/M/1", s2): []byte("o 1"),
		fmt.Sprintf("%d a/T/empty", s3): {},
		fmt.Sprintf("%d a/T/head", s4):  nil,
	}
	// Each change says which of its app's sequences the commit advanced.
	wantSeqs := map[string]string{
		fmt.Sprintf("%d a/M", s1): "[{a m 2}]", fmt.Sprintf("%d a/T", s1): "[{a m 2}]",
		fmt.Sprintf("%d a/M", s2): "[{a m 3} {a other 1}]", fmt.Sprintf("%d b/M", s2): "[{b m 1}]",
		fmt.Sprintf("%d a/T", s3): "[]",
	}
	for k, v := range wantSeqs {
		if seqs[k] != v {
			t.Errorf("change %s carries sequences %s, want %s", k, seqs[k], v)
		}
	}
	for k, v := range want {
		g, ok := values[k]
		if !ok || !bytes.Equal(g, v) || (v == nil) != (g == nil) {
			t.Errorf("change %s carried %q (present %v), want %q", k, g, ok, v)
		}
	}
}

// testSequenceConcurrent: commits racing on one sequence get every value
// once, in commit order.
func testSequenceConcurrent(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	const workers, each = 8, 25
	type given struct{ seq, n uint64 }
	var mu sync.Mutex
	var all []given
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range each {
				var assigned []uint64
				seq, err := st.Commit(ctx, store.Batch{Assigned: &assigned, Writes: []store.Write{seqWrite("a", "m", fmt.Sprint("w", w), 0), seqWrite("a", "m", fmt.Sprint("w", w), 0)}})
				if err != nil {
					t.Error(err)
					return
				}
				if len(assigned) != 2 || assigned[1] != assigned[0]+1 {
					t.Errorf("one commit was given %v, want two consecutive values", assigned)
				}
				mu.Lock()
				for _, n := range assigned {
					all = append(all, given{seq, n})
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(all, func(a, b given) int { return int(a.n) - int(b.n) })
	for i, g := range all {
		if g.n != uint64(i+1) {
			t.Fatalf("value %d given as %d: values are missing or doubled", i+1, g.n)
		}
		if i > 0 && g.seq < all[i-1].seq {
			t.Fatalf("value %d went to commit %d, before commit %d of value %d", g.n, g.seq, all[i-1].seq, g.n-1)
		}
	}
	if n := sequence(t, st, "a", "m"); n != workers*each*2 {
		t.Fatalf("sequence at %d, want %d", n, workers*each*2)
	}
	if recs := rangeAll(t, st, "a", "M", unsignedKey(0), unsignedKey(1<<20)); len(recs) != workers*each*2 {
		t.Fatalf("%d records, want %d", len(recs), workers*each*2)
	}
}

// testTokens checks idempotency tokens: a second commit with a token
// applies nothing and says what the first was given; tokens are per app,
// never published, expire, and go with their app.
func testTokens(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	c := subscribe(t, st)
	tok := func(app, key string) *store.Token { return &store.Token{App: app, Key: []byte(key)} }
	batch := func(app, key string) store.Batch {
		return store.Batch{Token: tok(app, key), Writes: []store.Write{seqWrite(app, "m", key, 0), seqWrite(app, "m", key, 0)}}
	}
	if _, err := st.Commit(ctx, batch("a", "t1")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, batch("a", "t2")); err != nil {
		t.Fatal(err)
	}
	var dup *store.DuplicateError
	if _, err := st.Commit(ctx, batch("a", "t1")); !errors.As(err, &dup) || !slices.Equal(dup.Assigned, []uint64{1, 2}) {
		t.Fatalf("the token's second commit: %v; want a DuplicateError of [1 2]", err)
	}
	if n := sequence(t, st, "a", "m"); n != 4 {
		t.Fatalf("sequence at %d after a duplicate, want 4 (it took no value)", n)
	}
	// Two racing commits with one token: exactly one applies.
	errs := commitAll(t, st, batch("a", "race"), batch("a", "race"))
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("racing commits with one token: %v, %v; want exactly one to apply", errs[0], errs[1])
	}
	// The same token in another app is another token.
	if _, err := st.Commit(ctx, batch("b", "t1")); err != nil {
		t.Fatalf("app b, token t1: %v", err)
	}
	for _, ch := range barrier(t, st, c, "a") {
		if ch.Schema == store.TokenSchema {
			t.Fatalf("a token was published: %s", changeString(ch))
		}
	}
	// Tokens made before a time expire; younger ones stay.
	n, err := st.ExpireTokens(ctx, time.Now().Add(-time.Hour), 100)
	if err != nil || n != 0 {
		t.Fatalf("ExpireTokens of an hour ago: %d, %v; want 0", n, err)
	}
	n, err = st.ExpireTokens(ctx, time.Now().Add(time.Hour), 2)
	if err != nil || n != 2 {
		t.Fatalf("ExpireTokens with limit 2: %d, %v; want 2", n, err)
	}
	n, err = st.ExpireTokens(ctx, time.Now().Add(time.Hour), 100)
	if err != nil || n != 2 {
		t.Fatalf("ExpireTokens of the rest: %d, %v; want 2", n, err)
	}
	if _, err := st.Commit(ctx, batch("a", "t1")); err != nil {
		t.Fatalf("an expired token is new again: %v", err)
	}
	// Deleting an app deletes its sequences and tokens.
	if err := st.DeleteApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	createApp(t, st, "a")
	if n := sequence(t, st, "a", "m"); n != 0 {
		t.Fatalf("a recreated app's sequence is at %d, want 0", n)
	}
	if _, err := st.Commit(ctx, batch("a", "t1")); err != nil {
		t.Fatalf("a recreated app's token: %v", err)
	}
}
