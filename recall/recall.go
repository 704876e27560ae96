// Package recall keeps what was typed in each room, for the input's ↑:
// one JSON file per installation, readable only by its owner, written
// whole and atomically (a new file renamed over the old), keyed by room
// code. It never holds an invite: a line that carries one is not kept.
//
// Several chats on one installation may share the file: each write reads
// it again first (when another process changed it) and adds to what is
// there, so one chat does not drop another's lines.
package recall

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// FileName is the history's file in the state directory.
const FileName = "input-history.json"

// Limits. A room keeps its newest MaxLines lines and at most MaxRoomBytes
// of them, the oldest dropped first; the file keeps the MaxRooms rooms
// used last. So the file stays under about MaxRooms × MaxRoomBytes
// (6.4 MiB), and rewriting it on a send stays cheap.
const (
	MaxLines     = 500
	MaxRooms     = 200
	MaxRoomBytes = 32 << 10
	// MaxLineBytes is the longest line kept: a message longer than the
	// chat sends (4000 bytes) is never sent, so never recalled.
	MaxLineBytes = 4096
)

// version is the file format's; a file of another version is set aside,
// not misread.
const version = 1

// file is the JSON form.
type file struct {
	Version int              `json:"version"`
	Rooms   map[string]*room `json:"rooms"`
}

type room struct {
	// Used is when a line was last added (Unix ms): the rooms used least
	// recently go first when there are more than MaxRooms.
	Used  int64    `json:"used"`
	Lines []string `json:"lines"` // oldest first
}

// Store is the history of every room. Add keeps a line in memory at
// once, in the order of the calls, and a goroutine of the store's writes
// the file soon after, so that a send never waits for the disk; Close
// writes what is left. Its methods may be called from several
// goroutines.
type Store struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	mu    sync.Mutex
	rooms map[string]*room
	// queued are the lines added since the file was last written: when
	// another process wrote it meanwhile, they are added to what it holds.
	queued []added
	// seen is the file as this store last read or wrote it: when it is
	// still so, a write need not read it again.
	seen   fs.FileInfo
	err    error // the last write's
	closed bool

	wake chan struct{} // something to write (capacity 1)
	done chan struct{} // the writer has ended
}

type added struct {
	code, line string
	at         int64
}

// Open reads the history at path (no file yet: an empty history) and
// starts its writer. A file that cannot be read as a history is moved
// aside to path+".bad" (so nothing in it is lost) and the history starts
// empty; log says so. An error is returned only when the file cannot be
// read at all.
func Open(path string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{path: path, log: log, now: time.Now, wake: make(chan struct{}, 1), done: make(chan struct{})}
	rooms, info, err := s.read()
	if err != nil {
		return nil, err
	}
	s.rooms, s.seen = rooms, info
	go s.writer()
	return s, nil
}

// read reads the file: its rooms and its stat (nil: no file, or one
// moved aside).
func (s *Store) read() (map[string]*room, fs.FileInfo, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*room{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("input history: %w", err)
	}
	info, err := f.Stat()
	var data []byte
	if err == nil {
		data, err = io.ReadAll(f)
	}
	f.Close() // before a rename aside (some systems rename no open file)
	if err != nil {
		return nil, nil, fmt.Errorf("input history: %w", err)
	}
	var v file
	if err := json.Unmarshal(data, &v); err != nil || v.Version != version {
		why := fmt.Sprintf("version %d, want %d", v.Version, version)
		if err != nil {
			why = err.Error()
		}
		bad := s.path + ".bad"
		if rerr := os.Rename(s.path, bad); rerr != nil {
			return nil, nil, fmt.Errorf("input history %s is not readable (%s) and cannot be moved aside: %w", s.path, why, rerr)
		}
		s.log.Warn("input history not readable: moved aside, starting afresh", "file", bad, "why", why)
		return map[string]*room{}, nil, nil
	}
	rooms := map[string]*room{}
	for code, r := range v.Rooms {
		if r != nil {
			// A file edited by hand (or by an older chat) keeps to the
			// limits too, and never gives back a secret.
			r.Lines = bound(slices.DeleteFunc(r.Lines, func(l string) bool { return !Keep(l) }))
			rooms[code] = r
		}
	}
	evict(rooms)
	return rooms, info, nil
}

// Load returns the lines kept for the room (its code), oldest first.
func (s *Store) Load(code string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.rooms[code]; r != nil {
		return append([]string(nil), r.Lines...)
	}
	return nil
}

// Keep reports whether line may be kept: not empty, not too long, and
// with no secret in it (an invite is the key to its room, an exported
// identity signs as you, and this file is no place for keys).
func Keep(line string) bool {
	if strings.TrimSpace(line) == "" || len(line) > MaxLineBytes {
		return false
	}
	// ParseInvite drops white space before it reads an invite, so a
	// secret split by a space or a line break still opens its room: look
	// for one with the white space gone, whatever the case.
	joined := strings.ToLower(strings.Join(strings.Fields(line), ""))
	for _, p := range secretPrefixes {
		if strings.Contains(joined, p) {
			return false
		}
	}
	return true
}

