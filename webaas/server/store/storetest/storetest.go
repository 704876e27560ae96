// Package storetest is the conformance suite for store.Store: every
// promise of the store package, checked against any implementation through
// its real interface. An implementation's tests call Run (and RunDurable
// when the store can be closed and opened again on the same data):
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... })
//	}
//
// Keys in the suite are built the way the server builds them (a tag byte,
// then an encoding whose byte order is the typed order), and deliberately
// include 0x00 and 0xff bytes, so a store that compares keys as text, or
// stops at a NUL, fails.
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// waitLimit bounds every wait for an asynchronous delivery. It is not a
// performance target: it only keeps a broken store from hanging the test.
const waitLimit = 30 * time.Second

// OpenFunc returns a new, empty store owned by t. It must arrange to close
// the store when t ends (t.Cleanup); the suite may close it earlier, so
// Close must tolerate being called twice.
type OpenFunc func(t *testing.T) store.Store

// ReopenFunc is an OpenFunc that also returns reopen, which opens the same
// data again. The suite calls reopen only after closing st; the store
// reopen returns must be closed when t ends, like st.
type ReopenFunc func(t *testing.T) (st store.Store, reopen func() store.Store)

// Run checks every promise of the store package against stores from open.
// Each subtest gets its own store.
func Run(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"KeyOrder", testKeyOrder},
		{"RangeBounds", testRangeBounds},
		{"RangePaging", testRangePaging},
		{"RangeScope", testRangeScope},
		{"RangeSize", testRangeSize},
		{"Get", testGet},
		{"LargeKeysAndValues", testLargeKeysAndValues},
		{"CommitAtomic", testCommitAtomic},
		{"CommitUnknownApp", testCommitUnknownApp},
		{"CommitCanceled", testCommitCanceled},
		{"Versions", testVersions},
		{"ReadOnlyCommit", testReadOnlyCommit},
		{"WriteSkew", testWriteSkew},
		{"OneWinnerPerVersion", testOneWinnerPerVersion},
		{"ConcurrentCounter", testConcurrentCounter},
		{"GroupCommit", testGroupCommit},
		{"LastSeq", testLastSeq},
		{"SubscribeRecords", testSubscribeRecords},
		{"SubscribeOrder", testSubscribeOrder},
		{"SubscribeConcurrent", testSubscribeConcurrent},
		{"SubscribeCancel", testSubscribeCancel},
		{"Apps", testApps},
		{"DeleteApp", testDeleteApp},
		{"DeleteAppRacingCommits", testDeleteAppRacingCommits},
		{"SchemaFiles", testSchemaFiles},
		{"ActivateSchema", testActivateSchema},
		{"SchemaRevisions", testSchemaRevisions},
		{"SchemaVersions", testSchemaVersions},
		{"Notifications", testNotifications},
		{"NotificationExpiry", testNotificationExpiry},
		{"Sequences", testSequences},
		{"SequenceConcurrent", testSequenceConcurrent},
		{"Tokens", testTokens},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// RunDurable checks that what a store acknowledged survives Close and
// reopening, including commits racing with Close.
func RunDurable(t *testing.T, open ReopenFunc) {
	t.Run("Reopen", func(t *testing.T) {
		st, reopen := open(t)
		testReopen(t, st, reopen)
	})
	t.Run("CloseDuringCommits", func(t *testing.T) {
		st, reopen := open(t)
		testCloseDuringCommits(t, st, reopen)
	})
}

// Key encodings, as the server's keys.go builds them: a tag byte, then
// bytes whose order is the typed order.

func signedKey(v int64) []byte {
	out := []byte{'i', 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(out[1:], uint64(v)^(1<<63))
	return out
}

func unsignedKey(v uint64) []byte {
	out := []byte{'u', 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(out[1:], v)
	return out
}

func boolKey(v bool) []byte {
	if v {
		return []byte{'b', 1}
	}
	return []byte{'b', 0}
}

func stringKey(s string) []byte { return append([]byte{'s'}, s...) }

func rk(app, schema string, key []byte) store.RecordKey {
	return store.RecordKey{App: app, Schema: schema, Key: key}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*waitLimit)
	t.Cleanup(cancel)
	return ctx
}

func createApp(t *testing.T, st store.Store, ids ...string) {
	t.Helper()
	for _, id := range ids {
		app := store.App{ID: id, Name: "name of " + id, Created: time.Now().UTC().Truncate(time.Microsecond)}
		if err := st.CreateApp(ctxFor(t), app); err != nil {
			t.Fatalf("CreateApp(%s): %v", id, err)
		}
	}
}

// put upserts one record in its own commit and returns the commit's seq.
func put(t *testing.T, st store.Store, key store.RecordKey, text string, value []byte) uint64 {
	t.Helper()
	seq, err := st.Commit(ctxFor(t), store.Batch{Writes: []store.Write{{Key: key, TextKey: text, Value: value}}})
	if err != nil {
		t.Fatalf("commit %s/%s/%q: %v", key.App, key.Schema, key.Key, err)
	}
	if seq == 0 {
		t.Fatalf("commit %s/%s/%q returned seq 0; 0 means absent", key.App, key.Schema, key.Key)
	}
	return seq
}

func del(t *testing.T, st store.Store, key store.RecordKey, text string) uint64 {
	t.Helper()
	seq, err := st.Commit(ctxFor(t), store.Batch{Writes: []store.Write{{Key: key, TextKey: text, Delete: true}}})
	if err != nil {
		t.Fatalf("delete %s/%s/%q: %v", key.App, key.Schema, key.Key, err)
	}
	return seq
}

// mustGet returns the record, failing the test if it is absent.
func mustGet(t *testing.T, st store.Store, key store.RecordKey) store.Record {
	t.Helper()
	rec, err := st.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get %s/%s/%q: %v", key.App, key.Schema, key.Key, err)
	}
	if !bytes.Equal(rec.Key, key.Key) {
		t.Fatalf("Get %s/%s/%q returned key %q", key.App, key.Schema, key.Key, rec.Key)
	}
	return rec
}

