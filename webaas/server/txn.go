package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// Transactions live in a store.TxnStore: the server's own memory, or,
// when the Store can hold them (PostgreSQL), the database, so that the
// calls of one transaction may reach different nodes. Nothing reaches the
// records before commit, where the store checks that every read still
// holds (optimistic, serializable).

// staleRead marks a key a transaction read twice and saw change: its
// commit must fail, and no record ever has this version.
const staleRead = ^uint64(0)

func unknownTxn(id string, timeout time.Duration) error {
	return errorf(wire.CodeUnknownTransaction, "unknown transaction %q: it never existed, or it was committed, aborted or expired after %v idle", id, timeout)
}

// txnErr maps a TxnStore error.
func (s *Server) txnErr(id string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return unknownTxn(id, s.cfg.TxnTimeout)
	case errors.Is(err, store.ErrTooManyOwnerTxns):
		return errorf(wire.CodeLimit, "this client already holds %d open transactions, the limit per client (--max-open-txns-per-client); commit or abort some first", s.cfg.MaxOpenTxnsPerClient)
	case errors.Is(err, store.ErrTooManyTxns):
		return errorf(wire.CodeLimit, "%d transactions are open, the server's limit (--max-open-txns); commit or abort some first", s.cfg.MaxOpenTxns)
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return storeFault(err)
}

// growTxn checks that st may hold n more bytes: under MaxTxnBytes, and
// under MaxTxnBytesTotal for all open transactions of this server.
func (s *Server) growTxn(st *store.TxnState, n int64) error {
	if n <= 0 {
		return nil
	}
	if held := st.Bytes(); held+n > s.cfg.MaxTxnBytes {
		return errorf(wire.CodeTooLarge, "transaction would buffer %d bytes, more than the limit of %d (--max-txn-bytes); commit it and go on in another", held+n, s.cfg.MaxTxnBytes)
	}
	err := st.Grow(n)
	if errors.Is(err, store.ErrTxnBytes) {
		return errorf(wire.CodeTooLarge, "the open transactions of this server already buffer its limit of %d bytes (--max-txn-bytes-total); commit or abort, or retry later", s.cfg.MaxTxnBytesTotal)
	}
	return err
}

func (s *Server) txnExpiry() time.Time { return s.cfg.Now().Add(s.cfg.TxnTimeout) }

// POST /transaction?action=begin|commit|abort[&transactionID=T]
func (s *Server) transaction(w http.ResponseWriter, r *http.Request) error {
	action, err := param(r, "action")
	if err != nil {
		return err
	}
	switch action {
	case "begin":
		id := newID()
		owner := store.TxnOwner{ID: s.clientOf(r), Limit: s.cfg.MaxOpenTxnsPerClient}
		if err := s.txns.BeginTxnFor(r.Context(), id, owner, s.txnExpiry()); err != nil {
			return s.txnErr(id, err)
		}
		writeJSON(w, http.StatusOK, map[string]string{"transactionID": id})
		return nil
	case "commit", "abort":
	default:
		return errorf(wire.CodeBadParameter, "parameter action=%q: use begin, commit or abort", action)
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
		// Every check comes before any change: a failing fn must leave
		// the state as it was (see store.TxnStore).
		if i, ok := st.FindWrite(key); ok { // a transaction sees its own writes
			value, found = st.Writes[i].Value, !st.Writes[i].Delete
			return nil
		}
		i, seen := st.FindRead(key)
		if !seen && len(st.Reads) >= s.cfg.MaxTxnReads {
			return errorf(wire.CodeLimit, "transaction already read %d records, the limit (--max-txn-reads); commit it and read on in another", len(st.Reads))
		}
		rec, err := s.store.Get(r.Context(), key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rec = store.Record{} // "absent" is a read too: version 0
		case err != nil:
			return storeFault(err)
		}
		value, found = rec.Value, rec.Version != 0
		if seen {
			if st.Reads[i].Version != rec.Version {
				// Read twice, saw two versions: commit must fail.
				st.Reads[i].Version = staleRead
			}
			return nil
		}
		rd := store.Read{Key: key, Version: rec.Version}
		if err := s.growTxn(st, store.ReadSize(rd)); err != nil {
			return err
		}
		st.AddRead(rd)
		return nil
	})
	if err != nil {
		return s.txnErr(id, err)
	}
	if !found {
		return errorf(wire.CodeNotFound, "record not found: %s %s", t.typ.desc.FullName(), r.URL.Query().Get("recordKey"))
	}
	return s.writeValue(w, r, value)
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
		// Every check comes before any change, as in txnQuery.
		i, replace := st.FindWrite(wr.Key) // the last write of a key wins
		grow := store.WriteSize(wr)
		if replace {
			grow -= store.WriteSize(st.Writes[i])
		} else if len(st.Writes) >= s.cfg.MaxTxnWrites {
			return errorf(wire.CodeLimit, "transaction already buffers %d records, the limit (--max-txn-writes)", s.cfg.MaxTxnWrites)
		}
		if err := s.growTxn(st, grow); err != nil {
			return err
		}
		if replace {
			st.SetWrite(i, wr)
		} else {
			st.AddWrite(wr)
		}
		return nil
	})
	if err != nil {
		return s.txnErr(id, err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"recordKey": wr.TextKey})
	return nil
}
