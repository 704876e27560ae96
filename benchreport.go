package main

// The bench's report: what --json prints, and the tables otherwise.

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// benchReport is everything one bench run measured (the --json output).
type benchReport struct {
	Machine   string              `json:"machine"`
	Server    string              `json:"server"`
	Runs      int                 `json:"runs,omitempty"`
	Fsync     *bench.FsyncResult  `json:"fsync,omitempty"` // medians over FsyncRuns
	FsyncRuns []bench.FsyncResult `json:"fsync_runs,omitempty"`
	Sweeps    []*sweepReport      `json:"sweeps,omitempty"`
	Greedy    []*greedyReport     `json:"greedy,omitempty"`
	Fanout    *fanoutReport       `json:"fanout,omitempty"`
	Chart     string              `json:"chart,omitempty"`
	// StepDuration is how long each sweep step sent.
	StepDuration time.Duration        `json:"step_duration_ns,omitempty"`
	Senders      *bench.SendersResult `json:"senders,omitempty"`
	Latency      []bench.LoadResult   `json:"latency,omitempty"`
	Throughput   []bench.LoadResult   `json:"throughput,omitempty"`
	History      []bench.HistoryPoint `json:"history,omitempty"`
	Attacks      []bench.AttackResult `json:"attacks,omitempty"`
	ServerCPU    time.Duration        `json:"server_cpu_ns,omitempty"`
	ServerPeak   int64                `json:"server_peak_rss_bytes,omitempty"`
	Rooms        *bench.RoomsResult   `json:"rooms,omitempty"`
}

func printReport(w io.Writer, r benchReport) {
	fmt.Fprintf(w, "machine: %s\nserver: %s\n", r.Machine, r.Server)
	if x := r.Rooms; x != nil {
		defer fmt.Fprintf(w, "\nrooms: %v\n", *x)
	}
	if f := r.Fsync; f != nil {
		fmt.Fprintf(w, "fsync of a 4 KiB write here: p50 %s, p99 %s, max %s (%d writes%s)\n", msStr(f.P50), msStr(f.P99), msStr(f.Max), f.Writes, mediansOf(r.Runs))
	}
	printSweeps(w, r)
	printGreedy(w, r)
	if f := r.Fanout; f != nil {
		m := f.Median
		fmt.Fprintf(w, "\nfan-out: %d subscribers following one room through the chat layer, %d messages one at a time%s\n",
			m.Subscribers, m.Messages, mediansOf(len(f.Runs)))
		fmt.Fprintf(w, "until every subscriber holds it: p50 %s p99 %s max %s; every (message, subscriber): p50 %s p99 %s; missing %d\n",
			msStr(m.Last.P50), msStr(m.Last.P99), msStr(m.Last.Max), msStr(m.All.P50), msStr(m.All.P99), m.Missing)
		if m.BytesPerSubscriber > 0 {
			fmt.Fprintf(w, "server memory per idle subscriber: %.1f KiB%s\n", float64(m.BytesPerSubscriber)/1024,
				rangeOf(f.Runs, func(x bench.FanoutResult) float64 { return float64(x.BytesPerSubscriber) / 1024 }, "%.1f"))
		}
	}
	if r.Chart != "" {
		fmt.Fprintf(w, "\nchart: %s\n", r.Chart)
	}
	printClassic(w, r)
}

// mediansOf says what a figure is over n runs.
func mediansOf(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf("; medians of %d runs", n)
}

// rangeOf is " (lo–hi)" over the runs, or nothing for one run.
func rangeOf[T any](runs []T, f func(T) float64, format string) string {
	if len(runs) <= 1 {
		return ""
	}
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	lo, hi := bench.Range(xs)
	return " (" + fmt.Sprintf(format, lo) + "–" + fmt.Sprintf(format, hi) + ")"
}

