package chat

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
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
	// Gap: messages From to To (inclusive) are missing from the room and
	// were skipped: the head counter says they exist, yet they did not
	// appear within FollowOptions.GapWait. Only writes around the chat
	// protocol (raw API calls) make a gap.
	Gap
	// ReadUpTo: the reader (FollowOptions.Reader) has read the room up to
	// Seq, on this device or another with the same identity.
	ReadUpTo
	// Marker: Nick says it has read the room up to Seq
	// (FollowOptions.Readers): what "seen by" is made of. Anyone with the
	// room code can write one; it is for showing, never for trusting.
	Marker
	// Typing: Nick started (Active) or stopped typing
	// (FollowOptions.Typing). Only a live change is told, never an old
	// record; a typist who goes silent sends no stop, so a receiver
	// clears it after TypingTimeout.
	Typing
)

// Event is one thing a feed reports.
type Event struct {
	Kind     EventKind
	Messages []Message
	Members  []Member
	Err      error
	Retry    time.Duration
	From, To int64  // Gap: the missing sequence numbers
	Seq      int64  // ReadUpTo, Marker: the read marker
	Nick     string // Marker, Typing
	Active   bool   // Typing
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// Members asks for member lists too (on every change, and every
	// Refresh so that members whose heartbeat stopped turn offline).
	Members bool
	// Reader, if set (Session.Reader), asks for that reader's read marker:
	// a ReadUpTo event at the start and whenever it moves.
	Reader string
	// Readers asks for every nickname's "seen" marker: a Marker event
	// for each (up to MaxMarkers) at the start and on each reconnect, and
	// whenever one moves (in a room that is not sequenced: read again
	// with the members).
	Readers bool
	// Typing asks for Typing events (sequenced rooms only: a plain server
	// cannot push them, and polling would cost every member a read a
	// second).
	Typing  bool
	Refresh time.Duration // default 10 s
	// GapWait is how long missing messages may take to appear before the
	// feed skips them (default 3 s). Sends commit the head counter and
	// their messages together, so a gap never fills later in practice;
	// the wait only covers a reader racing a raw writer.
	GapWait time.Duration
	// Reconnect is the backoff between attempts to reconnect the
	// notification socket (default 100 ms to 5 s).
	Reconnect backoff.Backoff
	Logger    *slog.Logger
}

