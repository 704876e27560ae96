package bench

// Attacks by one client on the server (issue 9, items 4 and 5), each
// against a fresh server child process, measuring the server's memory
// and what an honest client, beside the attacker, sees.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
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

// noAttack is the baseline: the honest client alone.
func noAttack(ctx context.Context, _ *arena) (string, error) {
	<-ctx.Done()
	return "no attack", nil
}

// fillRange stores 100 records of 64,000 bytes: one range page of 6.5 MB.
func fillRange(ctx context.Context, c *webaas.Client, app string) error {
	for i := range int64(100) {
		if err := c.Put(ctx, app, "attack.Blob", blob(i+1, 64000)); err != nil {
			return err
		}
	}
	return nil
}

// slowRange: 200 connections ask for the 6.5 MB page and read nothing.
func slowRange(ctx context.Context, a *arena) (string, error) {
	q := url.Values{"appID": {a.app}, "schemaName": {"attack.Blob"}, "range": {"True"}, "beginKey": {"0"}, "endKey": {"1000"}, "iteration": {"1"}}
	req := fmt.Sprintf("GET /query?%s HTTP/1.1\r\nHost: %s\r\n\r\n", q.Encode(), a.host)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attackerIP)}}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 200 {
		c, err := d.DialContext(ctx, "tcp", a.host)
		if err != nil {
			return "", err
		}
		c.(*net.TCPConn).SetReadBuffer(1)
		conns = append(conns, c)
		if _, err := io.WriteString(c, req); err != nil {
			return "", err
		}
	}
	<-ctx.Done()
	return "200 slow readers held for the run", nil
}

// txnBytes: 12 transactions, each writing 1,000 records of 64 kB.
func txnBytes(ctx context.Context, a *arena) (string, error) {
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for t := range int64(12) {
		wg.Go(func() {
			tx, err := a.attacker.Begin(ctx)
			if err != nil {
				return
			}
			for i := range int64(1000) {
				if err := tx.Put(ctx, a.app, "attack.Blob", blob(t*1000+i, 64000)); err != nil {
					refused.Add(1)
					if ctx.Err() != nil || !webaas.IsAnswer(err) {
						return
					}
					continue
				}
				accepted.Add(1)
			}
			<-ctx.Done() // hold it open
		})
	}
	wg.Wait()
	return fmt.Sprintf("%d writes buffered, %d refused", accepted.Load(), refused.Load()), nil
}

// txnReads: one transaction reads distinct (absent) records, 37,000 of
// them or until refused; the note gives the cost of a read early and late.
func txnReads(ctx context.Context, a *arena) (string, error) {
	tx, err := a.attacker.Begin(ctx)
	if err != nil {
		return "", err
	}
	var first, last []time.Duration
	n := 0
	var refusal error
	for ; n < 37000 && ctx.Err() == nil; n++ {
		t0 := time.Now()
		_, err := tx.Get(ctx, a.app, "attack.Blob", fmt.Sprint(n+1))
		d := time.Since(t0)
		if err != nil && !errors.Is(err, webaas.ErrNotFound) {
			refusal = err
			break
		}
		if n < 1000 {
			first = append(first, d)
		}
		last = append(last, d)
		if len(last) > 1000 {
			last = last[1:]
		}
	}
	<-ctx.Done()
	note := fmt.Sprintf("%d reads; p50 of reads 1-1000 %s, of the last 1000 %s", n, ms(percentiles(first).P50), ms(percentiles(last).P50))
	if refusal != nil {
		note += fmt.Sprintf("; then refused: %v", refusal)
	}
	return note, nil
}

// hoard: begins transactions from 8 goroutines as fast as they go, never
// ending them; refused, each tries again every 100 ms, so that the open
// ones it loses to expiry come back at once. (A flood of requests is
// another attack, which this server does not claim to withstand: it has
// no rate limits.)
func hoard(ctx context.Context, a *arena) (string, error) {
	var held, refused atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := a.attacker.Begin(ctx); err != nil {
					refused.Add(1)
					sleepCtx(ctx, 100*time.Millisecond)
					continue
				}
				held.Add(1)
			}
		})
	}
	wg.Wait()
	return fmt.Sprintf("%d transactions begun, %d begins refused", held.Load(), refused.Load()), nil
}

