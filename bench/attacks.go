package bench

// Attacks by one client on the server (issue 9, items 4 and 5), each
// against a fresh server child process, measuring the server's memory
// and what an honest client, beside the attacker, sees.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/webaas-chat/webaas-chat/webaas"
)

// Attacks lists the attacks RunAttacks knows, in the order it runs them.
var Attacks = []string{"none", "slow-range", "schemas", "txn-bytes", "txn-reads", "hoard", "big-commits", "slow-bodies"}

// AttackConfig describes a run of attacks.
type AttackConfig struct {
	// Start starts a fresh server for one attack; RunAttacks stops it.
	Start    func(context.Context) (*Proc, error)
	Only     []string      // attacks to run (default: all)
	Duration time.Duration // how long the attack runs while it is measured (default 10 s)
	// SlowBodies is how many connections the slow-bodies attacker tries to
	// hold (default 19,000: the attacker, the honest client and the
	// server each have ulimit -n to themselves).
	SlowBodies int
	// Honest runs the honest client against the app for d; nil runs it
	// in this process. In this process it shares the Go scheduler with
	// an attacker that may run a thousand goroutines, and measures that;
	// a separate process (RunHonest behind a command) measures the
	// server.
	Honest func(ctx context.Context, url, app string, d time.Duration, keepAlive bool) (latencies []time.Duration, failed int, err error)
}

// AttackResult is what one attack measured.
type AttackResult struct {
	Name string
	What string // the attack, in words
	// RSSBase is the server's resident memory before the attack, after
	// the set-up; RSSGrowth its largest growth over that during the
	// attack (sampled every 50 ms).
	RSSBase, RSSGrowth int64
	// Honest is the latency of a chat-like send (begin, read, write,
	// commit: four requests) by a client from another address during the
	// attack; HonestFailed the sends that failed.
	Honest       Percentiles
	HonestFailed int
	// ServerCPU is the CPU time the server used during the attack.
	ServerCPU time.Duration
	Note      string // what the attacker got
}

func (r AttackResult) String() string {
	return fmt.Sprintf("%-11s server RSS %4.0f MiB, +%5.0f MiB under attack, %.1f CPU s; honest sends p50 %s p99 %s max %s, %d of %d failed; %s",
		r.Name, mib(r.RSSBase), mib(r.RSSGrowth), r.ServerCPU.Seconds(), ms(r.Honest.P50), ms(r.Honest.P99), ms(r.Honest.Max), r.HonestFailed, r.Honest.N+r.HonestFailed, r.Note)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// The attackers and the honest client come from different loopback
// addresses, as different clients would.
const (
	attackerIP = "127.0.0.2"
	honestIP   = "127.0.0.3"
)

// RunAttacks runs the attacks one after another, each on a fresh server,
// and reports each result as it comes.
func RunAttacks(ctx context.Context, cfg AttackConfig, report func(AttackResult)) error {
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.SlowBodies <= 0 {
		cfg.SlowBodies = 19000
	}
	only := cfg.Only
	if len(only) == 0 {
		only = Attacks
	}
	for _, name := range only {
		run, ok := attackFuncs[name]
		if !ok {
			return fmt.Errorf("unknown attack %q (have %s)", name, strings.Join(Attacks, ", "))
		}
		res, err := runAttack(ctx, cfg, name, run)
		if err != nil {
			return fmt.Errorf("attack %s: %w", name, err)
		}
		report(res)
	}
	return nil
}

// attack is one attack against a set-up server: it runs until ctx ends
// and describes what the attacker got.
type attack func(ctx context.Context, a *arena) (note string, err error)

var attackFuncs = map[string]attack{
	"none":        noAttack,
	"slow-range":  slowRange,
	"txn-bytes":   txnBytes,
	"txn-reads":   txnReads,
	"hoard":       hoard,
	"slow-bodies": slowBodies,
	"schemas":     bigSchemas,
	"big-commits": bigCommits,
}

var attackWhat = map[string]string{
	"none":        "baseline: the honest client alone",
	"slow-range":  "4a: 200 clients ask for a 6.5 MB range page and do not read it",
	"txn-bytes":   "4c: 12 transactions × 1,000 writes of 64 kB",
	"txn-reads":   "4d: one transaction reads 37,000 records",
	"hoard":       "5a: one client begins transactions as fast as it can and never ends them",
	"slow-bodies": "5c: one client opens connections that send a request body one byte and stop",
	"schemas":     "4b: 60 apps with a 0.9 MB schema each, each used in turn",
	"big-commits": "5b: 1,000 transactions of 64 kB each, committed at the same moment, over and over",
}

// arena is a server under attack: its process, an app with a blob type,
// and clients from the attacker's and the honest address.
type arena struct {
	proc     *Proc
	cfg      AttackConfig
	host     string
	app      string
	attacker *webaas.Client
}

const blobSchema = `syntax = "proto3";
package attack;
import "record_metadata_options.proto";
message Blob {
  int64 id = 1 [(webaas.db.record.field).primary_key = true];
  bytes data = 2;
}
`

// blob encodes attack.Blob{id, data of size bytes}.
func blob(id int64, size int) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(id))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendBytes(b, make([]byte, size))
}

