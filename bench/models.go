package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// A Model is a way to build a chat room on WeBaaS: ours, or the original
// design, measured side by side.
type Model interface {
	Name() string
	// Prefill adds n messages of history to the room.
	Prefill(ctx context.Context, n int) error
	// Connect makes one simulated client with its own connections, which
	// sends and follows the room; it returns once the client is live
	// (its notification socket connected).
	Connect(ctx context.Context, i int) (Client, error)
	// Sender makes a client that only sends (its Delivered is nil).
	Sender(ctx context.Context, i int) (Client, error)
	// Count says how many messages the room holds.
	Count(ctx context.Context) (int, error)
}

// Client is one simulated chat client.
type Client interface {
	// Send posts text and returns once the server acknowledged it.
	Send(ctx context.Context, text string) error
	// Delivered yields the texts of new messages as this client's chat
	// layer learns of them (an Actor's reactions as reactionText).
	Delivered() <-chan []string
	Close()
}

// connectTimeout bounds the wait for a client's notification socket.
const connectTimeout = 30 * time.Second

var errNotLive = errors.New("the notification socket did not connect")

// ---- ours --------------------------------------------------------------

// Ours is this project's design, driven only through the chat package's
// public API, so that whatever data path the chat uses is what is
// measured.
type Ours struct {
	// URLs are the server nodes; client i talks to URLs[i%len(URLs)].
	URLs      []string
	Room      string
	Reconnect backoff.Backoff
	// Members makes Connect's clients members of the room as the TUI
	// makes them: Join (presence, heartbeats) and Follow with the member
	// list. Otherwise they are bare senders (room.Sender) that follow
	// messages only.
	Members bool
	// Secret is the room's, in an end-to-end encrypted room (nil: in the
	// clear); Sign gives every client an identity of its own to sign
	// with. Both on: what the chat does by default.
	Secret []byte
	Sign   bool
	// Actions makes Connect's clients follow as the TUI will: told of
	// typing and of every reader's read marker (the room's counters all
	// pushed), and their feeds yield reactions (reactionText). Reacting
	// also needs Sign: a reaction counts only when signed.
	Actions bool

	requests *requestCounter // every client's HTTP requests, by kind
}

// NewOurs creates a room for a run, through the first node; with e2e, an
// end-to-end encrypted room whose clients all sign what they send.
func NewOurs(ctx context.Context, e2e bool, urls ...string) (*Ours, error) {
	if len(urls) == 0 {
		return nil, errors.New("no server")
	}
	c, err := webaas.New(urls[0])
	if err != nil {
		return nil, err
	}
	var opts []chat.RoomOption
	if e2e {
		opts = append(opts, chat.Encrypted())
	}
	room, err := chat.NewClient(c).CreateRoom(ctx, "bench", opts...)
	if err != nil {
		return nil, err
	}
	return &Ours{URLs: urls, Room: room.Code(), Secret: room.Invite("").Secret, Sign: e2e, requests: newRequestCounter()}, nil
}

// Requests counts the HTTP requests its clients made so far, by kind.
func (o *Ours) Requests() map[string]int64 {
	if o.requests == nil {
		return nil
	}
	return o.requests.snapshot()
}

func (o *Ours) Name() string { return "ours" }

// open opens the room for client i, with connections of its own.
func (o *Ours) open(ctx context.Context, i int) (*chat.Room, error) {
	var opts []webaas.Option
	if o.requests != nil {
		opts = append(opts, webaas.WithHTTPClient(o.requests.client()))
	}
	c, err := webaas.New(o.URLs[i%len(o.URLs)], opts...)
	if err != nil {
		return nil, err
	}
	return chat.NewClient(c).OpenRoom(ctx, o.Room, chat.WithSecret(o.Secret))
}

