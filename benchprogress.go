package main

// The bench's progress: on a terminal one status line, redrawn in place,
// with the time left; off one, a line per finished step; with --json
// nothing.

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
)

type progress struct {
	w     io.Writer
	fd    uintptr
	tty   bool
	quiet bool

	mu        sync.Mutex
	text      string        // the current status
	remaining time.Duration // estimated work not yet done, including the current unit
	unitEst   time.Duration // the current unit's estimate
	unitStart time.Time
	drawn     bool // a status line is on screen
	stop      chan struct{}
	stopped   sync.Once
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet, stop: make(chan struct{})}
	if f, ok := w.(*os.File); ok && !quiet {
		p.fd, p.tty = f.Fd(), term.IsTerminal(f.Fd())
	}
	if p.tty {
		go p.tick()
	}
	return p
}

// tick redraws the status line, so that the countdown moves.
func (p *progress) tick() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw()
			p.mu.Unlock()
		}
	}
}

// plan adds work to what is left.
func (p *progress) plan(d time.Duration) {
	p.mu.Lock()
	p.remaining += d
	p.mu.Unlock()
}

// unit starts a piece of work of about est.
func (p *progress) unit(est time.Duration) {
	p.mu.Lock()
	p.unitEst, p.unitStart = est, time.Now()
	p.mu.Unlock()
}

// done ends the current unit.
func (p *progress) done() {
	p.mu.Lock()
	p.remaining = max(p.remaining-p.unitEst, 0)
	p.unitEst = 0
	p.mu.Unlock()
}

// drop takes planned work that will not run (a sweep that stopped early).
func (p *progress) drop(d time.Duration) {
	p.mu.Lock()
	p.remaining = max(p.remaining-d, 0)
	p.mu.Unlock()
}

func (p *progress) left() time.Duration {
	left := p.remaining
	if p.unitEst > 0 {
		left -= min(time.Since(p.unitStart), p.unitEst)
	}
	return max(left, 0)
}

// status replaces the status line (on a terminal only).
func (p *progress) status(format string, a ...any) {
	if !p.tty {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.text = fmt.Sprintf(format, a...)
	p.draw()
}

func (p *progress) draw() {
	if p.text == "" {
		return
	}
	left := ""
	if l := p.left(); l > 0 {
		left = fmt.Sprintf(" · at most ~%v left", l.Round(time.Second))
	}
	line := []rune(p.text + left)
	if w, _, err := term.GetSize(p.fd); err == nil && w > 1 && len(line) >= w {
		line = append(line[:w-2], '…') // a wrapped line could not be redrawn in place
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", string(line))
	p.drawn = true
}

// line prints a finished result, above the status line on a terminal.
func (p *progress) line(format string, a ...any) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintf(p.w, format+"\n", a...)
	if p.tty {
		p.draw()
	}
}

// finish clears the status line and stops redrawing.
func (p *progress) finish() {
	p.stopped.Do(func() { close(p.stop) })
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	p.text = ""
}
