package bench

// One step of a sweep: a room of members, each following it and sending
// its share of an open-loop load at a fixed aggregate rate.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SweepStep is what one rate of a sweep measured.
type SweepStep struct {
	Model   string
	Rate    float64 // asked for: messages per second into the room
	Members int     // clients in the room, each following it
	// Offered is the sends started per second (the bench may fall short
	// of Rate on a saturated machine); Achieved the acknowledged sends
	// per second, from the first send until the last acknowledgement.
	Offered, Achieved float64
	Sent, Acked       int
	Failed            int // sends that ended in an error (or did not end within the settle time)
	// Delivery is over every (message, member) pair delivered: from just
	// before Send until that member's chat layer holds the message. The
	// sender's own feed counts too: its user sees the message only then.
	Delivery Percentiles
	// LostPairs are the acknowledged (message, member) pairs not
	// delivered within the settle time; LostMessages the acknowledged
	// messages that no member got at all.
	LostPairs, LostMessages int
	// ServerCPU is the server's CPU time (all nodes) over the step, from
	// the first send until the last delivery; CPUPerMessage that over the
	// messages delivered (pairs / members). 0: not measured.
	ServerCPU, CPUPerMessage time.Duration
	Elapsed                  time.Duration
	// OtherLoad is the cores that processes other than the bench and
	// the server used during the step, on average (another job on a
	// shared machine; with PostgreSQL, PostgreSQL itself); -1: unknown.
	OtherLoad float64
	// Requests are the HTTP requests the members made over the step, by
	// kind ("batch": sends; "transaction": presence in a sequenced room);
	// nil: not counted (the original design).
	Requests map[string]int64 `json:",omitempty"`
	// With StepConfig.Typing and ReactEvery, as asked; then what the
	// members' typing and reactions came to.
	Typing     bool `json:",omitempty"`
	ReactEvery int  `json:",omitempty"`
	// TypingWrites are the typing writes made (TypingFailed of them
	// failed), TypingPerSecond those over the sending time, and
	// TypingEvents the typing events the members' feeds told, together.
	TypingWrites, TypingFailed int     `json:",omitempty"`
	TypingPerSecond            float64 `json:",omitempty"`
	TypingEvents               int     `json:",omitempty"`
	// Reactions are the reactions acknowledged (ReactionsFailed: ended
	// in an error); extra messages in the room's order, kept out of
	// Delivery (which is the rate's messages) but timed on their own in
	// ReactionDelivery, from just before React (whose reads of the
	// target included) until each member's chat layer holds them;
	// LostReactionPairs, the (reaction, member) pairs that never came.
	Reactions, ReactionsFailed int         `json:",omitempty"`
	ReactionDelivery           Percentiles `json:",omitzero"`
	LostReactionPairs          int         `json:",omitempty"`
	// ReactionRequestsPerSecond is ReactionRequests over the sending
	// time. TypingShare and ReactionShare are the parts of the step's
	// requests that typing writes and ReactionRequests are.
	ReactionRequestsPerSecond  float64 `json:",omitempty"`
	TypingShare, ReactionShare float64 `json:",omitempty"`
	// In medians of several runs: how many runs ran this step, and how
	// many of them passed.
	Runs, PassedRuns int `json:",omitempty"`
}

// StepConfig describes one step.
type StepConfig struct {
	Model    Model
	Members  int
	Rate     float64
	Duration time.Duration
	// Settle bounds the wait, after the last send, for acknowledgements
	// and deliveries; what has not come by then is failed or lost.
	Settle time.Duration
	// CPU reads the server's CPU time so far (nil: not measured).
	CPU func() (time.Duration, error)
	// Progress, if set, hears what the step is doing, now and then.
	Progress func(phase string, elapsed time.Duration)
	// Quiet, if set, waits after the members connected until the
	// server is idle: joining members bump the roster, and every member
	// then reads the member list, which is set-up, not load.
	Quiet func(context.Context)
	// Typing: every member says it is typing every chat.TypingEvery
	// while the step sends (spread over the period) and that it stopped
	// as it sends each message. ReactEvery > 0: one message in that many
	// gets a reaction from another member once acknowledged. Either
	// needs a model whose clients are Actors.
	Typing     bool
	ReactEvery int
}

// tracker is the bookkeeping of one step, shared by the senders and the
// members' receivers.
type tracker struct {
	starts   []atomic.Int64 // per message: UnixNano just before Send; 0: not sent
	acked    []atomic.Bool
	holders  []atomic.Int32 // per message: members holding it
	complete atomic.Int64   // messages every member holds
	pairs    atomic.Int64   // (message, member) pairs delivered
	// reactionPairs are the (reaction, member) pairs delivered: the
	// settle time waits for every acknowledged reaction to reach every
	// member too.
	reactionPairs atomic.Int64
	closed        atomic.Bool // the settle time is over: deliveries no longer count
	members       int
}

