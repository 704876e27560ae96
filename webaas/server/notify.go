package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// maxFrameString bounds every string a frame carries. The frame is binary
// protobuf sent as a *text* frame (old clients decode it as a string), so
// it must be valid UTF-8: with strings under 128 bytes every length prefix
// is one byte below 0x80, and the tags are ASCII, so it is.
const maxFrameString = 127

// jsonKey is a record key in a JSON body: a string as the contract says,
// or a number, as a client holding integer ids may well send.
type jsonKey string

func (k *jsonKey) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*k = jsonKey(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("record key %s is neither a string nor a number", b)
	}
	*k = jsonKey(n.String())
	return nil
}

type notificationBody struct {
	AppID      string    `json:"appID"`
	SchemaName string    `json:"schemaName"`
	RecordKeys []jsonKey `json:"recordKeys"`
}

// POST /notification, JSON body {"appID", "schemaName", "recordKeys"}
func (s *Server) registerNotification(w http.ResponseWriter, r *http.Request) error {
	var body notificationBody
	if err := readJSON(w, r, s.cfg.MaxJSONBytes, &body); err != nil {
		return err
	}
	if body.AppID == "" {
		return errorf(wire.CodeBadParameter, "missing appID in the JSON body")
	}
	if body.SchemaName == "" {
		return errorf(wire.CodeBadParameter, "missing schemaName in the JSON body")
	}
	if len(body.SchemaName) > maxFrameString {
		return errorf(wire.CodeTooLarge, "schemaName is %d bytes; notifications carry names of at most %d", len(body.SchemaName), maxFrameString)
	}
	if len(body.RecordKeys) == 0 {
		return errorf(wire.CodeBadParameter, "recordKeys is empty: name the records to watch")
	}
	if len(body.RecordKeys) > s.cfg.MaxNotifyKeys {
		return errorf(wire.CodeLimit, "%d recordKeys; a notification watches at most %d", len(body.RecordKeys), s.cfg.MaxNotifyKeys)
	}
	st, err := s.apps.get(r.Context(), body.AppID)
	if err != nil {
		return err
	}
	_, rt, err := s.apps.recordType(r.Context(), st, body.SchemaName)
	if err != nil {
		return err
	}
	n := store.Notification{ID: newID(), App: body.AppID, Schema: body.SchemaName, LastActive: s.cfg.Now()}
	seen := map[string]bool{}
	for _, jk := range body.RecordKeys {
		k := string(jk)
		if len(k) > s.cfg.MaxKeyBytes {
			return errorf(wire.CodeTooLarge, "record key %.40q... is %d bytes; keys are at most %d", k, len(k), s.cfg.MaxKeyBytes)
		}
		_, canonical, err := rt.codec.parse(k)
		if err != nil {
			return errorf(wire.CodeBadParameter, "recordKeys: %v", err)
		}
		if len(canonical) > maxFrameString || !utf8.ValidString(canonical) {
			return errorf(wire.CodeTooLarge, "record key %.40q... is %d bytes; notifications carry keys of at most %d bytes of UTF-8", canonical, len(canonical), maxFrameString)
		}
		if !seen[canonical] {
			seen[canonical] = true
			n.Keys = append(n.Keys, canonical)
		}
	}
	if err := s.store.PutNotification(r.Context(), n); err != nil {
		if errors.Is(err, store.ErrUnknownApp) {
			return errorf(wire.CodeUnknownApp, "unknown app %q", body.AppID)
		}
		return storeFault(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"notificationID": n.ID})
	return nil
}

// notificationParams reads appID (of an existing app) and notificationID.
func (s *Server) notificationParams(r *http.Request) (appID, id string, err error) {
	if appID, err = param(r, "appID"); err != nil {
		return "", "", err
	}
	if id, err = param(r, "notificationID"); err != nil {
		return "", "", err
	}
	if _, err := s.apps.get(r.Context(), appID); err != nil {
		return "", "", err
	}
	return appID, id, nil
}

