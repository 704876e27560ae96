package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// benchReport is everything one bench run measured (the --json output).
type benchReport struct {
	Machine    string               `json:"machine"`
	Server     string               `json:"server"`
	Senders    *bench.SendersResult `json:"senders,omitempty"`
	Latency    []bench.LoadResult   `json:"latency,omitempty"`
	Throughput []bench.LoadResult   `json:"throughput,omitempty"`
	History    []bench.HistoryPoint `json:"history,omitempty"`
	Fanout     *bench.FanoutResult  `json:"fanout,omitempty"`
	Attacks    []bench.AttackResult `json:"attacks,omitempty"`
	ServerCPU  time.Duration        `json:"server_cpu_ns,omitempty"`
	ServerPeak int64                `json:"server_peak_rss_bytes,omitempty"`
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: webaas-chat bench [flags]

Runs simulated chat clients against a server and reports delivery latency,
throughput, cost against history size and notification fan-out, for this
project's design and, beside it, the original one (a single record holding
the whole room). With no --server it starts a server as a child process
(on a temporary data dir) so that its CPU time and memory can be read.

Flags:
`)
		fs.PrintDefaults()
	}
	serverURL := fs.String("server", "", "an already running server (default: start one as a child process)")
	runList := fs.String("run", "latency,throughput,history,fanout", "sections to run: senders, latency, throughput, history, fanout, attacks (not by default: each attack starts its own server)")
	models := fs.String("model", "both", "ours, original or both")
	clients := fs.Int("clients", 50, "latency: clients in the room")
	rate := fs.Float64("rate", 200, "latency: total messages per second, spread over the clients")
	duration := fs.Duration("duration", 10*time.Second, "latency and throughput: how long each run sends")
	tpClients := fs.Int("throughput-clients", 10, "throughput: clients sending as fast as they can")
	inFlight := fs.Int("in-flight", 32, "throughput: sends each client keeps outstanding (a client batches them into one transaction)")
	historyList := fs.String("history", "0,1000,10000,100000", "history: room sizes to measure at")
	samples := fs.Int("samples", 50, "history: sends measured at each size")
	fanout := fs.Int("fanout", 1000, "fanout: watching sockets, all from one address (a --server of your own must allow them: serve --max-conns-per-client)")
	fanoutMsgs := fs.Int("fanout-messages", 30, "fanout: messages sent to them")
	senders := fs.Int("senders", 20, "senders: clients sending at once")
	each := fs.Int("each", 200, "senders: messages each of them sends")
	attackList := fs.String("attack", strings.Join(bench.Attacks, ","), "attacks: which ones")
	attackTime := fs.Duration("attack-duration", 10*time.Second, "attacks: how long each one runs")
	slowBodies := fs.Int("slow-bodies", 19000, "attacks: connections the slow-bodies attacker tries to hold")
	attackDir := fs.String("attack-dir", "", "attacks: where the servers keep their data (default: the temporary directory); a tmpfs such as /dev/shm takes the disk's fsync latency out of the honest client's numbers")
	var serveFlags []string
	fs.Func("serve-flag", "attacks: a flag for the attacked servers, e.g. --serve-flag=--max-txn-reads=40000 (repeat for more)", func(v string) error {
		serveFlags = append(serveFlags, v)
		return nil
	})
	serverExe := fs.String("server-exe", "", "attacks: the webaas-chat binary whose server to attack (default: this one), e.g. an older build to compare")
	honestApp := fs.String("honest-app", "", "honest: the app (with attack.Blob) the honest client writes into")
	honestKeepAlive := fs.Bool("honest-keepalive", true, "honest: reuse connections (false: one per request)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	run := map[string]bool{}
	for _, s := range strings.Split(*runList, ",") {
		switch s = strings.TrimSpace(s); s {
		case "senders", "latency", "throughput", "history", "fanout", "attacks", "honest":
			run[s] = true
		default:
			return usageError{fmt.Sprintf("--run: unknown section %q", s)}
		}
	}
	var useModels []string
	switch *models {
	case "both":
		useModels = []string{"ours", "original"}
	case "ours", "original":
		useModels = []string{*models}
	default:
		return usageError{"--model: want ours, original or both"}
	}
	var sizes []int
	for _, s := range strings.Split(*historyList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return usageError{fmt.Sprintf("--history: %q is not a size", s)}
		}
		sizes = append(sizes, n)
	}

	if run["honest"] {
		// The attacks' honest client, in a process of its own (see
		// bench.AttackConfig.Honest).
		if len(run) != 1 || *serverURL == "" || *honestApp == "" {
			return usageError{"--run honest goes alone, with --server and --honest-app"}
		}
		lat, failed, err := bench.RunHonest(ctx, *serverURL, *honestApp, *duration, *honestKeepAlive)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(honestReport{Latencies: lat, Failed: failed})
	}
	if run["attacks"] && *serverURL != "" {
		return usageError{"--run attacks starts a server of its own for each attack; it takes no --server"}
	}
	rep := benchReport{Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())}
	var proc *bench.Proc
	url := *serverURL
	switch {
	case url == "" && onlyAttacks(run):
		rep.Server = "a child process per attack"
	case url == "":
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		dir, err := os.MkdirTemp("", "webaas-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// Large records, so that the original design can hold 100k
		// messages in one record at all; and room for the fan-out's
		// sockets, all from one address.
		proc, err = bench.StartServer(ctx, exe, "serve", "--data", dir, "--log-level", "warn", "--max-record-bytes", strconv.Itoa(64<<20),
			"--max-conns-per-client", strconv.Itoa(max(4*(*fanout), 20000)))
		if err != nil {
			return err
		}
		defer proc.Stop()
		url = proc.URL
		rep.Server = "child process, embedded bbolt store in " + dir
	default:
		rep.Server = url
	}
	progress := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, format+"\n", a...)
		}
	}
	newModel := func(name string) func(context.Context) (bench.Model, error) {
		return func(ctx context.Context) (bench.Model, error) {
			if name == "original" {
				return bench.NewOriginal(ctx, url)
			}
			return bench.NewOurs(ctx, url)
		}
	}

	if run["senders"] {
		progress("senders: %d clients × %d messages…", *senders, *each)
		m, err := bench.NewOurs(ctx, url)
		if err != nil {
			return err
		}
		res, err := bench.RunSenders(ctx, bench.SendersConfig{Server: url, Room: m.Room, Clients: *senders, Each: *each})
		if err != nil {
			return err
		}
		rep.Senders = &res
	}
	for _, name := range useModels {
		if run["latency"] {
			progress("latency: %s, %d clients at %.0f msg/s for %v…", name, *clients, *rate, *duration)
			m, err := newModel(name)(ctx)
			if err != nil {
				return err
			}
			res, err := bench.RunLoad(ctx, bench.LoadConfig{Model: m, Clients: *clients, Rate: *rate, Duration: *duration})
			if err != nil {
				return err
			}
			rep.Latency = append(rep.Latency, res)
		}
		if run["throughput"] {
			progress("throughput: %s, %d clients × %d in flight for %v…", name, *tpClients, *inFlight, *duration)
			m, err := newModel(name)(ctx)
			if err != nil {
				return err
			}
			res, err := bench.RunLoad(ctx, bench.LoadConfig{Model: m, Clients: *tpClients, InFlight: *inFlight, Duration: *duration})
			if err != nil {
				return err
			}
			rep.Throughput = append(rep.Throughput, res)
		}
		if run["history"] {
			progress("history: %s at %v messages…", name, sizes)
			pts, err := bench.RunHistory(ctx, newModel(name), sizes, *samples)
			if err != nil {
				return err
			}
			rep.History = append(rep.History, pts...)
		}
	}
	if run["fanout"] {
		progress("fanout: %d sockets, %d messages…", *fanout, *fanoutMsgs)
		res, err := bench.RunFanout(ctx, url, proc, *fanout, *fanoutMsgs)
		if err != nil {
			return err
		}
		rep.Fanout = &res
	}
	if run["attacks"] {
		exe, start := *serverExe, bench.StartLegacyServer // an older build may not take --listen-fd
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return err
			}
			start = bench.StartServer
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cfg := bench.AttackConfig{
			Start: attackServer(start, exe, *attackDir, serveFlags), Only: strings.Split(*attackList, ","),
			Duration: *attackTime, SlowBodies: *slowBodies, Honest: honestProcess(self),
		}
		err = bench.RunAttacks(ctx, cfg, func(r bench.AttackResult) {
			progress("%s", r)
			rep.Attacks = append(rep.Attacks, r)
		})
		if err != nil {
			return err
		}
	}
	if proc != nil {
		rep.ServerCPU, _ = proc.CPU()
		_, rep.ServerPeak, _ = proc.Memory()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(stdout, rep)
	return nil
}

func onlyAttacks(run map[string]bool) bool { return len(run) == 1 && run["attacks"] }

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

func printReport(w io.Writer, r benchReport) {
	fmt.Fprintf(w, "machine: %s\nserver: %s\n", r.Machine, r.Server)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if s := r.Senders; s != nil {
		fmt.Fprintf(w, "\nconcurrent senders\n%v\nverdict: %s\n", s, map[bool]string{true: "OK: every client holds every message, once, in one order", false: "FAILED"}[s.OK()])
	}
	loads := func(title string, rs []bench.LoadResult) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		fmt.Fprintln(tw, "model\tclients\trate asked\tsent\tmsg/s\tdelivery p50\tp99\tmax\tundelivered\tlost")
		for _, x := range rs {
			asked := "max"
			if x.Rate > 0 {
				asked = fmt.Sprintf("%.0f/s", x.Rate)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%.0f\t%s\t%s\t%s\t%d\t%d\n", x.Model, x.Clients, asked, x.Sent, x.Throughput,
				msStr(x.Delivery.P50), msStr(x.Delivery.P99), msStr(x.Delivery.Max), x.Undelivered, x.Lost)
		}
		tw.Flush()
	}
	loads("latency (send to every other client's chat layer)", r.Latency)
	loads("throughput (durable, acknowledged messages)", r.Throughput)
	if len(r.History) > 0 {
		fmt.Fprintf(w, "\ncost against history (medians; ratio to the empty room)\n")
		fmt.Fprintln(tw, "model\thistory\tsend p50\tratio\tdelivery p50\tratio")
		base := map[string]bench.HistoryPoint{}
		for _, p := range r.History {
			if _, ok := base[p.Model]; !ok {
				base[p.Model] = p
			}
			b := base[p.Model]
			fmt.Fprintf(tw, "%s\t%d\t%s\t%.2fx\t%s\t%.2fx\n", p.Model, p.History, msStr(p.Send.P50), ratio(p.Send.P50, b.Send.P50),
				msStr(p.Delivery.P50), ratio(p.Delivery.P50, b.Delivery.P50))
		}
		tw.Flush()
	}
	if f := r.Fanout; f != nil {
		fmt.Fprintf(w, "\nfan-out: one message to %d sockets (%d messages)\nuntil the last socket: p50 %s p99 %s max %s; every socket: p50 %s p99 %s; missing frames %d\n",
			f.Sockets, f.Messages, msStr(f.Last.P50), msStr(f.Last.P99), msStr(f.Last.Max), msStr(f.All.P50), msStr(f.All.P99), f.Missing)
		if f.BytesPerSocket > 0 {
			fmt.Fprintf(w, "server memory per idle socket: %.1f KiB\n", float64(f.BytesPerSocket)/1024)
		}
	}
	if len(r.Attacks) > 0 {
		fmt.Fprintf(w, "\nattacks (each on a fresh server at its default limits; the honest client sends from another address)\n")
		for _, a := range r.Attacks {
			fmt.Fprintf(w, "%s\n  %s\n", a.What, a)
		}
	}
	if r.ServerCPU > 0 {
		fmt.Fprintf(w, "\nserver: %.1f CPU seconds, peak RSS %.0f MiB\n", r.ServerCPU.Seconds(), float64(r.ServerPeak)/(1<<20))
	}
}

func msStr(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
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
