package members

import (
	"slices"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

func nicks(ms []chat.Member) []string {
	var out []string
	for _, mb := range ms {
		out = append(out, mb.Nick)
	}
	return out
}

// The list shows current nicknames only: a record left behind by a
// rename (offline, its holder holding another nickname that is online or
// taken later) goes; others stay, and so does a record whose signature
// does not hold, flagged.
func TestRenamedAwayNicknamesAreDropped(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	keys := common.DefaultKeyMap()
	m := New(&common.Common{Styles: common.DefaultStyles(), Keys: &keys}, func() string { return "me" })
	m.SetMembers([]chat.Member{
		{Nick: "me", Online: true, Holder: "h-me", Joined: at(0)},
		// bob became robert, online.
		{Nick: "robert", Online: true, Holder: "h-bob", Joined: at(5)},
		{Nick: "bob", Holder: "h-bob", Joined: at(1), LastSeen: at(5)},
		// carol became caz and then left: both offline, caz taken later.
		{Nick: "caz", Holder: "h-carol", Joined: at(7), LastSeen: at(9)},
		{Nick: "carol", Holder: "h-carol", Joined: at(2), LastSeen: at(7)},
		// dave left; nobody else holds with his holder.
		{Nick: "dave", Holder: "h-dave", Joined: at(3), LastSeen: at(4)},
		// an old record with no holder, and a forged one: kept.
		{Nick: "old"},
		{Nick: "eve", Holder: "h-bob", Joined: at(0), Trust: chat.Forged},
	})
	if got, want := nicks(m.Members()), []string{"me", "robert", "caz", "dave", "old", "eve"}; !slices.Equal(got, want) {
		t.Fatalf("members %q, want %q", got, want)
	}
}
