package chat

import (
	"context"
	"sort"
	"time"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// Member is one person who has been in the room.
type Member struct {
	Nick     string
	Online   bool
	Joined   time.Time
	LastSeen time.Time
	// Trust says what the record's signature proves against the key
	// the nickname's lines are signed with: Verified, Unsigned (no
	// signature, or no signed line of the nick seen yet), Forged or
	// OtherKey (rewritten around the chat, e.g. to mark someone offline).
	Trust Trust
	// Holder names who holds the nickname (the record's client_id: a
	// hash of the holder's token and the room, the same for every
	// nickname one installation or identity takes in the room), so that
	// a nickname renamed away can be told from its holder's current one.
	Holder string
}

// Suspect reports a member record its signature does not prove.
func (m Member) Suspect() bool { return m.Trust == Forged || m.Trust == OtherKey }

// online: the member said so and its heartbeat is recent.
func (r *Room) online(m *chatpb.Member, now time.Time) bool {
	return m.Online && now.Sub(time.UnixMilli(m.LastSeenUnixMs)) < r.presence
}

// WithPresenceTimeout returns the room with another presence timeout:
// how long after its last heartbeat a silent member still counts as
// online (default DefaultPresenceTimeout).
func (r *Room) WithPresenceTimeout(d time.Duration) *Room {
	c := *r
	c.presence = d
	return &c
}

// beyondNicks is a key above every nickname (nicknames are valid UTF-8,
// whose bytes never reach 0xF5).
const beyondNicks = "\xf5"

// Members lists everyone who has been in the room: online first, then by
// nickname.
func (r *Room) Members(ctx context.Context) ([]Member, error) {
	now := time.Now()
	var out []Member
	from := ""
	for {
		page, more, err := webaas.RangeMessages[chatpb.Member](ctx, r.c, r.code, from, beyondNicks, 1)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			out = append(out, Member{
				Nick: m.Nick, Online: r.online(m, now),
				Joined: time.UnixMilli(m.JoinedUnixMs), LastSeen: time.UnixMilli(m.LastSeenUnixMs),
				Trust: r.pins.checkMember(r.code, m), Holder: m.ClientId,
			})
		}
		if !more || len(page) == 0 {
			break
		}
		from = page[len(page)-1].Nick + "\x00" // the next key after it
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Online != out[j].Online {
			return out[i].Online
		}
		return out[i].Nick < out[j].Nick
	})
	return out, nil
}
