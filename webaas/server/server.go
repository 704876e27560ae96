// Package server is a WeBaaS-compatible HTTP and websocket server: apps,
// protobuf schemas, records by primary key, key-range queries, optimistic
// transactions and websocket notifications, as docs/webaas-api.md
// specifies. Storage is behind store.Store.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// Config holds the server's limits. The zero value of a field means its
// default, listed in DefaultConfig.
type Config struct {
	MaxRecordBytes int64 // largest record body
	MaxSchemaBytes int64 // largest .proto file
	MaxSchemaFiles int   // files per schema version
	// MaxSchemaVersionBytes bounds all files of one version together:
	// compiling costs about a hundred times the source in passing.
	MaxSchemaVersionBytes int64
	MaxSchemaVersions     int           // schema versions per app
	SchemaCacheBytes      int64         // memory (estimated) for compiled schemas; least recently used out first
	MaxJSONBytes          int64         // largest JSON body
	MaxKeyBytes           int           // longest string or bytes primary key
	MaxNotifyKeys         int           // record keys per notification
	PageSize              int           // records per range page
	TxnTimeout            time.Duration // an idle transaction expires after this
	MaxTxnWrites          int           // writes buffered in one transaction
	MaxOpenTxns           int           // transactions open at once
	WSQueue               int           // frames queued per socket; later changes wait in one coalesced frame
	WSWriteTimeout        time.Duration // a frame not written by then closes the socket as a slow consumer
	PingInterval          time.Duration // keep-alive pings on idle sockets
	// NotificationTTL is how long a notification registration nobody
	// listens on is kept.
	NotificationTTL time.Duration
	// Now is the clock expiry is judged by (tests set it).
	Now func() time.Time

	// What one client may cost the server (issue 9): time, bytes in
	// flight, transactions and connections.
	WriteTimeout             time.Duration // an HTTP response (not a websocket) must be written by then
	ReadTimeout              time.Duration // a request body must have arrived by then
	MaxResponseBytesInFlight int64         // bytes of large responses being written at once, server-wide
	BusyWait                 time.Duration // how long a large response waits for room before "server busy"
	MaxTxnBytes              int64         // bytes one transaction may buffer
	MaxTxnBytesTotal         int64         // bytes all open transactions may buffer in this process
	MaxTxnReads              int           // records one transaction may read
	MaxOpenTxnsPerClient     int           // transactions one client may hold open
	// ClientIPHeader names a request header that a trusted reverse proxy
	// sets to the client's address (X-Real-IP, X-Forwarded-For); empty:
	// the client is the connection's remote address.
	ClientIPHeader    string
	MaxConns          int // connections open at once, server-wide
	MaxConnsPerClient int // connections open at once from one client address
	// AllowHosts are host names (and origins' host names) accepted
	// besides loopback ones when the server listens on loopback; "*"
	// accepts any.
	AllowHosts []string

	Logger *slog.Logger
}

