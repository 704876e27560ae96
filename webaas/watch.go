package webaas

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/wire"
)

// EventKind says what a watch Event reports.
type EventKind int

const (
	// Connected: the socket is open. Changes made while it was not were
	// not delivered, so a caller catches up (re-reads) on every Connected,
	// the first included.
	Connected EventKind = iota + 1
	// Changed: the records in Keys changed (upserted or deleted).
	Changed
	// Disconnected: the socket closed (Err says why); the watch is
	// reconnecting with backoff.
	Disconnected
)

func (k EventKind) String() string {
	switch k {
	case Connected:
		return "connected"
	case Changed:
		return "changed"
	case Disconnected:
		return "disconnected"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing a watch reports.
type Event struct {
	Kind  EventKind
	Keys  []string      // Changed: the keys that changed
	Err   error         // Disconnected: why
	Retry time.Duration // Disconnected: the wait before the next attempt
	// Records (a watch WithRecords): the changes themselves, one per
	// key of Keys.
	Records []RecordChange
	// Commit (a watch WithRecords) is the store's position of the commit
	// the changes belong to; 0 when the server gathered the changes of
	// several commits (their records are then all omitted).
	Commit uint64
	// Sequences (a watch WithRecords) are the app's sequences the commit
	// advanced, by name, with their values after it.
	Sequences map[string]uint64
}

// RecordChange is one changed record, as a watch WithRecords hears it.
type RecordChange struct {
	Schema string
	Key    string
	Record []byte // the record's bytes, unless Deleted or Omitted
	// Deleted: the record was deleted.
	Deleted bool
	// Omitted: the frame did not carry the record (too large, or the
	// socket fell behind); read it.
	Omitted bool
}

type watchConfig struct {
	minBackoff, maxBackoff time.Duration
	ping                   time.Duration
	types                  []string
	records                bool
}

// WatchOption configures Watch.
type WatchOption func(*watchConfig)

// WithBackoff sets the reconnect backoff: it starts at min, doubles on
// each failed attempt up to max, and each wait is jittered to between half
// and all of it, so that clients dropped together do not return together.
func WithBackoff(min, max time.Duration) WatchOption {
	return func(c *watchConfig) { c.minBackoff, c.maxBackoff = min, max }
}

// WithPing sets how often the client pings the server to notice a dead
// connection that did not close (default 20 s).
func WithPing(every time.Duration) WatchOption {
	return func(c *watchConfig) { c.ping = every }
}

// WithTypes also watches every record of the named types (an extension:
// see ServerInfo.Has("watch-types")). It needs WithRecords.
func WithTypes(schemaNames ...string) WatchOption {
	return func(c *watchConfig) { c.types = schemaNames }
}

// WithRecords asks for frames that carry the changed records (an
// extension: see ServerInfo.Has("records-frames")), in Event.Records.
func WithRecords() WatchOption {
	return func(c *watchConfig) { c.records = true }
}

// Watch registers interest in some records and streams their changes
// until ctx ends, reconnecting whenever the socket drops. The first
// registration happens before Watch returns, so a bad app, type or key is
// an error here; later, a server that forgot the notification gets a new
// registration. When ctx ends the channel closes and the registration is
// deleted (best effort).
func (c *Client) Watch(ctx context.Context, appID, schemaName string, keys []string, opts ...WatchOption) (<-chan Event, error) {
	cfg := watchConfig{minBackoff: 100 * time.Millisecond, maxBackoff: 5 * time.Second, ping: 20 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	w := &watch{c: c, cfg: cfg, appID: appID, schema: schemaName, keys: keys, events: make(chan Event, 64)}
	id, err := w.register(ctx)
	if err != nil {
		return nil, err
	}
	w.id = id
	go w.run(ctx)
	return w.events, nil
}

type watch struct {
	c                 *Client
	cfg               watchConfig
	appID, schema, id string
	keys              []string
	events            chan Event
}

func (w *watch) register(ctx context.Context) (string, error) {
	if len(w.cfg.types) == 0 {
		return w.c.RegisterNotification(ctx, w.appID, w.schema, w.keys)
	}
	return w.c.registerTypes(ctx, w.appID, w.schema, w.keys, w.cfg.types)
}

func (w *watch) send(ctx context.Context, e Event) bool {
	select {
	case w.events <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

func (w *watch) run(ctx context.Context) {
	defer close(w.events)
	defer func() {
		// Leave no registration behind; the server may be gone, so briefly.
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = w.c.DeleteNotification(cctx, w.appID, w.id)
	}()
	wait := backoff.Backoff{Min: w.cfg.minBackoff, Max: w.cfg.maxBackoff}
	for ctx.Err() == nil {
		err := w.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errConnected) {
			wait.Reset() // it worked for a while: start the backoff afresh
			err = errors.Unwrap(err)
		}
		if errors.Is(err, ErrUnknownNotify) {
			// The server lost the registration (a wiped store); make a new one.
			if id, rerr := w.register(ctx); rerr == nil {
				w.id = id
			}
		}
		d := wait.Next()
		if !w.send(ctx, Event{Kind: Disconnected, Err: err, Retry: d}) {
			return
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// errConnected marks a session error that came after a successful connect.
var errConnected = errors.New("connected")

type connectedErr struct{ err error }

func (e connectedErr) Error() string        { return e.err.Error() }
func (e connectedErr) Unwrap() error        { return e.err }
func (e connectedErr) Is(target error) bool { return target == errConnected }

// session dials once and reads frames until the socket fails.
func (w *watch) session(ctx context.Context) error {
	conn, err := w.c.dialNotification(ctx, w.appID, w.id, w.cfg.records)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	if !w.send(ctx, Event{Kind: Connected}) {
		return ctx.Err()
	}
	pingCtx, stopPing := context.WithCancel(ctx)
	defer stopPing()
	go func() {
		t := time.NewTicker(w.cfg.ping)
		defer t.Stop()
		for {
			select {
			case <-pingCtx.Done():
				return
			case <-t.C:
				pctx, cancel := context.WithTimeout(pingCtx, w.cfg.ping)
				err := conn.Ping(pctx)
				cancel()
				if err != nil && pingCtx.Err() == nil {
					conn.CloseNow() // dead peer: the read below fails and we reconnect
					return
				}
			}
		}
	}()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if status := websocket.CloseStatus(err); status != -1 {
				var ce websocket.CloseError
				errors.As(err, &ce)
				err = fmt.Errorf("server closed the socket: %d %s", status, ce.Reason)
			}
			return connectedErr{err}
		}
		e, err := w.decode(data)
		if err != nil {
			return connectedErr{err}
		}
		if !w.send(ctx, e) {
			return ctx.Err()
		}
	}
}

// decode turns a frame into a Changed event.
func (w *watch) decode(data []byte) (Event, error) {
	if !w.cfg.records {
		// Old servers send the binary protobuf in a text frame; either
		// frame type carries the same bytes.
		var m wire.NotificationMessage
		if err := proto.Unmarshal(data, &m); err != nil {
			return Event{}, fmt.Errorf("webaas: malformed notification frame: %w", err)
		}
		return Event{Kind: Changed, Keys: m.RecordKeys}, nil
	}
	var f wire.RecordsFrame
	if err := proto.Unmarshal(data, &f); err != nil {
		return Event{}, fmt.Errorf("webaas: malformed records frame: %w", err)
	}
	e := Event{Kind: Changed, Commit: f.Commit, Keys: make([]string, len(f.Changes)), Records: make([]RecordChange, len(f.Changes))}
	if len(f.Sequences) > 0 {
		e.Sequences = make(map[string]uint64, len(f.Sequences))
		for _, sv := range f.Sequences {
			e.Sequences[sv.Name] = sv.Value
		}
	}
	for i, c := range f.Changes {
		e.Keys[i] = string(c.RecordKey)
		e.Records[i] = RecordChange{Schema: c.SchemaName, Key: string(c.RecordKey), Record: c.Record, Deleted: c.Deleted, Omitted: c.Omitted}
	}
	return e, nil
}

// dialNotification opens the websocket of a notification, asking for
// records frames if records. A refused upgrade comes back as the server's
// *Error.
func (c *Client) dialNotification(ctx context.Context, appID, id string, records bool) (*websocket.Conn, error) {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path += "/notification"
	q := url.Values{"appID": {appID}, "notificationID": {id}}
	if records {
		q.Set("frames", "records")
	}
	u.RawQuery = q.Encode()
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u.String(), &websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols && resp.Body != nil {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			return nil, answerError(resp.StatusCode, data)
		}
		return nil, fmt.Errorf("webaas: listen: %w", err)
	}
	return conn, nil
}