// member is what one receiver saw; only its goroutine writes it.
type member struct {
	got       []bool
	lat       []time.Duration
	reactions map[int64]int64 // reaction's number -> UnixNano it came
}

// receive records the bench messages a member's chat layer yields.
func (t *tracker) receive(m *member, in <-chan []string) {
	for texts := range in {
		if t.closed.Load() {
			continue
		}
		now := time.Now().UnixNano()
		for _, s := range texts {
			if seq, ok := reactionSeq(s); ok {
				// Its start is known only once React returns, which
				// may be after it came: it is timed at the end.
				if _, dup := m.reactions[seq]; !dup {
					m.reactions[seq] = now
					t.reactionPairs.Add(1)
				}
				continue
			}
			k, ok := benchSeq(s)
			if !ok || k >= len(m.got) || m.got[k] {
				continue
			}
			t0 := t.starts[k].Load()
			if t0 == 0 {
				continue
			}
			m.got[k] = true
			m.lat = append(m.lat, time.Duration(now-t0))
			t.pairs.Add(1)
			if int(t.holders[k].Add(1)) == t.members {
				t.complete.Add(1)
			}
		}
	}
}

// RunStep connects the members, runs the load and measures it.
func RunStep(ctx context.Context, cfg StepConfig) (SweepStep, error) {
	res := SweepStep{Model: cfg.Model.Name(), Rate: cfg.Rate, Members: cfg.Members, Typing: cfg.Typing, ReactEvery: max(cfg.ReactEvery, 0)}
	report := func(phase string, d time.Duration) {
		if cfg.Progress != nil {
			cfg.Progress(phase, d)
		}
	}
	report("connecting", 0)
	clients, err := connectAll(ctx, cfg.Model, cfg.Members)
	if err != nil {
		return res, err
	}
	if cfg.Quiet != nil {
		report("waiting for the server to go quiet", 0)
		cfg.Quiet(ctx)
	}
	n := int(cfg.Rate * cfg.Duration.Seconds())
	t := &tracker{starts: make([]atomic.Int64, n), acked: make([]atomic.Bool, n), holders: make([]atomic.Int32, n), members: len(clients)}
	members := make([]*member, len(clients))
	var recvWG sync.WaitGroup
	for i, c := range clients {
		members[i] = &member{got: make([]bool, n), reactions: map[int64]int64{}}
		recvWG.Add(1)
		go func() { defer recvWG.Done(); t.receive(members[i], c.Delivered()) }()
	}
	closed := false
	closeAll := func() {
		if !closed {
			closed = true
			t.closed.Store(true)
			closeClients(clients)
			recvWG.Wait()
		}
	}
	defer closeAll()

	cpu0 := readCPU(cfg.CPU)
	req0 := readRequests(cfg.Model)
	load := startLoad(cfg.CPU)
	began := time.Now()
	deadline := began.Add(cfg.Duration + cfg.Settle)
	sctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	acts, err := newActions(sctx, cfg, clients, n)
	if err != nil {
		return res, err
	}
	var acked, failed atomic.Int64
	var lastAck atomic.Int64
	var sendWG sync.WaitGroup
	send := func(i, k int) {
		defer sendWG.Done()
		t.starts[k].Store(time.Now().UnixNano())
		var seq int64
		var err error
		if acts.reacts(k) {
			seq, err = acts.actors[i].Post(sctx, benchText(i, k))
		} else {
			err = clients[i].Send(sctx, benchText(i, k))
		}
		if err != nil {
			failed.Add(1)
			return
		}
		t.acked[k].Store(true)
		acked.Add(1)
		now := time.Now().UnixNano()
		for old := lastAck.Load(); now > old && !lastAck.CompareAndSwap(old, now); old = lastAck.Load() {
		}
		if acts.reacts(k) {
			sendWG.Add(1) // this send's own Add still holds the count above 0
			go func() { defer sendWG.Done(); acts.react(i, k, seq) }()
		}
	}
	if acts != nil {
		acts.typeAlong(began, began.Add(cfg.Duration))
	}
	// The open loop: message k is due at k/Rate, whatever became of the
	// earlier ones.
	lastReport := began
	for k := 0; k < n && ctx.Err() == nil; k++ {
		due := began.Add(time.Duration(float64(k) / cfg.Rate * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		sendWG.Add(1)
		go send(k%len(clients), k)
		res.Sent++
		if now := time.Now(); now.Sub(lastReport) > 200*time.Millisecond {
			lastReport = now
			report("sending", now.Sub(began))
		}
	}
	sending := max(time.Since(began), cfg.Duration)
	res.Offered = float64(res.Sent) / sending.Seconds()
	report("settling", time.Since(began))
	sendWG.Wait()
	var reacted int64
	if acts != nil {
		acts.wg.Wait()
		reacted = acts.reacted.Load()
	}
	// A reaction that failed may still have landed and count among the
	// pairs; the step fails on it anyway (ReactionsFailed).
	for time.Now().Before(deadline) && ctx.Err() == nil &&
		(t.complete.Load() < acked.Load() || t.reactionPairs.Load() < reacted*int64(len(clients))) {
		time.Sleep(5 * time.Millisecond)
	}
	res.Elapsed = time.Since(began)
	cpu1 := readCPU(cfg.CPU)
	if req0 != nil {
		res.Requests = countsSince(req0, readRequests(cfg.Model))
	}
	res.OtherLoad = load.other()
	closeAll()
	if err := ctx.Err(); err != nil {
		return res, err
	}

	res.Acked, res.Failed = int(acked.Load()), int(failed.Load())
	if last := lastAck.Load(); last > 0 {
		res.Achieved = float64(res.Acked) / max(time.Duration(last-began.UnixNano()), cfg.Duration).Seconds()
	}
	var all []time.Duration
	for _, m := range members {
		all = append(all, m.lat...)
	}
	res.Delivery = percentiles(all)
	for k := 0; k < n; k++ {
		if !t.acked[k].Load() {
			continue
		}
		held := int(t.holders[k].Load())
		res.LostPairs += len(clients) - held
		if held == 0 {
			res.LostMessages++
		}
	}
	if acts != nil {
		res.TypingWrites, res.TypingFailed = int(acts.typed.Load()), int(acts.typingFailed.Load())
		res.TypingPerSecond = float64(res.TypingWrites) / sending.Seconds()
		res.TypingEvents = int(acts.typingSeen())
		res.Reactions, res.ReactionsFailed = int(reacted), int(acts.reactFailed.Load())
		lat, lost := acts.reactionDelivery(members)
		res.ReactionDelivery, res.LostReactionPairs = percentiles(lat), lost
		res.ReactionRequestsPerSecond = float64(res.ReactionRequests()) / sending.Seconds()
		res.TypingShare = res.RequestShare(KindTyping)
		if total := res.totalRequests(); total > 0 {
			res.ReactionShare = float64(res.ReactionRequests()) / float64(total)
		}
	}
	if cfg.CPU != nil && len(all) > 0 {
		res.ServerCPU = cpu1 - cpu0
		res.CPUPerMessage = time.Duration(float64(res.ServerCPU) * float64(len(clients)) / float64(len(all)))
	}
	return res, nil
}

// RequestShare is the share of the step's requests of one kind, and
// RequestsPerMessage all of them over the acknowledged sends; both 0
// when the requests were not counted.
func (s SweepStep) RequestShare(kind string) float64 {
	total := s.totalRequests()
	if total == 0 {
		return 0
	}
	return float64(s.Requests[kind]) / float64(total)
}

func (s SweepStep) RequestsPerMessage() float64 {
	if s.Acked == 0 {
		return 0
	}
	return float64(s.totalRequests()) / float64(s.Acked)
}

func (s SweepStep) totalRequests() int64 {
	var total int64
	for _, v := range s.Requests {
		total += v
	}
	return total
}

// ReactionRequests are the requests the reactions cost: any made under
// KindReaction (none, since React stopped reading its target) and the
// batch that carries each, one per reaction. That is an upper bound on the batches:
// the batch is the session's and, when the member's own sends are
// queued at the time, shared with them, and the request cannot say which
// (so those batches also count in "batch").
func (s SweepStep) ReactionRequests() int64 {
	if s.Requests == nil {
		return 0
	}
	return s.Requests[KindReaction] + int64(s.Reactions)
}

// readRequests counts a model's requests so far, if it counts them.
func readRequests(m Model) map[string]int64 {
	if rc, ok := m.(interface{ Requests() map[string]int64 }); ok {
		return rc.Requests()
	}
	return nil
}

func readCPU(f func() (time.Duration, error)) time.Duration {
	if f == nil {
		return 0
	}
	d, _ := f()
	return d
}

// connectAll connects n clients, a few at a time.
func connectAll(ctx context.Context, m Model, n int) ([]Client, error) {
	clients := make([]Client, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			clients[i], errs[i] = m.Connect(ctx, i)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			closeClients(clients)
			return nil, fmt.Errorf("client %d: %w", i, err)
		}
	}
	return clients, nil
}

// closeClients closes every client that was made, at once.
func closeClients(clients []Client) {
	var wg sync.WaitGroup
	for _, c := range clients {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
	}
	wg.Wait()
}

// benchSeq is the message number in a benchText.
func benchSeq(text string) (int, bool) {
	if !strings.HasPrefix(text, "bench ") {
		return 0, false
	}
	k, err := strconv.Atoi(text[strings.LastIndexByte(text, ' ')+1:])
	return k, err == nil && k >= 0
}
