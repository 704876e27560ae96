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
	// timeout is --timeout: it bounds each attempt when ctx has no
	// deadline (--follow), so that a server that accepts and never
	// answers is tried again too.
	timeout time.Duration
}

func newRetrier(c *webaas.Client, stderr io.Writer, timeout time.Duration) retrier {
	return retrier{server: c.BaseURL(), stderr: stderr, timeout: timeout}
}

// do runs op until it succeeds, fails for good, or ctx ends.
func (rt retrier) do(ctx context.Context, op func(ctx context.Context) error) error {
	b := &backoff.Backoff{Min: retryMin, Max: retryMax}
	err := backoff.Retry(ctx, b, func() error {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if _, ok := ctx.Deadline(); !ok && rt.timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, rt.timeout)
		}
		defer cancel()
		return op(actx)
	}, transient, rt.notify)
	if err != nil && ctx.Err() != nil && transient(err) {
		return &gaveUpError{what: rt.trouble(err), cause: plainCause(err), why: rt.gaveUp(ctx), err: err}
	}
	return err
}

func (rt retrier) notify(err error, wait time.Duration) {
	fmt.Fprintf(rt.stderr, "%s; retrying in %.1fs (%v)\n", rt.trouble(err), wait.Seconds(), plainCause(err))
}

// trouble says what a transient failure is: no answer, or a failing one.
func (rt retrier) trouble(err error) string {
	if errors.As(err, new(*webaas.Error)) {
		return "the server at " + rt.server + " is failing"
	}
	return "cannot reach the server at " + rt.server
}

// gaveUp says why the retries stopped.
func (rt retrier) gaveUp(ctx context.Context) string {
	if errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return fmt.Sprintf("gave up after --timeout (%v)", rt.timeout)
	}
	return "gave up: " + context.Cause(ctx).Error()
}

// plainCause is what went wrong, without the request's URL (it holds the
// room code, the key to the room) and the wrappings around it.
func plainCause(err error) error {
	var we *webaas.Error
	var ue *url.Error
	switch {
	case errors.As(err, &we):
		return we
	case errors.As(err, &ue):
		return ue.Err
	}
	return err
}

// gaveUpError is a command's last word after retrying transient failures
// until its time ran out: in words, like the retry lines before it. It
// unwraps to the last failure (and the context's error).
type gaveUpError struct {
	what  string // "cannot reach the server at URL"
	cause error
	why   string // "gave up after --timeout (30s)"
	err   error
}

func (e *gaveUpError) Error() string { return fmt.Sprintf("%s: %v; %s", e.what, e.cause, e.why) }
func (e *gaveUpError) Unwrap() error { return e.err }

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
