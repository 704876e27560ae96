package server

import (
	"bytes"
	"errors"
	"net/http"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// Transactions live in a store.TxnStore: the server's own memory, or,
// when the Store can hold them (PostgreSQL), the database, so that the
// calls of one transaction may reach different nodes. Nothing reaches the
// records before commit, where the store checks that every read still
// holds (optimistic, serializable).

// staleRead marks a key a transaction read twice and saw change: its
// commit must fail, and no record ever has this version.
const staleRead = ^uint64(0)

func sameKey(a, b store.RecordKey) bool {
	return a.App == b.App && a.Schema == b.Schema && bytes.Equal(a.Key, b.Key)
}

func unknownTxn(id string, timeout time.Duration) error {
	return errorf(webaas.CodeUnknownTransaction, "unknown transaction %q: it never existed, or it was committed, aborted or expired after %v idle", id, timeout)
}

// txnErr maps a TxnStore error.
func (s *Server) txnErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return unknownTxn(id, s.cfg.TxnTimeout)
	case errors.Is(err, store.ErrTooManyTxns):
		return errorf(webaas.CodeLimit, "%d transactions are open, the limit; commit or abort some first", s.cfg.MaxOpenTxns)
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return storeFault(err)
}

func (s *Server) txnExpiry() time.Time { return time.Now().Add(s.cfg.TxnTimeout) }

// POST /transaction?action=begin|commit|abort[&transactionID=T]
func (s *Server) transaction(w http.ResponseWriter, r *http.Request) error {
	action, err := param(r, "action")
	if err != nil {
		return err
	}
	switch action {
	case "begin":
		id := newID()
		if err := s.txns.BeginTxn(r.Context(), id, s.txnExpiry()); err != nil {
			return s.txnErr(id, err)
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
	st, err := s.txns.EndTxn(r.Context(), id)
	if err != nil {
		return s.txnErr(id, err)
	}
	if action == "commit" {
		// A read-only transaction goes through the store too: its reads
		// are validated like any other, or it would not be serializable.
		if _, err := s.store.Commit(r.Context(), store.Batch{Reads: st.Reads, Writes: st.Writes}); err != nil {
			return commitErr(err)
		}
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
	found := false
	err = s.txns.UpdateTxn(r.Context(), id, s.txnExpiry(), func(st *store.TxnState) error {
		for _, wr := range st.Writes { // a transaction sees its own writes
			if sameKey(wr.Key, key) {
				value, found = wr.Value, !wr.Delete
				return nil
			}
		}
		rec, err := s.store.Get(r.Context(), key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rec = store.Record{} // "absent" is a read too: version 0
		case err != nil:
			return storeFault(err)
		}
		value, found = rec.Value, rec.Version != 0
		for i, rd := range st.Reads {
			if sameKey(rd.Key, key) {
				if rd.Version != rec.Version {
					// Read twice, saw two versions: commit must fail.
					st.Reads[i].Version = staleRead
				}
				return nil
			}
		}
		st.Reads = append(st.Reads, store.Read{Key: key, Version: rec.Version})
		return nil
	})
	if err != nil {
		return s.txnErr(id, err)
	}
	if !found {
		return errorf(webaas.CodeNotFound, "record not found: %s %s", t.typ.desc.FullName(), r.URL.Query().Get("recordKey"))
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
	err = s.txns.UpdateTxn(r.Context(), id, s.txnExpiry(), func(st *store.TxnState) error {
		for i := range st.Writes { // the last write of a key wins
			if sameKey(st.Writes[i].Key, wr.Key) {
				st.Writes[i] = wr
				return nil
			}
		}
		if len(st.Writes) >= s.cfg.MaxTxnWrites {
			return errorf(webaas.CodeLimit, "transaction already buffers %d records, the limit", s.cfg.MaxTxnWrites)
		}
		st.Writes = append(st.Writes, wr)
		return nil
	})
	if err != nil {
		return s.txnErr(id, err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"recordKey": wr.TextKey})
	return nil
}
