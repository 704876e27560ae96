package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// memJanitorInterval is how often MemTxns purges expired transactions.
// Expired ones are already invisible; purging only frees their memory and
// their places under the limit, and BeginTxn purges itself when it finds
// the limit reached, so the interval does not need to be short.
const memJanitorInterval = time.Second

// MemTxns is a TxnStore in this process's memory: the server's choice when
// its Store keeps no transactions. Transactions then live on the node that
// began them, and the limit on open transactions is per node.
//
// Calls on one id take turns (UpdateTxn holds the id for the whole of fn);
// calls on different ids run in parallel. Expired transactions behave as
// ended at once, and a background janitor frees them; Close stops it.
//
// The state fn sees is a copy of the stored slices, so a failing fn leaves
// the stored state as it was, whatever it did to the slices or to their
// elements' fields. Key and value bytes are shared, not copied (copying
// every value on every call would cost as much as the rest together): as
// everywhere in the store package, byte slices are not modified in place
// once handed over, and fn must not keep the state after it returns.
type MemTxns struct {
	limit int

	mu   sync.Mutex
	open map[string]*memTxn

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// memTxn is one transaction. lock, a channel rather than a mutex so that
// waiting for it honours the caller's context, guards the other fields.
type memTxn struct {
	lock    chan struct{}
	state   TxnState
	expires time.Time
	ended   bool // ended or found expired: gone, even if still in the map
}

// NewMemTxns returns an empty MemTxns that holds at most limit open
// transactions (limit < 1: no limit) and starts its janitor.
func NewMemTxns(limit int) *MemTxns {
	m := &MemTxns{
		limit:   limit,
		open:    map[string]*memTxn{},
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go m.janitor()
	return m
}

// Close stops the janitor and waits for it. The transactions stay usable
// (expired ones are still refused, and BeginTxn still purges at the
// limit), so in-flight requests can finish during a shutdown.
func (m *MemTxns) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.stopped
	})
	return nil
}

// Len returns how many transactions are held, including expired or ended
// ones the janitor has not freed yet.
func (m *MemTxns) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.open)
}

func (m *MemTxns) janitor() {
	defer close(m.stopped)
	tick := time.NewTicker(memJanitorInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case now := <-tick.C:
			m.mu.Lock()
			m.purgeLocked(now)
			m.mu.Unlock()
		}
	}
}

// purgeLocked frees the transactions that ended or expired by now. It
// skips those in use: waiting for a long fn would hold m.mu and stall every
// call, and one in use will be found expired by its user or by the next
// purge. The caller holds m.mu.
func (m *MemTxns) purgeLocked(now time.Time) {
	for id, tx := range m.open {
		if !tx.tryLock() {
			continue
		}
		if tx.ended || !now.Before(tx.expires) {
			tx.ended = true
			delete(m.open, id)
		}
		tx.unlock()
	}
}

// BeginTxn implements TxnStore. An id still open returns ErrExists; an
// expired or ended one may be begun again.
func (m *MemTxns) BeginTxn(ctx context.Context, id string, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if old, ok := m.open[id]; ok {
		// Only an idle old transaction can be judged here; one in use is
		// open, or as good as, so the id is taken.
		if !old.tryLock() {
			return ErrExists
		}
		gone := old.ended || !now.Before(old.expires)
		if gone {
			old.ended = true
			delete(m.open, id)
		}
		old.unlock()
		if !gone {
			return ErrExists
		}
	}
	if m.limit > 0 && len(m.open) >= m.limit {
		m.purgeLocked(now)
		if len(m.open) >= m.limit {
			return ErrTooManyTxns
		}
	}
	m.open[id] = &memTxn{lock: make(chan struct{}, 1), expires: expires}
	return nil
}

// UpdateTxn implements TxnStore.
func (m *MemTxns) UpdateTxn(ctx context.Context, id string, expires time.Time, fn func(*TxnState) error) error {
	tx, err := m.acquire(ctx, id, "update transaction")
	if err != nil {
		return err
	}
	defer tx.unlock()
	st := TxnState{Reads: slices.Clone(tx.state.Reads), Writes: slices.Clone(tx.state.Writes)}
	if err := fn(&st); err != nil {
		return err
	}
	tx.state, tx.expires = st, expires
	return nil
}

// EndTxn implements TxnStore.
func (m *MemTxns) EndTxn(ctx context.Context, id string) (TxnState, error) {
	tx, err := m.acquire(ctx, id, "end transaction")
	if err != nil {
		return TxnState{}, err
	}
	defer tx.unlock()
	tx.ended = true
	m.mu.Lock()
	if m.open[id] == tx {
		delete(m.open, id)
	}
	m.mu.Unlock()
	return tx.state, nil
}

// acquire locks transaction id, waiting for the call before it on that id
// if needed, and returns it if it is still open.
func (m *MemTxns) acquire(ctx context.Context, id, op string) (*memTxn, error) {
	m.mu.Lock()
	tx, ok := m.open[id]
	m.mu.Unlock()
	if !ok {
		return nil, ErrNotFound
	}
	select {
	case tx.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: %w", op, ctx.Err())
	}
	if tx.ended || !time.Now().Before(tx.expires) {
		// The janitor (or the next BeginTxn at the limit) frees it.
		tx.ended = true
		tx.unlock()
		return nil, ErrNotFound
	}
	return tx, nil
}

func (tx *memTxn) tryLock() bool {
	select {
	case tx.lock <- struct{}{}:
		return true
	default:
		return false
	}
}

func (tx *memTxn) unlock() { <-tx.lock }

var _ TxnStore = (*MemTxns)(nil)
