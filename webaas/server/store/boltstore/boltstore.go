// Package boltstore is the embedded, durable Store: one bbolt file.
//
// Writes of records go through a single committer goroutine that gathers
// every commit waiting at that moment into one bbolt transaction, so many
// concurrent commits share one pair of fsyncs (group commit) and durability
// does not cap throughput at one request per disk flush. Each commit in the
// group is validated against the state left by the commits before it, so a
// conflicting commit is refused without aborting its neighbours.
package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// Bucket layout. Nested buckets keep apps apart, so deleting an app is one
// bucket deletion and a range scan can never cross into another app.
var (
	bucketMeta          = []byte("meta")          // "seq" -> last commit sequence number
	bucketApps          = []byte("apps")          // appID -> JSON appRecord
	bucketSchemas       = []byte("schemas")       // appID/ version "\x00" file -> text
	bucketRecords       = []byte("records")       // appID/ schema/ key -> version(8) value
	bucketNotifications = []byte("notifications") // appID/ id -> JSON notificationRecord
	keySeq              = []byte("seq")
)

// maxBatch caps how many commits share one bbolt transaction, so one huge
// group cannot hold the writer lock for long.
const maxBatch = 512

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file; 0 waits forever.
	LockTimeout time.Duration
}

// Store is a store.Store on one bbolt file.
type Store struct {
	db *bolt.DB
	store.Subscribers

	mu      sync.RWMutex // guards closed and sends on reqs
	closed  bool
	reqs    chan *commitReq
	stopped chan struct{}

	commits, groups atomic.Uint64
}

// Stats counts record commits and the bbolt transactions (fsync pairs)
// that carried them; commits/groups is the group-commit factor.
type Stats struct {
	Commits, Groups uint64
}

// Stats returns the counts so far.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Groups: s.groups.Load()}
}

type commitReq struct {
	ctx      context.Context
	batch    store.Batch
	seq      uint64
	err      error
	done     chan struct{}
	answered bool // only the committer goroutine touches it
}

// answer releases the waiting Commit call, once.
func (r *commitReq) answer() {
	if !r.answered {
		r.answered = true
		close(r.done)
	}
}

type appRecord struct {
	Name          string    `json:"name"`
	ActiveVersion string    `json:"activeVersion,omitempty"`
	Created       time.Time `json:"created"`
}

type notificationRecord struct {
	Schema string   `json:"schema"`
	Keys   []string `json:"keys"`
}

// Open opens (or creates) the store in the file at path.
func Open(path string, opts Options) (*Store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        opts.LockTimeout,
		NoFreelistSync: true, // rebuilt on open; saves a write per commit
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open %s: another process holds it: %w", path, err)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketApps, bucketSchemas, bucketRecords, bucketNotifications} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: create buckets: %w", path, err)
	}
	s := &Store{db: db, reqs: make(chan *commitReq, maxBatch), stopped: make(chan struct{})}
	go s.committer()
	return s, nil
}

// Close waits for queued commits, then closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.stopped
	return s.db.Close()
}

// update runs fn in a write transaction unless the store is closed.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return s.db.Update(fn)
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return s.db.View(fn)
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, app store.App) error {
	v, err := json.Marshal(appRecord{Name: app.Name, ActiveVersion: app.ActiveVersion, Created: app.Created})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		apps := tx.Bucket(bucketApps)
		if apps.Get([]byte(app.ID)) != nil {
			return store.ErrExists
		}
		return apps.Put([]byte(app.ID), v)
	})
}

// App implements store.Store.
func (s *Store) App(ctx context.Context, id string) (store.App, error) {
	var app store.App
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		app, err = getApp(tx, id)
		return err
	})
	return app, err
}

func getApp(tx *bolt.Tx, id string) (store.App, error) {
	v := tx.Bucket(bucketApps).Get([]byte(id))
	if v == nil {
		return store.App{}, store.ErrNotFound
	}
	var r appRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return store.App{}, fmt.Errorf("app %s: corrupt record: %w", id, err)
	}
	return store.App{ID: id, Name: r.Name, ActiveVersion: r.ActiveVersion, Created: r.Created}, nil
}

// DeleteApp implements store.Store.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	err := s.update(func(tx *bolt.Tx) error {
		apps := tx.Bucket(bucketApps)
		if apps.Get([]byte(id)) == nil {
			return store.ErrNotFound
		}
		if err := apps.Delete([]byte(id)); err != nil {
			return err
		}
		for _, b := range [][]byte{bucketSchemas, bucketRecords, bucketNotifications} {
			err := tx.Bucket(b).DeleteBucket([]byte(id))
			if err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.Publish(store.Change{Kind: store.ChangeAppDeleted, App: id})
	}
	return err
}

