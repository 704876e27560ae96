package server

// Range queries and the page framing.

import (
	"encoding/binary"
	"math"
	"net"
	"net/http"
	"strings"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

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
