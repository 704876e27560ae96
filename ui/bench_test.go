package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
)

// chatWith returns a chat screen holding n messages, ready to draw.
func chatWith(b *testing.B, n int) *Model {
	m := loggedIn(b, 120, 40)
	msgs := make([]chat.Message, n)
	for i := range msgs {
		msgs[i] = chat.Message{Seq: int64(i + 1), Nick: fmt.Sprint("user", i%7), Text: fmt.Sprintf("message %d with enough words in it to wrap now and then in a narrow pane", i), Sent: day0.Add(time.Duration(i) * time.Second)}
	}
	m.room().msgs.Reset()
	m.room().msgs.Add(msgs)
	m.View()
	return m
}

// BenchmarkChatUpdateView is one new message arriving (Update) and the
// screen being drawn (View) with n messages in memory: it must render only
// what is visible, so the cost stays flat as history grows.
func BenchmarkChatUpdateView(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("history=", n), func(b *testing.B) {
			m := chatWith(b, n)
			seq := int64(n)
			b.ReportAllocs()
			for b.Loop() {
				seq++
				feed(m, chat.Event{Kind: chat.Messages, Messages: []chat.Message{
					{Seq: seq, Nick: "bob", Text: "a new line", Sent: day0.Add(48 * time.Hour)},
				}})
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
			m := chatWith(b, n)
			msgs := m.room().msgs
			b.ReportAllocs()
			for b.Loop() {
				msgs.ScrollUp(30)
				if msgs.AtTop() {
					msgs.Bottom()
				}
				_ = m.View()
			}
		})
	}
}
