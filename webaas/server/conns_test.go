package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server"
)

// requestOn sends a request on conn and reports whether an HTTP answer
// came back; a connection the server refused ends (EOF or reset) without
// one.
func requestOn(t *testing.T, conn net.Conn, host string) bool {
	t.Helper()
	conn.SetDeadline(time.Now().Add(waitLimit))
	defer conn.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(conn, "GET /query HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("neither an answer nor the end of the connection within %v", waitLimit)
	}
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return true
}

// TestConnLimits: connections over the per-client or the global limit are
// closed at once, without an answer, and the others are served.
func TestConnLimits(t *testing.T) {
	n := onBolt(t, func(c *server.Config) {
		c.MaxConnsPerClient = 2
		c.MaxConns = 5
	})
	waitFor(t, "the set-up's connections close", func() bool { return server.OpenConns(n.run) == 0 })
	open := func(ip string) net.Conn {
		t.Helper()
		conn := n.dialFrom(ip)
		if !requestOn(t, conn, n.addr) {
			t.Fatalf("a connection from %s under the limits was refused", ip)
		}
		return conn
	}
	refused := func(ip, why string) {
		t.Helper()
		conn, err := n.tryDial(ip)
		if err != nil {
			return // reset before the dial returned
		}
		if requestOn(t, conn, n.addr) {
			t.Fatalf("a connection from %s over %s was served", ip, why)
		}
	}
	a1 := open("127.0.0.2")
	open("127.0.0.2")
	refused("127.0.0.2", "the per-client limit")
	open("127.0.0.3")
	open("127.0.0.3")
	open("127.0.0.4")
	refused("127.0.0.5", "the global limit")
	a1.Close()
	waitFor(t, "a closed connection gives its place back", func() bool { return server.OpenConns(n.run) == 4 })
	open("127.0.0.5")
}
