package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/wire"
)

// startOnTinyDisk runs `webaas-chat serve` with its data on a 1 MiB
// tmpfs of its own (a private mount namespace, so nothing outside the
// process sees it), or skips where the machine does not allow that.
func startOnTinyDisk(t *testing.T, p port) *process {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("no unshare(1): cannot give a server a small disk of its own")
	}
	if out, err := exec.Command(unshare, "-Urm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt").CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs in a private namespace here (%v: %s)", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(unshare, "-Urm", "sh", "-c", `mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2"`, "sh", dir, self)
	cmd.Env = append(os.Environ(), "WEBAAS_CHAT_TEST_RUN_MAIN="+strings.Join([]string{"serve", "--listen-fd", "3", "--data", dir}, "\x1f"))
	cmd.ExtraFiles = []*os.File{p.file}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	proc := &process{t: t, cmd: cmd, out: out}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitAnswers(t, proc, p.addr)
	return proc
}

// TestFullDiskSaysSo fills a real, small disk under a real server. Before,
// sends answered 500 {"code":1000,"message":"internal error"} and the log
// dropped the cause. Now the server answers 503 code 1013 saying the disk
// is full and logs the cause, and a chat send fails with those words
// instead of retrying for ever.
func TestFullDiskSaysSo(t *testing.T) {
	p := freePort(t)
	srv := startOnTinyDisk(t, p)
	room := createRoom(t, "http://"+p.addr)
	sender, err := room.Sender("alice", chat.SessionOptions{GiveUp: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	text := strings.Repeat("x", chat.MaxText)
	var sendErr error
	for i := 0; sendErr == nil; i++ {
		if i > 1000 {
			t.Fatal("1,000 messages of 4 KB fit on a 1 MiB disk")
		}
		_, sendErr = sender.Send(ctx, text)
	}
	var we *webaas.Error
	if !errors.As(sendErr, &we) || we.Status != 503 || we.Code != wire.CodeUnavailable || !strings.Contains(we.Message, "out of disk space") {
		t.Fatalf("the send that did not fit failed with %v; want a 503, code 1013, saying the disk is full", sendErr)
	}
	if log := srv.out.String(); !strings.Contains(log, "no space left on device") {
		t.Fatalf("the server's log does not give the cause:\n%s", log)
	}
	// The server still answers reads.
	if _, err := room.Head(ctx); err != nil {
		t.Fatalf("reading from a server with a full disk: %v", err)
	}
}
