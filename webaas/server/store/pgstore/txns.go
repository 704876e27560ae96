package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// The statements behind store.TxnStore. A transaction's expiry is judged
// by the database's clock (now()), the one clock all nodes share, and the
// one the purge uses.
const (
	// beginTxnSQL inserts a transaction, or takes over the row of an
	// expired one with the same id; no row affected means the id is open.
	beginTxnSQL = `
INSERT INTO webaas_txns AS t (id, expires, state) VALUES ($1, $2, $3)
ON CONFLICT (id) DO UPDATE SET expires = excluded.expires, state = excluded.state
WHERE t.expires <= now()`

	// beginOwnedTxnSQL is beginTxnSQL for owner $4, unless $4 already
	// holds $5 open transactions; it answers how many it held and whether
	// the row went in. It runs after lockOwnerSQL, in the same database
	// transaction: under READ COMMITTED it then counts every transaction
	// of the owner that committed before it got the lock.
	beginOwnedTxnSQL = `
WITH held AS (
	SELECT count(*) AS n FROM webaas_txns WHERE owner = $4 AND expires > now()
), ins AS (
	INSERT INTO webaas_txns AS t (id, expires, state, owner)
	SELECT $1, $2, $3, $4 FROM held WHERE held.n < $5
	ON CONFLICT (id) DO UPDATE SET expires = excluded.expires, state = excluded.state, owner = excluded.owner
	WHERE t.expires <= now()
	RETURNING 1
)
SELECT (SELECT n FROM held), EXISTS (SELECT 1 FROM ins)`

	// lockOwnerSQL makes the BeginTxnFor calls of one owner take turns,
	// on every node, until their database transaction ends, so that two
	// cannot both take the owner's last place.
	lockOwnerSQL = `SELECT pg_advisory_xact_lock($1)`

	// lockTxnSQL loads an open transaction and locks it until the
	// database transaction ends. Under READ COMMITTED a caller that waited
	// for the lock reads the row as the holder left it, or no row if the
	// holder ended it.
	lockTxnSQL = `SELECT state FROM webaas_txns WHERE id = $1 AND expires > now() FOR UPDATE`

	saveTxnSQL = `UPDATE webaas_txns SET expires = $2, state = $3 WHERE id = $1`

	// endTxnSQL removes the transaction whether or not it expired (an
	// expired row goes now rather than at the next purge) and says which.
	// Of concurrent calls, the others wait for the row lock and then find
	// no row; a call waiting behind an UpdateTxn gets the state it saved.
	endTxnSQL = `DELETE FROM webaas_txns WHERE id = $1 RETURNING state, expires > now()`

	// purgeTxnsSQL deletes expired transactions, at most $1. It skips
	// rows locked by an UpdateTxn rather than wait for them: those are in
	// use, and their update may extend them.
	purgeTxnsSQL = `
DELETE FROM webaas_txns WHERE id IN (
	SELECT id FROM webaas_txns WHERE expires <= now() LIMIT $1 FOR UPDATE SKIP LOCKED)`
)

// BeginTxn implements store.TxnStore, in one round trip. There is no limit
// on open transactions here (counting them would cost every BeginTxn a
// scan): the limit server nodes keep on open transactions applies only
// when they keep them in their own memory. BeginTxnFor limits each owner.
func (s *Store) BeginTxn(ctx context.Context, id string, expires time.Time) error {
	if !storableID(id) {
		return fmt.Errorf("pgstore: transaction id %q is not UTF-8 text without NUL", id)
	}
	empty := encodeTxnState(store.TxnState{})
	return s.do(ctx, "begin transaction", func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, beginTxnSQL, id, expires, empty)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrExists
		}
		return err
	})
}

// BeginTxnFor implements store.TxnStore, in one round trip: the owner's
// lock, its count (through an index on owner) and the insert go in one
// database transaction. An owner without a limit costs what BeginTxn does.
func (s *Store) BeginTxnFor(ctx context.Context, id string, owner store.TxnOwner, expires time.Time) error {
	if owner.ID == "" || owner.Limit < 1 {
		return s.BeginTxn(ctx, id, expires)
	}
	if !storableID(id) || !storableID(owner.ID) {
		return fmt.Errorf("pgstore: transaction id %q or owner %q is not UTF-8 text without NUL", id, owner.ID)
	}
	empty := encodeTxnState(store.TxnState{})
	return s.do(ctx, "begin transaction", func(ctx context.Context) error {
		var held int64
		var inserted bool
		b := &pgx.Batch{}
		b.Queue(`BEGIN`)
		b.Queue(lockOwnerSQL, s.ownerLockKey(owner.ID))
		b.Queue(beginOwnedTxnSQL, id, expires, empty, owner.ID, owner.Limit).QueryRow(func(row pgx.Row) error {
			return row.Scan(&held, &inserted)
		})
		b.Queue(`COMMIT`)
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		switch {
		case inserted:
			return nil
		case held >= int64(owner.Limit):
			return store.ErrTooManyOwnerTxns
		}
		return store.ErrExists
	})
}

