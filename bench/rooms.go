package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// RoomsConfig is one chat holding many rooms, most of them busy in the
// background: what the chat itself costs (its requests and memory), the
// cost issue 13 asks to keep off the per-message path.
type RoomsConfig struct {
	Server   string
	Rooms    int           // rooms the chat has joined
	Busy     int           // of them, rooms others write into
	Rate     float64       // messages per second into each busy room
	Duration time.Duration // how long they write
}

// RoomsResult is what the chat cost over the run.
type RoomsResult struct {
	Rooms, Busy int
	Rate        float64
	Duration    time.Duration
	// Requests are the chat's HTTP requests over the run, by kind, and
	// RequestsPerSecond all of them over its length.
	Requests          map[string]int64
	RequestsPerSecond float64
	// Delivered of Sent messages reached the chat's feeds.
	Sent, Delivered int64
	// HeapBytes is the Go heap the chat's joined rooms hold, after a
	// collection, before the writers start (they live in this process
	// too).
	HeapBytes int64
}

func (r RoomsResult) String() string {
	return fmt.Sprintf("%d rooms, %d busy at %.0f msg/s each for %v: the chat made %.1f requests/s (%v); delivered %d of %d; heap %.1f MiB",
		r.Rooms, r.Busy, r.Rate, r.Duration, r.RequestsPerSecond, r.Requests, r.Delivered, r.Sent, float64(r.HeapBytes)/(1<<20))
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// RunRooms joins cfg.Rooms rooms as the TUI does (an identity, end to
// end encrypted rooms, presence, the member list, the read marker), has
// other clients write into cfg.Busy of them, and counts what the chat
// does meanwhile.
func RunRooms(ctx context.Context, cfg RoomsConfig) (RoomsResult, error) {
	res := RoomsResult{Rooms: cfg.Rooms, Busy: cfg.Busy, Rate: cfg.Rate, Duration: cfg.Duration}
	admin, err := chat.Dial(cfg.Server)
	if err != nil {
		return res, err
	}
	rooms := make([]*chat.Room, cfg.Rooms)
	for i := range rooms {
		if rooms[i], err = admin.CreateRoom(ctx, fmt.Sprintf("room %d", i+1), chat.Encrypted()); err != nil {
			return res, err
		}
	}
	id, err := identity.Generate()
	if err != nil {
		return res, err
	}

	heap0 := heapInUse()
	counter := newRequestCounter()
	wc, err := webaas.New(cfg.Server, webaas.WithHTTPClient(counter.client()))
	if err != nil {
		return res, err
	}
	mine := chat.NewClient(wc)
	fctx, stop := context.WithCancel(ctx)
	defer stop()
	var delivered atomic.Int64
	var wg sync.WaitGroup
	for _, room := range rooms {
		inv := room.Invite("")
		r, err := mine.OpenRoom(ctx, inv.Code, chat.WithSecret(inv.Secret))
		if err != nil {
			return res, err
		}
		s, err := r.Join(ctx, "alice", chat.SessionOptions{Identity: id, NoJoinLine: true})
		if err != nil {
			return res, err
		}
		defer s.Close()
		head, err := r.Head(ctx)
		if err != nil {
			return res, err
		}
		events, err := r.Follow(fctx, head, chat.FollowOptions{Members: true, Reader: s.Reader()})
		if err != nil {
			return res, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range events {
				delivered.Add(int64(len(ev.Messages)))
			}
		}()
	}

	res.HeapBytes = heapInUse() - heap0

	// The writers: one sender per busy room, each its own client.
	start := counter.snapshot()
	began := time.Now()
	var sent atomic.Int64
	var swg sync.WaitGroup
	for _, room := range rooms[:cfg.Busy] {
		inv := room.Invite("")
		wc, err := chat.Dial(cfg.Server)
		if err != nil {
			return res, err
		}
		r, err := wc.OpenRoom(ctx, inv.Code, chat.WithSecret(inv.Secret))
		if err != nil {
			return res, err
		}
		s, err := r.Sender("bob", chat.SessionOptions{})
		if err != nil {
			return res, err
		}
		defer s.Close()
		swg.Add(1)
		go func() {
			defer swg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
			defer tick.Stop()
			for time.Since(began) < cfg.Duration {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if _, err := s.Send(ctx, "busy elsewhere"); err == nil {
					sent.Add(1)
				}
			}
		}()
	}
	swg.Wait()
	// Up to a few seconds for the last deliveries.
	for deadline := time.Now().Add(5 * time.Second); delivered.Load() < sent.Load() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(began)
	res.Requests = countsSince(start, counter.snapshot())
	var total int64
	for _, n := range res.Requests {
		total += n
	}
	res.RequestsPerSecond = float64(total) / elapsed.Seconds()
	res.Sent, res.Delivered = sent.Load(), delivered.Load()
	stop()
	wg.Wait()
	return res, ctx.Err()
}
