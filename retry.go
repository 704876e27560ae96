package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// Backoff of the scriptable commands' retries: a server that is starting
// up is noticed within a fraction of a second, one that is down costs a
// request every 5 s.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
)

// retrier runs a command's calls to the server again after transient
// failures (no answer, connection refused, a 5xx), with jittered capped
// exponential backoff, saying so on stderr; an answer that refuses (4xx)
// is final at once. It retries until ctx ends: within --timeout for a
// one-shot command, forever under --follow.
type retrier struct {
	server string
	stderr io.Writer
	// attempt bounds each attempt when ctx has no deadline, so that a
	// server that accepts and never answers is tried again too.
	attempt time.Duration
}

func newRetrier(c *webaas.Client, stderr io.Writer, attempt time.Duration) retrier {
	return retrier{server: c.BaseURL(), stderr: stderr, attempt: attempt}
}

// do runs op until it succeeds, fails for good, or ctx ends.
func (rt retrier) do(ctx context.Context, op func(ctx context.Context) error) error {
	b := &backoff.Backoff{Min: retryMin, Max: retryMax}
	return backoff.Retry(ctx, b, func() error {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if _, ok := ctx.Deadline(); !ok && rt.attempt > 0 {
			actx, cancel = context.WithTimeout(ctx, rt.attempt)
		}
		defer cancel()
		return op(actx)
	}, transient, rt.notify)
}

func (rt retrier) notify(err error, wait time.Duration) {
	what := "cannot reach the server at " + rt.server
	var we *webaas.Error
	var ue *url.Error
	switch {
	case errors.As(err, &we):
		what = "the server at " + rt.server + " is failing"
	case errors.As(err, &ue):
		err = ue.Err // the cause, without the URL (it holds the room code)
	}
	fmt.Fprintf(rt.stderr, "%s; retrying in %.1fs (%v)\n", what, wait.Seconds(), err)
}

// transient: a failure that may go away by itself: no answer (refused,
// reset, cut short, timed out) or a server fault (5xx, from the server or
// a proxy). An answer below 500 is the server saying no; anything else
// (a bad room code, a write to stdout) is not the network's doing.
func transient(err error) bool {
	var we *webaas.Error
	if errors.As(err, &we) {
		return we.Status >= 500
	}
	var ue *url.Error
	var oe *net.OpError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF)
}
