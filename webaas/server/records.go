package server

import (
	"errors"
	"math"
	"net"
	"net/http"

	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// maxFramedRecord is the largest record a range page can frame: its
// length travels in two bytes.
const maxFramedRecord = math.MaxUint16

// target is what most record calls name: an app and one of its types.
type target struct {
	app *appState
	typ *recordType
}

// target resolves appID and schemaName.
func (s *Server) target(r *http.Request) (target, error) {
	id, err := param(r, "appID")
	if err != nil {
		return target{}, err
	}
	name, err := param(r, "schemaName")
	if err != nil {
		return target{}, err
	}
	st, err := s.apps.get(r.Context(), id)
	if err != nil {
		return target{}, err
	}
	st, rt, err := s.apps.recordType(r.Context(), st, name)
	if err != nil {
		return target{}, err
	}
	return target{app: st, typ: rt}, nil
}

// recordKey parses the recordKey parameter as the type's key.
func (s *Server) recordKey(r *http.Request, t target) (store.RecordKey, error) {
	text, err := param(r, "recordKey")
	if err != nil {
		return store.RecordKey{}, err
	}
	return s.parseKey(t, "recordKey", text)
}

func (s *Server) parseKey(t target, what, text string) (store.RecordKey, error) {
	if len(text) > s.cfg.MaxKeyBytes {
		return store.RecordKey{}, errorf(wire.CodeTooLarge, "%s is %d bytes; keys are at most %d", what, len(text), s.cfg.MaxKeyBytes)
	}
	enc, _, err := t.typ.codec.parse(text)
	if err != nil {
		return store.RecordKey{}, errorf(wire.CodeBadParameter, "%s: %v", what, err)
	}
	return store.RecordKey{App: t.app.app.ID, Schema: string(t.typ.desc.FullName()), Key: enc}, nil
}

// readRecord reads and checks a record body, returning the write that
// stores it: a body that does not parse as the type is never stored.
func (s *Server) readRecord(w http.ResponseWriter, r *http.Request, t target) (store.Write, error) {
	body, err := readBody(w, r, s.cfg.MaxRecordBytes, "record body")
	if err != nil {
		return store.Write{}, err
	}
	wr, _, err := s.parseRecord(t, body)
	return wr, err
}

// parseRecord checks a record's bytes against its type and returns the
// write that stores them, and the parsed record.
func (s *Server) parseRecord(t target, body []byte) (store.Write, *dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(t.typ.desc)
	if err := unmarshalRecord(body, m); err != nil {
		return store.Write{}, nil, errorf(wire.CodeBadRecord, "body does not parse as %s: %v", t.typ.desc.FullName(), err)
	}
	if err := misfit(m); err != nil {
		return store.Write{}, nil, errorf(wire.CodeBadRecord, "body does not parse as %s: %v", t.typ.desc.FullName(), err)
	}
	enc, text := t.typ.codec.fromValue(m.Get(t.typ.key))
	if len(text) > s.cfg.MaxKeyBytes {
		return store.Write{}, nil, errorf(wire.CodeTooLarge, "primary key %s is %d bytes; keys are at most %d", t.typ.key.Name(), len(text), s.cfg.MaxKeyBytes)
	}
	return store.Write{
		Key:     store.RecordKey{App: t.app.app.ID, Schema: string(t.typ.desc.FullName()), Key: enc},
		TextKey: text,
		Value:   body,
	}, m, nil
}

// commitErr maps a store commit error to the API's.
func commitErr(err error) error {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return err
	case errors.Is(err, store.ErrConflict):
		return errorf(wire.CodeConflict, "transaction conflict: a record it read was changed by another commit; retry the transaction")
	case errors.Is(err, store.ErrUnknownApp):
		return errorf(wire.CodeUnknownApp, "%v", err)
	}
	return storeFault(err)
}

// POST /record?appID=I&schemaName=S, body: record
func (s *Server) upsert(w http.ResponseWriter, r *http.Request) error {
	t, err := s.target(r)
	if err != nil {
		return err
	}
	wr, err := s.readRecord(w, r, t)
	if err != nil {
		return err
	}
	if _, err := s.store.Commit(r.Context(), store.Batch{Writes: []store.Write{wr}}); err != nil {
		return commitErr(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"recordKey": wr.TextKey})
	return nil
}

// DELETE /record?appID=I&schemaName=S&recordKey=K
func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) error {
	t, err := s.target(r)
	if err != nil {
		return err
	}
	key, err := s.recordKey(r, t)
	if err != nil {
		return err
	}
	_, text, _ := t.typ.codec.parse(r.URL.Query().Get("recordKey"))
	// "Absent" is part of the answer, so read and delete in one
	// optimistic commit; retry if a writer slipped in between.
	for {
		rec, err := s.store.Get(r.Context(), key)
		if errors.Is(err, store.ErrNotFound) {
			return errorf(wire.CodeNotFound, "record not found: %s %s", t.typ.desc.FullName(), text)
		}
		if err != nil {
			return storeFault(err)
		}
		_, err = s.store.Commit(r.Context(), store.Batch{
			Reads:  []store.Read{{Key: key, Version: rec.Version}},
			Writes: []store.Write{{Key: key, TextKey: text, Delete: true}},
		})
		if errors.Is(err, store.ErrConflict) {
			if err := r.Context().Err(); err != nil {
				return storeFault(err)
			}
			continue
		}
		if err != nil {
			return commitErr(err)
		}
		writeJSON(w, http.StatusOK, map[string]string{"recordKey": text})
		return nil
	}
}

// GET /query?appID=I&schemaName=S&recordKey=K, or with range=True.
func (s *Server) query(w http.ResponseWriter, r *http.Request) error {
	t, err := s.target(r)
	if err != nil {
		return err
	}
	if q := r.URL.Query(); q.Has("range") {
		isRange, err := truthy(q.Get("range"))
		if err != nil {
			return err
		}
		if isRange {
			return s.rangeQuery(w, r, t)
		}
	}
	key, err := s.recordKey(r, t)
	if err != nil {
		return err
	}
	get := func() (body, error) {
		rec, err := s.store.Get(r.Context(), key)
		if errors.Is(err, store.ErrNotFound) {
			return body{}, errorf(wire.CodeNotFound, "record not found: %s %s", t.typ.desc.FullName(), r.URL.Query().Get("recordKey"))
		}
		if err != nil {
			return body{}, storeFault(err)
		}
		return body{parts: net.Buffers{rec.Value}, size: int64(len(rec.Value))}, nil
	}
	b, err := get()
	if err != nil {
		return err
	}
	if b.size >= largeResponse {
		return s.writeLarge(w, r, b.size, &b, get)
	}
	writeRecord(w, b.parts[0])
	return nil
}

// writeValue writes a record's bytes as the answer; a large one within
// the response budget, kept while it waits (it is held anyway).
func (s *Server) writeValue(w http.ResponseWriter, r *http.Request, value []byte) error {
	if len(value) >= largeResponse {
		return s.writeLarge(w, r, int64(len(value)), &body{parts: net.Buffers{value}, size: int64(len(value))}, nil)
	}
	writeRecord(w, value)
	return nil
}

func writeRecord(w http.ResponseWriter, value []byte) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(value)
}
