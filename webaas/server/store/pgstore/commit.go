package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// maxIndexedKey bounds app, schema and key together: a btree entry must
// fit in a third of a page, and a write PostgreSQL refuses would fail its
// whole group, not just itself.
const maxIndexedKey = 2000

// Commit implements store.Store.
func (s *Store) Commit(ctx context.Context, b store.Batch) (uint64, error) {
	if err := checkBatch(b); err != nil {
		return 0, err
	}
	// The group's own timeout bounds the wait once it is committing.
	return s.committer.Commit(ctx, b)
}

// checkBatch refuses, before it can join a group, what PostgreSQL would
// refuse for the whole group.
func checkBatch(b store.Batch) error {
	check := func(k store.RecordKey) error {
		for _, s := range []string{k.App, k.Schema} {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return fmt.Errorf("pgstore: app or schema name %q is not UTF-8 text without NUL", s)
			}
		}
		if n := len(k.App) + len(k.Schema) + len(k.Key); n > maxIndexedKey {
			return fmt.Errorf("pgstore: app, schema and key take %d bytes; at most %d", n, maxIndexedKey)
		}
		return nil
	}
	for _, r := range b.Reads {
		if err := check(r.Key); err != nil {
			return err
		}
	}
	for _, w := range b.Writes {
		if err := check(w.Key); err != nil {
			return err
		}
	}
	return nil
}

// maxWritten bounds the committer's memory of written versions.
const maxWritten = 1 << 16

// applyGroup commits a group in one transaction.
func (s *Store) applyGroup(group []*store.CommitReq) {
	var live []*store.CommitReq
	for _, r := range group {
		if s.knownStale(r.Batch) {
			r.Err = store.ErrConflict
			r.Answer()
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.StatementTimeout)
	p, err := s.runGroup(ctx, live)
	cancel()
	if err != nil {
		err = classify(context.Background(), "commit", err)
		for _, r := range live {
			if r.Err == nil { // refused commits stay refused: they wrote nothing either way
				r.Seq, r.Err = 0, err
			}
		}
		return
	}
	if p.End > p.Start {
		s.remember(p)
		// Queue the changes before the callers are answered, so that a
		// caller's next write is delivered after this one without a log
		// read.
		s.feed.local(p.Start, p.End, p.Changes)
	}
}

// knownStale reports a commit that read a version older than one this
// node wrote since: it must fail, and failing it here saves it a trip
// through the database. On a hot key this matters: the commits that read
// the head before the last group changed it would otherwise fill the next
// group, which then commits nothing.
func (s *Store) knownStale(b store.Batch) bool {
	for _, rd := range b.Reads {
		// A key's versions only grow, and a version once replaced never
		// returns; only "absent" (0) can be current again after a delete.
		if rd.Version != 0 && rd.Version < s.written[idOf(rd.Key)] {
			return true
		}
	}
	return false
}

// remember records the versions a group wrote (deletes too: a version
// older than the delete is stale).
func (s *Store) remember(p store.GroupPlan) {
	if len(s.written)+len(p.Final) > maxWritten {
		clear(s.written) // forgetting only costs the shortcut
	}
	for _, f := range p.Final {
		s.written[idOf(f.Write.Key)] = f.Version
	}
}

// keyID identifies a record in the committer's maps.
type keyID struct{ app, schema, key string }

func idOf(k store.RecordKey) keyID { return keyID{k.App, k.Schema, string(k.Key)} }

const (
	upsertSQL = `
INSERT INTO webaas_records (app, schema, key, value, version)
SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::bigint[])
ON CONFLICT (app, schema, key) DO UPDATE SET value = excluded.value, version = excluded.version`

	deleteSQL = `
DELETE FROM webaas_records rec
USING unnest($1::text[], $2::text[], $3::bytea[]) AS d(app, schema, key)
WHERE rec.app = d.app AND rec.schema = d.schema AND rec.key = d.key`

	logChangesSQL = `
INSERT INTO webaas_changes (seq, part, kind, app, schema, keys, vals, seqs)
SELECT * FROM unnest($1::bigint[], $2::integer[], $3::smallint[], $4::text[], $5::text[], $6::bytea[], $7::bytea[], $8::bytea[])`

	upsertSequencesSQL = `
INSERT INTO webaas_sequences (app, name, value)
SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
ON CONFLICT (app, name) DO UPDATE SET value = excluded.value`

	// A token is planned only if the group found none under the lock, so
	// a conflict here is a fault, and fails the group.
	insertTokensSQL = `
INSERT INTO webaas_tokens (app, key, made, value)
SELECT * FROM unnest($1::text[], $2::bytea[], $3::timestamptz[], $4::bytea[])`
)

// runGroup commits a group in two round trips: lock and read, then write
// and commit. Validation happens in between, in Go, under the lock.
func (s *Store) runGroup(ctx context.Context, reqs []*store.CommitReq) (store.GroupPlan, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return store.GroupPlan{}, err
	}
	// A connection left inside a transaction (any failure below) is
	// destroyed on release, which rolls the transaction back.
	defer conn.Release()

	q := groupQuestions(reqs)
	st := &groupState{versions: map[keyID]uint64{}, apps: map[string]bool{}, seqs: map[seqID]uint64{}, tokens: map[tokenID][]byte{}}
	var head int64
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	// The commit lock: held until COMMIT, it orders this group after
	// every group and event that held it before, on any node.
	b.Queue(`SELECT seq FROM webaas_counter FOR UPDATE`).QueryRow(func(row pgx.Row) error {
		return row.Scan(&head)
	})
	st.queue(b, q)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return store.GroupPlan{}, err
	}

	p := store.PlanGroup(reqs, uint64(head), st)
	if err := conn.SendBatch(ctx, s.writeBatch(p)).Close(); err != nil {
		return store.GroupPlan{}, err
	}
	return p, nil
}

