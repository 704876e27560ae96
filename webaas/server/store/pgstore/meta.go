package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// isForeignKeyViolation reports a write that named a missing app.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, app store.App) error {
	return s.do(ctx, "create app", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx,
			`INSERT INTO webaas_apps (id, name, active_version, created) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO NOTHING`,
			app.ID, app.Name, app.ActiveVersion, app.Created)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrExists
		}
		return err
	})
}

// App implements store.Store.
func (s *Store) App(ctx context.Context, id string) (store.App, error) {
	app := store.App{ID: id}
	err := s.do(ctx, "app", func(ctx context.Context) error {
		var rev int64
		err := s.pool.QueryRow(ctx, `SELECT name, active_version, created, schema_rev FROM webaas_apps WHERE id = $1`, id).
			Scan(&app.Name, &app.ActiveVersion, &app.Created, &rev)
		app.SchemaRev = uint64(rev)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.App{}, err
	}
	return app, nil
}

// The statements behind the changes that are not record commits. Each runs
// after the counter row is locked (see event), changes its target, and only
// if the target existed (and, for a schema upload, the upload changed the
// active version) takes the next sequence number, logs the change and
// notifies. Each returns no row if the target did not exist, else one row
// holding the sequence number, or NULL if nothing is announced.
const (
	deleteAppSQL = `
WITH target AS (DELETE FROM webaas_apps WHERE id = $1 RETURNING id),
gone AS (DELETE FROM webaas_records WHERE app = $1 AND EXISTS (SELECT FROM target)),
seqs AS (DELETE FROM webaas_sequences WHERE app = $1 AND EXISTS (SELECT FROM target)),
tokens AS (DELETE FROM webaas_tokens WHERE app = $1 AND EXISTS (SELECT FROM target)),
next AS (UPDATE webaas_counter SET seq = seq + 1 WHERE EXISTS (SELECT FROM target) RETURNING seq),
logged AS (INSERT INTO webaas_changes (seq, part, kind, app) SELECT seq, 0, $2, $1 FROM next)
SELECT next.seq FROM next CROSS JOIN LATERAL pg_notify($3, next.seq::text) AS n`

	activateSchemaSQL = `
WITH target AS (
	UPDATE webaas_apps SET active_version = $4, schema_rev = schema_rev + 1
	WHERE id = $1 AND ($5::bigint = -1 OR schema_rev = $5::bigint) RETURNING id),
next AS (UPDATE webaas_counter SET seq = seq + 1 WHERE EXISTS (SELECT FROM target) RETURNING seq),
logged AS (INSERT INTO webaas_changes (seq, part, kind, app) SELECT seq, 0, $2, $1 FROM next)
SELECT next.seq FROM next CROSS JOIN LATERAL pg_notify($3, next.seq::text) AS n`

	putSchemaFileSQL = `
WITH target AS (
	UPDATE webaas_apps SET schema_rev = schema_rev + 1
	WHERE id = $1 AND ($5::bigint = -1 OR schema_rev = $5::bigint) RETURNING id, active_version),
put AS (
	INSERT INTO webaas_schema_files (app, version, name, body)
	SELECT id, $4, $6, $7 FROM target
	ON CONFLICT (app, version, name) DO UPDATE SET body = excluded.body),
next AS (UPDATE webaas_counter SET seq = seq + 1 WHERE EXISTS (SELECT FROM target WHERE active_version = $4) RETURNING seq),
logged AS (INSERT INTO webaas_changes (seq, part, kind, app) SELECT seq, 0, $2, $1 FROM next)
SELECT (SELECT next.seq FROM next CROSS JOIN LATERAL pg_notify($3, next.seq::text) AS n) FROM target`

	deleteNotificationSQL = `
WITH target AS (DELETE FROM webaas_notifications WHERE app = $1 AND id = $4 RETURNING id),
next AS (UPDATE webaas_counter SET seq = seq + 1 WHERE EXISTS (SELECT FROM target) RETURNING seq),
logged AS (INSERT INTO webaas_changes (seq, part, kind, app, notification_id) SELECT seq, 0, $2, $1, $4 FROM next)
SELECT next.seq FROM next CROSS JOIN LATERAL pg_notify($3, next.seq::text) AS n`
)

// event runs one of the statements above in a transaction that first takes
// the counter lock, all in one round trip. Taking the lock in its own
// statement matters: the event statement then reads with a snapshot that
// sees every commit that held the lock before, so DeleteApp cannot miss
// records a concurrent group just wrote. It returns ErrNotFound if the
// target did not exist, and delivers the change locally once committed.
func (s *Store) event(ctx context.Context, op, sql string, c store.Change, extra ...any) error {
	return s.do(ctx, op, func(ctx context.Context) error {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		// A connection left inside a failed transaction is destroyed on
		// release, which rolls the transaction back.
		defer conn.Release()
		var seq *int64
		found := false
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		b.Queue(`SELECT seq FROM webaas_counter FOR UPDATE`)
		args := append([]any{c.App, int16(c.Kind), s.opts.Channel}, extra...)
		b.Queue(sql, args...).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&seq)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		})
		b.Queue(`COMMIT`)
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if !found {
			return store.ErrNotFound
		}
		if seq != nil {
			s.feed.local(uint64(*seq)-1, uint64(*seq), []store.Change{c})
		}
		return nil
	})
}

