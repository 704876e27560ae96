package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, key store.RecordKey) (store.Record, error) {
	rec := store.Record{Key: key.Key}
	err := s.do(ctx, "get", func(ctx context.Context) error {
		var version int64
		err := s.pool.QueryRow(ctx,
			`SELECT value, version FROM webaas_records WHERE app = $1 AND schema = $2 AND key = $3`,
			key.App, key.Schema, nonNil(key.Key)).Scan(&rec.Value, &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		rec.Version = uint64(version)
		return err
	})
	if err != nil {
		return store.Record{}, err
	}
	return rec, nil
}

// RangeSize implements store.RangeSizer, in one query that returns no
// values: octet_length reads a stored value's size, not the value.
func (s *Store) RangeSize(ctx context.Context, app, schema string, begin, end []byte, skip, limit int) (int, int64, error) {
	var n, size int64
	err := s.do(ctx, "range size", func(ctx context.Context) error {
		return s.pool.QueryRow(ctx,
			`SELECT count(*), coalesce(sum(octet_length(value)), 0)::bigint FROM (
				SELECT value FROM webaas_records
				WHERE app = $1 AND schema = $2 AND key >= $3 AND key < $4
				ORDER BY key OFFSET $5 LIMIT $6) page`,
			app, schema, nonNil(begin), nonNil(end), max(skip, 0), max(limit, 0)).Scan(&n, &size)
	})
	return int(n), size, err
}

// Range implements store.Store.
func (s *Store) Range(ctx context.Context, app, schema string, begin, end []byte, skip, limit int) ([]store.Record, bool, error) {
	var recs []store.Record
	more := false
	err := s.do(ctx, "range", func(ctx context.Context) error {
		// One extra row says whether more exist.
		rows, err := s.pool.Query(ctx,
			`SELECT key, value, version FROM webaas_records
			WHERE app = $1 AND schema = $2 AND key >= $3 AND key < $4
			ORDER BY key OFFSET $5 LIMIT $6`,
			app, schema, nonNil(begin), nonNil(end), max(skip, 0), max(limit, 0)+1)
		if err != nil {
			return err
		}
		recs, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Record, error) {
			var r store.Record
			var version int64
			err := row.Scan(&r.Key, &r.Value, &version)
			r.Version = uint64(version)
			return r, err
		})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if len(recs) > max(limit, 0) {
		recs, more = recs[:limit], true
	}
	return recs, more, nil
}

// nonNil turns a nil slice into an empty one: pgx sends nil as NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Sequence implements store.Store.
func (s *Store) Sequence(ctx context.Context, app, name string) (uint64, error) {
	var v int64
	err := s.do(ctx, "sequence", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT value FROM webaas_sequences WHERE app = $1 AND name = $2`, app, name).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			v, err = 0, nil
		}
		return err
	})
	return uint64(v), err
}

// ExpireTokens implements store.Store.
func (s *Store) ExpireTokens(ctx context.Context, before time.Time, limit int) (int, error) {
	var n int64
	err := s.do(ctx, "expire tokens", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `
DELETE FROM webaas_tokens t USING (
	SELECT app, key FROM webaas_tokens WHERE made < $1 ORDER BY made LIMIT $2) gone
WHERE t.app = gone.app AND t.key = gone.key`, before, limit)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}
