// Package msgcache keeps, on disk, the message records a chat has read
// from rooms' servers: so that a search need not read a whole room again
// for every query, and so that a chat started again can show a room's
// last page before its server answers.
//
// It keeps records as the server sent them (chat.Message.Record: sealed,
// in an encrypted room), by room and sequence number, and which ranges of
// sequence numbers have been read whole (so that what is missing is read
// once, not every time). It believes nothing it stores: the chat decodes
// each record again (chat.Room.Decode), signature checked, so a record
// changed on disk can never show as a verified line. The server stays the
// truth: a record read again replaces the one kept.
//
// The cache is one bbolt file, readable by its owner only (0600, in a
// 0700 directory), held by one process at a time. It is bounded: at most
// MaxPerRoom messages per room (the oldest go first) and MaxBytes of
// records in all (the least recently used rooms go first, whole).
package msgcache

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/webaas-chat/webaas-chat/chat"
)

// The default bounds.
const (
	// DefaultMaxPerRoom is how many messages a room keeps at most: a
	// room of 200,000 messages is searched with no read from the server.
	DefaultMaxPerRoom = 200_000
	// DefaultMaxBytes is how many bytes of records all rooms keep at
	// most (the file can be larger by bbolt's pages and free space).
	DefaultMaxBytes = 256 << 20
)

// FileName is the cache's file in its directory.
const FileName = "messages.db"

// formatVersion is the layout below; a file of another is started afresh.
const formatVersion = "1"

var (
	// ErrInUse says another process holds the cache (another chat).
	ErrInUse = errors.New("the message cache is in use by another webaas-chat")
	// ErrBadRange says a range of sequence numbers is empty or starts
	// below 1, or a record lies outside the range it was put with.
	ErrBadRange = errors.New("bad range of sequence numbers")
)

// Options bound the cache; zero values take the defaults.
type Options struct {
	MaxPerRoom int
	MaxBytes   int64
	// LockTimeout is how long Open waits for another process to let go
	// of the file (default one second).
	LockTimeout time.Duration
	// Now is the clock of "least recently used" (default time.Now).
	Now func() time.Time
}

// kept is one kept record.
type kept struct {
	Seq  int64
	Data []byte
}

// Cache is an open message cache. It is safe for concurrent use.
type Cache struct {
	db   *bolt.DB
	dir  string
	opts Options
}

// Bucket layout: rooms/<code>/{info, meta, msgs/<seq: 8 bytes big-endian>}.
var (
	versionKey = []byte("version")
	metaBucket = []byte("cache")
	roomsKey   = []byte("rooms")
	infoKey    = []byte("info")
	metaKey    = []byte("meta")
	msgsKey    = []byte("msgs")
)

// meta is what the cache knows of one room besides its records.
type meta struct {
	Used  int64      `json:"used"`  // last put, Unix ms: the LRU order
	Count int        `json:"count"` // records kept
	Bytes int64      `json:"bytes"` // their size, keys included
	Read  []interval `json:"read"`  // ranges read whole from the server
}

// Open opens (or makes) the cache in dir, making dir 0700 and the file
// 0600 whatever they were: they hold what the rooms said, in the clear
// for a room in the clear.
func Open(dir string, o Options) (*Cache, error) {
	if o.MaxPerRoom <= 0 {
		o.MaxPerRoom = DefaultMaxPerRoom
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := private(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("message cache %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("message cache %s: %w (webaas-chat cache clear starts it afresh)", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("message cache: %w", err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if v := b.Get(versionKey); v != nil && string(v) != formatVersion {
			if err := tx.DeleteBucket(roomsKey); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
		}
		if err := b.Put(versionKey, []byte(formatVersion)); err != nil {
			return err
		}
		_, err = tx.CreateBucketIfNotExists(roomsKey)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("message cache %s: %w", path, err)
	}
	return &Cache{db: db, dir: dir, opts: o}, nil
}

// private makes dir, or narrows it, to its owner alone.
func private(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("message cache: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("message cache: %w", err)
	}
	return nil
}

// Remove deletes the cache in dir, file and all (deleting records inside
// the file would leave their bytes in its free pages). It fails with
// ErrInUse while a chat holds it.
func Remove(dir string) error {
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("message cache %s: %w (quit it first)", path, ErrInUse)
	}
	if err == nil {
		db.Close()
	}
	// A file bbolt cannot open is removed all the same: it is the cache.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("message cache: %w", err)
	}
	return nil
}

// Close closes the file.
func (c *Cache) Close() error { return c.db.Close() }

// Path is the cache's file.
func (c *Cache) Path() string { return c.db.Path() }

func seqKey(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }

func keySeq(k []byte) int64 { return int64(binary.BigEndian.Uint64(k)) }

func readMeta(rb *bolt.Bucket) (meta, error) {
	var m meta
	if v := rb.Get(metaKey); v != nil {
		if err := json.Unmarshal(v, &m); err != nil {
			return meta{}, fmt.Errorf("room meta: %w", err)
		}
	}
	return m, nil
}

