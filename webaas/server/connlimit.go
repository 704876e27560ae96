package server

import (
	"log/slog"
	"net"
	"sync"
)

// connLimiter is a listener that closes, at once, connections over the
// limits on open connections in all and per client address, so that one
// client cannot take every file descriptor. It never blocks Accept: the
// backlog keeps draining while the server is full.
type connLimiter struct {
	net.Listener
	max       int
	perClient int // < 1: no per-client limit
	log       *slog.Logger

	mu       sync.Mutex
	open     int
	byClient map[string]int
}

func newConnLimiter(ln net.Listener, max, perClient int, log *slog.Logger) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perClient: perClient, log: log, byClient: map[string]int{}}
}

// Accept returns the next connection within the limits.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := connClient(c.RemoteAddr())
		if l.admit(client) {
			return &limitedConn{Conn: c, l: l, client: client}, nil
		}
		l.log.Debug("connection refused: over the connection limits", "remote", c.RemoteAddr().String(), "max_conns", l.max, "max_conns_per_client", l.perClient)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset: nothing of it lingers here
		}
		c.Close()
	}
}

func connClient(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return clientKey(ta.AddrPort().Addr())
	}
	return a.String()
}

func (l *connLimiter) admit(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.max || l.perClient > 0 && l.byClient[client] >= l.perClient {
		return false
	}
	l.open++
	l.byClient[client]++
	return true
}

func (l *connLimiter) release(client string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byClient[client]--; l.byClient[client] <= 0 {
		delete(l.byClient, client)
	}
}

// count reports how many connections are open.
func (l *connLimiter) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// limitedConn gives its place back when closed, whoever closes it: the
// HTTP server, or the websocket that took it over.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	client string
	once   sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.client) })
	return err
}

// CloseWrite lets net/http half-close the connection, as it does on a
// bare TCP connection, before it closes one whose request it did not read.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
