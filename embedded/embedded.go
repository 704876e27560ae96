// Package embedded is the chat's built-in server. Chats on one machine
// meet on one address (127.0.0.1:11232 by default): the first one that
// finds nobody answering there hosts a server in its own process, with
// its own data directory, and the others join it. When the hosting chat
// quits, another running chat takes over, so the room lives on without a
// daemon that outlives the last chat window.
//
// A chat takes over only a store it can serve: the data the departed
// host served, which it knows by the store id the server announced
// (GET /info). Two people on one machine have separate data directories;
// if the host leaves, the other's chat must not answer for the room with
// an empty store of its own. It says the host left and keeps checking,
// and when the host (or anyone on the same data directory) is back,
// everyone resumes.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/node"
)

// DefaultAddr is where chats on one machine meet: the original WeBaaS
// port, on loopback.
const DefaultAddr = "127.0.0.1:11232"

// State is where the room's server is, seen from this process.
type State int

const (
	// Joined: another process hosts the server this process uses.
	Joined State = iota + 1
	// Hosting: this process hosts it.
	Hosting
	// HostLeft: nobody serves the store this process was using; it is
	// waiting for its host (or anyone with the same data) to come back.
	HostLeft
)

func (s State) String() string {
	switch s {
	case Joined:
		return "joined"
	case Hosting:
		return "hosting"
	case HostLeft:
		return "host left"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Options configure Start.
type Options struct {
	// Addr is where chats meet (default DefaultAddr).
	Addr string
	// DataDir is this process's data directory, used if it hosts.
	DataDir string
	// Supervise keeps checking after Start, taking over when the host
	// leaves. Without it, Start hosts only if nobody answers now (for
	// short-lived commands).
	Supervise bool
	// CheckEvery is how often a supervising host checks (default 1 s).
	CheckEvery time.Duration
	// LockTimeout bounds the wait for a departing host to release the
	// data file on a takeover (default 10 s).
	LockTimeout time.Duration
	// Listener, if set, is already bound to Addr, so nobody else answers
	// there: Start hosts on it at once (tests pass one on a free port).
	Listener net.Listener
	// Config is the hosted server's configuration.
	Config server.Config
	Logger *slog.Logger
}

// Host is this process's part in the embedded server.
type Host struct {
	o    Options
	log  *slog.Logger
	http *http.Client

	mu      sync.Mutex
	state   State
	changed chan struct{} // closed (and replaced) when state changes
	store   string        // the id of the store the room lives in, once known
	node    *node.Node

	stopSupervisor context.CancelFunc
	done           chan struct{}
}

// ErrOtherStore: this process's data is not the store it was using.
var ErrOtherStore = errors.New("this data directory holds another store than the room's")

// Start joins the server answering on the address, or hosts one if
// nobody answers.
func Start(ctx context.Context, o Options) (*Host, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = time.Second
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Host{o: o, log: o.Logger, http: &http.Client{Timeout: time.Second}, changed: make(chan struct{})}
	var err error
	if o.Listener != nil {
		if err = h.host(""); err == nil {
			h.set(Hosting)
		}
		h.o.Listener = nil // used once
	} else {
		err = h.check(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded server: %w", err)
	}
	if o.Supervise {
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		h.stopSupervisor, h.done = cancel, make(chan struct{})
		go h.supervise(sctx)
	}
	return h, nil
}

// URL is the server's base URL.
func (h *Host) URL() string { return "http://" + h.o.Addr }

// State reports where the room's server is now.
func (h *Host) State() State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.state
}

// Store is the id of the store this process uses ("" if the server it
// joined does not say).
func (h *Host) Store() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.store
}

// Wait blocks until the state is want, or ctx ends.
func (h *Host) Wait(ctx context.Context, want State) error {
	for {
		h.mu.Lock()
		state, changed := h.state, h.changed
		h.mu.Unlock()
		if state == want {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("embedded server is %s, not %s: %w", state, want, ctx.Err())
		}
	}
}

func (h *Host) set(s State) {
	h.mu.Lock()
	old := h.state
	if old != s {
		h.state = s
		close(h.changed)
		h.changed = make(chan struct{})
	}
	h.mu.Unlock()
	if old != s {
		h.log.Info("embedded server", "state", s.String(), "addr", h.o.Addr, "store", h.Store())
	}
}

// check looks at who answers on the address and acts: join a server of
// the room's store, host it if nobody answers and this process can, or
// wait.
func (h *Host) check(ctx context.Context) error {
	h.mu.Lock()
	state, known := h.state, h.store
	h.mu.Unlock()
	if state == Hosting {
		return nil
	}
	first := state == 0
	if info, answered := h.probe(ctx); answered {
		if first || info.Store == known {
			h.join(info.Store)
		} else {
			// Someone serves another store on the address: the room's
			// host is gone, and whoever took the port cannot serve it.
			h.set(HostLeft)
		}
		return nil
	}
	if !first && known == "" {
		// The server this process joined did not say which store it
		// served, so no data here can be known to be it.
		h.set(HostLeft)
		return nil
	}
	err := h.host(known)
	switch {
	case err == nil:
		h.set(Hosting)
		return nil
	case errors.Is(err, ErrOtherStore):
		h.set(HostLeft)
		return nil
	case first:
		// Someone may have started hosting a moment ago: use theirs.
		if info, answered := h.probe(ctx); answered {
			h.join(info.Store)
			return nil
		}
		return err
	}
	h.log.Debug("embedded server: take over", "err", err) // another chat won the race
	return nil
}

func (h *Host) join(store string) {
	h.mu.Lock()
	h.store = store
	h.mu.Unlock()
	h.set(Joined)
}

// probe asks the address what it serves; answered is false when no
// WeBaaS server answers there.
func (h *Host) probe(ctx context.Context) (info webaas.ServerInfo, answered bool) {
	c, err := webaas.New(h.URL(), webaas.WithHTTPClient(h.http))
	if err != nil {
		return info, false
	}
	info, err = c.Info(ctx)
	if err != nil {
		return info, false
	}
	if info.Store == "" {
		// Not this project's server: an original WeBaaS server answers a
		// call it cannot serve with its error body and code; any other
		// HTTP server does not.
		_, err := c.Get(ctx, "", "", "")
		var e *webaas.Error
		return info, errors.As(err, &e) && e.Code != 0
	}
	return info, true
}

// host binds the address and serves this process's data directory, if
// it holds store want (any store, if want is empty).
func (h *Host) host(want string) error {
	ln := h.o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", h.o.Addr); err != nil {
			return err
		}
	}
	st, err := node.OpenBolt(h.o.DataDir, h.o.LockTimeout)
	if err != nil {
		ln.Close()
		return err
	}
	if want != "" && st.ID() != want {
		st.Close()
		ln.Close()
		return fmt.Errorf("%w: %s holds %s, the room is in %s", ErrOtherStore, h.o.DataDir, st.ID(), want)
	}
	n := node.Start(ln, st, h.o.Config, h.log)
	h.mu.Lock()
	h.node, h.store = n, st.ID()
	h.mu.Unlock()
	h.log.Info("hosting the embedded server", "addr", h.o.Addr, "data", h.o.DataDir)
	return nil
}

func (h *Host) supervise(ctx context.Context) {
	defer close(h.done)
	t := time.NewTicker(h.o.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, h.o.CheckEvery+h.o.LockTimeout)
		if err := h.check(cctx); err != nil {
			h.log.Warn("embedded server check", "err", err)
		}
		cancel()
	}
}

// Stop stops checking and, if this process hosts the server, stops it:
// websockets hear "going away", and a supervising chat elsewhere takes
// over.
func (h *Host) Stop() {
	if h.stopSupervisor != nil {
		h.stopSupervisor()
		<-h.done
	}
	h.mu.Lock()
	n := h.node
	h.node = nil
	h.mu.Unlock()
	if n != nil {
		if err := n.Stop(5 * time.Second); err != nil {
			h.log.Warn("stop embedded server", "err", err)
		}
	}
}
