package bench_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// TestSweepBrief runs a sweep of one short step in a 3-member room of
// members that Join and Follow, and checks its bookkeeping: every send
// acknowledged, every (message, member) pair delivered and timed, none
// lost; then charts it. About a second.
func TestSweepBrief(t *testing.T) {
	srv := servertest.Start(t)
	ctx := context.Background()
	cl, err := bench.StartCluster(ctx, bench.ClusterConfig{External: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	var seen []bench.SweepStep
	steps, err := bench.RunSweep(ctx, bench.SweepConfig{
		NewModel: func(ctx context.Context) (bench.Model, error) {
			m, err := bench.NewOurs(ctx, false, srv.URL())
			if m != nil {
				m.Members = true
			}
			return m, err
		},
		Cluster: cl, Members: 3, Rates: []float64{20}, Duration: 500 * time.Millisecond, Settle: 5 * time.Second,
		Done: func(s bench.SweepStep) { seen = append(seen, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || len(seen) != 1 {
		t.Fatalf("want one step, reported once: %v, %v", steps, seen)
	}
	s := steps[0]
	t.Log(s)
	if s.Sent != 10 || s.Acked != 10 || s.Failed != 0 {
		t.Errorf("sent %d, acked %d, failed %d; want 10, 10, 0", s.Sent, s.Acked, s.Failed)
	}
	if s.Delivery.N != 30 || s.LostPairs != 0 || s.LostMessages != 0 {
		t.Errorf("delivered %d pairs, lost %d pairs, %d messages; want 30, 0, 0", s.Delivery.N, s.LostPairs, s.LostMessages)
	}
	if s.Delivery.P50 <= 0 || s.Delivery.P99 < s.Delivery.P50 || s.Achieved <= 0 || s.Offered <= 0 {
		t.Errorf("implausible figures: %v", s)
	}

	path := filepath.Join(t.TempDir(), "sweep.svg")
	series := []bench.ChartSeries{{Model: "ours", Steps: bench.MedianSteps([][]bench.SweepStep{steps}), Knee: bench.Knee(steps)}}
	if err := bench.WriteSweepChart(path, "test", series); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "ours p99", "ours p50", "p99 bound"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("chart lacks %q", want)
		}
	}
}

// TestGreedyAndFanoutBrief: a few greedy senders and a small fan-out,
// through the chat layer; every send counted, nothing lost or missing.
func TestGreedyAndFanoutBrief(t *testing.T) {
	srv := servertest.Start(t)
	ctx := context.Background()
	m, err := bench.NewOurs(ctx, false, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	g, err := bench.RunGreedy(ctx, bench.GreedyConfig{Model: m, Senders: 3, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(g)
	if g.Acked == 0 || g.Ack.N != g.Acked || g.Failed != 0 || g.Lost != 0 || g.Rate <= 0 {
		t.Errorf("greedy: %+v", g)
	}
	if got, err := m.Count(ctx); err != nil || got != g.Acked {
		t.Errorf("room holds %d (%v), want the %d acknowledged", got, err, g.Acked)
	}

	m, err = bench.NewOurs(ctx, false, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	f, err := bench.RunFanout(ctx, bench.FanoutConfig{Model: m, Subscribers: 5, Messages: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(f)
	if f.Missing != 0 || f.All.N != 15 || f.Last.N != 3 || f.Last.P99 < f.All.P50 {
		t.Errorf("fanout: %+v", f)
	}
}
