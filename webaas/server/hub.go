package server

// The hub routes durable changes to the websockets watching them.

import (
	"context"
	"encoding/binary"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// hub routes durable changes to the sockets watching them.
type hub struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex
	closed  bool
	byKey   map[watchKey]map[*socket]struct{}
	byType  map[typeKey]map[*socket]struct{} // sockets watching every record of a type
	byNotif map[string]map[*socket]struct{}  // notification id -> sockets
	byApp   map[string]map[*socket]struct{}
	wg      sync.WaitGroup // one per open socket
	// lately holds the registrations whose last socket here closed since
	// the last call of listened.
	lately map[store.NotificationRef]struct{}
}

type watchKey struct{ app, schema, key string }

type typeKey struct{ app, schema string }

func newHub(cfg Config, log *slog.Logger) *hub {
	return &hub{
		cfg: cfg, log: log,
		byKey:   map[watchKey]map[*socket]struct{}{},
		byType:  map[typeKey]map[*socket]struct{}{},
		byNotif: map[string]map[*socket]struct{}{},
		lately:  map[store.NotificationRef]struct{}{},
		byApp:   map[string]map[*socket]struct{}{},
	}
}

func addTo[K comparable](m map[K]map[*socket]struct{}, k K, s *socket) {
	set := m[k]
	if set == nil {
		set = map[*socket]struct{}{}
		m[k] = set
	}
	set[s] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[*socket]struct{}, k K, s *socket) {
	if set := m[k]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

func (h *hub) add(s *socket) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	for _, k := range s.n.Keys {
		addTo(h.byKey, watchKey{s.n.App, s.n.Schema, k}, s)
	}
	for _, t := range s.n.Types {
		addTo(h.byType, typeKey{s.n.App, t}, s)
	}
	addTo(h.byNotif, s.n.ID, s)
	addTo(h.byApp, s.n.App, s)
	h.wg.Add(1)
	return true
}

func (h *hub) remove(s *socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range s.n.Keys {
		removeFrom(h.byKey, watchKey{s.n.App, s.n.Schema, k}, s)
	}
	for _, t := range s.n.Types {
		removeFrom(h.byType, typeKey{s.n.App, t}, s)
	}
	removeFrom(h.byNotif, s.n.ID, s)
	removeFrom(h.byApp, s.n.App, s)
	h.lately[store.NotificationRef{App: s.n.App, ID: s.n.ID}] = struct{}{}
	h.wg.Done()
}

// listened returns the registrations with a socket open here now, or
// closed since the last call.
func (h *hub) listened() []store.NotificationRef {
	h.mu.Lock()
	defer h.mu.Unlock()
	refs := h.lately
	h.lately = map[store.NotificationRef]struct{}{}
	for id, set := range h.byNotif {
		for s := range set {
			refs[store.NotificationRef{App: s.n.App, ID: id}] = struct{}{}
		}
	}
	return slices.Collect(maps.Keys(refs))
}

// open registers a socket on n, which queues the changes committed from
// now on; nil when the server is shutting down. serve must follow, or
// remove if the handshake fails.
func (h *hub) open(n store.Notification, records bool) *socket {
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &socket{
		n: n, ctx: ctx, cancel: cancel, records: records, maxQueue: h.cfg.WSQueue, maxQueueBytes: h.cfg.WSQueueBytes,
		inBacklog: map[typedKey]uint64{}, wake: make(chan struct{}, 1),
	}
	if !h.add(s) {
		cancel(nil)
		return nil
	}
	return s
}

