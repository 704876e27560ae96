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
	exited chan struct{} // closed once the process has exited (and been waited for)
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
	return start(ctx, cmd, addr)
}

// StartLegacyServer is StartServer for builds from before --listen-fd:
// it passes --listen with a port it found free, which another process
// could take before the server binds it. Only for comparing old builds.
func StartLegacyServer(ctx context.Context, exe string, args ...string) (*Proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	return start(ctx, exec.Command(exe, append(args, "--listen", addr)...), addr)
}

// start starts cmd and waits until it answers on addr, or exits.
func start(ctx context.Context, cmd *exec.Cmd, addr string) (*Proc, error) {
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{URL: "http://" + addr, cmd: cmd}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	p.exited = exited
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(p.URL + "/")
		if err == nil {
			resp.Body.Close()
			return p, nil
		}
		select {
		case <-exited:
			return nil, fmt.Errorf("server %s exited before answering: %v", cmd.Path, cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Stop()
			return nil, fmt.Errorf("server %s did not answer: %w", cmd.Path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop terminates the server gracefully and waits for it.
func (p *Proc) Stop() error {
	defer func() {
		for _, fn := range p.onStop {
			fn()
		}
		p.onStop = nil
	}()
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
		if !p.cmd.ProcessState.Success() {
			return fmt.Errorf("server: %v", p.cmd.ProcessState)
		}
		return nil
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		return errors.New("server did not stop within 20 s; killed")
	}
}

// CPU is the CPU time (user + system) the server has used so far.
func (p *Proc) CPU() (time.Duration, error) {
	return processCPU(strconv.Itoa(p.cmd.Process.Pid))
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
