package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// benchFlags are the bench command's knobs.
type benchFlags struct {
	servers      []string // --server, split at commas
	store        string
	pgNodes      int
	dataParent   string
	run          map[string]bool
	models       []string
	runs         int
	members      int
	rates        []float64
	through      float64
	duration     time.Duration
	settle       time.Duration
	greedy       []int
	fanout       int
	fanoutMsgs   int
	fsyncWrites  int
	chart        string
	clients      int
	rate         float64
	tpClients    int
	inFlight     int
	history      []int
	samples      int
	senders      int
	each         int
	attackList   string
	attackTime   time.Duration
	slowBodies   int
	attackDir    string
	serveFlags   []string
	serverExe    string
	honestApp    string
	honestKeep   bool
	asJSON       bool
	jsonOut      string
	cpuProfile   string
	chartFrom    []string
	sectionNames []string
	e2e          bool
	roomsN       int
	roomsRate    float64
	typing       bool
	reactEvery   int
	sign         bool
}

// actions reports whether the sweep's members type or react.
func (f *benchFlags) actions() bool { return f.typing || f.reactEvery > 0 }

// sections the bench knows; the first three are the default.
var benchSections = []string{"sweep", "greedy", "fanout", "rooms", "senders", "latency", "throughput", "history", "attacks", "honest"}

