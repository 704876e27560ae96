// Package chat is the chat domain over WeBaaS: rooms, sending, fetching,
// presence. It has no terminal code; the TUI (package ui), the scriptable
// commands and the benchmarks all use it.
//
// A room is one WeBaaS app whose schema is chatpb/chatroom.proto. Every
// message is its own record keyed by a sequence number, so every client
// sees one order with no gaps, and a send costs the same whatever the
// history size. On a server with the data-path extensions (ours) a room
// is "sequenced": a send is one request that the server numbers, and
// subscribers are pushed the messages themselves. On a plain WeBaaS
// server senders take the next number by a transaction on the room's
// "head" counter, and subscribers read what changed.
package chat

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// Record keys of a room's singletons.
const (
	roomKey   = "room"
	headKey   = "head"
	rosterKey = "roster"

	schemaVersion = "chatroom-2"
	schemaFile    = "chatroom.proto"

	// messageSequence numbers a sequenced room's messages.
	messageSequence = "messages"
	messageType     = "chatroom.Message"

	// MaxText is the longest message, in bytes of UTF-8.
	MaxText = 4000
	// MaxRoomName is the longest room name, in characters.
	MaxRoomName = 64
)

var codeRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Room is an open chat room. It is safe for concurrent use.
type Room struct {
	c        *webaas.Client
	code     string
	info     *chatpb.Room
	presence time.Duration
	pins     *pins     // the nicknames' keys, as this Room has seen them
	secret   []byte    // an encrypted room's secret (nil: in the clear)
	keys     *roomKeys // derived from secret
	records  bool      // each Message keeps its record (KeepRecords)
}

// Encrypted reports whether the room is end-to-end encrypted.
func (r *Room) Encrypted() bool { return len(r.info.GetKeyCheck()) > 0 }

// Invite is what a person needs to join the room: the server, the room
// and, if it is encrypted, its secret.
func (r *Room) Invite(server string) Invite {
	return Invite{Server: server, Code: r.code, Secret: r.secret}
}

// A RoomOption is a choice made when creating or opening a room.
type RoomOption func(*roomOptions)

type roomOptions struct {
	encrypt bool
	secret  []byte
	keys    KeyStore
	records bool
}

// Encrypted makes CreateRoom create an end-to-end encrypted room.
func Encrypted() RoomOption { return func(o *roomOptions) { o.encrypt = true } }

// WithSecret gives OpenRoom an encrypted room's secret (Invite.Secret).
func WithSecret(secret []byte) RoomOption {
	return func(o *roomOptions) { o.secret = secret }
}

// Sequenced reports whether the room's messages are numbered by the
// server (see the package doc).
func (r *Room) Sequenced() bool { return r.info.GetSequenced() }

// Code is the room code: the WeBaaS app id, and the secret that lets
// someone join.
func (r *Room) Code() string { return r.code }

// Name is the room's display name.
func (r *Room) Name() string { return r.info.GetName() }

// Client is the WeBaaS client the room uses.
func (r *Room) Client() *webaas.Client { return r.c }

// Client is the chat's way to one server.
type Client struct {
	c *webaas.Client

	mu    sync.Mutex
	known bool // fast was learnt from the server
	fast  bool // the server offers every extension a sequenced room needs
}

// NewClient is the chat on the WeBaaS client c.
func NewClient(c *webaas.Client) *Client { return &Client{c: c} }

// sequencedExtensions are what a sequenced room needs of its server.
var sequencedExtensions = []string{"batch", "sequence", "watch-types", "records-frames"}

// canSequence asks the server, once, whether it can serve sequenced
// rooms. A server without GET /info (plain WeBaaS) cannot.
func (cl *Client) canSequence(ctx context.Context) (bool, error) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.known {
		return cl.fast, nil
	}
	info, err := cl.c.Info(ctx)
	if err != nil {
		return false, err // asked again next time: the server may be back
	}
	cl.known, cl.fast = true, true
	for _, x := range sequencedExtensions {
		cl.fast = cl.fast && info.Has(x)
	}
	return cl.fast, nil
}

// Dial is the chat on the server at url, e.g. "http://127.0.0.1:11232".
func Dial(url string) (*Client, error) {
	c, err := webaas.New(url)
	if err != nil {
		return nil, err
	}
	return NewClient(c), nil
}

// URL is the server's address.
func (cl *Client) URL() string { return cl.c.BaseURL() }

