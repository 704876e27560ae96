package bench

// Pure functions over sweep results: which step passes, where the knee
// is, and the medians of several runs.

import (
	"slices"
	"time"
)

// The knee's criteria (issue 11): a step passes when p99 delivery is at
// most KneeP99, nothing is lost or failed, and the room takes at least
// KneeAchieved of what was offered. Reactions are messages too: one lost
// or failed fails the step. A failed typing write does not: the
// indicator is made to survive one (chat.TypingTimeout), and nothing of
// the room's is lost with it.
const (
	KneeP99      = 50 * time.Millisecond
	KneeAchieved = 0.95
)

// Passed reports whether a step meets the knee's criteria.
func (s SweepStep) Passed() bool {
	return s.Acked > 0 && s.Delivery.P99 <= KneeP99 && s.LostPairs == 0 && s.Failed == 0 &&
		s.Achieved >= KneeAchieved*s.Offered && s.LostReactionPairs == 0 && s.ReactionsFailed == 0
}

// MajorityPassed reports whether most runs of a median step passed.
func (s SweepStep) MajorityPassed() bool {
	if s.Runs == 0 {
		return s.Passed()
	}
	return 2*s.PassedRuns > s.Runs
}

// ClearlyFailed reports a step so far past the knee that higher rates
// are not worth running: p99 over 20 times the bound, or the room taking
// under 80% of what was offered, or messages lost outright.
func (s SweepStep) ClearlyFailed() bool {
	return s.Acked == 0 || s.Delivery.P99 > 20*KneeP99 || s.Achieved < 0.8*s.Offered || s.LostMessages > 0
}

// Knee is the highest offered rate (as asked: Rate) among the steps that
// passed; 0 when none did.
func Knee(steps []SweepStep) float64 {
	knee := 0.0
	for _, s := range steps {
		if s.Passed() {
			knee = max(knee, s.Rate)
		}
	}
	return knee
}

// Median is the middle value (the mean of the two middle ones for an
// even count); 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianOf applies Median to one field of each value.
func medianOf[T any](xs []T, f func(T) float64) float64 {
	v := make([]float64, len(xs))
	for i, x := range xs {
		v[i] = f(x)
	}
	return Median(v)
}

func medianDur[T any](xs []T, f func(T) time.Duration) time.Duration {
	return time.Duration(medianOf(xs, func(x T) float64 { return float64(f(x)) }))
}

func medianInt[T any](xs []T, f func(T) int) int {
	return int(medianOf(xs, func(x T) float64 { return float64(f(x)) }))
}

// MedianSteps folds the sweeps of several runs into one: for each asked
// rate, in ascending order, every field is the median over the runs that
// ran that step (Runs of them, PassedRuns of which passed). A run that
// stopped before a rate simply does not count there.
func MedianSteps(runs [][]SweepStep) []SweepStep {
	byRate := map[float64][]SweepStep{}
	for _, steps := range runs {
		for _, s := range steps {
			byRate[s.Rate] = append(byRate[s.Rate], s)
		}
	}
	rates := make([]float64, 0, len(byRate))
	for r := range byRate {
		rates = append(rates, r)
	}
	slices.Sort(rates)
	out := make([]SweepStep, 0, len(rates))
	for _, r := range rates {
		out = append(out, medianStep(byRate[r]))
	}
	return out
}