func printSweeps(w io.Writer, r benchReport) {
	if len(r.Sweeps) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	first := r.Sweeps[0].Runs[0][0]
	fmt.Fprintf(w, "\nsweep: %d members in one room, each following it and sending its share, open loop%s%s\n",
		first.Members, actionsWords(first), mediansOf(r.Runs))
	acting := first.Typing || first.ReactEvery > 0
	head := "model\trate\toffered\tachieved\tp50\tp99\tmax\tlost pairs\tlost msgs\tfailed\tCPU/msg\treqs/msg\tpresence\t"
	if acting {
		head += "typing/s\ttyping share\treaction reqs/s\treaction share\t"
	}
	fmt.Fprintln(tw, head+"others\tpassed\t")
	for _, s := range r.Sweeps {
		for _, x := range s.Median {
			reqs, presence := "-", "-"
			if x.Requests != nil {
				reqs = fmt.Sprintf("%.2f", x.RequestsPerMessage())
				presence = fmt.Sprintf("%.1f%%", 100*x.RequestShare("transaction"))
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t", x.Model, x.Rate, x.Offered, x.Achieved,
				msStr(x.Delivery.P50), msStr(x.Delivery.P99), msStr(x.Delivery.Max), x.LostPairs, x.LostMessages, x.Failed,
				msStr(x.CPUPerMessage), reqs, presence)
			if acting {
				typing, reactions := "-\t-\t", "-\t-\t"
				if x.Typing {
					typing = fmt.Sprintf("%.1f\t%.1f%%\t", x.TypingPerSecond, 100*x.TypingShare)
				}
				if x.ReactEvery > 0 {
					reactions = fmt.Sprintf("%.1f\t%.1f%%\t", x.ReactionRequestsPerSecond, 100*x.ReactionShare)
				}
				fmt.Fprint(tw, typing+reactions)
			}
			fmt.Fprintf(tw, "%.2f\t%s\t\n", x.OtherLoad, passedStr(x, r.Runs))
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "(CPU/msg: the server's; reqs/msg: the members' HTTP requests over the messages sent; presence: the share of them in transactions, which in a sequenced room only heartbeats and roster bumps use; others: cores used meanwhile by processes other than the bench and the server)")
	if acting {
		printActions(w, r)
	}
	fmt.Fprintf(w, "knee (highest rate with p99 ≤ %v, nothing lost or failed, ≥ %.0f%% of the offered rate taken):\n", bench.KneeP99, 100*bench.KneeAchieved)
	for _, s := range r.Sweeps {
		knees := make([]string, len(s.Knees))
		for i, k := range s.Knees {
			knees[i] = strconv.FormatFloat(k, 'f', 0, 64)
		}
		fmt.Fprintf(w, "  %s: %s (runs: %s)\n", s.Model, kneeStr(s.Knee), strings.Join(knees, ", "))
	}
}

// actionsWords says what else a sweep's members did.
func actionsWords(s bench.SweepStep) string {
	switch {
	case s.Typing && s.ReactEvery > 0:
		return fmt.Sprintf(", typing and reacting to one message in %d", s.ReactEvery)
	case s.Typing:
		return ", typing"
	case s.ReactEvery > 0:
		return fmt.Sprintf(", reacting to one message in %d", s.ReactEvery)
	}
	return ""
}

// printActions is the rest of what the members' typing and reactions
// came to: the table above has their requests.
func printActions(w io.Writer, r benchReport) {
	fmt.Fprintln(w, "(typing/s: typing writes, each one plain PUT, over the sending time; typing share: their part of the requests; reaction reqs/s: one batch per reaction, as the chat sends it (its target is on screen, so it reads nothing; an upper bound: at high rates a reaction may share its member's batch with its sends); reaction share: their part; all of these are in reqs/msg too)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\trate\ttyping writes\tfailed\tevents told\treactions\tfailed\treaction p50\tp99\tmax\tlost pairs\t")
	for _, s := range r.Sweeps {
		for _, x := range s.Median {
			fmt.Fprintf(tw, "%s\t%.0f\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%d\t\n", x.Model, x.Rate, x.TypingWrites, x.TypingFailed, x.TypingEvents,
				x.Reactions, x.ReactionsFailed, msStr(x.ReactionDelivery.P50), msStr(x.ReactionDelivery.P99), msStr(x.ReactionDelivery.Max), x.LostReactionPairs)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "(events told: typing events all members' feeds told, together; reaction p50, p99, max: from just before React until a member's chat layer holds it, over every (reaction, member); a lost or failed reaction fails the step, a failed typing write does not)")
}

func kneeStr(k float64) string {
	if k == 0 {
		return "none (no step passed)"
	}
	return strconv.FormatFloat(k, 'f', 0, 64) + " msg/s"
}

func passedStr(s bench.SweepStep, runs int) string {
	if runs > 1 {
		return fmt.Sprintf("%d/%d runs", s.PassedRuns, s.Runs)
	}
	return map[bool]string{true: "yes", false: "no"}[s.Passed()]
}

func printGreedy(w io.Writer, r benchReport) {
	if len(r.Greedy) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "\ngreedy senders: one room, each sender with one send in flight, the next once it is acknowledged%s\n", mediansOf(r.Runs))
	fmt.Fprintln(tw, "model\tsenders\tacked msg/s\tack p50\tp99\tfailed\tlost\tCPU/msg\tothers\t")
	for _, g := range r.Greedy {
		m := g.Median
		fmt.Fprintf(tw, "%s\t%d\t%.0f%s\t%s\t%s\t%d\t%d\t%s\t%.2f\t\n", m.Model, m.Senders, m.Rate,
			rangeOf(g.Runs, func(x bench.GreedyResult) float64 { return x.Rate }, "%.0f"),
			msStr(m.Ack.P50), msStr(m.Ack.P99), m.Failed, m.Lost, msStr(m.CPUPerMessage), m.OtherLoad)
	}
	tw.Flush()
}

func printClassic(w io.Writer, r benchReport) {
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
	if len(r.Attacks) > 0 {
		fmt.Fprintf(w, "\nattacks (each on a fresh server at its default limits; the honest client sends from another address)\n")
		for _, a := range r.Attacks {
			fmt.Fprintf(w, "%s\n  %s\n", a.What, a)
		}
	}
	if r.ServerCPU > 0 {
		fmt.Fprintf(w, "\nserver, over the sections above: %.1f CPU seconds, peak RSS %.0f MiB\n", r.ServerCPU.Seconds(), float64(r.ServerPeak)/(1<<20))
	}
}

func msStr(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