func writeMeta(rb *bolt.Bucket, m meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return rb.Put(metaKey, b)
}

// room is room's bucket, made if need be.
func room(tx *bolt.Tx, code string) (*bolt.Bucket, *bolt.Bucket, error) {
	rb, err := tx.Bucket(roomsKey).CreateBucketIfNotExists([]byte(code))
	if err != nil {
		return nil, nil, err
	}
	mb, err := rb.CreateBucketIfNotExists(msgsKey)
	return rb, mb, err
}

// PutRoom keeps room's own record (chat.Room.InfoRecord).
func (c *Cache) PutRoom(code string, info []byte) error {
	if code == "" || len(info) == 0 {
		return fmt.Errorf("message cache: room %q: empty record", code)
	}
	return c.update(func(tx *bolt.Tx) error {
		rb, _, err := room(tx, code)
		if err != nil {
			return err
		}
		return rb.Put(infoKey, info)
	})
}

// RoomInfo is what PutRoom kept of room (nil: nothing).
func (c *Cache) RoomInfo(code string) ([]byte, error) {
	var out []byte
	err := c.view(func(tx *bolt.Tx) error {
		if rb := tx.Bucket(roomsKey).Bucket([]byte(code)); rb != nil {
			out = bytes.Clone(rb.Get(infoKey))
		}
		return nil
	})
	return out, err
}

// Put keeps what was read of room's sequence numbers from <= seq < to:
// msgs, by their records, replacing whatever was kept in that range (a
// number with no message in msgs has none on the server either). The
// range is then known as read, unless a message came without its record
// (read without chat.KeepRecords): those are not kept, and the range
// stays to be read.
func (c *Cache) Put(code string, from, to int64, msgs []chat.Message) error {
	if from < 1 || to <= from {
		return fmt.Errorf("message cache: [%d, %d): %w", from, to, ErrBadRange)
	}
	whole := true
	recs := make([]kept, 0, len(msgs))
	for _, m := range msgs {
		if m.Seq < from || m.Seq >= to {
			return fmt.Errorf("message cache: message %d outside [%d, %d): %w", m.Seq, from, to, ErrBadRange)
		}
		if m.Record() == nil {
			whole = false
			continue
		}
		recs = append(recs, kept{Seq: m.Seq, Data: m.Record()})
	}
	slices.SortFunc(recs, func(a, b kept) int { return cmp.Compare(a.Seq, b.Seq) })
	return c.update(func(tx *bolt.Tx) error {
		rb, mb, err := room(tx, code)
		if err != nil {
			return err
		}
		m, err := readMeta(rb)
		if err != nil {
			return err
		}
		// What the range held and the server no longer has goes.
		keep := make(map[int64]bool, len(recs))
		for _, r := range recs {
			keep[r.Seq] = true
		}
		cur := mb.Cursor()
		var gone [][]byte
		for k, v := cur.Seek(seqKey(from)); k != nil && keySeq(k) < to; k, v = cur.Next() {
			m.Count--
			m.Bytes -= int64(len(k) + len(v))
			if !keep[keySeq(k)] {
				gone = append(gone, bytes.Clone(k))
			}
		}
		for _, k := range gone {
			if err := mb.Delete(k); err != nil {
				return err
			}
		}
		for _, r := range recs {
			k := seqKey(r.Seq)
			if err := mb.Put(k, r.Data); err != nil {
				return err
			}
			m.Count++
			m.Bytes += int64(len(k) + len(r.Data))
		}
		if whole {
			m.Read = addInterval(m.Read, interval{from, to})
		}
		m.Used = c.opts.Now().UnixMilli()
		if err := c.trimRoom(mb, &m, c.opts.MaxPerRoom, c.opts.MaxBytes); err != nil {
			return err
		}
		if err := writeMeta(rb, m); err != nil {
			return err
		}
		return c.evict(tx, code)
	})
}

// trimRoom drops a room's oldest records until it keeps at most n of
// them and max bytes.
func (c *Cache) trimRoom(mb *bolt.Bucket, m *meta, n int, maxBytes int64) error {
	if m.Count <= n && m.Bytes <= maxBytes {
		return nil
	}
	cur := mb.Cursor()
	var drop [][]byte
	k, v := cur.First()
	for ; k != nil && (m.Count > n || m.Bytes > maxBytes); k, v = cur.Next() {
		m.Count--
		m.Bytes -= int64(len(k) + len(v))
		drop = append(drop, bytes.Clone(k))
	}
	// What was dropped is no longer read: a search reads it again.
	first := int64(1 << 62)
	if k != nil {
		first = keySeq(k)
	}
	m.Read = subInterval(m.Read, interval{1, first})
	for _, d := range drop {
		if err := mb.Delete(d); err != nil {
			return err
		}
	}
	return nil
}

