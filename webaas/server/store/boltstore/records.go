package boltstore

// Records: reads, and commits through the group committer.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

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
		if w.Sequence != "" {
			continue // its key is made in the group, by the server's Assign
		}
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
		p := store.PlanGroup(group, head, txState{tx})
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
		if err := putSequences(tx, p.Sequences); err != nil {
			return nil, err
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

// txState answers the planner from the group's own transaction.
type txState struct{ tx *bolt.Tx }

func (t txState) Version(k store.RecordKey) uint64 {
	if sb := schemaBucket(t.tx, k.App, k.Schema); sb != nil {
		if v := sb.Get(k.Key); v != nil {
			return binary.BigEndian.Uint64(v[:8])
		}
	}
	return 0
}

func (t txState) AppExists(app string) bool { return t.tx.Bucket(bucketApps).Get([]byte(app)) != nil }

func (t txState) Sequence(app, name string) uint64 { return sequence(t.tx, app, name) }

func (t txState) Token(k store.RecordKey) ([]byte, bool) {
	if sb := schemaBucket(t.tx, k.App, k.Schema); sb != nil {
		if v := sb.Get(k.Key); v != nil {
			return bytes.Clone(v[8:]), true
		}
	}
	return nil, false
}

func sequence(tx *bolt.Tx, app, name string) uint64 {
	if b := tx.Bucket(bucketSequences).Bucket([]byte(app)); b != nil {
		if v := b.Get([]byte(name)); len(v) == 8 {
			return binary.BigEndian.Uint64(v)
		}
	}
	return 0
}

// putSequences stores the last values a group gave its sequences.
func putSequences(tx *bolt.Tx, seqs []store.SeqValue) error {
	for _, sv := range seqs {
		b, err := tx.Bucket(bucketSequences).CreateBucketIfNotExists([]byte(sv.App))
		if err != nil {
			return err
		}
		if err := b.Put([]byte(sv.Name), binary.BigEndian.AppendUint64(nil, sv.Value)); err != nil {
			return err
		}
	}
	return nil
}

// Sequence implements store.Store.
func (s *Store) Sequence(ctx context.Context, app, name string) (uint64, error) {
	var n uint64
	err := s.view(func(tx *bolt.Tx) error {
		n = sequence(tx, app, name)
		return nil
	})
	return n, err
}

// ExpireTokens implements store.Store. It walks every app's tokens: they
// are few (one per commit that asked for one, within the retention), and
// this runs a few times per retention period.
func (s *Store) ExpireTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	n := 0
	cutoff := store.TokenExpiry(before)
	err := s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		n = 0
		var apps [][]byte // gathered first: no bucket changes while iterating
		err := tx.Bucket(bucketRecords).ForEachBucket(func(app []byte) error {
			apps = append(apps, bytes.Clone(app))
			return nil
		})
		for _, app := range apps {
			sb := schemaBucket(tx, string(app), store.TokenSchema)
			if sb == nil || err != nil {
				continue
			}
			var gone [][]byte
			err = sb.ForEach(func(k, v []byte) error {
				if n < limit && bytes.Compare(v[8:min(len(v), 16)], cutoff) < 0 {
					gone = append(gone, bytes.Clone(k))
					n++
				}
				return nil
			})
			for _, k := range gone {
				if err == nil {
					err = sb.Delete(k)
				}
			}
		}
		return nil, err
	})
	return n, err
}
