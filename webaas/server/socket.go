package server

// One open websocket: its queue, its coalescing backlog, its writer.

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// socket is one open websocket on one notification.
type socket struct {
	n      store.Notification
	conn   *websocket.Conn // set by serve
	queue  chan queued
	ctx    context.Context
	cancel context.CancelCauseFunc // with a *closeCause when the server closes it
	// after is the store's last sequence number when the socket opened:
	// changes up to it are older than the socket and never sent. Set
	// before serve starts, read only by serve.
	after uint64

	mu        sync.Mutex
	backlog   []string          // keys changed while the queue was full, in one frame to come
	inBacklog map[string]uint64 // the keys in backlog, each with the latest change that named it
	wake      chan struct{}     // holds a token while backlog is not empty
}

// queued is a frame for the keys of one change, numbered seq.
type queued struct {
	frame []byte
	seq   uint64
}

// push queues a frame for the keys of change seq. When the queue is full
// (a burst of commits, or a client that reads slowly) the keys join the
// backlog instead, which the writer sends as one frame once the queue is
// drained: no change is dropped, and the memory a socket holds stays
// bounded by the keys its notification watches. A client that stops
// reading altogether is found by the write timeout. Never blocks.
func (s *socket) push(frame []byte, keys []string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.backlog) == 0 { // else the frame would overtake the backlog
		select {
		case s.queue <- queued{frame, seq}:
			return
		default:
		}
	}
	for _, k := range keys {
		last, ok := s.inBacklog[k]
		if !ok {
			s.backlog = append(s.backlog, k)
		}
		s.inBacklog[k] = max(last, seq)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// takeBacklog empties the backlog and returns its keys, leaving out those
// that only changes older than the socket named.
func (s *socket) takeBacklog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.DeleteFunc(s.backlog, func(k string) bool { return s.inBacklog[k] <= s.after })
	s.backlog = nil
	clear(s.inBacklog)
	return keys
}

// fresh tells whether a queued frame is about a change newer than the
// socket.
func (s *socket) fresh(q queued) bool { return q.seq > s.after }

// closeCause is why the server closes a socket: the status and the reason
// the client sees.
type closeCause struct {
	code   websocket.StatusCode
	reason string
}

func (c *closeCause) Error() string { return c.reason }

// serve runs an open socket until it closes: it writes queued frames and
// pings, while a reader goroutine answers control frames and notices the
// close.
func (h *hub) serve(s *socket, conn *websocket.Conn) {
	s.conn = conn
	ctx, cancel, n := s.ctx, s.cancel, s.n
	defer h.remove(s)
	conn.SetReadLimit(4096)
	go func() {
		// Clients have nothing to say; read (and drop) so pings, pongs
		// and the close handshake are answered. Not with ctx: a cancelled
		// read closes the connection at once, and a kick wants the writer
		// to close it with a reason instead.
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				cancel(err)
				return
			}
		}
	}()
	write := func(frame []byte) bool {
		// Not derived from ctx, so a kick lets a frame in progress finish.
		wctx, wcancel := context.WithTimeout(context.Background(), h.cfg.WSWriteTimeout)
		err := conn.Write(wctx, websocket.MessageText, frame)
		wcancel()
		if err != nil {
			h.finish(s, &closeCause{websocket.StatusPolicyViolation, "slow consumer: a frame was not taken within " + h.cfg.WSWriteTimeout.String()}, err)
			return false
		}
		return true
	}
	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case q := <-s.queue:
			if s.fresh(q) && !write(q.frame) {
				return
			}
		case <-s.wake:
			// The queue stopped filling when the backlog started: send
			// what it holds first, so that frames keep their order.
			for len(s.queue) > 0 {
				if q := <-s.queue; s.fresh(q) && !write(q.frame) {
					return
				}
			}
			keys := s.takeBacklog()
			if len(keys) == 0 {
				continue
			}
			frame, err := proto.Marshal(&wire.NotificationMessage{NotificationId: n.ID, AppId: n.App, SchemaName: n.Schema, RecordKeys: keys})
			if err != nil {
				h.log.Error("encode notification", "err", err)
				continue
			}
			if !write(frame) {
				return
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(context.Background(), h.cfg.WSWriteTimeout)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				h.finish(s, &closeCause{websocket.StatusPolicyViolation, "no pong within " + h.cfg.WSWriteTimeout.String()}, err)
				return
			}
		case <-ctx.Done():
			h.finish(s, nil, context.Cause(ctx))
			return
		}
	}
}

// finish closes the socket with the cause the server chose, if any.
func (h *hub) finish(s *socket, cause *closeCause, err error) {
	if cause == nil {
		errors.As(err, &cause)
	}
	if cause == nil {
		// The client went away; nothing to tell it.
		s.conn.CloseNow()
		return
	}
	h.log.Debug("closing socket", "app", s.n.App, "notification", s.n.ID, "reason", cause.reason)
	s.conn.Close(cause.code, cause.reason)
}

// kick makes a socket close with cause; safe from any goroutine.
func (s *socket) kick(cause *closeCause) {
	s.cancel(cause)
}
