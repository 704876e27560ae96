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
	ctx    context.Context
	cancel context.CancelCauseFunc // with a *closeCause when the server closes it
	// after is the store's last sequence number when the socket opened:
	// changes up to it are older than the socket and never sent. Set
	// before serve starts, read only by serve.
	after uint64

	// records: the client asked for frames=records (binary RecordsFrame
	// frames carrying the records) instead of NotificationMessage.
	records bool

	// Limits of the queue: frames and their bytes (frames shared with
	// other sockets count in full).
	maxQueue, maxQueueBytes int

	mu         sync.Mutex
	queue      []queued            // frames to write, in order; grown as needed, so an idle socket holds none
	queueBytes int                 // the bytes of the frames in queue
	backlog    []typedKey          // keys changed while the queue was full, in frames to come after it
	inBacklog  map[typedKey]uint64 // the keys in backlog, each with the latest change that named it
	wake       chan struct{}       // holds a token while queue or backlog is not empty
}

// typedKey is a record key of a socket's app.
type typedKey struct{ schema, key string }

// queued is a frame for the keys of one change, numbered seq.
type queued struct {
	frame []byte
	seq   uint64
}

// push queues a frame for the keys of change seq; the caller pokes the
// writer. When the queue is full
// (a burst of commits, or a client that reads slowly) the keys join the
// backlog instead, which the writer sends, after the queue, as keys only:
// no change is dropped, and the memory a socket holds stays bounded by
// the queue's limits and the keys its notification watches. A client that
// stops reading altogether is found by the write timeout. Never blocks.
func (s *socket) push(frame []byte, schema string, keys []string, seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Once the backlog has begun, frames join it, or they would overtake it.
	if len(s.backlog) == 0 && len(s.queue) < s.maxQueue && s.queueBytes+len(frame) <= s.maxQueueBytes {
		s.queue = append(s.queue, queued{frame, seq})
		s.queueBytes += len(frame)
		return
	}
	for _, key := range keys {
		k := typedKey{schema, key}
		last, ok := s.inBacklog[k]
		if !ok {
			s.backlog = append(s.backlog, k)
		}
		s.inBacklog[k] = max(last, seq)
	}
}

func (s *socket) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take empties the queue and the backlog: the frames to write, in order,
// then the backlog's keys, leaving out those that only changes older than
// the socket named.
func (s *socket) take() ([]queued, []typedKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	frames := s.queue
	s.queue, s.queueBytes = nil, 0
	keys := slices.DeleteFunc(s.backlog, func(k typedKey) bool { return s.inBacklog[k] <= s.after })
	s.backlog = nil
	clear(s.inBacklog)
	return frames, keys
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
		case <-s.wake:
			frames, keys := s.take()
			for len(frames) > 0 {
				var frame []byte
				frame, frames = s.gather(frames, h.cfg.WSMaxRecordsFrame)
				if frame != nil && !write(frame) {
					return
				}
			}
			for _, frame := range s.backlogFrames(h.log, keys) {
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

// gather returns the next frame to write from frames (nil: the first is
// older than the socket) and the frames left. On a records socket it
// joins the frames up to limit bytes into one: protobuf merges
// concatenated messages (repeated fields append, the last commit wins), so
// the joined bytes are the one RecordsFrame of those commits, in order, at
// the cost of one write instead of one per commit. Old-style sockets get
// their frames one by one, as they always have.
func (s *socket) gather(frames []queued, limit int) ([]byte, []queued) {
	var frame []byte
	owned := false // frame is a copy of our own, not a frame shared with other sockets
	add := func(next queued) {
		switch {
		case !s.fresh(next):
		case frame == nil:
			frame = next.frame
		default:
			if !owned {
				frame, owned = append(make([]byte, 0, 2*(len(frame)+len(next.frame))), frame...), true
			}
			frame = append(frame, next.frame...)
		}
	}
	add(frames[0])
	frames = frames[1:]
	for s.records && len(frames) > 0 && len(frame)+len(frames[0].frame) <= limit {
		add(frames[0])
		frames = frames[1:]
	}
	return frame, frames
}

// backlogFrames turns the backlog's keys into frames: for records frames,
// one frame with every record omitted (the client reads them); else one
// NotificationMessage per type, types in the order the backlog met them.
func (s *socket) backlogFrames(log *slog.Logger, keys []typedKey) [][]byte {
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
