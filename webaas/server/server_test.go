package server_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
	"github.com/webaas-chat/webaas-chat/wire"
)

// testSchema has an integer-keyed type, a string-keyed type, a type with
// no key, and uses an index option and a standard import.
const testSchema = `syntax = "proto3";
package test;
import "record_metadata_options.proto";
import "google/protobuf/timestamp.proto";

message Item {
  int32 id = 1 [(webaas.db.record.field).primary_key = true];
  string name = 2 [(webaas.db.record.field).index = {}];
  google.protobuf.Timestamp at = 3;
}
message Tag {
  string name = 1 [(webaas.db.record.field).primary_key = true];
  int64 count = 2;
}
message Note { string text = 1; }
`

// item encodes test.Item{id, name} by hand, as any client would.
func item(id int32, name string) []byte {
	var b []byte
	if id != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(id)))
	}
	if name != "" {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, name)
	}
	return b
}

func tag(name string, count int64) []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, name)
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(count))
	return b
}

// env is one test server with a client and an app on testSchema.
type env struct {
	t   *testing.T
	srv *servertest.Server
	c   *webaas.Client
	app string
}

func newEnv(t *testing.T, opts ...servertest.Option) *env {
	t.Helper()
	srv := servertest.Start(t, opts...)
	c, err := webaas.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, c: c}
	e.app = e.newApp("test")
	return e
}

// restart restarts the server and gives the env a new client: the old
// one's idle keep-alive connections died with the server, and a POST
// (which net/http does not retry) sent on one before the client noticed
// fails with EOF, a race that is the client's and not what a test means.
func (e *env) restart() {
	e.t.Helper()
	e.srv.Restart()
	c, err := webaas.New(e.srv.URL())
	if err != nil {
		e.t.Fatal(err)
	}
	e.c = c
}

func (e *env) newApp(name string) string {
	e.t.Helper()
	ctx := context.Background()
	id, err := e.c.RegisterApp(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.PutSchema(ctx, id, "1", "test.proto", []byte(testSchema)); err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.ActivateSchema(ctx, id, "1"); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// raw makes a request without the client, for byte-exact checks.
func (e *env) raw(method, path string, q url.Values, body []byte) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL()+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// wantCode checks that err is an API error with that code and status 400.
func wantCode(t *testing.T, err error, code wire.Code) {
	t.Helper()
	var e *webaas.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want API error code %d", err, code)
	}
	if e.Code != code || e.Status != http.StatusBadRequest {
		t.Fatalf("err = HTTP %d code %d %q, want 400 code %d", e.Status, e.Code, e.Message, code)
	}
	if e.Message == "" {
		t.Fatalf("code %d came without a message", code)
	}
}

var ctx = context.Background()

func TestRegisterAndDeleteApp(t *testing.T) {
	e := newEnv(t)
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(e.app) {
		t.Fatalf("appID %q is not a UUIDv4", e.app)
	}
	// Names may repeat; ids may not.
	other, err := e.c.RegisterApp(ctx, "test")
	if err != nil || other == e.app {
		t.Fatalf("second app with the same name: %q, %v", other, err)
	}
	status, body := e.raw("DELETE", "/app", url.Values{"appName": {"test"}, "appID": {other}}, nil)
	if status != 200 || !strings.Contains(string(body), `"appID":"`+other+`"`) {
		t.Fatalf("delete app: %d %s", status, body)
	}
	wantCode(t, e.c.DeleteApp(ctx, other, ""), wire.CodeUnknownApp)
	wantCode(t, e.c.DeleteApp(ctx, e.app, "wrong name"), wire.CodeUnknownApp)
	_, err = e.c.Get(ctx, other, "test.Item", "1")
	wantCode(t, err, wire.CodeUnknownApp)
}

func TestDeleteAppRemovesEverything(t *testing.T) {
	e := newEnv(t)
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "a")); err != nil {
		t.Fatal(err)
	}
	if err := e.c.DeleteApp(ctx, e.app, "test"); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.Get(ctx, e.app, "test.Item", "1")
	wantCode(t, err, wire.CodeUnknownApp)
	st := e.srv.Store
	if _, err := st.App(ctx, e.app); err == nil {
		t.Fatal("app still in the store")
	}
	if recs, _, _ := st.Range(ctx, e.app, "test.Item", []byte{0}, []byte{0xff}, 0, 10); len(recs) != 0 {
		t.Fatalf("%d records survived the app", len(recs))
	}
}

