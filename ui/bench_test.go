package ui

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/messages"
	"github.com/webaas-chat/webaas-chat/ui/search"
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

// BenchmarkSwitchRoom is ctrl+n and the screen drawn, in a chat of 20
// rooms with 10,000 messages loaded in each: switching must be instant
// (within a frame, 16 ms).
func BenchmarkSwitchRoom(b *testing.B) {
	m := chatWith(b, 10_000)
	first := m.room()
	msgs := make([]chat.Message, 10_000)
	for i := range msgs {
		msgs[i] = chat.Message{Seq: int64(i + 1), Nick: fmt.Sprint("user", i%7), Text: fmt.Sprintf("message %d with enough words in it to wrap now and then in a narrow pane", i), Sent: day0.Add(time.Duration(i) * time.Second)}
	}
	for i := 1; i < 20; i++ { // views of one room, each with messages of its own
		m.nextID++
		r := newRoomView(m.c, m.nextID, joined{room: first.room, session: first.session})
		r.msgs.Add(msgs)
		m.rooms = append(m.rooms, r)
	}
	m.layout()
	next := tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(next)
		_ = m.View()
	}
	m.rooms = m.rooms[:1]
}

// formattedTexts are messages as people format them: emphasis, code,
// links, quotes, code blocks; %d is the message's number.
var formattedTexts = []string{
	"**bold** and *italic* with `code` and a link https://example.com/path/to/item-%d?q=1 in it",
	"> quoting message %d with ~~strike~~ and _emphasis_\nand a reply under it: see www.example.org/%d",
	"```\nfunc f%d() {\n    return nil // a code line\n}\n```",
	"plain message %d with enough words in it to wrap now and then in a narrow pane",
	"a long one: https://example.com/%d/" + "a-very-long-segment/another-long-segment/and-yet-another-segment/the-end.html",
}

// BenchmarkPaneViewFormatted draws the message pane holding 100,000
// formatted messages: "first" lays every visible message out anew (the
// pane's width changes each time, as on a resize or a room's first
// draw); "warm" draws from the rows cached per message.
func BenchmarkPaneViewFormatted(b *testing.B) {
	for _, warm := range []bool{false, true} {
		name := "first"
		if warm {
			name = "warm"
		}
		b.Run("history=100000/"+name, func(b *testing.B) {
			m := loggedIn(b, 120, 40)
			msgs := make([]chat.Message, 100_000)
			for i := range msgs {
				text := strings.ReplaceAll(formattedTexts[i%len(formattedTexts)], "%d", strconv.Itoa(i))
				msgs[i] = chat.Message{Seq: int64(i + 1), Nick: fmt.Sprint("user", i%7), Text: text, Sent: day0.Add(time.Duration(i) * time.Second)}
			}
			pane := m.room().msgs
			pane.Reset()
			pane.Add(msgs)
			w, h := pane.InnerWidth()+2, pane.InnerHeight()+2
			_ = pane.View()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if !warm {
					i++
					pane.SetSize(w-i%2, h)
				}
				_ = pane.View()
			}
		})
	}
}

// BenchmarkSearchIndexFormatted100k: building a room's search index from
// 100,000 messages with Markdown and links in them, each searched as the
// pane shows it (messages.PlainText): what a room's first search costs
// once its messages are decoded.
func BenchmarkSearchIndexFormatted100k(b *testing.B) {
	msgs := make([]chat.Message, 100_000)
	for i := range msgs {
		msgs[i] = chat.Message{Seq: int64(i + 1), Kind: chat.Text, Nick: "bob", Trust: chat.Verified,
			Text: fmt.Sprintf("message %d: the **quick** brown `fox` jumps over https://example.com/lazy/dog _again_", i)}
	}
	b.ReportAllocs()
	for b.Loop() {
		search.New(nil, messages.PlainText).Add(msgs)
	}
}
