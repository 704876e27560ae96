package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/wire"
)

// TestOpenTxnsPerClient: a client holding open transactions hits its own
// limit long before the server's, so other clients' sends go on.
func TestOpenTxnsPerClient(t *testing.T) {
	eachStore(t, func(t *testing.T, start func(...configure) *node, memTxns bool) {
		n := start(func(c *server.Config) {
			c.MaxOpenTxns = 8
			c.MaxOpenTxnsPerClient = 3
		})
		hoarder := n.client("127.0.0.2")
		for i := range 3 {
			if _, err := hoarder.Begin(ctx); err != nil {
				t.Fatalf("begin %d of the 3 a client may hold: %v", i, err)
			}
		}
		_, err := hoarder.Begin(ctx)
		wantLimit(t, err, wire.CodeLimit, "--max-open-txns-per-client")
		honest := n.client("127.0.0.3")
		for i := range 6 {
			if err := send(honest, n.app, i); err != nil {
				t.Fatalf("send %d of an honest client while another holds transactions: %v", i, err)
			}
		}
	})
}

// TestOpenTxnsGlobalLimit: the server-wide limit still holds when many
// clients each stay under their own.
func TestOpenTxnsGlobalLimit(t *testing.T) {
	n := onBolt(t, func(c *server.Config) {
		c.MaxOpenTxns = 5
		c.MaxOpenTxnsPerClient = 3
	})
	for _, ip := range []string{"127.0.0.2", "127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"} {
		if _, err := n.client(ip).Begin(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, err := n.client("127.0.0.4").Begin(ctx)
	wantLimit(t, err, wire.CodeLimit, "--max-open-txns")
}

// TestClientIPHeader: behind a proxy every connection comes from the
// proxy; a header the proxy sets names the client, but only when the
// server is told to trust it.
func TestClientIPHeader(t *testing.T) {
	begin := func(n *node, realIP string) error {
		req, _ := http.NewRequest("POST", n.url+"/transaction?action=begin", nil)
		req.Header.Set("X-Real-IP", realIP)
		resp, err := n.httpFrom("127.0.0.1").Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			var e webaas.Error
			json.Unmarshal(body, &e)
			e.Status = resp.StatusCode
			return &e
		}
		return nil
	}
	trusting := onBolt(t, func(c *server.Config) {
		c.MaxOpenTxnsPerClient = 2
		c.ClientIPHeader = "X-Real-IP"
	})
	for _, ip := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.2", "198.51.100.7, 203.0.113.2"} {
		if err := begin(trusting, ip); err != nil {
			t.Fatalf("begin as %s: %v", ip, err)
		}
	}
	// The last address of a list is the one the nearest proxy added.
	wantLimit(t, begin(trusting, "203.0.113.9, 203.0.113.1"), wire.CodeLimit, "--max-open-txns-per-client")

	ignoring := onBolt(t, func(c *server.Config) { c.MaxOpenTxnsPerClient = 2 })
	for _, ip := range []string{"203.0.113.1", "203.0.113.2"} {
		if err := begin(ignoring, ip); err != nil {
			t.Fatalf("begin as %s: %v", ip, err)
		}
	}
	wantLimit(t, begin(ignoring, "203.0.113.3"), wire.CodeLimit, "--max-open-txns-per-client")
}

// bigItem is a test.Item of about size bytes.
func bigItem(id int32, size int) []byte { return item(id, strings.Repeat("x", size)) }

// TestTxnBytesLimits: one transaction buffers at most --max-txn-bytes,
// and all open ones together at most --max-txn-bytes-total, given back
// when they end.
func TestTxnBytesLimits(t *testing.T) {
	eachStore(t, func(t *testing.T, start func(...configure) *node, memTxns bool) {
		n := start(func(c *server.Config) {
			c.MaxTxnBytes = 1 << 20
			c.MaxTxnBytesTotal = 3 << 19 // one and a half transactions' worth
		})
		c := n.client("127.0.0.1")
		tx, err := c.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		written := 0
		for ; written < 100; written++ {
			if err = tx.Put(ctx, n.app, "test.Item", bigItem(int32(written+1), 60000)); err != nil {
				break
			}
		}
		wantLimit(t, err, wire.CodeTooLarge, "--max-txn-bytes")
		if written < 15 || written > 17 {
			t.Fatalf("a transaction took %d writes of 60 kB under a limit of 1 MiB", written)
		}
		// At the limit, a record buffered already may still be replaced.
		if err := tx.Put(ctx, n.app, "test.Item", bigItem(1, 60000)); err != nil {
			t.Fatalf("replacing a buffered record at the limit: %v", err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(ctx, n.app, "test.Item", fmt.Sprint(written)); err != nil {
			t.Fatalf("last accepted write: %v", err)
		}
		if _, err := c.Get(ctx, n.app, "test.Item", fmt.Sprint(written+1)); !errors.Is(err, webaas.ErrNotFound) {
			t.Fatalf("the refused write: %v, want not found", err)
		}
		if !memTxns {
			return // the total bounds server memory; PostgreSQL keeps transactions itself
		}
		fill := func(tx *webaas.Txn, from int) (int, error) {
			i := 0
			for ; i < 100; i++ {
				if err := tx.Put(ctx, n.app, "test.Item", bigItem(int32(from+i), 60000)); err != nil {
					return i, err
				}
			}
			return i, nil
		}
		t1, _ := c.Begin(ctx)
		t2, _ := c.Begin(ctx)
		if _, err := fill(t1, 1000); err == nil {
			t.Fatal("a transaction took 100 writes of 60 kB")
		}
		got, err := fill(t2, 2000)
		wantLimit(t, err, wire.CodeTooLarge, "--max-txn-bytes-total")
		if got < 2 || got > 10 {
			t.Fatalf("the second transaction took %d writes before the total stopped it", got)
		}
		if err := t1.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if err := t2.Put(ctx, n.app, "test.Item", bigItem(3000, 60000)); err != nil {
			t.Fatalf("a write after another transaction gave its bytes back: %v", err)
		}
	})
}

// TestTxnReadLimit: one transaction reads at most --max-txn-reads
// distinct records; reading one again, or its own writes, is free.
func TestTxnReadLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, start func(...configure) *node, memTxns bool) {
		n := start(func(c *server.Config) { c.MaxTxnReads = 20 })
		tx, err := n.client("127.0.0.1").Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 20; i++ {
			if _, err := tx.Get(ctx, n.app, "test.Item", fmt.Sprint(i)); !errors.Is(err, webaas.ErrNotFound) {
				t.Fatalf("read %d of 20: %v", i, err)
			}
		}
		_, err = tx.Get(ctx, n.app, "test.Item", "21")
		wantLimit(t, err, wire.CodeLimit, "--max-txn-reads")
		if _, err := tx.Get(ctx, n.app, "test.Item", "7"); !errors.Is(err, webaas.ErrNotFound) {
			t.Fatalf("reading a record again at the limit: %v", err)
		}
		if err := tx.Put(ctx, n.app, "test.Item", item(50, "mine")); err != nil {
			t.Fatal(err)
		}
		if got, err := tx.Get(ctx, n.app, "test.Item", "50"); err != nil || !bytes.Equal(got, item(50, "mine")) {
			t.Fatalf("reading its own write at the limit: %x, %v", got, err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
