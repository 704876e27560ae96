package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/bench"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// The test binary doubles as the webaas-chat binary, so tests can run a
// real, separate server process and kill it.
func TestMain(m *testing.M) {
	if args := os.Getenv("WEBAAS_CHAT_TEST_RUN_MAIN"); args != "" {
		os.Args = append([]string{"webaas-chat"}, strings.Split(args, "\x1f")...)
		main()
		os.Exit(0)
	}
	// No test may read or write the config, data or identity of the
	// person running the tests: every one of them gets a home of its own
	// unless it sets one.
	home, err := os.MkdirTemp("", "webaas-chat-test-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for k, v := range map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, "config"),
		"XDG_DATA_HOME": filepath.Join(home, "data"), "XDG_STATE_HOME": filepath.Join(home, "state")} {
		os.Setenv(k, v)
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// process is webaas-chat running as a separate process.
type process struct {
	t   *testing.T
	cmd *exec.Cmd
	out *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	return startWithFiles(t, nil, args...)
}

// startWithFiles starts webaas-chat with files inherited as descriptors
// 3, 4, ...
func startWithFiles(t *testing.T, files []*os.File, args ...string) *process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), "WEBAAS_CHAT_TEST_RUN_MAIN="+strings.Join(args, "\x1f"))
	cmd.ExtraFiles = files
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, out: out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(timeout time.Duration) int {
	p.t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		p.t.Fatalf("process did not exit within %v; output:\n%s", timeout, p.out)
		return -1
	}
}

// port is a listening socket on a free loopback port, held for the whole
// test and handed to each server process started on it, so no other
// process can take the port between two of them (a server killed and
// started again gets the same socket).
type port struct {
	addr string
	file *os.File
}

func freePort(t *testing.T) port {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	ln.Close() // f holds the socket open
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return port{addr: ln.Addr().String(), file: f}
}

// startServer runs `webaas-chat serve` on the port and waits until it
// answers.
func startServer(t *testing.T, p port, dir string, args ...string) *process {
	t.Helper()
	proc := startWithFiles(t, []*os.File{p.file}, append([]string{"serve", "--listen-fd", "3", "--data", dir}, args...)...)
	waitAnswers(t, proc, p.addr)
	return proc
}

