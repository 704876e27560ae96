package bench

// The attacks themselves, one function each.

// Attacks by one client on the server (issue 9, items 4 and 5), each
// against a fresh server child process, measuring the server's memory
// and what an honest client, beside the attacker, sees.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/webaas-chat/webaas-chat/webaas"
)

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
