package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
	"github.com/webaas-chat/webaas-chat/wire"
)

// These tests run two server nodes on one PostgreSQL schema, as behind a
// load balancer. Node B is made to lag: it listens on a channel nobody
// notifies and polls the change log hourly, so it reads node A's changes
// only when a commit of its own makes it read the log. That holds B, for
// as long as a test likes, where a real node is for the 20-500 ms its feed
// takes to deliver another node's change.

// pgURL returns the test database, or skips.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WEBAAS_TEST_POSTGRES")
	if u == "" {
		t.Skip("PostgreSQL tests are off: set WEBAAS_TEST_POSTGRES=postgres://user:pass@host/db; .ci/run does (scripts/pg-test-up.sh starts one)")
	}
	return u
}

// pgQuery runs one statement on its own connection and returns the
// count it selects; with count false, it only runs it.
func pgQuery(t testing.TB, db string, count bool, sql string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int64
	if count {
		err = conn.QueryRow(ctx, sql, args...).Scan(&n)
	} else {
		_, err = conn.Exec(ctx, sql, args...)
	}
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// pgNode is one server on a pgstore, on loopback.
type pgNode struct {
	URL   string
	Store *pgstore.Store
}

func startNode(t testing.TB, db string, opts pgstore.Options, cfg server.Config) *pgNode {
	t.Helper()
	st, err := pgstore.Open(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	run := server.Serve(ln, server.New(st, cfg))
	t.Cleanup(func() {
		if err := run.Stop(10 * time.Second); err != nil {
			t.Errorf("stop: %v", err)
		}
		st.Close()
	})
	return &pgNode{URL: "http://" + ln.Addr().String(), Store: st}
}

// twoNodes starts node A and the lagging node B on a fresh schema, which
// is dropped when the test ends.
func twoNodes(t testing.TB, cfg server.Config) (a, b *pgNode) {
	t.Helper()
	return startPair(t, cfg, true)
}

// startPair starts two nodes on a fresh schema; with lag, the second is
// held behind as described above.
func startPair(t testing.TB, cfg server.Config, lag bool) (a, b *pgNode) {
	t.Helper()
	db := pgURL(t)
	var r [6]byte
	rand.Read(r[:])
	schema := "srvnodes_" + hex.EncodeToString(r[:])
	t.Cleanup(func() { pgQuery(t, db, false, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	opts := pgstore.Options{Schema: schema, Channel: schema, StatementTimeout: 10 * time.Second}
	a = startNode(t, db, opts, cfg)
	if !lag {
		return a, startNode(t, db, opts, cfg)
	}
	lagging := opts
	lagging.Channel = schema + "_nobody"
	lagging.PollInterval = time.Hour
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", schema+"-b")
	u.RawQuery = q.Encode()
	b = startNode(t, u.String(), lagging, cfg)
	// B reads the log once its LISTEN connection is up; wait for that, so
	// the read cannot come later and deliver what the test holds back.
	deadline := time.Now().Add(30 * time.Second)
	for pgQuery(t, db, true, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle' AND query LIKE 'LISTEN%'`, schema+"-b listen") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("node B never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return a, b
}

// roundRobin is a reverse proxy that sends request i to backend i mod n,
// each on a new connection, as a plain round-robin balancer does.
func roundRobin(t *testing.T, backends ...*pgNode) string {
	t.Helper()
	var next atomic.Uint64
	targets := make([]*url.URL, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = u
	}
	tr := &http.Transport{DisableKeepAlives: true}
	lb := httptest.NewServer(&httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))]) },
		Transport: tr,
	})
	t.Cleanup(lb.Close)
	return lb.URL
}

