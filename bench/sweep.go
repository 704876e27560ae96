package bench

import (
	"context"
	"fmt"
	"time"
)

// DefaultRates are a sweep's steps: aggregate messages per second into
// one room, doubling.
var DefaultRates = []float64{25, 50, 100, 200, 400, 800, 1600, 3200, 6400}

// SweepConfig describes a sweep of one model.
type SweepConfig struct {
	// NewModel makes a fresh room; each step gets one, so that no step
	// inherits another's history or backlog.
	NewModel func(context.Context) (Model, error)
	Cluster  *Cluster
	Members  int
	Rates    []float64
	Duration time.Duration
	Settle   time.Duration
	// StopAtFirstFailure ends the sweep at the first step that does not
	// pass (for the original design, which collapses early); otherwise
	// it ends at the first step that clearly fails, but not before the
	// rate Through (so that a row such as 200 msg/s is always measured).
	StopAtFirstFailure bool
	Through            float64
	// Typing and ReactEvery are every step's (StepConfig).
	Typing     bool
	ReactEvery int
	// Progress hears what step i (of the planned ones) is doing.
	Progress func(i int, rate float64, phase string, elapsed time.Duration)
	// Done hears each step's result.
	Done func(SweepStep)
}

// RunSweep runs the steps in order, each after the server has gone quiet.
func RunSweep(ctx context.Context, cfg SweepConfig) ([]SweepStep, error) {
	var out []SweepStep
	for i, rate := range cfg.Rates {
		if i > 0 {
			if cfg.Progress != nil {
				cfg.Progress(i, rate, "waiting for the server to go quiet", 0)
			}
			cfg.Cluster.Quiet(ctx, 30*time.Second)
		}
		m, err := cfg.NewModel(ctx)
		if err != nil {
			return out, fmt.Errorf("%.0f msg/s: %w", rate, err)
		}
		sc := StepConfig{Model: m, Members: cfg.Members, Rate: rate, Duration: cfg.Duration, Settle: cfg.Settle,
			Quiet:  func(ctx context.Context) { cfg.Cluster.Quiet(ctx, 10*time.Second) },
			Typing: cfg.Typing, ReactEvery: cfg.ReactEvery}
		if cfg.Cluster.Measured() {
			sc.CPU = cfg.Cluster.CPU
		}
		if cfg.Progress != nil {
			sc.Progress = func(phase string, d time.Duration) { cfg.Progress(i, rate, phase, d) }
		}
		s, err := RunStep(ctx, sc)
		if err != nil {
			return out, fmt.Errorf("%s at %.0f msg/s: %w", m.Name(), rate, err)
		}
		out = append(out, s)
		if cfg.Done != nil {
			cfg.Done(s)
		}
		if cfg.stopsAfter(s) {
			break
		}
	}
	return out, nil
}

// stopsAfter reports whether the sweep ends after step s.
func (cfg SweepConfig) stopsAfter(s SweepStep) bool {
	if cfg.StopAtFirstFailure {
		return !s.Passed()
	}
	return s.ClearlyFailed() && s.Rate >= cfg.Through
}

// String is a step in one line.
func (s SweepStep) String() string {
	verdict := "fail"
	if s.Passed() {
		verdict = "pass"
	}
	return fmt.Sprintf("%s %.0f msg/s: took %.0f/s; p50 %s p99 %s max %s; lost %d pairs (%d msgs), %d failed; %s CPU/msg; others %.2f cores%s; %s",
		s.Model, s.Rate, s.Achieved, ms(s.Delivery.P50), ms(s.Delivery.P99), ms(s.Delivery.Max),
		s.LostPairs, s.LostMessages, s.Failed, ms(s.CPUPerMessage), s.OtherLoad, s.actionsString(), verdict)
}

// actionsString is what the step's typing and reactions came to, if it
// had any.
func (s SweepStep) actionsString() string {
	var out string
	if s.Typing {
		out += fmt.Sprintf("; typing %.0f writes/s (%.1f%% of requests, %d failed), %d events told",
			s.TypingPerSecond, 100*s.TypingShare, s.TypingFailed, s.TypingEvents)
	}
	if s.ReactEvery > 0 {
		out += fmt.Sprintf("; %d reactions (%d failed), %.0f reqs/s (%.1f%%), p50 %s p99 %s, lost %d pairs",
			s.Reactions, s.ReactionsFailed, s.ReactionRequestsPerSecond, 100*s.ReactionShare,
			ms(s.ReactionDelivery.P50), ms(s.ReactionDelivery.P99), s.LostReactionPairs)
	}
	return out
}
