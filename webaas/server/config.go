package server

// The server's limits and their defaults.

import (
	"log/slog"
	"time"
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
	WSQueueBytes          int           // bytes of frames queued per socket, likewise
	WSWriteTimeout        time.Duration // a frame not written by then closes the socket as a slow consumer
	PingInterval          time.Duration // keep-alive pings on idle sockets
	// WSMaxRecordsFrame bounds the record bytes one records frame
	// carries; records past it are sent as "omitted", for the client to
	// read.
	WSMaxRecordsFrame int
	// IdempotencyTTL is how long a batch's token is remembered: a retry
	// within it never applies the batch twice.
	IdempotencyTTL time.Duration
	// NotificationTTL is how long a notification registration nobody
	// listens on is kept.
	NotificationTTL time.Duration
	// Now is the clock expiry (of transactions in the server's memory,
	// of notification registrations) is judged by; tests set it.
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

	// Plain serves the original API only: no extension's endpoint,
	// parameter or field is recognised, as on a WeBaaS server that never
	// had them. Clients' fallbacks are tested, and the original design
	// measured, against it.
	Plain bool

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
		WSQueue:        256,
		WSQueueBytes:   1 << 20,
		WSWriteTimeout: 10 * time.Second,
		PingInterval:   30 * time.Second,

		WSMaxRecordsFrame: 256 << 10,
		IdempotencyTTL:    24 * time.Hour,

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
	if c.WSQueueBytes <= 0 {
		c.WSQueueBytes = d.WSQueueBytes
	}
	if c.WSWriteTimeout <= 0 {
		c.WSWriteTimeout = d.WSWriteTimeout
	}
	if c.PingInterval <= 0 {
		c.PingInterval = d.PingInterval
	}
	if c.WSMaxRecordsFrame <= 0 {
		c.WSMaxRecordsFrame = d.WSMaxRecordsFrame
	}
	if c.IdempotencyTTL <= 0 {
		c.IdempotencyTTL = d.IdempotencyTTL
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
