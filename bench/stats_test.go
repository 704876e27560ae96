package bench

import (
	"testing"
	"time"
)

// step is a step that passes at rate r unless changed.
func step(r float64) SweepStep {
	return SweepStep{Model: "ours", Rate: r, Offered: r, Achieved: r, Sent: 10, Acked: 10,
		Delivery: Percentiles{N: 10, P50: 2 * time.Millisecond, P99: 10 * time.Millisecond, Max: 12 * time.Millisecond}}
}

func TestPassed(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*SweepStep)
		want bool
	}{
		{"clean", func(*SweepStep) {}, true},
		{"p99 at the bound", func(s *SweepStep) { s.Delivery.P99 = KneeP99 }, true},
		{"p99 over the bound", func(s *SweepStep) { s.Delivery.P99 = KneeP99 + 1 }, false},
		{"a lost pair", func(s *SweepStep) { s.LostPairs = 1 }, false},
		{"a failed send", func(s *SweepStep) { s.Failed = 1 }, false},
		{"94% taken", func(s *SweepStep) { s.Achieved = 0.94 * s.Offered }, false},
		{"95% taken", func(s *SweepStep) { s.Achieved = 0.95 * s.Offered }, true},
		{"nothing acknowledged", func(s *SweepStep) { s.Acked = 0 }, false},
		{"a lost reaction pair", func(s *SweepStep) { s.LostReactionPairs = 1 }, false},
		{"a failed reaction", func(s *SweepStep) { s.ReactionsFailed = 1 }, false},
		{"a failed typing write", func(s *SweepStep) { s.TypingFailed = 1 }, true},
	} {
		s := step(100)
		c.edit(&s)
		if got := s.Passed(); got != c.want {
			t.Errorf("%s: Passed() = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestKnee(t *testing.T) {
	slow := step(200)
	slow.Delivery.P99 = time.Second
	lossy := step(800)
	lossy.LostPairs = 3
	steps := []SweepStep{step(25), step(50), step(100), slow, step(400), lossy}
	// 400 passed after 200 failed: the knee is the highest passing rate.
	if k := Knee(steps); k != 400 {
		t.Errorf("Knee = %v, want 400", k)
	}
	if k := Knee([]SweepStep{slow, lossy}); k != 0 {
		t.Errorf("Knee of failures = %v, want 0", k)
	}
	if k := MedianKnee([][]SweepStep{steps, {step(25), slow}, {step(25), step(50)}}); k != 50 {
		t.Errorf("MedianKnee = %v, want 50 (of 400, 25, 50)", k)
	}
	if k := MedianKnee([][]SweepStep{steps, {step(25), slow}}); k != 25 {
		t.Errorf("MedianKnee of two = %v, want the lower, 25 (of 400, 25)", k)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{9, 1, 5}, 5}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its argument")
	}
}

func TestMedianSteps(t *testing.T) {
	a, b, c := step(50), step(50), step(50)
	a.Delivery.P99, b.Delivery.P99, c.Delivery.P99 = 10*time.Millisecond, 90*time.Millisecond, 30*time.Millisecond
	a.LostPairs, b.LostPairs, c.LostPairs = 0, 7, 1
	for i, x := range []*SweepStep{&a, &b, &c} {
		x.Typing, x.ReactEvery = true, 10
		x.TypingPerSecond, x.ReactionRequestsPerSecond = float64(30+i), float64(9-i)
		x.ReactionDelivery.P99 = time.Duration(i+1) * time.Millisecond
	}
	hi := step(100)
	got := MedianSteps([][]SweepStep{{step(25), a, hi}, {step(25), b}, {step(25), c}})
	if len(got) != 3 || got[0].Rate != 25 || got[1].Rate != 50 || got[2].Rate != 100 {
		t.Fatalf("rates: %+v", got)
	}
	m := got[1]
	if m.Delivery.P99 != 30*time.Millisecond || m.LostPairs != 1 || m.Runs != 3 || m.PassedRuns != 1 {
		t.Errorf("median of 50 msg/s: p99 %v lost %d runs %d passed %d; want 30ms, 1, 3, 1", m.Delivery.P99, m.LostPairs, m.Runs, m.PassedRuns)
	}
	if !m.Typing || m.ReactEvery != 10 || m.TypingPerSecond != 31 || m.ReactionRequestsPerSecond != 8 || m.ReactionDelivery.P99 != 2*time.Millisecond {
		t.Errorf("median of 50 msg/s: typing %v, react every %d, typing %.0f/s, reactions %.0f reqs/s, p99 %v; want true, 10, 31, 8, 2ms",
			m.Typing, m.ReactEvery, m.TypingPerSecond, m.ReactionRequestsPerSecond, m.ReactionDelivery.P99)
	}
	if got[0].PassedRuns != 3 || !got[0].MajorityPassed() || m.MajorityPassed() {
		t.Errorf("passed: 25 msg/s %d of %d, 50 msg/s %d of %d", got[0].PassedRuns, got[0].Runs, m.PassedRuns, m.Runs)
	}
	if got[2].Runs != 1 {
		t.Errorf("100 msg/s ran in 1 run, got %d", got[2].Runs)
	}
}

func TestBenchSeq(t *testing.T) {
	for text, want := range map[string]int{"bench 3 17": 17, "bench 0 0": 0, "fanout 3": -1, "bench 1 x": -1, "": -1, "bench 1 -2": -1} {
		k, ok := benchSeq(text)
		if (want >= 0) != ok || (ok && k != want) {
			t.Errorf("benchSeq(%q) = %d, %v; want %d", text, k, ok, want)
		}
	}
}

// A reaction as Delivered yields it is never taken for a bench message,
// nor one for a reaction.
func TestReactionSeq(t *testing.T) {
	if seq, ok := reactionSeq(reactionText(42)); !ok || seq != 42 {
		t.Errorf("reactionSeq(reactionText(42)) = %d, %v", seq, ok)
	}
	if _, ok := benchSeq(reactionText(42)); ok {
		t.Error("benchSeq takes a reaction")
	}
	for _, text := range []string{benchText(1, 2), "reaction 0", "reaction x", "👍"} {
		if _, ok := reactionSeq(text); ok {
			t.Errorf("reactionSeq takes %q", text)
		}
	}
}

func TestSweepStops(t *testing.T) {
	slow := step(100) // past the bound, but not by far
	slow.Delivery.P99 = 2 * KneeP99
	collapsed := step(100)
	collapsed.Delivery.P99 = 10 * time.Second
	collapsed.Achieved = 50
	lossy := step(25)
	lossy.LostPairs = 1
	ours := SweepConfig{Through: 200}
	original := SweepConfig{StopAtFirstFailure: true, Through: 200}
	for _, c := range []struct {
		name string
		cfg  SweepConfig
		s    SweepStep
		want bool
	}{
		{"ours, passed", ours, step(400), false},
		{"ours, slow", ours, withRate(slow, 400), false},
		{"ours, collapsed below --through", ours, collapsed, false},
		{"ours, collapsed at --through", ours, withRate(collapsed, 200), true},
		{"original, passed", original, step(25), false},
		{"original, a lost pair", original, lossy, true},
		{"original, slow below --through", original, slow, true},
	} {
		if got := c.cfg.stopsAfter(c.s); got != c.want {
			t.Errorf("%s: stopsAfter = %v, want %v", c.name, got, c.want)
		}
	}
}

// withRate is s moved to rate r, offered and achieved scaled alike.
func withRate(s SweepStep, r float64) SweepStep {
	f := r / s.Rate
	s.Rate, s.Offered, s.Achieved = r, f*s.Offered, f*s.Achieved
	return s
}
