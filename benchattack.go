package main

// The attacks section's helpers: a fresh server per attack, and the
// honest client in a process of its own.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// attackServer starts exe's server at its default limits (but for flags),
// on a data dir of its own under parent, for one attack.
func attackServer(start func(context.Context, string, ...string) (*bench.Proc, error), exe, parent string, flags []string) func(context.Context) (*bench.Proc, error) {
	return func(ctx context.Context) (*bench.Proc, error) {
		dir, err := os.MkdirTemp(parent, "webaas-attack-")
		if err != nil {
			return nil, err
		}
		p, err := start(ctx, exe, append([]string{"serve", "--data", dir, "--log-level", "error"}, flags...)...)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		p.OnStop(func() { os.RemoveAll(dir) })
		return p, nil
	}
}

// honestReport is what `bench --run honest` prints.
type honestReport struct {
	Latencies []time.Duration `json:"latencies_ns"`
	Failed    int             `json:"failed"`
}

// honestProcess runs the attacks' honest client as `self bench --run
// honest`, a process of its own: in the attacker's process it would
// share the Go scheduler with a thousand attacking goroutines and
// measure that rather than the server.
func honestProcess(self string) func(ctx context.Context, url, app string, d time.Duration, keepAlive bool) ([]time.Duration, int, error) {
	return func(ctx context.Context, url, app string, d time.Duration, keepAlive bool) ([]time.Duration, int, error) {
		cmd := exec.CommandContext(ctx, self, "bench", "--run", "honest", "--server", url, "--honest-app", app,
			"--duration", d.String(), "--honest-keepalive="+strconv.FormatBool(keepAlive))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", cmd, err)
		}
		var r honestReport
		if err := json.Unmarshal(out, &r); err != nil {
			return nil, 0, fmt.Errorf("honest client's report: %w", err)
		}
		return r.Latencies, r.Failed, nil
	}
}