// Prefill sends n messages concurrently from one sender, which batches
// them into transactions of up to 100.
func (o *Ours) Prefill(ctx context.Context, n int) error {
	room, err := o.open(ctx, 0)
	if err != nil {
		return err
	}
	s, err := room.Sender("history", chat.SessionOptions{})
	if err != nil {
		return err
	}
	defer s.Close()
	sem := make(chan struct{}, 200)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := s.Send(ctx, fmt.Sprintf("history message %d, about as long as a chat line is", i)); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func (o *Ours) Count(ctx context.Context) (int, error) {
	room, err := o.open(ctx, 0)
	if err != nil {
		return 0, err
	}
	head, err := room.Head(ctx)
	return int(head), err
}

type oursClient struct {
	sender *chat.Session
	out    chan []string
	stop   context.CancelFunc
	done   chan struct{}
	typing atomic.Int64 // typing events its feed told
}

func (o *Ours) session(ctx context.Context, room *chat.Room, i int) (*chat.Session, error) {
	nick := fmt.Sprintf("c%d", i)
	var opts chat.SessionOptions
	if o.Sign {
		id, err := identity.Generate()
		if err != nil {
			return nil, err
		}
		opts.Identity = id
	}
	if o.Members {
		opts.NoJoinLine = true
		return room.Join(ctx, nick, opts)
	}
	return room.Sender(nick, opts)
}

func (o *Ours) Sender(ctx context.Context, i int) (Client, error) {
	room, err := o.open(ctx, i)
	if err != nil {
		return nil, err
	}
	s, err := o.session(ctx, room, i)
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	close(done)
	return &oursClient{sender: s, stop: func() {}, done: done}, nil
}

func (o *Ours) Connect(ctx context.Context, i int) (Client, error) {
	room, err := o.open(ctx, i)
	if err != nil {
		return nil, err
	}
	head, err := room.Head(ctx)
	if err != nil {
		return nil, err
	}
	sender, err := o.session(ctx, room, i)
	if err != nil {
		return nil, err
	}
	fctx, stop := context.WithCancel(context.Background())
	events, err := room.Follow(fctx, head, chat.FollowOptions{Reconnect: o.Reconnect, Members: o.Members, Typing: o.Actions, Readers: o.Actions})
	if err == nil {
		err = awaitLive(ctx, events)
	}
	if err != nil {
		stop()
		for range events {
		}
		sender.Close()
		return nil, err
	}
	c := &oursClient{sender: sender, out: make(chan []string, 1024), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.out)
		for ev := range events {
			switch ev.Kind {
			case chat.Typing:
				c.typing.Add(1)
			case chat.Messages:
				texts := make([]string, len(ev.Messages))
				for j, m := range ev.Messages {
					texts[j] = m.Text
					if m.Kind == chat.React {
						texts[j] = reactionText(m.Seq)
					}
				}
				c.out <- texts
			}
		}
	}()
	return c, nil
}

// awaitLive waits for the feed's first Connected event, so that a client
// counts as subscribed only once its socket is.
func awaitLive(ctx context.Context, events <-chan chat.Event) error {
	t := time.NewTimer(connectTimeout)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errNotLive
			}
			if ev.Kind == chat.Connected {
				return nil
			}
		case <-t.C:
			return errNotLive
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *oursClient) Send(ctx context.Context, text string) error {
	_, err := c.sender.Send(ctx, text)
	return err
}

// Post, Typing, React and TypingSeen make it an Actor.
func (c *oursClient) Post(ctx context.Context, text string) (int64, error) {
	m, err := c.sender.Send(ctx, text)
	return m.Seq, err
}

func (c *oursClient) Typing(ctx context.Context, active bool) error {
	return c.sender.Typing(ctx, active)
}

func (c *oursClient) React(ctx context.Context, target int64, emoji string) (int64, error) {
	// The bench reacts to a message it sent: a line, as the chat would
	// hold it.
	m, err := c.sender.React(ctx, chat.Message{Seq: target, Kind: chat.Text}, emoji)
	return m.Seq, err
}

func (c *oursClient) TypingSeen() int64 { return c.typing.Load() }

func (c *oursClient) Delivered() <-chan []string { return c.out }

func (c *oursClient) Close() {
	c.stop()
	if c.out != nil {
		for range c.out { // let the feed finish
		}
	}
	<-c.done
	c.sender.Close()
}
