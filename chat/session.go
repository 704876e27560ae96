package chat

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
)

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
	// Identity signs every message the session posts, so that others can
	// tell it is the nick's (nil: unsigned, shown to others as such).
	Identity *identity.Identity
}

// Session is one person in a room: their nickname, presence and sends.
type Session struct {
	room     *Room
	clientID string // names this session's sends
	holder   string // what the Member record holds for this session's owner (holderOf)
	id       *identity.Identity
	log      *slog.Logger
	hb       time.Duration
	giveUp   time.Duration

	mu   sync.Mutex
	nick string

	clientSeq atomic.Uint64
	// sentUpTo is a message number no later than any of this session's
	// (sequenced rooms): where a look for a batch whose answer was lost
	// starts.
	sentUpTo atomic.Int64
	sendq    chan *sendReq
	ctx      context.Context // the session's life; cancelled by Leave/Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
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
	already, err := s.claim(ctx, "", nick)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.wg.Add(1)
	go s.heartbeat()
	if !opts.NoJoinLine && !already { // another device of ours is in the room: one member, one line
		if _, err := s.post(ctx, chatpb.Kind_KIND_JOIN, ""); err != nil {
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
		room: r, clientID: newClientID(), id: opts.Identity, log: opts.Logger, hb: opts.Heartbeat, giveUp: opts.GiveUp,
		nick: nick, sendq: make(chan *sendReq, maxBatch), ctx: sctx, cancel: cancel,
	}
	owner := opts.Owner
	if owner == "" {
		owner = s.clientID
	}
	if opts.Identity != nil {
		// One identity holds its nickname on every device it is on; from
		// a secret of the identity's, not its public key, which anyone can
		// read off its signed lines.
		owner = "identity:" + string(opts.Identity.Secret("nickname holder"))
	}
	s.holder = holderOf(r.code, owner)
	if r.Sequenced() {
		// Best effort: without it a look starts at the first message.
		ctx, cancel := context.WithTimeout(sctx, 5*time.Second)
		if head, err := r.Head(ctx); err == nil {
			s.sentUpTo.Store(head)
		}
		cancel()
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

// Rename changes the session's nickname and posts the change.
func (s *Session) Rename(ctx context.Context, nick string) error {
	if err := CheckNick(nick); err != nil {
		return err
	}
	old := s.Nick()
	if nick == old {
		return nil
	}
	if _, err := s.claim(ctx, old, nick); err != nil {
		return err
	}
	// The line is posted under the old name, saying the new one.
	_, err := s.post(ctx, chatpb.Kind_KIND_NICK, nick)
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
	var err error
	if !s.othersStay(ctx) { // one member, one line: the last device to leave says it
		_, err = s.post(ctx, chatpb.Kind_KIND_LEAVE, "")
	}
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

// othersStay reports whether another session of this member is still in
// the room (as far as a read says: if it fails, the member is leaving).
func (s *Session) othersStay(ctx context.Context) bool {
	m, err := webaas.GetMessage[chatpb.Member](ctx, s.room.c, s.room.code, s.Nick())
	return err == nil && s.othersOnline(m, time.Now())
}

// Close ends the session without posting anything (presence then times
// out). Leave is the polite way.
func (s *Session) Close() {
	s.cancel()
	s.wg.Wait()
}
