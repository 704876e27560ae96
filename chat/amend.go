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

// Reply posts text as an answer to message to (as this client holds
// it: Room.Message reads one).
func (s *Session) Reply(ctx context.Context, to Message, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	if err := s.check(to, false); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_TEXT, Text: text, ReplyTo: to.Seq}, nil)
}

// Edit replaces the text of target, a message of this session's
// identity's, with text.
func (s *Session) Edit(ctx context.Context, target Message, text string) (Message, error) {
	if err := CheckText(text); err != nil {
		return Message{}, err
	}
	if err := s.check(target, true); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_EDIT, Text: text, Target: target.Seq}, nil)
}

// Delete deletes target, a message of this session's identity's: every
// client shows it as deleted, and its record is overwritten in the same
// write, so its text is gone from the server too.
func (s *Session) Delete(ctx context.Context, target Message) (Message, error) {
	if err := s.check(target, true); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_DELETE, Target: target.Seq}, &target)
}

// React toggles this session's reaction emoji on target: a second React
// with the same emoji takes it back.
func (s *Session) React(ctx context.Context, target Message, emoji string) (Message, error) {
	if err := CheckReaction(emoji); err != nil {
		return Message{}, err
	}
	if s.id == nil {
		return Message{}, ErrNoIdentity // an unsigned reaction counts nowhere
	}
	if err := s.check(target, false); err != nil {
		return Message{}, err
	}
	return s.postMessage(ctx, &chatpb.Message{Kind: chatpb.Kind_KIND_REACT, Text: emoji, Target: target.Seq}, nil)
}

// check says why m cannot be answered or amended (with own: by this
// session's key), so that a wrong target is an error here and not an
// amendment every client ignores. It costs nothing: the caller holds m
// already (its view, or Room.Message), and others check for themselves.
func (s *Session) check(m Message, own bool) error {
	switch {
	case m.Seq <= 0:
		return fmt.Errorf("message %d: %w", m.Seq, ErrNoSuchMessage)
	case m.Kind != Text && m.Kind != Action:
		return fmt.Errorf("message %d is a %s line: %w", m.Seq, m.Kind, ErrNoSuchMessage)
	case own && (s.id == nil || m.Trust != Verified || string(m.Key) != string(s.id.Public())):
		return fmt.Errorf("message %d: %w", m.Seq, ErrNotYours)
	}
	return nil
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

// removal is what a delete leaves at the place of target: under its
// nickname and time (so it reads where it was, as a live client shows
// it), signed by the same key as the delete (a different kind, so a
// different signature: neither is taken for a copy of the other), sealed
// likewise.
func (s *Session) removal(del *chatpb.Message, target Message) (*chatpb.Message, error) {
	m := &chatpb.Message{
		Seq: del.Target, Kind: chatpb.Kind_KIND_REMOVED, Target: del.Target,
		Nick: target.Nick, SentUnixMs: target.Sent.UnixMilli(), ClientId: del.ClientId, ClientSeq: del.ClientSeq,
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
