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

// readPrefix starts the key of every read marker's Counter.
const readPrefix = "read:"

// readKey is the Counter a reader's marker is kept in.
func readKey(reader string) string { return readPrefix + reader }

// maxMarkers bounds how many read markers a room's "seen by" reads: a
// room holds one per reader who ever read it, and a raw writer can add
// any number.
const maxMarkers = 1000

// markers reads every reader's marker (up to maxMarkers): one range read.
func (r *Room) markers(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	from := readPrefix
	for len(out) < maxMarkers {
		page, more, err := webaas.RangeMessages[chatpb.Counter](ctx, r.c, r.code, from, readPrefix[:len(readPrefix)-1]+";", 1)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			if reader, ok := strings.CutPrefix(c.Name, readPrefix); ok {
				out[reader] = c.Value
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

// MarkRead moves this session's read marker up to seq; never back (a
// device that read less does not undo what another read).
func (s *Session) MarkRead(ctx context.Context, seq int64) error {
	key := readKey(s.Reader())
	err := s.inTxn(ctx, func(tx *webaas.Txn) error {
		c, err := webaas.TxnGetMessage[chatpb.Counter](ctx, tx, s.room.code, key)
		if errors.Is(err, webaas.ErrNotFound) {
			c, err = &chatpb.Counter{Name: key}, nil
		}
		if err != nil {
			return err
		}
		if c.Value >= seq {
			return errNothingToDo
		}
		c.Value = seq
		return tx.PutMessage(ctx, s.room.code, c)
	})
	if errors.Is(err, errNothingToDo) {
		return nil
	}
	return err
}

// errNothingToDo ends a transaction that has nothing to write.
var errNothingToDo = errors.New("nothing to do")
