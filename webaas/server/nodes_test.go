package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
)

// These tests run two server nodes on one PostgreSQL schema, as behind a
// load balancer. Node B is made to lag: it listens on a channel nobody
// notifies and polls the change log hourly, so it reads node A's changes
// only when a commit of its own makes it read the log. That holds B, for
// as long as a test likes, where a real node is for the 20-500 ms its feed
// takes to deliver another node's change.

// pgURL returns the test database, or skips.
func pgURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("WEBAAS_TEST_POSTGRES")
	if u == "" {
		t.Skip("PostgreSQL tests are off: set WEBAAS_TEST_POSTGRES=postgres://user:pass@host/db; .ci/run does (scripts/pg-test-up.sh starts one)")
	}
	return u
}

// pgQuery runs one statement on its own connection and returns the
// count it selects; with count false, it only runs it.
func pgQuery(t *testing.T, db string, count bool, sql string, args ...any) int64 {
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

// node is one server on a pgstore, on loopback.
type node struct {
	URL   string
	Store *pgstore.Store
}

func startNode(t *testing.T, db string, opts pgstore.Options, cfg server.Config) *node {
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
	return &node{URL: "http://" + ln.Addr().String(), Store: st}
}

// twoNodes starts node A and the lagging node B on a fresh schema, which
// is dropped when the test ends.
func twoNodes(t *testing.T, cfg server.Config) (a, b *node) {
	t.Helper()
	db := pgURL(t)
	var r [6]byte
	rand.Read(r[:])
	schema := "srvnodes_" + hex.EncodeToString(r[:])
	t.Cleanup(func() { pgQuery(t, db, false, "DROP SCHEMA IF EXISTS "+schema+" CASCADE") })
	opts := pgstore.Options{Schema: schema, Channel: schema, StatementTimeout: 10 * time.Second}
	a = startNode(t, db, opts, cfg)
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
