package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// openPTY opens a pseudo-terminal of 80 × 24: the chat needs a terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	// Non-blocking, so the poller owns it: Close then closes it at once,
	// even with a read waiting on it (which would otherwise hold it open,
	// and the terminal would not hang up until the chat next drew).
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// TestChatLeavesWhenStoppedOrHungUp: a chat ended by SIGTERM, or by its
// terminal going away (the window closed: the kernel hangs the terminal
// up and sends SIGHUP), leaves the room as ctrl+c does: "alice left" is
// posted and alice is offline at once. It used to die on the spot, so
// alice stayed "online" for the presence timeout, her nickname held.
func TestChatLeavesWhenStoppedOrHungUp(t *testing.T) {
	// Run under nohup, the chats would inherit SIGHUP ignored and rightly
	// stay (the chat honours nohup). With a handler here, exec resets it
	// to the default in each child.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for _, how := range []string{"SIGTERM", "hangup"} {
		t.Run(how, func(t *testing.T) {
			srv := servertest.Start(t)
			room := createRoom(t, srv.URL())
			home := t.TempDir()
			master, slave := openPTY(t)
			defer master.Close()
			self, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(self)
			cmd.Env = append(os.Environ(),
				"WEBAAS_CHAT_TEST_RUN_MAIN="+strings.Join([]string{"chat", "--server", srv.URL(), "--nick", "alice", "--room", room.Code()}, "\x1f"),
				"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"),
				"XDG_STATE_HOME="+filepath.Join(home, "state"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
				"TERM=xterm-256color")
			// stderr apart from the terminal, so that a chat that does not
			// exit can be asked for its goroutines (SIGQUIT) even after
			// the terminal is gone.
			stderr, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
			if err != nil {
				t.Fatal(err)
			}
			defer stderr.Close()
			cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			exited := make(chan error, 1)
			screen := &syncBuffer{}
			go io.Copy(screen, master) // the chat's screen
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
					<-exited
				}
			})

			ctx := context.Background()
			online := func() bool {
				ms, err := room.Members(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range ms {
					if m.Nick == "alice" {
						return m.Online
					}
				}
				return false
			}
			// Joined and on the chat screen (not still logging in).
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(screen.String(), "Joined") || !online() {
				if time.Now().After(deadline) {
					t.Fatal("the chat never joined")
				}
				time.Sleep(20 * time.Millisecond)
			}

			if how == "SIGTERM" {
				cmd.Process.Signal(syscall.SIGTERM)
			} else {
				master.Close()
			}
			var exitErr error
			select {
			case exitErr = <-exited:
			case <-time.After(15 * time.Second):
				cmd.Process.Signal(syscall.SIGQUIT)
				select {
				case <-exited:
				case <-time.After(5 * time.Second):
				}
				dump, _ := os.ReadFile(stderr.Name())
				t.Fatalf("the chat did not exit; its goroutines:\n%s", dump)
			}
			defer func() {
				if t.Failed() {
					out := screen.String()
					t.Logf("exit: %v; the last of the screen: %q", exitErr, out[max(len(out)-2000, 0):])
				}
			}()
			last, err := room.Latest(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(last) != 1 || last[0].Kind != chat.Leave || last[0].Nick != "alice" {
				t.Errorf("the room ends with %+v, want alice leaving", last)
			}
			if online() {
				t.Error("alice is still online")
			}
		})
	}
}
