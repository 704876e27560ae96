// Package backoff is capped exponential backoff with jitter, and a retry
// loop on it. It imports nothing from this project, so that every retry
// in it (the watch's reconnects, the sender's, the feed's, the scriptable
// commands') can share one.
package backoff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// Backoff hands out the waits between attempts: the nth (from 0) is
// Min·2ⁿ capped at Max, drawn uniformly from its upper half, [d/2, d], so
// that clients that failed together do not come back together while the
// wait still grows. The zero value waits nothing; set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	// Rand draws uniformly from [0, n) for n > 0; nil means
	// math/rand/v2.Int64N. Tests inject their own.
	Rand func(n int64) int64

	attempt int
}

// Next returns the wait before the next attempt, and counts the attempt.
func (b *Backoff) Next() time.Duration {
	d := b.Min
	for i := 0; i < b.attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	b.attempt++
	if d <= 1 {
		return max(d, 0)
	}
	draw := b.Rand
	if draw == nil {
		draw = rand.Int64N
	}
	return d/2 + time.Duration(draw(int64(d/2)+1))
}

// Reset starts again from Min (after a success).
func (b *Backoff) Reset() { b.attempt = 0 }

// Retry calls op until it succeeds, fails with an error that retryable
// does not accept, or ctx ends, waiting b.Next() between calls. notify,
// if not nil, hears of each failure that will be retried and the wait
// before the retry. When ctx ends first, the error wraps op's last error
// and ctx's.
func Retry(ctx context.Context, b *Backoff, op func() error, retryable func(error) bool, notify func(err error, wait time.Duration)) error {
	for {
		err := op()
		if err == nil || !retryable(err) {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w; gave up: %w", err, context.Cause(ctx))
		}
		wait := b.Next()
		if notify != nil {
			notify(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w; gave up: %w", err, context.Cause(ctx))
		case <-t.C:
		}
	}
}