// writeBatch is the second round trip: the group's net writes, its change
// log rows, the counter, the notification and COMMIT.
func (s *Store) writeBatch(p store.GroupPlan) *pgx.Batch {
	b := &pgx.Batch{}
	if p.End == p.Start {
		b.Queue(`ROLLBACK`) // every commit was refused
		return b
	}
	var up, del []keyID
	var values [][]byte
	var versions []int64
	var tokens []store.FinalWrite
	for _, f := range p.Final {
		id := idOf(f.Write.Key)
		if id.schema == store.TokenSchema {
			tokens = append(tokens, f) // a table of their own: see migration 6
			continue
		}
		if f.Write.Delete {
			del = append(del, id)
			continue
		}
		up = append(up, id)
		values = append(values, nonNil(f.Write.Value))
		versions = append(versions, int64(f.Version))
	}
	if len(up) > 0 {
		as, ss, ks := keyColumns(up)
		b.Queue(upsertSQL, as, ss, ks, values, versions)
	}
	if len(del) > 0 {
		as, ss, ks := keyColumns(del)
		b.Queue(deleteSQL, as, ss, ks)
	}
	if len(tokens) > 0 {
		b.Queue(insertTokensSQL, tokenColumns(tokens)...)
	}
	if len(p.Sequences) > 0 {
		b.Queue(upsertSequencesSQL, sequenceColumns(p.Sequences)...)
	}
	if len(p.Changes) > 0 {
		b.Queue(logChangesSQL, changeColumns(p.Changes)...)
		b.Queue(`SELECT pg_notify($1, $2)`, s.opts.Channel, strconv.FormatUint(p.End, 10))
	}
	b.Queue(`UPDATE webaas_counter SET seq = $1`, int64(p.End))
	b.Queue(`COMMIT`)
	return b
}

func keyColumns(ids []keyID) (apps, schemas []string, keys [][]byte) {
	for _, id := range ids {
		apps = append(apps, id.app)
		schemas = append(schemas, id.schema)
		keys = append(keys, []byte(id.key))
	}
	return apps, schemas, keys
}

// changeColumns turns record changes into the columns of logChangesSQL.
func changeColumns(cs []store.Change) []any {
	var seqs []int64
	var parts []int32
	var kinds []int16
	var apps, schemas []string
	var keys, vals, sqs [][]byte
	part := int32(0)
	for i, c := range cs {
		if i > 0 && cs[i-1].Seq == c.Seq {
			part++
		} else {
			part = 0
		}
		seqs = append(seqs, int64(c.Seq))
		parts = append(parts, part)
		kinds = append(kinds, int16(c.Kind))
		apps = append(apps, c.App)
		schemas = append(schemas, c.Schema)
		keys = append(keys, encodeKeys(c.Keys))
		vals = append(vals, nonNil(encodeValues(c.Values)))
		sqs = append(sqs, nonNil(encodeSequences(c.Sequences)))
	}
	return []any{seqs, parts, kinds, apps, schemas, keys, vals, sqs}
}
