// Package chattest writes chat records the way anyone with a room code
// can through the raw WeBaaS API, for tests of what the chat makes of
// them.
package chattest

import (
	"context"
	"strconv"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// RawPost appends messages to a room as a sender does (the next sequence
// numbers: from the server's sequence in a sequenced room, else by the
// head counter bumped in the same transaction), but with whatever they
// hold. It sets each message's Seq.
func RawPost(t testing.TB, c *webaas.Client, code string, msgs ...*chatpb.Message) {
	t.Helper()
	ctx := context.Background()
	room, err := webaas.GetMessage[chatpb.Room](ctx, c, code, "room")
	if err != nil {
		t.Fatal(err)
	}
	if room.GetSequenced() {
		writes := make([]webaas.BatchWrite, len(msgs))
		for i, m := range msgs {
			rec, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			writes[i] = webaas.BatchWrite{SchemaName: "chatroom.Message", Sequence: "messages", Record: rec}
		}
		res, err := c.Batch(ctx, code, "", writes)
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range res.Keys {
			if msgs[i].Seq, err = strconv.ParseInt(k, 10, 64); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := webaas.TxnGetMessage[chatpb.Counter](ctx, tx, code, "head")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		head.Value++
		m.Seq = head.Value
		if err := tx.PutMessage(ctx, code, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.PutMessage(ctx, code, head); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
