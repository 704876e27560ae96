// Package server is a WeBaaS-compatible HTTP and websocket server: apps,
// protobuf schemas, records by primary key, key-range queries, optimistic
// transactions and websocket notifications, as docs/webaas-api.md
// specifies. Storage is behind store.Store.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// Server serves the WeBaaS API over one Store. It does not own the store:
// Close the server, then the store.
type Server struct {
	cfg   Config
	store store.Store
	log   *slog.Logger
	apps  *apps
	txns  store.TxnStore
	// ownTxns is the in-memory TxnStore, when the Store cannot hold
	// transactions itself; the server closes it.
	ownTxns *store.MemTxns
	hub     *hub
	mux     *http.ServeMux
	unsub   func()

	stopSweep context.CancelFunc
	swept     chan struct{}
	// responses bounds the bytes of large answers in flight.
	responses *responseBudget
}

// New returns a server over st.
func New(st store.Store, cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, store: st, log: cfg.Logger, apps: newApps(st, newCompiler(), cfg.SchemaCacheBytes), responses: newResponseBudget(cfg.MaxResponseBytesInFlight)}
	if ts, ok := st.(store.TxnStore); ok {
		s.txns = ts // shared by every node on the store
	} else {
		s.ownTxns = store.NewMemTxnsLimits(store.MemTxnsLimits{Open: cfg.MaxOpenTxns, Bytes: cfg.MaxTxnBytesTotal, Now: cfg.Now})
		s.txns = s.ownTxns
	}
	s.hub = newHub(cfg, s.log)
	s.unsub = st.Subscribe(s.onChanges)
	s.routes()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSweep, s.swept = cancel, make(chan struct{})
	go func() { defer close(s.swept); s.sweep(ctx) }()
	return s
}

// Close closes every websocket with "going away" and stops background
// work. In-flight HTTP requests are the http.Server's to drain.
func (s *Server) Close() {
	s.stopSweep()
	<-s.swept
	s.unsub()
	s.hub.close()
	if s.ownTxns != nil {
		s.ownTxns.Close()
	}
}

// CloseSockets closes every open websocket with "going away" and reason,
// while HTTP stays up: clients reconnect (to this node, or another one
// behind a balancer) and catch up. It moves clients off a node before
// maintenance.
func (s *Server) CloseSockets(reason string) { s.hub.kickAll(reason) }

// onChanges reacts to durable changes, whichever node made them.
func (s *Server) onChanges(cs []store.Change) {
	touched := map[*socket]struct{}{}
	for _, c := range cs {
		s.onChange(c, touched)
	}
	// Woken once for the batch, a socket's writer sends what the batch
	// queued for it in one frame where it can (see socket.gather).
	for sock := range touched {
		sock.poke()
	}
}

func (s *Server) onChange(c store.Change, touched map[*socket]struct{}) {
	switch c.Kind {
	case store.ChangeRecords:
		s.hub.publish(c, touched)
	case store.ChangeSchema:
		s.apps.forget(c.App)
	case store.ChangeAppDeleted:
		s.apps.forget(c.App)
		s.hub.closeApp(c.App)
	case store.ChangeNotificationDeleted:
		s.hub.closeNotification(c.App, c.NotificationID)
	}
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /app", s.handle(s.registerApp))
	m.HandleFunc("DELETE /app", s.handle(s.deleteApp))
	m.HandleFunc("PUT /schema", s.handle(s.putSchema))
	m.HandleFunc("POST /schema", s.handle(s.activateSchema))
	m.HandleFunc("POST /record", s.handle(s.upsert))
	m.HandleFunc("DELETE /record", s.handle(s.deleteRecord))
	m.HandleFunc("GET /query", s.handle(s.query))
	m.HandleFunc("GET /query/transactional", s.handle(s.txnQuery))
	m.HandleFunc("POST /record/transactional", s.handle(s.txnUpsert))
	m.HandleFunc("POST /transaction", s.handle(s.transaction))
	m.HandleFunc("POST /notification", s.handle(s.registerNotification))
	m.HandleFunc("DELETE /notification", s.handle(s.deleteNotification))
	m.HandleFunc("GET /notification", s.handle(s.listen))
	if !s.cfg.Plain {
		m.HandleFunc("GET /info", s.handle(s.info))         // extension
		m.HandleFunc("POST /batch", s.handle(s.batch))      // extension
		m.HandleFunc("GET /sequence", s.handle(s.sequence)) // extension
	}
	// Anything else gets the API's error shape, not net/http's plain text.
	m.HandleFunc("/", s.handle(func(w http.ResponseWriter, r *http.Request) error {
		return errorf(wire.CodeBadParameter, "no endpoint %s %s", r.Method, r.URL.Path)
	}))
	s.mux = m
}

// ServeHTTP implements http.Handler. It allows cross-origin calls, so that
// browser clients (axios) work: the appID in each call is the credential,
// not the caller's origin. (Serve, on loopback, first refuses requests
// that come from web pages.)
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w, r = s.withDeadlines(w, r)
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// handle adapts a handler that returns an error, and turns panics into a
// 500 so a bug in one request never takes the server down.
func (s *Server) handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", p))
			}
		}()
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// storeFault classifies a store error that the client did not cause.
func storeFault(err error) error {
	if errors.Is(err, store.ErrNoSpace) {
		return &apiError{code: wire.CodeUnavailable, message: "server out of disk space: nothing was written; try again later", err: err}
	}
	if errors.Is(err, store.ErrClosed) || errors.Is(err, store.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return &apiError{code: wire.CodeUnavailable, message: "store unavailable, try again", err: err}
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return &apiError{code: wire.CodeInternal, message: "internal error", err: err}
}

// newID returns a random UUIDv4 string (122 random bits).
func newID() string { return store.RandomID() }
