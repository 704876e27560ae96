package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

// groupRecorder is an apply function that records the groups it is given
// (as the batches' first write's text keys) and holds the first group
// until released, so that later commits pile up behind it.
type groupRecorder struct {
	started chan struct{}
	release chan struct{}
	groups  [][]string
}

func newGroupRecorder() *groupRecorder {
	return &groupRecorder{started: make(chan struct{}), release: make(chan struct{})}
}

func (g *groupRecorder) apply(group []*CommitReq) {
	if len(g.groups) == 0 {
		close(g.started)
		<-g.release
	}
	var names []string
	for i, r := range group {
		names = append(names, r.Batch.Writes[0].TextKey)
		r.Seq = uint64(i + 1)
	}
	g.groups = append(g.groups, names)
}

func sized(name string, n int) Batch {
	return Batch{Writes: []Write{{TextKey: name, Value: make([]byte, n)}}}
}

// TestCommitterSmallCommitsPassBigOnes: while a group is being applied,
// megabytes of big commits and one small commit queue up. The next group
// takes the oldest big one and the small one; the small one does not wait
// for every big one ahead of it.
func TestCommitterSmallCommitsPassBigOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroupRecorder()
		c := NewCommitter(g.apply, CommitterOptions{MaxCount: 100, MaxBytes: 1 << 20})
		defer c.Close()
		ctx := context.Background()
		commit := func(b Batch) {
			if _, err := c.Commit(ctx, b); err != nil {
				t.Error(err)
			}
		}
		go commit(sized("first", 10))
		<-g.started
		for i := range 4 {
			go commit(sized(fmt.Sprint("big", i), 900<<10))
			synctest.Wait() // queue them in this order
		}
		go commit(sized("small", 100))
		synctest.Wait()
		close(g.release)
		synctest.Wait()
		want := [][]string{{"first"}, {"big0", "small"}, {"big1"}, {"big2"}, {"big3"}}
		if !slices.EqualFunc(g.groups, want, slices.Equal) {
			t.Fatalf("groups %v, want %v", g.groups, want)
		}
	})
}

// TestCommitterCountCap: a group holds at most MaxCount commits; the rest
// go in the next one, oldest first.
func TestCommitterCountCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroupRecorder()
		c := NewCommitter(g.apply, CommitterOptions{MaxCount: 2})
		defer c.Close()
		go c.Commit(context.Background(), sized("first", 1))
		<-g.started
		for i := range 2 { // the channel holds MaxCount
			go c.Commit(context.Background(), sized(fmt.Sprint("c", i), 1))
			synctest.Wait()
		}
		close(g.release)
		synctest.Wait()
		go c.Commit(context.Background(), sized("later", 1))
		synctest.Wait()
		want := [][]string{{"first"}, {"c0", "c1"}, {"later"}}
		if !slices.EqualFunc(g.groups, want, slices.Equal) {
			t.Fatalf("groups %v, want %v", g.groups, want)
		}
	})
}

// TestCommitterGivesUpWhileQueued: a caller whose context ends before its
// group starts is told so, and its batch is never applied.
func TestCommitterGivesUpWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroupRecorder()
		c := NewCommitter(g.apply, CommitterOptions{})
		defer c.Close()
		go c.Commit(context.Background(), sized("first", 1))
		<-g.started
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := c.Commit(ctx, sized("abandoned", 1))
			done <- err
		}()
		synctest.Wait()
		cancel()
		close(g.release)
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("abandoned commit: %v, want context.Canceled", err)
		}
		synctest.Wait()
		for _, grp := range g.groups {
			if slices.Contains(grp, "abandoned") {
				t.Fatalf("groups %v: the abandoned batch was applied", g.groups)
			}
		}
	})
}

// TestCommitterCloseDrains: Close applies what is queued, then refuses.
func TestCommitterCloseDrains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGroupRecorder()
		c := NewCommitter(g.apply, CommitterOptions{})
		go c.Commit(context.Background(), sized("first", 1))
		<-g.started
		queued := make(chan error, 1)
		go func() {
			_, err := c.Commit(context.Background(), sized("queued", 1))
			queued <- err
		}()
		synctest.Wait()
		closed := make(chan struct{})
		go func() { c.Close(); close(closed) }()
		synctest.Wait()
		close(g.release)
		<-closed
		if err := <-queued; err != nil {
			t.Fatalf("a commit queued before Close: %v", err)
		}
		if _, err := c.Commit(context.Background(), sized("late", 1)); !errors.Is(err, ErrClosed) {
			t.Fatalf("Commit after Close: %v, want ErrClosed", err)
		}
	})
}