func parseBenchFlags(args []string) (*benchFlags, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: webaas-chat bench [flags]

Runs simulated chat clients against a server, driving the chat through
its public API, and reports what a room takes: a sweep of the rate into a
50-member room up to its knee (the highest rate at which p99 delivery
stays within 50 ms with nothing lost), greedy senders, fan-out to 1,000
subscribers and memory per idle subscriber; beside this project's design,
the original one (a single record holding the whole room). With no
--server it starts the server as a child process, a fresh one for each
section and run, so that its CPU time and memory can be read; with
--store, two nodes on a PostgreSQL schema of their own.

Flags:
`)
		fs.PrintDefaults()
	}
	f := &benchFlags{run: map[string]bool{}}
	server := fs.String("server", "", "already running servers, comma-separated (default: start them as child processes)")
	fs.StringVar(&f.store, "store", "", "a postgres:// URL: start --pg-nodes server nodes on a fresh schema there (dropped at the end) and spread the clients over them")
	fs.IntVar(&f.pgNodes, "pg-nodes", 2, "with --store: how many server nodes")
	fs.StringVar(&f.dataParent, "data-dir", "", "where the child servers keep their data, and where fsync is measured (default: the temporary directory)")
	runList := fs.String("run", "sweep,greedy,fanout", "sections to run: "+strings.Join(benchSections[:len(benchSections)-1], ", "))
	models := fs.String("model", "both", "sweep, greedy, latency, throughput, history: ours, original or both")
	fs.IntVar(&f.runs, "runs", 1, "sweep, greedy, fanout: repeat each this many times and report medians")
	fs.IntVar(&f.roomsN, "rooms", 20, "rooms: rooms one chat holds, all but one busy")
	fs.Float64Var(&f.roomsRate, "rooms-rate", 10, "rooms: messages per second into each busy room")
	fs.BoolVar(&f.e2e, "e2e", false, "ours: an end-to-end encrypted room whose clients sign every message (what the chat does by default); off: a room in the clear, unsigned")
	fs.IntVar(&f.members, "members", 50, "sweep: members in the room, each following it and sending its share")
	fs.BoolVar(&f.typing, "typing", false, "sweep, ours: every member also says it is typing every 3 s (chat.TypingEvery; the members spread over the period) and that it stopped as it sends each message (not holding the send up); with it or --react-every the members follow typing and every reader's marker, as the TUI does")
	fs.BoolVar(&f.sign, "sign", false, "ours: every client signs what it sends with an identity of its own, in a room in the clear: what --react-every implies, so a run with it alone is that run's baseline (in this bench the 50 members verify every message on the same cores)")
	fs.IntVar(&f.reactEvery, "react-every", 0, "sweep, ours: one message in this many gets a reaction, by a random other member, once acknowledged; reactions are messages in the room that every member must get (a lost one fails the step) but are not among the rate's messages or its latency (timed apart); every member gets an identity, which reacting needs (so messages are signed, as with --e2e); 0: none")
	rates := fs.String("rates", joinFloats(bench.DefaultRates), "sweep: aggregate rates (msg/s) to step through; a step that clearly fails ends the sweep")
	fs.Float64Var(&f.through, "through", 200, "sweep: run every step up to this rate even after one clearly failed (not for the original design, which stops at its first failed step)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "sweep, greedy, latency, throughput: how long each step or run sends")
	fs.DurationVar(&f.settle, "settle", 10*time.Second, "sweep, greedy: how long to wait after the last send for acknowledgements and deliveries")
	greedy := fs.String("greedy", "10,50", "greedy: numbers of senders, each with one send in flight")
	fs.IntVar(&f.fanout, "fanout", 1000, "fanout: subscribers following the room through the chat layer, all from one address")
	fs.IntVar(&f.fanoutMsgs, "fanout-messages", 30, "fanout: messages sent to them, one at a time")
	fs.IntVar(&f.fsyncWrites, "fsync-writes", 1000, "4 KiB writes, each fsynced, to time this machine's disk")
	fs.StringVar(&f.chart, "chart", "bench-sweep.svg", "sweep: write the chart here (.svg, .png or .pdf); empty: no chart")
	fs.IntVar(&f.clients, "clients", 50, "latency: clients in the room")
	fs.Float64Var(&f.rate, "rate", 200, "latency: total messages per second, spread over the clients")
	fs.IntVar(&f.tpClients, "throughput-clients", 10, "throughput: clients sending as fast as they can")
	fs.IntVar(&f.inFlight, "in-flight", 32, "throughput: sends each client keeps outstanding (a client batches them into one transaction)")
	historyList := fs.String("history", "0,1000,10000,100000", "history: room sizes to measure at")
	fs.IntVar(&f.samples, "samples", 50, "history: sends measured at each size")
	fs.IntVar(&f.senders, "senders", 20, "senders: clients sending at once")
	fs.IntVar(&f.each, "each", 200, "senders: messages each of them sends")
	fs.StringVar(&f.attackList, "attack", strings.Join(bench.Attacks, ","), "attacks: which ones")
	fs.DurationVar(&f.attackTime, "attack-duration", 10*time.Second, "attacks: how long each one runs")
	fs.IntVar(&f.slowBodies, "slow-bodies", 19000, "attacks: connections the slow-bodies attacker tries to hold")
	fs.StringVar(&f.attackDir, "attack-dir", "", "attacks: where the servers keep their data (default: the temporary directory); a tmpfs such as /dev/shm takes the disk's fsync latency out of the honest client's numbers")
	fs.Func("serve-flag", "attacks: a flag for the attacked servers, e.g. --serve-flag=--max-txn-reads=40000 (repeat for more)", func(v string) error {
		f.serveFlags = append(f.serveFlags, v)
		return nil
	})
	fs.StringVar(&f.serverExe, "server-exe", "", "attacks: the webaas-chat binary whose server to attack (default: this one), e.g. an older build to compare")
	fs.StringVar(&f.honestApp, "honest-app", "", "honest: the app (with attack.Blob) the honest client writes into")
	fs.BoolVar(&f.honestKeep, "honest-keepalive", true, "honest: reuse connections (false: one per request)")
	fs.BoolVar(&f.asJSON, "json", false, "print only the report, as JSON (no progress)")
	fs.StringVar(&f.jsonOut, "json-out", "", "also write the report as JSON to this file")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the bench process (its clients, not a child server: serve --debug-listen profiles that) to this file")
	chartFrom := fs.String("chart-from", "", "measure nothing: draw --chart from the sweeps in these reports (--json-out files, comma-separated), e.g. before and after a change")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError{msg: fmt.Sprintf("bench takes no arguments, got %q", fs.Args())}
	}
	for _, s := range strings.Split(*runList, ",") {
		s = strings.TrimSpace(s)
		if !contains(benchSections, s) {
			return nil, usageError{msg: fmt.Sprintf("--run: unknown section %q", s)}
		}
		f.run[s] = true
		f.sectionNames = append(f.sectionNames, s)
	}
	switch *models {
	case "both":
		f.models = []string{"ours", "original"}
	case "ours", "original":
		f.models = []string{*models}
	default:
		return nil, usageError{msg: "--model: want ours, original or both"}
	}
	var err error
	if f.rates, err = parseList(*rates, "--rates", func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }); err != nil {
		return nil, err
	}
	if f.greedy, err = parseList(*greedy, "--greedy", strconv.Atoi); err != nil {
		return nil, err
	}
	if f.history, err = parseList(*historyList, "--history", strconv.Atoi); err != nil {
		return nil, err
	}
	if *server != "" {
		f.servers = strings.Split(*server, ",")
	}
	if *chartFrom != "" {
		f.chartFrom = strings.Split(*chartFrom, ",")
	}
	switch {
	case f.runs < 1 || f.members < 1 || f.fanout < 1 || f.fanoutMsgs < 1 || f.fsyncWrites < 1 || f.pgNodes < 1:
		return nil, usageError{msg: "--runs, --members, --fanout, --fanout-messages, --fsync-writes and --pg-nodes must be at least 1"}
	case f.store != "" && len(f.servers) > 0:
		return nil, usageError{msg: "--store starts servers of its own; it takes no --server"}
	case f.run["attacks"] && len(f.servers) > 0:
		return nil, usageError{msg: "--run attacks starts a server of its own for each attack; it takes no --server"}
	case f.run["honest"] && (len(f.run) != 1 || len(f.servers) != 1 || f.honestApp == ""):
		return nil, usageError{msg: "--run honest goes alone, with --server and --honest-app"}
	case f.reactEvery < 0:
		return nil, usageError{msg: "--react-every must be at least 0"}
	case f.actions() && contains(f.models, "original"):
		return nil, usageError{msg: "--typing and --react-every want --model ours: the original design has neither"}
	}
	return f, nil
}

func parseList[T int | float64](s, flagName string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, v := range strings.Split(s, ",") {
		n, err := parse(strings.TrimSpace(v))
		if err != nil || n < 0 {
			return nil, usageError{msg: fmt.Sprintf("%s: %q is not a number ≥ 0", flagName, v)}
		}
		out = append(out, n)
	}
	return out, nil
}

func joinFloats(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strings.Join(s, ",")
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		pf, err := os.Create(f.cpuProfile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if len(f.chartFrom) > 0 {
		if err := chartFromReports(f.chart, f.chartFrom); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "chart: %s\n", f.chart)
		return nil
	}
	if f.run["honest"] {
		// The attacks' honest client, in a process of its own (see
		// bench.AttackConfig.Honest).
		lat, failed, err := bench.RunHonest(ctx, f.servers[0], f.honestApp, f.duration, f.honestKeep)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(honestReport{Latencies: lat, Failed: failed})
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	rep := benchReport{
		Machine: fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()),
		Server:  serverWords(f),
	}
	prog := newProgress(stderr, f.asJSON)
	defer prog.finish()
	b := &benchRun{f: f, exe: exe, rep: &rep, prog: prog}
	if err := b.repeated(ctx); err != nil {
		return err
	}
	if err := b.classic(ctx); err != nil {
		return err
	}
	if f.run["attacks"] {
		if err := b.attacks(ctx); err != nil {
			return err
		}
	}
	if f.run["rooms"] {
		cl, err := b.cluster(ctx)
		if err != nil {
			return err
		}
		prog.status("rooms: a chat in %d rooms, %d busy at %.0f msg/s each, for %v", f.roomsN, f.roomsN-1, f.roomsRate, f.duration)
		res, err := bench.RunRooms(ctx, bench.RoomsConfig{Server: cl.URLs[0], Rooms: f.roomsN, Busy: f.roomsN - 1, Rate: f.roomsRate, Duration: f.duration})
		cl.Stop()
		if err != nil {
			return err
		}
		prog.line("rooms: %v", res)
		rep.Rooms = &res
	}
	prog.finish()
	if f.jsonOut != "" {
		if err := writeJSON(f.jsonOut, rep); err != nil {
			return err
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printReport(stdout, rep)
	return nil
}

func writeJSON(path string, rep benchReport) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func serverWords(f *benchFlags) string {
	s := serverPlace(f)
	if f.e2e {
		s += "; ours: end-to-end encrypted, every message signed"
	} else if f.sign {
		s += "; ours: every message signed"
	}
	if f.typing {
		s += "; sweep: members type (typing every 3 s, stopped at each send)"
	}
	if f.reactEvery > 0 {
		s += fmt.Sprintf("; sweep: members react (one per %d messages, every message signed)", f.reactEvery)
	}
	return s
}

func serverPlace(f *benchFlags) string {
	switch {
	case len(f.servers) > 0:
		return strings.Join(f.servers, ", ")
	case f.store != "":
		return fmt.Sprintf("%d child processes on PostgreSQL (a fresh schema per section and run), clients spread over them", f.pgNodes)
	default:
		return "a child process on the embedded bbolt store (a fresh one per section and run)"
	}
}

// benchRun is one bench command's state.
type benchRun struct {
	f    *benchFlags
	exe  string
	rep  *benchReport
	prog *progress
	// fsyncDone: this run's fsync is measured.
	fsyncDone bool
}

// cluster starts the server under test (or names the external one).
func (b *benchRun) cluster(ctx context.Context) (*bench.Cluster, error) {
	return bench.StartCluster(ctx, bench.ClusterConfig{
		Exe: b.exe, Store: b.f.store, Nodes: b.f.pgNodes, Parent: b.f.dataParent, External: b.f.servers,
		// Large records, so that the original design can hold 100k
		// messages in one record at all; and room for the fan-out's
		// connections, all from one address.
		Args: []string{"--max-record-bytes", strconv.Itoa(64 << 20), "--max-conns-per-client", strconv.Itoa(max(4*b.f.fanout, 20000))},
	})
}

func (b *benchRun) attacks(ctx context.Context) error {
	f := b.f
	exe, start := f.serverExe, bench.StartLegacyServer // an older build may not take --listen-fd
	if exe == "" {
		exe, start = b.exe, bench.StartServer
	}
	cfg := bench.AttackConfig{
		Start: attackServer(start, exe, f.attackDir, f.serveFlags), Only: strings.Split(f.attackList, ","),
		Duration: f.attackTime, SlowBodies: f.slowBodies, Honest: honestProcess(b.exe),
	}
	return bench.RunAttacks(ctx, cfg, func(r bench.AttackResult) {
		b.prog.line("%s", r)
		b.rep.Attacks = append(b.rep.Attacks, r)
	})
}
