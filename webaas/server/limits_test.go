package server_test

// Helpers for the tests of what one client may cost the server
// (txnlimits_test, responses_test, conns_test, localguard_test): each plays
// an attacker and an honest client, from different loopback addresses
// (127.0.0.0/8 is all loopback on Linux), over real HTTP on a real
// listener and a real store.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/boltstore"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
	"github.com/webaas-chat/webaas-chat/wire"
)

// waitLimit only keeps a broken server from hanging a test.
const waitLimit = 10 * time.Second

// node is a server on a real loopback listener, with an app on testSchema
// registered by a client from 127.0.0.1.
type node struct {
	t    *testing.T
	url  string
	addr string
	api  *server.Server
	run  *server.Running
	app  string
}

type configure func(*server.Config)

// startOn serves st on ln with the default config changed by opts.
func startOn(t *testing.T, st store.Store, ln net.Listener, opts ...configure) *node {
	t.Helper()
	cfg := server.DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	addr := ln.Addr().String()
	if d, ok := ln.(interface{ dialAddr() string }); ok { // it says another
		addr = d.dialAddr()
	}
	n := &node{t: t, addr: addr, url: "http://" + addr}
	n.api = server.New(st, cfg)
	n.run = server.Serve(ln, n.api)
	t.Cleanup(func() {
		if err := n.run.Stop(10 * time.Second); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	hc := n.httpFrom("127.0.0.1")
	defer hc.CloseIdleConnections() // so that tests counting connections start from none
	c, err := webaas.New(n.url, webaas.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.RegisterApp(ctx, "limits")
	if err == nil {
		err = c.PutSchema(ctx, id, "1", "test.proto", []byte(testSchema))
	}
	if err == nil {
		err = c.ActivateSchema(ctx, id, "1")
	}
	if err != nil {
		t.Fatal(err)
	}
	n.app = id
	return n
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// onBolt starts a node on a bbolt store in a temporary directory.
func onBolt(t *testing.T, opts ...configure) *node {
	t.Helper()
	return startOn(t, openBolt(t), loopbackListener(t), opts...)
}

func openBolt(t *testing.T) store.Store {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "webaas.db"), boltstore.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the node's Stop: cleanups run last first
	return st
}

// openPostgres opens a PostgreSQL store on a schema of its own, dropped
// when the test ends, or skips without WEBAAS_TEST_POSTGRES.
func openPostgres(t *testing.T) store.Store {
	t.Helper()
	dsn := os.Getenv("WEBAAS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("PostgreSQL tests are off: set WEBAAS_TEST_POSTGRES=postgres://user:pass@host/db")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "webaas_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(cctx, dsn)
		if err != nil {
			t.Errorf("drop schema: %v", err)
			return
		}
		defer conn.Close(cctx)
		if _, err := conn.Exec(cctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
	})
	st, err := pgstore.Open(ctx, dsn, pgstore.Options{Schema: schema, Channel: schema, StatementTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eachStore runs fn on the embedded store, whose transactions live in the
// server's memory, and on PostgreSQL, which keeps them itself.
// memTxns tells fn which: true when the server holds the transactions.
func eachStore(t *testing.T, fn func(t *testing.T, start func(opts ...configure) *node, memTxns bool)) {
	t.Run("bolt", func(t *testing.T) {
		fn(t, func(opts ...configure) *node { return onBolt(t, opts...) }, true)
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, func(opts ...configure) *node { return startOn(t, openPostgres(t), loopbackListener(t), opts...) }, false)
	})
}

// dialFrom dials the node from the loopback address ip.
func (n *node) dialFrom(ip string) net.Conn {
	n.t.Helper()
	conn, err := n.tryDial(ip)
	if err != nil {
		n.t.Fatal(err)
	}
	return conn
}

func (n *node) tryDial(ip string) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: waitLimit}
	conn, err := d.Dial("tcp", n.addr)
	if err == nil {
		n.t.Cleanup(func() { conn.Close() })
	}
	return conn, err
}

// httpFrom returns an HTTP client whose connections come from ip.
func (n *node) httpFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: waitLimit}
	tr := &http.Transport{DialContext: d.DialContext}
	n.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: waitLimit}
}

// client returns an API client whose connections come from ip.
func (n *node) client(ip string) *webaas.Client {
	c, err := webaas.New(n.url, webaas.WithHTTPClient(n.httpFrom(ip)))
	if err != nil {
		n.t.Fatal(err)
	}
	return c
}

// wantLimit checks that err is a 400 with code and a message naming flag.
func wantLimit(t *testing.T, err error, code wire.Code, flag string) {
	t.Helper()
	wantCode(t, err, code)
	var e *webaas.Error
	errors.As(err, &e)
	if !strings.Contains(e.Message, flag) {
		t.Fatalf("message %q does not name the limit %s", e.Message, flag)
	}
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// send is a chat-like send: read a counter, write a message, commit.
func send(c *webaas.Client, app string, i int) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.Get(ctx, app, "test.Tag", "head"); err != nil && !errors.Is(err, webaas.ErrNotFound) {
		return err
	}
	if err := tx.Put(ctx, app, "test.Item", item(int32(i), "hello")); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
