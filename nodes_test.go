package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// pgURL returns the test database, or skips.
func pgURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("WEBAAS_TEST_POSTGRES")
	if u == "" {
		t.Skip(`set WEBAAS_TEST_POSTGRES=postgres://user:pass@host/db to run the PostgreSQL tests (eval "$(scripts/pg-test-up.sh)" starts a throwaway cluster; .ci/run does)`)
	}
	return u
}

// pgSchema names a fresh PostgreSQL schema for one test and drops it after.
func pgSchema(t *testing.T, url string) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "nodes_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Logf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// failover is a TCP load balancer on loopback: each new connection goes
// to the first backend that accepts it.
type failover struct {
	ln       net.Listener
	backends []string
}

func newFailover(t *testing.T, backends ...string) *failover {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &failover{ln: ln, backends: backends}
	t.Cleanup(func() { ln.Close() })
	go f.serve()
	return f
}

func (f *failover) URL() string { return "http://" + f.ln.Addr().String() }

func (f *failover) serve() {
	for {
		in, err := f.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			for _, b := range f.backends {
				out, err := net.DialTimeout("tcp", b, time.Second)
				if err != nil {
					continue
				}
				defer out.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(out, in); done <- struct{}{} }()
				go func() { io.Copy(in, out); done <- struct{}{} }()
				<-done
				return
			}
		}()
	}
}

// follower collects a room's messages through the chat feed.
type follower struct {
	mu   sync.Mutex
	msgs []chat.Message
}

// openRoom opens a room through the server at url.
func openRoom(t *testing.T, url, code string) *chat.Room {
	t.Helper()
	c, err := webaas.New(url)
	if err != nil {
		t.Fatal(err)
	}
	room, err := chat.NewClient(c).OpenRoom(context.Background(), code)
	if err != nil {
		t.Fatal(err)
	}
	return room
}

func follow(t *testing.T, url, code string) *follower {
	t.Helper()
	room := openRoom(t, url, code)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	events, err := room.Follow(ctx, 0, chat.FollowOptions{Reconnect: backoff.Backoff{Min: 20 * time.Millisecond, Max: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	f := &follower{}
	go func() {
		for ev := range events {
			if ev.Kind == chat.Messages {
				f.mu.Lock()
				f.msgs = append(f.msgs, ev.Messages...)
				f.mu.Unlock()
			}
		}
	}()
	return f
}

func (f *follower) waitFor(t *testing.T, n int) []chat.Message {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		f.mu.Lock()
		got := append([]chat.Message(nil), f.msgs...)
		f.mu.Unlock()
		if len(got) >= n {
			for i, m := range got {
				if m.Seq != int64(i+1) {
					t.Fatalf("message %d has seq %d: gap or duplicate", i+1, m.Seq)
				}
			}
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("have %d messages, want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sendN(t *testing.T, url, code, nick string, n int) {
	t.Helper()
	s, err := openRoom(t, url, code).Sender(nick, chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		_, err := s.Send(ctx, fmt.Sprintf("%s %d", nick, i))
		cancel()
		if err != nil {
			t.Fatalf("%s: send %d: %v", nick, i, err)
		}
	}
}

// TestTwoNodesOneDatabase runs two server processes on one PostgreSQL
// database: a client on node A sends, a client on node B receives; node A
// is killed; B's clients carry on, and a client that was on A reconnects
// (through a failover balancer) to B and catches up.
func TestTwoNodesOneDatabase(t *testing.T) {
	db := pgURL(t)
	schema := pgSchema(t, db)
	portA, portB := freePort(t), freePort(t)
	addrA, addrB := portA.addr, portB.addr
	node := func(p port) *process {
		proc := startServer(t, p, t.TempDir(), "--store", db, "--pg-schema", schema, "--pg-channel", schema)
		// Only the node holds its socket now: killed, it refuses
		// connections, which is how the balancer tells it is gone.
		p.file.Close()
		return proc
	}
	nodeA := node(portA)
	node(portB)
	lb := newFailover(t, addrA, addrB)

	room := createRoom(t, lb.URL()) // through A
	onA := follow(t, lb.URL(), room.Code())
	onB := follow(t, "http://"+addrB, room.Code())

	sendN(t, lb.URL(), room.Code(), "alice", 10) // on A
	onB.waitFor(t, 10)

	// One transaction whose calls reach both nodes, as behind a
	// round-robin balancer: begin on A, read and write on B, commit on A.
	ctx := context.Background()
	ca, _ := webaas.New("http://" + addrA)
	cb, _ := webaas.New("http://" + addrB)
	txA, err := ca.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txB := cb.Txn(txA.ID)
	if _, err := webaas.TxnGetMessage[chatpb.Counter](ctx, txB, room.Code(), "roster"); err != nil {
		t.Fatalf("read on B of a transaction begun on A: %v", err)
	}
	if err := txB.PutMessage(ctx, room.Code(), &chatpb.Counter{Name: "roster", Value: 100}); err != nil {
		t.Fatal(err)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatalf("commit on A of writes made on B: %v", err)
	}
	if c, err := webaas.GetMessage[chatpb.Counter](ctx, cb, room.Code(), "roster"); err != nil || c.Value != 100 {
		t.Fatalf("after the cross-node transaction: %v %v", c, err)
	}

	if err := nodeA.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	nodeA.wait(10 * time.Second)

	sendN(t, "http://"+addrB, room.Code(), "bob", 10) // B carries on
	onB.waitFor(t, 20)
	// The client that was on A is now on B, through the balancer, and
	// caught up on what it missed.
	onA.waitFor(t, 20)
	sendN(t, lb.URL(), room.Code(), "alice", 5)
	a, b := onA.waitFor(t, 25), onB.waitFor(t, 25)
	for i := range a {
		if a[i].Text != b[i].Text {
			t.Fatalf("the nodes' clients disagree at %d: %q vs %q", i+1, a[i].Text, b[i].Text)
		}
	}
}
