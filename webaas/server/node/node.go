// Package node runs one WeBaaS server node: a store, the API over it and
// an HTTP listener, started together and stopped in order (listener and
// in-flight requests first, then the store). The serve command and the
// chat's embedded server both run one.
package node

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/boltstore"
)

// Node is a running server.
type Node struct {
	Store store.Store
	API   *server.Server
	run   *server.Running
	addr  string
	log   *slog.Logger
}

// Start serves st on an already bound listener (binding first means a
// second process fails fast on the port instead of waiting for the data
// file's lock). The node owns st from now on: Stop closes it.
func Start(ln net.Listener, st store.Store, cfg server.Config, log *slog.Logger) *Node {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = log
	api := server.New(st, cfg)
	n := &Node{Store: st, API: api, run: server.Serve(ln, api), addr: ln.Addr().String(), log: log}
	log.Info("serving WeBaaS", "listen", n.addr, "store", st.ID())
	return n
}

// Addr is the address the node listens on.
func (n *Node) Addr() string { return n.addr }

// Done delivers why serving stopped, if it fails on its own.
func (n *Node) Done() <-chan error { return n.run.Done() }

// Stop shuts down gracefully (no new connections, websockets told "going
// away", in-flight requests finished within timeout), then flushes and
// closes the store.
func (n *Node) Stop(timeout time.Duration) error {
	err := n.run.Stop(timeout)
	if cerr := n.Store.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
	}
	n.log.Info("server stopped", "listen", n.addr)
	return err
}

// DataFile is the embedded store's file in a data directory.
func DataFile(dataDir string) string { return filepath.Join(dataDir, "webaas.db") }

// OpenBolt opens (creating if needed) the embedded store in dataDir,
// waiting up to lockTimeout for another process to release it.
func OpenBolt(dataDir string, lockTimeout time.Duration) (*boltstore.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return boltstore.Open(DataFile(dataDir), boltstore.Options{LockTimeout: lockTimeout})
}
