// Package servertest runs a real WeBaaS server for tests: real HTTP on a
// loopback port, real websockets, a real bbolt file in a temporary
// directory. Restart stops it and opens the same data dir again on the
// same port, as a crashed-and-restarted server would be.
package servertest

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/boltstore"
)

// Server is a running test server.
type Server struct {
	t     testing.TB
	cfg   server.Config
	dir   string
	addr  string
	Store store.Store
	API   *server.Server
	run   *server.Running
}

// Option adjusts the server's config.
type Option func(*server.Config)

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := server.DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{t: t, cfg: cfg, dir: t.TempDir()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.start(ln)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) start(ln net.Listener) {
	s.t.Helper()
	st, err := boltstore.Open(filepath.Join(s.dir, "webaas.db"), boltstore.Options{LockTimeout: 5 * time.Second})
	if err != nil {
		s.t.Fatal(err)
	}
	s.Store = st
	s.API = server.New(st, s.cfg)
	s.run = server.Serve(ln, s.API)
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.addr }

// Dir is the data directory.
func (s *Server) Dir() string { return s.dir }

// Stop shuts the server down gracefully; stopping twice is fine.
func (s *Server) Stop() {
	if s.run == nil {
		return
	}
	if err := s.run.Stop(10 * time.Second); err != nil {
		s.t.Errorf("stop: %v", err)
	}
	if err := s.Store.Close(); err != nil {
		s.t.Errorf("close store: %v", err)
	}
	s.run = nil
}

// Restart stops the server and starts it again on the same data dir and
// port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger a moment
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.start(ln)
}