// CreateRoom makes a new room: it registers an app, uploads and activates
// chatroom.proto and writes the room's singleton records.
func (cl *Client) CreateRoom(ctx context.Context, name string, opts ...RoomOption) (*Room, error) {
	c := cl.c
	var o roomOptions
	for _, f := range opts {
		f(&o)
	}
	if name == "" {
		name = "webaas-chat"
	}
	if n := len([]rune(name)); n > MaxRoomName {
		return nil, fmt.Errorf("room name is %d characters; the limit is %d", n, MaxRoomName)
	}
	sequenced, err := cl.canSequence(ctx)
	if err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	code, err := c.RegisterApp(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	if err := c.PutSchema(ctx, code, schemaVersion, schemaFile, []byte(chatpb.Chatroom)); err != nil {
		return nil, fmt.Errorf("create room: upload schema: %w", err)
	}
	if err := c.ActivateSchema(ctx, code, schemaVersion); err != nil {
		return nil, fmt.Errorf("create room: activate schema: %w", err)
	}
	info := &chatpb.Room{Id: roomKey, Name: name, CreatedUnixMs: time.Now().UnixMilli(), Sequenced: sequenced}
	var secret []byte
	var keys *roomKeys
	if o.encrypt {
		secret = newSecret()
		if keys, err = deriveKeys(secret, code); err != nil {
			return nil, fmt.Errorf("create room: %w", err)
		}
		info.KeyCheck = keys.check
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	records := []proto.Message{info, &chatpb.Counter{Name: rosterKey}}
	if !sequenced {
		records = append(records, &chatpb.Counter{Name: headKey})
	}
	for _, rec := range records {
		if err := tx.PutMessage(ctx, code, rec); err != nil {
			return nil, fmt.Errorf("create room: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	p, err := newPins(o.keys, code)
	if err != nil {
		return nil, fmt.Errorf("create room: %w", err)
	}
	return &Room{c: c, code: code, info: info, presence: DefaultPresenceTimeout, pins: p, secret: secret, keys: keys, records: o.records}, nil
}

// OpenRoom opens an existing room by its code; an encrypted room needs
// its secret too (WithSecret).
func (cl *Client) OpenRoom(ctx context.Context, code string, opts ...RoomOption) (*Room, error) {
	c := cl.c
	var o roomOptions
	for _, f := range opts {
		f(&o)
	}
	if !codeRE.MatchString(code) {
		return nil, ErrBadRoomCode
	}
	info, err := webaas.GetMessage[chatpb.Room](ctx, c, code, roomKey)
	switch {
	case errors.Is(err, webaas.ErrUnknownApp), errors.Is(err, webaas.ErrNotFound), errors.Is(err, webaas.ErrUnknownSchema):
		return nil, &UnknownRoomError{Code: code}
	case err != nil:
		return nil, fmt.Errorf("open room: %w", err)
	}
	if info.GetSequenced() {
		ok, err := cl.canSequence(ctx)
		if err != nil {
			return nil, fmt.Errorf("open room: %w", err)
		}
		if !ok {
			return nil, fmt.Errorf("open room: %w", ErrNeedsExtensions)
		}
	}
	r, err := openWith(c, code, info, o)
	if err != nil {
		return nil, fmt.Errorf("open room: %w", err)
	}
	return r, nil
}

// openWith is the room code described by info, opened with o: its
// secret checked against the room's key check.
func openWith(c *webaas.Client, code string, info *chatpb.Room, o roomOptions) (*Room, error) {
	p, err := newPins(o.keys, code)
	if err != nil {
		return nil, err
	}
	r := &Room{c: c, code: code, info: info, presence: DefaultPresenceTimeout, pins: p, records: o.records}
	if !r.Encrypted() && o.secret != nil {
		return nil, ErrNotEncrypted
	}
	if r.Encrypted() {
		if o.secret == nil {
			return nil, ErrNeedsKey
		}
		keys, err := deriveKeys(o.secret, code)
		if err != nil {
			return nil, err
		}
		if !keys.matches(info) {
			return nil, ErrWrongKey
		}
		r.secret, r.keys = o.secret, keys
	}
	return r, nil
}

// counter reads one of the room's counters.
func (r *Room) counter(ctx context.Context, name string) (int64, error) {
	cn, err := webaas.GetMessage[chatpb.Counter](ctx, r.c, r.code, name)
	if errors.Is(err, webaas.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return cn.Value, nil
}

// Head returns the sequence number of the newest message (0: none).
func (r *Room) Head(ctx context.Context) (int64, error) {
	if r.Sequenced() {
		n, err := r.c.Sequence(ctx, r.code, messageSequence)
		return int64(n), err
	}
	return r.counter(ctx, headKey)
}

// messages reads the messages with from <= seq < to, in order.
func (r *Room) messages(ctx context.Context, from, to int64) ([]*chatpb.Message, error) {
	var out []*chatpb.Message
	err := r.pages(ctx, from, to, func(page []*chatpb.Message) error {
		out = append(out, page...)
		return nil
	})
	return out, err
}

// After returns every message with after < seq <= head, in order: a
// record past the head counter is not part of the room (only a raw write
// can make one), so it is never read.
func (r *Room) After(ctx context.Context, after int64) ([]Message, error) {
	head, err := r.Head(ctx)
	if err != nil {
		return nil, err
	}
	msgs, err := r.messages(ctx, after+1, head+1)
	return r.messagesOf(msgs), err
}

// Latest returns the newest n messages, in order.
func (r *Room) Latest(ctx context.Context, n int) ([]Message, error) {
	head, err := r.Head(ctx)
	if err != nil {
		return nil, err
	}
	msgs, err := r.messages(ctx, max(1, head-int64(n)+1), head+1)
	return r.messagesOf(msgs), err
}

// Before returns up to n messages with seq < before, in order: the page of
// history just above what a client already shows.
func (r *Room) Before(ctx context.Context, before int64, n int) ([]Message, error) {
	msgs, err := r.messages(ctx, max(1, before-int64(n)), before)
	return r.messagesOf(msgs), err
}
