package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/boltstore"
	"github.com/webaas-chat/webaas-chat/wire"
)

// The fuzz targets drive the server in-process, through its http.Handler,
// on a real bbolt file: one server per fuzz target (per worker process),
// not per input.

// handler is a server on a bbolt file in a temporary directory.
type handler struct {
	h http.Handler
}

func newHandler(f *testing.F, cfg server.Config) *handler {
	f.Helper()
	st, err := boltstore.Open(filepath.Join(f.TempDir(), "fuzz.db"), boltstore.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	srv := server.New(st, cfg)
	f.Cleanup(func() {
		srv.Close()
		if err := st.Close(); err != nil {
			f.Error(err)
		}
	})
	return &handler{h: srv}
}

// do serves one request and returns the status and body of the answer.
func (h *handler) do(method, path string, q url.Values, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path+"?"+q.Encode(), bytes.NewReader(body))
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, req)
	return w.Code, w.Body.Bytes()
}

// must fails unless the request answers 200.
func (h *handler) must(tb testing.TB, method, path string, q url.Values, body []byte) []byte {
	tb.Helper()
	status, data := h.do(method, path, q, body)
	if status != http.StatusOK {
		tb.Fatalf("%s %s %v: HTTP %d %s", method, path, q, status, data)
	}
	return data
}

// newApp registers an app with files as schema version "1".
func (h *handler) newApp(tb testing.TB, files map[string]string) string {
	tb.Helper()
	var reg struct {
		AppID string `json:"appID"`
	}
	if err := json.Unmarshal(h.must(tb, "POST", "/app", q("appName", "fuzz"), nil), &reg); err != nil {
		tb.Fatal(err)
	}
	for name, text := range files {
		h.must(tb, "PUT", "/schema", q("appID", reg.AppID, "fileName", name, "version", "1"), []byte(text))
	}
	h.must(tb, "POST", "/schema", q("appID", reg.AppID, "version", "1"), nil)
	return reg.AppID
}