// oldClient calls the API the way the original service's clients did:
// raw requests, a new connection for each.
type oldClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newOldClient(t *testing.T, base string) *oldClient {
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &oldClient{t: t, base: base, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *oldClient) do(method, path string, q url.Values, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// ok makes a call that must succeed, and returns its JSON answer; it
// reports a failure and goes on, so that one test shows every step that
// fails.
func (c *oldClient) ok(step, method, path string, q url.Values, body []byte) map[string]string {
	c.t.Helper()
	status, data := c.do(method, path, q, body)
	var answer map[string]string
	if status != http.StatusOK || json.Unmarshal(data, &answer) != nil {
		c.t.Errorf("%s: %s %s answered %d %s", step, method, path, status, data)
	}
	return answer
}

func (c *oldClient) wantRecord(step string, q url.Values, want []byte) {
	c.t.Helper()
	if status, data := c.do("GET", "/query", q, nil); status != http.StatusOK || !bytes.Equal(data, want) {
		c.t.Errorf("%s: GET /query answered %d %q, want 200 %q", step, status, data, want)
	}
}

const badgeSchema = `syntax = "proto3";
package test;
import "record_metadata_options.proto";
message Badge {
  string name = 1 [(webaas.db.record.field).primary_key = true];
  int64 count = 2;
}
`

const medalSchema = `syntax = "proto3";
package test;
import "record_metadata_options.proto";
message Medal {
  string name = 1 [(webaas.db.record.field).primary_key = true];
  int64 count = 2;
}
`

// TestTwoNodesReadYourSchema: an old client behind a round-robin balancer
// uploads and activates a schema and writes at once, each call on
// whichever node the balancer picks. A node that has not yet heard of the
// activation must not refuse the write (it answered 1003 "no active
// schema" until its feed caught up, and the client lost the write).
func TestTwoNodesReadYourSchema(t *testing.T) {
	a, b := twoNodes(t, server.Config{})
	c := newOldClient(t, roundRobin(t, a, b)) // calls alternate: A, B, A, B...
	app := c.ok("1 (A) register", "POST", "/app", url.Values{"appName": {"old"}}, nil)["appID"]
	if app == "" {
		t.FailNow()
	}
	schema := func(version, file string) url.Values {
		return url.Values{"appID": {app}, "version": {version}, "fileName": {file}}
	}
	typ := func(name string) url.Values { return url.Values{"appID": {app}, "schemaName": {name}} }
	key := func(name, k string) url.Values {
		return url.Values{"appID": {app}, "schemaName": {name}, "recordKey": {k}}
	}

	// B loads the app while it has no schema, and keeps that in memory.
	c.ok("2 (B) upload", "PUT", "/schema", schema("1", "test.proto"), []byte(testSchema))
	c.ok("3 (A) activate", "POST", "/schema", url.Values{"appID": {app}, "version": {"1"}}, nil)
	c.ok("4 (B) write right after activating", "POST", "/record", typ("test.Tag"), tag("t1", 1))
	c.wantRecord("5 (A) read back", key("test.Tag", "t1"), tag("t1", 1))
	c.wantRecord("6 (B) read back", key("test.Tag", "t1"), tag("t1", 1))

	// A second version, with a type the first lacks: B still serves
	// version 1 when it is asked to watch the new type.
	c.ok("7 (A) upload v2", "PUT", "/schema", schema("2", "test.proto"), []byte(testSchema))
	c.ok("8 (B) upload v2", "PUT", "/schema", schema("2", "badge.proto"), []byte(badgeSchema))
	c.ok("9 (A) activate v2", "POST", "/schema", url.Values{"appID": {app}, "version": {"2"}}, nil)
	c.ok("10 (B) watch a type of v2", "POST", "/notification", nil,
		[]byte(`{"appID":"`+app+`","schemaName":"test.Badge","recordKeys":["b1"]}`))

	// A file added to the active version, on A: no activation at all,
	// and B's copy of version 2 lacks the new type.
	c.ok("11 (A) add a file to the active version", "PUT", "/schema", schema("2", "medal.proto"), []byte(medalSchema))
	c.ok("12 (B) write the new type", "POST", "/record", typ("test.Medal"), tag("m1", 1))
	c.wantRecord("13 (A) read back", key("test.Medal", "m1"), tag("m1", 1))

	// A type that is in no version is still refused, after B looked.
	status, data := c.do("POST", "/record", typ("test.Nothing"), tag("x", 1))
	var e struct{ Code wire.Code }
	if json.Unmarshal(data, &e); status != http.StatusBadRequest || e.Code != wire.CodeUnknownSchema {
		t.Errorf("14 (B) write of an unknown type: %d %s, want 400 code %d", status, data, wire.CodeUnknownSchema)
	}
}

// TestTwoNodesSocketAfterCommit: a socket registered on B right after a
// commit on A must not hear of that commit when B's feed delivers it
// late, but must hear of the next one. (B pushed the older change to the
// socket opened after it.) Many earlier commits and a one-frame queue
// make B push most of them while the queue is full, into the backlog.
func TestTwoNodesSocketAfterCommit(t *testing.T) {
	a, b := twoNodes(t, server.Config{WSQueue: 1})
	ca, err := webaas.New(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := webaas.New(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	app, err := ca.RegisterApp(ctx, "sockets")
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.PutSchema(ctx, app, "1", "test.proto", []byte(testSchema)); err != nil {
		t.Fatal(err)
	}
	if err := ca.ActivateSchema(ctx, app, "1"); err != nil {
		t.Fatal(err)
	}
	var old []string
	for i := range 40 {
		old = append(old, "old-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	id, err := ca.RegisterNotification(ctx, app, "test.Tag", append(slices.Clone(old), "new"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range old {
		if err := ca.Put(ctx, app, "test.Tag", tag(k, 1)); err != nil {
			t.Fatal(err)
		}
	}

	u := strings.Replace(b.URL, "http", "ws", 1) + "/notification?appID=" + app + "&notificationID=" + id
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	// B's own commit makes it read the log: A's commits, then this one.
	if err := cb.Put(ctx, app, "test.Tag", tag("new", 1)); err != nil {
		t.Fatal(err)
	}
	if m := readFrame(t, conn); !slices.Equal(m.RecordKeys, []string{"new"}) {
		t.Fatalf("the first frame on a socket opened after %d commits names %q, want only the commit made after it opened", len(old), m.RecordKeys)
	}
}

// BenchmarkCrossNodeFrame measures how late a write through node A
// reaches a socket on node B, on a freshly created schema (before
// autovacuum has analyzed it): each op is one POST /record on A and the
// wait for B's frame.
//
//	go test -run '^$' -bench CrossNodeFrame -benchtime 50x ./webaas/server/
func BenchmarkCrossNodeFrame(b *testing.B) {
	na, nb := startPair(b, server.Config{}, false)
	ca, err := webaas.New(na.URL)
	if err != nil {
		b.Fatal(err)
	}
	app, err := ca.RegisterApp(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := ca.PutSchema(ctx, app, "1", "test.proto", []byte(testSchema)); err != nil {
		b.Fatal(err)
	}
	if err := ca.ActivateSchema(ctx, app, "1"); err != nil {
		b.Fatal(err)
	}
	id, err := ca.RegisterNotification(ctx, app, "test.Tag", []string{"k"})
	if err != nil {
		b.Fatal(err)
	}
	u := strings.Replace(nb.URL, "http", "ws", 1) + "/notification?appID=" + app + "&notificationID=" + id
	conn, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := ca.Put(ctx, app, "test.Tag", tag("k", int64(i))); err != nil {
			b.Fatal(err)
		}
		if _, _, err := conn.Read(ctx); err != nil {
			b.Fatal(err)
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