// ownerLockKey is the advisory lock of one owner's BeginTxnFor calls, on
// this store's schema (advisory locks are per database). Owners whose keys
// collide only take turns.
func (s *Store) ownerLockKey(owner string) int64 {
	h := fnv.New64a()
	h.Write([]byte("webaas-chat pgstore txn owner\x00" + s.opts.Schema + "\x00" + owner))
	return int64(h.Sum64())
}

// UpdateTxn implements store.TxnStore in two round trips: begin, lock and
// load; then, after fn, save and commit. The row lock makes calls on one id
// take turns across all nodes; fn runs while this node holds the lock and
// a connection, and the statement timeout (with the server's
// idle_in_transaction_session_timeout) bounds how long.
func (s *Store) UpdateTxn(ctx context.Context, id string, expires time.Time, fn func(*store.TxnState) error) error {
	const op = "update transaction"
	if !storableID(id) {
		return store.ErrNotFound // no such id can have begun
	}
	callCtx, cancel := context.WithTimeout(ctx, s.opts.StatementTimeout)
	defer cancel()
	conn, err := s.acquireForTxn(callCtx)
	if err != nil {
		return classify(ctx, op, err)
	}
	defer s.releaseForTxn(conn)

	var raw []byte
	found := false
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(lockTxnSQL, id).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&raw)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err := conn.SendBatch(callCtx, b).Close(); err != nil {
		return classify(ctx, op, err)
	}
	if !found {
		rollback(callCtx, conn)
		return store.ErrNotFound
	}
	st, err := decodeTxnState(raw)
	if err != nil {
		rollback(callCtx, conn)
		return fmt.Errorf("%s %q: %w", op, id, err)
	}
	if err := fn(&st); err != nil {
		// fn's own error, unwrapped: the caller must see it as fn
		// returned it.
		rollback(callCtx, conn)
		return err
	}
	b = &pgx.Batch{}
	b.Queue(saveTxnSQL, id, expires, encodeTxnState(st))
	b.Queue(`COMMIT`)
	return classify(ctx, op, conn.SendBatch(callCtx, b).Close())
}

// EndTxn implements store.TxnStore, in one round trip.
func (s *Store) EndTxn(ctx context.Context, id string) (store.TxnState, error) {
	if !storableID(id) {
		return store.TxnState{}, store.ErrNotFound
	}
	var raw []byte
	err := s.do(ctx, "end transaction", func(ctx context.Context) error {
		var live bool
		err := s.pool.QueryRow(ctx, endTxnSQL, id).Scan(&raw, &live)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		case !live:
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return store.TxnState{}, err
	}
	st, err := decodeTxnState(raw)
	if err != nil {
		return store.TxnState{}, fmt.Errorf("end transaction %q: %w", id, err)
	}
	return st, nil
}

// storableID reports whether id fits a text column. Ids come from
// clients: one that does not fit names no transaction, and must get the
// same answer as any other unknown id rather than a database error.
func storableID(id string) bool {
	return utf8.ValidString(id) && strings.IndexByte(id, 0) < 0
}

// acquireForTxn takes one of the node's UpdateTxn slots, then a
// connection. The slots keep UpdateTxn from holding every connection of
// the pool: fn typically reads through the store (a transactional read),
// and with all connections held by fns waiting for one, nothing would
// move until the timeout. The slot is taken before the store's lock, so
// that waiting for one never holds up Close.
func (s *Store) acquireForTxn(ctx context.Context) (*pgxpool.Conn, error) {
	select {
	case s.txnSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	conn, err := s.acquire(ctx)
	if err != nil {
		<-s.txnSlots
		return nil, err
	}
	return conn, nil
}

func (s *Store) releaseForTxn(conn *pgxpool.Conn) {
	conn.Release()
	<-s.txnSlots
}

// acquire takes a connection unless the store is closed. It holds the
// store's lock only while acquiring, not while the connection is used: the
// caller may run code (fn) that calls the store, which would deadlock
// against a Close waiting for the lock. Close still waits for the
// connection, since closing the pool waits for every acquired one.
func (s *Store) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	return s.pool.Acquire(ctx)
}

// rollback ends the database transaction on conn, which then goes back
// to the pool. If that fails the connection is still inside the
// transaction, and releasing it destroys it, which rolls back too: the
// caller's outcome is the same either way.
func rollback(ctx context.Context, conn *pgxpool.Conn) {
	conn.Exec(ctx, `ROLLBACK`)
}

// purgeBatch bounds one purge statement.
const purgeBatch = 10000

// purgeTxns deletes expired transactions and returns how many. They are
// invisible already; this only frees their rows.
func (s *Store) purgeTxns(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.do(ctx, "purge transactions", func(ctx context.Context) error {
			tag, err := s.pool.Exec(ctx, purgeTxnsSQL, purgeBatch)
			n = tag.RowsAffected()
			return err
		})
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}

var _ store.TxnStore = (*Store)(nil)
