package server

// Time and memory one request may hold: deadlines on reading its body and
// writing its answer, and a budget for the large answers in flight.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/webaas-chat/webaas-chat/wire"
	"golang.org/x/sync/semaphore"
)

// largeResponse is the size from which an answer counts against
// Config.MaxResponseBytesInFlight. Below it answers are written as they
// always were, and never wait: only range pages of big records (and
// records, if --max-record-bytes allows big ones) reach it.
const largeResponse = 1 << 20

// withDeadlines bounds how long r's body may take to arrive
// (ReadTimeout) and its answer to be written (WriteTimeout), on the
// connection itself, so that a client that trickles or stops reading
// holds nothing for long. They are set per request, not in http.Server,
// so that the read deadline covers only a body and is lifted once it is
// read, and the write deadline counts from when the answer starts: a
// commit waiting for the disk, or a large answer for room, is the
// server's time, not the client's. A websocket upgrade loses both:
// net/http clears a connection's deadlines when it is hijacked, and the
// socket has its own timeouts.
func (s *Server) withDeadlines(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request) {
	w = &deadlineWriter{ResponseWriter: w, timeout: s.cfg.WriteTimeout}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return w, r
	}
	rc := http.NewResponseController(w) // errors: not a real connection (tests' recorders)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	r = r.WithContext(r.Context()) // a copy, so the server still sees its own body
	r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
	return w, r
}

// deadlineWriter sets the write deadline when the answer starts. Unwrap
// lets http.ResponseController and websocket.Accept reach the
// connection's own writer.
type deadlineWriter struct {
	http.ResponseWriter
	timeout time.Duration
	started bool
}

func (w *deadlineWriter) start() {
	if !w.started {
		w.started = true
		_ = http.NewResponseController(w.ResponseWriter).SetWriteDeadline(time.Now().Add(w.timeout))
	}
}

func (w *deadlineWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

func (w *deadlineWriter) Write(p []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(p)
}

func (w *deadlineWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// rawWriter is the connection's own writer under a deadlineWriter:
// http.MaxBytesReader tells only that one to close the connection after
// an oversize body, through an interface no other type can implement.
func rawWriter(w http.ResponseWriter) http.ResponseWriter {
	if d, ok := w.(*deadlineWriter); ok {
		return d.ResponseWriter
	}
	return w
}

// deadlineBody lifts the read deadline once the body has been read: the
// server then reads the connection in the background to notice a client
// that leaves, and a deadline passing then would cancel a request that is
// still being served. After an error it stays, so that what is left of a
// body that stopped coming is not waited for either.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && !b.done {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// responseBudget bounds the bytes of large answers being written at once,
// so that clients reading slowly (up to WriteTimeout each) cannot make
// the server hold a page for each of them.
type responseBudget struct {
	sem      *semaphore.Weighted
	max      int64
	inFlight atomic.Int64
	waiting  atomic.Int32
}

func newResponseBudget(max int64) *responseBudget {
	return &responseBudget{sem: semaphore.NewWeighted(max), max: max}
}

// short reports whether an answer of up to n bytes might not fit now:
// then sizing an answer before building it saves holding one that has to
// wait.
func (b *responseBudget) short(n int64) bool {
	return b.waiting.Load() > 0 || b.inFlight.Load()+n > b.max
}

// errBusy is the cause of a "server busy" answer.
var errBusy = errors.New("no room for a large answer")

// wait takes n, waiting at most bound.
func (b *responseBudget) wait(ctx context.Context, n int64, bound time.Duration) error {
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	if err := b.sem.Acquire(wctx, n); err != nil {
		return &apiError{code: wire.CodeUnavailable, err: errBusy, message: fmt.Sprintf(
			"server busy: large answers being sent take the limit of %d bytes (--max-response-bytes-in-flight); retry", b.max)}
	}
	return nil
}

// body is an answer in parts, written one after the other rather than
// copied into one buffer: a range page is its records' own bytes between
// small length prefixes.
type body struct {
	parts net.Buffers
	size  int64
}

// writeLarge writes an answer of size bytes (at least largeResponse)
// within the response budget. b is the answer, or nil if it has only been
// sized; reload builds it (again). If the budget has no room it lets go
// of b, waits for room (BusyWait at most, then 503 "server busy") and
// reloads; with reload nil it keeps b while it waits.
func (s *Server) writeLarge(w http.ResponseWriter, r *http.Request, size int64, b *body, reload func() (body, error)) error {
	budget := s.responses
	for {
		n := min(size, budget.max) // an answer larger than the budget takes it all
		if !budget.sem.TryAcquire(n) {
			if reload != nil {
				b = nil // hold nothing while waiting
			}
			if err := budget.wait(r.Context(), n, s.cfg.BusyWait); err != nil {
				return err
			}
		}
		if b == nil {
			nb, err := reload()
			if err != nil {
				budget.sem.Release(n)
				return err
			}
			b, size = &nb, nb.size
			if min(size, budget.max) > n { // it grew meanwhile: ask for the rest
				budget.sem.Release(n)
				continue
			}
		}
		budget.inFlight.Add(n)
		writeBody(w, *b)
		budget.inFlight.Add(-n)
		budget.sem.Release(n)
		return nil
	}
}

// writeBody writes b as a 200 record body (the write deadline starts
// now).
func writeBody(w http.ResponseWriter, b body) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(b.size, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = b.parts.WriteTo(w) // a failed write is the client gone or too slow: nothing to tell it
}
