// Package bench drives simulated chat clients against a server, to check
// and to measure: many senders at once, every client's view of the room,
// delivery latency. The bench command and the reliability tests share it.
package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// SendersConfig describes a concurrent-senders run.
type SendersConfig struct {
	Server  string // base URL
	Room    string // room code
	Clients int    // simulated clients, each with its own connections
	Each    int    // messages each client sends, one after another
	// Watch tunes the clients' reconnects (tests use short backoffs).
	Reconnect backoff.Backoff
	// Settle bounds the wait, after the last send, for every client to
	// hold every message.
	Settle time.Duration
}

// SendersResult is what every client saw.
type SendersResult struct {
	Sent      int           // sends that returned success
	Failed    int           // sends that returned an error
	Expected  int           // messages in the room after the run (head - start)
	Held      []int         // per client: messages its feed delivered
	Identical bool          // every client holds the same sequence
	Dups      int           // duplicated (client id, client seq) pairs in the room
	Missing   int           // successful sends absent from the room
	Elapsed   time.Duration // from the first send to the last success
}

// String is a one-line summary.
func (r SendersResult) String() string {
	minHeld, maxHeld := slices.Min(r.Held), slices.Max(r.Held)
	return fmt.Sprintf("sent %d (failed %d) in %v; room grew by %d; each of %d clients holds %d..%d; identical order: %v; duplicates: %d; missing: %d",
		r.Sent, r.Failed, r.Elapsed.Round(time.Millisecond), r.Expected, len(r.Held), minHeld, maxHeld, r.Identical, r.Dups, r.Missing)
}

// OK reports a run in which nothing was lost, doubled or reordered.
func (r SendersResult) OK() bool {
	if !r.Identical || r.Dups > 0 || r.Missing > 0 {
		return false
	}
	for _, h := range r.Held {
		if h != r.Expected {
			return false
		}
	}
	return true
}

type client struct {
	start  int64 // the room's head when the run began
	room   *chat.Room
	sender *chat.Session
	got    []chat.Message
	mu     sync.Mutex
	done   chan struct{} // closed when the feed ends
	stop   context.CancelFunc
	acked  []chat.Message
	failed int
}

// RunSenders has Clients clients follow the room and each send Each
// messages concurrently, then checks that every client holds every
// message, once, in one order. A send that fails (the server is down) is
// retried by the chat layer until it succeeds or ctx ends.
func RunSenders(ctx context.Context, cfg SendersConfig) (SendersResult, error) {
	if cfg.Settle <= 0 {
		cfg.Settle = time.Minute
	}
	first, err := webaas.New(cfg.Server)
	if err != nil {
		return SendersResult{}, err
	}
	room0, err := chat.NewClient(first).OpenRoom(ctx, cfg.Room)
	if err != nil {
		return SendersResult{}, err
	}
	start, err := room0.Head(ctx)
	if err != nil {
		return SendersResult{}, err
	}
	clients := make([]*client, cfg.Clients)
	for i := range clients {
		c, err := newClient(ctx, cfg, i, start)
		if err != nil {
			for _, c := range clients[:i] {
				c.close()
			}
			return SendersResult{}, err
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()

	began := time.Now()
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < cfg.Each; j++ {
				m, err := c.sender.Send(ctx, fmt.Sprintf("client %d message %d", i, j))
				if err != nil {
					c.failed++
					continue
				}
				c.acked = append(c.acked, m)
			}
		}()
	}
	wg.Wait()
	res := SendersResult{Elapsed: time.Since(began)}
	for _, c := range clients {
		res.Sent += len(c.acked)
		res.Failed += c.failed
	}

	// Every client's feed must reach the room's head.
	sctx, cancel := context.WithTimeout(ctx, cfg.Settle)
	defer cancel()
	var head int64
	for {
		head, err = room0.Head(sctx)
		if err == nil {
			break
		}
		if sctx.Err() != nil {
			return res, fmt.Errorf("read head after the run: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.Expected = int(head - start)
	for _, c := range clients {
		c.waitFor(sctx, head)
	}

	// Compare what each client holds with the room itself.
	all, err := room0.After(sctx, start)
	if err != nil {
		return res, fmt.Errorf("read the room after the run: %w", err)
	}
	seen := map[string]bool{}
	for _, m := range all {
		id := fmt.Sprintf("%s/%d", m.ClientID, m.ClientSeq)
		if seen[id] {
			res.Dups++
		}
		seen[id] = true
	}
	for _, c := range clients {
		for _, m := range c.acked {
			if !seen[fmt.Sprintf("%s/%d", m.ClientID, m.ClientSeq)] {
				res.Missing++
			}
		}
	}
	res.Identical = true
	for _, c := range clients {
		c.mu.Lock()
		res.Held = append(res.Held, len(c.got))
		if !sameSeqs(c.got, all) {
			res.Identical = false
		}
		c.mu.Unlock()
	}
	return res, nil
}

func sameSeqs(a, b []chat.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Seq != b[i].Seq || a[i].ClientID != b[i].ClientID || a[i].ClientSeq != b[i].ClientSeq {
			return false
		}
	}
	return true
}

func newClient(ctx context.Context, cfg SendersConfig, i int, start int64) (*client, error) {
	wc, err := webaas.New(cfg.Server) // its own connections, like a separate process
	if err != nil {
		return nil, err
	}
	room, err := chat.NewClient(wc).OpenRoom(ctx, cfg.Room)
	if err != nil {
		return nil, err
	}
	sender, err := room.Sender(fmt.Sprintf("client%d", i), chat.SessionOptions{})
	if err != nil {
		return nil, err
	}
	fctx, stop := context.WithCancel(context.Background())
	events, err := room.Follow(fctx, start, chat.FollowOptions{Reconnect: cfg.Reconnect})
	if err != nil {
		stop()
		sender.Close()
		return nil, err
	}
	c := &client{start: start, room: room, sender: sender, done: make(chan struct{}), stop: stop}
	go func() {
		defer close(c.done)
		for ev := range events {
			if ev.Kind == chat.Messages {
				c.mu.Lock()
				c.got = append(c.got, ev.Messages...)
				c.mu.Unlock()
			}
		}
	}()
	return c, nil
}

// waitFor waits until the client's feed delivered seq head, or ctx ends.
func (c *client) waitFor(ctx context.Context, head int64) {
	for {
		c.mu.Lock()
		reached := int64(len(c.got)) >= head-c.start
		c.mu.Unlock()
		if reached || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (c *client) close() {
	c.stop()
	<-c.done
	c.sender.Close()
}
