package msgcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// roomWith is a room on a real server holding n messages, read back
// with their records.
func roomWith(t *testing.T, n int) (*chat.Room, []chat.Message) {
	t.Helper()
	ctx := context.Background()
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err := c.CreateRoom(ctx, "cache test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		if _, err := s.Send(ctx, fmt.Sprint("message ", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	reader, err := c.OpenRoom(ctx, room.Code(), chat.KeepRecords())
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := reader.After(ctx, 0)
	if err != nil || len(msgs) != n {
		t.Fatalf("read %d, %v", len(msgs), err)
	}
	return reader, msgs
}

func records(t *testing.T, c *Cache, code string, from, to int64) []int64 {
	t.Helper()
	var seqs []int64
	if err := c.Records(code, from, to, func(seq int64, _ []byte) { seqs = append(seqs, seq) }); err != nil {
		t.Fatal(err)
	}
	return seqs
}

func TestRoundTrip(t *testing.T) {
	room, msgs := roomWith(t, 10)
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	code := room.Code()
	if err := c.PutRoom(code, room.InfoRecord()); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(code, 3, 11, msgs[2:]); err != nil {
		t.Fatal(err)
	}
	c.Close()

	// Another launch: all of it is there, and decodes as the server's.
	c, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := c.RoomInfo(code)
	if err != nil || string(info) != string(room.InfoRecord()) {
		t.Fatalf("room record %q, %v", info, err)
	}
	var got []chat.Message
	err = c.Records(code, 1, 100, func(seq int64, rec []byte) {
		m, err := room.Decode(rec)
		if err != nil || m.Seq != seq {
			t.Errorf("record %d: %+v, %v", seq, m, err)
		}
		got = append(got, m)
	})
	if err != nil || len(got) != 8 || got[0].Text != "message 3" || got[7].Text != "message 10" {
		t.Fatalf("records %+v, %v", got, err)
	}
	var newest []int64
	if err := c.Newest(code, 3, func(seq int64, _ []byte) { newest = append(newest, seq) }); err != nil || !slices.Equal(newest, []int64{8, 9, 10}) {
		t.Fatalf("newest %v, %v", newest, err)
	}
	missing, err := c.Missing(code, 1, 21)
	if err != nil || !slices.Equal(missing, [][2]int64{{1, 3}, {11, 21}}) {
		t.Fatalf("missing %v, %v", missing, err)
	}

	// Read again, the server is the truth: a number it no longer has
	// goes; one read again replaces what was kept.
	if err := c.Put(code, 5, 8, []chat.Message{msgs[4], msgs[6]}); err != nil {
		t.Fatal(err)
	}
	if got := records(t, c, code, 1, 100); !slices.Equal(got, []int64{3, 4, 5, 7, 8, 9, 10}) {
		t.Fatalf("after reading 5..7 again: %v", got)
	}
	// Forget: a delete overwrote it on the server; it is read again.
	if err := c.Forget(code, 9); err != nil {
		t.Fatal(err)
	}
	if got := records(t, c, code, 1, 100); !slices.Equal(got, []int64{3, 4, 5, 7, 8, 10}) {
		t.Fatalf("after forgetting 9: %v", got)
	}
	if missing, _ := c.Missing(code, 1, 11); !slices.Equal(missing, [][2]int64{{1, 3}, {9, 10}}) {
		t.Fatalf("missing after forgetting 9: %v", missing)
	}
	s, err := c.Stats()
	if err != nil || s.Rooms != 1 || s.Messages != 6 || s.Bytes <= 0 {
		t.Fatalf("stats %+v, %v", s, err)
	}
}

// A message read without chat.KeepRecords is not kept, and its range is
// not taken as read.
func TestPutWithoutRecords(t *testing.T) {
	_, msgs := roomWith(t, 2)
	c, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bare := msgs[0]
	bare = chat.Message{Seq: bare.Seq, Text: bare.Text}
	if err := c.Put("room", 1, 3, []chat.Message{bare, msgs[1]}); err != nil {
		t.Fatal(err)
	}
	if got := records(t, c, "room", 1, 3); !slices.Equal(got, []int64{2}) {
		t.Fatalf("kept %v", got)
	}
	if missing, _ := c.Missing("room", 1, 3); !slices.Equal(missing, [][2]int64{{1, 3}}) {
		t.Fatalf("missing %v", missing)
	}
	for _, r := range [][2]int64{{0, 3}, {3, 3}, {2, 1}} {
		if err := c.Put("room", r[0], r[1], nil); !errors.Is(err, ErrBadRange) {
			t.Errorf("Put [%d, %d): %v", r[0], r[1], err)
		}
	}
	if err := c.Put("room", 2, 3, msgs[:1]); !errors.Is(err, ErrBadRange) {
		t.Errorf("a message outside its range: %v", err)
	}
}

// The bounds: a room keeps its newest MaxPerRoom; all rooms together
// MaxBytes, the least recently used going first, whole.
func TestBounds(t *testing.T) {
	_, msgs := roomWith(t, 20)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	dir := t.TempDir()
	c, err := Open(dir, Options{MaxPerRoom: 8, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put("a", 1, 21, msgs); err != nil {
		t.Fatal(err)
	}
	if got := records(t, c, "a", 1, 100); !slices.Equal(got, []int64{13, 14, 15, 16, 17, 18, 19, 20}) {
		t.Fatalf("per-room bound 8 kept %v", got)
	}
	if missing, _ := c.Missing("a", 1, 21); !slices.Equal(missing, [][2]int64{{1, 13}}) {
		t.Fatalf("what the bound dropped is not read: missing %v", missing)
	}
	s, _ := c.Stats()
	c.Close()

	// Room of the same size: two fit, a third does not.
	c, err = Open(dir, Options{MaxPerRoom: 8, MaxBytes: 2*s.Bytes + s.Bytes/2, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, room := range []string{"b", "c"} {
		now = now.Add(time.Minute)
		if err := c.Put(room, 13, 21, msgs[12:]); err != nil {
			t.Fatal(err)
		}
	}
	// a was used first: it goes, whole.
	if got := records(t, c, "a", 1, 100); len(got) != 0 {
		t.Fatalf("the least recently used room kept %v", got)
	}
	if info, _ := c.RoomInfo("a"); info != nil {
		t.Fatal("the evicted room's record stayed")
	}
	for _, room := range []string{"b", "c"} {
		if got := records(t, c, room, 1, 100); len(got) != 8 {
			t.Fatalf("room %s kept %v", room, got)
		}
	}
	st, _ := c.Stats()
	if st.Bytes > 2*s.Bytes+s.Bytes/2 || st.Rooms != 2 {
		t.Fatalf("stats %+v over the bound", st)
	}
	// A room alone over the bound keeps its newest that fit.
	small, err := Open(t.TempDir(), Options{MaxBytes: s.Bytes / 2})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if err := small.Put("a", 13, 21, msgs[12:]); err != nil {
		t.Fatal(err)
	}
	got := records(t, small, "a", 1, 100)
	if len(got) == 0 || len(got) >= 8 || got[len(got)-1] != 20 {
		t.Fatalf("a room over the byte bound kept %v", got)
	}
}

// The cache is its owner's: the directory 0700 and the file 0600, even
// if they were made wider before.
func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, FileName), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, c.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", path, got, want)
		}
	}
	fresh := filepath.Join(t.TempDir(), "a", "b")
	c2, err := Open(fresh, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if fi, _ := os.Stat(c2.Path()); fi.Mode().Perm() != 0o600 {
		t.Errorf("a new file is %o", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(fresh); fi.Mode().Perm() != 0o700 {
		t.Errorf("a new directory is %o", fi.Mode().Perm())
	}
}

// One process at a time: a second Open says it is in use, and so does
// Remove, which works once the first is closed.
func TestInUseAndRemove(t *testing.T) {
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrInUse) {
		t.Fatalf("second open: %v", err)
	}
	if err := Remove(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("remove while open: %v", err)
	}
	c.Close()
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the file is still there: %v", err)
	}
	if err := Remove(dir); err != nil {
		t.Fatalf("removing what is not there: %v", err)
	}
}

// A file of another layout is started afresh, not misread.
func TestOtherFormatStartsAfresh(t *testing.T) {
	room, msgs := roomWith(t, 1)
	dir := t.TempDir()
	c, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(room.Code(), 1, 2, msgs); err != nil {
		t.Fatal(err)
	}
	c.Close()
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(metaBucket).Put(versionKey, []byte("0")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	c, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := records(t, c, room.Code(), 1, 10); len(got) != 0 {
		t.Fatalf("kept %v across a format change", got)
	}
}

func TestIntervals(t *testing.T) {
	var set []interval
	for _, iv := range []interval{{10, 20}, {30, 40}, {20, 25}, {1, 5}, {4, 11}, {50, 50}} {
		set = addInterval(set, iv)
	}
	if want := []interval{{1, 25}, {30, 40}}; !slices.Equal(set, want) {
		t.Fatalf("added: %v, want %v", set, want)
	}
	set = subInterval(set, interval{5, 31})
	if want := []interval{{1, 5}, {31, 40}}; !slices.Equal(set, want) {
		t.Fatalf("after taking [5, 31): %v, want %v", set, want)
	}
	if got, want := gaps(set, interval{0, 50}), []interval{{0, 1}, {5, 31}, {40, 50}}; !slices.Equal(got, want) {
		t.Fatalf("gaps %v, want %v", got, want)
	}
	if got := gaps(set, interval{2, 4}); len(got) != 0 {
		t.Fatalf("gaps inside a read range: %v", got)
	}
}
