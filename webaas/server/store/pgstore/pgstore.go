// Package pgstore is a store.Store on PostgreSQL, for running several
// server nodes on one database.
//
// # Tables
//
// All tables are prefixed webaas_ and live in Options.Schema (or the
// connection's search_path):
//
//   - webaas_counter: one row holding the last commit sequence number. Every
//     write that subscribers must hear (record commits, schema activation,
//     app and notification deletion) locks this row for the rest of its
//     transaction, so sequence numbers are handed out in commit order and
//     without gaps from rollbacks.
//   - webaas_records (app, schema, key bytea) -> value, version. bytea
//     compares bytewise, so the primary-key index is in typed key order.
//   - webaas_apps, webaas_schema_files, webaas_notifications: the rest of
//     the store; the last two cascade from webaas_apps.
//   - webaas_changes (seq, part): the change log subscribers are fed from.
//   - webaas_log_state: how far the change log has been pruned.
//   - webaas_txns (id) -> expires, state: the open transactions of the
//     WeBaaS API (see Transactions).
//   - webaas_migrations: applied schema migrations.
//
// # Commits
//
// One committer goroutine per Store gathers the Commit calls waiting at
// that moment into one PostgreSQL transaction (group commit), in two round
// trips: the first begins, locks the counter row and reads the versions of
// every key the group read and the existence of every app it writes; the
// group is then validated in Go, commit by commit, each against the state
// the commits before it left (exactly as boltstore does); the second round
// trip writes the final state of every written key, appends the change
// log, advances the counter, NOTIFYs and commits. A refused commit does not
// abort its neighbours; a failed transaction fails the whole group, which
// then wrote nothing. The counter lock makes commits from all nodes
// serial, which is what makes validation serializable and the change log
// gap-free in sequence order; group commit keeps that from costing one
// disk flush per Commit. A commit that read a version older than one this
// node has written since is refused before it reaches the database: on a
// hot key (a chat room's head record) those would otherwise fill every
// other group with commits bound to fail.
//
// # Transactions
//
// The Store is also a store.TxnStore, so the open transactions of the
// WeBaaS API live in the database and every node sees them: the calls of
// one transaction may land on any node. Each transaction is a row of
// webaas_txns holding its expiry and its state (reads and buffered
// writes) in a compact binary form (txnstate.go). BeginTxn is one INSERT,
// EndTxn one DELETE ... RETURNING; UpdateTxn locks the row (SELECT ... FOR
// UPDATE, in the round trip that begins the transaction), runs fn, and
// saves and commits in a second round trip, so calls on one transaction
// take turns across nodes. Expiry is judged by the database's clock; rows
// of expired transactions are refused at once and deleted by the same
// background work that prunes the change log. There is no limit on the
// number of open transactions here: the server's limit applies only when
// it keeps transactions in its own memory.
//
// webaas_txns is UNLOGGED: its writes skip the write-ahead log, so a
// transactional read or write does not wait for a disk flush as a commit
// does. The price is that a database crash (or a failover to a replica)
// loses the open transactions, which clients then see as expired; they
// live for seconds, and a crash fails them anyway.
//
// # Changes
//
// Each Store LISTENs on a dedicated connection. On every notification, on
// every (re)connection of that connection, and every PollInterval as a
// safety net, it reads the change log from the last sequence number it has
// delivered, so a missed notification or a dropped connection loses
// nothing. Its own commits are delivered without reading the log back when
// no other node committed in between. Log rows older than ChangeRetention
// are pruned; a node that falls further behind than that logs how many
// changes its subscribers missed (Stats.Lost).
//
// # Failures
//
// Every call is bounded by StatementTimeout, on the server
// (statement_timeout, idle_in_transaction_session_timeout) and on the
// client (a context deadline). Failures of the database or the network
// return errors wrapping store.ErrUnavailable. A commit whose transaction
// failed wrote nothing; a commit whose COMMIT was sent but whose answer
// was lost is reported as ErrUnavailable although it may have landed, the
// one ambiguity no client of a remote database can avoid.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// Options tune Open. The zero value of a field means its default.
type Options struct {
	// PoolSize is the most connections the pool opens (default 8, at
	// least 2: an UpdateTxn holds one while its fn reads through another).
	// The LISTEN connection comes on top of it.
	PoolSize int32
	// StatementTimeout bounds every statement on the server, and every
	// call on the client (default 5s).
	StatementTimeout time.Duration
	// Channel is the LISTEN/NOTIFY channel (default "webaas_changes").
	// Stores on different schemas of one database should use different
	// channels; sharing one only costs wasted wake-ups.
	Channel string
	// Schema is the PostgreSQL schema holding the tables, created if
	// missing (default: the connection's search_path, normally public).
	Schema string
	// PollInterval is how often the change log is read even without a
	// notification, in case one was lost (default 5s).
	PollInterval time.Duration
	// ChangeRetention is how long change-log rows are kept (default 10
	// minutes): a node cut off from the database for longer misses changes.
	ChangeRetention time.Duration
	// Group bounds the commits that share one database transaction
	// (default: 256 commits, 1 MiB), so one group cannot hold the counter
	// lock for long nor make a small commit wait behind megabytes.
	Group store.CommitterOptions
	// Logger hears about background trouble: a lost LISTEN connection, a
	// failed log read, pruned changes. Nil discards.
	Logger *slog.Logger

	listenGate func(context.Context) // tests: called before each LISTEN (re)connection
}

