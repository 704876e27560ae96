package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// GreedyConfig describes a run of greedy senders: each keeps one send in
// flight and sends the next as soon as the last is acknowledged.
type GreedyConfig struct {
	Model    Model
	Senders  int
	Duration time.Duration
	Settle   time.Duration // bound on the last sends after Duration
	Cluster  *Cluster      // for the server's CPU time; may be nil
}

// GreedyResult is what a greedy-senders run measured.
type GreedyResult struct {
	Model   string
	Senders int
	Acked   int
	Failed  int
	// Lost are acknowledged sends missing from the room afterwards.
	Lost int
	// Rate is acknowledged (durable) sends per second.
	Rate float64
	// Ack is the time from just before Send until it returned success.
	Ack                      Percentiles
	ServerCPU, CPUPerMessage time.Duration
	Elapsed                  time.Duration
	OtherLoad                float64 // as in SweepStep
}

func (r GreedyResult) String() string {
	return fmt.Sprintf("%s, %d greedy senders: %.0f acknowledged msg/s; ack p50 %s p99 %s; failed %d, lost %d; server CPU %s/msg; others %.2f cores",
		r.Model, r.Senders, r.Rate, ms(r.Ack.P50), ms(r.Ack.P99), r.Failed, r.Lost, ms(r.CPUPerMessage), r.OtherLoad)
}

// RunGreedy runs the senders for the duration.
func RunGreedy(ctx context.Context, cfg GreedyConfig) (GreedyResult, error) {
	res := GreedyResult{Model: cfg.Model.Name(), Senders: cfg.Senders}
	if cfg.Settle <= 0 {
		cfg.Settle = 10 * time.Second
	}
	before, err := cfg.Model.Count(ctx)
	if err != nil {
		return res, err
	}
	senders := make([]Client, cfg.Senders)
	for i := range senders {
		if senders[i], err = cfg.Model.Sender(ctx, i); err != nil {
			closeClients(senders)
			return res, fmt.Errorf("sender %d: %w", i, err)
		}
	}
	defer closeClients(senders)
	var cpu func() (time.Duration, error)
	if cfg.Cluster != nil && cfg.Cluster.Measured() {
		cpu = cfg.Cluster.CPU
	}
	cpu0 := readCPU(cpu)
	load := startLoad(cpu)
	began := time.Now()
	stopAt := began.Add(cfg.Duration)
	sctx, cancel := context.WithDeadline(ctx, stopAt.Add(cfg.Settle))
	defer cancel()
	lat := make([][]time.Duration, len(senders))
	failed := make([]int, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; time.Now().Before(stopAt) && sctx.Err() == nil; k++ {
				t0 := time.Now()
				if err := s.Send(sctx, benchText(i, k)); err != nil {
					failed[i]++
					continue
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(began)
	res.OtherLoad = load.other()
	if cpu != nil {
		res.ServerCPU = readCPU(cpu) - cpu0
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var all []time.Duration
	for i := range lat {
		all = append(all, lat[i]...)
		res.Failed += failed[i]
	}
	res.Acked = len(all)
	res.Ack = percentiles(all)
	res.Rate = float64(res.Acked) / res.Elapsed.Seconds()
	if res.Acked > 0 && cpu != nil {
		res.CPUPerMessage = res.ServerCPU / time.Duration(res.Acked)
	}
	after, err := cfg.Model.Count(ctx)
	if err != nil {
		return res, err
	}
	res.Lost = max(res.Acked-(after-before), 0)
	return res, nil
}

// MedianGreedy is the median of each field over runs of one setting.
func MedianGreedy(runs []GreedyResult) GreedyResult {
	if len(runs) == 0 {
		return GreedyResult{}
	}
	return GreedyResult{
		Model: runs[0].Model, Senders: runs[0].Senders,
		Acked:  medianInt(runs, func(r GreedyResult) int { return r.Acked }),
		Failed: medianInt(runs, func(r GreedyResult) int { return r.Failed }),
		Lost:   medianInt(runs, func(r GreedyResult) int { return r.Lost }),
		Rate:   medianOf(runs, func(r GreedyResult) float64 { return r.Rate }),
		Ack: Percentiles{
			N:   medianInt(runs, func(r GreedyResult) int { return r.Ack.N }),
			P50: medianDur(runs, func(r GreedyResult) time.Duration { return r.Ack.P50 }),
			P99: medianDur(runs, func(r GreedyResult) time.Duration { return r.Ack.P99 }),
			Max: medianDur(runs, func(r GreedyResult) time.Duration { return r.Ack.Max }),
		},
		ServerCPU:     medianDur(runs, func(r GreedyResult) time.Duration { return r.ServerCPU }),
		CPUPerMessage: medianDur(runs, func(r GreedyResult) time.Duration { return r.CPUPerMessage }),
		Elapsed:       medianDur(runs, func(r GreedyResult) time.Duration { return r.Elapsed }),
		OtherLoad:     medianOf(runs, func(r GreedyResult) float64 { return r.OtherLoad }),
	}
}
