package recall

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeStore(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// What is added comes back after a restart, room by room, in order, from
// a file only its owner can read, in a directory made for it.
func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "webaas-chat", FileName)
	s := open(t, path)
	if got := s.Load("room-a"); got != nil {
		t.Fatalf("a new history holds %q", got)
	}
	s.Add("room-a", "hello")
	s.Add("room-b", "/me waves")
	s.Add("room-a", "two\nlines")
	s.Add("room-a", "two\nlines") // a repeat is kept once
	if got := s.Load("room-a"); !slices.Equal(got, []string{"hello", "two\nlines"}) {
		t.Fatalf("in memory: %q", got)
	}
	closeStore(t, s)
	s.Add("room-a", "after the close") // dropped, not a panic

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the file is %v, want 0600", info.Mode().Perm())
	}
	if dir, err := os.Stat(filepath.Dir(path)); err != nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("its directory: %v, %v", dir.Mode().Perm(), err)
	}
	again := open(t, path)
	defer closeStore(t, again)
	if got := again.Load("room-a"); !slices.Equal(got, []string{"hello", "two\nlines"}) {
		t.Errorf("room-a after a restart: %q", got)
	}
	if got := again.Load("room-b"); !slices.Equal(got, []string{"/me waves"}) {
		t.Errorf("room-b after a restart: %q", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files (a temporary file left?)", len(entries))
	}
}

// A file written by someone else with looser permissions is 0600 after
// the next write.
func TestRewriteIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte(`{"version":1,"rooms":{}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	s.Add("r", "x")
	closeStore(t, s)
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("after a write: %v, %v", info.Mode().Perm(), err)
	}
}

// A room keeps its newest MaxLines lines, and no more than MaxRoomBytes;
// a line over MaxLineBytes, an empty one and one with a secret are not
// kept; the file keeps the MaxRooms rooms used last.
func TestBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	s := open(t, path)
	at := time.Unix(1e9, 0)
	s.now = func() time.Time { at = at.Add(time.Second); return at }
	for i := range MaxLines + 100 {
		s.Add("many", fmt.Sprint("line ", i))
	}
	got := s.Load("many")
	if len(got) != MaxLines || got[0] != "line 100" || got[MaxLines-1] != fmt.Sprint("line ", MaxLines+99) {
		t.Fatalf("after %d lines: %d kept, from %q", MaxLines+100, len(got), got[0])
	}

	big := strings.Repeat("x", 4000)
	for i := range 20 {
		s.Add("big", fmt.Sprint(i, big))
	}
	got = s.Load("big")
	size := 0
	for _, l := range got {
		size += len(l)
	}
	if size > MaxRoomBytes || len(got) != MaxRoomBytes/4002 || !strings.HasPrefix(got[len(got)-1], "19") {
		t.Fatalf("big lines: %d kept, %d bytes", len(got), size)
	}

	for _, line := range []string{
		strings.Repeat("y", MaxLineBytes+1),
		"   ",
		"/join webaas-chat+http://h:1/0f8fad5b-d9cb-469f-a165-70867728950e#SECRET",
		"my key: webaas-chat-identity-v1:abcdef",
	} {
		s.Add("refused", line)
	}
	if got := s.Load("refused"); got != nil {
		t.Fatalf("kept %q", got)
	}

	for i := range MaxRooms + 5 {
		if i == 150 {
			s.Add("room-0", "used again") // used since: kept
		}
		s.Add(fmt.Sprint("room-", i), "hi")
	}
	closeStore(t, s)

	again := open(t, path)
	defer closeStore(t, again)
	if len(again.rooms) != MaxRooms {
		t.Fatalf("%d rooms kept, want %d", len(again.rooms), MaxRooms)
	}
	for _, gone := range []string{"many", "big", "room-1", "room-5"} {
		if again.Load(gone) != nil {
			t.Errorf("%s is kept; the rooms used least recently go first", gone)
		}
	}
	if got := again.Load("room-0"); !slices.Equal(got, []string{"hi", "used again"}) {
		t.Errorf("room-0: %q", got)
	}
	if again.Load("room-6") == nil || again.Load(fmt.Sprint("room-", MaxRooms+4)) == nil {
		t.Error("a room used recently is gone")
	}
	info, _ := os.Stat(path)
	if max := int64(MaxRooms * (MaxRoomBytes + 1024)); info.Size() > max {
		t.Errorf("the file is %d bytes", info.Size())
	}
}

// A file that is not a history is moved aside, whole, and the history
// starts afresh.
func TestUnreadableFileIsSetAside(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":       "not json at all",
		"other version": `{"version":99,"rooms":{"r":{"lines":["x"]}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), FileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			s := open(t, path)
			if got := s.Load("r"); got != nil {
				t.Fatalf("read %q", got)
			}
			s.Add("r", "fresh")
			closeStore(t, s)
			if b, err := os.ReadFile(path + ".bad"); err != nil || string(b) != content {
				t.Fatalf("set aside: %q, %v", b, err)
			}
			again := open(t, path)
			defer closeStore(t, again)
			if got := again.Load("r"); !slices.Equal(got, []string{"fresh"}) {
				t.Fatalf("after: %q", got)
			}
		})
	}
}

// Two chats on one installation share the file: neither drops the
// other's lines.
func TestTwoChatsShareTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	a, b := open(t, path), open(t, path)
	a.Add("r", "from a")
	closeStore(t, a)
	b.Add("r", "from b")
	b.Add("s", "b elsewhere")
	closeStore(t, b)
	c := open(t, path)
	defer closeStore(t, c)
	if got := c.Load("r"); !slices.Equal(got, []string{"from a", "from b"}) {
		t.Fatalf("r: %q", got)
	}
	if got := c.Load("s"); !slices.Equal(got, []string{"b elsewhere"}) {
		t.Fatalf("s: %q", got)
	}
}

// A write that fails is said by Close (and the log), and what was added
// stays in memory.
func TestWriteErrorIsReported(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, FileName)
	s := open(t, path)
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err) // a file where the directory should be
	}
	s.Add("r", "kept in memory")
	if err := s.Close(); err == nil {
		t.Fatal("no error from a write that cannot happen")
	}
	if got := s.Load("r"); !slices.Equal(got, []string{"kept in memory"}) {
		t.Fatalf("memory: %q", got)
	}
}

// A secret split by white space still opens its room (ParseInvite drops
// it), so it is never kept either; one already in the file is dropped on
// reading.
func TestSecretsSplitByWhiteSpaceAreNotKept(t *testing.T) {
	for _, line := range []string{
		"/join webaas-chat\n+http://h/1b4e28ba-2fa1-41d2-883f-0016d3cca427#KEY",
		"/join webaas-chat +http://h/CODE#KEY",
		"here: WEBAAS-CHAT+http://h/CODE#KEY",
		"webaas-chat-\tidentity-v1:abc",
	} {
		if Keep(line) {
			t.Errorf("Keep(%q) = true", line)
		}
	}
	path := filepath.Join(t.TempDir(), "input-history.json")
	data := `{"version":1,"rooms":{"room":{"used":1,"lines":["hello","/join webaas-chat +http://h/C#KEY","bye"]}}}`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Load("room"); !slices.Equal(got, []string{"hello", "bye"}) {
		t.Errorf("read back %q", got)
	}
}
