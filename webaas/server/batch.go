package server

// POST /batch and GET /sequence: the extensions that make a send one
// request (see docs/webaas-api.md, "Extensions").

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// Limits of a batch's names. A token is a client's name for one batch,
// kept for the idempotency TTL; a sequence name is kept for the app's life.
const (
	maxTokenBytes        = 128
	maxSequenceNameBytes = 128
)

type batchBody struct {
	Token  string       `json:"token"`
	Writes []batchWrite `json:"writes"`
}

type batchWrite struct {
	SchemaName string `json:"schemaName"`
	Sequence   string `json:"sequence"`
	Record     []byte `json:"record"` // base64 in the JSON
}

// POST /batch?appID=A, JSON body {"token", "writes": [{"schemaName",
// "sequence", "record"}]}: the writes commit atomically, in order; a
// write naming a sequence gets the sequence's next value as its primary
// key. The answer names each write's key.
func (s *Server) batch(w http.ResponseWriter, r *http.Request) error {
	appID, err := param(r, "appID")
	if err != nil {
		return err
	}
	var body batchBody
	if err := readJSON(w, r, s.cfg.MaxTxnBytes, &body); err != nil {
		return err
	}
	if len(body.Writes) == 0 {
		return errorf(wire.CodeBadParameter, "writes is empty: a batch writes at least one record")
	}
	if len(body.Writes) > s.cfg.MaxTxnWrites {
		return errorf(wire.CodeLimit, "%d writes; a batch holds at most %d (--max-txn-writes)", len(body.Writes), s.cfg.MaxTxnWrites)
	}
	if len(body.Token) > maxTokenBytes {
		return errorf(wire.CodeTooLarge, "token is %d bytes; at most %d", len(body.Token), maxTokenBytes)
	}
	st, err := s.apps.get(r.Context(), appID)
	if err != nil {
		return err
	}
	b := store.Batch{Writes: make([]store.Write, len(body.Writes))}
	var assigned []uint64
	b.Assigned = &assigned
	if body.Token != "" {
		b.Token = &store.Token{App: appID, Key: []byte(body.Token)}
	}
	types := make([]*recordType, len(body.Writes))
	for i, bw := range body.Writes {
		var rt *recordType
		if st, rt, err = s.apps.recordType(r.Context(), st, bw.SchemaName); err != nil {
			return prefixed(fmt.Sprintf("writes[%d]: ", i), err)
		}
		if int64(len(bw.Record)) > s.cfg.MaxRecordBytes {
			return errorf(wire.CodeTooLarge, "writes[%d]: record of %d bytes; the limit is %d", i, len(bw.Record), s.cfg.MaxRecordBytes)
		}
		wr, _, err := s.parseRecord(target{app: st, typ: rt}, bw.Record)
		if err != nil {
			return prefixed(fmt.Sprintf("writes[%d]: ", i), err)
		}
		if bw.Sequence != "" {
			if len(bw.Sequence) > maxSequenceNameBytes || !utf8.ValidString(bw.Sequence) {
				return errorf(wire.CodeBadParameter, "writes[%d]: sequence names are UTF-8 of at most %d bytes", i, maxSequenceNameBytes)
			}
			if !rt.codec.signed() && !rt.codec.unsigned() {
				return errorf(wire.CodeBadParameter, "writes[%d]: %s's primary key %s is a %s; a sequence gives integer keys", i, rt.desc.FullName(), rt.key.Name(), rt.key.Kind())
			}
			assign, err := assignKey(rt, bw.Record)
			if err != nil { // parseRecord took it: it cannot be
				return errorf(wire.CodeBadRecord, "writes[%d]: %v", i, err)
			}
			wr.Sequence, wr.Assign = bw.Sequence, assign
		}
		b.Writes[i], types[i] = wr, rt
	}
	_, err = s.store.Commit(r.Context(), b)
	var dup *store.DuplicateError
	if errors.As(err, &dup) {
		assigned = dup.Assigned
	} else if err != nil {
		return commitErr(err)
	}
	keys := make([]string, len(b.Writes))
	next := 0
	for i, wr := range b.Writes {
		keys[i] = wr.TextKey
		if wr.Sequence == "" {
			continue
		}
		if next >= len(assigned) {
			// Only a token reused for a batch of more sequenced writes
			// than its first gets here.
			return errorf(wire.CodeBadParameter, "token %q was used for another batch", body.Token)
		}
		_, keys[i] = types[i].codec.fromValue(keyValue(types[i].key, assigned[next]))
		next++
	}
	writeJSON(w, http.StatusOK, batchAnswer{RecordKeys: keys, Duplicate: dup != nil})
	return nil
}

