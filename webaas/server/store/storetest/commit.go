package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

func write(key store.RecordKey, text, value string) store.Write {
	return store.Write{Key: key, TextKey: text, Value: []byte(value)}
}

// testCommitAtomic checks that a commit lands whole, across records,
// types and apps, and that a refused one changes nothing.
func testCommitAtomic(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	k1, k2, k3 := rk("a", "T", stringKey("1")), rk("a", "U", stringKey("2")), rk("b", "T", stringKey("1"))
	seq, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(k1, "1", "a1"), write(k2, "2", "a2"), write(k3, "1", "b1")}})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, st, k1, []byte("a1"), seq)
	wantValue(t, st, k2, []byte("a2"), seq)
	wantValue(t, st, k3, []byte("b1"), seq)

	// Many records in one commit share its version.
	var many []store.Write
	for i := range 300 {
		many = append(many, write(rk("a", "Many", signedKey(int64(i))), fmt.Sprint(i), fmt.Sprint("v", i)))
	}
	big, err := st.Commit(ctx, store.Batch{Writes: many})
	if err != nil {
		t.Fatal(err)
	}
	if big <= seq {
		t.Fatalf("a later commit got seq %d after %d", big, seq)
	}
	recs := rangeAll(t, st, "a", "Many", signedKey(-1), signedKey(1000))
	if len(recs) != 300 {
		t.Fatalf("%d of 300 records of one commit are visible", len(recs))
	}
	for _, r := range recs {
		if r.Version != big {
			t.Fatalf("record %q has version %d, want the commit's %d", r.Key, r.Version, big)
		}
	}

	// Writes apply in order: the last write of a key wins.
	k4 := rk("a", "T", stringKey("4"))
	s4, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(k4, "4", "first"), write(k4, "4", "second")}})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, st, k4, []byte("second"), s4)
	_, err = st.Commit(ctx, store.Batch{Writes: []store.Write{write(k4, "4", "third"), {Key: k4, TextKey: "4", Delete: true}}})
	if err != nil {
		t.Fatal(err)
	}
	wantAbsent(t, st, k4)
	s4, err = st.Commit(ctx, store.Batch{Writes: []store.Write{{Key: k4, TextKey: "4", Delete: true}, write(k4, "4", "fourth")}})
	if err != nil {
		t.Fatal(err)
	}
	wantValue(t, st, k4, []byte("fourth"), s4)

	// A stale read refuses the whole batch: nothing of it lands, in any app.
	cur := mustGet(t, st, k1).Version
	before := seq
	bump := put(t, st, k2, "2", []byte("a2'"))
	_, err = st.Commit(ctx, store.Batch{
		Reads: []store.Read{{Key: k1, Version: cur}, {Key: k2, Version: before}},
		Writes: []store.Write{
			write(k1, "1", "lost"), write(k3, "1", "lost"),
			write(rk("a", "New", stringKey("n")), "n", "lost"), {Key: rk("a", "Many", signedKey(5)), TextKey: "5", Delete: true},
		},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("commit with a stale read: %v, want ErrConflict", err)
	}
	wantValue(t, st, k1, []byte("a1"), seq)
	wantValue(t, st, k2, []byte("a2'"), bump)
	wantValue(t, st, k3, []byte("b1"), seq)
	wantAbsent(t, st, rk("a", "New", stringKey("n")))
	wantValue(t, st, rk("a", "Many", signedKey(5)), []byte("v5"), big)

	// The next commit still gets a larger seq.
	if next := put(t, st, k1, "1", []byte("a1''")); next <= bump {
		t.Fatalf("commit after a refused one got seq %d, not above %d", next, bump)
	}
}