// DeleteApp implements store.Store.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.event(ctx, "delete app", deleteAppSQL, store.Change{Kind: store.ChangeAppDeleted, App: id})
}

// ActivateSchema implements store.Store.
func (s *Store) ActivateSchema(ctx context.Context, appID, version string, ifRev uint64) error {
	err := s.event(ctx, "activate schema", activateSchemaSQL, store.Change{Kind: store.ChangeSchema, App: appID}, version, int64(ifRev))
	return s.revConflict(ctx, appID, ifRev, err)
}

// revConflict tells apart the two reasons a conditional schema change
// found no target: the app is gone (ErrNotFound), or its revision moved
// on (ErrConflict).
func (s *Store) revConflict(ctx context.Context, appID string, ifRev uint64, err error) error {
	if !errors.Is(err, store.ErrNotFound) || ifRev == store.AnyRev {
		return err
	}
	if _, aerr := s.App(ctx, appID); aerr != nil {
		return aerr
	}
	return store.ErrConflict
}

// DeleteNotification implements store.Store.
func (s *Store) DeleteNotification(ctx context.Context, appID, id string) error {
	return s.event(ctx, "delete notification", deleteNotificationSQL,
		store.Change{Kind: store.ChangeNotificationDeleted, App: appID, NotificationID: id}, id)
}

// PutSchemaFile implements store.Store. A file of the active version
// changes what every node must compile, so that upload is an event like
// an activation; any other upload only bumps the revision.
func (s *Store) PutSchemaFile(ctx context.Context, appID, version, name string, text []byte, ifRev uint64) error {
	err := s.event(ctx, "put schema file", putSchemaFileSQL, store.Change{Kind: store.ChangeSchema, App: appID},
		version, int64(ifRev), name, nonNil(text))
	return s.revConflict(ctx, appID, ifRev, err)
}

// SchemaVersions implements store.Store.
func (s *Store) SchemaVersions(ctx context.Context, appID string) ([]string, error) {
	var versions []string
	err := s.do(ctx, "schema versions", func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT DISTINCT version FROM webaas_schema_files WHERE app = $1 ORDER BY version`, appID)
		if err != nil {
			return err
		}
		versions, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return versions, err
}

// SchemaFiles implements store.Store.
func (s *Store) SchemaFiles(ctx context.Context, appID, version string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := s.do(ctx, "schema files", func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT name, body FROM webaas_schema_files WHERE app = $1 AND version = $2`, appID, version)
		if err != nil {
			return err
		}
		var name string
		var body []byte
		_, err = pgx.ForEachRow(rows, []any{&name, &body}, func() error {
			files[name] = body
			return nil
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return files, nil
}

// PutNotification implements store.Store.
func (s *Store) PutNotification(ctx context.Context, n store.Notification) error {
	keys := make([][]byte, len(n.Keys))
	for i, k := range n.Keys {
		keys[i] = []byte(k) // bytea: a key's text may hold any byte
	}
	var active *time.Time
	if !n.LastActive.IsZero() {
		active = &n.LastActive
	}
	return s.do(ctx, "put notification", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx,
			`INSERT INTO webaas_notifications (app, id, schema, keys, last_active, types) VALUES ($1, $2, $3, $4, coalesce($5, now()), $6)
			ON CONFLICT (app, id) DO UPDATE SET schema = excluded.schema, keys = excluded.keys, last_active = excluded.last_active, types = excluded.types`,
			n.App, n.ID, n.Schema, keys, active, nonNilStrings(n.Types))
		if isForeignKeyViolation(err) {
			return fmt.Errorf("%w %s", store.ErrUnknownApp, n.App)
		}
		return err
	})
}

