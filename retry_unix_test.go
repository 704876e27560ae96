//go:build unix

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// refusingAddr reserves a loopback port with a socket that is bound but
// not listening, so connecting to it is refused (ECONNREFUSED); listen
// turns the same socket into a listener. Nobody else can take the port
// in between, and nothing has to be closed and reopened.
func refusingAddr(t *testing.T) (addr string, listen func() net.Listener) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), "reserved port")
	t.Cleanup(func() { f.Close() })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr = fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	return addr, func() net.Listener {
		t.Helper()
		if err := syscall.Listen(fd, 128); err != nil {
			t.Fatal(err)
		}
		ln, err := net.FileListener(f) // a dup: closing f later is fine
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
}

// upLater is a real server whose address refuses connections until
// serve is called; then the same server's API answers there too.
type upLater struct {
	t      *testing.T
	srv    *servertest.Server
	url    string
	listen func() net.Listener
}

func newUpLater(t *testing.T) *upLater {
	t.Helper()
	addr, listen := refusingAddr(t)
	return &upLater{t: t, srv: servertest.Start(t), url: "http://" + addr, listen: listen}
}

func (u *upLater) serve() {
	hs := &http.Server{Handler: u.srv.API}
	go hs.Serve(u.listen())
	u.t.Cleanup(func() { hs.Close() })
}

const refusedNotice = "cannot reach the server at "

// TestCommandsRetryUntilTheServerIsUp: `send`, `room create` and
// `history` started while the server's port refuses connections say so
// on stderr, retry, and succeed once it answers, within --timeout.
// Before, each failed at once on "connection refused".
func TestCommandsRetryUntilTheServerIsUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		args func(u *upLater, code string) []string
		want func(out, code string) bool
	}{
		{"send", func(u *upLater, code string) []string {
			return []string{"send", "--server", u.url, "--room", code, "--nick", "alice", "--timeout", "30s", "hello", "late", "server"}
		}, func(out, _ string) bool { return out == "2\n" }},
		{"room create", func(u *upLater, _ string) []string {
			return []string{"room", "create", "--server", u.url, "--name", "late"}
		}, func(out string, _ string) bool {
			inv, err := chat.ParseInvite(out)
			return err == nil && inv.Secret != nil && inv.Server != ""
		}},
		{"history", func(u *upLater, code string) []string {
			return []string{"history", "--server", u.url, "--room", code}
		}, func(out, _ string) bool { return strings.HasSuffix(out, "bob: already here\n") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpLater(t)
			room := createRoom(t, u.srv.URL())
			c, _ := webaas.New(u.srv.URL())
			chattest.RawPost(t, c, room.Code(), &chatpb.Message{Nick: "bob", Text: "already here"})
			var out bytes.Buffer
			errOut := newWatchWriter(refusedNotice+u.url+"; retrying in ", 1)
			done := make(chan error, 1)
			go func() { done <- run(context.Background(), tc.args(u, room.Code()), nil, &out, errOut) }()
			errOut.waitOr(t, tc.name+" against a refusing port", done)
			u.serve()
			if err := <-done; err != nil {
				t.Fatalf("%v; stderr:\n%s", err, errOut)
			}
			if !tc.want(out.String(), room.Code()) {
				t.Fatalf("printed %q; stderr:\n%s", out.String(), errOut)
			}
			if !strings.Contains(errOut.String(), "connection refused") {
				t.Errorf("the notice does not say why: %s", errOut)
			}
		})
	}
}

// TestHistoryFollowRetriesForever: `history --follow` whose first open
// fails keeps retrying past --timeout (which then bounds each attempt),
// saying so on stderr; once the server answers it prints the room and
// follows it. Before, it exited on the first failure.
func TestHistoryFollowRetriesForever(t *testing.T) {
	u := newUpLater(t)
	room := createRoom(t, u.srv.URL())
	c, _ := webaas.New(u.srv.URL())
	chattest.RawPost(t, c, room.Code(), &chatpb.Message{Nick: "bob", Text: "before"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newWatchWriter("bob: ", 2)
	// Retries wait 50-100 ms, then 100-200, 200-400: the fourth notice
	// comes after more than --timeout.
	errOut := newWatchWriter(refusedNotice, 4)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"history", "--server", u.url, "--room", room.Code(), "--follow", "--timeout", "300ms"}, nil, out, errOut)
	}()
	errOut.waitOr(t, "history --follow against a refusing port", done)
	u.serve()
	sender, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	// Printed by the first read or by the feed, depending on when it
	// lands: once either way.
	if _, err := sender.Send(ctx, "after"); err != nil {
		t.Fatal(err)
	}
	out.wait(t, "history --follow once the server is up")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasPrefix(got, "1 ") || !strings.Contains(got, "bob: before\n2 ") || !strings.HasSuffix(got, "bob: after\n") || strings.Count(got, "after") != 1 {
		t.Fatalf("printed %q", got)
	}
}

// TestFaultsAreRetriedRefusalsAreNot: a 503 answer (a store restarting, a
// proxy) is retried like no answer; a 4xx answer (here: no such room) is
// final and reported at once, after one request.
func TestFaultsAreRetriedRefusalsAreNot(t *testing.T) {
	srv := servertest.Start(t)
	room := createRoom(t, srv.URL())
	var requests, faults atomic.Int32
	faults.Store(3)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if faults.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":1013,"message":"store unavailable"}`)
			return
		}
		srv.API.ServeHTTP(w, r)
	}))
	defer front.Close()

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"send", "--server", front.URL, "--room", room.Code(), "--nick", "alice", "through", "faults"}, nil, &out, &errOut)
	if err != nil || out.String() != "1\n" {
		t.Fatalf("send through three 503s: %v, printed %q; stderr:\n%s", err, out.String(), errOut.String())
	}
	if got := strings.Count(errOut.String(), "the server at "+front.URL+" is failing; retrying in "); got != 3 {
		t.Errorf("%d notices for 3 faults:\n%s", got, errOut.String())
	}

	requests.Store(0)
	errOut.Reset()
	err = run(context.Background(), []string{"send", "--server", front.URL, "--room", "00000000-0000-4000-8000-000000000000", "--nick", "alice", "hi"}, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "unknown room") {
		t.Fatalf("send to no room: %v", err)
	}
	if n := requests.Load(); n != 1 || errOut.Len() != 0 {
		t.Fatalf("a refusal cost %d requests; stderr:\n%s", n, errOut.String())
	}
}

// TestHistoryFollowRetriesItsRegistration: when the room opens but
// registering for its changes fails (503), `history --follow` retries
// the registration instead of exiting, and then follows the room.
func TestHistoryFollowRetriesItsRegistration(t *testing.T) {
	srv := servertest.Start(t)
	room := createRoom(t, srv.URL())
	var faults atomic.Int32
	faults.Store(2)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/notification" && faults.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"code":1013,"message":"store unavailable"}`)
			return
		}
		srv.API.ServeHTTP(w, r)
	}))
	defer front.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := newWatchWriter("bob: followed\n", 1)
	errOut := newWatchWriter("is failing; retrying in ", 2)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"history", "--server", front.URL, "--room", room.Code(), "--follow"}, nil, out, errOut)
	}()
	errOut.waitOr(t, "history --follow with a failing registration", done)
	// Written once the registration failed twice: the first read found
	// nothing, so the feed delivers it.
	sender, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	if _, err := sender.Send(ctx, "followed"); err != nil {
		t.Fatal(err)
	}
	out.waitOr(t, "history --follow after the faults", done)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
