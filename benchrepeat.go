package main

// The bench's repeated sections (sweep, greedy, fanout): each run of each
// on a fresh server, medians over the runs.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// sweepReport is one model's sweeps.
type sweepReport struct {
	Model  string              `json:"model"`
	Runs   [][]bench.SweepStep `json:"runs"`
	Knees  []float64           `json:"knees"`
	Median []bench.SweepStep   `json:"median"`
	Knee   float64             `json:"knee"` // the median of the runs' knees
}

// greedyReport is one setting of greedy senders over the runs.
type greedyReport struct {
	Model   string               `json:"model"`
	Senders int                  `json:"senders"`
	Runs    []bench.GreedyResult `json:"runs"`
	Median  bench.GreedyResult   `json:"median"`
}

// fanoutReport is the fan-out over the runs.
type fanoutReport struct {
	Runs   []bench.FanoutResult `json:"runs"`
	Median bench.FanoutResult   `json:"median"`
}

// Rough durations, for the time left on the progress line.
func (b *benchRun) stepEstimate() time.Duration   { return b.f.duration + 5*time.Second }
func (b *benchRun) greedyEstimate() time.Duration { return b.f.duration + 3*time.Second }
func (b *benchRun) fanoutEstimate() time.Duration {
	return 10*time.Second + time.Duration(b.f.fanout)*10*time.Millisecond + time.Duration(b.f.fanoutMsgs)*100*time.Millisecond
}

func (b *benchRun) repeated(ctx context.Context) error {
	f, rep := b.f, b.rep
	if !f.run["sweep"] && !f.run["greedy"] && !f.run["fanout"] {
		return nil
	}
	var plan time.Duration
	if f.run["sweep"] {
		plan += time.Duration(len(f.models)*len(f.rates)) * b.stepEstimate()
	}
	if f.run["greedy"] {
		plan += time.Duration(len(f.models)*len(f.greedy)) * b.greedyEstimate()
	}
	if f.run["fanout"] {
		plan += b.fanoutEstimate()
	}
	b.prog.plan(time.Duration(f.runs) * plan)

	sweeps := map[string]*sweepReport{}
	greedy := map[string]*greedyReport{}
	fan := &fanoutReport{}
	for r := range f.runs {
		b.fsyncDone = false
		if f.run["sweep"] {
			for _, model := range f.models {
				steps, err := b.sweep(ctx, r, model)
				if err != nil {
					return err
				}
				s := sweeps[model]
				if s == nil {
					s = &sweepReport{Model: model}
					sweeps[model] = s
					rep.Sweeps = append(rep.Sweeps, s)
				}
				s.Runs = append(s.Runs, steps)
				s.Knees = append(s.Knees, bench.Knee(steps))
			}
		}
		if f.run["greedy"] {
			for _, model := range f.models {
				for _, n := range f.greedy {
					res, err := b.greedy(ctx, r, model, n)
					if err != nil {
						return err
					}
					key := fmt.Sprint(model, n)
					g := greedy[key]
					if g == nil {
						g = &greedyReport{Model: model, Senders: n}
						greedy[key] = g
						rep.Greedy = append(rep.Greedy, g)
					}
					g.Runs = append(g.Runs, res)
				}
			}
		}
		if f.run["fanout"] {
			res, err := b.fanout(ctx, r)
			if err != nil {
				return err
			}
			fan.Runs = append(fan.Runs, res)
			rep.Fanout = fan
		}
		if !b.fsyncDone {
			if err := b.measureFsync(""); err != nil {
				return err
			}
		}
	}
	for _, s := range rep.Sweeps {
		s.Median, s.Knee = bench.MedianSteps(s.Runs), bench.MedianKnee(s.Runs)
	}
	for _, g := range rep.Greedy {
		g.Median = bench.MedianGreedy(g.Runs)
	}
	if rep.Fanout != nil {
		rep.Fanout.Median = bench.MedianFanout(rep.Fanout.Runs)
	}
	med := bench.MedianFsync(rep.FsyncRuns)
	rep.Fsync = &med
	rep.Runs = f.runs
	if f.chart != "" && len(rep.Sweeps) > 0 {
		return b.writeChart()
	}
	return nil
}