// refusal checks that an answer other than 200 is a 400 with one of the
// codes and a message, and returns the code.
func refusal(tb testing.TB, what string, status int, body []byte, codes ...wire.Code) wire.Code {
	tb.Helper()
	var eb struct {
		Code    wire.Code `json:"code"`
		Message string    `json:"message"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || status != http.StatusBadRequest {
		tb.Fatalf("%s: HTTP %d %q, want 200 or 400 with an error body", what, status, body)
	}
	if !slices.Contains(codes, eb.Code) || eb.Message == "" {
		tb.Fatalf("%s: code %d %q, want one of %v with a message", what, eb.Code, eb.Message, codes)
	}
	return eb.Code
}

// lastField returns the payload of the last occurrence of field num with
// wire type typ at the top level of a valid record, as protobuf decoding
// keeps the last value of a singular field.
func lastField(rec []byte, num protowire.Number, typ protowire.Type) (varint uint64, raw []byte, found bool) {
	for len(rec) > 0 {
		n, t, l := protowire.ConsumeTag(rec)
		if l < 0 {
			return 0, nil, false
		}
		rec = rec[l:]
		l = protowire.ConsumeFieldValue(n, t, rec)
		if l < 0 {
			return 0, nil, false
		}
		if n == num && t == typ {
			found = true
			switch t {
			case protowire.VarintType:
				varint, _ = protowire.ConsumeVarint(rec)
			case protowire.BytesType:
				raw, _ = protowire.ConsumeBytes(rec)
			}
		}
		rec = rec[l:]
	}
	return varint, raw, found
}

// The FuzzUpsert schema: an int key, strings, nested and recursive
// messages, repeated and packed fields, maps, a oneof, enums, and a proto2
// type with required fields (nested too), a group and a closed enum.
const (
	fuzzProto3 = `syntax = "proto3";
package fz;
import "record_metadata_options.proto";

enum Level { LOW = 0; HIGH = 1; }
message Inner {
  string s = 1;
  repeated int32 xs = 2;
  Inner next = 3;
}
message Rec {
  int32 id = 1 [(webaas.db.record.field).primary_key = true];
  string name = 2;
  Inner inner = 3;
  repeated string tags = 4;
  map<string, Inner> by_name = 5;
  repeated sint64 nums = 6;
  bytes raw = 7;
  oneof choice {
    fixed32 f32 = 8;
    double d = 9;
  }
  Level level = 10;
  map<int64, string> by_num = 11;
}
`
	fuzzProto2 = `syntax = "proto2";
package fz2;
import "record_metadata_options.proto";

message Sub {
  required int32 x = 1;
  optional string s = 2;
}
message Req {
  required string key = 1 [(webaas.db.record.field).primary_key = true];
  required int64 n = 2;
  optional Sub sub = 3;
  repeated Sub subs = 4;
  optional group G = 5 {
    required int32 x = 6;
  }
  enum E { A = 1; B = 2; }
  optional E e = 7;
  map<int32, Sub> m = 8;
  repeated fixed64 packed = 9 [packed = true];
}
`
)

// FuzzUpsert posts arbitrary bytes as a record. The server must answer 200
// or refuse with 400 and a code, and a record it took must read back, by
// the key its bytes carry, byte for byte.
func FuzzUpsert(f *testing.F) {
	h := newHandler(f, server.Config{})
	app := h.newApp(f, map[string]string{"fz.proto": fuzzProto3, "fz2.proto": fuzzProto2})

	inner := cat(fBytes(1, []byte("in")), fBytes(2, []byte{1, 2, 3}), fBytes(3, fBytes(1, []byte("next"))))
	sub := cat(fVarint(1, 5), fBytes(2, []byte("s")))
	group := cat(protowire.AppendTag(nil, 5, protowire.StartGroupType), fVarint(6, 1), protowire.AppendTag(nil, 5, protowire.EndGroupType))
	for _, seed := range []struct {
		proto2 bool
		rec    []byte
	}{
		{false, nil},
		{false, item(7, "seven")},
		{false, cat(fVarint(1, 42), fBytes(2, []byte("name")), fBytes(3, inner), fBytes(4, []byte("t1")), fBytes(4, []byte("t2")),
			fBytes(5, cat(fBytes(1, []byte("k")), fBytes(2, inner))), fBytes(6, []byte{2, 3}), fVarint(6, 9), fBytes(7, []byte{0xff, 0}),
			fFixed32(8, 7), fVarint(10, 1), fBytes(11, cat(fVarint(1, 3), fBytes(2, []byte("three")))))},
		{false, cat(fVarint(1, 1), fVarint(1, math.MaxUint64))}, // the last key wins: -1
		{false, fVarint(1, 1<<40)},                              // truncated to int32
		{false, fBytes(1, []byte("7"))},                         // a string where the int key is
		{false, item(3, "\xff")},                                // invalid UTF-8
		{false, cat(fVarint(1, 3), fVarint(3, 1))},              // a varint where a message is
		{false, cat(fVarint(1, 3), fVarint(99, 1))},             // an unknown field is kept
		{false, []byte{0x08}},                                   // truncated
		{true, cat(fBytes(1, []byte("key")), fVarint(2, 1))},
		{true, cat(fBytes(1, []byte("k\xff\x00")), fVarint(2, 1), fBytes(3, sub), fBytes(4, sub), group, fVarint(7, 2),
			fBytes(8, cat(fVarint(1, 1), fBytes(2, sub))), fBytes(9, make([]byte, 16)))},
		{true, cat(fBytes(1, []byte("key")), fVarint(2, 1), fVarint(7, 9))},    // a value the closed enum does not have
		{true, cat(fBytes(1, []byte("key")), fVarint(2, 1), fBytes(3, nil))},   // a nested required field missing
		{true, fBytes(1, []byte("key"))},                                       // a required field missing
		{true, cat(fBytes(1, bytes.Repeat([]byte("k"), 2000)), fVarint(2, 1))}, // key too long
	} {
		f.Add(seed.proto2, seed.rec)
	}
	f.Fuzz(func(t *testing.T, proto2 bool, rec []byte) {
		schema := "fz.Rec"
		if proto2 {
			schema = "fz2.Req"
		}
		status, body := h.do("POST", "/record", q("appID", app, "schemaName", schema), rec)
		if status != http.StatusOK {
			refusal(t, "upsert", status, body, wire.CodeBadRecord, wire.CodeTooLarge)
			return
		}
		var key string
		if proto2 {
			_, raw, found := lastField(rec, 1, protowire.BytesType)
			if !found {
				t.Fatalf("took a %s record without its required key: %x", schema, rec)
			}
			key = string(raw)
		} else {
			v, _, _ := lastField(rec, 1, protowire.VarintType) // absent: the default, 0
			key = strconv.FormatInt(int64(int32(v)), 10)
		}
		status, got := h.do("GET", "/query", q("appID", app, "schemaName", schema, "recordKey", key), nil)
		if status != http.StatusOK || !bytes.Equal(got, rec) {
			t.Fatalf("record %x stored, but key %q reads back HTTP %d %x", rec, key, status, got)
		}
	})
}

// FuzzRangeQuery asks arbitrary ranges and pages of a populated app. The
// server must answer 200 with a well-framed page holding exactly the
// records in [beginKey, endKey) of that page, or refuse with 400 when a
// key or the iteration does not parse.
func FuzzRangeQuery(f *testing.F) {
	const pageSize, maxKey = 3, 16
	h := newHandler(f, server.Config{PageSize: pageSize, MaxKeyBytes: maxKey})
	app := h.newApp(f, map[string]string{"test.proto": testSchema})
	ids := []int32{math.MinInt32, -100, -1, 0, 1, 2, 3, 5, 8, 9, 10, 11, 99, 100, math.MaxInt32}
	names := []string{"", "A", "B", "a", "ab", "abc", "b", "z", "zz", "é", "€", "\U0010ffff"}
	items := map[int32][]byte{}
	for _, id := range ids {
		items[id] = item(id, "n"+strconv.Itoa(int(id)))
		h.must(f, "POST", "/record", q("appID", app, "schemaName", "test.Item"), items[id])
	}
	tags := map[string][]byte{}
	for i, name := range names {
		tags[name] = tag(name, int64(i))
		h.must(f, "POST", "/record", q("appID", app, "schemaName", "test.Tag"), tags[name])
	}

	for _, s := range []struct {
		strKeys          bool
		begin, end, iter string
	}{
		{false, "-10", "100", "1"},
		{false, "-10", "100", "2"},
		{false, "-2147483648", "2147483647", "5"},
		{false, "9", "11", "1"},
		{false, "007", "+10", "1"},
		{false, "10", "9", "1"},
		{false, "x", "10", "1"},
		{false, "0", "2147483648", "1"},
		{false, "0", "10", "0"},
		{false, "0", "10", "-1"},
		{false, "0", "10", "9999999999"},
		{false, "0", "10", ""},
		{true, "", "\U0010ffff", "1"},
		{true, "a", "b", "1"},
		{true, "a", "b", "2"},
		{true, "\xff", "", "1"},
		{true, "", "aaaaaaaaaaaaaaaaa", "1"},
	} {
		f.Add(s.strKeys, s.begin, s.end, s.iter)
	}
	f.Fuzz(func(t *testing.T, strKeys bool, begin, end, iter string) {
		schema := "test.Item"
		if strKeys {
			schema = "test.Tag"
		}
		status, body := h.do("GET", "/query", q("appID", app, "schemaName", schema, "range", "True", "beginKey", begin, "endKey", end, "iteration", iter), nil)

		// What the contract says the answer is.
		var want [][]byte
		valid := len(begin) <= maxKey && len(end) <= maxKey
		if strKeys {
			var in []string
			for _, name := range names {
				if begin <= name && name < end {
					in = append(in, name)
				}
			}
			sort.Strings(in)
			for _, name := range in {
				want = append(want, tags[name])
			}
		} else {
			b, err1 := strconv.ParseInt(begin, 10, 32)
			e, err2 := strconv.ParseInt(end, 10, 32)
			valid = valid && err1 == nil && err2 == nil
			var in []int32
			for _, id := range ids {
				if int64(id) >= b && int64(id) < e {
					in = append(in, id)
				}
			}
			slices.Sort(in)
			for _, id := range in {
				want = append(want, items[id])
			}
		}
		page, err := strconv.Atoi(iter)
		valid = valid && err == nil && page >= 1

		if status != http.StatusOK {
			code := refusal(t, "range", status, body, wire.CodeBadParameter, wire.CodeTooLarge)
			// A huge page number may be refused; any other valid query may not.
			if valid && !(code == wire.CodeBadParameter && page > math.MaxInt32/pageSize) {
				t.Fatalf("range [%q, %q) page %q refused with code %d: %s", begin, end, iter, code, body)
			}
			return
		}
		if !valid {
			t.Fatalf("range [%q, %q) page %q answered 200; want a refusal", begin, end, iter)
		}
		recs, more, err := webaas.DecodePage(body)
		if err != nil {
			t.Fatalf("range [%q, %q) page %d: %v: %x", begin, end, page, err, body)
		}
		var wantRecs [][]byte
		if from := (page - 1) * pageSize; from < len(want) {
			wantRecs = want[from:min(from+pageSize, len(want))]
		}
		wantMore := len(want) > page*pageSize
		if more != wantMore || len(recs) != len(wantRecs) {
			t.Fatalf("range [%q, %q) page %d: %d records, more=%v; want %d, more=%v", begin, end, page, len(recs), more, len(wantRecs), wantMore)
		}
		for i := range recs {
			if !bytes.Equal(recs[i], wantRecs[i]) {
				t.Fatalf("range [%q, %q) page %d: record %d is %x, want %x", begin, end, page, i, recs[i], wantRecs[i])
			}
		}
	})
}

// fuzzBase is the schema that must stay usable through FuzzSchemaUpload.
const fuzzBase = `syntax = "proto3";
package base;
import "record_metadata_options.proto";
message Item {
  int32 id = 1 [(webaas.db.record.field).primary_key = true];
  string name = 2;
}
`

// FuzzSchemaUpload uploads arbitrary text as a .proto file, first as a new
// version that it activates, then as an extra file of the active version.
// Every answer is 200 or a 400 with a schema code; a version that does not
// compile is never activated and never breaks the active one.
func FuzzSchemaUpload(f *testing.F) {
	h := newHandler(f, server.Config{})
	var reg struct {
		AppID string `json:"appID"`
	}
	if err := json.Unmarshal(h.must(f, "POST", "/app", q("appName", "fuzz"), nil), &reg); err != nil {
		f.Fatal(err)
	}
	app := reg.AppID
	h.must(f, "PUT", "/schema", q("appID", app, "fileName", "base.proto", "version", "base"), []byte(fuzzBase))
	h.must(f, "POST", "/schema", q("appID", app, "version", "base"), nil)
	// baseWorks checks that base.Item is still stored and read.
	n := 0
	baseWorks := func(t *testing.T, after string) {
		t.Helper()
		n++
		rec := item(int32(n), after)
		if status, body := h.do("POST", "/record", q("appID", app, "schemaName", "base.Item"), rec); status != http.StatusOK {
			t.Fatalf("after %s, base.Item upsert: HTTP %d %s", after, status, body)
		}
		if status, got := h.do("GET", "/query", q("appID", app, "schemaName", "base.Item", "recordKey", strconv.Itoa(n)), nil); status != http.StatusOK || !bytes.Equal(got, rec) {
			t.Fatalf("after %s, base.Item read: HTTP %d %x", after, status, got)
		}
	}

	for _, seed := range []string{
		"syntax = \"proto3\";\npackage fuzz;\nimport \"record_metadata_options.proto\";\nmessage M { int32 id = 1 [(webaas.db.record.field).primary_key = true]; }\n",
		"syntax = \"proto3\";\npackage fuzz;\nimport \"record_metadata_options.proto\";\nmessage M { string id = 1 [(webaas.db.record.field).primary_key = true]; }\n",
		"syntax = \"proto2\";\npackage fuzz;\nimport \"record_metadata_options.proto\";\nmessage M { required uint64 id = 1 [(webaas.db.record.field).primary_key = true]; optional group G = 2 { optional int32 x = 3; } }\n",
		"syntax = \"proto3\";\npackage fuzz;\nimport \"record_metadata_options.proto\";\nenum E { A = 0; }\nmessage M { E id = 1 [(webaas.db.record.field).primary_key = true]; map<string, M> m = 2; }\n",
		"syntax = \"proto3\";\npackage fuzz;\nimport \"base.proto\";\nimport \"google/protobuf/any.proto\";\nmessage M { base.Item item = 1; google.protobuf.Any any = 2; }\n",
		"syntax = \"proto3\";\npackage fuzz;\nimport \"record_metadata_options.proto\";\nmessage M { bool id = 1 [(webaas.db.record.field).primary_key = true, (webaas.db.record.field).index = {type: \"x\" unique: true}]; }\n",
		"syntax = \"proto3\";\npackage base;\nmessage Item { int32 id = 1; }\n", // a second base.Item
		"syntax = \"proto3\";\npackage fuzz;\nimport \"fuzz.proto\";\n",
		"syntax = \"proto3\";\npackage fuzz;\nimport \"nowhere.proto\";\n",
		"syntax = \"proto3\";\npackage fuzz;\nmessage M {\n  int32 id = 1\n}\n",
		"syntax = \"proto4\";",
		"edition = \"2023\";\npackage fuzz;\nmessage M { int32 id = 1; }\n",
		"",
		"\xff",
		"message M { option (x) = {a {a {a {}}}}; }",
	} {
		f.Add(seed)
	}
	version := 0
	f.Fuzz(func(t *testing.T, text string) {
		// As a version of its own, activated. The names cycle: an app
		// holds at most --max-schema-versions versions, and a fuzzer runs
		// far more inputs than that.
		version = version%16 + 1
		v := "v" + strconv.Itoa(version)
		status, body := h.do("PUT", "/schema", q("appID", app, "fileName", "fuzz.proto", "version", v), []byte(text))
		if status == http.StatusOK {
			status, body = h.do("POST", "/schema", q("appID", app, "version", v), nil)
			if status == http.StatusOK {
				// It is active: its types answer 200 or a 400, never a fault.
				for _, schema := range []string{"fuzz.M", "base.Item"} {
					st, b := h.do("POST", "/record", q("appID", app, "schemaName", schema), nil)
					if st != http.StatusOK {
						refusal(t, "upsert into "+schema, st, b, wire.CodeUnknownSchema, wire.CodeNoPrimaryKey, wire.CodeBadRecord)
					}
					st, b = h.do("GET", "/query", q("appID", app, "schemaName", schema, "range", "1", "beginKey", "0", "endKey", "9"), nil)
					if st != http.StatusOK {
						refusal(t, "range of "+schema, st, b, wire.CodeUnknownSchema, wire.CodeNoPrimaryKey, wire.CodeBadParameter)
					}
				}
				h.must(t, "POST", "/schema", q("appID", app, "version", "base"), nil)
			} else {
				refusal(t, "activate", status, body, wire.CodeSchemaCompile, wire.CodeUnknownSchema)
			}
		} else {
			refusal(t, "upload", status, body, wire.CodeSchemaCompile, wire.CodeTooLarge)
		}
		baseWorks(t, fmt.Sprintf("version %s", v))

		// As a file of the active version: taken only if the version
		// still compiles with it.
		status, body = h.do("PUT", "/schema", q("appID", app, "fileName", "extra.proto", "version", "base"), []byte(text))
		if status != http.StatusOK {
			refusal(t, "upload into the active version", status, body, wire.CodeSchemaCompile, wire.CodeTooLarge)
		}
		// Whatever was taken, the active version loads again.
		if status, body := h.do("POST", "/schema", q("appID", app, "version", "base"), nil); status != http.StatusOK {
			t.Fatalf("the active version no longer compiles after extra.proto = %q: HTTP %d %s", text, status, body)
		}
		baseWorks(t, "extra.proto")
	})
}

// FuzzBatch posts arbitrary POST /batch bodies. The server must answer
// 200 with one key per write, sequenced writes readable under their keys,
// and the sequence advanced by exactly their number; or refuse with 400,
// writing nothing.
func FuzzBatch(f *testing.F) {
	h := newHandler(f, server.Config{MaxTxnWrites: 8})
	app := h.newApp(f, map[string]string{"test.proto": testSchema})
	for _, seed := range []string{
		`{"writes":[{"schemaName":"test.Item","sequence":"s","record":""}]}`,
		`{"token":"t","writes":[{"schemaName":"test.Item","sequence":"s","record":"CAUSAmhp"},{"schemaName":"test.Tag","record":"CgF4EAE="}]}`,
		`{"writes":[{"schemaName":"test.Tag","sequence":"s","record":"CgF4EAE="}]}`,
		`{"writes":[{"schemaName":"test.Item","record":"/w=="}]}`,
		`{"writes":[]}`,
		`{"writes":null,"token":5}`,
		`{"writes":[{"schemaName":"test.Note","sequence":"s","record":""}]}`,
		`not json`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := h.sequence(t, app)
		status, answer := h.do("POST", "/batch", q("appID", app), body)
		if status != http.StatusOK {
			refusal(t, "batch", status, answer, wire.CodeBadParameter, wire.CodeBadRecord, wire.CodeTooLarge, wire.CodeLimit, wire.CodeUnknownSchema, wire.CodeNoPrimaryKey)
			if after := h.sequence(t, app); after != before {
				t.Fatalf("a refused batch moved the sequence from %d to %d", before, after)
			}
			return
		}
		var req struct {
			Token  string
			Writes []struct {
				SchemaName, Sequence string
				Record               []byte
			}
		}
		var res struct {
			RecordKeys []string
			Duplicate  bool
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("accepted a body Go does not decode: %v", err)
		}
		if err := json.Unmarshal(answer, &res); err != nil || len(res.RecordKeys) != len(req.Writes) {
			t.Fatalf("answer %s to %d writes", answer, len(req.Writes))
		}
		n := uint64(0)
		for i, w := range req.Writes {
			if w.Sequence != "s" {
				continue
			}
			n++
			if !res.Duplicate && res.RecordKeys[i] != strconv.FormatUint(before+n, 10) {
				t.Fatalf("write %d keyed %q, want %d", i, res.RecordKeys[i], before+n)
			}
			if status, _ := h.do("GET", "/query", q("appID", app, "schemaName", w.SchemaName, "recordKey", res.RecordKeys[i]), nil); status != http.StatusOK {
				t.Fatalf("write %d under key %s reads back HTTP %d", i, res.RecordKeys[i], status)
			}
		}
		if after := h.sequence(t, app); !res.Duplicate && after > before+n {
			t.Fatalf("sequence s moved from %d to %d for %d writes", before, after, n)
		}
	})
}

func (h *handler) sequence(tb testing.TB, app string) uint64 {
	tb.Helper()
	var out struct{ Value uint64 }
	if err := json.Unmarshal(h.must(tb, "GET", "/sequence", q("appID", app, "name", "s"), nil), &out); err != nil {
		tb.Fatal(err)
	}
	return out.Value
}
