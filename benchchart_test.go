package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// A chart drawn from two saved reports labels each series with its
// report, and says which has no knee.
func TestChartFromReports(t *testing.T) {
	dir := t.TempDir()
	report := func(name string, p99 time.Duration) string {
		s := bench.SweepStep{Model: "ours", Rate: 50, Members: 50, Offered: 50, Achieved: 50, Sent: 500, Acked: 500, Runs: 1,
			Delivery: bench.Percentiles{N: 25000, P50: time.Millisecond, P99: p99, Max: p99}}
		if s.Passed() {
			s.PassedRuns = 1
		}
		sw := &sweepReport{Model: "ours", Runs: [][]bench.SweepStep{{s}}, Median: []bench.SweepStep{s}}
		sw.Knee = bench.MedianKnee(sw.Runs)
		data, err := json.Marshal(benchReport{Runs: 1, Sweeps: []*sweepReport{sw}})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	before, after := report("before", 2*time.Second), report("after", 5*time.Millisecond)
	out := filepath.Join(dir, "chart.svg")
	if err := chartFromReports(out, []string{before, after}); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ours (before) p99", "ours (after) p99", "ours (before): no knee", "knee (ours (after)): 50 msg/s"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("chart lacks %q", want)
		}
	}
}
