package chat

// Read markers: how far each reader has read a room, kept in the room so
// that every device of one identity agrees on what is unread. A marker is
// a Counter (a number that only grows) keyed by the reader: a hash of the
// room and the identity's public key, or of the installation's owner
// token for a session without an identity, so the server cannot tell one
// reader's rooms apart from another's.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// readKey is the Counter a reader's marker is kept in.
func readKey(reader string) string { return "read:" + reader }

// seenPrefix starts the key of every nickname's "seen" marker: how far
// it says it has read, public (the reader's own marker is not: its
// name is made so that only the reader's identity can move it).
const seenPrefix = "seen:"

// MaxMarkers bounds how many "seen" markers a room's feed reads and
// tells: a room holds one per nickname that ever read it, and a raw
// writer can add any number.
const MaxMarkers = 1000

// markers reads every nickname's "seen" marker, up to MaxMarkers: one
// range read of a page or a few.
func (r *Room) markers(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	from := seenPrefix
	for len(out) < MaxMarkers {
		page, more, err := webaas.RangeMessages[chatpb.Counter](ctx, r.c, r.code, from, "seen;", 1)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if nick, ok := strings.CutPrefix(c.Name, seenPrefix); ok && len(out) < MaxMarkers {
				out[nick] = c.Value
			}
		}
		if !more || len(page) == 0 {
			break
		}
		from = page[len(page)-1].Name + "\x00"
	}
	return out, nil
}

// Reader names this session's reader: the same on every device with the
// same identity (exported and imported), and in no other room.
func (s *Session) Reader() string {
	who := "owner\x00" + s.holder
	if s.id != nil {
		// A secret of the identity's: from its public key anyone could
		// find the marker and move it.
		who = "identity\x00" + string(s.id.Secret("reader"))
	}
	sum := sha256.Sum256([]byte("webaas-chat reader v1\x00" + s.room.code + "\x00" + who))
	return hex.EncodeToString(sum[:16])
}

// ReadUpTo is how far reader has read the room (0: nothing marked).
func (r *Room) ReadUpTo(ctx context.Context, reader string) (int64, error) {
	return r.counter(ctx, readKey(reader))
}

// MarkRead moves this session's read marker up to seq, and its
// nickname's "seen" marker with it; never back (a device that read less
// does not undo what another read).
func (s *Session) MarkRead(ctx context.Context, seq int64) error {
	keys := []string{readKey(s.Reader()), seenPrefix + s.Nick()}
	err := s.inTxn(ctx, func(tx *webaas.Txn) error {
		wrote := false
		for _, key := range keys {
			c, err := webaas.TxnGetMessage[chatpb.Counter](ctx, tx, s.room.code, key)
			if errors.Is(err, webaas.ErrNotFound) {
				c, err = &chatpb.Counter{Name: key}, nil
			}
			if err != nil {
				return err
			}
			if c.Value >= seq {
				continue
			}
			c.Value, wrote = seq, true
			if err := tx.PutMessage(ctx, s.room.code, c); err != nil {
				return err
			}
		}
		if !wrote {
			return errNothingToDo
		}
		return nil
	})
	if errors.Is(err, errNothingToDo) {
		return nil
	}
	return err
}

// errNothingToDo ends a transaction that has nothing to write.
var errNothingToDo = errors.New("nothing to do")