func schemaFileKey(version, name string) []byte {
	return append(append([]byte(version), 0), name...)
}

// PutSchemaFile implements store.Store.
func (s *Store) PutSchemaFile(ctx context.Context, appID, version, name string, text []byte) error {
	return s.update(func(tx *bolt.Tx) error {
		if _, err := getApp(tx, appID); err != nil {
			return err
		}
		b, err := tx.Bucket(bucketSchemas).CreateBucketIfNotExists([]byte(appID))
		if err != nil {
			return err
		}
		return b.Put(schemaFileKey(version, name), text)
	})
}

// SchemaFiles implements store.Store.
func (s *Store) SchemaFiles(ctx context.Context, appID, version string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSchemas).Bucket([]byte(appID))
		if b == nil {
			return nil
		}
		prefix := schemaFileKey(version, "")
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			files[string(k[len(prefix):])] = bytes.Clone(v)
		}
		return nil
	})
	return files, err
}

// ActivateSchema implements store.Store.
func (s *Store) ActivateSchema(ctx context.Context, appID, version string) error {
	err := s.update(func(tx *bolt.Tx) error {
		app, err := getApp(tx, appID)
		if err != nil {
			return err
		}
		v, err := json.Marshal(appRecord{Name: app.Name, ActiveVersion: version, Created: app.Created})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketApps).Put([]byte(appID), v)
	})
	if err == nil {
		s.Publish(store.Change{Kind: store.ChangeSchema, App: appID})
	}
	return err
}

func encodeValue(version uint64, value []byte) []byte {
	out := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(out, version)
	copy(out[8:], value)
	return out
}

func decodeValue(key, v []byte) store.Record {
	return store.Record{Key: bytes.Clone(key), Version: binary.BigEndian.Uint64(v[:8]), Value: bytes.Clone(v[8:])}
}

func schemaBucket(tx *bolt.Tx, app, schema string) *bolt.Bucket {
	a := tx.Bucket(bucketRecords).Bucket([]byte(app))
	if a == nil {
		return nil
	}
	return a.Bucket([]byte(schema))
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key store.RecordKey) (store.Record, error) {
	var rec store.Record
	err := s.view(func(tx *bolt.Tx) error {
		b := schemaBucket(tx, key.App, key.Schema)
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get(key.Key)
		if v == nil {
			return store.ErrNotFound
		}
		rec = decodeValue(key.Key, v)
		return nil
	})
	return rec, err
}

// Range implements store.Store.
func (s *Store) Range(ctx context.Context, app, schema string, begin, end []byte, skip, limit int) ([]store.Record, bool, error) {
	var recs []store.Record
	more := false
	err := s.view(func(tx *bolt.Tx) error {
		b := schemaBucket(tx, app, schema)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(begin); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
			if skip > 0 {
				skip--
				continue
			}
			if len(recs) == limit {
				more = true
				break
			}
			recs = append(recs, decodeValue(k, v))
		}
		return nil
	})
	return recs, more, err
}

// RangeSize implements store.RangeSizer: it walks the range as Range
// does, copying nothing.
func (s *Store) RangeSize(ctx context.Context, app, schema string, begin, end []byte, skip, limit int) (int, int64, error) {
	n, size := 0, int64(0)
	err := s.view(func(tx *bolt.Tx) error {
		b := schemaBucket(tx, app, schema)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(begin); k != nil && bytes.Compare(k, end) < 0 && n < limit; k, v = c.Next() {
			if skip > 0 {
				skip--
				continue
			}
			n++
			size += int64(len(v) - 8) // after the version
		}
		return nil
	})
	return n, size, err
}

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, b store.Batch) (uint64, error) {
	for _, w := range b.Writes {
		if n := len(w.Key.Key); n == 0 || n > bolt.MaxKeySize {
			return 0, fmt.Errorf("encoded key of %d bytes: bbolt takes 1 to %d", n, bolt.MaxKeySize)
		}
	}
	req := &commitReq{ctx: ctx, batch: b, done: make(chan struct{})}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return 0, store.ErrClosed
	}
	s.reqs <- req
	s.mu.RUnlock()
	// Wait for the outcome even if ctx ends: the committer may already
	// have applied the batch, and the caller must not be told otherwise.
	<-req.done
	return req.seq, req.err
}

