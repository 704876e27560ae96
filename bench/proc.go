package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Proc is a server running as a child process, so its CPU time and memory
// can be read apart from the clients'.
type Proc struct {
	URL    string
	cmd    *exec.Cmd
	onStop []func()
}

// OnStop adds fn to what Stop does once the server has ended.
func (p *Proc) OnStop(fn func()) { p.onStop = append(p.onStop, fn) }

// StartServer runs exe with args (it must be `webaas-chat serve`-like and
// take --listen-fd), on a free loopback port, and waits until it answers.
// The port's socket is bound here and handed over, so no other process
// can take the port in between.
func StartServer(ctx context.Context, exe string, args ...string) (*Proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	f, err := ln.(*net.TCPListener).File()
	ln.Close()
	if err != nil {
		return nil, err
	}
	defer f.Close() // the child holds its own copy
	cmd := exec.Command(exe, append(args, "--listen-fd", "3")...)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{URL: "http://" + addr, cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/")
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Stop()
			return nil, fmt.Errorf("server %s did not answer: %w", exe, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop terminates the server gracefully and waits for it.
func (p *Proc) Stop() error {
	if p.cmd.ProcessState != nil {
		return nil
	}
	defer func() {
		for _, fn := range p.onStop {
			fn()
		}
		p.onStop = nil
	}()
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		return errors.New("server did not stop within 20 s; killed")
	}
}

// CPU is the CPU time (user + system) the server has used so far.
func (p *Proc) CPU() (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name may contain spaces; fields start after its ')'.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc stat")
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// Memory reads the server's resident set size now and at its peak, in bytes.
func (p *Proc) Memory() (rss, peak int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak, sc.Err()
}