// DefaultConfig returns the default limits.
func DefaultConfig() Config {
	return Config{
		MaxRecordBytes: 65535, // every stored record then fits a range page's 2-byte length
		MaxSchemaBytes: 1 << 20,
		MaxSchemaFiles: 64,

		MaxSchemaVersionBytes: 2 << 20,
		MaxSchemaVersions:     32,
		SchemaCacheBytes:      32 << 20,

		MaxJSONBytes:   1 << 20,
		MaxKeyBytes:    1024,
		MaxNotifyKeys:  1000,
		PageSize:       100,
		TxnTimeout:     10 * time.Second,
		MaxTxnWrites:   1000,
		MaxOpenTxns:    10000,
		WSQueue:        16,
		WSWriteTimeout: 10 * time.Second,
		PingInterval:   30 * time.Second,

		NotificationTTL: 7 * 24 * time.Hour,

		WriteTimeout:             30 * time.Second,
		ReadTimeout:              30 * time.Second,
		MaxResponseBytesInFlight: 32 << 20,
		BusyWait:                 5 * time.Second,
		MaxTxnBytes:              8 << 20,
		MaxTxnBytesTotal:         64 << 20,
		MaxTxnReads:              10000,
		MaxOpenTxnsPerClient:     1000,
		MaxConns:                 10000,
		MaxConnsPerClient:        512,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxRecordBytes <= 0 {
		c.MaxRecordBytes = d.MaxRecordBytes
	}
	if c.MaxSchemaBytes <= 0 {
		c.MaxSchemaBytes = d.MaxSchemaBytes
	}
	if c.MaxSchemaFiles <= 0 {
		c.MaxSchemaFiles = d.MaxSchemaFiles
	}
	if c.MaxSchemaVersionBytes <= 0 {
		c.MaxSchemaVersionBytes = d.MaxSchemaVersionBytes
	}
	if c.MaxSchemaVersions <= 0 {
		c.MaxSchemaVersions = d.MaxSchemaVersions
	}
	if c.SchemaCacheBytes <= 0 {
		c.SchemaCacheBytes = d.SchemaCacheBytes
	}
	if c.MaxJSONBytes <= 0 {
		c.MaxJSONBytes = d.MaxJSONBytes
	}
	if c.MaxKeyBytes <= 0 {
		c.MaxKeyBytes = d.MaxKeyBytes
	}
	if c.MaxNotifyKeys <= 0 {
		c.MaxNotifyKeys = d.MaxNotifyKeys
	}
	if c.PageSize <= 0 {
		c.PageSize = d.PageSize
	}
	if c.TxnTimeout <= 0 {
		c.TxnTimeout = d.TxnTimeout
	}
	if c.MaxTxnWrites <= 0 {
		c.MaxTxnWrites = d.MaxTxnWrites
	}
	if c.MaxOpenTxns <= 0 {
		c.MaxOpenTxns = d.MaxOpenTxns
	}
	if c.WSQueue <= 0 {
		c.WSQueue = d.WSQueue
	}
	if c.WSWriteTimeout <= 0 {
		c.WSWriteTimeout = d.WSWriteTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = d.PingInterval
	}
	if c.NotificationTTL <= 0 {
		c.NotificationTTL = d.NotificationTTL
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c = c.limitDefaults(d)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// limitDefaults fills the limits on what one client may cost.
func (c Config) limitDefaults(d Config) Config {
	def := func(v *time.Duration, dv time.Duration) {
		if *v <= 0 {
			*v = dv
		}
	}
	def(&c.WriteTimeout, d.WriteTimeout)
	def(&c.ReadTimeout, d.ReadTimeout)
	def(&c.BusyWait, d.BusyWait)
	if c.MaxResponseBytesInFlight <= 0 {
		c.MaxResponseBytesInFlight = d.MaxResponseBytesInFlight
	}
	if c.MaxTxnBytes <= 0 {
		c.MaxTxnBytes = d.MaxTxnBytes
	}
	if c.MaxTxnBytesTotal <= 0 {
		c.MaxTxnBytesTotal = d.MaxTxnBytesTotal
	}
	for _, n := range []struct {
		v *int
		d int
	}{
		{&c.MaxTxnReads, d.MaxTxnReads},
		{&c.MaxOpenTxnsPerClient, d.MaxOpenTxnsPerClient},
		{&c.MaxConns, d.MaxConns},
		{&c.MaxConnsPerClient, d.MaxConnsPerClient},
	} {
		if *n.v <= 0 {
			*n.v = n.d
		}
	}
	return c
}

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
		s.ownTxns = store.NewMemTxnsLimits(store.MemTxnsLimits{Open: cfg.MaxOpenTxns, Bytes: cfg.MaxTxnBytesTotal})
		s.txns = s.ownTxns
	}
	s.hub = newHub(cfg, s.log)
	s.unsub = st.Subscribe(s.onChange)
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

// onChange reacts to durable changes, whichever node made them.
func (s *Server) onChange(c store.Change) {
	switch c.Kind {
	case store.ChangeRecords:
		s.hub.publish(c)
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
	m.HandleFunc("GET /info", s.handle(s.info)) // extension
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

// param returns a required query parameter.
func param(r *http.Request, name string) (string, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return "", errorf(wire.CodeBadParameter, "missing parameter %s", name)
	}
	return q.Get(name), nil
}

// readBody reads the whole body, refusing more than limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, error) {
	body, err := readAll(http.MaxBytesReader(rawWriter(w), r.Body, limit), r.ContentLength, limit)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errorf(wire.CodeTooLarge, "%s is larger than the limit of %d bytes", what, limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, errorf(wire.CodeBadParameter, "%s did not arrive in time (--read-timeout)", what)
	case err != nil:
		return nil, errorf(wire.CodeBadParameter, "reading %s: %v", what, err)
	}
	return body, nil
}

// readAll reads r to the end. With the length known and within limit it
// reads into a buffer of exactly that size: a body kept in an open
// transaction then holds no spare capacity of a growing buffer.
func readAll(r io.Reader, length, limit int64) ([]byte, error) {
	if length <= 0 || length > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// readJSON decodes a JSON body, whatever its Content-Type says.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := readBody(w, r, limit, "JSON body")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(wire.CodeBadParameter, "body is not the expected JSON: %v", err)
	}
	return nil
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

func atoiParam(r *http.Request, name string, def int) (int, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return 0, errorf(wire.CodeBadParameter, "parameter %s=%q is not an integer", name, q.Get(name))
	}
	return n, nil
}
