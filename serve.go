package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/webaas-chat/webaas-chat/embedded"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/node"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
)

// defaultListen is the original WeBaaS port, on loopback: anyone who can
// reach the server can register apps, so exposing it is a deliberate act.
const defaultListen = embedded.DefaultAddr

// openStore opens PostgreSQL when a store URL is given, else the embedded
// bbolt store in the data dir; it says where, for the log.
func openStore(ctx context.Context, dataDir, storeURL string, pg pgstore.Options, log *slog.Logger) (store.Store, string, error) {
	if storeURL != "" {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		pg.Logger = log
		st, err := pgstore.Open(ctx, storeURL, pg)
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, redactURL(storeURL), nil
	}
	st, err := node.OpenBolt(dataDir, 5*time.Second)
	if err != nil {
		return nil, "", err
	}
	return st, node.DataFile(dataDir), nil
}

// redactURL hides the password of a connection URL for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// serverFlags declares the limit flags on fs and returns the config they fill.
func serverFlags(fs *flag.FlagSet) *server.Config {
	cfg := server.DefaultConfig()
	fs.Int64Var(&cfg.MaxRecordBytes, "max-record-bytes", cfg.MaxRecordBytes, "largest record body in bytes (the range page format frames at most 65535)")
	fs.Int64Var(&cfg.MaxSchemaBytes, "max-schema-bytes", cfg.MaxSchemaBytes, "largest uploaded .proto file in bytes")
	fs.IntVar(&cfg.MaxSchemaFiles, "max-schema-files", cfg.MaxSchemaFiles, "most .proto files in one schema version")
	fs.Int64Var(&cfg.MaxSchemaVersionBytes, "max-schema-version-bytes", cfg.MaxSchemaVersionBytes, "most bytes of .proto files in one schema version, all files together")
	fs.IntVar(&cfg.MaxSchemaVersions, "max-schema-versions", cfg.MaxSchemaVersions, "most schema versions one app may have")
	fs.Int64Var(&cfg.SchemaCacheBytes, "schema-cache-bytes", cfg.SchemaCacheBytes, "memory (estimated) for compiled schemas; the least recently used app's is dropped first and compiled again when needed")
	fs.Int64Var(&cfg.MaxJSONBytes, "max-json-bytes", cfg.MaxJSONBytes, "largest JSON request body in bytes")
	fs.IntVar(&cfg.MaxKeyBytes, "max-key-bytes", cfg.MaxKeyBytes, "longest string or bytes primary key")
	fs.IntVar(&cfg.MaxNotifyKeys, "max-notify-keys", cfg.MaxNotifyKeys, "most record keys one notification may watch")
	fs.IntVar(&cfg.PageSize, "page-size", cfg.PageSize, "records per range query page")
	fs.DurationVar(&cfg.TxnTimeout, "txn-timeout", cfg.TxnTimeout, "an idle transaction expires after this")
	fs.IntVar(&cfg.MaxTxnWrites, "max-txn-writes", cfg.MaxTxnWrites, "most records one transaction may write")
	fs.IntVar(&cfg.MaxOpenTxns, "max-open-txns", cfg.MaxOpenTxns, "most transactions open at once")
	fs.IntVar(&cfg.WSQueue, "ws-queue", cfg.WSQueue, "notification frames queued per websocket; beyond that, further changes merge into one pending frame of keys only")
	fs.IntVar(&cfg.WSQueueBytes, "ws-queue-bytes", cfg.WSQueueBytes, "bytes of notification frames queued per websocket, likewise")
	fs.DurationVar(&cfg.WSWriteTimeout, "ws-write-timeout", cfg.WSWriteTimeout, "a websocket that takes longer to accept a frame or answer a ping is closed as a slow consumer")
	fs.DurationVar(&cfg.PingInterval, "ping-interval", cfg.PingInterval, "how often idle websockets are pinged")
	fs.DurationVar(&cfg.NotificationTTL, "notification-ttl", cfg.NotificationTTL, "a notification registration nobody has listened on for this long is deleted")
	fs.IntVar(&cfg.WSMaxRecordsFrame, "max-records-frame-bytes", cfg.WSMaxRecordsFrame, "record bytes one records frame carries (frames=records); records past it are sent as omitted, for the client to read")
	fs.BoolVar(&cfg.Plain, "plain", false, "serve the original WeBaaS API only, without this server's extensions (to test or measure clients' fallbacks)")
	fs.DurationVar(&cfg.IdempotencyTTL, "idempotency-ttl", cfg.IdempotencyTTL, "how long a batch's token is remembered, so that a retry within it never applies the batch twice")
	clientFlags(fs, &cfg)
	return &cfg
}

