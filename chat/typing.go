package chat

// Typing: "alice is typing…". Each member's state is a Counter of its
// own, "typing:<nick>", holding when they last said so (Unix ms, 0: they
// stopped), written with one plain PUT at most every TypingEvery: off
// the message path (no sequence number, no transaction), so it never
// delays a message. Receivers are pushed the change (sequenced rooms
// only) and use their own clock: a typist who crashed is cleared
// TypingTimeout after their last word.

import (
	"context"
	"time"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
)

const (
	counterType  = "chatroom.Counter"
	typingPrefix = "typing:"

	// TypingEvery is how often a typist says again that they are typing.
	TypingEvery = 3 * time.Second
	// TypingTimeout is how long "is typing" lasts after the last word of
	// it (a little over two TypingEvery, so one lost write is no flicker).
	TypingTimeout = 7 * time.Second
)

// Typing says that this session's member started (active) or stopped
// typing. It does nothing in a room that is not sequenced (no one there
// would be told) and is for the caller to pace (TypingEvery).
func (s *Session) Typing(ctx context.Context, active bool) error {
	if !s.room.Sequenced() {
		return nil
	}
	var at int64
	if active {
		at = time.Now().UnixMilli()
	}
	return s.room.c.PutMessage(ctx, s.room.code, &chatpb.Counter{Name: typingPrefix + s.Nick(), Value: at})
}
