package bench_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/bench"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

func newRoom(t *testing.T, srv *servertest.Server) string {
	t.Helper()
	c, err := webaas.New(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err := chat.NewClient(c).CreateRoom(context.Background(), "stress")
	if err != nil {
		t.Fatal(err)
	}
	return room.Code()
}

// TestConcurrentSenders: clients each send messages into one room at the
// same time; afterwards every client holds all of them, once each, in the
// same order. 5 × 40 by default; the full 20 × 200 (4,000 messages, 40 s
// here) when WEBAAS_TEST_FULL is set, as .ci/run does.
func TestConcurrentSenders(t *testing.T) {
	clients, each := 5, 40
	if os.Getenv("WEBAAS_TEST_FULL") != "" && !testing.Short() {
		clients, each = 20, 200
	}
	srv := servertest.Start(t)
	res, err := bench.RunSenders(context.Background(), bench.SendersConfig{
		Server: srv.URL(), Room: newRoom(t, srv), Clients: clients, Each: each,
		Reconnect: backoff.Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Sent != clients*each || res.Expected != clients*each || !res.OK() {
		t.Fatalf("want %d messages held by every client in one order: %v", clients*each, res)
	}
}
