package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutConfig describes a fan-out run: many subscribers following one
// room through the chat layer, one sender.
type FanoutConfig struct {
	Model       Model
	Subscribers int
	Messages    int
	// Cluster, if its processes are children, gives the server's memory
	// before and after the subscribers connect.
	Cluster *Cluster
	// Progress hears how far connecting and sending are.
	Progress func(phase string, done, total int)
}

// FanoutResult is how fast one message reaches many subscribers' chat
// layers, and what each idle subscriber costs the server.
type FanoutResult struct {
	Model       string
	Subscribers int
	Messages    int
	// Last is, per message, the time from just before the send until
	// the last subscriber's chat layer held it; All is over every
	// (message, subscriber).
	Last, All Percentiles
	// BytesPerSubscriber is the server's RSS growth (all nodes) per idle
	// subscriber (0 when the server is not a child process).
	BytesPerSubscriber int64
	Missing            int // (message, subscriber) pairs never delivered
}

func (f FanoutResult) String() string {
	s := fmt.Sprintf("%d subscribers, %d messages one at a time: until every subscriber holds it p50 %s p99 %s max %s; every (message, subscriber) p50 %s p99 %s; missing %d",
		f.Subscribers, f.Messages, ms(f.Last.P50), ms(f.Last.P99), ms(f.Last.Max), ms(f.All.P50), ms(f.All.P99), f.Missing)
	if f.BytesPerSubscriber > 0 {
		s += fmt.Sprintf("; server memory per idle subscriber %.1f KiB", float64(f.BytesPerSubscriber)/1024)
	}
	return s
}

// fanoutWait bounds the wait for one message to reach everyone.
const fanoutWait = 10 * time.Second

// RunFanout connects the subscribers (each with connections of its own,
// following the room), reads the server's memory, then sends the
// messages one at a time, each once every subscriber holds the last.
func RunFanout(ctx context.Context, cfg FanoutConfig) (FanoutResult, error) {
	res := FanoutResult{Model: cfg.Model.Name(), Subscribers: cfg.Subscribers, Messages: cfg.Messages}
	progress := func(phase string, done, total int) {
		if cfg.Progress != nil {
			cfg.Progress(phase, done, total)
		}
	}
	measured := cfg.Cluster != nil && cfg.Cluster.Measured()
	var rss0 int64
	if measured {
		cfg.Cluster.Quiet(ctx, 5*time.Second)
		rss0, _ = cfg.Cluster.RSS()
	}
	subs := make([]Client, cfg.Subscribers)
	defer func() { closeClients(subs) }() // subs: whatever is still open then
	var connected atomic.Int64
	errs := make(chan error, 1)
	sem := make(chan struct{}, 16)
	var cwg sync.WaitGroup
	for i := range subs {
		sem <- struct{}{}
		cwg.Add(1)
		go func() {
			defer func() { <-sem; cwg.Done() }()
			c, err := cfg.Model.Connect(ctx, i)
			if err != nil {
				select {
				case errs <- fmt.Errorf("subscriber %d: %w", i, err):
				default:
				}
				return
			}
			subs[i] = c
			if n := connected.Add(1); n%50 == 0 {
				progress("connecting", int(n), cfg.Subscribers)
			}
		}()
	}
	cwg.Wait()
	select {
	case err := <-errs:
		return res, err
	default:
	}
	if measured {
		// Let the subscribers' first fetches finish and the server idle.
		time.Sleep(time.Second)
		cfg.Cluster.Quiet(ctx, 5*time.Second)
		rss1, _ := cfg.Cluster.RSS()
		res.BytesPerSubscriber = (rss1 - rss0) / int64(cfg.Subscribers)
	}

	arrivals := make([][]time.Time, len(subs)) // each written by its receiver only
	holders := make([]atomic.Int64, cfg.Messages)
	all := make([]chan struct{}, cfg.Messages) // closed once every subscriber holds message j
	for j := range all {
		all[j] = make(chan struct{})
	}
	var rwg sync.WaitGroup
	for i, c := range subs {
		arrivals[i] = make([]time.Time, cfg.Messages)
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			for texts := range c.Delivered() {
				now := time.Now()
				for _, t := range texts {
					j, ok := fanoutSeq(t)
					if !ok || j >= cfg.Messages || !arrivals[i][j].IsZero() {
						continue
					}
					arrivals[i][j] = now
					if holders[j].Add(1) == int64(len(subs)) {
						close(all[j])
					}
				}
			}
		}()
	}
	sender, err := cfg.Model.Sender(ctx, len(subs))
	if err != nil {
		return res, err
	}
	defer sender.Close()
	starts := make([]time.Time, cfg.Messages)
	for j := range starts {
		progress("sending", j, cfg.Messages)
		starts[j] = time.Now()
		if err := sender.Send(ctx, fmt.Sprint("fanout ", j)); err != nil {
			return res, err
		}
		select {
		case <-all[j]:
		case <-time.After(fanoutWait):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	closeClients(subs)
	rwg.Wait()
	subs = nil
	var last, pairs []time.Duration
	for j, t0 := range starts {
		var worst time.Duration
		for i := range arrivals {
			if at := arrivals[i][j]; !at.IsZero() {
				d := at.Sub(t0)
				pairs = append(pairs, d)
				worst = max(worst, d)
			} else {
				res.Missing++
			}
		}
		last = append(last, worst)
	}
	res.Last, res.All = percentiles(last), percentiles(pairs)
	return res, nil
}

func fanoutSeq(text string) (int, bool) {
	s, ok := strings.CutPrefix(text, "fanout ")
	if !ok {
		return 0, false
	}
	j, err := strconv.Atoi(s)
	return j, err == nil && j >= 0
}

// MedianFanout is the median of each figure over several runs.
func MedianFanout(runs []FanoutResult) FanoutResult {
	if len(runs) == 0 {
		return FanoutResult{}
	}
	pct := func(f func(FanoutResult) Percentiles) Percentiles {
		return Percentiles{
			N:   medianInt(runs, func(r FanoutResult) int { return f(r).N }),
			P50: medianDur(runs, func(r FanoutResult) time.Duration { return f(r).P50 }),
			P99: medianDur(runs, func(r FanoutResult) time.Duration { return f(r).P99 }),
			Max: medianDur(runs, func(r FanoutResult) time.Duration { return f(r).Max }),
		}
	}
	return FanoutResult{
		Model: runs[0].Model, Subscribers: runs[0].Subscribers, Messages: runs[0].Messages,
		Last:               pct(func(r FanoutResult) Percentiles { return r.Last }),
		All:                pct(func(r FanoutResult) Percentiles { return r.All }),
		BytesPerSubscriber: int64(medianOf(runs, func(r FanoutResult) float64 { return float64(r.BytesPerSubscriber) })),
		Missing:            medianInt(runs, func(r FanoutResult) int { return r.Missing }),
	}
}
