package bench

import (
	"context"
	"net/http"
	"strings"
	"sync"
)

// requestCounter counts the HTTP requests a model's clients make, by
// kind, so that a step can say what share of the traffic is sends and
// what share presence (heartbeats, roster bumps).
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

func newRequestCounter() *requestCounter { return &requestCounter{n: map[string]int64{}} }

// client is an HTTP client with a transport (and so connections) of its
// own, as a separate process would have, whose requests c counts.
func (c *requestCounter) client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256 // as webaas.New's own transport
	return &http.Client{Transport: countingTransport{c, tr}}
}

type countingTransport struct {
	c    *requestCounter
	base http.RoundTripper
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	k, ok := r.Context().Value(kindKey{}).(string)
	if !ok {
		k = requestKind(r)
	}
	t.c.mu.Lock()
	t.c.n[k]++
	t.c.mu.Unlock()
	return t.base.RoundTrip(r)
}

// snapshot copies the counts so far.
func (c *requestCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// requestKind names a request by what the chat uses it for. In a
// sequenced room a send is one POST /batch and nothing else uses
// transactions but presence; on a plain server sends are transactions
// too, and the kinds say only "transaction".
func requestKind(r *http.Request) string {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == "/batch":
		return "batch"
	case strings.HasPrefix(p, "/transaction"), r.URL.Query().Has("transactionID"):
		return "transaction"
	case p == "/query" && r.URL.Query().Has("range"):
		return "range read"
	default:
		return r.Method + " " + p
	}
}

// The kinds of request the bench names itself (withKind), since the URL
// does not say what they are for: a typing write is a plain PUT of a
// Counter, as a read marker would be, and anything a reaction costs
// besides its batch would be a request like any other (React reads
// nothing now: its target is the caller's).
const (
	KindTyping   = "typing"
	KindReaction = "reaction"
)

type kindKey struct{}

// withKind makes the requests made with ctx count as kind.
func withKind(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey{}, kind)
}

// countsSince is after minus before, kind by kind.
func countsSince(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
