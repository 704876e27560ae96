package chat_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// TestEachPageStreamsARange: EachPage hands over a range one server page
// at a time, in order, each message once, and stops at fn's error.
func TestEachPageStreamsARange(t *testing.T) {
	const pageSize, n = 7, 40
	srv := servertest.Start(t, func(c *server.Config) { c.PageSize = pageSize })
	c, _ := webaas.New(srv.URL())
	room, err := chat.NewClient(c).CreateRoom(ctx, "pages")
	if err != nil {
		t.Fatal(err)
	}
	s, err := room.Sender("bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= n; i++ {
		if _, err := s.Send(ctx, fmt.Sprint("m", i)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ from, to, want int64 }{{1, 1 << 62, n}, {5, 30, 25}, {35, 100, 6}, {41, 100, 0}, {10, 10, 0}} {
		next, pages := tc.from, 0
		err := room.EachPage(ctx, tc.from, tc.to, func(page []chat.Message) error {
			pages++
			if len(page) == 0 || len(page) > pageSize {
				t.Errorf("[%d, %d): a page of %d messages", tc.from, tc.to, len(page))
			}
			for _, m := range page {
				if m.Seq != next {
					t.Errorf("[%d, %d): message %d where %d was due", tc.from, tc.to, m.Seq, next)
				}
				next = m.Seq + 1
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := next - tc.from; got != tc.want {
			t.Errorf("[%d, %d): %d messages, want %d", tc.from, tc.to, got, tc.want)
		}
		if min := (tc.want + pageSize - 1) / pageSize; int64(pages) < min {
			t.Errorf("[%d, %d): %d pages", tc.from, tc.to, pages)
		}
	}
	stop := errors.New("enough")
	calls := 0
	err = room.EachPage(ctx, 1, 1<<62, func([]chat.Message) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("after fn's error: %v, %d calls", err, calls)
	}
}