type batchAnswer struct {
	RecordKeys []string `json:"recordKeys"`
	// Duplicate: a batch with this token was committed before; nothing
	// was written now, and the keys are the first batch's.
	Duplicate bool `json:"duplicate,omitempty"`
}

// prefixed puts prefix before an API error's message.
func prefixed(prefix string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return &apiError{code: ae.code, message: prefix + ae.message, err: ae.err}
	}
	return err
}

// keyValue is n as a value of the integer key field fd.
func keyValue(fd protoreflect.FieldDescriptor, n uint64) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(n))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64(n))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(n))
	}
	return protoreflect.ValueOfUint64(n)
}

// keyLimit is the largest sequence value the key field fd can hold.
func keyLimit(fd protoreflect.FieldDescriptor) uint64 {
	switch fd.Kind() {
	case protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return math.MaxInt32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return math.MaxInt64
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return math.MaxUint32
	}
	return math.MaxUint64
}

// assignKey makes a sequenced write's key and bytes from its value: the
// key field holding the value, then the record as sent less any value of
// its key field (protobuf reads fields in any order; the key usually
// comes first). The group committer calls it, one call at a time, so it
// only copies: the record was taken apart by the request's own goroutine.
func assignKey(rt *recordType, record []byte) (func(uint64) ([]byte, string, []byte, error), error) {
	rest, err := withoutField(record, rt.key.Number())
	if err != nil {
		return nil, err
	}
	return func(n uint64) ([]byte, string, []byte, error) {
		if n > keyLimit(rt.key) {
			return nil, "", nil, errorf(wire.CodeLimit, "sequence exhausted: %s's key %s holds at most %d", rt.desc.FullName(), rt.key.Name(), keyLimit(rt.key))
		}
		value := append(appendKeyField(make([]byte, 0, len(rest)+1+binary.MaxVarintLen64), rt.key, n), rest...)
		enc, text := rt.codec.fromValue(keyValue(rt.key, n))
		return enc, text, value, nil
	}, nil
}

// withoutField is a record's bytes without the top-level field num.
func withoutField(record []byte, num protowire.Number) ([]byte, error) {
	out := make([]byte, 0, len(record))
	for b := record; len(b) > 0; {
		n, typ, tagLen := protowire.ConsumeTag(b)
		if tagLen < 0 {
			return nil, protowire.ParseError(tagLen)
		}
		valLen := protowire.ConsumeFieldValue(n, typ, b[tagLen:])
		if valLen < 0 {
			return nil, protowire.ParseError(valLen)
		}
		if n != num {
			out = append(out, b[:tagLen+valLen]...)
		}
		b = b[tagLen+valLen:]
	}
	return out, nil
}

// appendKeyField appends the integer key field fd holding n, in its
// kind's encoding.
func appendKeyField(b []byte, fd protoreflect.FieldDescriptor, n uint64) []byte {
	switch fd.Kind() {
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		b = protowire.AppendTag(b, fd.Number(), protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeZigZag(int64(n)))
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		b = protowire.AppendTag(b, fd.Number(), protowire.Fixed32Type)
		return protowire.AppendFixed32(b, uint32(n))
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		b = protowire.AppendTag(b, fd.Number(), protowire.Fixed64Type)
		return protowire.AppendFixed64(b, n)
	}
	b = protowire.AppendTag(b, fd.Number(), protowire.VarintType)
	return protowire.AppendVarint(b, n)
}

// GET /sequence?appID=A&name=N: the last value sequence N of app A gave
// (0: none yet), as {"value": n}.
func (s *Server) sequence(w http.ResponseWriter, r *http.Request) error {
	appID, err := param(r, "appID")
	if err != nil {
		return err
	}
	name, err := param(r, "name")
	if err != nil {
		return err
	}
	if _, err := s.apps.get(r.Context(), appID); err != nil {
		return err
	}
	n, err := s.store.Sequence(r.Context(), appID, name)
	if err != nil {
		return storeFault(err)
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"value": n})
	return nil
}