// publish queues one frame per socket whose notification watches a key of
// the change, or its type, and adds the sockets to touched, for the
// caller to wake. It never blocks: see socket.push.
func (h *hub) publish(c store.Change, touched map[*socket]struct{}) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	byType := h.byType[typeKey{c.App, c.Schema}]
	// Sockets on one notification share a frame; those watching the
	// whole type share the body of their records frame too (all but the
	// notification id), which is made once.
	frames := map[string][]byte{}
	var allBody []byte
	for s := range byType {
		frame, ok := frames[s.n.ID]
		if !ok {
			if allBody == nil {
				var err error
				if allBody, err = proto.Marshal(recordsFrame("", c, nil, h.cfg.WSMaxRecordsFrame)); err != nil {
					h.log.Error("encode notification", "err", err)
					return
				}
			}
			frame = withNotificationID(s.n.ID, allBody)
			frames[s.n.ID] = frame
		}
		s.push(frame, c.Schema, c.Keys, c.Seq)
		touched[s] = struct{}{}
	}
	matched := map[*socket][]int{} // indexes into c.Keys
	for i, k := range c.Keys {
		for s := range h.byKey[watchKey{c.App, c.Schema, k}] {
			if _, all := byType[s]; !all {
				matched[s] = append(matched[s], i)
			}
		}
	}
	type frameID struct {
		notification string
		records      bool
	}
	keyFrames := map[frameID][]byte{}
	for s, idx := range matched {
		keys := make([]string, len(idx))
		for j, i := range idx {
			keys[j] = c.Keys[i]
		}
		id := frameID{s.n.ID, s.records}
		frame, ok := keyFrames[id]
		if !ok {
			var m proto.Message = &wire.NotificationMessage{NotificationId: s.n.ID, AppId: c.App, SchemaName: c.Schema, RecordKeys: keys}
			if s.records {
				m = recordsFrame(s.n.ID, c, idx, h.cfg.WSMaxRecordsFrame)
			}
			var err error
			if frame, err = proto.Marshal(m); err != nil {
				h.log.Error("encode notification", "err", err)
				continue
			}
			keyFrames[id] = frame
		}
		s.push(frame, c.Schema, keys, c.Seq)
		touched[s] = struct{}{}
	}
}

// withNotificationID is a records frame's body with its notification id
// put in front: protobuf fields may come in any order.
func withNotificationID(id string, body []byte) []byte {
	frame := make([]byte, 0, len(id)+len(body)+1+binary.MaxVarintLen64)
	frame = protowire.AppendTag(frame, 1, protowire.BytesType) // RecordsFrame.notification_id
	frame = protowire.AppendString(frame, id)
	return append(frame, body...)
}

// recordsFrame carries the changes of c at idx (nil: all of them), records
// included until they would take more than limit bytes; the rest are
// omitted.
func recordsFrame(notification string, c store.Change, idx []int, limit int) *wire.RecordsFrame {
	if idx == nil {
		idx = make([]int, len(c.Keys))
		for i := range idx {
			idx[i] = i
		}
	}
	f := &wire.RecordsFrame{NotificationId: notification, AppId: c.App, Commit: c.Seq}
	for _, sv := range c.Sequences {
		f.Sequences = append(f.Sequences, &wire.SequenceValue{Name: sv.Name, Value: sv.Value})
	}
	size := 0
	for _, i := range idx {
		rc := &wire.RecordChange{SchemaName: c.Schema, RecordKey: []byte(c.Keys[i])}
		switch {
		case len(c.Values) != len(c.Keys): // not known (a change logged before values were)
			rc.Omitted = true
		case c.Values[i] == nil:
			rc.Deleted = true
		case size+len(c.Values[i]) > limit:
			rc.Omitted = true
		default:
			rc.Record = c.Values[i]
			size += len(c.Values[i])
		}
		f.Changes = append(f.Changes, rc)
	}
	return f
}

func (h *hub) kickSet(set map[*socket]struct{}, cause *closeCause) {
	for s := range set {
		s.kick(cause)
	}
}

func (h *hub) closeNotification(app, id string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.byNotif[id] {
		if s.n.App == app {
			s.kick(&closeCause{websocket.StatusNormalClosure, "notification deleted"})
		}
	}
}

func (h *hub) closeApp(app string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	h.kickSet(h.byApp[app], &closeCause{websocket.StatusNormalClosure, "app deleted"})
}

// close says "going away" to every socket and waits for them to finish.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	for _, set := range h.byApp {
		h.kickSet(set, &closeCause{websocket.StatusGoingAway, "server shutting down"})
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// kickAll says "going away" to every socket, leaving the hub open.
func (h *hub) kickAll(reason string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, set := range h.byApp {
		h.kickSet(set, &closeCause{websocket.StatusGoingAway, reason})
	}
}

// openSockets counts the open sockets (for tests and metrics).
func (h *hub) openSockets() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, set := range h.byApp {
		n += len(set)
	}
	return n
}
