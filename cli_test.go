package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

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