func TestSchemaCompileErrorNamesPosition(t *testing.T) {
	e := newEnv(t)
	bad := "syntax = \"proto3\";\npackage x;\nmessage M {\n  int32 id = 1\n}\n"
	if err := e.c.PutSchema(ctx, e.app, "2", "bad.proto", []byte(bad)); err != nil {
		t.Fatal(err)
	}
	err := e.c.ActivateSchema(ctx, e.app, "2")
	wantCode(t, err, wire.CodeSchemaCompile)
	if !regexp.MustCompile(`bad\.proto:\d+:\d+`).MatchString(err.Error()) {
		t.Fatalf("compile error without file:line:column: %v", err)
	}
	// The old version stays active.
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "a")); err != nil {
		t.Fatalf("old schema lost after a failed activation: %v", err)
	}
}

func TestSchemaImports(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		files map[string]string
		code  wire.Code // 0: activates
	}{
		{"two files importing each other one way", map[string]string{
			"a.proto": "syntax = \"proto3\";\npackage a;\nimport \"b.proto\";\nimport \"record_metadata_options.proto\";\nmessage A { int64 id = 1 [(webaas.db.record.field).primary_key = true]; b.B b = 2; }\n",
			"b.proto": "syntax = \"proto3\";\npackage b;\nmessage B { string s = 1; }\n",
		}, 0},
		{"missing import", map[string]string{
			"a.proto": "syntax = \"proto3\";\npackage a;\nimport \"nowhere.proto\";\nmessage A { int32 id = 1; }\n",
		}, wire.CodeSchemaCompile},
		{"cyclic imports", map[string]string{
			"a.proto": "syntax = \"proto3\";\npackage a;\nimport \"b.proto\";\n",
			"b.proto": "syntax = \"proto3\";\npackage b;\nimport \"a.proto\";\n",
		}, wire.CodeSchemaCompile},
		{"uploaded record_metadata_options.proto is used", map[string]string{
			"record_metadata_options.proto": "syntax = \"proto2\";\npackage webaas.db.record;\nimport \"google/protobuf/descriptor.proto\";\nmessage FieldOptions { optional bool primary_key = 1; }\nextend google.protobuf.FieldOptions { optional FieldOptions field = 1233; }\n",
			"c.proto":                       "syntax = \"proto3\";\npackage c;\nimport \"record_metadata_options.proto\";\nmessage C { string k = 1 [(webaas.db.record.field).primary_key = true]; }\n",
		}, 0},
		{"proto2 file", map[string]string{
			"p2.proto": "syntax = \"proto2\";\npackage p2;\nimport \"record_metadata_options.proto\";\nmessage P { required int64 id = 1 [(webaas.db.record.field).primary_key = true]; }\n",
		}, 0},
		{"not UTF-8", map[string]string{"x.proto": "syntax = \"proto3\"; // \xff\xfe\n"}, wire.CodeSchemaCompile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version := tc.name
			var err error
			for name, text := range tc.files {
				if err = e.c.PutSchema(ctx, e.app, version, name, []byte(text)); err != nil {
					break
				}
			}
			if err == nil {
				err = e.c.ActivateSchema(ctx, e.app, version)
			}
			if tc.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
		})
	}
	wantCode(t, e.c.ActivateSchema(ctx, e.app, "no such version"), wire.CodeUnknownSchema)
}