// evict drops the least recently used rooms, whole, but the one just
// put, until all rooms together keep at most MaxBytes (trimRoom bounds
// that one alone).
func (c *Cache) evict(tx *bolt.Tx, current string) error {
	type usage struct {
		code  []byte
		used  int64
		bytes int64
	}
	var rooms []usage
	var total int64
	err := tx.Bucket(roomsKey).ForEachBucket(func(k []byte) error {
		m, err := readMeta(tx.Bucket(roomsKey).Bucket(k))
		if err != nil {
			m = meta{} // unreadable: the first to go
		}
		total += m.Bytes
		if string(k) != current {
			rooms = append(rooms, usage{bytes.Clone(k), m.Used, m.Bytes})
		}
		return nil
	})
	if err != nil || total <= c.opts.MaxBytes {
		return err
	}
	slices.SortFunc(rooms, func(a, b usage) int { return cmp.Compare(a.used, b.used) })
	for _, r := range rooms {
		if total <= c.opts.MaxBytes {
			break
		}
		if err := tx.Bucket(roomsKey).DeleteBucket(r.code); err != nil {
			return err
		}
		total -= r.bytes
	}
	return nil
}

// Forget drops what is kept of message seq, and marks it unread: its
// record changed on the server (a delete overwrote it), so it is read
// again.
func (c *Cache) Forget(code string, seq int64) error {
	return c.update(func(tx *bolt.Tx) error {
		rb := tx.Bucket(roomsKey).Bucket([]byte(code))
		if rb == nil {
			return nil
		}
		m, err := readMeta(rb)
		if err != nil {
			return err
		}
		mb := rb.Bucket(msgsKey)
		if v := mb.Get(seqKey(seq)); v != nil {
			m.Count--
			m.Bytes -= int64(8 + len(v))
			if err := mb.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		m.Read = subInterval(m.Read, interval{seq, seq + 1})
		return writeMeta(rb, m)
	})
}

// Records calls fn with each kept record of room with from <= seq < to,
// in order: its sequence number (the key it was kept under) and its
// bytes, which are fn's to keep.
func (c *Cache) Records(code string, from, to int64, fn func(seq int64, rec []byte)) error {
	var out []kept
	err := c.view(func(tx *bolt.Tx) error {
		rb := tx.Bucket(roomsKey).Bucket([]byte(code))
		if rb == nil {
			return nil
		}
		cur := rb.Bucket(msgsKey).Cursor()
		for k, v := cur.Seek(seqKey(max(from, 0))); k != nil && keySeq(k) < to; k, v = cur.Next() {
			out = append(out, kept{Seq: keySeq(k), Data: bytes.Clone(v)})
		}
		return nil
	})
	// Outside the transaction: fn may take its time (it decodes).
	for _, r := range out {
		fn(r.Seq, r.Data)
	}
	return err
}

// Newest calls fn with room's newest n kept records, oldest first (as
// Records does).
func (c *Cache) Newest(code string, n int, fn func(seq int64, rec []byte)) error {
	var out []kept
	err := c.view(func(tx *bolt.Tx) error {
		rb := tx.Bucket(roomsKey).Bucket([]byte(code))
		if rb == nil {
			return nil
		}
		cur := rb.Bucket(msgsKey).Cursor()
		for k, v := cur.Last(); k != nil && len(out) < n; k, v = cur.Prev() {
			out = append(out, kept{Seq: keySeq(k), Data: bytes.Clone(v)})
		}
		return nil
	})
	slices.Reverse(out)
	for _, r := range out {
		fn(r.Seq, r.Data)
	}
	return err
}

// Missing are the ranges [from, to) of room's sequence numbers within
// [from, to) that were never read whole (or were dropped since), oldest
// first.
func (c *Cache) Missing(code string, from, to int64) ([][2]int64, error) {
	var read []interval
	err := c.view(func(tx *bolt.Tx) error {
		rb := tx.Bucket(roomsKey).Bucket([]byte(code))
		if rb == nil {
			return nil
		}
		m, err := readMeta(rb)
		read = m.Read
		return err
	})
	if err != nil {
		return nil, err
	}
	var out [][2]int64
	for _, iv := range gaps(read, interval{from, to}) {
		out = append(out, [2]int64{iv.From, iv.To})
	}
	return out, nil
}

// Stats are what the cache holds: rooms, messages and their bytes.
type Stats struct {
	Rooms    int
	Messages int
	Bytes    int64
}

// Stats counts what the cache holds.
func (c *Cache) Stats() (Stats, error) {
	var s Stats
	err := c.view(func(tx *bolt.Tx) error {
		return tx.Bucket(roomsKey).ForEachBucket(func(k []byte) error {
			m, err := readMeta(tx.Bucket(roomsKey).Bucket(k))
			if err != nil {
				return err
			}
			s.Rooms++
			s.Messages += m.Count
			s.Bytes += m.Bytes
			return nil
		})
	})
	return s, err
}

func (c *Cache) update(fn func(*bolt.Tx) error) error {
	if err := c.db.Update(fn); err != nil {
		return fmt.Errorf("message cache: %w", err)
	}
	return nil
}

func (c *Cache) view(fn func(*bolt.Tx) error) error {
	if err := c.db.View(fn); err != nil {
		return fmt.Errorf("message cache: %w", err)
	}
	return nil
}