// testCommitUnknownApp checks that a batch writing to a missing app is
// refused whole, wherever the bad write sits.
func testCommitUnknownApp(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	good := rk("a", "T", stringKey("good"))
	bad := rk("nosuchapp", "T", stringKey("bad"))
	for _, writes := range [][]store.Write{
		{write(good, "good", "v"), write(bad, "bad", "v")},
		{write(bad, "bad", "v"), write(good, "good", "v")},
		{write(good, "good", "v"), {Key: bad, TextKey: "bad", Delete: true}},
	} {
		_, err := st.Commit(ctx, store.Batch{Writes: writes})
		if !errors.Is(err, store.ErrUnknownApp) {
			t.Fatalf("commit writing to an unknown app: %v, want ErrUnknownApp", err)
		}
		wantAbsent(t, st, good)
		wantAbsent(t, st, bad)
	}
	// Reading a missing app's record as absent is a valid read.
	seq, err := st.Commit(ctx, store.Batch{Reads: []store.Read{{Key: bad, Version: 0}}, Writes: []store.Write{write(good, "good", "v")}})
	if err != nil {
		t.Fatalf("commit reading an unknown app's record as absent: %v", err)
	}
	wantValue(t, st, good, []byte("v"), seq)
	// An app deleted since is unknown too.
	if err := st.DeleteApp(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	_, err = st.Commit(ctx, store.Batch{Writes: []store.Write{write(good, "good", "again")}})
	if !errors.Is(err, store.ErrUnknownApp) {
		t.Fatalf("commit to a deleted app: %v, want ErrUnknownApp", err)
	}
	wantAbsent(t, st, good)
}

// testCommitCanceled checks that a commit whose context has ended is all
// or nothing too: either it says it committed and its writes are there,
// or it fails with the context's error and they are not.
func testCommitCanceled(t *testing.T, st store.Store) {
	createApp(t, st, "a")
	for i := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		k1, k2 := rk("a", "T", signedKey(int64(i))), rk("a", "U", signedKey(int64(i)))
		seq, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(k1, fmt.Sprint(i), "v"), write(k2, fmt.Sprint(i), "v")}})
		switch {
		case err == nil:
			wantValue(t, st, k1, []byte("v"), seq)
			wantValue(t, st, k2, []byte("v"), seq)
		case errors.Is(err, context.Canceled):
			wantAbsent(t, st, k1)
			wantAbsent(t, st, k2)
		default:
			t.Fatalf("commit with a canceled context: %v, want success or context.Canceled", err)
		}
	}
}

// testVersions checks optimistic validation, version by version.
func testVersions(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	k := rk("a", "T", stringKey("k"))
	other := rk("b", "T", stringKey("k")) // same schema and key, other app

	commit := func(reads []store.Read, writes ...store.Write) (uint64, error) {
		return st.Commit(ctx, store.Batch{Reads: reads, Writes: writes})
	}
	mustCommit := func(reads []store.Read, writes ...store.Write) uint64 {
		t.Helper()
		seq, err := commit(reads, writes...)
		if err != nil {
			t.Fatalf("commit: %v", err)
		}
		return seq
	}
	wantConflict := func(reads []store.Read, writes ...store.Write) {
		t.Helper()
		if _, err := commit(reads, writes...); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("commit with stale reads %v: %v, want ErrConflict", reads, err)
		}
	}
	read := func(key store.RecordKey, v uint64) []store.Read { return []store.Read{{Key: key, Version: v}} }

	// Absent is version 0: a read of "absent" holds until the key exists.
	v1 := mustCommit(read(k, 0), write(k, "k", "v1"))
	wantValue(t, st, k, []byte("v1"), v1)
	wantConflict(read(k, 0), write(k, "k", "lost"))
	wantValue(t, st, k, []byte("v1"), v1)

	// A read of v1 holds until someone else commits the key.
	v2 := mustCommit(read(k, v1), write(k, "k", "v2"))
	if v2 <= v1 {
		t.Fatalf("versions must grow: %d then %d", v1, v2)
	}
	wantConflict(read(k, v1), write(k, "k", "lost"))
	wantConflict(read(k, v1), write(rk("a", "T", stringKey("elsewhere")), "elsewhere", "lost"))
	wantAbsent(t, st, rk("a", "T", stringKey("elsewhere")))
	wantValue(t, st, k, []byte("v2"), v2)

	// A write to the same key in another app, or another key, does not
	// touch this key's version.
	ov := mustCommit(read(other, 0), write(other, "k", "other"))
	mustCommit(nil, write(rk("a", "T", stringKey("k2")), "k2", "x"))
	wantValue(t, st, k, []byte("v2"), v2)
	v3 := mustCommit(read(k, v2), write(k, "k", "v3"))
	if v3 <= ov {
		t.Fatalf("versions must grow across keys and apps: %d then %d", ov, v3)
	}

	// A version the key never had is stale too.
	wantConflict(read(k, v3+1000), write(k, "k", "lost"))
	wantConflict(read(k, v3-1), write(k, "k", "lost"))

	// Delete makes the key absent again: version 0 holds, old ones do not.
	d := mustCommit(read(k, v3), store.Write{Key: k, TextKey: "k", Delete: true})
	if d <= v3 {
		t.Fatalf("delete got seq %d after %d", d, v3)
	}
	wantAbsent(t, st, k)
	wantConflict(read(k, v3), write(k, "k", "lost"))
	wantConflict(read(k, d), write(k, "k", "lost"))
	v4 := mustCommit(read(k, 0), write(k, "k", "v4"))
	if v4 <= d {
		t.Fatalf("recreated key got version %d after delete at %d", v4, d)
	}
	wantValue(t, st, k, []byte("v4"), v4)

	// Deleting an absent key is a valid write.
	absent := rk("a", "T", stringKey("never"))
	mustCommit(read(absent, 0), store.Write{Key: absent, TextKey: "never", Delete: true})
	wantAbsent(t, st, absent)

	// Every read of a batch is checked, not only the first.
	k5 := rk("a", "T", stringKey("k5"))
	v5 := put(t, st, k5, "k5", []byte("v5"))
	wantConflict([]store.Read{{Key: k, Version: v4}, {Key: other, Version: ov}, {Key: k5, Version: v5 - 1}}, write(k, "k", "lost"))
	mustCommit([]store.Read{{Key: k, Version: v4}, {Key: other, Version: ov}, {Key: k5, Version: v5}}, write(k, "k", "v6"))
}

