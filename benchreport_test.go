package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
)

// --typing and --react-every are for our design only, and a negative
// react-every is no setting.
func TestBenchActionFlags(t *testing.T) {
	for _, args := range [][]string{{"--typing"}, {"--react-every", "10"}, {"--model", "ours", "--react-every", "-1"}} {
		var ue usageError
		if _, err := parseBenchFlags(args); !errors.As(err, &ue) {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
	f, err := parseBenchFlags([]string{"--model", "ours", "--typing", "--react-every", "10"})
	if err != nil || !f.typing || f.reactEvery != 10 || !f.actions() {
		t.Fatalf("got %+v, %v", f, err)
	}
	if w := serverWords(f); !strings.Contains(w, "members type") || !strings.Contains(w, "one per 10 messages") {
		t.Errorf("server words %q do not say what the members do", w)
	}
	// Reacting signs; --sign alone is its baseline, and says so too.
	f, err = parseBenchFlags([]string{"--sign"})
	if err != nil || !f.sign || f.actions() || !strings.Contains(serverWords(f), "every message signed") {
		t.Errorf("--sign: %+v, %v", f, err)
	}
}

// A sweep whose members type and react reports, step by step, typing
// writes and reaction requests per second and their shares, in the text
// and in the JSON.
func TestReportActions(t *testing.T) {
	s := bench.SweepStep{Model: "ours", Rate: 200, Members: 50, Offered: 200, Achieved: 200, Sent: 2000, Acked: 2000, Runs: 1,
		Delivery: bench.Percentiles{N: 100000, P50: time.Millisecond, P99: 5 * time.Millisecond, Max: 9 * time.Millisecond},
		Requests: map[string]int64{"batch": 2200, "transaction": 50, bench.KindTyping: 2167, bench.KindReaction: 400},
		Typing:   true, ReactEvery: 10, TypingWrites: 2167, TypingPerSecond: 216.7, TypingEvents: 108350, TypingShare: 0.45,
		Reactions: 200, ReactionDelivery: bench.Percentiles{N: 10000, P50: 3 * time.Millisecond, P99: 8 * time.Millisecond, Max: 11 * time.Millisecond},
		ReactionRequestsPerSecond: 60, ReactionShare: 0.125}
	rep := benchReport{Runs: 1, Sweeps: []*sweepReport{{Model: "ours", Runs: [][]bench.SweepStep{{s}}, Median: []bench.SweepStep{s}, Knee: 200}}}
	var out bytes.Buffer
	printReport(&out, rep)
	t.Log(out.String())
	for _, want := range []string{"typing and reacting to one message in 10", "typing/s", "reaction reqs/s", "216.7", "45.0%", "60.0", "12.5%", "108350", "8.00 ms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	data, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"TypingPerSecond":216.7`, `"ReactionRequestsPerSecond":60`, `"TypingShare":0.45`, `"ReactionShare":0.125`} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("JSON lacks %s", want)
		}
	}

	// Without them, the table is as it was.
	plain := bench.SweepStep{Model: "ours", Rate: 200, Members: 50, Runs: 1}
	out.Reset()
	printReport(&out, benchReport{Runs: 1, Sweeps: []*sweepReport{{Model: "ours", Runs: [][]bench.SweepStep{{plain}}, Median: []bench.SweepStep{plain}}}})
	if strings.Contains(out.String(), "typing") || strings.Contains(out.String(), "reaction") {
		t.Errorf("a sweep without typing or reactions reports them:\n%s", out.String())
	}
}
