package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LoadConfig describes a run of simulated clients in one room.
type LoadConfig struct {
	Model   Model
	Clients int
	// Rate is the total sends per second, spread over the clients (an
	// open loop, like people typing). 0: every client sends as fast as
	// it can with InFlight sends outstanding (a closed loop).
	Rate     float64
	InFlight int
	Duration time.Duration
	// Settle bounds the wait for deliveries after the last send.
	Settle time.Duration
}

// Percentiles summarise a latency distribution.
type Percentiles struct {
	N             int
	P50, P99, Max time.Duration
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(int(q*float64(len(d))), len(d)-1)] }
	return Percentiles{N: len(d), P50: at(0.50), P99: at(0.99), Max: d[len(d)-1]}
}

func (p Percentiles) String() string {
	return fmt.Sprintf("p50 %v p99 %v max %v (n=%d)", ms(p.P50), ms(p.P99), ms(p.Max), p.N)
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// LoadResult is what a run measured.
type LoadResult struct {
	Model      string
	Clients    int
	Rate       float64 // asked for (0: as fast as possible)
	Sent       int     // acknowledged sends
	Failed     int
	Throughput float64 // acknowledged sends per second
	// Delivery is send-to-delivery latency over every (message, other
	// client) pair: from just before Send until that client's chat layer
	// holds the message.
	Delivery    Percentiles
	Undelivered int // (message, client) pairs never delivered within Settle
	Lost        int // acknowledged sends missing from the room afterwards
	Elapsed     time.Duration
}

// RunLoad runs the clients and measures delivery and throughput.
func RunLoad(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.InFlight <= 0 {
		cfg.InFlight = 4
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 10 * time.Second
	}
	before, err := cfg.Model.Count(ctx)
	if err != nil {
		return LoadResult{}, err
	}
	clients := make([]Client, cfg.Clients)
	for i := range clients {
		if clients[i], err = cfg.Model.Connect(ctx, i); err != nil {
			for _, c := range clients[:i] {
				c.Close()
			}
			return LoadResult{}, fmt.Errorf("client %d: %w", i, err)
		}
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()

	var starts sync.Map // text -> time.Time just before Send
	lat := make([][]time.Duration, len(clients))
	delivered := make([]map[string]bool, len(clients))
	var recvMu sync.Mutex
	var recvWG sync.WaitGroup
	for i, c := range clients {
		delivered[i] = map[string]bool{}
		recvWG.Add(1)
		go func() {
			defer recvWG.Done()
			for texts := range c.Delivered() {
				now := time.Now()
				recvMu.Lock()
				for _, t := range texts {
					from, ok := benchSender(t)
					if !ok || from == i {
						continue
					}
					if v, ok := starts.Load(t); ok && !delivered[i][t] {
						delivered[i][t] = true
						lat[i] = append(lat[i], now.Sub(v.(time.Time)))
					}
				}
				recvMu.Unlock()
			}
		}()
	}

	var mu sync.Mutex
	var acked []string
	failed := 0
	send := func(c Client, text string) {
		starts.Store(text, time.Now())
		err := c.Send(ctx, text)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			starts.Delete(text)
			return
		}
		acked = append(acked, text)
	}
	began := time.Now()
	deadline := began.Add(cfg.Duration)
	var sendWG sync.WaitGroup
	if cfg.Rate > 0 {
		interval := time.Duration(float64(time.Second) / cfg.Rate)
		tick := time.NewTicker(interval)
		for k := 0; time.Now().Before(deadline); k++ {
			<-tick.C
			i := k % len(clients)
			sendWG.Add(1)
			go func() { defer sendWG.Done(); send(clients[i], benchText(i, k)) }()
		}
		tick.Stop()
	} else {
		var k sync.Mutex
		next := 0
		for i, c := range clients {
			for j := 0; j < cfg.InFlight; j++ {
				sendWG.Add(1)
				go func() {
					defer sendWG.Done()
					for time.Now().Before(deadline) {
						k.Lock()
						n := next
						next++
						k.Unlock()
						send(c, benchText(i, n))
					}
				}()
			}
		}
	}
	sendWG.Wait()
	elapsed := time.Since(began)

	// Wait until every other client holds every acknowledged message.
	want := len(acked) * (len(clients) - 1)
	settle := time.Now().Add(cfg.Settle)
	for time.Now().Before(settle) {
		recvMu.Lock()
		got := 0
		for i := range lat {
			got += len(lat[i])
		}
		recvMu.Unlock()
		if got >= want {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	res := LoadResult{Model: cfg.Model.Name(), Clients: cfg.Clients, Rate: cfg.Rate, Sent: len(acked), Failed: failed, Elapsed: elapsed}
	res.Throughput = float64(len(acked)) / elapsed.Seconds()
	recvMu.Lock()
	var all []time.Duration
	for i := range lat {
		all = append(all, lat[i]...)
	}
	recvMu.Unlock()
	res.Delivery = percentiles(all)
	res.Undelivered = want - len(all)
	after, err := cfg.Model.Count(ctx)
	if err != nil {
		return res, err
	}
	res.Lost = max(len(acked)-(after-before), 0)
	return res, nil
}

func benchText(client, n int) string { return fmt.Sprintf("bench %d %d", client, n) }

func benchSender(text string) (int, bool) {
	f := strings.Fields(text)
	if len(f) != 3 || f[0] != "bench" {
		return 0, false
	}
	i, err := strconv.Atoi(f[1])
	return i, err == nil
}