// testReadOnlyCommit checks that a batch with only reads is validated.
func testReadOnlyCommit(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	k := rk("a", "T", stringKey("k"))
	v := put(t, st, k, "k", []byte("v"))
	seq, err := st.Commit(ctx, store.Batch{Reads: []store.Read{{Key: k, Version: v}, {Key: rk("a", "T", stringKey("none")), Version: 0}}})
	if err != nil {
		t.Fatalf("read-only commit of current versions: %v", err)
	}
	if seq <= v {
		t.Fatalf("read-only commit got seq %d, not above %d", seq, v)
	}
	put(t, st, k, "k", []byte("v'"))
	_, err = st.Commit(ctx, store.Batch{Reads: []store.Read{{Key: k, Version: v}}})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("read-only commit of a stale version: %v, want ErrConflict", err)
	}
	if _, err := st.Commit(ctx, store.Batch{}); err != nil {
		t.Fatalf("empty commit: %v", err)
	}
}

// testWriteSkew runs the classic write-skew pair: T1 reads A and writes B,
// T2 reads B and writes A, from the same state. Serializable means exactly
// one of them commits.
func testWriteSkew(t *testing.T, st store.Store) {
	createApp(t, st, "a")
	a, b := rk("a", "T", stringKey("A")), rk("a", "T", stringKey("B"))
	for round := range 20 {
		va, vb := version(t, st, a), version(t, st, b)
		t1 := store.Batch{Reads: []store.Read{{Key: a, Version: va}}, Writes: []store.Write{write(b, "B", fmt.Sprint("t1 ", round))}}
		t2 := store.Batch{Reads: []store.Read{{Key: b, Version: vb}}, Writes: []store.Write{write(a, "A", fmt.Sprint("t2 ", round))}}
		errs := commitAll(t, st, t1, t2)
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d of the write-skew pair committed (%v), want exactly 1", round, ok, errs)
		}
	}
}

// version returns the key's version, 0 when absent.
func version(t *testing.T, st store.Store, key store.RecordKey) uint64 {
	t.Helper()
	rec, err := st.Get(ctxFor(t), key)
	if errors.Is(err, store.ErrNotFound) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return rec.Version
}