func TestSchemaReplaceFile(t *testing.T) {
	e := newEnv(t)
	v1 := "syntax = \"proto3\";\npackage r;\nimport \"record_metadata_options.proto\";\nmessage R { int32 id = 1 [(webaas.db.record.field).primary_key = true]; }\n"
	v2 := strings.Replace(v1, "message R", "message S", 1)
	for _, text := range []string{v1, v2} {
		if err := e.c.PutSchema(ctx, e.app, "r", "r.proto", []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.c.ActivateSchema(ctx, e.app, "r"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, e.app, "r.S", nil); err != nil {
		t.Fatalf("the second PUT did not replace the file: %v", err)
	}
	wantCode(t, e.c.Put(ctx, e.app, "r.R", nil), wire.CodeUnknownSchema)
}

func TestRecordUpsertGetDelete(t *testing.T) {
	e := newEnv(t)
	if err := e.c.Put(ctx, e.app, "test.Item", item(7, "seven")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"7", "007", "+7"} {
		got, err := e.c.Get(ctx, e.app, "test.Item", key)
		if err != nil {
			t.Fatalf("get %q: %v", key, err)
		}
		if !bytes.Equal(got, item(7, "seven")) {
			t.Fatalf("get %q = %x, want the stored bytes", key, got)
		}
	}
	// Upsert replaces.
	if err := e.c.Put(ctx, e.app, "test.Item", item(7, "SEVEN")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.c.Get(ctx, e.app, "test.Item", "7"); !bytes.Equal(got, item(7, "SEVEN")) {
		t.Fatalf("after upsert got %x", got)
	}
	// The proto3 default is a key like any other.
	if err := e.c.Put(ctx, e.app, "test.Item", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Get(ctx, e.app, "test.Item", "0"); err != nil {
		t.Fatalf("key 0: %v", err)
	}
	if err := e.c.Put(ctx, e.app, "test.Tag", tag("", 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Get(ctx, e.app, "test.Tag", ""); err != nil {
		t.Fatalf("empty string key: %v", err)
	}
	if err := e.c.Delete(ctx, e.app, "test.Item", "7"); err != nil {
		t.Fatal(err)
	}
	_, err := e.c.Get(ctx, e.app, "test.Item", "7")
	if !errors.Is(err, webaas.ErrNotFound) {
		t.Fatalf("get deleted: %v, want ErrNotFound", err)
	}
	wantCode(t, err, wire.CodeNotFound)
	wantCode(t, e.c.Delete(ctx, e.app, "test.Item", "7"), wire.CodeNotFound)
	// Old clients check exactly this body shape.
	status, body := e.raw("GET", "/query", url.Values{"appID": {e.app}, "schemaName": {"test.Item"}, "recordKey": {"7"}}, nil)
	var eb struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if status != 400 || json.Unmarshal(body, &eb) != nil || eb.Code != 1002 || eb.Message == "" {
		t.Fatalf("not found answer: %d %s", status, body)
	}
}

func TestRecordContentTypes(t *testing.T) {
	e := newEnv(t)
	for i, ct := range []string{"", "application/octet-stream", "application/x-protobuf"} {
		req, _ := http.NewRequest("POST", e.srv.URL()+"/record?appID="+e.app+"&schemaName=test.Item", bytes.NewReader(item(int32(100+i), "x")))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		} else {
			req.Header.Del("Content-Type")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("Content-Type %q: status %d", ct, resp.StatusCode)
		}
	}
}

func TestRangeBodyBytes(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.PageSize = 2 })
	for _, id := range []int32{10, 9, 2, -5, 100} {
		if err := e.c.Put(ctx, e.app, "test.Item", item(id, "n"+strconv.Itoa(int(id)))); err != nil {
			t.Fatal(err)
		}
	}
	frame := func(more bool, recs ...[]byte) []byte {
		out := []byte{0}
		if more {
			out[0] = 1
		}
		for _, r := range recs {
			out = binary.BigEndian.AppendUint16(out, uint16(len(r)))
			out = append(out, r...)
		}
		return out
	}
	q := func(begin, end string, page int) []byte {
		t.Helper()
		status, body := e.raw("GET", "/query", url.Values{
			"appID": {e.app}, "schemaName": {"test.Item"}, "range": {"True"},
			"beginKey": {begin}, "endKey": {end}, "iteration": {strconv.Itoa(page)},
		}, nil)
		if status != 200 {
			t.Fatalf("range: %d %s", status, body)
		}
		return body
	}
	// Integers order numerically: -5 < 2 < 9 < 10 < 100; end excluded.
	if got, want := q("-10", "100", 1), frame(true, item(-5, "n-5"), item(2, "n2")); !bytes.Equal(got, want) {
		t.Fatalf("page 1 = %x, want %x", got, want)
	}
	if got, want := q("-10", "100", 2), frame(false, item(9, "n9"), item(10, "n10")); !bytes.Equal(got, want) {
		t.Fatalf("page 2 = %x, want %x", got, want)
	}
	if got, want := q("-10", "100", 3), frame(false); !bytes.Equal(got, want) {
		t.Fatalf("page 3 = %x, want %x", got, want)
	}
	// "9" < "10": a textual order would put 10 first.
	if got, want := q("9", "11", 1), frame(false, item(9, "n9"), item(10, "n10")); !bytes.Equal(got, want) {
		t.Fatalf("9..11 = %x, want %x", got, want)
	}
	// Begin included.
	if got, want := q("100", "101", 1), frame(false, item(100, "n100")); !bytes.Equal(got, want) {
		t.Fatalf("100..101 = %x, want %x", got, want)
	}
	// Every true-ish spelling of range works.
	for _, r := range []string{"true", "1", "TRUE", "yes", "on"} {
		status, _ := e.raw("GET", "/query", url.Values{"appID": {e.app}, "schemaName": {"test.Item"}, "range": {r}, "beginKey": {"0"}, "endKey": {"1"}, "iteration": {"1"}}, nil)
		if status != 200 {
			t.Fatalf("range=%s: status %d", r, status)
		}
	}
	// The client pages through everything.
	all, err := e.c.Range(ctx, e.app, "test.Item", "-100", "1000")
	if err != nil || len(all) != 5 {
		t.Fatalf("Range: %d records, %v", len(all), err)
	}
}

func TestRangeStringKeysBytewise(t *testing.T) {
	e := newEnv(t)
	for _, k := range []string{"b", "a", "ab", "B", "é"} {
		if err := e.c.Put(ctx, e.app, "test.Tag", tag(k, 1)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := e.c.Range(ctx, e.app, "test.Tag", "", "\U0010ffff")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		var m struct{ name string }
		v, n := protowire.ConsumeBytes(r[1:])
		if n < 0 {
			t.Fatal("bad record")
		}
		m.name = string(v)
		got = append(got, m.name)
	}
	if want := "B a ab b é"; strings.Join(got, " ") != want {
		t.Fatalf("order %q, want %q", strings.Join(got, " "), want)
	}
}

func TestRangeRefusesUnframeableRecord(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxRecordBytes = 100000 })
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, strings.Repeat("x", 70000))); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.c.RangePage(ctx, e.app, "test.Item", "0", "10", 1)
	wantCode(t, err, wire.CodeTooLarge)
	if got, err := e.c.Get(ctx, e.app, "test.Item", "1"); err != nil || len(got) < 70000 {
		t.Fatalf("single get of the big record: %d bytes, %v", len(got), err)
	}
}

