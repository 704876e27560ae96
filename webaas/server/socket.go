package server

// One open websocket: its queue, its coalescing backlog, its writer.

import (
	"context"
	"errors"
	"log/slog"
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

	// records: the client asked for frames=records (binary RecordsFrame
	// frames carrying the records) instead of NotificationMessage.
	records bool

	mu        sync.Mutex
	backlog   []typedKey          // keys changed while the queue was full, in frames to come
	inBacklog map[typedKey]uint64 // the keys in backlog, each with the latest change that named it
	wake      chan struct{}       // holds a token while backlog is not empty
}

// typedKey is a record key of a socket's app.
type typedKey struct{ schema, key string }

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
func (s *socket) push(frame []byte, schema string, keys []string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.backlog) == 0 { // else the frame would overtake the backlog
		select {
		case s.queue <- queued{frame, seq}:
			return
		default:
		}
	}
	for _, key := range keys {
		k := typedKey{schema, key}
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
func (s *socket) takeBacklog() []typedKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := slices.DeleteFunc(s.backlog, func(k typedKey) bool { return s.inBacklog[k] <= s.after })
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
	ctx, cancel := s.ctx, s.cancel
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
	typ := websocket.MessageText // old clients decode frames as strings
	if s.records {
		typ = websocket.MessageBinary
	}
	write := func(frame []byte) bool {
		// Not derived from ctx, so a kick lets a frame in progress finish.
		wctx, wcancel := context.WithTimeout(context.Background(), h.cfg.WSWriteTimeout)
		err := conn.Write(wctx, typ, frame)
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
			for _, frame := range s.backlogFrames(h.log) {
				if !write(frame) {
					return
				}
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

// backlogFrames empties the backlog into frames: for records frames, one
// frame with every record omitted (the client reads them); else one
// NotificationMessage per type, types in the order the backlog met them.
func (s *socket) backlogFrames(log *slog.Logger) [][]byte {
	keys := s.takeBacklog()
	if len(keys) == 0 {
		return nil
	}
	var msgs []proto.Message
	if s.records {
		f := &wire.RecordsFrame{NotificationId: s.n.ID, AppId: s.n.App}
		for _, k := range keys {
			f.Changes = append(f.Changes, &wire.RecordChange{SchemaName: k.schema, RecordKey: []byte(k.key), Omitted: true})
		}
		msgs = append(msgs, f)
	} else {
		bySchema := map[string]*wire.NotificationMessage{}
		for _, k := range keys {
			m := bySchema[k.schema]
			if m == nil {
				m = &wire.NotificationMessage{NotificationId: s.n.ID, AppId: s.n.App, SchemaName: k.schema}
				bySchema[k.schema] = m
				msgs = append(msgs, m)
			}
			m.RecordKeys = append(m.RecordKeys, k.key)
		}
	}
	var frames [][]byte
	for _, m := range msgs {
		frame, err := proto.Marshal(m)
		if err != nil {
			log.Error("encode notification", "err", err)
			continue
		}
		frames = append(frames, frame)
	}
	return frames
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
