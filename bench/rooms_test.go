package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// A chat in three rooms, two of them busy: every message reaches it, and
// it makes no request for them (they are pushed).
func TestRoomsCostNoRequestPerMessage(t *testing.T) {
	srv := servertest.Start(t)
	res, err := bench.RunRooms(context.Background(), bench.RoomsConfig{Server: srv.URL(), Rooms: 3, Busy: 2, Rate: 20, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent == 0 || res.Delivered != res.Sent {
		t.Fatalf("delivered %d of %d", res.Delivered, res.Sent)
	}
	var total int64
	for _, n := range res.Requests {
		total += n
	}
	if total >= res.Sent {
		t.Errorf("the chat made %d requests for %d messages: %v", total, res.Sent, res.Requests)
	}
}