// Notification implements store.Store.
func (s *Store) Notification(ctx context.Context, appID, id string) (store.Notification, error) {
	n := store.Notification{ID: id, App: appID}
	err := s.do(ctx, "notification", func(ctx context.Context) error {
		var keys [][]byte
		err := s.pool.QueryRow(ctx, `SELECT schema, keys, last_active, types FROM webaas_notifications WHERE app = $1 AND id = $2`, appID, id).
			Scan(&n.Schema, &keys, &n.LastActive, &n.Types)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		for _, k := range keys {
			n.Keys = append(n.Keys, string(k))
		}
		return err
	})
	if err != nil {
		return store.Notification{}, err
	}
	return n, nil
}

// TouchNotifications implements store.Store.
func (s *Store) TouchNotifications(ctx context.Context, at time.Time, refs []store.NotificationRef) error {
	if len(refs) == 0 {
		return nil
	}
	apps, ids := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		apps[i], ids[i] = r.App, r.ID
	}
	return s.do(ctx, "touch notifications", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `
UPDATE webaas_notifications n SET last_active = $1
FROM unnest($2::text[], $3::text[]) AS t(app, id)
WHERE n.app = t.app AND n.id = t.id AND n.last_active < $1`, at, apps, ids)
		return err
	})
}

// expireNotificationsSQL deletes registrations last active before $3, at
// most $4, under the counter lock (see event), and logs their deletion as
// the parts of one sequence number, so every node closes their sockets.
const expireNotificationsSQL = `
WITH gone AS (
	DELETE FROM webaas_notifications WHERE (app, id) IN (
		SELECT app, id FROM webaas_notifications WHERE last_active < $3 LIMIT $4)
	RETURNING app, id),
numbered AS (SELECT app, id, (row_number() OVER ())::integer - 1 AS part FROM gone),
next AS (UPDATE webaas_counter SET seq = seq + 1 WHERE EXISTS (SELECT FROM gone) RETURNING seq),
logged AS (
	INSERT INTO webaas_changes (seq, part, kind, app, notification_id)
	SELECT next.seq, numbered.part, $1, numbered.app, numbered.id FROM numbered CROSS JOIN next)
SELECT next.seq, numbered.app, numbered.id, pg_notify($2, next.seq::text)
FROM numbered CROSS JOIN next`

// ExpireNotifications implements store.Store.
func (s *Store) ExpireNotifications(ctx context.Context, before time.Time, limit int) (int, error) {
	var changes []store.Change
	var seq int64
	err := s.do(ctx, "expire notifications", func(ctx context.Context) error {
		changes = changes[:0]
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, `SELECT seq FROM webaas_counter FOR UPDATE`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, expireNotificationsSQL, int16(store.ChangeNotificationDeleted), s.opts.Channel, before, limit)
		if err != nil {
			return err
		}
		var app, id string
		_, err = pgx.ForEachRow(rows, []any{&seq, &app, &id, nil}, func() error {
			changes = append(changes, store.Change{Kind: store.ChangeNotificationDeleted, App: app, NotificationID: id})
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		return 0, err
	}
	if len(changes) > 0 {
		s.feed.local(uint64(seq)-1, uint64(seq), changes)
	}
	return len(changes), nil
}

// nonNilStrings is s, or an empty list for a NOT NULL array column.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
