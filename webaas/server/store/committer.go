package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// Committer is the group-commit machinery the stores share. Commit calls
// queue a request and wait; one goroutine takes every request waiting at
// that moment and hands them, as a group, to the store's apply function,
// so many concurrent commits share one durable write (one fsync, one
// database transaction) instead of paying one each.
//
// A group is capped by count and by bytes. The oldest waiting request
// always joins the next group; younger ones join while they fit, and
// those that do not fit wait for the next group, ahead of newer arrivals.
// So a small commit never queues behind megabytes of other clients'
// writes: it joins the first group with room for it.
type Committer struct {
	apply    func(group []*CommitReq)
	maxCount int
	maxBytes int

	mu      sync.RWMutex // guards closed and sends on reqs
	closed  bool
	reqs    chan *CommitReq
	stopped chan struct{}

	commits, groups atomic.Uint64
}

// CommitStats counts the commits a store applied and the groups (durable
// writes: fsyncs, database transactions) that carried them; their ratio
// is what group commit saves.
type CommitStats struct {
	Commits, Groups uint64
}

// GroupCommitter is a store that commits in groups and counts them.
type GroupCommitter interface {
	CommitStats() CommitStats
}

// Stats returns the counts so far.
func (c *Committer) Stats() CommitStats {
	return CommitStats{Commits: c.commits.Load(), Groups: c.groups.Load()}
}

// CommitterOptions bound the groups a Committer forms.
type CommitterOptions struct {
	MaxCount int // commits per group (default 512)
	MaxBytes int // bytes of keys and values per group (default 1 MiB); a larger commit goes alone
}

// CommitReq is one queued Commit. The apply function sets Seq or Err on
// each request of its group; it may answer a refused request early with
// Answer (it wrote nothing, so it need not wait for the group's flush).
type CommitReq struct {
	Ctx   context.Context
	Batch Batch
	Seq   uint64
	Err   error

	size     int
	assigned []uint64 // what PlanGroup gave the sequenced writes
	done     chan struct{}
	answered bool // only the committer goroutine touches it
}

// Answer releases the waiting Commit call, once. Only apply, on the
// committer's goroutine, calls it.
func (r *CommitReq) Answer() {
	if !r.answered {
		r.answered = true
		close(r.done)
	}
}

// Size is what a batch weighs against a group's byte cap.
func (b Batch) Size() int {
	n := 0
	for _, r := range b.Reads {
		n += len(r.Key.App) + len(r.Key.Schema) + len(r.Key.Key)
	}
	for _, w := range b.Writes {
		n += len(w.Key.App) + len(w.Key.Schema) + len(w.Key.Key) + len(w.TextKey) + len(w.Value)
	}
	return n
}

// NewCommitter starts the committer goroutine. apply runs on it, one
// group at a time, and must set every request's outcome before it
// returns; the Committer then answers whatever apply did not.
func NewCommitter(apply func(group []*CommitReq), opts CommitterOptions) *Committer {
	if opts.MaxCount <= 0 {
		opts.MaxCount = 512
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	c := &Committer{
		apply: apply, maxCount: opts.MaxCount, maxBytes: opts.MaxBytes,
		reqs: make(chan *CommitReq, opts.MaxCount), stopped: make(chan struct{}),
	}
	go c.loop()
	return c
}

// Commit queues b and waits for its outcome. If ctx ends while b is still
// queued, Commit gives up (nothing was applied). Once its group is being
// applied it waits for the outcome even if ctx ends: the batch may land,
// and the caller must not be told otherwise.
func (c *Committer) Commit(ctx context.Context, b Batch) (uint64, error) {
	req := &CommitReq{Ctx: ctx, Batch: b, size: b.Size(), done: make(chan struct{})}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		c.mu.RUnlock()
		return 0, fmt.Errorf("commit: %w", ctx.Err())
	}
	c.mu.RUnlock()
	<-req.done
	return req.Seq, req.Err
}

// Close stops taking commits, applies those already queued and waits for
// the committer goroutine. Later Commits return ErrClosed.
func (c *Committer) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	<-c.stopped
}

// maxWaiting bounds the requests the committer holds back (over the
// channel's own buffer) while it forms groups.
const maxWaiting = 4096

func (c *Committer) loop() {
	defer close(c.stopped)
	var waiting []*CommitReq
	open := true
	for open || len(waiting) > 0 {
		if len(waiting) == 0 {
			req, ok := <-c.reqs
			if !ok {
				return
			}
			waiting = append(waiting, req)
		}
		// Take whatever else is waiting right now, without waiting: a lone
		// commit is not delayed.
	drain:
		for open && len(waiting) < maxWaiting {
			select {
			case req, ok := <-c.reqs:
				if !ok {
					open = false
					break drain
				}
				waiting = append(waiting, req)
			default:
				break drain
			}
		}
		var group []*CommitReq
		group, waiting = c.take(waiting)
		c.run(group)
	}
}

// take splits waiting into the next group and the rest, both in arrival
// order: the oldest request always, then every younger one that fits.
func (c *Committer) take(waiting []*CommitReq) (group, rest []*CommitReq) {
	bytes := 0
	for i, req := range waiting {
		fits := len(group) < c.maxCount && bytes+req.size <= c.maxBytes
		if i == 0 || fits {
			group = append(group, req)
			bytes += req.size
			continue
		}
		rest = append(rest, req)
	}
	return group, rest
}

// run applies one group and answers every request in it.
func (c *Committer) run(group []*CommitReq) {
	live := group[:0:0]
	for _, r := range group {
		if err := r.Ctx.Err(); err != nil {
			// The caller gave up before its group started: apply nothing.
			r.Err = fmt.Errorf("commit: %w", err)
			r.Answer()
			continue
		}
		live = append(live, r)
	}
	if len(live) > 0 {
		c.apply(live)
		c.groups.Add(1)
		c.commits.Add(uint64(len(live)))
	}
	for _, r := range live {
		if r.Err == nil && r.Batch.Assigned != nil {
			*r.Batch.Assigned = r.assigned
		}
	}
	for _, r := range live {
		r.Answer()
	}
}