// committer applies queued commits in groups until Close.
func (s *Store) committer() {
	defer close(s.stopped)
	for req := range s.reqs {
		s.applyGroup(store.Gather(s.reqs, req, maxBatch))
	}
}

// applyGroup commits a group in one bbolt transaction (one fsync pair).
func (s *Store) applyGroup(group []*commitReq) {
	var changes []store.Change
	err := s.db.Update(func(tx *bolt.Tx) error {
		changes = changes[:0]
		meta := tx.Bucket(bucketMeta)
		var seq uint64
		if v := meta.Get(keySeq); v != nil {
			seq = binary.BigEndian.Uint64(v)
		}
		for _, r := range group {
			r.seq, r.err = 0, nil
			if err := r.ctx.Err(); err != nil {
				r.err = err // the caller gave up before we started: apply nothing
				r.answer()
				continue
			}
			if err := validate(tx, r.batch); err != nil {
				// A refused commit writes nothing, so its answer need not
				// wait for the group's fsync: the loser retries sooner.
				r.err = err
				r.answer()
				continue
			}
			seq++
			if err := apply(tx, r.batch, seq); err != nil {
				return err // a half-applied commit must not land: fail the group
			}
			r.seq = seq
			changes = append(changes, store.ChangesOf(r.batch, seq)...)
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], seq)
		return meta.Put(keySeq, buf[:])
	})
	s.groups.Add(1)
	s.commits.Add(uint64(len(group)))
	for _, r := range group {
		if err != nil && r.err == nil {
			r.seq, r.err = 0, fmt.Errorf("commit: %w", err)
		}
		r.answer()
	}
	if err == nil {
		s.Publish(changes...)
	}
}

// validate checks, inside the group's transaction, that every read still
// holds and every written app exists.
func validate(tx *bolt.Tx, b store.Batch) error {
	apps := tx.Bucket(bucketApps)
	for _, r := range b.Reads {
		var version uint64
		if sb := schemaBucket(tx, r.Key.App, r.Key.Schema); sb != nil {
			if v := sb.Get(r.Key.Key); v != nil {
				version = binary.BigEndian.Uint64(v[:8])
			}
		}
		if version != r.Version {
			return store.ErrConflict
		}
	}
	for _, w := range b.Writes {
		if apps.Get([]byte(w.Key.App)) == nil {
			return fmt.Errorf("%w %s", store.ErrUnknownApp, w.Key.App)
		}
	}
	return nil
}

func apply(tx *bolt.Tx, b store.Batch, seq uint64) error {
	records := tx.Bucket(bucketRecords)
	for _, w := range b.Writes {
		ab, err := records.CreateBucketIfNotExists([]byte(w.Key.App))
		if err != nil {
			return err
		}
		sb, err := ab.CreateBucketIfNotExists([]byte(w.Key.Schema))
		if err != nil {
			return err
		}
		if w.Delete {
			err = sb.Delete(w.Key.Key)
		} else {
			err = sb.Put(w.Key.Key, encodeValue(seq, w.Value))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PutNotification implements store.Store.
func (s *Store) PutNotification(ctx context.Context, n store.Notification) error {
	v, err := json.Marshal(notificationRecord{Schema: n.Schema, Keys: n.Keys})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if _, err := getApp(tx, n.App); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w %s", store.ErrUnknownApp, n.App)
			}
			return err
		}
		b, err := tx.Bucket(bucketNotifications).CreateBucketIfNotExists([]byte(n.App))
		if err != nil {
			return err
		}
		return b.Put([]byte(n.ID), v)
	})
}

// Notification implements store.Store.
func (s *Store) Notification(ctx context.Context, appID, id string) (store.Notification, error) {
	var n store.Notification
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications).Bucket([]byte(appID))
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		var r notificationRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("notification %s: corrupt record: %w", id, err)
		}
		n = store.Notification{ID: id, App: appID, Schema: r.Schema, Keys: r.Keys}
		return nil
	})
	return n, err
}

// DeleteNotification implements store.Store.
func (s *Store) DeleteNotification(ctx context.Context, appID, id string) error {
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications).Bucket([]byte(appID))
		if b == nil || b.Get([]byte(id)) == nil {
			return store.ErrNotFound
		}
		return b.Delete([]byte(id))
	})
	if err == nil {
		s.Publish(store.Change{Kind: store.ChangeNotificationDeleted, App: appID, NotificationID: id})
	}
	return err
}

var _ store.Store = (*Store)(nil)
