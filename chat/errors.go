package chat

import (
	"context"
	"errors"

	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// Sentinels for errors.Is.
var (
	// ErrBadNick matches every *NickError.
	ErrBadNick = errors.New("bad nickname")
	// ErrBadText matches every *TextError.
	ErrBadText = errors.New("bad message")
	// ErrUnknownRoom matches every *UnknownRoomError: no room has that code.
	ErrUnknownRoom = errors.New("unknown room code")
	// ErrBadRoomCode: the text cannot be a room code.
	ErrBadRoomCode = errors.New("a room code looks like 1b4e28ba-2fa1-41d2-883f-0016d3cca427")
	// ErrNickTaken: someone online holds that nickname.
	ErrNickTaken = errors.New("nickname is in use by someone online")
	// ErrClosed: the session has left the room.
	ErrClosed = errors.New("session closed")
	// ErrNeedsExtensions: the room was made on a server with the
	// data-path extensions, and this server has not got them.
	ErrNeedsExtensions = errors.New("this room numbers its messages on the server (POST /batch), and this server does not offer that: connect to a webaas-chat server")
)

// NickError says why a nickname is refused.
type NickError struct {
	Nick   string
	Reason string // "it is empty", "30 characters, the limit is 24", ...
}

func (e *NickError) Error() string        { return "bad nickname: " + e.Reason }
func (e *NickError) Is(target error) bool { return target == ErrBadNick }

// TextError says why a message text is refused.
type TextError struct {
	Reason string
}

func (e *TextError) Error() string        { return "bad message: " + e.Reason }
func (e *TextError) Is(target error) bool { return target == ErrBadText }

// UnknownRoomError: no room on the server has Code.
type UnknownRoomError struct {
	Code string
}

func (e *UnknownRoomError) Error() string        { return "unknown room code " + e.Code }
func (e *UnknownRoomError) Is(target error) bool { return target == ErrUnknownRoom }

// Unreachable reports an error that got no answer from the server at all
// (refused, cut, timed out), as opposed to the server saying no.
func Unreachable(err error) bool {
	return err != nil && !webaas.IsAnswer(err) && !errors.Is(err, context.Canceled) &&
		!errors.As(err, new(*NickError)) && !errors.As(err, new(*TextError)) &&
		!errors.Is(err, ErrUnknownRoom) && !errors.Is(err, ErrBadRoomCode) && !errors.Is(err, ErrNickTaken) && !errors.Is(err, ErrClosed) &&
		!errors.Is(err, ErrBadInvite) && !errors.Is(err, ErrNeedsKey) && !errors.Is(err, ErrWrongKey) && !errors.Is(err, identity.ErrBadIdentity) && !errors.Is(err, ErrNoIdentity) && !errors.Is(err, ErrNoKeyFor) && !errors.Is(err, identity.ErrNotForYou) && !errors.Is(err, ErrNotEncrypted)
}

// Explain says what went wrong in words for the person at the keyboard:
// the chat's own reasons, the server's words for what it refused, and
// whether the server could be reached at all; not Go's chain of
// wrappings. The TUI and the scriptable commands both use it.
func Explain(err error) string {
	var nick *NickError
	var text *TextError
	var answer *webaas.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &nick):
		return "Nickname: " + nick.Reason
	case errors.As(err, &text):
		return text.Reason
	case errors.Is(err, ErrNickTaken):
		return "That nickname is in use by someone online; pick another."
	case errors.Is(err, ErrUnknownRoom):
		return "No room with that code on this server."
	case errors.Is(err, ErrNeedsKey):
		return "This room is end-to-end encrypted: join it with its invite (webaas-chat+http://…#…), not its code."
	case errors.Is(err, identity.ErrBadIdentity):
		return "Not a key: want the line webaas-chat identity public prints (webaas-chat-key-v1:…)."
	case errors.Is(err, ErrNoKeyFor):
		return "No key known for that nickname here: they have to have written in this room, signed, first."
	case errors.Is(err, ErrNoIdentity):
		return ErrNoIdentity.Error() + "."
	case errors.Is(err, ErrNotEncrypted):
		return "This invite is for an encrypted room, but the room says it is in the clear (tampered with?): not joined."
	case errors.Is(err, ErrWrongKey):
		return "The invite's key is not this room's: ask for the invite again."
	case errors.Is(err, ErrBadInvite):
		return "Room: not a room code or an invite (" + err.Error() + ")."
	case errors.Is(err, ErrBadRoomCode):
		return "Room code: " + ErrBadRoomCode.Error() + "."
	case errors.Is(err, ErrClosed):
		return "You have left the room."
	case errors.As(err, &answer) && answer.Message != "":
		return answer.Message
	case errors.Is(err, context.DeadlineExceeded):
		return "The server did not answer in time."
	case Unreachable(err):
		return "Cannot reach the server."
	}
	return err.Error()
}