// listen dials a notification's websocket directly.
func (e *env) listen(id string) *websocket.Conn {
	e.t.Helper()
	u := strings.Replace(e.srv.URL(), "http", "ws", 1) + "/notification?appID=" + e.app + "&notificationID=" + id
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.CloseNow() })
	return conn
}

func readFrame(t *testing.T, conn *websocket.Conn) *wire.NotificationMessage {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	typ, data, err := conn.Read(rctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("frame type %v, want text", typ)
	}
	var m wire.NotificationMessage
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame is not a NotificationMessage: %v", err)
	}
	return &m
}

func TestNotificationTextFrames(t *testing.T) {
	e := newEnv(t)
	status, body := e.raw("POST", "/notification", nil, []byte(`{"appID":"`+e.app+`","schemaName":"test.Item","recordKeys":["1","02"]}`))
	if status != 200 {
		t.Fatalf("register: %d %s", status, body)
	}
	var reg struct {
		NotificationID string `json:"notificationID"`
	}
	if err := json.Unmarshal(body, &reg); err != nil || reg.NotificationID == "" {
		t.Fatalf("register answer %s", body)
	}
	conn := e.listen(reg.NotificationID)

	if err := e.c.Put(ctx, e.app, "test.Item", item(3, "unwatched")); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, e.app, "test.Item", item(2, "watched")); err != nil {
		t.Fatal(err)
	}
	m := readFrame(t, conn)
	if m.NotificationId != reg.NotificationID || m.AppId != e.app || m.SchemaName != "test.Item" || strings.Join(m.RecordKeys, ",") != "2" {
		t.Fatalf("frame after upsert = %v", m)
	}
	if err := e.c.Delete(ctx, e.app, "test.Item", "2"); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn); strings.Join(m.RecordKeys, ",") != "2" {
		t.Fatalf("frame after delete = %v", m)
	}
	// A transaction that writes both watched keys: one frame, both keys.
	tx, err := e.c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int32{1, 2} {
		if err := tx.Put(ctx, e.app, "test.Item", item(id, "tx")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn); strings.Join(m.RecordKeys, ",") != "1,2" {
		t.Fatalf("frame after transaction = %v", m)
	}

	// A notification outlives its sockets.
	conn.Close(websocket.StatusNormalClosure, "")
	conn2 := e.listen(reg.NotificationID)
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "again")); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn2); strings.Join(m.RecordKeys, ",") != "1" {
		t.Fatalf("frame on second socket = %v", m)
	}

	// Deleting the notification closes its sockets.
	if err := e.c.DeleteNotification(ctx, e.app, reg.NotificationID); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, _, err := conn2.Read(rctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("after delete, read = %v, want a normal close", err)
	}
	wantCode(t, e.c.DeleteNotification(ctx, e.app, reg.NotificationID), wire.CodeUnknownNotify)
}

