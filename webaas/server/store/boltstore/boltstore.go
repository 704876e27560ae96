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

type appRecord struct {
	Name          string    `json:"name"`
	ActiveVersion string    `json:"activeVersion,omitempty"`
	Created       time.Time `json:"created"`
	SchemaRev     uint64    `json:"schemaRev,omitempty"`
}

func (r appRecord) app(id string) store.App {
	return store.App{ID: id, Name: r.Name, ActiveVersion: r.ActiveVersion, Created: r.Created, SchemaRev: r.SchemaRev}
}

type notificationRecord struct {
	Schema     string    `json:"schema"`
	Keys       []string  `json:"keys"`
	LastActive time.Time `json:"lastActive,omitzero"`
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
	var id string
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketApps, bucketSchemas, bucketRecords, bucketNotifications} {
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

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, app store.App) error {
	v, err := json.Marshal(appRecord{Name: app.Name, ActiveVersion: app.ActiveVersion, Created: app.Created})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		apps := tx.Bucket(bucketApps)
		if apps.Get([]byte(app.ID)) != nil {
			return nil, store.ErrExists
		}
		return quiet(apps.Put([]byte(app.ID), v))
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
	r, err := getAppRecord(tx, id)
	return r.app(id), err
}

func getAppRecord(tx *bolt.Tx, id string) (appRecord, error) {
	var r appRecord
	v := tx.Bucket(bucketApps).Get([]byte(id))
	if v == nil {
		return r, store.ErrNotFound
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("app %s: corrupt record: %w", id, err)
	}
	return r, nil
}

// bumpSchemaRev checks the app's schema revision against ifRev and
// advances it, inside a schema change's transaction.
func bumpSchemaRev(tx *bolt.Tx, id string, ifRev uint64, change func(*appRecord)) error {
	r, err := getAppRecord(tx, id)
	if err != nil {
		return err
	}
	if ifRev != store.AnyRev && r.SchemaRev != ifRev {
		return store.ErrConflict
	}
	r.SchemaRev++
	if change != nil {
		change(&r)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketApps).Put([]byte(id), v)
}

// DeleteApp implements store.Store.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		apps := tx.Bucket(bucketApps)
		if apps.Get([]byte(id)) == nil {
			return nil, store.ErrNotFound
		}
		if err := apps.Delete([]byte(id)); err != nil {
			return nil, err
		}
		for _, b := range [][]byte{bucketSchemas, bucketRecords, bucketNotifications} {
			err := tx.Bucket(b).DeleteBucket([]byte(id))
			if err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return nil, err
			}
		}
		return change(store.Change{Kind: store.ChangeAppDeleted, App: id}, nil)
	})
}

func schemaFileKey(version, name string) []byte {
	return append(append([]byte(version), 0), name...)
}

// PutSchemaFile implements store.Store; an upload into the active version
// is published as a schema change.
func (s *Store) PutSchemaFile(ctx context.Context, appID, version, name string, text []byte, ifRev uint64) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		active := false
		err := bumpSchemaRev(tx, appID, ifRev, func(r *appRecord) { active = r.ActiveVersion == version })
		if err != nil {
			return nil, err
		}
		b, err := tx.Bucket(bucketSchemas).CreateBucketIfNotExists([]byte(appID))
		if err != nil {
			return nil, err
		}
		if err := b.Put(schemaFileKey(version, name), text); err != nil || !active {
			return nil, err
		}
		// A file of the active version changes what the app serves.
		return change(store.Change{Kind: store.ChangeSchema, App: appID}, nil)
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

// SchemaVersions implements store.Store.
func (s *Store) SchemaVersions(ctx context.Context, appID string) ([]string, error) {
	var versions []string
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSchemas).Bucket([]byte(appID))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; {
			version, _, _ := bytes.Cut(k, []byte{0})
			versions = append(versions, string(version))
			// The first key past every file of this version.
			k, _ = c.Seek(append(bytes.Clone(version), 1))
		}
		return nil
	})
	return versions, err
}

// ActivateSchema implements store.Store.
func (s *Store) ActivateSchema(ctx context.Context, appID, version string, ifRev uint64) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		err := bumpSchemaRev(tx, appID, ifRev, func(r *appRecord) { r.ActiveVersion = version })
		return change(store.Change{Kind: store.ChangeSchema, App: appID}, err)
	})
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
	return s.committer.Commit(ctx, b)
}

// applyGroup commits a group in one bbolt transaction (one fsync pair),
// each commit validated against the state the ones before it left.
func (s *Store) applyGroup(group []*store.CommitReq) {
	err := s.write(func(tx *bolt.Tx) ([]store.Change, error) {
		meta := tx.Bucket(bucketMeta)
		var head uint64
		if v := meta.Get(keySeq); v != nil {
			head = binary.BigEndian.Uint64(v)
		}
		p := store.PlanGroup(group, head, func(k store.RecordKey) uint64 {
			if sb := schemaBucket(tx, k.App, k.Schema); sb != nil {
				if v := sb.Get(k.Key); v != nil {
					return binary.BigEndian.Uint64(v[:8])
				}
			}
			return 0
		}, func(app string) bool {
			return tx.Bucket(bucketApps).Get([]byte(app)) != nil
		})
		for _, r := range group {
			if r.Err != nil {
				// A refused commit writes nothing, so its answer need not
				// wait for the group's fsync: the loser retries sooner.
				r.Answer()
			}
		}
		if p.End == p.Start {
			return nil, nil
		}
		if err := apply(tx, p.Final); err != nil {
			return nil, err // a half-applied group must not land
		}
		var buf [8]byte
		binary.BigEndian.PutUint64(buf[:], p.End)
		return p.Changes, meta.Put(keySeq, buf[:])
	})
	if err != nil {
		for _, r := range group {
			if r.Err == nil {
				r.Seq, r.Err = 0, fmt.Errorf("commit: %w", err)
			}
		}
	}
}