// DELETE /notification?appID=I&notificationID=X
func (s *Server) deleteNotification(w http.ResponseWriter, r *http.Request) error {
	appID, id, err := s.notificationParams(r)
	if err != nil {
		return err
	}
	err = s.store.DeleteNotification(r.Context(), appID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(wire.CodeUnknownNotify, "unknown notification %q in app %s", id, appID)
	}
	if err != nil {
		return storeFault(err)
	}
	// Sockets close through the store's ChangeNotificationDeleted, on
	// every node.
	writeJSON(w, http.StatusOK, map[string]string{"notificationID": id})
	return nil
}

// GET /notification?appID=I&notificationID=X, a websocket upgrade.
func (s *Server) listen(w http.ResponseWriter, r *http.Request) error {
	appID, id, err := s.notificationParams(r)
	if err != nil {
		return err
	}
	n, err := s.store.Notification(r.Context(), appID, id)
	if errors.Is(err, store.ErrNotFound) {
		// Also what another app's notification id gets: no hint it exists.
		return errorf(wire.CodeUnknownNotify, "unknown notification %q in app %s", id, appID)
	}
	if err != nil {
		return storeFault(err)
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return errorf(wire.CodeBadParameter, "GET /notification is a websocket upgrade: connect with a websocket client to ws://host/notification?appID=...&notificationID=...")
	}
	// Register before the handshake completes: a client that has seen the
	// upgrade succeed must get every change committed after that.
	sock := s.hub.open(n)
	if sock == nil {
		return &apiError{code: wire.CodeUnavailable, message: "server shutting down, try again"}
	}
	// This node may deliver changes late: another node's, read from the
	// store's log, can be older than the socket. Whatever is committed by
	// now is not news to a client that has not seen the upgrade succeed,
	// and what is committed later is numbered higher; read only after
	// registering, so that nothing in between is missed.
	after, err := s.store.LastSeq(r.Context())
	if err != nil {
		s.hub.remove(sock)
		return storeFault(err)
	}
	sock.after = after
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The notification id is the credential; any origin may listen.
		InsecureSkipVerify: true,
	})
	if err != nil {
		s.hub.remove(sock)
		return nil // Accept has answered the client already
	}
	// Serve from a fresh goroutine and let the handler return: the
	// handler's stack grew through the whole HTTP stack, and an idle
	// socket should not keep it (measured with bench --run fanout: 35 KiB
	// of server memory per idle socket before, 28 KiB after).
	go s.hub.serve(sock, conn)
	return nil
}

// hub routes durable changes to the sockets watching them.
type hub struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex
	closed  bool
	byKey   map[watchKey]map[*socket]struct{}
	byNotif map[string]map[*socket]struct{} // notification id -> sockets
	byApp   map[string]map[*socket]struct{}
	wg      sync.WaitGroup // one per open socket
	// lately holds the registrations whose last socket here closed since
	// the last call of listened.
	lately map[store.NotificationRef]struct{}
}

type watchKey struct{ app, schema, key string }

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

func newHub(cfg Config, log *slog.Logger) *hub {
	return &hub{
		cfg: cfg, log: log,
		byKey:   map[watchKey]map[*socket]struct{}{},
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
func (h *hub) open(n store.Notification) *socket {
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &socket{
		n: n, ctx: ctx, queue: make(chan queued, h.cfg.WSQueue), cancel: cancel,
		inBacklog: map[string]uint64{}, wake: make(chan struct{}, 1),
	}
	if !h.add(s) {
		cancel(nil)
		return nil
	}
	return s
}

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

// publish queues one frame per socket whose notification watches a key of
// the change. It never blocks: see socket.push.
func (h *hub) publish(c store.Change) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	matched := map[*socket][]string{}
	for _, k := range c.Keys {
		for s := range h.byKey[watchKey{c.App, c.Schema, k}] {
			matched[s] = append(matched[s], k)
		}
	}
	frames := map[string][]byte{} // sockets on one notification share a frame
	for s, keys := range matched {
		frame, ok := frames[s.n.ID]
		if !ok {
			var err error
			frame, err = proto.Marshal(&wire.NotificationMessage{NotificationId: s.n.ID, AppId: c.App, SchemaName: c.Schema, RecordKeys: keys})
			if err != nil {
				h.log.Error("encode notification", "err", err)
				continue
			}
			frames[s.n.ID] = frame
		}
		s.push(frame, keys, c.Seq)
	}
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
