package pgstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations are applied in order, each once, in one transaction. Append
// new ones; never edit one that has shipped.
var migrations = []string{
	// 1: the initial tables.
	`
CREATE TABLE webaas_counter (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	seq bigint NOT NULL
) WITH (fillfactor = 10);
INSERT INTO webaas_counter (id, seq) VALUES (true, 0);

CREATE TABLE webaas_log_state (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	pruned_through bigint NOT NULL
);
INSERT INTO webaas_log_state (id, pruned_through) VALUES (true, 0);

CREATE TABLE webaas_apps (
	id text COLLATE "C" PRIMARY KEY,
	name text NOT NULL,
	active_version text NOT NULL DEFAULT '',
	created timestamptz NOT NULL
);

CREATE TABLE webaas_schema_files (
	app text COLLATE "C" NOT NULL REFERENCES webaas_apps (id) ON DELETE CASCADE,
	version text COLLATE "C" NOT NULL,
	name text COLLATE "C" NOT NULL,
	body bytea NOT NULL,
	PRIMARY KEY (app, version, name)
);

-- No foreign key to webaas_apps: commits check the app under the counter
-- lock, which DeleteApp takes too, and a foreign key would lock the app row
-- on every insert of the hottest table.
CREATE TABLE webaas_records (
	app text COLLATE "C" NOT NULL,
	schema text COLLATE "C" NOT NULL,
	key bytea NOT NULL,
	value bytea NOT NULL,
	version bigint NOT NULL,
	PRIMARY KEY (app, schema, key)
) WITH (fillfactor = 90);

CREATE TABLE webaas_notifications (
	app text COLLATE "C" NOT NULL REFERENCES webaas_apps (id) ON DELETE CASCADE,
	id text COLLATE "C" NOT NULL,
	schema text NOT NULL,
	keys bytea[] NOT NULL,
	PRIMARY KEY (app, id)
);

CREATE TABLE webaas_changes (
	seq bigint NOT NULL,
	part integer NOT NULL,
	kind smallint NOT NULL,
	app text NOT NULL,
	schema text NOT NULL DEFAULT '',
	keys bytea NOT NULL DEFAULT '',
	notification_id text NOT NULL DEFAULT '',
	at timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (seq, part)
);
`,
	// 2: open transactions (TxnStore). UNLOGGED: they live for seconds and
	// need no crash safety, and skipping the WAL spares every call a disk
	// flush. No index on expires: each update changes it, and an index
	// would rule out HOT updates; the purge scans the small table instead.
	// The fill factor leaves room for HOT updates as the state grows.
	`
CREATE UNLOGGED TABLE webaas_txns (
	id text COLLATE "C" PRIMARY KEY,
	expires timestamptz NOT NULL,
	state bytea NOT NULL
) WITH (fillfactor = 50);
`,
	// 3: the store's id (which data this is, for servers that must tell
	// one store from another), and schema revisions, so that schema
	// changes checked apart can be refused instead of landing together.
	`
CREATE TABLE IF NOT EXISTS webaas_store (
	id boolean PRIMARY KEY DEFAULT true CHECK (id),
	store_id text NOT NULL
);
INSERT INTO webaas_store (id, store_id) VALUES (true, gen_random_uuid()::text) ON CONFLICT DO NOTHING;
ALTER TABLE webaas_apps ADD COLUMN IF NOT EXISTS schema_rev bigint NOT NULL DEFAULT 0;
`,
	// 4: when a socket was last open on a registration, so that those
	// nobody listens on any more expire. Existing ones start now.
	`
ALTER TABLE webaas_notifications ADD COLUMN IF NOT EXISTS last_active timestamptz NOT NULL DEFAULT now();
`,
	// 5: who began each open transaction, so that one client cannot hold
	// them all. The index serves the count of one owner's transactions
	// at BeginTxnFor; updates never change the owner, so they stay HOT.
	`
ALTER TABLE webaas_txns ADD COLUMN IF NOT EXISTS owner text COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS webaas_txns_owner ON webaas_txns (owner);
`,
	// 6: the extensions of the data path. Named sequences, advanced under
	// the counter lock; idempotency tokens, with an index for their
	// expiry; the records' bytes and the sequences' values in the change
	// log, so that every node can push them; and registrations that watch whole types. No
	// foreign keys, for the reason webaas_records has none.
	`
CREATE TABLE IF NOT EXISTS webaas_sequences (
	app text COLLATE "C" NOT NULL,
	name text COLLATE "C" NOT NULL,
	value bigint NOT NULL,
	PRIMARY KEY (app, name)
);
CREATE TABLE IF NOT EXISTS webaas_tokens (
	app text COLLATE "C" NOT NULL,
	key bytea NOT NULL,
	made timestamptz NOT NULL,
	value bytea NOT NULL,
	PRIMARY KEY (app, key)
);
CREATE INDEX IF NOT EXISTS webaas_tokens_made ON webaas_tokens (made);
ALTER TABLE webaas_changes ADD COLUMN IF NOT EXISTS vals bytea NOT NULL DEFAULT '';
ALTER TABLE webaas_changes ADD COLUMN IF NOT EXISTS seqs bytea NOT NULL DEFAULT '';
ALTER TABLE webaas_notifications ADD COLUMN IF NOT EXISTS types text[] NOT NULL DEFAULT '{}';
`,
}

// migrationTimeout bounds start-up migrations, which may wait for another
// node that is migrating the same schema.
const migrationTimeout = time.Minute

// migrate brings the schema up to date. A transaction-scoped advisory lock
// makes nodes that start together take turns: the first applies the
// migrations, the others then find them applied.
func migrate(ctx context.Context, pool *pgxpool.Pool, opts Options) error {
	ctx, cancel := context.WithTimeout(ctx, migrationTimeout)
	defer cancel()
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL statement_timeout = %d`, migrationTimeout.Milliseconds())); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey(opts.Schema)); err != nil {
		return err
	}
	if opts.Schema != "" {
		if err := createSchema(ctx, tx, opts.Schema); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS webaas_migrations (
		version integer PRIMARY KEY,
		applied timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return err
	}
	var done int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM webaas_migrations`).Scan(&done); err != nil {
		return err
	}
	for v := done + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webaas_migrations (version) VALUES ($1)`, v); err != nil {
			return err
		}
	}
	if done < len(migrations) {
		// Until a table is analyzed the planner takes it for ten pages of
		// rows; analyzing the new tables now tells it they are (nearly)
		// empty, so a new database is planned as it is, not as a guess.
		if _, err := tx.Exec(ctx, `ANALYZE `+analyzedTables); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	return tx.Commit(ctx)
}

// analyzedTables are the tables the migrations create.
const analyzedTables = `webaas_counter, webaas_log_state, webaas_apps, webaas_schema_files,
	webaas_records, webaas_notifications, webaas_changes, webaas_txns, webaas_sequences, webaas_tokens`

// createSchema creates the schema unless it exists; checking first means a
// role without CREATE on the database can use a schema made for it.
func createSchema(ctx context.Context, tx pgx.Tx, schema string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	return err
}

// migrationLockKey is the advisory lock for migrating one schema.
func migrationLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("webaas-chat pgstore migrate\x00" + schema))
	return int64(h.Sum64())
}
