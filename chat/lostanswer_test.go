package chat_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// lossyProxy forwards to a real server, but for the first n commits it
// lets the server commit and then loses the answer: it cuts the client's
// connection (cut) or answers 502 as a failing gateway would.
func lossyProxy(t *testing.T, target string, n int32, cut bool) string {
	t.Helper()
	var left atomic.Int32
	left.Store(n)
	p := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := url.Parse(target)
		out, _ := http.NewRequest(r.Method, u.String()+r.URL.RequestURI(), r.Body)
		out.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		lands := strings.Contains(r.URL.RawQuery, "action=commit") || r.URL.Path == "/batch"
		if lands && resp.StatusCode == http.StatusOK && left.Add(-1) >= 0 {
			if cut {
				conn, _, _ := w.(http.Hijacker).Hijack()
				conn.Close()
				return
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	t.Cleanup(p.Close)
	return p.URL
}

// TestLostCommitAnswerSendsOnce: when the answer to a commit that did
// land is lost, the sender finds its message before retrying, so the
// message is in the room exactly once and Send reports its real seq.
func TestLostCommitAnswerSendsOnce(t *testing.T) {
	bothPaths(t, func(t *testing.T, plain bool) {
		for _, cut := range []bool{true, false} {
			srv := servertest.Start(t, func(c *server.Config) { c.Plain = plain })
			direct, _ := webaas.New(srv.URL())
			room, err := chat.NewClient(direct).CreateRoom(ctx, "lossy")
			if err != nil {
				t.Fatal(err)
			}
			c, _ := webaas.New(lossyProxy(t, srv.URL(), 2, cut))
			viaProxy, err := chat.NewClient(c).OpenRoom(ctx, room.Code())
			if err != nil {
				t.Fatal(err)
			}
			s, err := viaProxy.Sender("alice", chat.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			first, err := s.Send(ctx, "only once")
			if err != nil {
				t.Fatal(err)
			}
			second, err := s.Send(context.Background(), "and this once")
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			all, err := room.After(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(all); got != "alice: only once | alice: and this once" {
				t.Fatalf("cut=%v: room holds %q", cut, got)
			}
			if first.Seq != 1 || second.Seq != 2 {
				t.Fatalf("cut=%v: Send reported seqs %d and %d, want 1 and 2", cut, first.Seq, second.Seq)
			}
		}
	})
}
