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
	"errors"
	"fmt"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// Bucket layout. Nested buckets keep apps apart, so deleting an app is one
// bucket deletion and a range scan can never cross into another app.
var (
	bucketMeta          = []byte("meta")          // "seq" -> last commit sequence number, "id" -> the store's id
	bucketApps          = []byte("apps")          // appID -> JSON appRecord
	bucketSchemas       = []byte("schemas")       // appID/ version "\x00" file -> text
	bucketRecords       = []byte("records")       // appID/ schema/ key -> version(8) value
	bucketNotifications = []byte("notifications") // appID/ id -> JSON notificationRecord
	bucketSequences     = []byte("sequences")     // appID/ name -> last value (8)
	keySeq              = []byte("seq")
	keyID               = []byte("id")
)

// Store is a store.Store on one bbolt file.
type Store struct {
	db *bolt.DB
	id string
	store.Subscribers
	committer *store.Committer

	gate store.Gate
	// writing is a lock (a token in a channel of one) held from the start
	// of each write transaction until its changes are published, so
	// subscribers hear changes in commit order whichever path (group
	// commit, schema, app or notification call) made them.
	writing chan struct{}
}

// Options tune Open.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file; 0 waits forever.
	LockTimeout time.Duration
	// Group bounds the commits that share one bbolt transaction (default:
	// 512 commits, 1 MiB), so one huge group cannot hold the writer lock
	// for long nor make a small commit wait behind megabytes.
	Group store.CommitterOptions
}

// CommitStats implements store.GroupCommitter: a group is one bbolt
// transaction (one pair of fsyncs).
func (s *Store) CommitStats() store.CommitStats { return s.committer.Stats() }

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
	var id string
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketApps, bucketSchemas, bucketRecords, bucketNotifications, bucketSequences} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyID); v != nil {
			id = string(v)
			return nil
		}
		id = store.RandomID()
		return meta.Put(keyID, []byte(id))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: create buckets: %w", path, err)
	}
	s := &Store{db: db, id: id, writing: make(chan struct{}, 1)}
	s.committer = store.NewCommitter(s.applyGroup, opts.Group)
	return s, nil
}

// Close applies the commits already queued, then closes the file.
func (s *Store) Close() error {
	if !s.gate.Close() {
		return nil
	}
	s.committer.Close()
	return s.db.Close()
}

// write runs fn in a write transaction and, once it is durable, publishes
// the changes fn returned, all while holding s.writing: commit order is
// publish order. A subscriber has heard a change before the call that
// made it returns.
func (s *Store) write(fn func(*bolt.Tx) ([]store.Change, error)) error {
	s.writing <- struct{}{}
	defer func() { <-s.writing }()
	var changes []store.Change
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		changes, err = fn(tx)
		return err
	})
	if err != nil {
		return diskErr(err)
	}
	s.Publish(changes...)
	return nil
}

// diskErr marks a write that failed for want of space.
func diskErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", store.ErrNoSpace, err)
	}
	return err
}

// update is write for the calls outside the committer, unless the store
// is closed.
func (s *Store) update(fn func(*bolt.Tx) ([]store.Change, error)) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	return s.write(fn)
}

// change is a write's outcome for update: what to publish, or the error.
func change(c store.Change, err error) ([]store.Change, error) {
	if err != nil {
		return nil, err
	}
	return []store.Change{c}, nil
}

// quiet is a write's outcome for update when subscribers hear nothing.
func quiet(err error) ([]store.Change, error) { return nil, err }

func (s *Store) view(fn func(*bolt.Tx) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	return s.db.View(fn)
}

// ID implements store.Store.
func (s *Store) ID() string { return s.id }

var _ store.Store = (*Store)(nil)
