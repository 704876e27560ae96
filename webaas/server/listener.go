package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Running is the API served on a listener, with a graceful stop.
type Running struct {
	api     *Server
	http    *http.Server
	conns   connStates
	limiter *connLimiter
	done    chan error
	log     *slog.Logger
}

// Serve serves api on ln until Stop. Connections over api's limits
// (Config.MaxConns, MaxConnsPerClient) are closed as they come. On a
// loopback address it serves only requests a web page could not have
// sent (see localGuard); on any other, it allows every origin, so that
// browser clients work.
func Serve(ln net.Listener, api *Server) *Running {
	r := &Running{api: api, done: make(chan error, 1), log: api.log}
	perClient := api.cfg.MaxConnsPerClient
	if api.cfg.ClientIPHeader != "" {
		perClient = 0 // every connection comes from the proxy
	}
	r.limiter = newConnLimiter(ln, api.cfg.MaxConns, perClient, api.log)
	var handler http.Handler = api
	if onLoopback(ln.Addr()) {
		handler = newLocalGuard(api, api.cfg.AllowHosts)
	}
	r.http = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(api.log.Handler(), slog.LevelWarn),
		ConnState:         r.conns.track,
	}
	go func() {
		err := r.http.Serve(r.limiter)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	return r
}

// Done delivers the result of serving: nil after Stop, or why it failed.
func (r *Running) Done() <-chan error { return r.done }

// Stop stops gracefully: no new connections, websockets told "going
// away", in-flight requests finished within timeout (then cut). It does
// not close the store.
func (r *Running) Stop(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- r.http.Shutdown(ctx) }()
	r.api.Close()
	// A client may have opened a connection it never sent a request on
	// (Go's transport dials ahead); net/http waits 5 s before calling
	// such a connection idle. No request can be lost on it: close it now.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-shut:
			break wait
		case <-tick.C:
			r.conns.closeUnused()
		}
	}
	if err != nil {
		r.log.Warn("requests still running at shutdown; cutting them", "err", err)
		r.http.Close()
	}
	if serr := <-r.done; serr != nil {
		err = errors.Join(err, serr)
	}
	r.done <- nil // for later readers of Done
	return err
}

// connStates remembers the state of each open connection.
type connStates struct {
	mu sync.Mutex
	m  map[net.Conn]connState
}

type connState struct {
	state http.ConnState
	since time.Time
}

func (c *connStates) track(conn net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[net.Conn]connState{}
	}
	switch s {
	case http.StateHijacked, http.StateClosed:
		delete(c.m, conn)
	default:
		c.m[conn] = connState{s, time.Now()}
	}
}

// closeUnused closes connections that have carried no request for a
// moment (a request's first bytes may be just arriving on a newer one).
func (c *connStates) closeUnused() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for conn, s := range c.m {
		if s.state == http.StateNew && time.Since(s.since) > 200*time.Millisecond {
			conn.Close()
		}
	}
}