func (o Options) withDefaults() Options {
	if o.PoolSize <= 0 {
		o.PoolSize = 8
	}
	o.PoolSize = max(o.PoolSize, 2)
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = 5 * time.Second
	}
	if o.Channel == "" {
		o.Channel = "webaas_changes"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.ChangeRetention <= 0 {
		o.ChangeRetention = 10 * time.Minute
	}
	if o.Group.MaxCount <= 0 {
		o.Group.MaxCount = 256
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Store is a store.Store on PostgreSQL.
type Store struct {
	store.Subscribers
	id   string
	opts Options
	pool *pgxpool.Pool
	log  *slog.Logger

	gate      store.Gate
	committer *store.Committer
	written   map[keyID]uint64 // the committer's: versions this node wrote

	// txnSlots limits the UpdateTxn calls holding a connection to half
	// the pool, so the other half serves what their fns do.
	txnSlots chan struct{}

	feed     *feed
	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	lost atomic.Uint64
}

// CommitStats implements store.GroupCommitter: a group is one database
// transaction.
func (s *Store) CommitStats() store.CommitStats { return s.committer.Stats() }

// Lost counts the times the change log was pruned past this node's
// position, so that its subscribers missed changes.
func (s *Store) Lost() uint64 { return s.lost.Load() }

// Open connects to the database at connURL, applies migrations and starts
// the committer and the change feed.
func Open(ctx context.Context, connURL string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	cfg, err := poolConfig(connURL, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	if err := migrate(ctx, pool, opts); err != nil {
		pool.Close()
		return nil, classify(ctx, "pgstore: migrate", err)
	}
	head, id, err := readHead(ctx, pool, opts.StatementTimeout)
	if err != nil {
		pool.Close()
		return nil, classify(ctx, "pgstore: read the commit counter", err)
	}
	s := &Store{
		id:      id,
		opts:    opts,
		pool:    pool,
		log:     opts.Logger,
		written: map[keyID]uint64{},

		txnSlots: make(chan struct{}, max(opts.PoolSize/2, 1)),
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	s.feed = newFeed(s, cfg.ConnConfig, head)
	s.committer = store.NewCommitter(s.applyGroup, opts.Group)
	s.bg.Add(3)
	go func() { defer s.bg.Done(); s.feed.dispatch(bgCtx) }()
	go func() { defer s.bg.Done(); s.feed.listen(bgCtx) }()
	go func() { defer s.bg.Done(); s.pruneLoop(bgCtx) }()
	return s, nil
}

// poolConfig parses connURL and sets what every connection needs: durable
// commits and server-side timeouts, so that neither a slow query nor a
// client that vanished mid-transaction holds locks for long; and no JIT
// compilation, which pays off for long analytic queries only: every
// statement here touches a few rows by key, and a misestimated one (say
// on tables autovacuum has not analyzed yet) spends hundreds of
// milliseconds compiling what runs in one.
func poolConfig(connURL string, opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(connURL)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connection URL: %w", err)
	}
	cfg.MaxConns = opts.PoolSize
	cc := cfg.ConnConfig
	if cc.ConnectTimeout <= 0 || cc.ConnectTimeout > opts.StatementTimeout {
		cc.ConnectTimeout = opts.StatementTimeout
	}
	ms := strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	p := cc.RuntimeParams
	p["synchronous_commit"] = "on"
	p["statement_timeout"] = ms
	p["idle_in_transaction_session_timeout"] = ms
	p["jit"] = "off"
	if opts.Schema != "" {
		p["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	if p["application_name"] == "" {
		p["application_name"] = "webaas"
	}
	return cfg, nil
}

// LastSeq implements store.Store: the counter row, which every write that
// takes a sequence number advances in its own transaction.
func (s *Store) LastSeq(ctx context.Context) (uint64, error) {
	var seq uint64
	err := s.do(ctx, "last seq", func(ctx context.Context) error {
		var err error
		seq, _, err = readHead(ctx, s.pool, s.opts.StatementTimeout)
		return err
	})
	return seq, err
}

// readHead reads the commit counter and the store's id.
func readHead(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) (uint64, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var head int64
	var id string
	err := pool.QueryRow(ctx, `SELECT k.seq, s.store_id FROM webaas_counter k CROSS JOIN webaas_store s`).Scan(&head, &id)
	return uint64(head), id, err
}

// ID implements store.Store.
func (s *Store) ID() string { return s.id }

// Close waits for queued commits, stops the change feed and closes the
// connections. Later calls return store.ErrClosed.
func (s *Store) Close() error {
	if !s.gate.Close() {
		return nil
	}
	s.committer.Close()
	s.bgCancel()
	s.bg.Wait()
	s.pool.Close()
	return nil
}

// do runs fn with a context bounded by the statement timeout, unless the
// store is closed; Close waits for it. Errors come back classified.
func (s *Store) do(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	if err := s.gate.Enter(); err != nil {
		return err
	}
	defer s.gate.Leave()
	callCtx, cancel := context.WithTimeout(ctx, s.opts.StatementTimeout)
	defer cancel()
	return classify(ctx, op, fn(callCtx))
}

// classify wraps err for the caller: the store's own sentinels pass
// through, the caller's cancellation stays a context error, and failures
// of the database or the connection wrap store.ErrUnavailable.
func classify(callerCtx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict),
		errors.Is(err, store.ErrUnknownApp), errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrUnavailable):
		return err
	case callerCtx.Err() != nil:
		return fmt.Errorf("%s: %w", op, callerCtx.Err())
	case isDiskFull(err):
		return fmt.Errorf("%s: %w: %w: %w", op, store.ErrUnavailable, store.ErrNoSpace, err)
	case unavailable(err):
		return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// isDiskFull reports PostgreSQL's disk_full.
func isDiskFull(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "53100"
}

// unavailable reports whether err means the database could not be reached
// or could not serve in time, rather than that the request was wrong.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57014", // query_canceled: statement_timeout
			pgErr.Code == "55P03", // lock_not_available
			pgErr.Code == "25P03": // idle_in_transaction_session_timeout
			return true
		}
		switch pgErr.Code[:2] {
		case "08", // connection exception
			"53", // insufficient resources: too many connections, disk full
			"57", // operator intervention: shutdown, terminated, cannot connect now
			"58": // system error: I/O
			return true
		}
		return false
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	return errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.As(err, &connErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isClosedConn(err)
}

// isClosedConn recognises pgx's errors for a connection that died earlier
// (they are not exported as types).
func isClosedConn(err error) bool {
	var c interface{ SafeToRetry() bool }
	return errors.As(err, &c) || errors.Is(err, net.ErrClosed)
}

var _ store.Store = (*Store)(nil)
