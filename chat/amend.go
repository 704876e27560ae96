package chat

// Replies and amendments (edits, deletes, reactions): messages in the
// room's one order that name an earlier message. Nothing on the server
// enforces who may amend what (it is a generic store); every client
// applies an amendment only when its signature proves it is the target's
// author's (a reaction: anyone's verified key), so one made around the
// chat changes nothing anywhere (see Ledger).

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rivo/uniseg"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// MaxReaction is the longest reaction, in bytes: one emoji, with its
// modifiers and joiners.
const MaxReaction = 32

var (
	// ErrNoSuchMessage: the message named is not in the room (or is not
	// one that can be replied to, edited or reacted to: a join line, a
	// deleted message).
	ErrNoSuchMessage = errors.New("no such message")
	// ErrNotYours: only the author of a message, by its signature, may
	// edit or delete it.
	ErrNotYours = errors.New("only its author can change a message")
)

// CheckReaction says why emoji cannot be a reaction, or nil: it must be
// one character as the terminal draws it (one grapheme cluster) that
// the display filter shows as it is.
func CheckReaction(emoji string) error {
	switch {
	case emoji == "":
		return &TextError{Reason: "a reaction is one emoji; this is empty"}
	case len(emoji) > MaxReaction:
		return &TextError{Reason: fmt.Sprintf("a reaction is one emoji; this is %d bytes", len(emoji))}
	case uniseg.GraphemeClusterCount(emoji) != 1:
		return &TextError{Reason: fmt.Sprintf("a reaction is one emoji; %q is %d", emoji, uniseg.GraphemeClusterCount(emoji))}
	}
	// An emoji: a pictograph or a flag first, and nothing the display
	// filter would mark (presentation selectors, skin tones and joiners
	// inside the emoji are fine: the filter drops them for the terminal).
	first, _ := utf8.DecodeRuneInString(emoji)
	if !pictographic(first) && !isRegionalIndicator(first) || strings.Contains(DisplayLine(emoji), "<U+") {
		return &TextError{Reason: fmt.Sprintf("%q is not an emoji", emoji)}
	}
	return nil
}

// Reply posts text as an answer to message to.
func (s *Session) Reply(ctx context.Context, to int64, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	if _, err := s.target(ctx, to, false); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_TEXT, Text: text, ReplyTo: to}, false)
}

// Edit replaces the text of message target, one of this session's
// identity's, with text.
func (s *Session) Edit(ctx context.Context, target int64, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	if _, err := s.target(ctx, target, true); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_EDIT, Text: text, Target: target}, false)
}

// Delete deletes message target, one of this session's identity's: every
// client shows it as deleted, and its record is overwritten in the same
// write, so its text is gone from the server too.
func (s *Session) Delete(ctx context.Context, target int64) (Message, error) {
	if _, err := s.target(ctx, target, true); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_DELETE, Target: target}, true)
}

// React toggles this session's reaction emoji on message target: a
// second React with the same emoji takes it back.
func (s *Session) React(ctx context.Context, target int64, emoji string) (Message, error) {
	if err := CheckReaction(emoji); err != nil {
		return Message{}, err
	}
	if s.id == nil {
		return Message{}, ErrNoIdentity // an unsigned reaction counts nowhere
	}
	if _, err := s.target(ctx, target, false); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_REACT, Text: emoji, Target: target}, false)
}

// target reads message seq and checks that it can be answered or
// amended (and, with own, that this session's key wrote it), so that a
// mistyped number is an error here and not an amendment every client
// ignores.
func (s *Session) target(ctx context.Context, seq int64, own bool) (Message, error) {
	if seq <= 0 {
		return Message{}, fmt.Errorf("message %d: %w", seq, ErrNoSuchMessage)
	}
	m, err := s.room.Message(ctx, seq)
	if err != nil {
		return Message{}, err
	}
	if m.Kind != Text && m.Kind != Action {
		return Message{}, fmt.Errorf("message %d is a %s line: %w", seq, m.Kind, ErrNoSuchMessage)
	}
	if own && (s.id == nil || m.Trust != Verified || string(m.Key) != string(s.id.Public())) {
		return Message{}, fmt.Errorf("message %d: %w", seq, ErrNotYours)
	}
	return m, nil
}

// Message reads message seq.
func (r *Room) Message(ctx context.Context, seq int64) (Message, error) {
	if head, err := r.Head(ctx); err != nil {
		return Message{}, err
	} else if seq > head {
		return Message{}, fmt.Errorf("message %d: %w", seq, ErrNoSuchMessage)
	}
	m, err := webaas.GetMessage[chatpb.Message](ctx, r.c, r.code, strconv.FormatInt(seq, 10))
	if errors.Is(err, webaas.ErrNotFound) {
		return Message{}, fmt.Errorf("message %d: %w", seq, ErrNoSuchMessage)
	}
	if err != nil {
		return Message{}, err
	}
	return r.messageOf(m), nil
}

// removal is what a delete leaves at the target's place: signed by the
// same key as the delete (a different kind, so a different signature:
// neither is taken for a copy of the other), sealed likewise.
func (s *Session) removal(del *chatpb.Message) (*chatpb.Message, error) {
	m := &chatpb.Message{
		Seq: del.Target, Kind: chatpb.Kind_KIND_REMOVED, Target: del.Target,
		Nick: del.Nick, SentUnixMs: del.SentUnixMs, ClientId: del.ClientId, ClientSeq: del.ClientSeq,
	}
	if s.id != nil {
		sign(s.id, s.room.code, m)
	}
	if k := s.room.keys; k != nil {
		return k.seal(s.room.code, m)
	}
	return m, nil
}

// stamp fills in what every message of the session carries.
func (s *Session) stamp(m *chatpb.Message) {
	m.Nick, m.SentUnixMs = s.Nick(), time.Now().UnixMilli()
	m.ClientId, m.ClientSeq = s.clientID, s.clientSeq.Add(1)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }
