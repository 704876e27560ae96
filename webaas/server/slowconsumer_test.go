//go:build unix

package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/wire"
)

// collector reads one socket that keeps up, counting per record key the
// frames that named it.
type collector struct {
	name string
	mu   sync.Mutex
	seen map[string]int
	err  error         // why reading stopped; nil while the socket is open
	poke chan struct{} // a frame arrived or reading stopped
}

func collect(name string, conn *websocket.Conn, appID, notificationID string) *collector {
	conn.SetReadLimit(1 << 20) // a coalesced frame may list every watched key
	c := &collector{name: name, seen: map[string]int{}, poke: make(chan struct{}, 1)}
	go func() {
		for {
			typ, data, err := conn.Read(context.Background())
			var m wire.NotificationMessage
			if err == nil && typ != websocket.MessageText {
				err = fmt.Errorf("frame type %v, want text", typ)
			}
			if err == nil {
				err = proto.Unmarshal(data, &m)
			}
			if err == nil && (m.AppId != appID || m.NotificationId != notificationID || m.SchemaName != "test.Tag") {
				err = fmt.Errorf("frame for %s/%s/%s reached a socket of %s/%s/test.Tag", m.AppId, m.NotificationId, m.SchemaName, appID, notificationID)
			}
			c.mu.Lock()
			if err != nil {
				c.err = err
			} else {
				for _, k := range m.RecordKeys {
					c.seen[k]++
				}
			}
			c.mu.Unlock()
			select {
			case c.poke <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return c
}

// waitFor waits until every key was named by at least n frames.
func (c *collector) waitFor(t *testing.T, keys []string, n int, deadline time.Time) {
	t.Helper()
	for {
		c.mu.Lock()
		missing := 0
		for _, k := range keys {
			if c.seen[k] < n {
				missing++
			}
		}
		err := c.err
		c.mu.Unlock()
		if missing == 0 {
			return
		}
		if err != nil {
			t.Fatalf("%s: socket stopped with %d of %d keys of round %d never notified: %v", c.name, missing, len(keys), n, err)
		}
		select {
		case <-c.poke:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("%s: %d of %d keys of round %d never notified", c.name, missing, len(keys), n)
		}
	}
}

// dialUnread opens a notification socket whose kernel receive buffer is
// as small as the OS allows, so that the server's writes to it back up as
// soon as the client stops reading.
func dialUnread(t *testing.T, e *env, id string) *websocket.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	u := strings.Replace(e.srv.URL(), "http", "ws", 1) + "/notification?appID=" + e.app + "&notificationID=" + id
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// TestSlowConsumer: a socket whose client stops reading must not hold up
// writers or the other sockets, and the server must close it.
func TestSlowConsumer(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.WSQueue = 4
		c.WSWriteTimeout = 300 * time.Millisecond
	})
	// Long keys make long frames, so the unread socket backs up sooner.
	var keys []string
	for i := 0; i < 200; i++ {
		keys = append(keys, fmt.Sprintf("%03d-%s", i, strings.Repeat("k", 100)))
	}
	idA, err := e.c.RegisterNotification(ctx, e.app, "test.Tag", keys)
	if err != nil {
		t.Fatal(err)
	}
	idB, err := e.c.RegisterNotification(ctx, e.app, "test.Tag", keys)
	if err != nil {
		t.Fatal(err)
	}
	unread := dialUnread(t, e, idA)
	healthy := []*collector{
		collect("socket 1 on notification A", e.listen(idA), e.app, idA),
		collect("socket 2 on notification A", e.listen(idA), e.app, idA),
		collect("socket on notification B", e.listen(idB), e.app, idB),
	}
	deadline := time.Now().Add(3 * time.Minute) // only so that a failure cannot hang
	for e.srv.API.OpenSockets() < len(healthy)+1 {
		if time.Now().After(deadline) {
			t.Fatalf("the server registered %d of %d sockets", e.srv.API.OpenSockets(), len(healthy)+1)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// round writes every key once, from several writers at a time, and
	// checks that every write succeeded and every healthy socket was told
	// about every key.
	const writers = 8
	writes := 0
	round := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(keys))
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(keys); i += writers {
					if err := e.c.Put(ctx, e.app, "test.Tag", tag(keys[i], int64(n))); err != nil {
						errs <- fmt.Errorf("round %d, put %s: %w", n, keys[i][:3], err)
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		writes += len(keys)
		for _, c := range healthy {
			c.waitFor(t, keys, n, deadline)
		}
	}
	// Write until the server gives up on the unread socket: how much it
	// takes depends on the kernel's socket buffers.
	n := 0
	for e.srv.API.OpenSockets() > len(healthy) {
		if time.Now().After(deadline) {
			t.Fatalf("after %d writes the server still keeps the unread socket open", writes)
		}
		n++
		round(n)
	}
	// The healthy sockets are all still open and still hear every change.
	n++
	round(n)
	if got := e.srv.API.OpenSockets(); got != len(healthy) {
		t.Fatalf("%d sockets open after the last round, want the %d healthy ones", got, len(healthy))
	}
	for _, c := range healthy {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		if err != nil {
			t.Fatalf("%s failed: %v", c.name, err)
		}
	}
	before := writes - len(keys) // the writes made while the unread socket was open
	t.Logf("%d writes in %d rounds before the unread socket was closed", before, n-1)

	// The client of the unread socket resumes: it gets what was in flight,
	// then the close (or, if the close frame could not be written, the
	// end of the connection), never more waiting.
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	frames := 0
	for {
		typ, data, err := unread.Read(rctx)
		if err != nil {
			if rctx.Err() != nil {
				t.Fatalf("the unread socket is still open after %d frames", frames)
			}
			switch status := websocket.CloseStatus(err); {
			case status == websocket.StatusPolicyViolation:
				var ce websocket.CloseError
				if errors.As(err, &ce) && !strings.Contains(ce.Reason, "slow consumer") {
					t.Fatalf("closed with reason %q, want it to say slow consumer", ce.Reason)
				}
			case status != -1:
				t.Fatalf("the unread socket was closed with %v, want %v", err, websocket.StatusPolicyViolation)
			}
			t.Logf("unread socket: %d frames, then %v", frames, err)
			break
		}
		var m wire.NotificationMessage
		if typ != websocket.MessageText || proto.Unmarshal(data, &m) != nil || m.NotificationId != idA {
			t.Fatalf("frame %d on the unread socket is malformed: %v %x", frames, typ, data)
		}
		frames++
	}
	if frames >= before {
		t.Fatalf("the unread socket got all %d frames: it was never cut off", frames)
	}
}

// TestFrameRightAfterUpgrade: a change committed as soon as the client
// has the socket reaches it. (The server used to register the socket only
// after the handshake, and lost such changes now and then.)
func TestFrameRightAfterUpgrade(t *testing.T) {
	e := newEnv(t)
	id, err := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		conn := e.listen(id)
		if err := e.c.Put(ctx, e.app, "test.Item", item(1, strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
		if m := readFrame(t, conn); len(m.RecordKeys) != 1 || m.RecordKeys[0] != "1" {
			t.Fatalf("socket %d: frame %v", i, m)
		}
		conn.CloseNow()
	}
}
