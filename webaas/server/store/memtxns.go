package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// memJanitorInterval is how often MemTxns purges expired transactions.
// Expired ones are already invisible; purging only frees their memory and
// their places under the limits, and BeginTxn purges itself when it finds
// a limit reached, so the interval does not need to be short.
const memJanitorInterval = time.Second

// MemTxns is a TxnStore in this process's memory: the server's choice when
// its Store keeps no transactions. Transactions then live on the node that
// began them, and the limits on open transactions and on their bytes are
// per node.
//
// Calls on one id take turns (UpdateTxn holds the id for the whole of fn);
// calls on different ids run in parallel. Expired transactions behave as
// ended at once, and a background janitor frees them; Close stops it.
//
// fn gets the stored state itself, not a copy, so that a call costs the
// same however much the transaction holds: as TxnStore says, a failing fn
// must leave it as it found it. Key and value bytes are shared with the
// caller: as everywhere in the store package, byte slices are not
// modified in place once handed over, and fn must not keep the state
// after it returns.
type MemTxns struct {
	now      func() time.Time
	limit    int
	maxBytes int64

	mu     sync.Mutex
	open   map[string]*memTxn
	owners map[string]*memOwner // owners with a limit that hold transactions
	bytes  int64                // what the transactions in open hold, plus grants to running fns
	// purgeAt is when the first transaction in open may expire: until
	// then a purge cannot free anything, and is skipped.
	purgeAt time.Time

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
}

// MemTxnsLimits bound a MemTxns. Zero or less: no limit.
type MemTxnsLimits struct {
	Open  int   // transactions open at once
	Bytes int64 // bytes all open transactions hold, as TxnState.Bytes counts them
	// Now is the clock expiry is judged by (default time.Now; tests move
	// their own).
	Now func() time.Time
}

// memTxn is one transaction. lock, a channel rather than a mutex so that
// waiting for it honours the caller's context, guards state, expires,
// ended and bytes; m.mu guards owner and is held too when bytes changes.
type memTxn struct {
	lock    chan struct{}
	state   TxnState
	expires time.Time
	ended   bool      // ended or found expired: gone, even if still in the map
	owner   *memOwner // nil for an owner without a limit
	bytes   int64     // what MemTxns.bytes counts for it
}

// memOwner is one owner's open transactions.
type memOwner struct {
	id      string
	txns    map[string]*memTxn
	purgeAt time.Time // as MemTxns.purgeAt, for these
}

// NewMemTxns returns an empty MemTxns that holds at most limit open
// transactions (limit < 1: no limit) and starts its janitor.
func NewMemTxns(limit int) *MemTxns { return NewMemTxnsLimits(MemTxnsLimits{Open: limit}) }

// NewMemTxnsLimits returns an empty MemTxns within l and starts its
// janitor.
func NewMemTxnsLimits(l MemTxnsLimits) *MemTxns {
	if l.Now == nil {
		l.Now = time.Now
	}
	m := &MemTxns{
		now:      l.Now,
		limit:    l.Open,
		maxBytes: l.Bytes,
		open:     map[string]*memTxn{},
		owners:   map[string]*memOwner{},
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
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

// Bytes returns how many bytes the held transactions take, as
// TxnState.Bytes counts them.
func (m *MemTxns) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

func (m *MemTxns) janitor() {
	defer close(m.stopped)
	tick := time.NewTicker(memJanitorInterval)
	defer tick.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
			m.mu.Lock()
			m.purgeAt = m.purgeLocked(m.open, m.purgeAt, m.now())
			m.mu.Unlock()
		}
	}
}

// purgeLocked frees those of txns that ended or expired by now, and
// returns when the next of the others may expire. It does nothing before
// purgeAt, when none can have. It skips transactions in use: waiting for
// a long fn would hold m.mu and stall every call, and one in use will be
// found expired by its user or by a purge soon after (so it counts as
// expiring now). The caller holds m.mu.
func (m *MemTxns) purgeLocked(txns map[string]*memTxn, purgeAt, now time.Time) time.Time {
	if now.Before(purgeAt) {
		return purgeAt
	}
	var next time.Time
	soonest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for id, tx := range txns {
		if !tx.tryLock() {
			soonest(now.Add(memJanitorInterval / 10))
			continue
		}
		if tx.ended || !now.Before(tx.expires) {
			m.dropLocked(id, tx)
		} else {
			soonest(tx.expires)
		}
		tx.unlock()
	}
	return next
}