// LastSeq implements store.Store: the counter the committer advances in
// each group's transaction, so it is never ahead of what is durable.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	err := s.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(keySeq); v != nil {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return seq, err
}

// apply writes each key's final value (or deletes it) with its version.
func apply(tx *bolt.Tx, final []store.FinalWrite) error {
	records := tx.Bucket(bucketRecords)
	for _, f := range final {
		w := f.Write
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
			err = sb.Put(w.Key.Key, encodeValue(f.Version, w.Value))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PutNotification implements store.Store.
func (s *Store) PutNotification(ctx context.Context, n store.Notification) error {
	v, err := json.Marshal(notificationRecord{Schema: n.Schema, Keys: n.Keys, LastActive: n.LastActive.UTC()})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		if _, err := getApp(tx, n.App); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("%w %s", store.ErrUnknownApp, n.App)
			}
			return nil, err
		}
		b, err := tx.Bucket(bucketNotifications).CreateBucketIfNotExists([]byte(n.App))
		if err != nil {
			return nil, err
		}
		return quiet(b.Put([]byte(n.ID), v))
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
		n = store.Notification{ID: id, App: appID, Schema: r.Schema, Keys: r.Keys, LastActive: r.LastActive}
		return nil
	})
	return n, err
}

// DeleteNotification implements store.Store.
func (s *Store) DeleteNotification(ctx context.Context, appID, id string) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		b := tx.Bucket(bucketNotifications).Bucket([]byte(appID))
		if b == nil || b.Get([]byte(id)) == nil {
			return nil, store.ErrNotFound
		}
		return change(store.Change{Kind: store.ChangeNotificationDeleted, App: appID, NotificationID: id}, b.Delete([]byte(id)))
	})
}

// TouchNotifications implements store.Store.
func (s *Store) TouchNotifications(ctx context.Context, at time.Time, refs []store.NotificationRef) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		for _, ref := range refs {
			b := tx.Bucket(bucketNotifications).Bucket([]byte(ref.App))
			if b == nil {
				continue
			}
			err := updateNotification(b, []byte(ref.ID), func(r *notificationRecord) bool {
				if !at.After(r.LastActive) {
					return false
				}
				r.LastActive = at.UTC()
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
}

// updateNotification rewrites one registration if change says it changed.
func updateNotification(b *bolt.Bucket, id []byte, change func(*notificationRecord) bool) error {
	v := b.Get(id)
	if v == nil {
		return nil
	}
	var r notificationRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("notification %s: corrupt record: %w", id, err)
	}
	if !change(&r) {
		return nil
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put(id, v)
}

// ExpireNotifications implements store.Store. It walks every
// registration: expiry runs rarely (the server does it a few times per
// expiry period), and registrations are few beside records.
func (s *Store) ExpireNotifications(ctx context.Context, before time.Time, limit int) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		n = 0
		var changes []store.Change
		now := time.Now().UTC()
		var apps [][]byte // gathered first: no bucket changes while iterating
		err := tx.Bucket(bucketNotifications).ForEachBucket(func(app []byte) error {
			apps = append(apps, bytes.Clone(app))
			return nil
		})
		for _, app := range apps {
			if err != nil {
				break
			}
			err = expireIn(tx.Bucket(bucketNotifications).Bucket(app), app, before, now, limit, &n, &changes)
		}
		return changes, err
	})
	return n, err
}

// expireIn expires the registrations of one app (see
// ExpireNotifications); n counts those expired so far.
func expireIn(b *bolt.Bucket, app []byte, before, now time.Time, limit int, n *int, changes *[]store.Change) error {
	var gone, undated [][]byte
	err := b.ForEach(func(id, v []byte) error {
		var r notificationRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("notification %s: corrupt record: %w", id, err)
		}
		switch {
		case r.LastActive.IsZero():
			undated = append(undated, bytes.Clone(id))
		case r.LastActive.Before(before) && *n < limit:
			gone = append(gone, bytes.Clone(id))
			*n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range undated {
		if err := updateNotification(b, id, func(r *notificationRecord) bool { r.LastActive = now; return true }); err != nil {
			return err
		}
	}
	for _, id := range gone {
		if err := b.Delete(id); err != nil {
			return err
		}
		*changes = append(*changes, store.Change{Kind: store.ChangeNotificationDeleted, App: string(app), NotificationID: string(id)})
	}
	return nil
}

var _ store.Store = (*Store)(nil)
