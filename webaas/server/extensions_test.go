package server_test

// The data-path extensions through real HTTP and websockets: POST /batch,
// GET /sequence, registrations that watch whole types, records frames.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/wire"
)

func seqItem(name string) webaas.BatchWrite {
	return webaas.BatchWrite{SchemaName: "test.Item", Sequence: "items", Record: item(0, name)}
}

func TestInfoListsTheExtensions(t *testing.T) {
	e := newEnv(t)
	info, err := e.c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{"info", "batch", "sequence", "watch-types", "records-frames"} {
		if !info.Has(x) {
			t.Errorf("GET /info does not list %q: %v", x, info.Extensions)
		}
	}
}

// TestBatchSequence: one request writes records in order, sequenced ones
// keyed by the sequence's next values, atomically.
func TestBatchSequence(t *testing.T) {
	e := newEnv(t)
	res, err := e.c.Batch(ctx, e.app, "", []webaas.BatchWrite{
		seqItem("first"), {SchemaName: "test.Tag", Record: tag("plain", 1)}, seqItem("second"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1", "plain", "2"}; !slices.Equal(res.Keys, want) || res.Duplicate {
		t.Fatalf("batch wrote %v (duplicate %v), want %v", res.Keys, res.Duplicate, want)
	}
	for key, want := range map[string][]byte{"1": item(1, "first"), "2": item(2, "second")} {
		got, err := e.c.Get(ctx, e.app, "test.Item", key)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("item %s = %x, %v; want %x (the key field set by the server)", key, got, err, want)
		}
	}
	// The key a client put in a sequenced record is replaced.
	res, err = e.c.Batch(ctx, e.app, "", []webaas.BatchWrite{{SchemaName: "test.Item", Sequence: "items", Record: item(77, "third")}})
	if err != nil || !slices.Equal(res.Keys, []string{"3"}) {
		t.Fatalf("batch = %v, %v; want key 3", res.Keys, err)
	}
	if _, err := e.c.Get(ctx, e.app, "test.Item", "77"); err == nil {
		t.Fatal("the client's own key 77 was written")
	}
	if n, err := e.c.Sequence(ctx, e.app, "items"); err != nil || n != 3 {
		t.Fatalf("Sequence = %d, %v; want 3", n, err)
	}
	if n, err := e.c.Sequence(ctx, e.app, "never"); err != nil || n != 0 {
		t.Fatalf("an unused sequence = %d, %v; want 0", n, err)
	}
}

// TestBatchRefusals: every bad batch gets a clear 400 and writes nothing.
func TestBatchRefusals(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.MaxTxnWrites = 3 })
	cases := []struct {
		name   string
		writes []webaas.BatchWrite
		token  string
		code   wire.Code
		says   string
	}{
		{"no writes", nil, "", wire.CodeBadParameter, "writes is empty"},
		{"too many", []webaas.BatchWrite{seqItem("a"), seqItem("b"), seqItem("c"), seqItem("d")}, "", wire.CodeLimit, "at most 3"},
		{"unknown type", []webaas.BatchWrite{seqItem("a"), {SchemaName: "test.Nope", Record: nil}}, "", wire.CodeUnknownSchema, "writes[1]"},
		{"bad record", []webaas.BatchWrite{seqItem("a"), {SchemaName: "test.Item", Record: []byte{0xff}}}, "", wire.CodeBadRecord, "writes[1]"},
		{"string key", []webaas.BatchWrite{{SchemaName: "test.Tag", Sequence: "s", Record: tag("x", 1)}}, "", wire.CodeBadParameter, "integer keys"},
		{"long token", []webaas.BatchWrite{seqItem("a")}, strings.Repeat("t", 129), wire.CodeTooLarge, "token"},
		{"long sequence name", []webaas.BatchWrite{{SchemaName: "test.Item", Sequence: strings.Repeat("s", 129), Record: item(0, "a")}}, "", wire.CodeBadParameter, "sequence names"},
	}
	for _, tc := range cases {
		_, err := e.c.Batch(ctx, e.app, tc.token, tc.writes)
		wantCode(t, err, tc.code)
		if !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v; want it to say %q", tc.name, err, tc.says)
		}
	}
	if _, err := e.c.Batch(ctx, "no-such-app", "", []webaas.BatchWrite{seqItem("a")}); err == nil {
		t.Fatal("a batch to an unknown app was accepted")
	}
	if n, _ := e.c.Sequence(ctx, e.app, "items"); n != 0 {
		t.Fatalf("refused batches advanced the sequence to %d", n)
	}
	if recs, err := e.c.Range(ctx, e.app, "test.Item", "0", "100"); err != nil || len(recs) != 0 {
		t.Fatalf("refused batches wrote %d records (%v)", len(recs), err)
	}
}