// secretPrefixes start the chat's secrets as people paste them: an
// invite with its room's key (a bare room code opens no encrypted room)
// and an exported identity.
var secretPrefixes = []string{"webaas-chat+", "webaas-chat-identity-"}

// Add keeps line as the room's newest (unless Keep refuses it, or it
// repeats the newest); the file is written soon.
func (s *Store) Add(code, line string) {
	if !Keep(line) || code == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	a := added{code: code, line: line, at: s.now().UnixMilli()}
	apply(s.rooms, a)
	s.queued = append(s.queued, a)
	select {
	case s.wake <- struct{}{}:
	default: // a write is due already: it takes this line too
	}
}

// apply adds one line to rooms, within the limits.
func apply(rooms map[string]*room, a added) {
	r := rooms[a.code]
	if r == nil {
		r = &room{}
		rooms[a.code] = r
	}
	r.Used = max(r.Used, a.at)
	if n := len(r.Lines); n == 0 || r.Lines[n-1] != a.line {
		r.Lines = bound(append(r.Lines, a.line))
	}
	evict(rooms)
}

// Err is the last write's error (nil: written, or nothing to write).
func (s *Store) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close writes what is not written yet and stops the writer; it returns
// the last write's error. Add does nothing after it.
func (s *Store) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.wake)
	}
	s.mu.Unlock()
	<-s.done
	return s.Err()
}

// writer writes the file each time something was added, until Close.
func (s *Store) writer() {
	defer close(s.done)
	for range s.wake {
		s.flush()
	}
	s.flush() // what came with the Close
}

// flush writes the history if lines were added since the last write,
// first taking what another process wrote meanwhile. The disk is written
// without the lock, so that Add and Load never wait for it.
func (s *Store) flush() {
	s.mu.Lock()
	if len(s.queued) == 0 {
		s.mu.Unlock()
		return
	}
	if changed, err := s.changed(); err != nil {
		s.log.Warn("input history: not read again before a write", "err", err)
	} else if changed {
		rooms, info, err := s.read()
		if err != nil {
			s.log.Warn("input history: not read again before a write", "err", err)
		} else if info != nil { // (moved aside: what is in memory is written anew)
			for _, a := range s.queued {
				apply(rooms, a)
			}
			s.rooms = rooms
		}
	}
	data, err := json.Marshal(file{Version: version, Rooms: s.rooms})
	n := len(s.queued)
	s.mu.Unlock()

	var info fs.FileInfo
	if err == nil {
		info, err = writeFile(s.path, data)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err = err; err != nil {
		s.log.Warn("input history not saved", "err", err)
		return // kept queued: the next write tries again
	}
	s.seen, s.queued = info, s.queued[n:]
}

// changed reports whether the file is not as this store last saw it.
func (s *Store) changed() (bool, error) {
	info, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil // gone: written anew from memory
	case err != nil:
		return false, err
	case s.seen == nil:
		return true, nil // made by another chat since this one read it
	}
	return !os.SameFile(info, s.seen) || !info.ModTime().Equal(s.seen.ModTime()) || info.Size() != s.seen.Size(), nil
}

// bound drops the oldest lines beyond MaxLines and MaxRoomBytes.
func bound(lines []string) []string {
	if len(lines) > MaxLines {
		lines = lines[len(lines)-MaxLines:]
	}
	size, from := 0, len(lines)
	for from > 0 && size+len(lines[from-1]) <= MaxRoomBytes {
		from--
		size += len(lines[from])
	}
	return append([]string(nil), lines[from:]...)
}

// evict drops the rooms used least recently beyond MaxRooms.
func evict(rooms map[string]*room) {
	if len(rooms) <= MaxRooms {
		return
	}
	codes := make([]string, 0, len(rooms))
	for c := range rooms {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		a, b := rooms[codes[i]], rooms[codes[j]]
		if a.Used != b.Used {
			return a.Used < b.Used
		}
		return codes[i] < codes[j]
	})
	for _, c := range codes[:len(codes)-MaxRooms] {
		delete(rooms, c)
	}
}

// writeFile writes data to a new file beside path, on disk before it
// replaces path; it is made 0600 (what was typed is nobody else's to
// read). It returns the new file's stat.
func writeFile(path string, data []byte) (fs.FileInfo, error) {
	fail := func(err error) (fs.FileInfo, error) { return nil, fmt.Errorf("input history: %w", err) }
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	tmp, err := os.CreateTemp(dir, ".input-history-*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fail(err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fail(err)
	}
	return info, nil
}
