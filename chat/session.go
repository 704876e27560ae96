package chat

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webaas-chat/webaas-chat/pb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// maxBatch caps how many queued messages one transaction carries.
const maxBatch = 100

// SessionOptions tune Join.
type SessionOptions struct {
	// Heartbeat is how often presence is refreshed (default 10 s). A
	// member counts as offline after the room's presence timeout without
	// one, so keep it well under that.
	Heartbeat time.Duration
	Logger    *slog.Logger
	// NoJoinLine skips the "joined" system message (for scripted sends).
	NoJoinLine bool
	// GiveUp is how long a send is retried while the server answers that
	// it cannot store anything now (503, code 1013: out of disk space, its
	// database down) before the send fails with the server's words
	// (default 10 s). A server that does not answer at all (restarting,
	// unreachable) is retried for as long as the session lives.
	GiveUp time.Duration
	// Owner names who holds the nickname: a token that stays the same
	// across launches on one installation, so that after a crash the
	// same person gets their nickname back at once instead of waiting
	// for the presence timeout. Empty: a fresh token per session.
	Owner string
}

// DefaultPresenceTimeout is how long after its last heartbeat a member
// whose client stopped (crashed, lost its network) still counts as online.
const DefaultPresenceTimeout = 30 * time.Second

// Session is one person in a room: their nickname, presence and sends.
type Session struct {
	room     *Room
	clientID string // names this session's sends
	owner    string // holds the nickname
	log      *slog.Logger
	hb       time.Duration
	giveUp   time.Duration

	mu   sync.Mutex
	nick string

	clientSeq atomic.Uint64
	sendq     chan *sendReq
	ctx       context.Context // the session's life; cancelled by Leave/Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

type sendReq struct {
	msg  *pb.Message
	done chan error
}

func newClientID() string {
	var b [8]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Join enters the room as nick: it claims the nickname (refused if someone
// online holds it), marks it online, starts the heartbeat and posts
// "nick joined".
func (r *Room) Join(ctx context.Context, nick string, opts SessionOptions) (*Session, error) {
	s, err := r.newSession(nick, opts)
	if err != nil {
		return nil, err
	}
	if err := s.claim(ctx, "", nick); err != nil {
		s.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.heartbeat()
	if !opts.NoJoinLine {
		if _, err := s.post(ctx, pb.Kind_KIND_JOIN, ""); err != nil {
			s.log.Warn("post join line", "err", err)
		}
	}
	return s, nil
}

// Sender returns a session that only sends, as nick, without joining:
// no presence, no "joined" line. Scripts use it to post a message.
func (r *Room) Sender(nick string, opts SessionOptions) (*Session, error) {
	return r.newSession(nick, opts)
}

func (r *Room) newSession(nick string, opts SessionOptions) (*Session, error) {
	if err := CheckNick(nick); err != nil {
		return nil, err
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.GiveUp <= 0 {
		opts.GiveUp = 10 * time.Second
	}
	sctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		room: r, clientID: newClientID(), owner: opts.Owner, log: opts.Logger, hb: opts.Heartbeat, giveUp: opts.GiveUp,
		nick: nick, sendq: make(chan *sendReq, maxBatch), ctx: sctx, cancel: cancel,
	}
	if s.owner == "" {
		s.owner = s.clientID
	}
	s.wg.Add(1)
	go s.sender()
	return s, nil
}

// Nick is the session's current nickname.
func (s *Session) Nick() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nick
}

// ClientID names this session in the messages it sends.
func (s *Session) ClientID() string { return s.clientID }

// Room is the session's room.
func (s *Session) Room() *Room { return s.room }

// retry runs fn until it returns nil or an error other than a transaction
// conflict, waiting a short jittered, growing time between attempts.
func retry(ctx context.Context, fn func() error) error {
	wait := time.Millisecond
	for {
		err := fn()
		if !errors.Is(err, webaas.ErrConflict) {
			return err
		}
		if err := sleep(ctx, wait/2+rand.N(wait/2+1)); err != nil {
			return err
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// inTxn runs fn in a transaction and commits it, retrying the whole
// transaction on conflicts; it aborts what it does not commit.
func (s *Session) inTxn(ctx context.Context, fn func(tx *webaas.Txn) error) error {
	return retry(ctx, func() error {
		tx, err := s.room.c.Begin(ctx)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			_ = tx.Abort(context.WithoutCancel(ctx))
			return err
		}
		return tx.Commit(ctx)
	})
}

// claim takes nickname to (releasing from, if not empty) in one
// transaction that also bumps the roster.
func (s *Session) claim(ctx context.Context, from, to string) error {
	now := time.Now().UnixMilli()
	return s.inTxn(ctx, func(tx *webaas.Txn) error {
		m, err := webaas.TxnGetMessage[pb.Member](ctx, tx, s.room.code, to)
		switch {
		case errors.Is(err, webaas.ErrNotFound):
			m = &pb.Member{Nick: to}
		case err != nil:
			return err
		case m.ClientId != s.owner && s.room.online(m, time.Now()):
			return fmt.Errorf("%w: %s", ErrNickTaken, to)
		}
		if !s.room.online(m, time.Now()) {
			m.JoinedUnixMs = now // a new stay in the room starts now
		}
		m.ClientId, m.Online, m.LastSeenUnixMs = s.owner, true, now
		if err := tx.PutMessage(ctx, s.room.code, m); err != nil {
			return err
		}
		if from != "" {
			if err := s.setOffline(ctx, tx, from); err != nil {
				return err
			}
		}
		return bumpRoster(ctx, tx, s.room.code)
	})
}

// setOffline marks nick offline inside tx, if this session still holds it.
func (s *Session) setOffline(ctx context.Context, tx *webaas.Txn, nick string) error {
	m, err := webaas.TxnGetMessage[pb.Member](ctx, tx, s.room.code, nick)
	if errors.Is(err, webaas.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.ClientId != s.owner {
		return nil // someone else has it now; leave them be
	}
	m.Online = false
	m.LastSeenUnixMs = time.Now().UnixMilli()
	return tx.PutMessage(ctx, s.room.code, m)
}

func bumpRoster(ctx context.Context, tx *webaas.Txn, code string) error {
	c, err := webaas.TxnGetMessage[pb.Counter](ctx, tx, code, rosterKey)
	if errors.Is(err, webaas.ErrNotFound) {
		c, err = &pb.Counter{Name: rosterKey}, nil
	}
	if err != nil {
		return err
	}
	c.Value++
	return tx.PutMessage(ctx, code, c)
}

// Send posts a message and returns it, with its sequence number, once it
// is committed (durable). Concurrent sends are batched into one
// transaction. If ctx ends first the message may still be sent.
func (s *Session) Send(ctx context.Context, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	return s.post(ctx, pb.Kind_KIND_TEXT, text)
}

// Act posts an action line: "/me waves" is Act("waves").
func (s *Session) Act(ctx context.Context, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	return s.post(ctx, pb.Kind_KIND_ACTION, text)
}

func (s *Session) post(ctx context.Context, kind pb.Kind, text string) (Message, error) {
	req := &sendReq{
		msg: &pb.Message{
			Nick: s.Nick(), Text: text, Kind: kind, SentUnixMs: time.Now().UnixMilli(),
			ClientId: s.clientID, ClientSeq: s.clientSeq.Add(1),
		},
		done: make(chan error, 1),
	}
	select {
	case s.sendq <- req:
	case <-s.ctx.Done():
		return Message{}, ErrClosed
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
	select {
	case err := <-req.done:
		if err != nil {
			return Message{}, err
		}
		return messageOf(req.msg), nil
	case <-ctx.Done():
		return Message{}, fmt.Errorf("gave up waiting; the message may still be sent: %w", ctx.Err())
	}
}

// sender commits queued messages, as many per transaction as are waiting.
func (s *Session) sender() {
	defer s.wg.Done()
	for {
		var batch []*sendReq
		select {
		case req := <-s.sendq:
			batch = append(batch, req)
		case <-s.ctx.Done():
			return
		}
	gather:
		for len(batch) < maxBatch {
			select {
			case req := <-s.sendq:
				batch = append(batch, req)
			default:
				break gather
			}
		}
		err := s.commitBatch(s.ctx, batch)
		for _, req := range batch {
			req.done <- err
		}
	}
}

// commitBatch gives the batch the next sequence numbers and commits it,
// retrying on conflicts and on failures. After a commit whose outcome is
// unknown (the answer was lost), it first looks for the batch among the
// messages committed since, so a retry never posts it twice.
func (s *Session) commitBatch(ctx context.Context, batch []*sendReq) error {
	ambiguousFrom := int64(-1) // head read by the earliest attempt whose commit outcome is unknown
	failures := 0
	var cannotStore time.Time // the first of an unbroken run of "cannot store now" answers
	var lastErr error
	for {
		// After GiveUp of such answers, one last attempt only looks for
		// the batch (an earlier commit may have landed) before failing.
		lookOnly := !cannotStore.IsZero() && time.Since(cannotStore) >= s.giveUp
		head, err := s.tryCommit(ctx, batch, &ambiguousFrom, lookOnly)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ErrClosed
		}
		if errors.Is(err, errLookedOnly) {
			return lastErr
		}
		var wait time.Duration
		switch {
		case errors.Is(err, webaas.ErrConflict), errors.Is(err, webaas.ErrUnknownTransaction):
			// Someone else took the sequence number, or the server lost
			// the transaction in a restart: go again at once, after a
			// random wait under a millisecond that spreads the racers out.
			// (A window that grows with each loss gave more throughput to
			// many greedy senders but a worse tail to everyone; measured
			// in BENCHMARKS.md.)
			wait = rand.N(time.Millisecond)
		case refused(err):
			return err // the server refused the messages; retrying will not help
		default:
			// The server is unreachable or failing: back off, up to 2 s.
			if errors.Is(err, webaas.ErrUnavailable) {
				if cannotStore.IsZero() {
					cannotStore = time.Now()
				}
				lastErr = err
			} else {
				cannotStore = time.Time{}
			}
			failures++
			wait = min(time.Millisecond<<min(failures, 11), 2*time.Second)
			wait = wait/2 + rand.N(wait/2+1)
			s.log.Warn("send failed; retrying", "err", err, "head", head, "retry", wait)
		}
		if err := sleep(ctx, wait); err != nil {
			return ErrClosed
		}
	}
}

// errLookedOnly ends an attempt that only looked for an earlier one.
var errLookedOnly = errors.New("looked for the batch only")

// refused reports a definite "no" from the server (a 4xx answer) that a
// retry cannot change. Faults (5xx, from the server or a proxy in front
// of it) and missing answers are worth retrying.
func refused(err error) bool {
	var e *webaas.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return false
	}
	return !errors.Is(err, webaas.ErrConflict) && !errors.Is(err, webaas.ErrUnknownTransaction)
}

// errCommitUnknown marks a commit whose answer never came.
var errCommitUnknown = errors.New("commit outcome unknown")

func (s *Session) tryCommit(ctx context.Context, batch []*sendReq, ambiguousFrom *int64, lookOnly bool) (int64, error) {
	tx, err := s.room.c.Begin(ctx)
	if err != nil {
		return 0, err
	}
	committed := false
	defer func() {
		if !committed {
			tx.Abort(context.WithoutCancel(ctx))
		}
	}()
	cn, err := webaas.TxnGetMessage[pb.Counter](ctx, tx, s.room.code, headKey)
	if errors.Is(err, webaas.ErrNotFound) {
		cn, err = &pb.Counter{Name: headKey}, nil
	}
	if err != nil {
		return 0, err
	}
	head := cn.Value
	if *ambiguousFrom >= 0 {
		found, err := s.landed(ctx, batch, *ambiguousFrom, head)
		if err != nil {
			return head, err
		}
		if found {
			return head, nil
		}
	}
	if lookOnly {
		return head, errLookedOnly
	}
	for i, req := range batch {
		req.msg.Seq = head + 1 + int64(i)
	}
	cn.Value = head + int64(len(batch))
	if err := s.putAll(ctx, tx, batch, cn); err != nil {
		return head, err
	}
	err = tx.Commit(ctx)
	if err != nil && !errors.Is(err, webaas.ErrConflict) && !refused(err) {
		// No answer, or a fault answer from the server or a proxy: it
		// may have landed.
		if *ambiguousFrom < 0 || head < *ambiguousFrom {
			*ambiguousFrom = head
		}
		return head, fmt.Errorf("%w: %w", errCommitUnknown, err)
	}
	committed = err == nil
	return head, err
}

// landed reports whether the batch was committed with a sequence number in
// (from, head]; if so it fills in the sequence numbers it got.
func (s *Session) landed(ctx context.Context, batch []*sendReq, from, head int64) (bool, error) {
	msgs, err := s.room.messages(ctx, from+1, head+1)
	if err != nil {
		return false, err
	}
	first := batch[0].msg
	for i, m := range msgs {
		if m.ClientId == first.ClientId && m.ClientSeq == first.ClientSeq {
			// A batch commits whole, in order.
			for j, req := range batch {
				if i+j < len(msgs) {
					req.msg.Seq = msgs[i+j].Seq
				}
			}
			return true, nil
		}
	}
	return false, nil
}

// putAll buffers the batch's records in tx, in parallel: the round trips
// overlap, which keeps the window in which another sender can conflict
// short.
func (s *Session) putAll(ctx context.Context, tx *webaas.Txn, batch []*sendReq, head *pb.Counter) error {
	errs := make(chan error, len(batch)+1)
	var wg sync.WaitGroup
	wg.Add(len(batch) + 1)
	go func() { defer wg.Done(); errs <- tx.PutMessage(ctx, s.room.code, head) }()
	for _, req := range batch {
		go func() { defer wg.Done(); errs <- tx.PutMessage(ctx, s.room.code, req.msg) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// heartbeat keeps the member record fresh while the session lives.
func (s *Session) heartbeat() {
	defer s.wg.Done()
	t := time.NewTicker(s.hb)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.hb)
		err := s.beat(ctx)
		cancel()
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("heartbeat failed", "err", err)
		}
	}
}

func (s *Session) beat(ctx context.Context) error {
	nick := s.Nick()
	return s.inTxn(ctx, func(tx *webaas.Txn) error {
		m, err := webaas.TxnGetMessage[pb.Member](ctx, tx, s.room.code, nick)
		if err != nil {
			return err
		}
		if m.ClientId != s.owner {
			return fmt.Errorf("%w: %s was taken over while this session was silent", ErrNickTaken, nick)
		}
		wasOffline := !m.Online
		m.Online, m.LastSeenUnixMs = true, time.Now().UnixMilli()
		if err := tx.PutMessage(ctx, s.room.code, m); err != nil {
			return err
		}
		if wasOffline {
			return bumpRoster(ctx, tx, s.room.code)
		}
		return nil
	})
}

// Rename changes the session's nickname and posts the change.
func (s *Session) Rename(ctx context.Context, nick string) error {
	if err := CheckNick(nick); err != nil {
		return err
	}
	old := s.Nick()
	if nick == old {
		return nil
	}
	if err := s.claim(ctx, old, nick); err != nil {
		return err
	}
	// The line is posted under the old name, saying the new one.
	_, err := s.post(ctx, pb.Kind_KIND_NICK, nick)
	s.mu.Lock()
	s.nick = nick
	s.mu.Unlock()
	return err
}

// Leave posts "nick left", marks the member offline and ends the session.
func (s *Session) Leave(ctx context.Context) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	_, err := s.post(ctx, pb.Kind_KIND_LEAVE, "")
	s.cancel()
	s.wg.Wait()
	nick := s.Nick()
	oerr := s.inTxn(ctx, func(tx *webaas.Txn) error {
		if err := s.setOffline(ctx, tx, nick); err != nil {
			return err
		}
		return bumpRoster(ctx, tx, s.room.code)
	})
	return errors.Join(err, oerr)
}

// Close ends the session without posting anything (presence then times
// out). Leave is the polite way.
func (s *Session) Close() {
	s.cancel()
	s.wg.Wait()
}
