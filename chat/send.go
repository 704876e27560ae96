package chat

// Sending: a session's messages queue, and one goroutine commits what is
// waiting, retrying on failures without ever posting a message twice: in
// a sequenced room as one POST /batch whose token makes a retry harmless,
// else as one transaction on the room's head counter, retried on
// conflicts too.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// maxBatch caps how many queued messages one transaction carries.
const maxBatch = 100

type sendReq struct {
	msg   *chatpb.Message // as written: sealed, in an encrypted room
	plain *chatpb.Message // as sent, before sealing
	// removal, for a delete, overwrites the deleted message's record in
	// the same write (its key is its own; it takes no sequence number).
	removal *chatpb.Message
	done    chan error
}

// Send posts a message and returns it, with its sequence number, once it
// is committed (durable). Concurrent sends are batched into one
// transaction. If ctx ends first the message may still be sent.
func (s *Session) Send(ctx context.Context, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	return s.post(ctx, chatpb.Kind_KIND_TEXT, text)
}

// Act posts an action line: "/me waves" is Act("waves").
func (s *Session) Act(ctx context.Context, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	return s.post(ctx, chatpb.Kind_KIND_ACTION, text)
}

func (s *Session) post(ctx context.Context, kind chatpb.Kind, text string) (Message, error) {
	return s.postMessage(ctx, &chatpb.Message{Kind: kind, Text: text}, nil)
}

// postMessage signs, seals and sends m (its kind, text and references
// set), with the record of removed, the message it deletes (nil: none),
// overwritten in the same write.
func (s *Session) postMessage(ctx context.Context, plain *chatpb.Message, removed *Message) (Message, error) {
	s.stamp(plain)
	if s.id != nil {
		sign(s.id, s.room.code, plain)
	}
	req := &sendReq{msg: plain, plain: plain, done: make(chan error, 1)}
	if k := s.room.keys; k != nil {
		sealed, err := k.seal(s.room.code, plain)
		if err != nil {
			return Message{}, err
		}
		req.msg = sealed
	}
	if removed != nil {
		rm, err := s.removal(plain, *removed)
		if err != nil {
			return Message{}, err
		}
		req.removal = rm
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
		req.plain.Seq = req.msg.Seq
		return s.room.shown(req.plain), nil
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
	try := func(lookOnly bool) (int64, error) { return s.tryCommit(ctx, batch, &ambiguousFrom, lookOnly) }
	if s.room.Sequenced() {
		ambiguous := false
		try = func(lookOnly bool) (int64, error) { return s.tryBatch(ctx, batch, &ambiguous, lookOnly) }
	}
	failing := backoff.Backoff{Min: 2 * time.Millisecond, Max: 2 * time.Second}
	var cannotStore time.Time // the first of an unbroken run of "cannot store now" answers
	var lastErr error
	for {
		// After GiveUp of such answers, one last attempt only looks for
		// the batch (an earlier commit may have landed) before failing.
		lookOnly := !cannotStore.IsZero() && time.Since(cannotStore) >= s.giveUp
		head, err := try(lookOnly)
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
			wait = failing.Next()
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
	cn, err := webaas.TxnGetMessage[chatpb.Counter](ctx, tx, s.room.code, headKey)
	if errors.Is(err, webaas.ErrNotFound) {
		cn, err = &chatpb.Counter{Name: headKey}, nil
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

// tryBatch sends the batch as one POST /batch, the server numbering the
// messages. Its token (the session and the first message's number in it)
// names the batch: a retry after a lost answer is told the numbers the
// first attempt got, and writes nothing. Only a look (lookOnly, once the
// server has said for GiveUp that it cannot store) reads: it searches the
// messages since the session's last known number for the batch.
func (s *Session) tryBatch(ctx context.Context, batch []*sendReq, ambiguous *bool, lookOnly bool) (int64, error) {
	if lookOnly {
		if !*ambiguous {
			return 0, errLookedOnly
		}
		head, err := s.room.Head(ctx)
		if err != nil {
			return 0, err
		}
		found, err := s.landed(ctx, batch, s.sentUpTo.Load(), head)
		if err != nil || found {
			return head, err
		}
		return head, errLookedOnly
	}
	writes := make([]webaas.BatchWrite, len(batch))
	for i, req := range batch {
		req.msg.Seq = 0 // the server sets it
		rec, err := proto.Marshal(req.msg)
		if err != nil {
			return 0, err
		}
		writes[i] = webaas.BatchWrite{SchemaName: messageType, Sequence: messageSequence, Record: rec}
	}
	for _, req := range batch {
		if req.removal != nil {
			rec, err := proto.Marshal(req.removal)
			if err != nil {
				return 0, err
			}
			writes = append(writes, webaas.BatchWrite{SchemaName: messageType, Record: rec})
		}
	}
	token := fmt.Sprintf("%s:%d", s.clientID, batch[0].msg.ClientSeq)
	res, err := s.room.c.Batch(ctx, s.room.code, token, writes)
	if err != nil {
		if !refused(err) {
			*ambiguous = true // it may have landed
		}
		return 0, err
	}
	if len(res.Keys) != len(writes) {
		return 0, fmt.Errorf("the server wrote %d of %d records", len(res.Keys), len(writes))
	}
	for i, k := range res.Keys[:len(batch)] {
		seq, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("the server numbered a message %q: %w", k, err)
		}
		batch[i].msg.Seq = seq
	}
	s.noteSent(batch[len(batch)-1].msg.Seq)
	return 0, nil
}

// noteSent raises the session's last known message number.
func (s *Session) noteSent(seq int64) {
	for {
		cur := s.sentUpTo.Load()
		if seq <= cur || s.sentUpTo.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// sameSend reports whether m, read back, is the send want: its session
// pair, and its content, since anyone with the room code can write a
// record with the next (predictable) pair first to make a real message
// look sent; a signature or a ciphertext cannot be guessed.
func sameSend(m, want *chatpb.Message) bool {
	return m.ClientId == want.ClientId && m.ClientSeq == want.ClientSeq &&
		m.Nick == want.Nick && m.Text == want.Text && m.Kind == want.Kind && m.SentUnixMs == want.SentUnixMs &&
		bytes.Equal(m.Signature, want.Signature) && bytes.Equal(m.Sealed, want.Sealed)
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
		if sameSend(m, first) {
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
func (s *Session) putAll(ctx context.Context, tx *webaas.Txn, batch []*sendReq, head *chatpb.Counter) error {
	errs := make(chan error, 2*len(batch)+1)
	var wg sync.WaitGroup
	wg.Add(len(batch) + 1)
	go func() { defer wg.Done(); errs <- tx.PutMessage(ctx, s.room.code, head) }()
	for _, req := range batch {
		go func() { defer wg.Done(); errs <- tx.PutMessage(ctx, s.room.code, req.msg) }()
		if req.removal != nil {
			wg.Add(1)
			go func() { defer wg.Done(); errs <- tx.PutMessage(ctx, s.room.code, req.removal) }()
		}
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
