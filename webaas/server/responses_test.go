package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/wire"
)

// fillPage stores records 1..count of about size bytes each, in as few
// transactions as the limits allow, and returns the range page that
// holds them all, as the server must frame it.
func (n *node) fillPage(count, size int) []byte {
	n.t.Helper()
	hc := n.httpFrom("127.0.0.1")
	defer hc.CloseIdleConnections()
	c, err := webaas.New(n.url, webaas.WithHTTPClient(hc))
	if err != nil {
		n.t.Fatal(err)
	}
	page := []byte{0}
	for id := 1; id <= count; {
		tx, err := c.Begin(ctx)
		if err != nil {
			n.t.Fatal(err)
		}
		for end := min(id+10, count+1); id < end; id++ {
			rec := bigItem(int32(id), size)
			if err := tx.Put(ctx, n.app, "test.Item", rec); err != nil {
				n.t.Fatal(err)
			}
			page = binary.BigEndian.AppendUint16(page, uint16(len(rec)))
			page = append(page, rec...)
		}
		if err := tx.Commit(ctx); err != nil {
			n.t.Fatal(err)
		}
	}
	return page
}

func (n *node) rangePath(end int) string {
	return "/query?" + url.Values{"appID": {n.app}, "schemaName": {"test.Item"}, "range": {"True"},
		"beginKey": {"0"}, "endKey": {fmt.Sprint(end)}, "iteration": {"1"}}.Encode()
}

// slowReader asks for path on a connection that then reads nothing, its
// receive buffer as small as the system allows, so the server's writes
// back up.
func (n *node) slowReader(path string) net.Conn {
	n.t.Helper()
	conn := n.dialFrom("127.0.0.9")
	if err := conn.(*net.TCPConn).SetReadBuffer(1); err != nil {
		n.t.Fatal(err)
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, n.addr)
	return conn
}

