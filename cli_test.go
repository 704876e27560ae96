package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// What a person trying the commands by hand found: each bad input gets a
// clear error and the right exit status.

// TestBadCommandLinesAreUsageErrors: a flag that does not exist, or words
// a command does not take, are mistakes on the command line (exit 2),
// not failures (exit 1); they were exit 1, and `room create` took extra
// words silently (`room create my room` made a room called "webaas-chat").
func TestBadCommandLinesAreUsageErrors(t *testing.T) {
	srv := servertest.Start(t)
	code := createRoom(t, srv.URL()).Code()
	for _, args := range [][]string{
		{"send", "--server", srv.URL(), "--room", code, "--nick", "a", "--bogus", "hi"},
		{"history", "--server", srv.URL(), "--room", code, "--bogus"},
		{"room", "create", "--server", srv.URL(), "--bogus"},
		{"room", "create", "--server", srv.URL(), "my", "room"},
		{"serve", "--bogus"},
		{"chat", "--bogus"},
		{"bench", "--bogus"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, nil, &out, &errOut)
		if !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
		if out.Len() > 0 {
			t.Errorf("%v printed %q", args, out.String())
		}
	}
}

// TestRoomHelp: `room --help` shows how to use `room` (exit 0), as every
// other command's --help does; it was a usage error.
func TestRoomHelp(t *testing.T) {
	for _, args := range [][]string{{"room", "--help"}, {"room", "-h"}, {"room", "help"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, nil, &out, &errOut)
		if err != nil && !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%v: %v", args, err)
		}
		if !strings.Contains(out.String()+errOut.String(), "room create") {
			t.Errorf("%v printed %q, %q", args, out.String(), errOut.String())
		}
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestUnreachableServerSaysSoPlainly: when the server never answers, the
// last line says which server could not be reached and why, in words,
// like the retry lines before it; it used to be Go's chain of wrappings
// around the request URL, room code (the key to the room) and all.
func TestUnreachableServerSaysSoPlainly(t *testing.T) {
	url := "http://" + closedPort(t)
	code := "9d69cc80-4953-4923-b78c-c6f26f51d053"
	for _, args := range [][]string{
		{"send", "--server", url, "--timeout", "300ms", "--room", code, "--nick", "alice", "hi"},
		{"history", "--server", url, "--timeout", "300ms", "--room", code},
		{"room", "create", "--server", url, "--timeout", "300ms"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, nil, &out, &errOut)
		if err == nil {
			t.Fatalf("%v succeeded", args)
		}
		msg := err.Error()
		if strings.Contains(msg, code) || strings.Contains(errOut.String(), code) {
			t.Errorf("%v shows the room code: %q", args, msg)
		}
		if !strings.HasPrefix(msg, "cannot reach the server at "+url+": ") || !strings.Contains(msg, "connection refused") || !strings.HasSuffix(msg, "gave up after --timeout (300ms)") {
			t.Errorf("%v: %q", args, msg)
		}
		if !chat.Unreachable(err) {
			t.Errorf("%v: the error no longer unwraps to its cause", args)
		}
	}
}

// TestHistoryFollowSaysPlainlyWhatHappens: while the server is down,
// `history --follow` says on stderr that it cannot reach it, without the
// request URL (it holds the room code), and says so when it is back.
func TestHistoryFollowSaysPlainlyWhatHappens(t *testing.T) {
	srv := servertest.Start(t)
	room := createRoom(t, srv.URL())
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &syncBuffer{}, &syncBuffer{}
	finished := make(chan error, 1)
	go func() {
		finished <- run(ctx, []string{"history", "--server", srv.URL(), "--room", room.Code(), "--follow"}, nil, out, errOut)
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s; stdout:\n%s\nstderr:\n%s", what, out, errOut)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	sender, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	send := func(text string) {
		t.Helper()
		if _, err := sender.Send(ctx, text); err != nil {
			t.Fatal(err)
		}
		waitFor(text, func() bool { return strings.Contains(out.String(), text) })
	}
	send("before")
	srv.Stop()
	// The second attempt finds nobody listening: a failed dial, whose
	// error holds the request's URL.
	waitFor("two reconnect lines", func() bool { return strings.Count(errOut.String(), "\n") >= 2 })
	srv.Restart()
	send("after")
	waitFor("word that it is back", func() bool { return strings.Contains(errOut.String(), "reconnected") })
	cancel()
	if err := <-finished; err != nil {
		t.Fatal(err)
	}
	if strings.Contains(errOut.String(), room.Code()) {
		t.Errorf("stderr shows the room code:\n%s", errOut)
	}
	for _, l := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
		if !strings.HasPrefix(l, "cannot reach the server at "+srv.URL()) && !strings.HasPrefix(l, "reconnected") {
			t.Errorf("stderr line %q", l)
		}
	}
}

// TestChatHelpListsTheCommands: `webaas-chat --help`, the first thing a
// newcomer types, names the other commands (it showed the chat's flags
// only, so `serve`, `send` and `history` went unseen), and neither it
// nor a bad flag writes anything to the user's config.
func TestChatHelpListsTheCommands(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "config"))
	for _, args := range [][]string{{"--help"}, {"chat", "-h"}, {"chat", "--bogus"}} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, nil, &out, &errOut)
		if err == nil {
			t.Fatalf("%v opened the chat", args)
		}
		for _, cmd := range []string{"serve", "room create", "send", "history"} {
			if !strings.Contains(errOut.String(), cmd) {
				t.Errorf("%v does not name %q:\n%s", args, cmd, errOut.String())
			}
		}
	}
	if entries, err := os.ReadDir(home); err != nil || len(entries) > 0 {
		t.Errorf("--help wrote to the home directory: %v %v", entries, err)
	}
}
