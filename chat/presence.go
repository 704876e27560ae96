package chat

// Presence: who holds which nickname, who is online (a heartbeat keeps a
// member's record fresh), and the transactions that change them.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// DefaultPresenceTimeout is how long after its last heartbeat a member
// whose client stopped (crashed, lost its network) still counts as online.
const DefaultPresenceTimeout = 30 * time.Second

// retry runs fn until it returns nil or an error other than a transaction
// conflict, waiting a short jittered, growing time between attempts.
func retry(ctx context.Context, fn func() error) error {
	b := backoff.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}
	return backoff.Retry(ctx, &b, fn, func(err error) bool { return errors.Is(err, webaas.ErrConflict) }, nil)
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

// holderOf is what a Member record says of who holds the nickname: a
// hash of the installation's owner token and the room, not the token,
// which every member can read; knowing the hash does not let another
// installation pass as the holder (its own token hashes otherwise), and
// the same installation looks unrelated in two rooms.
func holderOf(room, owner string) string {
	sum := sha256.Sum256([]byte("webaas-chat nickname holder v1\x00" + room + "\x00" + owner))
	return hex.EncodeToString(sum[:16])
}

// othersOnline reports whether m's holder has sessions other than s's
// that are still fresh: the same identity on another device.
func (s *Session) othersOnline(m *chatpb.Member, now time.Time) bool {
	if m.ClientId != s.holder || !m.Online {
		return false
	}
	for _, x := range m.Sessions {
		if x.Id != s.clientID && now.Sub(time.UnixMilli(x.LastSeenUnixMs)) < s.room.presence {
			return true
		}
	}
	return false
}

// touch records s's session in m as seen now, and drops the holder's
// sessions whose heartbeat stopped (or all of them, for a new holder).
func (s *Session) touch(m *chatpb.Member, now time.Time) {
	var kept []*chatpb.MemberSession
	if m.ClientId == s.holder {
		for _, x := range m.Sessions {
			if x.Id != s.clientID && now.Sub(time.UnixMilli(x.LastSeenUnixMs)) < s.room.presence {
				kept = append(kept, x)
			}
		}
	}
	m.Sessions = append(kept, &chatpb.MemberSession{Id: s.clientID, LastSeenUnixMs: now.UnixMilli()})
}

// claim takes nickname to (releasing from, if not empty) in one
// transaction that also bumps the roster. It reports whether the
// holder was online already on another session (then this session is
// another device of the same member: no new "joined" line).
func (s *Session) claim(ctx context.Context, from, to string) (already bool, err error) {
	err = s.inTxn(ctx, func(tx *webaas.Txn) error {
		now := time.Now()
		m, err := webaas.TxnGetMessage[chatpb.Member](ctx, tx, s.room.code, to)
		switch {
		case errors.Is(err, webaas.ErrNotFound):
			m = &chatpb.Member{Nick: to}
		case err != nil:
			return err
		case m.ClientId != s.holder && s.room.online(m, now):
			return fmt.Errorf("%w: %s", ErrNickTaken, to)
		}
		already = s.othersOnline(m, now)
		if !s.room.online(m, now) {
			m.JoinedUnixMs = now.UnixMilli() // a new stay in the room starts now
		}
		s.touch(m, now)
		m.ClientId, m.Online, m.LastSeenUnixMs = s.holder, true, now.UnixMilli()
		signMember(s.id, s.room.code, m)
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
	return already, err
}

// setOffline takes this session out of nick's record inside tx, if this
// session's holder still holds it: offline unless another session of
// the holder is still fresh.
func (s *Session) setOffline(ctx context.Context, tx *webaas.Txn, nick string) error {
	m, err := webaas.TxnGetMessage[chatpb.Member](ctx, tx, s.room.code, nick)
	if errors.Is(err, webaas.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.ClientId != s.holder {
		return nil // someone else has it now; leave them be
	}
	now := time.Now()
	others := s.othersOnline(m, now)
	kept := m.Sessions[:0]
	for _, x := range m.Sessions {
		if x.Id != s.clientID {
			kept = append(kept, x)
		}
	}
	m.Sessions = kept
	m.Online = others
	if !others {
		m.LastSeenUnixMs = now.UnixMilli()
	}
	signMember(s.id, s.room.code, m)
	return tx.PutMessage(ctx, s.room.code, m)
}

func bumpRoster(ctx context.Context, tx *webaas.Txn, code string) error {
	c, err := webaas.TxnGetMessage[chatpb.Counter](ctx, tx, code, rosterKey)
	if errors.Is(err, webaas.ErrNotFound) {
		c, err = &chatpb.Counter{Name: rosterKey}, nil
	}
	if err != nil {
		return err
	}
	c.Value++
	return tx.PutMessage(ctx, code, c)
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
		m, err := webaas.TxnGetMessage[chatpb.Member](ctx, tx, s.room.code, nick)
		if err != nil {
			return err
		}
		if m.ClientId != s.holder {
			return fmt.Errorf("%w: %s was taken over while this session was silent", ErrNickTaken, nick)
		}
		wasOffline := !m.Online
		now := time.Now()
		s.touch(m, now)
		m.Online, m.LastSeenUnixMs = true, now.UnixMilli()
		signMember(s.id, s.room.code, m)
		if err := tx.PutMessage(ctx, s.room.code, m); err != nil {
			return err
		}
		if wasOffline {
			return bumpRoster(ctx, tx, s.room.code)
		}
		return nil
	})
}