// get fetches path and returns the status and body.
func (n *node) get(path string) (int, []byte) {
	n.t.Helper()
	resp, err := n.httpFrom("127.0.0.1").Get(n.url + path)
	if err != nil {
		n.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		n.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestWriteTimeoutCutsSlowReader: a client that asks for a large page and
// does not read it is cut off after --write-timeout, and what the server
// held for it is freed.
func TestWriteTimeoutCutsSlowReader(t *testing.T) {
	n := onBolt(t, func(c *server.Config) {
		c.PageSize = 150
		c.WriteTimeout = 300 * time.Millisecond
	})
	n.fillPage(150, 60000) // 9 MB: more than the socket buffers take
	n.slowReader(n.rangePath(1000))
	waitFor(t, "the server writes the page", func() bool { return server.ResponseBytesInFlight(n.api) > 0 })
	waitFor(t, "the server gives up on the slow reader", func() bool { return server.ResponseBytesInFlight(n.api) == 0 })
	waitFor(t, "the server closes the slow reader's connection", func() bool { return server.OpenConns(n.run) == 0 })
}

// TestResponseBudget: large responses in flight share a budget; one that
// does not fit waits for it, holding nothing, and gets 503 "server busy"
// if it does not come in time. Small responses never wait.
func TestResponseBudget(t *testing.T) {
	const count, size = 150, 60000
	limits := func(wait time.Duration) configure {
		return func(c *server.Config) {
			c.PageSize = count
			c.MaxResponseBytesInFlight = 12 << 20 // room for one page
			c.BusyWait = wait
		}
	}
	t.Run("busy", func(t *testing.T) {
		n := onBolt(t, limits(200*time.Millisecond))
		page := n.fillPage(count, size)
		slow := n.slowReader(n.rangePath(1000))
		waitFor(t, "the slow reader takes the budget", func() bool { return server.ResponseBytesInFlight(n.api) == int64(len(page)) })
		status, body := n.get(n.rangePath(1000))
		var e webaas.Error
		if err := json.Unmarshal(body, &e); status != http.StatusServiceUnavailable || err != nil || e.Code != wire.CodeUnavailable || !strings.Contains(e.Message, "--max-response-bytes-in-flight") {
			t.Fatalf("a large page with the budget taken: HTTP %d %.200q; want 503, code 1013 naming the limit", status, body)
		}
		if status, body := n.get(n.rangePath(3)); status != http.StatusOK || !bytes.Equal(body, append([]byte{0}, page[1:2*(2+len(bigItem(1, size)))+1]...)) {
			t.Fatalf("a small page with the budget taken: HTTP %d, %d bytes", status, len(body))
		}
		slow.Close()
		waitFor(t, "the budget comes back", func() bool { return server.ResponseBytesInFlight(n.api) == 0 })
		if status, body := n.get(n.rangePath(1000)); status != http.StatusOK || !bytes.Equal(body, page) {
			t.Fatalf("the large page once the budget is back: HTTP %d, %d bytes, want the page of %d", status, len(body), len(page))
		}
	})
	t.Run("waits", func(t *testing.T) {
		n := onBolt(t, limits(waitLimit))
		page := n.fillPage(count, size)
		slow := n.slowReader(n.rangePath(1000))
		waitFor(t, "the slow reader takes the budget", func() bool { return server.ResponseBytesInFlight(n.api) == int64(len(page)) })
		type answer struct {
			status int
			body   []byte
		}
		got := make(chan answer, 1)
		go func() {
			resp, err := n.httpFrom("127.0.0.1").Get(n.url + n.rangePath(1000))
			if err != nil {
				got <- answer{}
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			got <- answer{resp.StatusCode, body}
		}()
		waitFor(t, "the second page waits for the budget", func() bool { return server.ResponseWaiters(n.api) == 1 })
		slow.Close()
		if a := <-got; a.status != http.StatusOK || !bytes.Equal(a.body, page) {
			t.Fatalf("the page that waited: HTTP %d, %d bytes, want the page of %d", a.status, len(a.body), len(page))
		}
	})
}

// TestReadTimeoutCutsSlowBody: a request whose body does not arrive within
// --read-timeout gets an answer and its connection is closed.
func TestReadTimeoutCutsSlowBody(t *testing.T) {
	n := onBolt(t, func(c *server.Config) { c.ReadTimeout = 300 * time.Millisecond })
	conn := n.dialFrom("127.0.0.2")
	fmt.Fprintf(conn, "POST /record?appID=%s&schemaName=test.Item HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n\x08", n.app, n.addr)
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a body that stopped coming: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e webaas.Error
	if json.Unmarshal(body, &e); resp.StatusCode != http.StatusBadRequest || e.Code != wire.CodeBadParameter || !strings.Contains(e.Message, "--read-timeout") {
		t.Fatalf("answer to a body that stopped coming: HTTP %d %q; want 400 code 1011 naming --read-timeout", resp.StatusCode, body)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("the connection stayed open after a body timed out")
	}
}

// TestWebsocketOutlivesTimeouts: the read and write timeouts are per
// request, so a websocket, even one upgraded on a connection that served
// a request before, lives as long as it is used.
func TestWebsocketOutlivesTimeouts(t *testing.T) {
	n := onBolt(t, func(c *server.Config) {
		c.ReadTimeout = 150 * time.Millisecond
		c.WriteTimeout = 150 * time.Millisecond
		c.PingInterval = 30 * time.Millisecond
	})
	// A first request on the connection, with a body: it sets both
	// deadlines.
	conn := n.dialFrom("127.0.0.1")
	reg := fmt.Sprintf(`{"appID":%q,"schemaName":"test.Item","recordKeys":["1"]}`, n.app)
	fmt.Fprintf(conn, "POST /notification HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n%s", n.addr, len(reg), reg)
	conn.SetReadDeadline(time.Now().Add(waitLimit))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ NotificationID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("register: HTTP %d, %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	conn.SetReadDeadline(time.Time{})
	// The upgrade on the same connection.
	used := false
	tr := &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		if used {
			return nil, errors.New("a second dial: the test wants the first connection reused")
		}
		used = true
		return conn, nil
	}}
	pings := make(chan struct{}, 100)
	ws, _, err := websocket.Dial(ctx, "ws://"+n.addr+"/notification?appID="+n.app+"&notificationID="+out.NotificationID, &websocket.DialOptions{
		HTTPClient: &http.Client{Transport: tr},
		OnPingReceived: func(context.Context, []byte) bool {
			select {
			case pings <- struct{}{}:
			default:
			}
			return true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	frames := make(chan error, 1)
	go func() {
		_, _, err := ws.Read(ctx)
		frames <- err
	}()
	// Ten pings answered: well past both timeouts.
	for range 10 {
		select {
		case <-pings:
		case err := <-frames:
			t.Fatalf("the websocket ended while idle: %v", err)
		case <-time.After(waitLimit):
			t.Fatal("no ping")
		}
	}
	if err := n.client("127.0.0.1").Put(ctx, n.app, "test.Item", item(1, "after the timeouts")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-frames:
		if err != nil {
			t.Fatalf("the websocket, idle longer than the timeouts: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("no frame")
	}
}
