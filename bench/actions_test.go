package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/bench"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// TestSweepActionsBrief runs one short step in a 3-member room whose
// members also type and react (a reaction to every second message), and
// checks that both were done and counted, and that nothing was lost:
// every message and every reaction reached every member, and the room
// holds exactly the two. About a second.
func TestSweepActionsBrief(t *testing.T) {
	srv := servertest.Start(t)
	ctx := context.Background()
	cl, err := bench.StartCluster(ctx, bench.ClusterConfig{External: []string{srv.URL()}})
	if err != nil {
		t.Fatal(err)
	}
	var model *bench.Ours
	steps, err := bench.RunSweep(ctx, bench.SweepConfig{
		NewModel: func(ctx context.Context) (bench.Model, error) {
			m, err := bench.NewOurs(ctx, false, srv.URL())
			if m != nil {
				m.Members, m.Actions, m.Sign = true, true, true // a reaction counts only signed
				model = m
			}
			return m, err
		},
		Cluster: cl, Members: 3, Rates: []float64{20}, Duration: 500 * time.Millisecond, Settle: 5 * time.Second,
		Typing: true, ReactEvery: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 {
		t.Fatalf("want one step: %v", steps)
	}
	s := steps[0]
	t.Log(s)
	t.Log(s.Requests)
	if s.Acked != 10 || s.Failed != 0 || s.Delivery.N != 30 || s.LostPairs != 0 {
		t.Errorf("acked %d, failed %d, delivered %d pairs, lost %d; want 10, 0, 30, 0", s.Acked, s.Failed, s.Delivery.N, s.LostPairs)
	}
	// Messages 1, 3, 5, 7 and 9 of 0–9 get one each.
	if s.Reactions != 5 || s.ReactionsFailed != 0 || s.ReactionDelivery.N != 15 || s.LostReactionPairs != 0 {
		t.Errorf("reactions %d, failed %d, delivered %d pairs, lost %d; want 5, 0, 15, 0",
			s.Reactions, s.ReactionsFailed, s.ReactionDelivery.N, s.LostReactionPairs)
	}
	if got, err := model.Count(ctx); err != nil || got != s.Acked+s.Reactions {
		t.Errorf("the room holds %d messages (%v), want the %d sent and %d reactions", got, err, s.Acked, s.Reactions)
	}
	// At least member 0's first "typing", due as the step starts (as in
	// the chat, a send says nothing: the line clears the indicator).
	if s.TypingWrites < 1 || s.TypingFailed != 0 || s.Requests[bench.KindTyping] != int64(s.TypingWrites) {
		t.Errorf("typing writes %d (%d failed), %d requests of kind typing; want ≥ 1, 0, as many", s.TypingWrites, s.TypingFailed, s.Requests[bench.KindTyping])
	}
	if s.TypingEvents == 0 {
		t.Error("no member's feed told a typing event")
	}
	// A reaction costs its batch and nothing else: its target is known.
	if s.Requests[bench.KindReaction] != 0 || s.ReactionRequests() != int64(s.Reactions) || s.ReactionRequestsPerSecond <= 0 {
		t.Errorf("%d requests of kind reaction, %d in all, %.1f reaction requests/s", s.Requests[bench.KindReaction], s.ReactionRequests(), s.ReactionRequestsPerSecond)
	}
	if s.TypingPerSecond <= 0 || s.TypingShare <= 0 || s.ReactionShare <= 0 || s.TypingShare+s.ReactionShare >= 1 {
		t.Errorf("typing %.1f/s, shares: typing %.2f, reactions %.2f", s.TypingPerSecond, s.TypingShare, s.ReactionShare)
	}
}