func TestNotificationUpgradeRefusals(t *testing.T) {
	e := newEnv(t)
	other := e.newApp("other")
	id, err := e.c.RegisterNotification(ctx, other, "test.Item", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]string{
		"unknown id":             "appID=" + e.app + "&notificationID=nope",
		"another app's id":       "appID=" + e.app + "&notificationID=" + id,
		"missing notificationID": "appID=" + e.app,
		"unknown app":            "appID=nope&notificationID=" + id,
	} {
		u := strings.Replace(e.srv.URL(), "http", "ws", 1) + "/notification?" + q
		_, resp, err := websocket.Dial(ctx, u, nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("%s: upgrade not refused with 400 (err %v)", name, err)
		}
	}
	// Another app's writes never reach this app's sockets.
	mine, err := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	conn := e.listen(mine)
	if err := e.c.Put(ctx, other, "test.Item", item(1, "other app")); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "my app")); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn); m.AppId != e.app {
		t.Fatalf("frame of app %s reached a socket of app %s", m.AppId, e.app)
	}
}

func TestWatchClientReconnects(t *testing.T) {
	e := newEnv(t)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := e.c.Watch(wctx, e.app, "test.Item", []string{"5"}, webaas.WithBackoff(10*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	next := func(want webaas.EventKind) webaas.Event {
		t.Helper()
		select {
		case ev := <-events:
			if ev.Kind != want {
				t.Fatalf("event %v (%v), want %v", ev.Kind, ev.Err, want)
			}
			return ev
		case <-time.After(10 * time.Second):
			t.Fatalf("no %v event", want)
		}
		panic("unreachable")
	}
	next(webaas.Connected)
	if err := e.c.Put(ctx, e.app, "test.Item", item(5, "a")); err != nil {
		t.Fatal(err)
	}
	if ev := next(webaas.Changed); strings.Join(ev.Keys, ",") != "5" {
		t.Fatalf("changed keys %v", ev.Keys)
	}
	e.restart()
	next(webaas.Disconnected)
	// It retries until the server is back, then says Connected again.
	for {
		ev := <-events
		if ev.Kind == webaas.Connected {
			break
		}
		if ev.Kind != webaas.Disconnected {
			t.Fatalf("event %v while reconnecting", ev.Kind)
		}
	}
	if err := e.c.Put(ctx, e.app, "test.Item", item(5, "b")); err != nil {
		t.Fatal(err)
	}
	next(webaas.Changed)
	cancel()
	for range events {
	}
	// The registration was removed when the watch ended.
	_, _, err = websocket.Dial(ctx, strings.Replace(e.srv.URL(), "http", "ws", 1)+"/notification?appID="+e.app+"&notificationID=x", nil)
	if err == nil {
		t.Fatal("dial with a made-up id succeeded")
	}
}

func TestTransactionReadOwnWritesAndCommit(t *testing.T) {
	e := newEnv(t)
	tx, err := e.c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Get(ctx, e.app, "test.Item", "1")
	wantCode(t, err, wire.CodeNotFound)
	if err := tx.Put(ctx, e.app, "test.Item", item(1, "in tx")); err != nil {
		t.Fatal(err)
	}
	if got, err := tx.Get(ctx, e.app, "test.Item", "1"); err != nil || !bytes.Equal(got, item(1, "in tx")) {
		t.Fatalf("read own write: %x %v", got, err)
	}
	if _, err := e.c.Get(ctx, e.app, "test.Item", "1"); !errors.Is(err, webaas.ErrNotFound) {
		t.Fatalf("uncommitted write visible outside: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := e.c.Get(ctx, e.app, "test.Item", "1"); err != nil || !bytes.Equal(got, item(1, "in tx")) {
		t.Fatalf("after commit: %x %v", got, err)
	}
	wantCode(t, tx.Commit(ctx), wire.CodeUnknownTransaction)
	wantCode(t, tx.Put(ctx, e.app, "test.Item", item(2, "late")), wire.CodeUnknownTransaction)

	tx2, _ := e.c.Begin(ctx)
	if err := tx2.Put(ctx, e.app, "test.Item", item(3, "aborted")); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	wantCode(t, tx2.Put(ctx, e.app, "test.Item", item(3, "after abort")), wire.CodeUnknownTransaction)
	if _, err := e.c.Get(ctx, e.app, "test.Item", "3"); !errors.Is(err, webaas.ErrNotFound) {
		t.Fatalf("aborted write landed: %v", err)
	}
}

// TestTransactionsConflict runs two read-modify-write transactions on one
// record at the same time: exactly one commits.
func TestTransactionsConflict(t *testing.T) {
	e := newEnv(t)
	if err := e.c.Put(ctx, e.app, "test.Tag", tag("counter", 0)); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 20; round++ {
		var txs [2]*webaas.Txn
		for i := range txs {
			tx, err := e.c.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Get(ctx, e.app, "test.Tag", "counter"); err != nil {
				t.Fatal(err)
			}
			if err := tx.Put(ctx, e.app, "test.Tag", tag("counter", int64(round*10+i))); err != nil {
				t.Fatal(err)
			}
			txs[i] = tx
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, tx := range txs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = tx.Commit(ctx) }()
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, webaas.ErrConflict):
				wantCode(t, err, wire.CodeConflict)
				conflicts++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d commits, %d conflicts; want exactly one of each", round, ok, conflicts)
		}
	}
}

func TestTransactionAbsentReadConflicts(t *testing.T) {
	e := newEnv(t)
	tx, _ := e.c.Begin(ctx)
	if _, err := tx.Get(ctx, e.app, "test.Item", "9"); !errors.Is(err, webaas.ErrNotFound) {
		t.Fatal(err)
	}
	if err := tx.Put(ctx, e.app, "test.Item", item(10, "depends on 9 being absent")); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Put(ctx, e.app, "test.Item", item(9, "now present")); err != nil {
		t.Fatal(err)
	}
	wantCode(t, tx.Commit(ctx), wire.CodeConflict)
	if _, err := e.c.Get(ctx, e.app, "test.Item", "10"); !errors.Is(err, webaas.ErrNotFound) {
		t.Fatalf("conflicting transaction applied: %v", err)
	}
}

func TestTransactionSpansApps(t *testing.T) {
	e := newEnv(t)
	other := e.newApp("other")
	tx, _ := e.c.Begin(ctx)
	if err := tx.Put(ctx, e.app, "test.Item", item(1, "a")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Put(ctx, other, "test.Item", item(1, "b")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := e.c.Get(ctx, e.app, "test.Item", "1")
	b, _ := e.c.Get(ctx, other, "test.Item", "1")
	if !bytes.Equal(a, item(1, "a")) || !bytes.Equal(b, item(1, "b")) {
		t.Fatalf("cross-app transaction: %x %x", a, b)
	}
}

// TestTransactionExpires moves the server's clock: a transaction used
// within its timeout lives on (each use refreshes it), one left idle for
// longer is gone, and its writes never land.
func TestTransactionExpires(t *testing.T) {
	clk := &clock{now: time.Now()}
	e := newEnv(t, func(c *server.Config) { c.TxnTimeout, c.Now = 10*time.Second, clk.Now })
	tx, _ := e.c.Begin(ctx)
	if err := tx.Put(ctx, e.app, "test.Item", item(1, "slow")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clk.advance(9 * time.Second)
		if _, err := tx.Get(ctx, e.app, "test.Item", "2"); !errors.Is(err, webaas.ErrNotFound) {
			t.Fatalf("a transaction used every 9 s of a 10 s timeout: %v", err)
		}
	}
	clk.advance(11 * time.Second)
	if _, err := tx.Get(ctx, e.app, "test.Item", "2"); !errors.Is(err, webaas.ErrUnknownTransaction) {
		t.Fatalf("a transaction idle past its timeout: %v, want unknown", err)
	}
	wantCode(t, tx.Commit(ctx), wire.CodeUnknownTransaction)
	if _, err := e.c.Get(ctx, e.app, "test.Item", "1"); !errors.Is(err, webaas.ErrNotFound) {
		t.Fatalf("expired transaction's write landed: %v", err)
	}
}

func TestDurableAcrossRestart(t *testing.T) {
	e := newEnv(t)
	for i := int32(1); i <= 50; i++ {
		if err := e.c.Put(ctx, e.app, "test.Item", item(i, "kept")); err != nil {
			t.Fatal(err)
		}
	}
	id, err := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	e.restart()
	recs, err := e.c.Range(ctx, e.app, "test.Item", "1", "51")
	if err != nil || len(recs) != 50 {
		t.Fatalf("after restart: %d records, %v", len(recs), err)
	}
	// The schema and the notification survived too.
	conn := e.listen(id)
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "after")); err != nil {
		t.Fatal(err)
	}
	readFrame(t, conn)
}

func TestShutdownSaysGoingAway(t *testing.T) {
	e := newEnv(t)
	id, _ := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
	conn := e.listen(id)
	done := make(chan error, 1)
	go func() {
		_, _, err := conn.Read(ctx)
		done <- err
	}()
	e.srv.Stop()
	select {
	case err := <-done:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("socket closed with %v, want going away", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("socket not closed at shutdown")
	}
}

func TestUnknownEndpointAndMethod(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ method, path string }{{"GET", "/nope"}, {"PATCH", "/record"}, {"GET", "/app"}} {
		status, body := e.raw(tc.method, tc.path, nil, nil)
		var eb struct{ Code int }
		if status != 400 || json.Unmarshal(body, &eb) != nil || eb.Code != int(wire.CodeBadParameter) {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, status, body)
		}
	}
	// CORS preflight for browser clients.
	status, _ := e.raw("OPTIONS", "/record", nil, nil)
	if status != http.StatusNoContent {
		t.Fatalf("OPTIONS: %d", status)
	}
}

// TestNotificationNumberKeys: a client holding integer ids may send them
// as JSON numbers; they name the same records as their decimal text.
func TestNotificationNumberKeys(t *testing.T) {
	e := newEnv(t)
	status, body := e.raw("POST", "/notification", nil, []byte(`{"appID":"`+e.app+`","schemaName":"test.Item","recordKeys":[5, 6]}`))
	if status != 200 {
		t.Fatalf("register with number keys: %d %s", status, body)
	}
	var reg struct {
		NotificationID string `json:"notificationID"`
	}
	json.Unmarshal(body, &reg)
	conn := e.listen(reg.NotificationID)
	if err := e.c.Put(ctx, e.app, "test.Item", item(6, "six")); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn); strings.Join(m.RecordKeys, ",") != "6" {
		t.Fatalf("frame %v", m)
	}
	// A plain GET on the websocket endpoint gets the API's error shape.
	status, body = e.raw("GET", "/notification", url.Values{"appID": {e.app}, "notificationID": {reg.NotificationID}}, nil)
	var eb struct{ Code int }
	if status != 400 || json.Unmarshal(body, &eb) != nil || eb.Code != int(wire.CodeBadParameter) {
		t.Fatalf("GET without upgrade: %d %s", status, body)
	}
}