// clientFrom is an API client whose connections come from ip; keepAlive
// false makes every request a new connection, as simple old clients do.
func clientFrom(base, ip string, keepAlive bool) (*webaas.Client, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 64}
	return webaas.New(base, webaas.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}))
}

func runAttack(ctx context.Context, cfg AttackConfig, name string, run attack) (AttackResult, error) {
	res := AttackResult{Name: name, What: attackWhat[name]}
	proc, err := cfg.Start(ctx)
	if err != nil {
		return res, err
	}
	defer proc.Stop()
	a := &arena{proc: proc, cfg: cfg}
	u, _ := url.Parse(proc.URL)
	a.host = u.Host
	setup, err := clientFrom(proc.URL, "127.0.0.1", true)
	if err != nil {
		return res, err
	}
	if a.app, err = setup.RegisterApp(ctx, "attack"); err != nil {
		return res, err
	}
	if err := setup.PutSchema(ctx, a.app, "1", "attack.proto", []byte(blobSchema)); err != nil {
		return res, err
	}
	if err := setup.ActivateSchema(ctx, a.app, "1"); err != nil {
		return res, err
	}

	if a.attacker, err = clientFrom(proc.URL, attackerIP, true); err != nil {
		return res, err
	}
	if name == "slow-range" {
		if err := fillRange(ctx, setup, a.app); err != nil {
			return res, err
		}
	}
	time.Sleep(500 * time.Millisecond) // let the set-up's garbage go
	if res.RSSBase, _, err = proc.Memory(); err != nil {
		return res, err
	}

	cpu0, _ := proc.CPU()
	actx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var peak atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { sampleRSS(actx, proc, &peak) })
	var note string
	var attackErr error
	wg.Go(func() { note, attackErr = run(actx, a) })
	// The honest client starts once the attack had a moment to take hold.
	var lat []time.Duration
	var honestErr error
	wg.Go(func() {
		select {
		case <-actx.Done():
			return
		case <-time.After(cfg.Duration / 5):
		}
		// New connections for the honest client where the attack is on
		// connections; a long-lived one elsewhere, as the chat keeps.
		d, keepAlive := cfg.Duration-cfg.Duration/5, name != "slow-bodies"
		honest := cfg.Honest
		if honest == nil {
			honest = RunHonest
		}
		lat, res.HonestFailed, honestErr = honest(ctx, proc.URL, a.app, d, keepAlive)
	})
	wg.Wait()
	if attackErr != nil {
		return res, attackErr
	}
	if honestErr != nil {
		return res, fmt.Errorf("honest client: %w", honestErr)
	}
	res.Honest, res.Note = percentiles(lat), note
	if cpu1, err := proc.CPU(); err == nil {
		res.ServerCPU = cpu1 - cpu0
	}
	res.RSSGrowth = max(peak.Load()-res.RSSBase, 0)
	return res, nil
}

func sampleRSS(ctx context.Context, proc *Proc, peak *atomic.Int64) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if rss, _, err := proc.Memory(); err == nil && rss > peak.Load() {
			peak.Store(rss)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunHonest is the honest client: from its own loopback address, it
// sends at 20 a second, each a chat-like transaction into app, for d,
// and returns the latencies of the sends that succeeded and how many
// failed. keepAlive false opens a connection per request.
func RunHonest(ctx context.Context, url, app string, d time.Duration, keepAlive bool) ([]time.Duration, int, error) {
	c, err := clientFrom(url, honestIP, keepAlive)
	if err != nil {
		return nil, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	lat, failed := honestSends(ctx, c, app)
	return lat, failed, nil
}

// honestSends sends at 20 a second, each a chat-like transaction, until
// ctx ends, and returns the latencies of those that succeeded.
func honestSends(ctx context.Context, honest *webaas.Client, app string) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	failed := 0
	var wg sync.WaitGroup
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := int64(1_000_000); ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			return lat, failed
		case <-tick.C:
		}
		wg.Go(func() {
			// Its own deadline: the attack's end must not count as a failure.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			t0 := time.Now()
			err := chatSend(sctx, honest, app, i)
			d := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if failed++; failed <= 3 {
					log.Printf("honest send failed: %v", err) // on stderr: what made it fail
				}
				return
			}
			lat = append(lat, d)
		})
	}
}

// chatSend is what a chat send costs the server: begin, read the room's
// head, write the message, commit.
func chatSend(ctx context.Context, c *webaas.Client, app string, id int64) error {
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.Get(ctx, app, "attack.Blob", "0"); err != nil && !errors.Is(err, webaas.ErrNotFound) {
		return err
	}
	if err := tx.Put(ctx, app, "attack.Blob", blob(id, 100)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