// waitAnswers waits until the server process answers on addr.
func waitAnswers(t *testing.T, p *process, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !answers(addr) {
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			t.Fatalf("server on %s never answered; output:\n%s", addr, p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func createRoom(t *testing.T, url string) *chat.Room {
	t.Helper()
	c, err := webaas.New(url)
	if err != nil {
		t.Fatal(err)
	}
	room, err := chat.NewClient(c).CreateRoom(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	return room
}

// TestCrashLosesNothing kills a real server process with SIGKILL in the
// middle of a concurrent-senders run and restarts it on the same data dir:
// every send that returned success is there, nothing is doubled, and the
// clients that kept running finish their run after the restart.
func TestCrashLosesNothing(t *testing.T) {
	clients, each := 8, 60
	if testing.Short() {
		clients, each = 4, 25
	}
	port, dir := freePort(t), t.TempDir()
	url := "http://" + port.addr
	srv := startServer(t, port, dir)
	room := createRoom(t, url)

	ctx := context.Background()
	type outcome struct {
		res bench.SendersResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := bench.RunSenders(ctx, bench.SendersConfig{
			Server: url, Room: room.Code(), Clients: clients, Each: each,
			Reconnect: backoff.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		})
		done <- outcome{res, err}
	}()
	// Kill it once a good part of the run is in.
	for {
		head, err := room.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head >= int64(clients*each/3) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.wait(10 * time.Second)
	time.Sleep(300 * time.Millisecond) // down a while: requests wait, those in flight were cut
	startServer(t, port, dir)

	var o outcome
	select {
	case o = <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("the run did not finish after the restart")
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	t.Log(o.res)
	if o.res.Sent != clients*each || !o.res.OK() || o.res.Expected != clients*each {
		t.Fatalf("after a crash: %v", o.res)
	}
}

// TestSigtermShutsDownGracefully: on SIGTERM the server says "going away"
// to websockets, finishes what is in flight, flushes the store and exits
// 0; everything acknowledged is there when it starts again.
func TestSigtermShutsDownGracefully(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	url := "http://" + port.addr
	srv := startServer(t, port, dir)
	room := createRoom(t, url)
	c, _ := webaas.New(url)
	id, err := c.RegisterNotification(context.Background(), room.Code(), "chatroom.Counter", []string{"head"})
	if err != nil {
		t.Fatal(err)
	}
	conn, _, err := websocket.Dial(context.Background(), "ws://"+port.addr+"/notification?appID="+room.Code()+"&notificationID="+id, nil)
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				closed <- err
				return
			}
		}
	}()

	// Keep sending while the signal arrives.
	sender, err := room.Sender("sender", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	var acked []int64
	stopSending := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stopSending:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			m, err := sender.Send(ctx, fmt.Sprint("m", i))
			cancel()
			if err == nil {
				acked = append(acked, m.Seq)
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := srv.wait(20 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, srv.out)
	}
	select {
	case err := <-closed:
		if websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("websocket closed with %v, want going away", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("websocket not closed")
	}
	close(stopSending)
	<-sent
	if !strings.Contains(srv.out.String(), "server stopped") {
		t.Fatalf("no clean stop in the log:\n%s", srv.out)
	}

	startServer(t, port, dir)
	msgs, err := room.After(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	have := map[int64]bool{}
	for _, m := range msgs {
		have[m.Seq] = true
	}
	for _, seq := range acked {
		if !have[seq] {
			t.Fatalf("acknowledged message %d lost in a graceful shutdown", seq)
		}
	}
	if len(acked) == 0 {
		t.Fatal("nothing was sent before the signal")
	}
	t.Logf("%d messages acknowledged around the SIGTERM, all present", len(acked))
}

// TestHistoryFollowCatchesUpAfterRestart runs `history --follow --json`
// while the server restarts and messages arrive before, during and after:
// it prints every message exactly once, in order.
func TestHistoryFollowCatchesUpAfterRestart(t *testing.T) {
	srv := servertest.Start(t)
	room := createRoom(t, srv.URL())
	sender, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	send := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := sender.Send(context.Background(), fmt.Sprint("m", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(0, 5)
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	finished := make(chan error, 1)
	go func() {
		finished <- run(ctx, []string{"history", "--server", srv.URL(), "--room", room.Code(), "--json", "--follow"}, nil, out, errOut)
	}()
	waitLines := func(n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(out.String(), "\n") < n {
			if time.Now().After(deadline) {
				t.Fatalf("have %d lines, want %d; stderr:\n%s", strings.Count(out.String(), "\n"), n, errOut)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitLines(5)
	send(5, 10)
	waitLines(10)
	srv.Restart()
	send(10, 20)
	waitLines(20)
	cancel()
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	var seqs []int64
	for sc.Scan() {
		var m struct {
			Seq  int64  `json:"seq"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %q", sc.Text())
		}
		seqs = append(seqs, m.Seq)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("printed seqs %v: gap or duplicate", seqs)
		}
	}
	if len(seqs) != 20 {
		t.Fatalf("printed %d messages, want 20", len(seqs))
	}
	if !strings.Contains(errOut.String(), "reconnecting") {
		t.Fatalf("the restart went unreported on stderr: %q", errOut)
	}
}

func TestScriptedCommandsExitCodes(t *testing.T) {
	srv := servertest.Start(t)
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if err := run(ctx, []string{"room", "create", "--server", srv.URL(), "--name", "scripted"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(out.String())
	for _, tc := range []struct {
		args  []string
		usage bool // exit 2
		ok    bool
	}{
		{[]string{"send", "--server", srv.URL(), "--room", code, "--nick", "alice", "hello", "world"}, false, true},
		{[]string{"send", "--server", srv.URL(), "--room", code, "--nick", "alice"}, true, false},
		{[]string{"send", "--server", srv.URL(), "--room", code, "hello"}, true, false},
		{[]string{"send", "--server", srv.URL(), "--room", code, "--nick", "two words", "hi"}, true, false},
		{[]string{"send", "--server", srv.URL(), "--room", "00000000-0000-4000-8000-000000000000", "--nick", "a", "hi"}, false, false},
		{[]string{"send", "--server", srv.URL(), "--room", "nonsense", "--nick", "a", "hi"}, true, false}, // neither a code nor an invite
		{[]string{"history", "--server", srv.URL()}, true, false},
		{[]string{"nosuchcommand"}, true, false},
	} {
		out.Reset()
		err := run(ctx, tc.args, nil, &out, &errOut)
		var ue usageError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case !tc.ok && err == nil:
			t.Errorf("%v: succeeded", tc.args)
		case !tc.ok && tc.usage != errors.As(err, &ue):
			t.Errorf("%v: %v, usage error: %v", tc.args, err, errors.As(err, &ue))
		}
	}
	out.Reset()
	if err := run(ctx, []string{"history", "--server", srv.URL(), "--room", code}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.TrimSpace(out.String()), "alice: hello world") {
		t.Fatalf("history printed %q", out.String())
	}
}

// answers reports whether a WeBaaS server answers at addr.
func answers(addr string) bool {
	c, err := webaas.New("http://" + addr)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = c.Info(ctx)
	return err == nil
}