// slowBodies: holds up to cfg.SlowBodies connections, each with a
// request whose body stops after a byte. A connection the server ends is
// opened again: soon if it was held a while, after a growing pause (5 s
// to 30 s, jittered) if it was refused at once. Redialing refused
// connections as fast as it can would be a flood of connections, another
// attack, which on these two shared cores measures who gets the CPU: this
// server has no rate limits, and refusing a connection costs it about
// 50 µs of CPU.
func slowBodies(ctx context.Context, a *arena) (string, error) {
	req := fmt.Sprintf("POST /record?appID=%s&schemaName=attack.Blob HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\n\r\n\x08", a.app, a.host)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attackerIP)}, Timeout: 5 * time.Second}
	var open, dials atomic.Int64
	var wg sync.WaitGroup
	slots := make(chan struct{}, 200) // dials in flight
	for range a.cfg.SlowBodies {
		wg.Go(func() {
			const held, refused = 100 * time.Millisecond, 5 * time.Second
			pause := held
			for ctx.Err() == nil {
				slots <- struct{}{}
				dials.Add(1)
				c, err := d.DialContext(ctx, "tcp", a.host)
				if err == nil {
					if _, err = io.WriteString(c, req); err != nil {
						c.Close()
					}
				}
				<-slots
				if err == nil {
					open.Add(1)
					t0 := time.Now()
					// Held until the server ends it or the run ends.
					stop := context.AfterFunc(ctx, func() { c.Close() })
					io.Copy(io.Discard, c)
					stop()
					c.Close()
					open.Add(-1)
					if time.Since(t0) > time.Second {
						pause = held
					} else {
						err = errors.New("refused")
					}
				}
				if err != nil {
					pause = min(max(2*pause, refused), 30*time.Second)
				}
				// Jittered, so the refused ones do not come back in waves.
				sleepCtx(ctx, pause/2+rand.N(pause))
			}
		})
	}
	// What the attacker holds near the end, when the attack is in full.
	var held int64
	wg.Go(func() {
		sleepCtx(ctx, a.cfg.Duration*9/10)
		held = open.Load()
	})
	wg.Wait()
	return fmt.Sprintf("%d connections held near the end of the run, %d dials", held, dials.Load()), nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// bigSchema is a valid schema of about 0.9 MB: many messages of many
// fields, each storable.
func bigSchema() []byte {
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\npackage big;\nimport \"record_metadata_options.proto\";\n")
	for i := 0; b.Len() < 900<<10; i++ {
		fmt.Fprintf(&b, "message M%d {\n  int32 id = 1 [(webaas.db.record.field).primary_key = true];\n", i)
		for j := 2; j < 20; j++ {
			fmt.Fprintf(&b, "  string field_number_%d = %d;\n", j, j)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

// bigSchemas: 60 apps, each with a 0.9 MB schema, then a write to each in
// turn, again and again, so the server compiles (and, if it caches
// without bound, keeps) every one.
func bigSchemas(ctx context.Context, a *arena) (string, error) {
	schema := bigSchema()
	var apps []string
	for i := 0; i < 60 && ctx.Err() == nil; i++ {
		app, err := a.attacker.RegisterApp(ctx, fmt.Sprint("big", i))
		if err == nil {
			err = a.attacker.PutSchema(ctx, app, "1", "big.proto", schema)
		}
		if err == nil {
			err = a.attacker.ActivateSchema(ctx, app, "1")
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return "", err
		}
		apps = append(apps, app)
	}
	writes, busy := 0, 0
	for ctx.Err() == nil && len(apps) > 0 {
		for _, app := range apps {
			rec := protowire.AppendTag(nil, 1, protowire.VarintType)
			rec = protowire.AppendVarint(rec, uint64(writes+1))
			err := a.attacker.Put(ctx, app, "big.M0", rec)
			switch {
			case err == nil:
				writes++
			case errors.Is(err, webaas.ErrUnavailable):
				busy++
			case ctx.Err() != nil:
			default:
				return "", err
			}
		}
	}
	return fmt.Sprintf("%d apps of %d kB schemas; %d writes, %d answered busy", len(apps), len(schema)>>10, writes, busy), nil
}

// bigCommits: 1,000 transactions each buffer a 64 kB record, then all
// commit at the same moment, so 64 MB of commits reach the group
// committer at once; then again, for as long as the attack runs.
func bigCommits(ctx context.Context, a *arena) (string, error) {
	const n = 1000
	var committed, failed atomic.Int64
	rounds := 0
	for ; ctx.Err() == nil; rounds++ {
		txns := make([]*webaas.Txn, 0, n)
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := range int64(n) {
			wg.Go(func() {
				tx, err := a.attacker.Begin(ctx)
				if err == nil {
					err = tx.Put(ctx, a.app, "attack.Blob", blob(10_000+w, 64000)) // not key 0, which the honest client reads
				}
				if err != nil {
					failed.Add(1)
					return
				}
				mu.Lock()
				txns = append(txns, tx)
				mu.Unlock()
			})
		}
		wg.Wait()
		for _, tx := range txns { // all at once
			wg.Go(func() {
				if err := tx.Commit(ctx); err != nil {
					failed.Add(1)
					return
				}
				committed.Add(1)
			})
		}
		wg.Wait()
	}
	return fmt.Sprintf("%d rounds: %d transactions of 64 kB committed, %d failed", rounds, committed.Load(), failed.Load()), nil
}
