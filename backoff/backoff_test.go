package backoff

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestNextDoublesUpToMaxWithinJitter(t *testing.T) {
	for _, tc := range []struct {
		name string
		rand func(n int64) int64
		want []time.Duration
	}{
		{"lowest draw", func(int64) int64 { return 0 }, []time.Duration{50, 100, 200, 400, 500, 500}},
		{"highest draw", func(n int64) int64 { return n - 1 }, []time.Duration{100, 200, 400, 800, 1000, 1000}},
	} {
		b := &Backoff{Min: 100 * time.Millisecond, Max: time.Second, Rand: tc.rand}
		for i, want := range tc.want {
			if got := b.Next(); got != want*time.Millisecond {
				t.Errorf("%s: wait %d is %v, want %v", tc.name, i, got, want*time.Millisecond)
			}
		}
		b.Reset()
		if got := b.Next(); got != tc.want[0]*time.Millisecond {
			t.Errorf("%s: after Reset the wait is %v", tc.name, got)
		}
	}
}

func TestNextWithTheDefaultRandomStaysInBounds(t *testing.T) {
	b := &Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond}
	for i := 0; i < 1000; i++ {
		d := min(10*time.Millisecond<<min(i, 3), 80*time.Millisecond)
		if got := b.Next(); got < d/2 || got > d {
			t.Fatalf("wait %d is %v, outside [%v, %v]", i, got, d/2, d)
		}
	}
	var zero Backoff
	if got := zero.Next(); got != 0 {
		t.Fatalf("the zero Backoff waits %v", got)
	}
}

var errTransient = errors.New("transient")

func retryable(err error) bool { return errors.Is(err, errTransient) }

func TestRetryWaitsBetweenFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &Backoff{Min: time.Second, Max: 4 * time.Second, Rand: func(n int64) int64 { return n - 1 }}
		calls := 0
		var waits []time.Duration
		start := time.Now()
		err := Retry(context.Background(), b, func() error {
			calls++
			if calls < 4 {
				return errTransient
			}
			return nil
		}, retryable, func(err error, wait time.Duration) { waits = append(waits, wait) })
		if err != nil || calls != 4 {
			t.Fatalf("err %v after %d calls", err, calls)
		}
		if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}; len(waits) != 3 || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
		if took := time.Since(start); took != 7*time.Second {
			t.Fatalf("took %v, want the 7 s of waits", took)
		}
	})
}

func TestRetryStopsAtAFinalError(t *testing.T) {
	final := errors.New("final")
	calls := 0
	err := Retry(context.Background(), &Backoff{Min: time.Hour, Max: time.Hour}, func() error { calls++; return final }, retryable, nil)
	if !errors.Is(err, final) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

func TestRetryGivesUpWhenTheContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		calls := 0
		err := Retry(ctx, &Backoff{Min: time.Second, Max: 2 * time.Second}, func() error { calls++; return errTransient }, retryable, nil)
		if !errors.Is(err, errTransient) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v: want the last failure and the deadline", err)
		}
		if calls < 5 || calls > 20 {
			t.Fatalf("%d calls in 10 s of 1-2 s waits", calls)
		}
	})
}
