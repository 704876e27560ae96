package store

import (
	"context"
	"errors"
	"time"
)

// Errors of a TxnStore's limits, matched with errors.Is.
var (
	// ErrTooManyTxns is returned by BeginTxn when the open-transaction
	// limit is reached.
	ErrTooManyTxns = errors.New("too many open transactions")
	// ErrTooManyOwnerTxns is returned by BeginTxnFor when the owner
	// already holds as many open transactions as it may.
	ErrTooManyOwnerTxns = errors.New("too many open transactions for one owner")
	// ErrTxnBytes is returned by TxnState.Grow when the open transactions
	// of a store that bounds their memory would hold more than it allows.
	ErrTxnBytes = errors.New("open transactions hold too many bytes")
)

// TxnState is an open transaction: what it read, at which versions, and
// the writes it buffered (in first-write order; a key written twice
// appears once, with its last value).
//
// FindRead and FindWrite look keys up in O(1) through an index built on
// first use and kept as entries are added with AddRead, AddWrite and
// SetWrite, or appended to Reads and Writes directly. Editing the key of
// an entry in place, or reordering entries, is not seen by the index: do
// neither, or build a new TxnState. A copy of a TxnState shares the index
// of the original; keep using only one of them.
type TxnState struct {
	Reads  []Read
	Writes []Write

	idx *txnIndex
	// grow, when set by the store for the length of one UpdateTxn fn,
	// reserves bytes against the store's bound on all its transactions.
	grow func(n int64) error
}

// txnIndex maps keys to entries of Reads[:reads] and Writes[:writes], and
// sums their sizes.
type txnIndex struct {
	readAt, writeAt map[indexKey]int
	reads, writes   int
	size            int64
}

type indexKey struct{ app, schema, key string }

func keyOf(k RecordKey) indexKey { return indexKey{k.App, k.Schema, string(k.Key)} }

// entryOverhead approximates what an entry costs beside its bytes: the
// Read or Write struct, its index entry and slice headers.
const entryOverhead = 160

// ReadSize is the memory a read takes in a TxnState: its key, twice (the
// index holds a copy), and entryOverhead.
func ReadSize(r Read) int64 { return 2*int64(len(r.Key.Key)) + entryOverhead }

// WriteSize is the memory a write takes in a TxnState: its key (twice),
// text key, value and entryOverhead.
func WriteSize(w Write) int64 {
	return 2*int64(len(w.Key.Key)) + int64(len(w.TextKey)) + int64(len(w.Value)) + entryOverhead
}

// index returns the index, brought up to date with entries appended
// since it was last used (rebuilt if entries were removed).
func (st *TxnState) index() *txnIndex {
	x := st.idx
	if x == nil || x.reads > len(st.Reads) || x.writes > len(st.Writes) {
		x = &txnIndex{readAt: make(map[indexKey]int, len(st.Reads)), writeAt: make(map[indexKey]int, len(st.Writes))}
		st.idx = x
	}
	for ; x.reads < len(st.Reads); x.reads++ {
		r := st.Reads[x.reads]
		k := keyOf(r.Key)
		if _, dup := x.readAt[k]; !dup {
			x.readAt[k] = x.reads
		}
		x.size += ReadSize(r)
	}
	for ; x.writes < len(st.Writes); x.writes++ {
		w := st.Writes[x.writes]
		k := keyOf(w.Key)
		if _, dup := x.writeAt[k]; !dup {
			x.writeAt[k] = x.writes
		}
		x.size += WriteSize(w)
	}
	return x
}

// FindRead returns the index in Reads of the read of k.
func (st *TxnState) FindRead(k RecordKey) (int, bool) {
	i, ok := st.index().readAt[keyOf(k)]
	return i, ok
}

// FindWrite returns the index in Writes of the write of k.
func (st *TxnState) FindWrite(k RecordKey) (int, bool) {
	i, ok := st.index().writeAt[keyOf(k)]
	return i, ok
}

// AddRead appends a read of a key not read before (see FindRead).
func (st *TxnState) AddRead(r Read) {
	st.index()
	st.Reads = append(st.Reads, r)
}

// AddWrite appends a write of a key not written before (see FindWrite).
func (st *TxnState) AddWrite(w Write) {
	st.index()
	st.Writes = append(st.Writes, w)
}

// SetWrite replaces Writes[i], which must be a write of the same key.
func (st *TxnState) SetWrite(i int, w Write) {
	x := st.index()
	x.size += WriteSize(w) - WriteSize(st.Writes[i])
	st.Writes[i] = w
}

// Bytes is the memory the state holds, as ReadSize and WriteSize count
// it.
func (st *TxnState) Bytes() int64 { return st.index().size }

// Grow asks for n more bytes before fn adds them: it fails with
// ErrTxnBytes when the store bounds the memory of all its open
// transactions and n more would not fit. Stores that do not (they keep
// transactions outside the process) always grant it.
func (st *TxnState) Grow(n int64) error {
	if st.grow == nil || n <= 0 {
		return nil
	}
	return st.grow(n)
}

// TxnOwner says who begins a transaction, and how many they may hold.
type TxnOwner struct {
	ID    string // the client, e.g. its address; "" is nobody in particular
	Limit int    // most transactions ID may hold open at once; < 1: no limit
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
	// BeginTxnFor is BeginTxn on behalf of owner.ID: it fails with
	// ErrTooManyOwnerTxns when that owner already holds owner.Limit open
	// transactions, so that one client cannot take every place under the
	// store's own limit.
	BeginTxnFor(ctx context.Context, id string, owner TxnOwner, expires time.Time) error
	// UpdateTxn loads transaction id, lets fn change its state and saves
	// it with the new expiry, atomically with other calls on the same id.
	// If fn fails nothing is saved and its error is returned; fn must then
	// have left the state as it found it, since a store may hand fn the
	// stored state itself rather than pay for a copy on every call. fn
	// must not keep the state after it returns. ErrNotFound when the
	// transaction does not exist, has ended or has expired.
	UpdateTxn(ctx context.Context, id string, expires time.Time, fn func(*TxnState) error) error
	// EndTxn removes transaction id and returns its state: of several
	// concurrent calls, exactly one gets it. ErrNotFound as for UpdateTxn.
	EndTxn(ctx context.Context, id string) (TxnState, error)
}
