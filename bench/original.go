package bench

// The original design: one record holds the whole room.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/webaas-chat/webaas-chat/webaas"
)

// originalSchema is the original chat room's shape: one Channel record
// holding every member and every message.
const originalSchema = `syntax = "proto3";
package original;
import "record_metadata_options.proto";
message Account { int32 id = 1; string nickname = 2; }
message Message { string content = 1; int64 timestamp = 2; Account sender = 3; }
message Channel {
  int32 id = 1 [(webaas.db.record.field).primary_key = true];
  repeated Account users = 2;
  repeated Message messages = 3;
}
`

// Original is the design of the original chatroom: one record holds the
// whole room; a send reads it, appends, and writes it back (no
// transaction, so concurrent senders lose messages); every client re-reads
// the whole record on every notification.
type Original struct {
	URLs []string // client i talks to URLs[i%len(URLs)]
	App  string
}

// NewOriginal registers an app with the original schema and an empty
// channel.
func NewOriginal(ctx context.Context, urls ...string) (*Original, error) {
	if len(urls) == 0 {
		return nil, errors.New("no server")
	}
	c, err := webaas.New(urls[0])
	if err != nil {
		return nil, err
	}
	app, err := c.RegisterApp(ctx, "original-bench")
	if err != nil {
		return nil, err
	}
	if err := c.PutSchema(ctx, app, "1", "chatroom.proto", []byte(originalSchema)); err != nil {
		return nil, err
	}
	if err := c.ActivateSchema(ctx, app, "1"); err != nil {
		return nil, err
	}
	if err := c.Put(ctx, app, "original.Channel", encodeChannel(nil)); err != nil {
		return nil, err
	}
	return &Original{URLs: urls, App: app}, nil
}

// The channel is encoded by hand: id 1, then each message as field 3.
func encodeChannel(msgs [][]byte) []byte {
	b := protowire.AppendTag(nil, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, 1)
	for _, m := range msgs {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, m)
	}
	return b
}

func encodeMessage(text, nick string) []byte {
	var acct []byte
	acct = protowire.AppendTag(acct, 2, protowire.BytesType)
	acct = protowire.AppendString(acct, nick)
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.BytesType)
	m = protowire.AppendString(m, text)
	m = protowire.AppendTag(m, 2, protowire.VarintType)
	m = protowire.AppendVarint(m, uint64(time.Now().UnixMilli()))
	m = protowire.AppendTag(m, 3, protowire.BytesType)
	m = protowire.AppendBytes(m, acct)
	return m
}

// decodeChannel parses the whole record, as the original client did on
// every send and every notification.
func decodeChannel(b []byte) ([][]byte, error) {
	var msgs [][]byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, errors.New("bad channel record")
		}
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return nil, errors.New("bad channel record")
		}
		if num == 3 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b)
			msgs = append(msgs, v)
		}
		b = b[n:]
	}
	return msgs, nil
}

func messageText(m []byte) string {
	for len(m) > 0 {
		num, typ, n := protowire.ConsumeTag(m)
		if n < 0 {
			return ""
		}
		m = m[n:]
		if num == 1 && typ == protowire.BytesType {
			v, _ := protowire.ConsumeString(m)
			return v
		}
		n = protowire.ConsumeFieldValue(num, typ, m)
		if n < 0 {
			return ""
		}
		m = m[n:]
	}
	return ""
}

type originalClient struct {
	o     *Original
	c     *webaas.Client
	nick  string
	out   chan []string
	stop  context.CancelFunc
	done  chan struct{}
	known int // messages already delivered; only the watch goroutine uses it
}

func (o *Original) Name() string { return "original" }

func (o *Original) client(i int) (*webaas.Client, error) { return webaas.New(o.URLs[i%len(o.URLs)]) }

func (o *Original) Prefill(ctx context.Context, n int) error {
	c, err := o.client(0)
	if err != nil {
		return err
	}
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = encodeMessage(fmt.Sprintf("history message %d, about as long as a chat line is", i), "history")
	}
	return c.Put(ctx, o.App, "original.Channel", encodeChannel(msgs))
}

func (o *Original) Count(ctx context.Context) (int, error) {
	c, err := o.client(0)
	if err != nil {
		return 0, err
	}
	b, err := c.Get(ctx, o.App, "original.Channel", "1")
	if err != nil {
		return 0, err
	}
	msgs, err := decodeChannel(b)
	return len(msgs), err
}

// Sender is a client of the original design that only sends.
func (o *Original) Sender(ctx context.Context, i int) (Client, error) {
	c, err := o.client(i)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	close(done)
	return &originalClient{o: o, c: c, nick: fmt.Sprintf("c%d", i), stop: func() {}, done: done}, nil
}

func (o *Original) Connect(ctx context.Context, i int) (Client, error) {
	c, err := o.client(i)
	if err != nil {
		return nil, err
	}
	n, err := o.Count(ctx)
	if err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.Background())
	events, err := c.Watch(wctx, o.App, "original.Channel", []string{"1"})
	if err != nil {
		stop()
		return nil, err
	}
	if err := awaitConnected(ctx, events); err != nil {
		stop()
		for range events {
		}
		return nil, err
	}
	oc := &originalClient{o: o, c: c, nick: fmt.Sprintf("c%d", i), out: make(chan []string, 1024), stop: stop, done: make(chan struct{}), known: n}
	go func() {
		defer close(oc.done)
		defer close(oc.out)
		for ev := range events {
			if ev.Kind == webaas.Disconnected {
				continue
			}
			// Any change: re-read the whole room and find what is new.
			b, err := c.Get(wctx, o.App, "original.Channel", "1")
			if err != nil {
				continue
			}
			msgs, err := decodeChannel(b)
			if err != nil || len(msgs) <= oc.known {
				continue
			}
			texts := make([]string, 0, len(msgs)-oc.known)
			for _, m := range msgs[oc.known:] {
				texts = append(texts, messageText(m))
			}
			oc.known = len(msgs)
			select {
			case oc.out <- texts:
			case <-wctx.Done():
				return
			}
		}
	}()
	return oc, nil
}

// Send is the original's read-modify-write of the whole room, without a
// transaction.
func (c *originalClient) Send(ctx context.Context, text string) error {
	b, err := c.c.Get(ctx, c.o.App, "original.Channel", "1")
	if err != nil {
		return err
	}
	msgs, err := decodeChannel(b)
	if err != nil {
		return err
	}
	msgs = append(msgs, encodeMessage(text, c.nick))
	return c.c.Put(ctx, c.o.App, "original.Channel", encodeChannel(msgs))
}

func (c *originalClient) Delivered() <-chan []string { return c.out }

func (c *originalClient) Close() {
	c.stop()
	if c.out != nil {
		for range c.out {
		}
	}
	<-c.done
}

// awaitConnected waits for the watch's first Connected event. The
// client's view starts from the count read before the watch, so
// anything sent in between is still found by the first re-read.
func awaitConnected(ctx context.Context, events <-chan webaas.Event) error {
	t := time.NewTimer(connectTimeout)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errNotLive
			}
			if ev.Kind == webaas.Connected {
				return nil
			}
		case <-t.C:
			return errNotLive
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