// Follow streams the room from message after+1 on: every message exactly
// once, in order, with no gap, across reconnects. In a sequenced room the
// server pushes the messages, and only a gap, a message too large for its
// frame, or a (re)connect costs a read; otherwise the feed watches the
// room's counters, and each change costs one range query for the
// messages not yet delivered. The channel closes when ctx ends.
func (r *Room) Follow(ctx context.Context, after int64, opts FollowOptions) (<-chan Event, error) {
	if opts.Refresh <= 0 {
		opts.Refresh = 10 * time.Second
	}
	if opts.GapWait <= 0 {
		opts.GapWait = 3 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var watchOpts []webaas.WatchOption
	if opts.Reconnect.Max > 0 {
		watchOpts = append(watchOpts, webaas.WithBackoff(opts.Reconnect.Min, opts.Reconnect.Max))
	}
	keys := []string{headKey, rosterKey}
	if r.Sequenced() {
		// The messages themselves are pushed; the roster counter says
		// when to read the members.
		keys = []string{rosterKey}
		types := []string{messageType}
		if opts.Typing || opts.Readers {
			types = append(types, counterType) // read markers and typing, pushed
		}
		watchOpts = append(watchOpts, webaas.WithTypes(types...), webaas.WithRecords())
	}
	if opts.Reader != "" {
		keys = append(keys, readKey(opts.Reader))
	}
	watch, err := r.c.Watch(ctx, r.code, counterType, keys, watchOpts...)
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
	last  int64 // the last seq delivered (or skipped)
	watch <-chan webaas.Event
	out   chan Event

	needMessages, needMembers, needRead bool
	needMarkers                         bool              // every reader's marker, read
	later                               []Event           // told after the next fetch: markers and typing pushed
	readSeen                            int64             // the read marker last told
	gapSeen                             time.Time         // when the gap after last was first seen; zero: none
	pushed                              []*chatpb.Message // pushed messages that follow on from last, in order
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
	failing := backoff.Backoff{Min: 200 * time.Millisecond, Max: 5 * time.Second}
	for {
		select {
		case ev, ok := <-f.watch:
			if !ok || !f.note(ctx, ev) {
				return
			}
		case <-refresh.C:
			f.needMembers = f.opts.Members
			// A plain room's markers are not pushed: read them again.
			f.needMarkers = f.opts.Readers && !f.room.Sequenced()
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
			if errors.Is(err, errGapPending) {
				retry.Reset(gapPoll) // look again soon, whatever the socket says
				continue
			}
			// The socket may be fine while HTTP failed: try again later
			// even if no notification comes.
			wait := failing.Next()
			f.opts.Logger.Warn("fetch failed", "err", err, "retry", wait)
			retry.Reset(wait)
			continue
		}
		failing.Reset()
	}
}

// note records what a watch event asks for; false when ctx ended.
func (f *feed) note(ctx context.Context, ev webaas.Event) bool {
	switch ev.Kind {
	case webaas.Connected:
		f.needMessages, f.needMembers, f.needRead = true, f.opts.Members, f.opts.Reader != ""
		f.needMarkers = f.opts.Readers
		return f.emit(ctx, Event{Kind: Connected})
	case webaas.Disconnected:
		return f.emit(ctx, Event{Kind: Reconnecting, Err: ev.Err, Retry: ev.Retry})
	case webaas.Changed:
		if ev.Records != nil {
			f.notePushed(ev)
			return true
		}
		for _, k := range ev.Keys {
			switch k {
			case headKey:
				f.needMessages = true
			case rosterKey:
				f.needMembers = f.opts.Members
				f.needMarkers = f.opts.Readers // a newcomer's marker, or a plain room's moves
			case readKey(f.opts.Reader):
				f.needRead = f.opts.Reader != ""
			}
		}
	}
	return true
}

// notePushed takes the messages a records frame carries. One that follows
// on from the last is queued for delivery, if the frame's sequence value
// says the server numbered it: a record written by hand ahead of the
// sequence is not part of the room (and is overwritten when its number
// comes). A gap, or a message the frame left out, needs a read.
func (f *feed) notePushed(ev webaas.Event) {
	head, numbered := ev.Sequences[messageSequence]
	// A frame may carry several commits, in order: a later change of a
	// number replaces an earlier one.
	byNumber := map[int64]*chatpb.Message{}
	for _, rc := range ev.Records {
		switch {
		case rc.Schema == counterType:
			switch {
			case rc.Key == rosterKey:
				f.needMembers = f.opts.Members
			case f.opts.Reader != "" && rc.Key == readKey(f.opts.Reader):
				f.needRead = true
			}
			f.notePushedCounter(rc)
		case rc.Schema != messageType:
		case rc.Omitted:
			f.needMessages = true
		case rc.Deleted:
			if seq, err := strconv.ParseInt(rc.Key, 10, 64); err == nil {
				delete(byNumber, seq)
			}
		default:
			m := &chatpb.Message{}
			if proto.Unmarshal(rc.Record, m) != nil {
				f.needMessages = true // the read will say what it is
				continue
			}
			byNumber[m.Seq] = m
		}
	}
	var msgs []*chatpb.Message
	for seq, m := range byNumber {
		if numbered && seq <= int64(head) {
			msgs = append(msgs, m)
		}
	}
	slices.SortFunc(msgs, func(a, b *chatpb.Message) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, m := range msgs {
		next := f.last + int64(len(f.pushed)) + 1
		switch {
		case m.Seq < next: // delivered already
		case m.Seq == next && !f.needMessages:
			f.pushed = append(f.pushed, m)
		default:
			f.needMessages = true // a gap: a read fills it
		}
	}
}

// notePushedCounter takes a pushed read marker or typing record.
func (f *feed) notePushedCounter(rc webaas.RecordChange) {
	if rc.Deleted || rc.Omitted {
		return
	}
	c := &chatpb.Counter{}
	if proto.Unmarshal(rc.Record, c) != nil || c.Name != rc.Key {
		return
	}
	if len(f.later) >= MaxMarkers {
		return // a flood of them: the next reconnect reads the markers again
	}
	if nick, ok := strings.CutPrefix(c.Name, seenPrefix); ok && f.opts.Readers && CheckNick(nick) == nil {
		f.later = append(f.later, Event{Kind: Marker, Nick: nick, Seq: c.Value})
	}
	if nick, ok := strings.CutPrefix(c.Name, typingPrefix); ok && f.opts.Typing && CheckNick(nick) == nil {
		f.later = append(f.later, Event{Kind: Typing, Nick: nick, Active: c.Value > 0})
	}
}

// gapPoll is how often missing messages are looked for again.
const gapPoll = 250 * time.Millisecond

// errGapPending is a fetch that found missing messages it still waits for.
var errGapPending = errors.New("messages missing; waiting for them")

func (f *feed) fetch(ctx context.Context) error {
	if err := f.tellLater(ctx); err != nil {
		return err
	}
	if len(f.pushed) > 0 {
		msgs := f.pushed
		f.pushed = nil
		if !f.needMessages { // else the read delivers them, in order
			f.last = msgs[len(msgs)-1].Seq
			if !f.emit(ctx, Event{Kind: Messages, Messages: f.room.messagesOf(msgs)}) {
				return ctx.Err()
			}
		}
	}
	if f.needMessages {
		if err := f.fetchMessages(ctx); err != nil {
			return err
		}
	}
	if f.needRead {
		seq, err := f.room.counter(ctx, readKey(f.opts.Reader))
		if err != nil {
			return err
		}
		f.needRead = false
		if seq > f.readSeen {
			f.readSeen = seq
			if !f.emit(ctx, Event{Kind: ReadUpTo, Seq: seq}) {
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
	if f.needMarkers {
		markers, err := f.room.markers(ctx)
		if err != nil {
			return err
		}
		f.needMarkers = false
		for nick, seq := range markers {
			if CheckNick(nick) == nil {
				f.later = append(f.later, Event{Kind: Marker, Nick: nick, Seq: seq})
			}
		}
	}
	return f.tellLater(ctx)
}

// tellLater tells the markers and typing pushed since the last fetch.
// They go before the messages of the same burst (typing comes before the
// line it was for, which clears it), and whatever the messages' read
// does (a gap waited for, a failed read).
func (f *feed) tellLater(ctx context.Context) error {
	later := f.later
	f.later = nil
	for _, e := range later {
		if !f.emit(ctx, e) {
			return ctx.Err()
		}
	}
	return nil
}

// fetchMessages delivers the messages after f.last up to the room's head
// counter, in order and without gaps. A record past the head is not part
// of the room and is never read, so a raw write of a far-future sequence
// number cannot hold the feed. Missing messages below the head are waited
// for up to GapWait, then reported as a Gap and skipped: the feed never
// stalls on them.
func (f *feed) fetchMessages(ctx context.Context) error {
	head, err := f.room.Head(ctx)
	if err != nil {
		return err
	}
	msgs, err := f.room.messages(ctx, f.last+1, head+1)
	if err != nil {
		return err
	}
	var ready []*chatpb.Message
	flush := func() bool {
		if len(ready) == 0 {
			return true
		}
		f.last = ready[len(ready)-1].Seq
		ok := f.emit(ctx, Event{Kind: Messages, Messages: f.room.messagesOf(ready)})
		ready = nil
		return ok
	}
	for i := 0; i <= len(msgs); i++ {
		next := head + 1 // past the last message: what is missing runs to the head
		if i < len(msgs) {
			next = msgs[i].Seq
		}
		expect := f.last + int64(len(ready)) + 1
		if next > expect {
			if !flush() {
				return ctx.Err()
			}
			skipped, err := f.skipGap(ctx, expect, next-1)
			if !skipped {
				return err
			}
		}
		if i < len(msgs) {
			ready = append(ready, msgs[i])
		}
	}
	if !flush() {
		return ctx.Err()
	}
	f.needMessages, f.gapSeen = false, time.Time{}
	return nil
}

// skipGap decides about missing messages from to to: once they have been
// missing for GapWait, it reports them and moves past them; until then it
// answers errGapPending.
func (f *feed) skipGap(ctx context.Context, from, to int64) (bool, error) {
	now := time.Now()
	if f.gapSeen.IsZero() {
		f.gapSeen = now
	}
	if now.Sub(f.gapSeen) < f.opts.GapWait {
		return false, errGapPending
	}
	f.opts.Logger.Warn("messages missing from the room; skipped", "from", from, "to", to)
	f.last, f.gapSeen = to, time.Time{}
	if !f.emit(ctx, Event{Kind: Gap, From: from, To: to}) {
		return false, ctx.Err()
	}
	return true, nil
}
