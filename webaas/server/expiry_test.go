package server_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// clock is a time source the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestIdleNotificationsExpire: registrations of clients that crashed were
// kept for ever. Now one nobody has listened on for the TTL is deleted;
// one with a socket open is not, and one whose socket closed lives a TTL
// from then.
func TestIdleNotificationsExpire(t *testing.T) {
	const ttl = time.Hour
	clk := &clock{now: time.Now()}
	e := newEnv(t, func(c *server.Config) { c.NotificationTTL, c.Now = ttl, clk.Now })
	ctx := context.Background()
	register := func() string {
		t.Helper()
		id, err := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dial := func(id string) (*websocket.Conn, error) {
		conn, _, err := websocket.Dial(ctx, "ws"+e.srv.URL()[len("http"):]+"/notification?appID="+e.app+"&notificationID="+id, nil)
		return conn, err
	}
	sweep := func() {
		t.Helper()
		if _, err := e.srv.API.ExpireNotifications(ctx); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(id string) bool { // asked of the store: a socket would count as listening
		t.Helper()
		_, err := e.srv.Store.Notification(ctx, e.app, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err != nil
	}
	never, open, closed := register(), register(), register()
	openConn, err := dial(open)
	if err != nil {
		t.Fatal(err)
	}
	defer openConn.CloseNow()
	clk.advance(ttl / 2)
	conn, err := dial(closed)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	waitSockets(t, e, 1)
	sweep() // at TTL/2: notes the socket that closed

	clk.advance(ttl/2 + time.Minute) // the first registered an hour and a minute ago
	sweep()
	if !gone(never) {
		t.Fatal("a registration nobody listened on for the TTL is still there")
	}
	if gone(open) || gone(closed) {
		t.Fatal("a registration listened on within the TTL expired")
	}

	clk.advance(ttl)
	sweep()
	if !gone(closed) {
		t.Fatal("a registration whose socket closed a TTL ago is still there")
	}
	// The one with a socket open all along lives, and still delivers.
	if gone(open) {
		t.Fatal("a registration with a socket open expired")
	}
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "still watched")); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, _, err := openConn.Read(rctx); err != nil {
		t.Fatalf("the open socket got no frame after the sweeps: %v", err)
	}
	if _, err := dial(never); err == nil {
		t.Fatal("an expired registration still takes sockets")
	}
	wantCode(t, e.c.DeleteNotification(ctx, e.app, never), wire.CodeUnknownNotify)
}

// waitSockets waits until the server holds n open sockets.
func waitSockets(t *testing.T, e *env, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.API.OpenSockets() != n {
		if time.Now().After(deadline) {
			t.Fatalf("the server holds %d sockets, want %d", e.srv.API.OpenSockets(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
