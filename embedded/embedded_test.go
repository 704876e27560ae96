package embedded_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/embedded"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// waitLimit keeps a broken takeover from hanging a test; it is no
// performance target.
const waitLimit = 30 * time.Second

// freeListener listens on a free port below the kernel's ephemeral range.
// A takeover test frees the port and binds it again; a port the kernel
// hands out (to outgoing connections, to listeners on :0) could be taken
// by another process in between, and was, while other packages' tests ran.
// Below the range, only a process that names the port can take it.
func freeListener(t *testing.T) net.Listener {
	t.Helper()
	low := 32768 // Linux's default start of ip_local_port_range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const from = 20000
	if low <= from+100 {
		t.Skipf("the ephemeral port range starts at %d: no port below it to use", low)
	}
	for range 100 {
		port := from + rand.N(low-from)
		if port == 11232 { // the embedded default a person may be using
			continue
		}
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			return ln
		}
	}
	t.Fatal("no free port below the ephemeral range in 100 tries")
	return nil
}

// start starts a host and stops it when the test ends.
func start(t *testing.T, o embedded.Options) *embedded.Host {
	t.Helper()
	o.CheckEvery = 20 * time.Millisecond
	o.LockTimeout = 5 * time.Second
	h, err := embedded.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

func wait(t *testing.T, h *embedded.Host, want embedded.State) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := h.Wait(ctx, want); err != nil {
		t.Fatal(err)
	}
}

func client(t *testing.T, h *embedded.Host) *webaas.Client {
	t.Helper()
	c, err := webaas.New(h.URL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newApp registers an app on whoever serves h's address.
func newApp(t *testing.T, h *embedded.Host) string {
	t.Helper()
	id, err := client(t, h).RegisterApp(context.Background(), "room")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// wantApp checks that the server on h's address has the app.
func wantApp(t *testing.T, h *embedded.Host, id string) {
	t.Helper()
	if err := client(t, h).PutSchema(context.Background(), id, "1", "a.proto", []byte(`syntax = "proto3";`)); err != nil {
		t.Fatalf("the app made before is not served: %v", err)
	}
}

// TestFirstHostsOthersJoin: the first chat finds nobody and hosts; the
// next one joins it and learns its store.
func TestFirstHostsOthersJoin(t *testing.T) {
	ln := freeListener(t)
	addr := ln.Addr().String()
	a := start(t, embedded.Options{Addr: addr, DataDir: t.TempDir(), Listener: ln})
	if a.State() != embedded.Hosting {
		t.Fatalf("the first chat is %s, want hosting", a.State())
	}
	b := start(t, embedded.Options{Addr: addr, DataDir: t.TempDir()})
	if b.State() != embedded.Joined || b.Store() != a.Store() || a.Store() == "" {
		t.Fatalf("the second chat is %s on store %q; the host serves %q", b.State(), b.Store(), a.Store())
	}
	info, err := client(t, b).Info(context.Background())
	if err != nil || info.Store != a.Store() || !info.Has("info") {
		t.Fatalf("GET /info: %+v, %v", info, err)
	}
}

// TestTakeoverOnTheSameStore: when the host quits, a chat on the same
// data directory takes the server over, with everything in it.
func TestTakeoverOnTheSameStore(t *testing.T) {
	ln := freeListener(t)
	addr, dir := ln.Addr().String(), t.TempDir()
	a := start(t, embedded.Options{Addr: addr, DataDir: dir, Listener: ln})
	app := newApp(t, a)
	b := start(t, embedded.Options{Addr: addr, DataDir: dir, Supervise: true})
	wait(t, b, embedded.Joined)
	a.Stop()
	wait(t, b, embedded.Hosting)
	wantApp(t, b, app)
}

// TestNoTakeoverOfAnotherStore: a chat whose data directory is not the
// room's does not answer for the room when its host quits. It says the
// host left, leaves the address free, and joins again when the host is
// back, with everything in it. Before, it took the port over with its
// own empty store: "unknown app" for everyone, for good.
func TestNoTakeoverOfAnotherStore(t *testing.T) {
	ln := freeListener(t)
	addr, hostDir := ln.Addr().String(), t.TempDir()
	a := start(t, embedded.Options{Addr: addr, DataDir: hostDir, Listener: ln})
	app := newApp(t, a)
	room := a.Store()
	b := start(t, embedded.Options{Addr: addr, DataDir: t.TempDir(), Supervise: true})
	wait(t, b, embedded.Joined)
	a.Stop()
	wait(t, b, embedded.HostLeft)
	if _, err := client(t, b).Info(context.Background()); err == nil || webaas.IsAnswer(err) {
		t.Fatalf("someone answers on %s after the host left (%v): the waiting chat took the port", addr, err)
	}
	// Someone with the host's data comes back.
	back := start(t, embedded.Options{Addr: addr, DataDir: hostDir})
	if back.State() != embedded.Hosting || back.Store() != room {
		t.Fatalf("the returning host is %s on %q, want hosting %q", back.State(), back.Store(), room)
	}
	wait(t, b, embedded.Joined)
	wantApp(t, b, app)
}

// TestHostLeftWhileAnotherStoreHoldsThePort: if a chat with other data
// takes the address while the room's host is away, a waiting chat does
// not join it.
func TestHostLeftWhileAnotherStoreHoldsThePort(t *testing.T) {
	ln := freeListener(t)
	addr := ln.Addr().String()
	a := start(t, embedded.Options{Addr: addr, DataDir: t.TempDir(), Listener: ln})
	b := start(t, embedded.Options{Addr: addr, DataDir: t.TempDir(), Supervise: true})
	wait(t, b, embedded.Joined)
	a.Stop()
	wait(t, b, embedded.HostLeft)
	c := start(t, embedded.Options{Addr: addr, DataDir: t.TempDir()})
	if c.State() != embedded.Hosting {
		t.Fatalf("a chat starting alone is %s, want hosting", c.State())
	}
	// b keeps checking, and keeps saying the host left.
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		err := b.Wait(ctx, embedded.Joined)
		cancel()
		if err == nil {
			t.Fatalf("the waiting chat joined a server of another store")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
}
