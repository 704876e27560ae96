package chat

// Direct rooms: a room of two, whose invite one member sends the other
// through a room they share, sealed to the other's key so that nobody
// else there can open it.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/identity"
)

// ErrNoKeyFor says a direct room was asked for with someone whose key this
// chat has not seen (they have not written a signed line here).
var ErrNoKeyFor = errors.New("no key known for that nickname: they have to have written here, signed, first")

// DirectOffer reads a Direct message: to whom, and the sealed invite.
func (m Message) DirectOffer() (to string, sealed []byte, ok bool) {
	if m.Kind != Direct {
		return "", nil, false
	}
	to, box, found := strings.Cut(m.Text, " ")
	if !found {
		return "", nil, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(box)
	return to, sealed, err == nil
}

// OfferDirect posts, in this room, inv sealed to the key this room binds
// to (so only its holder can open it).
func (s *Session) OfferDirect(ctx context.Context, to string, inv Invite) (Message, error) {
	if s.id == nil {
		return Message{}, ErrNoIdentity
	}
	key := s.room.KeyOf(to)
	if key == nil {
		return Message{}, fmt.Errorf("%w: %s", ErrNoKeyFor, to)
	}
	// The box is anonymous: the sender's key goes inside, so that an
	// offer reposted by someone else is not credited to them.
	sealed, err := identity.SealTo(key, []byte(identity.PublicString(s.id.Public())+"\n"+inv.String()))
	if err != nil {
		return Message{}, err
	}
	return s.post(ctx, chatpb.Kind_KIND_DIRECT, to+" "+base64.RawURLEncoding.EncodeToString(sealed))
}

// OpenDirect is the invite a Direct message offers this session: only
// for a verified offer to this session's nickname that its identity
// opens.
func (s *Session) OpenDirect(m Message) (Invite, error) {
	to, sealed, ok := m.DirectOffer()
	switch {
	case !ok || to != s.Nick():
		return Invite{}, errors.New("not a direct room offered to you")
	case m.Trust != Verified:
		return Invite{}, errors.New("a direct room offered by someone this chat cannot verify")
	case s.id == nil:
		return Invite{}, ErrNoIdentity
	}
	plain, err := s.id.Open(sealed)
	if err != nil {
		return Invite{}, err
	}
	from, inv, ok := strings.Cut(string(plain), "\n")
	key, err := identity.ParsePublic(from)
	if !ok || err != nil || string(key) != string(m.Key) {
		return Invite{}, errors.New("a direct room offer sealed by someone other than who posted it")
	}
	return ParseInvite(inv)
}