// clientFlags declares the limits on what one client may cost the
// server: time, bytes in flight, transactions, connections.
func clientFlags(fs *flag.FlagSet, cfg *server.Config) {
	fs.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "an HTTP answer (not a websocket) must be written within this; a client reading slower is cut off")
	fs.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "a request body must arrive within this (websockets are not affected)")
	fs.Int64Var(&cfg.MaxResponseBytesInFlight, "max-response-bytes-in-flight", cfg.MaxResponseBytesInFlight, "bytes of large answers (1 MiB or more) being written at once, server-wide; others wait for room")
	fs.DurationVar(&cfg.BusyWait, "busy-wait", cfg.BusyWait, "how long a large answer waits for room under --max-response-bytes-in-flight before a 503 \"server busy\"")
	fs.Int64Var(&cfg.MaxTxnBytes, "max-txn-bytes", cfg.MaxTxnBytes, "bytes one transaction may buffer (records, keys and bookkeeping)")
	fs.Int64Var(&cfg.MaxTxnBytesTotal, "max-txn-bytes-total", cfg.MaxTxnBytesTotal, "bytes all open transactions may buffer in this process (when they live in server memory, not PostgreSQL)")
	fs.IntVar(&cfg.MaxTxnReads, "max-txn-reads", cfg.MaxTxnReads, "distinct records one transaction may read")
	fs.IntVar(&cfg.MaxOpenTxnsPerClient, "max-open-txns-per-client", cfg.MaxOpenTxnsPerClient, "transactions one client address may hold open at once")
	fs.StringVar(&cfg.ClientIPHeader, "client-ip-header", cfg.ClientIPHeader, "behind a reverse proxy: the header it sets to the client's address (e.g. X-Real-IP; of X-Forwarded-For the last address counts); only set it if the proxy always sets it")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "connections open at once (keep it under ulimit -n); more are closed at once")
	fs.IntVar(&cfg.MaxConnsPerClient, "max-conns-per-client", cfg.MaxConnsPerClient, "connections open at once from one client address (not applied with --client-ip-header: they all come from the proxy)")
	fs.Func("allow-host", "on loopback, a host name (or origin's host) to serve besides loopback ones; repeat or separate with commas; '*' allows any", func(v string) error {
		cfg.AllowHosts = append(cfg.AllowHosts, v)
		return nil
	})
}

func cmdServe(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: webaas-chat serve [flags]

Runs a WeBaaS-compatible server until SIGINT or SIGTERM, then shuts down
gracefully: stops accepting, tells websockets "going away", finishes
in-flight requests and closes the store. A 200 answer means the write is
on disk.

Flags:
`)
		fs.PrintDefaults()
	}
	defData, err := dataDir()
	if err != nil {
		defData = "webaas-data"
	}
	listen := fs.String("listen", defaultListen, "address to listen on (host:port); keep it on loopback unless a TLS proxy fronts it")
	listenFD := fs.Int("listen-fd", -1, "serve on an already listening socket inherited as this file descriptor (from a supervisor, or a test), instead of binding --listen")
	data := fs.String("data", defData, "directory of the embedded store (created if missing)")
	storeURL := fs.String("store", "", "a postgres://user:pass@host/db URL: keep the data in PostgreSQL, shared by every node on it, instead of --data")
	pg := pgstore.Options{}
	fs.Func("pg-pool-size", "most PostgreSQL connections per node (default 8; one more for LISTEN)", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive integer")
		}
		pg.PoolSize = int32(n)
		return nil
	})
	fs.DurationVar(&pg.StatementTimeout, "pg-statement-timeout", 5*time.Second, "bound on every PostgreSQL statement and call")
	fs.StringVar(&pg.Channel, "pg-channel", "webaas_changes", "LISTEN/NOTIFY channel the nodes tell each other about changes on")
	fs.StringVar(&pg.Schema, "pg-schema", "", "PostgreSQL schema holding the tables (default: the connection's search_path)")
	var level slog.Level
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	debugAddr := fs.String("debug-listen", "", "also serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it on loopback")
	cfg := serverFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{msg: fmt.Sprintf("serve takes no arguments, got %q", fs.Args())}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// Bind first: a second process on the port fails fast, instead of
	// waiting for the data file's lock.
	ln, err := listener(*listen, *listenFD)
	if err != nil {
		return err
	}
	st, where, err := openStore(ctx, *data, *storeURL, pg, log)
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("store opened", "store", where)
	if *debugAddr != "" {
		if err := serveDebug(*debugAddr, log); err != nil {
			ln.Close()
			st.Close()
			return err
		}
	}
	n := node.Start(ln, st, *cfg, log)
	select {
	case <-ctx.Done():
		log.Info("shutting down", "cause", context.Cause(ctx))
	case err := <-n.Done():
		log.Error("server failed", "err", err)
	}
	return n.Stop(15 * time.Second)
}

// listener binds addr, or takes over the listening socket inherited as
// file descriptor fd (when fd >= 0).
func listener(addr string, fd int) (net.Listener, error) {
	if fd < 0 {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	f := os.NewFile(uintptr(fd), "inherited listener")
	if f == nil {
		return nil, usageError{msg: fmt.Sprintf("--listen-fd %d: no such file descriptor", fd)}
	}
	defer f.Close() // FileListener keeps its own duplicate
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("--listen-fd %d: %w", fd, err)
	}
	return ln, nil
}

// serveDebug serves the profiler on its own listener, apart from the API:
// the API's mux never exposes it.
func serveDebug(addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--debug-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("profiler listening", "addr", ln.Addr().String())
	go func() {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		if err := srv.Serve(ln); err != nil {
			log.Warn("profiler stopped", "err", err)
		}
	}()
	return nil
}
