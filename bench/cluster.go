package bench

// A cluster is the server under test: one child process on the embedded
// store, or two on a PostgreSQL schema of their own, or servers that run
// elsewhere.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
)

// ClusterConfig says how to start a cluster.
type ClusterConfig struct {
	// Exe is the webaas-chat binary whose `serve` runs the nodes.
	Exe string
	// Store is a postgres:// URL: the nodes share a fresh schema there,
	// dropped when the cluster stops. Empty: one node on the embedded
	// store in a fresh directory under Parent.
	Store  string
	Nodes  int    // nodes on PostgreSQL (default 2)
	Parent string // where data directories go (default: the temporary directory)
	Args   []string
	// External, if set, is servers already running: nothing is started,
	// and nothing about their processes can be measured.
	External []string
}

// Cluster is a running server under test.
type Cluster struct {
	URLs    []string
	Procs   []*Proc // nil for external servers
	DataDir string  // the embedded store's directory; "" otherwise
	Schema  string  // the PostgreSQL schema; "" otherwise
	drop    func() error
}

// StartCluster starts the nodes and waits until each answers.
func StartCluster(ctx context.Context, cfg ClusterConfig) (*Cluster, error) {
	if len(cfg.External) > 0 {
		return &Cluster{URLs: cfg.External}, nil
	}
	c := &Cluster{}
	base := append([]string{"serve", "--log-level", "warn"}, cfg.Args...)
	if cfg.Store == "" {
		dir, err := os.MkdirTemp(cfg.Parent, "webaas-bench-")
		if err != nil {
			return nil, err
		}
		c.DataDir = dir
		p, err := StartServer(ctx, cfg.Exe, append(base, "--data", dir)...)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.add(p)
		return c, nil
	}
	var b [6]byte
	rand.Read(b[:])
	c.Schema = "bench_" + hex.EncodeToString(b[:])
	c.drop = func() error { return dropSchema(cfg.Store, c.Schema) }
	nodes := cfg.Nodes
	if nodes <= 0 {
		nodes = 2
	}
	// One after another: the first creates the schema's tables.
	for range nodes {
		p, err := StartServer(ctx, cfg.Exe, append(base, "--store", cfg.Store, "--pg-schema", c.Schema, "--pg-channel", c.Schema)...)
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.add(p)
	}
	return c, nil
}

func (c *Cluster) add(p *Proc) {
	c.Procs = append(c.Procs, p)
	c.URLs = append(c.URLs, p.URL)
}

// Measured reports whether the cluster's processes are children here.
func (c *Cluster) Measured() bool { return len(c.Procs) > 0 }

// CPU is the CPU time of every node so far.
func (c *Cluster) CPU() (time.Duration, error) {
	var sum time.Duration
	for _, p := range c.Procs {
		d, err := p.CPU()
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// RSS is the resident memory of every node now, added up.
func (c *Cluster) RSS() (int64, error) {
	var sum int64
	for _, p := range c.Procs {
		rss, _, err := p.Memory()
		if err != nil {
			return 0, err
		}
		sum += rss
	}
	return sum, nil
}

// Stop stops the nodes and removes what they kept.
func (c *Cluster) Stop() error {
	var errs []error
	for _, p := range c.Procs {
		errs = append(errs, p.Stop())
	}
	if c.DataDir != "" {
		errs = append(errs, os.RemoveAll(c.DataDir))
	}
	if c.drop != nil {
		errs = append(errs, c.drop())
	}
	return errors.Join(errs...)
}

func dropSchema(url, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", schema, err)
	}
	return nil
}

// Quiet waits until the cluster's CPU use falls under a fifth of a core
// (what a previous step left queued has drained), or for at most max;
// for external servers it just waits a second.
func (c *Cluster) Quiet(ctx context.Context, most time.Duration) {
	const every = 250 * time.Millisecond
	if !c.Measured() {
		most = time.Second
	}
	end := time.Now().Add(most)
	prev, _ := c.CPU()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if !c.Measured() {
			continue
		}
		now, _ := c.CPU()
		if now-prev < every/5 {
			return
		}
		prev = now
	}
}