// TestBatchToken: a batch retried with its token is applied once, and the
// retry is told the first one's keys; an expired token is new again.
func TestBatchToken(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := newEnv(t, func(c *server.Config) { c.Now = func() time.Time { return clock() } })
	writes := []webaas.BatchWrite{seqItem("a"), seqItem("b")}
	first, err := e.c.Batch(ctx, e.app, "client-1:1", writes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Batch(ctx, e.app, "client-1:2", []webaas.BatchWrite{seqItem("c")}); err != nil {
		t.Fatal(err)
	}
	again, err := e.c.Batch(ctx, e.app, "client-1:1", writes)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || !slices.Equal(again.Keys, first.Keys) {
		t.Fatalf("the retry got %+v, want a duplicate with keys %v", again, first.Keys)
	}
	if n, _ := e.c.Sequence(ctx, e.app, "items"); n != 3 {
		t.Fatalf("sequence at %d after the retry, want 3", n)
	}
	// Past the idempotency TTL the token is forgotten.
	now = now.Add(server.DefaultConfig().IdempotencyTTL + time.Minute)
	if n, err := e.srv.API.ExpireTokens(ctx); err != nil || n != 2 {
		t.Fatalf("ExpireTokens = %d, %v; want 2", n, err)
	}
	if res, err := e.c.Batch(ctx, e.app, "client-1:1", writes); err != nil || res.Duplicate || !slices.Equal(res.Keys, []string{"4", "5"}) {
		t.Fatalf("after expiry: %+v, %v; want a new batch keyed 4, 5", res, err)
	}
}

// listenRecords opens a records socket on a notification.
func (e *env) listenRecords(id string) *websocket.Conn {
	e.t.Helper()
	u := strings.Replace(e.srv.URL(), "http", "ws", 1) + "/notification?" + url.Values{"appID": {e.app}, "notificationID": {id}, "frames": {"records"}}.Encode()
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.CloseNow() })
	return conn
}

