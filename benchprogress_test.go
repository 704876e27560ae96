package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Off a terminal the progress is one line per finished step and no
// status lines (which would be escape codes in a log); with --json
// nothing at all.
func TestBenchProgressOffTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false)
	p.plan(time.Minute)
	p.unit(10 * time.Second)
	p.status("sweep · ours · step %d/%d", 1, 9)
	p.line("ours 25 msg/s: pass")
	p.done()
	p.status("sweep · ours · step %d/%d", 2, 9)
	p.line("ours 50 msg/s: pass")
	p.finish()
	if got, want := buf.String(), "ours 25 msg/s: pass\nours 50 msg/s: pass\n"; got != want {
		t.Errorf("progress off a terminal wrote %q, want %q", got, want)
	}
	if p.left() != 50*time.Second {
		t.Errorf("left %v after one 10 s unit of a minute, want 50s", p.left())
	}

	buf.Reset()
	q := newProgress(&buf, true)
	q.status("x")
	q.line("y")
	q.finish()
	if buf.Len() != 0 || strings.Contains(buf.String(), "y") {
		t.Errorf("--json progress wrote %q", buf.String())
	}
}