// measureFsync times this machine's fsync once per run, in the server's
// data directory when there is one, else in a directory of its own
// beside where the servers keep their data.
func (b *benchRun) measureFsync(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp(b.f.dataParent, "webaas-fsync-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	b.prog.status("timing fsync in %s", dir)
	res, err := bench.MeasureFsync(dir, b.f.fsyncWrites)
	if err != nil {
		return fmt.Errorf("measure fsync: %w", err)
	}
	b.fsyncDone = true
	b.rep.FsyncRuns = append(b.rep.FsyncRuns, res)
	b.prog.line("%v", res)
	return nil
}

func (b *benchRun) newModel(name string, urls []string, members bool) func(context.Context) (bench.Model, error) {
	return func(ctx context.Context) (bench.Model, error) {
		if name == "original" {
			return bench.NewOriginal(ctx, urls...)
		}
		m, err := bench.NewOurs(ctx, b.f.e2e, urls...)
		if m != nil {
			m.Members = members
			// Typing and reactions are the sweep's, whose clients are
			// the members; a reaction counts only signed.
			m.Actions = members && b.f.actions()
			m.Sign = m.Sign || b.f.sign || m.Actions && b.f.reactEvery > 0
		}
		return m, err
	}
}

func (b *benchRun) runLabel(r int) string {
	if b.f.runs == 1 {
		return ""
	}
	return fmt.Sprintf("run %d/%d · ", r+1, b.f.runs)
}

func (b *benchRun) sweep(ctx context.Context, r int, model string) ([]bench.SweepStep, error) {
	f := b.f
	cl, err := b.cluster(ctx)
	if err != nil {
		return nil, err
	}
	defer cl.Stop()
	if !b.fsyncDone && cl.DataDir != "" {
		if err := b.measureFsync(cl.DataDir); err != nil {
			return nil, err
		}
	}
	label := b.runLabel(r)
	est := b.stepEstimate()
	steps, err := bench.RunSweep(ctx, bench.SweepConfig{
		NewModel: b.newModel(model, cl.URLs, true), Cluster: cl, Members: f.members, Rates: f.rates,
		Duration: f.duration, Settle: f.settle, StopAtFirstFailure: model == "original", Through: f.through,
		Typing: f.typing, ReactEvery: f.reactEvery,
		Progress: func(i int, rate float64, phase string, d time.Duration) {
			if phase == "connecting" {
				b.prog.unit(est)
			}
			b.prog.status("%ssweep · %s · step %d/%d: %.0f msg/s into %d members · %s %s",
				label, model, i+1, len(f.rates), rate, f.members, phase, progressOf(phase, d, f.duration))
		},
		Done: func(s bench.SweepStep) {
			b.prog.done()
			b.prog.line("%s%v", label, s)
		},
	})
	b.prog.drop(time.Duration(len(f.rates)-len(steps)) * est)
	return steps, err
}

// progressOf says how far a phase is, where that is known.
func progressOf(phase string, d, of time.Duration) string {
	if phase != "sending" {
		return ""
	}
	return fmt.Sprintf("%.0f/%.0f s", d.Seconds(), of.Seconds())
}

func (b *benchRun) greedy(ctx context.Context, r int, model string, n int) (bench.GreedyResult, error) {
	f := b.f
	cl, err := b.cluster(ctx)
	if err != nil {
		return bench.GreedyResult{}, err
	}
	defer cl.Stop()
	m, err := b.newModel(model, cl.URLs, false)(ctx)
	if err != nil {
		return bench.GreedyResult{}, err
	}
	b.prog.unit(b.greedyEstimate())
	b.prog.status("%sgreedy · %s · %d senders, one send in flight each, for %v", b.runLabel(r), model, n, f.duration)
	res, err := bench.RunGreedy(ctx, bench.GreedyConfig{Model: m, Senders: n, Duration: f.duration, Settle: f.settle, Cluster: cl})
	if err != nil {
		return res, err
	}
	b.prog.done()
	b.prog.line("%s%v", b.runLabel(r), res)
	return res, nil
}

func (b *benchRun) fanout(ctx context.Context, r int) (bench.FanoutResult, error) {
	f := b.f
	cl, err := b.cluster(ctx)
	if err != nil {
		return bench.FanoutResult{}, err
	}
	defer cl.Stop()
	m, err := b.newModel("ours", cl.URLs, false)(ctx)
	if err != nil {
		return bench.FanoutResult{}, err
	}
	b.prog.unit(b.fanoutEstimate())
	res, err := bench.RunFanout(ctx, bench.FanoutConfig{
		Model: m, Subscribers: f.fanout, Messages: f.fanoutMsgs, Cluster: cl,
		Progress: func(phase string, done, total int) {
			b.prog.status("%sfanout · %s %d/%d", b.runLabel(r), phase, done, total)
		},
	})
	if err != nil {
		return res, err
	}
	b.prog.done()
	b.prog.line("%sfanout: %v", b.runLabel(r), res)
	return res, nil
}

func (b *benchRun) writeChart() error {
	b.rep.StepDuration = b.f.duration
	if err := bench.WriteSweepChart(b.f.chart, chartTitle(*b.rep), chartSeries(*b.rep, "")); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	b.rep.Chart = b.f.chart
	return nil
}

func chartTitle(r benchReport) string {
	title := "Delivery in a room"
	if len(r.Sweeps) > 0 && len(r.Sweeps[0].Median) > 0 {
		title = fmt.Sprintf("Delivery in a %d-member room", r.Sweeps[0].Median[0].Members)
	}
	if r.StepDuration > 0 {
		title += fmt.Sprintf(", %v per step", r.StepDuration)
	}
	if r.Runs > 1 {
		title += fmt.Sprintf(", medians of %d runs", r.Runs)
	}
	if strings.Contains(r.Server, "PostgreSQL") {
		title += ", PostgreSQL"
	}
	return title
}

// chartSeries are a report's sweeps, labelled with suffix if any.
func chartSeries(r benchReport, suffix string) []bench.ChartSeries {
	var series []bench.ChartSeries
	for _, s := range r.Sweeps {
		label := s.Model
		if suffix != "" {
			label += " " + suffix
		}
		series = append(series, bench.ChartSeries{Model: s.Model, Label: label, Steps: s.Median, Knee: s.Knee})
	}
	return series
}

// chartFromReports draws the sweeps of saved reports on one chart; with
// several, each series is labelled with its file's name.
func chartFromReports(path string, files []string) error {
	var series []bench.ChartSeries
	var first benchReport
	for i, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		var r benchReport
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if i == 0 {
			first = r
		}
		suffix := ""
		if len(files) > 1 {
			suffix = "(" + strings.TrimSuffix(filepath.Base(name), filepath.Ext(name)) + ")"
		}
		series = append(series, chartSeries(r, suffix)...)
	}
	if err := bench.WriteSweepChart(path, chartTitle(first), series); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
