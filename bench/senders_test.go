package bench_test

import (
	"context"
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

// TestConcurrentSenders: 20 clients each send 200 messages into one room
// at the same time; afterwards every client holds all 4,000, once each, in
// the same order (5 × 40 under -short).
func TestConcurrentSenders(t *testing.T) {
	clients, each := 20, 200
	if testing.Short() {
		clients, each = 5, 40
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
