package store

import (
	"context"
	"errors"
	"time"
)

// ErrTooManyTxns is returned by BeginTxn when the open-transaction limit
// is reached.
var ErrTooManyTxns = errors.New("too many open transactions")

// TxnState is an open transaction: what it read, at which versions, and
// the writes it buffered (in first-write order; a key written twice
// appears once, with its last value).
type TxnState struct {
	Reads  []Read
	Writes []Write
}

// TxnStore keeps open transactions. The server keeps them in its own
// memory (MemTxns) unless its Store also implements TxnStore: then they
// live where every server node can reach them, so the calls of one
// transaction may land on different nodes behind a load balancer.
type TxnStore interface {
	// BeginTxn records a new, empty transaction that expires at expires
	// unless it is used again before then. ErrExists if id is open; the
	// id of one that ended or expired may be used again.
	BeginTxn(ctx context.Context, id string, expires time.Time) error
	// UpdateTxn loads transaction id, lets fn change its state and saves
	// it with the new expiry, atomically with other calls on the same id.
	// If fn fails nothing is saved and its error is returned. ErrNotFound
	// when the transaction does not exist, has ended or has expired.
	UpdateTxn(ctx context.Context, id string, expires time.Time, fn func(*TxnState) error) error
	// EndTxn removes transaction id and returns its state: of several
	// concurrent calls, exactly one gets it. ErrNotFound as for UpdateTxn.
	EndTxn(ctx context.Context, id string) (TxnState, error)
}