// dropLocked removes tx and gives back its places and its bytes. The
// caller holds m.mu and tx's lock.
func (m *MemTxns) dropLocked(id string, tx *memTxn) {
	tx.ended = true
	if m.open[id] != tx {
		return
	}
	delete(m.open, id)
	m.bytes -= tx.bytes
	tx.bytes = 0
	if o := tx.owner; o != nil {
		delete(o.txns, id)
		if len(o.txns) == 0 {
			delete(m.owners, o.id)
		}
	}
}

// expiresLocked notes that tx now expires at t, which may be earlier than
// the purges expect. The caller holds m.mu.
func (m *MemTxns) expiresLocked(tx *memTxn, t time.Time) {
	if t.Before(m.purgeAt) {
		m.purgeAt = t
	}
	if o := tx.owner; o != nil && t.Before(o.purgeAt) {
		o.purgeAt = t
	}
}

// BeginTxn implements TxnStore. An id still open returns ErrExists; an
// expired or ended one may be begun again.
func (m *MemTxns) BeginTxn(ctx context.Context, id string, expires time.Time) error {
	return m.BeginTxnFor(ctx, id, TxnOwner{}, expires)
}

// BeginTxnFor implements TxnStore. Owners with a limit are counted; the
// others are not.
func (m *MemTxns) BeginTxnFor(ctx context.Context, id string, owner TxnOwner, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if old, ok := m.open[id]; ok {
		// Only an idle old transaction can be judged here; one in use is
		// open, or as good as, so the id is taken.
		if !old.tryLock() {
			return ErrExists
		}
		gone := old.ended || !now.Before(old.expires)
		if gone {
			m.dropLocked(id, old)
		}
		old.unlock()
		if !gone {
			return ErrExists
		}
	}
	var o *memOwner
	if owner.ID != "" && owner.Limit > 0 {
		o = m.owners[owner.ID]
		if o != nil && len(o.txns) >= owner.Limit {
			o.purgeAt = m.purgeLocked(o.txns, o.purgeAt, now)
			if len(o.txns) >= owner.Limit {
				return ErrTooManyOwnerTxns
			}
		}
	}
	if m.limit > 0 && len(m.open) >= m.limit {
		m.purgeAt = m.purgeLocked(m.open, m.purgeAt, now)
		if len(m.open) >= m.limit {
			return ErrTooManyTxns
		}
	}
	tx := &memTxn{lock: make(chan struct{}, 1), expires: expires}
	if owner.ID != "" && owner.Limit > 0 {
		if o = m.owners[owner.ID]; o == nil { // the purge may have dropped it
			o = &memOwner{id: owner.ID, txns: map[string]*memTxn{}, purgeAt: expires}
			m.owners[owner.ID] = o
		}
		o.txns[id] = tx
		tx.owner = o
	}
	m.open[id] = tx
	if len(m.open) == 1 {
		m.purgeAt = expires
	}
	m.expiresLocked(tx, expires)
	return nil
}

// UpdateTxn implements TxnStore. While fn runs, the state's Grow grants
// bytes under the limit on all transactions; once fn has returned, the
// transaction is counted at what it holds.
func (m *MemTxns) UpdateTxn(ctx context.Context, id string, expires time.Time, fn func(*TxnState) error) error {
	tx, err := m.acquire(ctx, id, "update transaction")
	if err != nil {
		return err
	}
	defer tx.unlock()
	var granted int64
	st := &tx.state
	st.grow = func(n int64) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.maxBytes > 0 && m.bytes+n > m.maxBytes {
			return ErrTxnBytes
		}
		m.bytes += n
		granted += n
		return nil
	}
	err = fn(st)
	st.grow = nil
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.bytes -= granted
		return err
	}
	held := st.Bytes()
	m.bytes += held - tx.bytes - granted
	tx.bytes, tx.expires = held, expires
	m.expiresLocked(tx, expires)
	return nil
}

// EndTxn implements TxnStore.
func (m *MemTxns) EndTxn(ctx context.Context, id string) (TxnState, error) {
	tx, err := m.acquire(ctx, id, "end transaction")
	if err != nil {
		return TxnState{}, err
	}
	defer tx.unlock()
	m.mu.Lock()
	m.dropLocked(id, tx)
	m.mu.Unlock()
	st := tx.state
	tx.state = TxnState{}
	return st, nil
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
	if tx.ended || !m.now().Before(tx.expires) {
		// The janitor (or the next BeginTxn at a limit) frees it.
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