func medianStep(xs []SweepStep) SweepStep {
	m := SweepStep{
		Model:    xs[0].Model,
		Rate:     xs[0].Rate,
		Members:  xs[0].Members,
		Offered:  medianOf(xs, func(s SweepStep) float64 { return s.Offered }),
		Achieved: medianOf(xs, func(s SweepStep) float64 { return s.Achieved }),
		Sent:     medianInt(xs, func(s SweepStep) int { return s.Sent }),
		Acked:    medianInt(xs, func(s SweepStep) int { return s.Acked }),
		Failed:   medianInt(xs, func(s SweepStep) int { return s.Failed }),
		Delivery: Percentiles{
			N:   medianInt(xs, func(s SweepStep) int { return s.Delivery.N }),
			P50: medianDur(xs, func(s SweepStep) time.Duration { return s.Delivery.P50 }),
			P99: medianDur(xs, func(s SweepStep) time.Duration { return s.Delivery.P99 }),
			Max: medianDur(xs, func(s SweepStep) time.Duration { return s.Delivery.Max }),
		},
		LostPairs:     medianInt(xs, func(s SweepStep) int { return s.LostPairs }),
		LostMessages:  medianInt(xs, func(s SweepStep) int { return s.LostMessages }),
		ServerCPU:     medianDur(xs, func(s SweepStep) time.Duration { return s.ServerCPU }),
		CPUPerMessage: medianDur(xs, func(s SweepStep) time.Duration { return s.CPUPerMessage }),
		OtherLoad:     medianOf(xs, func(s SweepStep) float64 { return s.OtherLoad }),
		Runs:          len(xs),
		Requests:      medianCounts(xs),

		Typing:          xs[0].Typing,
		ReactEvery:      xs[0].ReactEvery,
		TypingWrites:    medianInt(xs, func(s SweepStep) int { return s.TypingWrites }),
		TypingFailed:    medianInt(xs, func(s SweepStep) int { return s.TypingFailed }),
		TypingPerSecond: medianOf(xs, func(s SweepStep) float64 { return s.TypingPerSecond }),
		TypingEvents:    medianInt(xs, func(s SweepStep) int { return s.TypingEvents }),
		Reactions:       medianInt(xs, func(s SweepStep) int { return s.Reactions }),
		ReactionsFailed: medianInt(xs, func(s SweepStep) int { return s.ReactionsFailed }),
		ReactionDelivery: Percentiles{
			N:   medianInt(xs, func(s SweepStep) int { return s.ReactionDelivery.N }),
			P50: medianDur(xs, func(s SweepStep) time.Duration { return s.ReactionDelivery.P50 }),
			P99: medianDur(xs, func(s SweepStep) time.Duration { return s.ReactionDelivery.P99 }),
			Max: medianDur(xs, func(s SweepStep) time.Duration { return s.ReactionDelivery.Max }),
		},
		LostReactionPairs:         medianInt(xs, func(s SweepStep) int { return s.LostReactionPairs }),
		ReactionRequestsPerSecond: medianOf(xs, func(s SweepStep) float64 { return s.ReactionRequestsPerSecond }),
		TypingShare:               medianOf(xs, func(s SweepStep) float64 { return s.TypingShare }),
		ReactionShare:             medianOf(xs, func(s SweepStep) float64 { return s.ReactionShare }),
	}
	for _, s := range xs {
		if s.Passed() {
			m.PassedRuns++
		}
	}
	return m
}

// MedianKnee is the median of the runs' knees; of an even number, the
// lower middle one, so that it is a rate some run reached.
func MedianKnee(runs [][]SweepStep) float64 {
	if len(runs) == 0 {
		return 0
	}
	knees := make([]float64, len(runs))
	for i, r := range runs {
		knees[i] = Knee(r)
	}
	slices.Sort(knees)
	return knees[(len(knees)-1)/2]
}

// Range is the lowest and highest of xs, to print beside a median.
func Range(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	return slices.Min(xs), slices.Max(xs)
}

// medianCounts is the median of each request kind over the runs that
// counted requests.
func medianCounts(xs []SweepStep) map[string]int64 {
	var out map[string]int64
	for _, x := range xs {
		for k := range x.Requests {
			if out == nil {
				out = map[string]int64{}
			}
			if _, done := out[k]; !done {
				out[k] = int64(medianInt(xs, func(s SweepStep) int { return int(s.Requests[k]) }))
			}
		}
	}
	return out
}
