package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
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
	m := dynamicpb.NewMessage(t.typ.desc)
	if err := unmarshalRecord(body, m); err != nil {
		return store.Write{}, errorf(wire.CodeBadRecord, "body does not parse as %s: %v", t.typ.desc.FullName(), err)
	}
	if err := misfit(m); err != nil {
		return store.Write{}, errorf(wire.CodeBadRecord, "body does not parse as %s: %v", t.typ.desc.FullName(), err)
	}
	enc, text := t.typ.codec.fromValue(m.Get(t.typ.key))
	if len(text) > s.cfg.MaxKeyBytes {
		return store.Write{}, errorf(wire.CodeTooLarge, "primary key %s is %d bytes; keys are at most %d", t.typ.key.Name(), len(text), s.cfg.MaxKeyBytes)
	}
	return store.Write{
		Key:     store.RecordKey{App: t.app.app.ID, Schema: string(t.typ.desc.FullName()), Key: enc},
		TextKey: text,
		Value:   body,
	}, nil
}

// unmarshalRecord decodes a record body. The reflection-based decoder that
// dynamic messages go through can panic on malformed input (protobuf-go
// 1.36: a map entry whose key field comes again with another wire type):
// that is a body that does not parse, not a server fault.
func unmarshalRecord(body []byte, m proto.Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("proto: cannot parse invalid wire-format data (%v)", p)
		}
	}()
	return proto.Unmarshal(body, m)
}

// misfit finds a field that m's type declares but that proto.Unmarshal
// kept among the unknown fields, in m or in any message inside it. That
// happens when the field came with a wire type that does not fit it (a
// string where an int is: typically a record of another type) or, for a
// closed enum, with a value the enum does not have. Either way the body
// does not parse as the type, and storing it would drop the field, or, for
// the primary key, file the record under the default key.
func misfit(m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for b := m.GetUnknown(); len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		if fd := fields.ByNumber(num); fd != nil {
			return fmt.Errorf("field %s (number %d) is %s but arrived as %s, or with a value its type does not allow", fd.FullName(), num, fd.Kind(), wireTypeName(typ))
		}
		v := protowire.ConsumeFieldValue(num, typ, b[n:])
		if v < 0 {
			return protowire.ParseError(v)
		}
		b = b[n+v:]
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					err = misfit(mv.Message())
					return err == nil
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i, l := 0, v.List(); i < l.Len() && err == nil; i++ {
				err = misfit(l.Get(i).Message())
			}
		default:
			err = misfit(v.Message())
		}
		return err == nil
	})
	return err
}

func wireTypeName(t protowire.Type) string {
	switch t {
	case protowire.VarintType:
		return "a varint"
	case protowire.Fixed32Type:
		return "a fixed32"
	case protowire.Fixed64Type:
		return "a fixed64"
	case protowire.BytesType:
		return "length-delimited bytes"
	case protowire.StartGroupType:
		return "a group"
	}
	return fmt.Sprintf("wire type %d", t)
}

// commitErr maps a store commit error to the API's.
func commitErr(err error) error {
	switch {
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

// rangeQuery serves one page of [beginKey, endKey) in key order.
func (s *Server) rangeQuery(w http.ResponseWriter, r *http.Request, t target) error {
	beginText, err := param(r, "beginKey")
	if err != nil {
		return err
	}
	endText, err := param(r, "endKey")
	if err != nil {
		return err
	}
	begin, err := s.parseKey(t, "beginKey", beginText)
	if err != nil {
		return err
	}
	end, err := s.parseKey(t, "endKey", endText)
	if err != nil {
		return err
	}
	page, err := atoiParam(r, "iteration", 1)
	if err != nil {
		return err
	}
	if page < 1 || page > math.MaxInt32/s.cfg.PageSize {
		return errorf(wire.CodeBadParameter, "parameter iteration=%d: pages are numbered from 1", page)
	}
	skip, limit := (page-1)*s.cfg.PageSize, s.cfg.PageSize
	readPage := func() ([]store.Record, bool, int64, error) {
		recs, more, err := s.store.Range(r.Context(), begin.App, begin.Schema, begin.Key, end.Key, skip, limit)
		if err != nil {
			return nil, false, 0, storeFault(err)
		}
		size, err := pageSize(recs)
		return recs, more, size, err
	}
	reload := func() (body, error) {
		recs, more, size, err := readPage()
		if err != nil {
			return body{}, err
		}
		return pageBody(recs, more, size), nil
	}
	// Short of room for large answers, size the page first: a large one
	// then waits for room without having read its records.
	if sizer, ok := s.store.(store.RangeSizer); ok && s.responses.short(s.maxPageBytes()) {
		n, bytes, err := sizer.RangeSize(r.Context(), begin.App, begin.Schema, begin.Key, end.Key, skip, limit)
		if err != nil {
			return storeFault(err)
		}
		if size := 1 + 2*int64(n) + bytes; size >= largeResponse {
			return s.writeLarge(w, r, size, nil, reload)
		}
	}
	recs, more, size, err := readPage()
	if err != nil {
		return err
	}
	if size < largeResponse {
		writeRecord(w, encodePage(recs, more, size))
		return nil
	}
	b := pageBody(recs, more, size)
	return s.writeLarge(w, r, size, &b, reload)
}

// maxPageBytes is the largest range page the limits allow.
func (s *Server) maxPageBytes() int64 {
	return 1 + int64(s.cfg.PageSize)*(2+min(s.cfg.MaxRecordBytes, maxFramedRecord))
}

// truthy reads a flag the way old clients spell it: True, true, 1, yes, on…
func truthy(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "y", "yes", "on":
		return true, nil
	case "0", "f", "false", "n", "no", "off", "":
		return false, nil
	}
	return false, errorf(wire.CodeBadParameter, "parameter range=%q is not true or false", v)
}

// pageSize is the size of the range page of recs, or an error if one of
// them is too large to frame.
func pageSize(recs []store.Record) (int64, error) {
	n := int64(1)
	for _, rec := range recs {
		if len(rec.Value) > maxFramedRecord {
			return 0, errorf(wire.CodeTooLarge, "a record in this range is %d bytes, more than the %d a range page can frame; read it with recordKey", len(rec.Value), maxFramedRecord)
		}
		n += 2 + int64(len(rec.Value))
	}
	return n, nil
}

// encodePage frames a range page of size bytes (see pageSize): one byte
// "a later page exists", then each record as a 2-byte big-endian length
// and its bytes.
func encodePage(recs []store.Record, more bool, size int64) []byte {
	out := make([]byte, 1, size)
	if more {
		out[0] = 1
	}
	for _, rec := range recs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(rec.Value)))
		out = append(out, rec.Value...)
	}
	return out
}

// pageBody is the page encodePage makes, as parts: the records' own bytes
// between the frame bytes, which share one small buffer.
func pageBody(recs []store.Record, more bool, size int64) body {
	frames := make([]byte, 1, 1+2*len(recs))
	if more {
		frames[0] = 1
	}
	parts := make(net.Buffers, 0, 1+2*len(recs))
	parts = append(parts, frames[:1])
	for _, rec := range recs {
		at := len(frames)
		frames = binary.BigEndian.AppendUint16(frames, uint16(len(rec.Value)))
		parts = append(parts, frames[at:at+2:at+2], rec.Value)
	}
	return body{parts: parts, size: size}
}
