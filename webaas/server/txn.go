package server

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// txn is an open transaction: the versions it read and the writes it
// buffered. Nothing reaches the store before commit, where the store checks
// that every read still holds (optimistic, serializable).
type txn struct {
	mu       sync.Mutex
	reads    map[string]store.Read  // by key identity
	writes   map[string]store.Write // by key identity; the last write of a key wins
	order    []string               // write order, for a deterministic batch
	lastUsed time.Time
	done     bool // committed, aborted or expired
}

func keyID(k store.RecordKey) string {
	return k.App + "\x00" + k.Schema + "\x00" + string(k.Key)
}

// txns holds the open transactions of this server process and expires idle
// ones. A transaction lives on the node that began it.
type txns struct {
	timeout time.Duration
	max     int
	mu      sync.Mutex
	open    map[string]*txn
	stop    chan struct{}
	stopped chan struct{}
}

func newTxns(timeout time.Duration, max int) *txns {
	t := &txns{timeout: timeout, max: max, open: map[string]*txn{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	go t.expireLoop()
	return t
}

func (t *txns) close() {
	close(t.stop)
	<-t.stopped
}

func (t *txns) expireLoop() {
	defer close(t.stopped)
	tick := time.NewTicker(t.timeout / 4)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case now := <-tick.C:
			t.expire(now)
		}
	}
}

func (t *txns) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, tx := range t.open {
		tx.mu.Lock()
		if now.Sub(tx.lastUsed) > t.timeout {
			tx.done = true
			delete(t.open, id)
		}
		tx.mu.Unlock()
	}
}

func (t *txns) begin() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.open) >= t.max {
		return "", errorf(webaas.CodeLimit, "%d transactions are open, the limit; commit or abort some first", t.max)
	}
	id := newID()
	t.open[id] = &txn{reads: map[string]store.Read{}, writes: map[string]store.Write{}, lastUsed: time.Now()}
	return id, nil
}

// use runs fn with the open transaction id locked; it refreshes the idle
// timer. end removes the transaction afterwards (commit, abort).
func (t *txns) use(id string, end bool, fn func(*txn) error) error {
	t.mu.Lock()
	tx, ok := t.open[id]
	if ok && end {
		delete(t.open, id)
	}
	t.mu.Unlock()
	if !ok {
		return errorf(webaas.CodeUnknownTransaction, "unknown transaction %q: it never existed, or it was committed, aborted or expired after %v idle", id, t.timeout)
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.done {
		return errorf(webaas.CodeUnknownTransaction, "unknown transaction %q: it expired or ended", id)
	}
	tx.lastUsed = time.Now()
	if end {
		tx.done = true
	}
	return fn(tx)
}

// POST /transaction?action=begin|commit|abort[&transactionID=T]
func (s *Server) transaction(w http.ResponseWriter, r *http.Request) error {
	action, err := param(r, "action")
	if err != nil {
		return err
	}
	switch action {
	case "begin":
		id, err := s.txns.begin()
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"transactionID": id})
		return nil
	case "commit", "abort":
	default:
		return errorf(webaas.CodeBadParameter, "parameter action=%q: use begin, commit or abort", action)
	}
	id, err := param(r, "transactionID")
	if err != nil {
		return err
	}
	err = s.txns.use(id, true, func(tx *txn) error {
		if action == "abort" {
			return nil
		}
		b := store.Batch{}
		for _, rd := range tx.reads {
			b.Reads = append(b.Reads, rd)
		}
		for _, k := range tx.order {
			b.Writes = append(b.Writes, tx.writes[k])
		}
		// A read-only transaction goes through the store too: its reads
		// are validated like any other, or it would not be serializable.
		if _, err := s.store.Commit(r.Context(), b); err != nil {
			return commitErr(err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"transactionID": id})
	return nil
}

// GET /query/transactional?appID&schemaName&recordKey&transactionID
func (s *Server) txnQuery(w http.ResponseWriter, r *http.Request) error {
	id, err := param(r, "transactionID")
	if err != nil {
		return err
	}
	t, err := s.target(r)
	if err != nil {
		return err
	}
	key, err := s.recordKey(r, t)
	if err != nil {
		return err
	}
	var value []byte
	err = s.txns.use(id, false, func(tx *txn) error {
		kid := keyID(key)
		if wr, ok := tx.writes[kid]; ok { // a transaction sees its own writes
			value = wr.Value
			return nil
		}
		rec, err := s.store.Get(r.Context(), key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rec = store.Record{} // "absent" is a read too: version 0
		case err != nil:
			return storeFault(err)
		}
		if _, seen := tx.reads[kid]; !seen {
			tx.reads[kid] = store.Read{Key: key, Version: rec.Version}
		} else if tx.reads[kid].Version != rec.Version {
			// Read twice, saw two versions: commit would fail anyway.
			tx.reads[kid] = store.Read{Key: key, Version: ^uint64(0)}
		}
		value = rec.Value
		if rec.Version == 0 {
			return errorf(webaas.CodeNotFound, "record not found: %s %s", t.typ.desc.FullName(), r.URL.Query().Get("recordKey"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeRecord(w, value)
	return nil
}

// POST /record/transactional?appID&schemaName&transactionID, body: record
func (s *Server) txnUpsert(w http.ResponseWriter, r *http.Request) error {
	id, err := param(r, "transactionID")
	if err != nil {
		return err
	}
	t, err := s.target(r)
	if err != nil {
		return err
	}
	wr, err := s.readRecord(w, r, t)
	if err != nil {
		return err
	}
	err = s.txns.use(id, false, func(tx *txn) error {
		kid := keyID(wr.Key)
		if _, ok := tx.writes[kid]; !ok {
			if len(tx.order) >= s.cfg.MaxTxnWrites {
				return errorf(webaas.CodeLimit, "transaction already buffers %d records, the limit", s.cfg.MaxTxnWrites)
			}
			tx.order = append(tx.order, kid)
		}
		tx.writes[kid] = wr
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"recordKey": wr.TextKey})
	return nil
}