func wantAbsent(t *testing.T, st store.Store, key store.RecordKey) {
	t.Helper()
	rec, err := st.Get(ctxFor(t), key)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get %s/%s/%q = version %d, %v; want ErrNotFound", key.App, key.Schema, key.Key, rec.Version, err)
	}
}

func wantValue(t *testing.T, st store.Store, key store.RecordKey, value []byte, version uint64) {
	t.Helper()
	rec := mustGet(t, st, key)
	if !bytes.Equal(rec.Value, value) || rec.Version != version {
		t.Fatalf("Get %s/%s/%q = %q version %d; want %q version %d", key.App, key.Schema, key.Key, clip(rec.Value), rec.Version, clip(value), version)
	}
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

func rangeAll(t *testing.T, st store.Store, app, schema string, begin, end []byte) []store.Record {
	t.Helper()
	recs, more, err := st.Range(ctxFor(t), app, schema, begin, end, 0, 1<<20)
	if err != nil {
		t.Fatalf("Range %s/%s [%q, %q): %v", app, schema, begin, end, err)
	}
	if more {
		t.Fatalf("Range %s/%s [%q, %q) with a huge limit says more", app, schema, begin, end)
	}
	return recs
}

func keysOf(recs []store.Record) [][]byte {
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.Key
	}
	return out
}

func equalKeys(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, bytes.Equal)
}

// collector is a subscriber that records every change.
type collector struct {
	mu      sync.Mutex
	changes []store.Change
	signal  chan struct{}
}

func subscribe(t *testing.T, st store.Store) *collector {
	c := &collector{signal: make(chan struct{}, 1)}
	t.Cleanup(st.Subscribe(c.add))
	return c
}

func (c *collector) add(chs []store.Change) {
	c.mu.Lock()
	for _, ch := range chs {
		ch.Keys, ch.Values, ch.Sequences = slices.Clone(ch.Keys), slices.Clone(ch.Values), slices.Clone(ch.Sequences)
		c.changes = append(c.changes, ch)
	}
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *collector) snapshot() []store.Change {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.changes)
}

// waitFor waits until done holds for the changes so far, and returns them.
func (c *collector) waitFor(t *testing.T, what string, done func([]store.Change) bool) []store.Change {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		got := c.snapshot()
		if done(got) {
			return got
		}
		select {
		case <-c.signal:
		case <-deadline.C:
			t.Fatalf("gave up after %v waiting for %s; got %d changes:\n%s", waitLimit, what, len(got), describe(got))
		}
	}
}

// waitCount waits for at least n changes and returns the first n; extra
// changes mean the store published something it should not have.
func (c *collector) waitCount(t *testing.T, n int) []store.Change {
	t.Helper()
	got := c.waitFor(t, fmt.Sprintf("%d changes", n), func(cs []store.Change) bool { return len(cs) >= n })
	return got[:n]
}

func describe(cs []store.Change) string {
	var b bytes.Buffer
	for _, c := range cs {
		fmt.Fprintf(&b, "  %s\n", changeString(c))
	}
	return b.String()
}

func kindName(k store.ChangeKind) string {
	switch k {
	case store.ChangeRecords:
		return "records"
	case store.ChangeSchema:
		return "schema"
	case store.ChangeAppDeleted:
		return "app-deleted"
	case store.ChangeNotificationDeleted:
		return "notification-deleted"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

func changeString(c store.Change) string {
	switch c.Kind {
	case store.ChangeRecords:
		keys := slices.Clone(c.Keys)
		sort.Strings(keys)
		return fmt.Sprintf("records seq=%d %s/%s %q", c.Seq, c.App, c.Schema, keys)
	case store.ChangeNotificationDeleted:
		return fmt.Sprintf("notification-deleted %s/%s", c.App, c.NotificationID)
	}
	return fmt.Sprintf("%s %s", kindName(c.Kind), c.App)
}

// sameChange compares what a subscriber may rely on: the keys of a record
// change as a set, and Seq only for record changes (the doc promises it
// only there).
func sameChange(a, b store.Change) bool {
	return changeString(a) == changeString(b)
}

// normalize orders the changes of one commit (a run of record changes with
// the same Seq), which a store may publish in any order.
func normalize(cs []store.Change) []store.Change {
	cs = slices.Clone(cs)
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && cs[i].Kind == store.ChangeRecords && cs[j].Kind == store.ChangeRecords && cs[j].Seq == cs[i].Seq {
			j++
		}
		run := cs[i:j]
		sort.SliceStable(run, func(a, b int) bool { return changeString(run[a]) < changeString(run[b]) })
		i = j
	}
	return cs
}

func wantChanges(t *testing.T, got, want []store.Change) {
	t.Helper()
	got, want = normalize(got), normalize(want)
	if len(got) != len(want) {
		t.Fatalf("got %d changes, want %d\ngot:\n%swant:\n%s", len(got), len(want), describe(got), describe(want))
	}
	for i := range want {
		if !sameChange(got[i], want[i]) {
			t.Fatalf("change %d differs\ngot:\n%swant:\n%s", i, describe(got), describe(want))
		}
	}
}
