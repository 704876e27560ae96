package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/pb"
)

// chatWith returns a chat screen holding n messages, ready to draw.
func chatWith(n int) *Model {
	m := New(Options{Location: time.UTC})
	m.screen = chatScreen
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	msgs := make([]*pb.Message, n)
	for i := range msgs {
		msgs[i] = &pb.Message{Seq: int64(i + 1), Nick: fmt.Sprint("user", i%7), Text: fmt.Sprintf("message %d with enough words in it to wrap now and then in a narrow pane", i), SentUnixMs: day0.Add(time.Duration(i) * time.Second).UnixMilli()}
	}
	m.msgs.Add(msgs)
	m.View()
	return m
}

// BenchmarkChatUpdateView is one new message arriving (Update) and the
// screen being drawn (View) with n messages in memory: it must render only
// what is visible, so the cost stays flat as history grows.
func BenchmarkChatUpdateView(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("history=", n), func(b *testing.B) {
			m := chatWith(n)
			seq := int64(n)
			b.ReportAllocs()
			for b.Loop() {
				seq++
				m.Update(feedMsg{gen: m.feedGen, ok: true, ev: chat.Event{Kind: chat.Messages, Messages: []*pb.Message{
					{Seq: seq, Nick: "bob", Text: "a new line", SentUnixMs: day0.Add(48 * time.Hour).UnixMilli()},
				}}})
				_ = m.View()
			}
		})
	}
}

// BenchmarkChatViewScrolledUp draws the screen while reading old history,
// a page at a time.
func BenchmarkChatViewScrolledUp(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("history=", n), func(b *testing.B) {
			m := chatWith(n)
			b.ReportAllocs()
			for b.Loop() {
				m.msgs.ScrollUp(30)
				if m.msgs.AtTop() {
					m.msgs.Bottom()
				}
				_ = m.View()
			}
		})
	}
}
