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
}

type watchConfig struct {
	minBackoff, maxBackoff time.Duration
	ping                   time.Duration
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
	id, err := c.RegisterNotification(ctx, appID, schemaName, keys)
	if err != nil {
		return nil, err
	}
	w := &watch{c: c, cfg: cfg, appID: appID, schema: schemaName, keys: keys, id: id, events: make(chan Event, 64)}
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
			if id, rerr := w.c.RegisterNotification(ctx, w.appID, w.schema, w.keys); rerr == nil {
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
	conn, err := w.c.dialNotification(ctx, w.appID, w.id)
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
		// Old servers send the binary protobuf in a text frame; either
		// frame type carries the same bytes.
		var m wire.NotificationMessage
		if err := proto.Unmarshal(data, &m); err != nil {
			return connectedErr{fmt.Errorf("webaas: malformed notification frame: %w", err)}
		}
		if !w.send(ctx, Event{Kind: Changed, Keys: m.RecordKeys}) {
			return ctx.Err()
		}
	}
}

// dialNotification opens the websocket of a notification. A refused
// upgrade comes back as the server's *Error.
func (c *Client) dialNotification(ctx context.Context, appID, id string) (*websocket.Conn, error) {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path += "/notification"
	u.RawQuery = url.Values{"appID": {appID}, "notificationID": {id}}.Encode()
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
