package bench

import (
	"context"
	"fmt"
	"sync"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// A Model is a way to build a chat room on WeBaaS: ours, or the original
// design, measured side by side.
type Model interface {
	Name() string
	// Prefill adds n messages of history to the room.
	Prefill(ctx context.Context, n int) error
	// Connect makes one simulated client with its own connections.
	Connect(ctx context.Context, i int) (Client, error)
	// Count says how many messages the room holds.
	Count(ctx context.Context) (int, error)
}

// Client is one simulated chat client.
type Client interface {
	// Send posts text and returns once the server acknowledged it.
	Send(ctx context.Context, text string) error
	// Delivered yields the texts of new messages as this client's chat
	// layer learns of them.
	Delivered() <-chan []string
	Close()
}

// ---- ours --------------------------------------------------------------

// Ours is this project's design: a record per message, sequence numbers
// from a transaction on the head counter, incremental fetches.
type Ours struct {
	URL       string
	Room      string
	Reconnect backoff.Backoff
}

// NewOurs creates a room for a run.
func NewOurs(ctx context.Context, url string) (*Ours, error) {
	c, err := webaas.New(url)
	if err != nil {
		return nil, err
	}
	room, err := chat.NewClient(c).CreateRoom(ctx, "bench")
	if err != nil {
		return nil, err
	}
	return &Ours{URL: url, Room: room.Code()}, nil
}

func (o *Ours) Name() string { return "ours" }

func (o *Ours) open(ctx context.Context) (*chat.Room, error) {
	c, err := webaas.New(o.URL)
	if err != nil {
		return nil, err
	}
	return chat.NewClient(c).OpenRoom(ctx, o.Room)
}

// Prefill sends n messages concurrently from one sender, which batches
// them into transactions of up to 100.
func (o *Ours) Prefill(ctx context.Context, n int) error {
	room, err := o.open(ctx)
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
	room, err := o.open(ctx)
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
}

func (o *Ours) Connect(ctx context.Context, i int) (Client, error) {
	room, err := o.open(ctx)
	if err != nil {
		return nil, err
	}
	head, err := room.Head(ctx)
	if err != nil {
		return nil, err
	}
	sender, err := room.Sender(fmt.Sprintf("c%d", i), chat.SessionOptions{})
	if err != nil {
		return nil, err
	}
	fctx, stop := context.WithCancel(context.Background())
	events, err := room.Follow(fctx, head, chat.FollowOptions{Reconnect: o.Reconnect})
	if err != nil {
		stop()
		sender.Close()
		return nil, err
	}
	c := &oursClient{sender: sender, out: make(chan []string, 1024), stop: stop, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.out)
		for ev := range events {
			if ev.Kind != chat.Messages {
				continue
			}
			texts := make([]string, len(ev.Messages))
			for j, m := range ev.Messages {
				texts[j] = m.Text
			}
			c.out <- texts
		}
	}()
	return c, nil
}

func (c *oursClient) Send(ctx context.Context, text string) error {
	_, err := c.sender.Send(ctx, text)
	return err
}

func (c *oursClient) Delivered() <-chan []string { return c.out }

func (c *oursClient) Close() {
	c.stop()
	for range c.out { // let the feed finish
	}
	<-c.done
	c.sender.Close()
}

// ---- the original design -------------------------------------------------
