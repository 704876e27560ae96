package chat

import (
	"context"
	"strconv"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// EachPage calls fn with the messages with from <= seq < to, one range
// page at a time, oldest first, as each page arrives: a reader that prints
// and forgets holds one page at a time, whatever the room's size (After
// and Latest hold the whole range). It stops at fn's first error and
// returns it.
func (r *Room) EachPage(ctx context.Context, from, to int64, fn func([]Message) error) error {
	return r.pages(ctx, from, to, func(page []*chatpb.Message) error { return fn(r.messagesOf(page)) })
}

// pages is EachPage in the wire's terms.
func (r *Room) pages(ctx context.Context, from, to int64, fn func([]*chatpb.Message) error) error {
	for from < to {
		page, more, err := webaas.RangeMessages[chatpb.Message](ctx, r.c, r.code, strconv.FormatInt(from, 10), strconv.FormatInt(to, 10), 1)
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if !more || len(page) == 0 {
			return nil
		}
		// From the last key, not page 2: the server skips nothing.
		from = page[len(page)-1].Seq + 1
	}
	return nil
}
