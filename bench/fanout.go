package bench

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// FanoutResult is how fast one message reaches many watching sockets,
// and what each idle socket costs the server.
type FanoutResult struct {
	Sockets  int
	Messages int
	// Last is, per message, the time from just before the send until the
	// last socket had its frame; All is over every (message, socket).
	Last, All Percentiles
	// BytesPerSocket is the server's RSS growth per idle open socket (0
	// when the server is not a child process).
	BytesPerSocket int64
	Missing        int // frames that never arrived
}

// RunFanout opens sockets websockets, each with its own notification on a
// room's head counter, then sends messages one at a time and times the
// frames' arrival.
func RunFanout(ctx context.Context, serverURL string, proc *Proc, sockets, messages int) (FanoutResult, error) {
	res := FanoutResult{Sockets: sockets, Messages: messages}
	c, err := webaas.New(serverURL)
	if err != nil {
		return res, err
	}
	room, err := chat.NewClient(c).CreateRoom(ctx, "fanout")
	if err != nil {
		return res, err
	}
	var rss0 int64
	if proc != nil {
		rss0, _, _ = proc.Memory()
	}
	u, _ := url.Parse(serverURL)
	arrivals := make([][]time.Time, sockets) // each written by its reader only
	counts := make([]atomic.Int64, sockets)  // what the sender polls
	conns := make([]*websocket.Conn, sockets)
	var wg sync.WaitGroup
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	for i := range conns {
		id, err := c.RegisterNotification(ctx, room.Code(), "chatroom.Counter", []string{"head"})
		if err != nil {
			return res, fmt.Errorf("socket %d: %w", i, err)
		}
		ws := fmt.Sprintf("ws://%s/notification?appID=%s&notificationID=%s", u.Host, room.Code(), id)
		conn, _, err := websocket.Dial(ctx, ws, nil)
		if err != nil {
			return res, fmt.Errorf("socket %d: %w", i, err)
		}
		conns[i] = conn
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := conn.Read(rctx); err != nil {
					return
				}
				arrivals[i] = append(arrivals[i], time.Now())
				counts[i].Add(1)
			}
		}()
	}
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.CloseNow()
			}
		}
		stop()
		wg.Wait()
	}()
	if proc != nil {
		time.Sleep(500 * time.Millisecond) // let the server settle
		rss1, _, _ := proc.Memory()
		res.BytesPerSocket = (rss1 - rss0) / int64(sockets)
	}
	sender, err := room.Sender("fanout", chat.SessionOptions{})
	if err != nil {
		return res, err
	}
	defer sender.Close()
	starts := make([]time.Time, messages)
	for j := range starts {
		starts[j] = time.Now()
		if _, err := sender.Send(ctx, fmt.Sprint("fanout ", j)); err != nil {
			return res, err
		}
		// Wait until every socket has this frame (or a while), so each
		// message is timed alone.
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !allHave(counts, int64(j+1)) {
			time.Sleep(time.Millisecond)
		}
	}
	stop()
	for _, conn := range conns {
		conn.CloseNow()
	}
	wg.Wait()
	var last, all []time.Duration
	for j, t0 := range starts {
		var worst time.Duration
		got := 0
		for i := range arrivals {
			if j < len(arrivals[i]) {
				d := arrivals[i][j].Sub(t0)
				all = append(all, d)
				worst = max(worst, d)
				got++
			}
		}
		res.Missing += sockets - got
		last = append(last, worst)
	}
	res.Last, res.All = percentiles(last), percentiles(all)
	return res, nil
}

// allHave reports whether every socket has at least n frames.
func allHave(counts []atomic.Int64, n int64) bool {
	for i := range counts {
		if counts[i].Load() < n {
			return false
		}
	}
	return true
}