func readRecordsFrame(t *testing.T, conn *websocket.Conn) *wire.RecordsFrame {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	typ, data, err := conn.Read(rctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if typ != websocket.MessageBinary {
		t.Fatalf("frame type %v, want binary", typ)
	}
	var f wire.RecordsFrame
	if err := proto.Unmarshal(data, &f); err != nil {
		t.Fatalf("frame is not a RecordsFrame: %v", err)
	}
	return &f
}

// describeFrame is a frame's changes as "schema key=record", "key deleted"
// or "key omitted".
func describeFrame(f *wire.RecordsFrame) string {
	var parts []string
	for _, c := range f.Changes {
		s := c.SchemaName + " " + string(c.RecordKey)
		switch {
		case c.Deleted:
			s += " deleted"
		case c.Omitted:
			s += " omitted"
		default:
			s += fmt.Sprintf("=%x", c.Record)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func (e *env) registerTypes(body string) string {
	e.t.Helper()
	status, answer := e.raw("POST", "/notification", nil, []byte(body))
	if status != 200 {
		e.t.Fatalf("register %s: %d %s", body, status, answer)
	}
	var reg struct {
		NotificationID string `json:"notificationID"`
	}
	if err := json.Unmarshal(answer, &reg); err != nil {
		e.t.Fatal(err)
	}
	return reg.NotificationID
}

// TestRecordsFrames: a socket that asks for records frames hears the
// records themselves, of every record of a watched type and of the keys
// it names, with the commit's position; deletes and records too large to
// carry are marked.
func TestRecordsFrames(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.WSMaxRecordsFrame = 40 })
	id := e.registerTypes(`{"appID":"` + e.app + `","schemaNames":["test.Item"],"schemaName":"test.Tag","recordKeys":["watched"]}`)
	conn := e.listenRecords(id)

	if err := e.c.Put(ctx, e.app, "test.Tag", tag("unwatched", 1)); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Batch(ctx, e.app, "", []webaas.BatchWrite{seqItem("one"), seqItem("two"), {SchemaName: "test.Tag", Record: tag("watched", 2)}})
	if err != nil {
		t.Fatal(err)
	}
	f1 := readRecordsFrame(t, conn)
	f2 := readRecordsFrame(t, conn)
	if f1.Commit == 0 || f1.Commit != f2.Commit || f1.NotificationId != id || f1.AppId != e.app ||
		len(f1.Sequences) != 1 || f1.Sequences[0].Name != "items" || f1.Sequences[0].Value != 2 {
		t.Fatalf("frames of one commit: %v / %v", f1, f2)
	}
	got := []string{describeFrame(f1), describeFrame(f2)}
	slices.Sort(got) // one frame per type, in either order
	want := []string{
		fmt.Sprintf("test.Item 1=%x, test.Item 2=%x", item(1, "one"), item(2, "two")),
		fmt.Sprintf("test.Tag watched=%x", tag("watched", 2)),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("frames carry\n%q\nwant\n%q", got, want)
	}
	if !slices.Equal(res.Keys, []string{"1", "2", "watched"}) {
		t.Fatalf("batch keys %v", res.Keys)
	}

	// A record past the frame's limit is omitted; a delete is marked.
	if err := e.c.Put(ctx, e.app, "test.Item", item(9, strings.Repeat("x", 50))); err != nil {
		t.Fatal(err)
	}
	if f := readRecordsFrame(t, conn); describeFrame(f) != "test.Item 9 omitted" || f.Commit <= f1.Commit {
		t.Fatalf("a large record's frame: %s (commit %d)", describeFrame(f), f.Commit)
	}
	if err := e.c.Delete(ctx, e.app, "test.Item", "9"); err != nil {
		t.Fatal(err)
	}
	if f := readRecordsFrame(t, conn); describeFrame(f) != "test.Item 9 deleted" {
		t.Fatalf("a delete's frame: %s", describeFrame(f))
	}
}

// TestRecordsFramesRefusals: a registration by type is listened to with
// records frames only, and only known frame kinds are accepted.
func TestRecordsFramesRefusals(t *testing.T) {
	e := newEnv(t)
	id := e.registerTypes(`{"appID":"` + e.app + `","schemaNames":["test.Item"]}`)
	for _, frames := range []string{"", "json"} {
		q := url.Values{"appID": {e.app}, "notificationID": {id}}
		if frames != "" {
			q.Set("frames", frames)
		}
		u := strings.Replace(e.srv.URL(), "http", "ws", 1) + "/notification?" + q.Encode()
		_, resp, err := websocket.Dial(ctx, u, nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("frames=%q: %v, %v; want a 400", frames, resp, err)
		}
	}
	status, body := e.raw("POST", "/notification", nil, []byte(`{"appID":"`+e.app+`","schemaNames":["test.Nope"]}`))
	if status != 400 || !strings.Contains(string(body), "schemaNames") {
		t.Fatalf("an unknown type: %d %s", status, body)
	}
	// An old-style registration still needs its keys.
	status, body = e.raw("POST", "/notification", nil, []byte(`{"appID":"`+e.app+`","schemaName":"test.Item"}`))
	if status != 400 || !strings.Contains(string(body), "recordKeys is empty") {
		t.Fatalf("no keys: %d %s", status, body)
	}
}

// TestWatchWithRecords: the client's Watch hears records through the
// extension.
func TestWatchWithRecords(t *testing.T) {
	e := newEnv(t)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := e.c.Watch(wctx, e.app, "", nil, webaas.WithTypes("test.Item"), webaas.WithRecords())
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Kind != webaas.Connected {
		t.Fatalf("first event %v", ev.Kind)
	}
	if _, err := e.c.Batch(ctx, e.app, "", []webaas.BatchWrite{seqItem("hi")}); err != nil {
		t.Fatal(err)
	}
	ev := <-events
	if ev.Kind != webaas.Changed || len(ev.Records) != 1 || ev.Records[0].Key != "1" || !bytes.Equal(ev.Records[0].Record, item(1, "hi")) || ev.Commit == 0 || ev.Sequences["items"] != 1 {
		t.Fatalf("event %+v", ev)
	}
}

// TestTwoNodesPushRecords: a node pushes the records of commits made
// through another node, and two nodes batching into one sequence give
// one gap-free order.
func TestTwoNodesPushRecords(t *testing.T) {
	a, b := startPair(t, server.Config{}, false)
	ca, err := webaas.New(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := webaas.New(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	app, err := ca.RegisterApp(ctx, "nodes")
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.PutSchema(ctx, app, "1", "test.proto", []byte(testSchema)); err != nil {
		t.Fatal(err)
	}
	if err := ca.ActivateSchema(ctx, app, "1"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := cb.Watch(wctx, app, "", nil, webaas.WithTypes("test.Item"), webaas.WithRecords())
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-events; ev.Kind != webaas.Connected {
		t.Fatalf("first event %v", ev.Kind)
	}
	const each = 20
	errs := make(chan error, 2)
	for _, c := range []*webaas.Client{ca, cb} {
		go func() {
			for i := range each {
				if _, err := c.Batch(ctx, app, "", []webaas.BatchWrite{seqItem(fmt.Sprint(c.BaseURL(), " ", i))}); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	timeout := time.After(30 * time.Second)
	for len(keys) < 2*each {
		select {
		case ev := <-events:
			for _, r := range ev.Records {
				if r.Omitted || r.Record == nil {
					t.Fatalf("record %s came without its bytes: %+v", r.Key, r)
				}
				keys = append(keys, r.Key)
			}
		case <-timeout:
			t.Fatalf("heard %d of %d records", len(keys), 2*each)
		}
	}
	for i, k := range keys {
		if k != fmt.Sprint(i+1) {
			t.Fatalf("records heard in the order %v: want 1 to %d, each once", keys, 2*each)
		}
	}
}

// TestPlainServerOffersNoExtension: with Config.Plain the server answers
// as one that never had the extensions, for clients' fallbacks to be
// tested against.
func TestPlainServerOffersNoExtension(t *testing.T) {
	e := newEnv(t, func(c *server.Config) { c.Plain = true })
	info, err := e.c.Info(ctx)
	if err != nil || len(info.Extensions) != 0 {
		t.Fatalf("Info = %+v, %v; want none", info, err)
	}
	if _, err := e.c.Batch(ctx, e.app, "", []webaas.BatchWrite{seqItem("a")}); err == nil {
		t.Fatal("POST /batch answered")
	}
	if _, err := e.c.Sequence(ctx, e.app, "items"); err == nil {
		t.Fatal("GET /sequence answered")
	}
	status, body := e.raw("POST", "/notification", nil, []byte(`{"appID":"`+e.app+`","schemaNames":["test.Item"]}`))
	if status != 400 || !strings.Contains(string(body), "missing schemaName") {
		t.Fatalf("schemaNames alone: %d %s", status, body)
	}
	id, err := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	conn := e.listenRecords(id) // frames=records is not heard
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "x")); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn); strings.Join(m.RecordKeys, ",") != "1" {
		t.Fatalf("frame %v", m)
	}
}
