package chat

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/webaas-chat/webaas-chat/pb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// EventKind says what a feed Event carries.
type EventKind int

const (
	// Connected: live again; the feed has caught up (or is catching up)
	// on what it missed.
	Connected EventKind = iota + 1
	// Reconnecting: the notification socket dropped; Err says why and
	// Retry when the next attempt is.
	Reconnecting
	// Messages: new messages, contiguous and in order, each seq one more
	// than the last one delivered.
	Messages
	// Members: the member list changed (or was refreshed).
	Members
)

// Event is one thing a feed reports.
type Event struct {
	Kind     EventKind
	Messages []*pb.Message
	Members  []Member
	Err      error
	Retry    time.Duration
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// Members asks for member lists too (on every change, and every
	// Refresh so that members whose heartbeat stopped turn offline).
	Members bool
	Refresh time.Duration // default 10 s
	Watch   []webaas.WatchOption
	Logger  *slog.Logger
}

// Follow streams the room from message after+1 on: every message exactly
// once, in order, with no gap, across reconnects. It watches the room's
// counters; each change, and each (re)connect, costs one range query for
// the messages not yet delivered. The channel closes when ctx ends.
func (r *Room) Follow(ctx context.Context, after int64, opts FollowOptions) (<-chan Event, error) {
	if opts.Refresh <= 0 {
		opts.Refresh = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	watch, err := r.c.Watch(ctx, r.code, "chatroom.Counter", []string{headKey, rosterKey}, opts.Watch...)
	if err != nil {
		return nil, fmt.Errorf("follow room: %w", err)
	}
	f := &feed{room: r, opts: opts, last: after, watch: watch, out: make(chan Event, 16)}
	go f.run(ctx)
	return f.out, nil
}

type feed struct {
	room  *Room
	opts  FollowOptions
	last  int64 // the last seq delivered
	watch <-chan webaas.Event
	out   chan Event

	needMessages, needMembers bool
}

func (f *feed) emit(ctx context.Context, e Event) bool {
	select {
	case f.out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

func (f *feed) run(ctx context.Context) {
	defer close(f.out)
	refresh := time.NewTicker(f.opts.Refresh)
	defer refresh.Stop()
	retry := time.NewTimer(0)
	<-retry.C
	failures := 0
	for {
		select {
		case ev, ok := <-f.watch:
			if !ok || !f.note(ctx, ev) {
				return
			}
		case <-refresh.C:
			f.needMembers = f.opts.Members
		case <-retry.C:
		}
		// Take every event already waiting, so a burst of notifications
		// costs one fetch.
		for waiting := true; waiting; {
			select {
			case ev, ok := <-f.watch:
				if !ok || !f.note(ctx, ev) {
					return
				}
			default:
				waiting = false
			}
		}
		if err := f.fetch(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			// The socket may be fine while HTTP failed: try again later
			// even if no notification comes.
			failures++
			wait := min(time.Duration(failures)*200*time.Millisecond, 5*time.Second)
			f.opts.Logger.Warn("fetch failed", "err", err, "retry", wait)
			retry.Reset(wait)
			continue
		}
		failures = 0
	}
}

// note records what a watch event asks for; false when ctx ended.
func (f *feed) note(ctx context.Context, ev webaas.Event) bool {
	switch ev.Kind {
	case webaas.Connected:
		f.needMessages, f.needMembers = true, f.opts.Members
		return f.emit(ctx, Event{Kind: Connected})
	case webaas.Disconnected:
		return f.emit(ctx, Event{Kind: Reconnecting, Err: ev.Err, Retry: ev.Retry})
	case webaas.Changed:
		for _, k := range ev.Keys {
			switch k {
			case headKey:
				f.needMessages = true
			case rosterKey:
				f.needMembers = f.opts.Members
			}
		}
	}
	return true
}

func (f *feed) fetch(ctx context.Context) error {
	if f.needMessages {
		msgs, err := f.room.After(ctx, f.last)
		if err != nil {
			return err
		}
		// Sequence numbers are handed out by transactions on one counter,
		// so what is committed is always 1..head: a gap would be a bug.
		for i, m := range msgs {
			if m.Seq != f.last+1+int64(i) {
				return fmt.Errorf("message %d follows %d: gap in the room's sequence", m.Seq, f.last+int64(i))
			}
		}
		f.needMessages = false
		if len(msgs) > 0 {
			f.last = msgs[len(msgs)-1].Seq
			if !f.emit(ctx, Event{Kind: Messages, Messages: msgs}) {
				return ctx.Err()
			}
		}
	}
	if f.needMembers {
		members, err := f.room.Members(ctx)
		if err != nil {
			return err
		}
		f.needMembers = false
		if !f.emit(ctx, Event{Kind: Members, Members: members}) {
			return ctx.Err()
		}
	}
	return nil
}
