package bench

// People in a chat do more than send: they say they are typing, and they
// react to what others said. With StepConfig.Typing and ReactEvery a
// step's members do both beside the messages whose delivery it times, so
// that what those cost the room (requests, fan-out, the server's CPU)
// shows in the step's figures.

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
)

// Actor is a Client whose member can also type and react.
type Actor interface {
	Client
	// Post is Send that also returns the message's number in the room,
	// which a reaction to it names.
	Post(ctx context.Context, text string) (int64, error)
	// Typing says the member started (active) or stopped typing.
	Typing(ctx context.Context, active bool) error
	// React reacts with emoji to message target and returns the
	// reaction's own number in the room.
	React(ctx context.Context, target int64, emoji string) (int64, error)
	// TypingSeen is how many typing events the client's feed told.
	TypingSeen() int64
}

// reactionEmoji are the reactions the members give, in turn.
var reactionEmoji = []string{"👍", "🎉", "😂", "👀"}

// reactionText is how an Actor's Delivered yields a reaction: by its
// number, which is all the bench needs of it, in a form no benchText
// takes, so that it rides the same channel as the texts (one receiver a
// member, one clock reading a delivery).
func reactionText(seq int64) string { return "reaction " + strconv.FormatInt(seq, 10) }

func reactionSeq(text string) (int64, bool) {
	s, ok := strings.CutPrefix(text, "reaction ")
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	return seq, err == nil && seq > 0
}

// actions does a step's typing and reactions and counts what came of
// them; the receivers count the reactions delivered (tracker).
type actions struct {
	actors []Actor
	typing bool
	every  int             // one reaction per this many messages; 0: none
	ctx    context.Context // the step's sends' (it ends at the settle deadline)

	wg                  sync.WaitGroup // typing writes and the members' typing schedules
	typed, typingFailed atomic.Int64

	reactions            []reaction // the one for message k is k/every
	reacted, reactFailed atomic.Int64
}

// reaction is one reaction's bookkeeping.
type reaction struct {
	start atomic.Int64 // UnixNano just before React; 0: not made
	seq   atomic.Int64 // its number once acknowledged; 0: not (yet)
}

// newActions prepares the typing and reactions of a step of n messages;
// nil when the step has neither.
func newActions(ctx context.Context, cfg StepConfig, clients []Client, n int) (*actions, error) {
	if !cfg.Typing && cfg.ReactEvery <= 0 {
		return nil, nil
	}
	a := &actions{typing: cfg.Typing, every: max(cfg.ReactEvery, 0), ctx: ctx, actors: make([]Actor, len(clients))}
	for i, c := range clients {
		actor, ok := c.(Actor)
		if !ok {
			return nil, errNoActions
		}
		a.actors[i] = actor
	}
	if a.every > 0 {
		a.reactions = make([]reaction, n/a.every)
	}
	return a, nil
}

var errNoActions = errors.New("this model's clients cannot type or react")

// say makes one typing write of member i.
func (a *actions) say(i int, active bool) {
	a.typed.Add(1)
	if a.actors[i].Typing(withKind(a.ctx, KindTyping), active) != nil {
		a.typingFailed.Add(1)
	}
}

// typeAlong has every member say it is typing every chat.TypingEvery
// from began until until, member i first at i/members of the period, so
// that the room's typing writes come evenly, not in bursts of all
// members at once.
func (a *actions) typeAlong(began, until time.Time) {
	if !a.typing {
		return
	}
	for i := range a.actors {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			offset := chat.TypingEvery * time.Duration(i) / time.Duration(len(a.actors))
			for at := began.Add(offset); at.Before(until); at = at.Add(chat.TypingEvery) {
				t := time.NewTimer(time.Until(at))
				select {
				case <-t.C:
				case <-a.ctx.Done():
					t.Stop()
					return
				}
				a.say(i, true)
			}
		}()
	}
}

// reacts says whether message k gets a reaction.
func (a *actions) reacts(k int) bool {
	return a != nil && a.every > 0 && k%a.every == a.every-1 && k/a.every < len(a.reactions)
}

// react has a random member other than the sender, from, react to
// message k, which is acknowledged as number target: a recent message,
// as people react to what they just read.
func (a *actions) react(from, k int, target int64) {
	j := from
	if n := len(a.actors); n > 1 {
		j = rand.IntN(n - 1)
		if j >= from {
			j++
		}
	}
	r := &a.reactions[k/a.every]
	r.start.Store(time.Now().UnixNano())
	seq, err := a.actors[j].React(withKind(a.ctx, KindReaction), target, reactionEmoji[(k/a.every)%len(reactionEmoji)])
	if err != nil {
		a.reactFailed.Add(1)
		return
	}
	r.seq.Store(seq)
	a.reacted.Add(1)
}

// typingSeen is the typing events every member's feed told, together.
func (a *actions) typingSeen() int64 {
	var n int64
	for _, c := range a.actors {
		n += c.TypingSeen()
	}
	return n
}

// reactionDelivery is, over every acknowledged reaction and member, the
// time from just before React until the member's chat layer held it,
// and the (reaction, member) pairs that never came.
func (a *actions) reactionDelivery(members []*member) (lat []time.Duration, lost int) {
	for r := range a.reactions {
		seq := a.reactions[r].seq.Load()
		if seq == 0 {
			continue
		}
		start := a.reactions[r].start.Load()
		for _, m := range members {
			if at, ok := m.reactions[seq]; ok {
				lat = append(lat, time.Duration(at-start))
			} else {
				lost++
			}
		}
	}
	return lat, lost
}
