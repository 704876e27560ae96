package chat

import (
	"fmt"
	"strings"
	"time"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/identity"
)

// Kind says what a message is.
type Kind int

// The kinds of message. Their numbers are the wire's (chatpb.Kind).
const (
	Text    Kind = iota // what someone said
	Action              // "/me waves": * alice waves
	Join                // alice joined
	Leave               // alice left
	Rename              // alice is now known as Text
	Rekey               // alice hands her nickname over to a new key (Text)
	Direct              // alice opens a direct room with someone (DirectOffer)
	Edit                // alice changes her message Target to Text
	Delete              // alice deletes her message Target
	React               // someone toggles their reaction Text on message Target
	Removed             // what is left of a deleted message, at its place
)

// String is the kind's name in text and JSON output.
func (k Kind) String() string {
	switch k {
	case Text:
		return "text"
	case Action:
		return "action"
	case Join:
		return "join"
	case Leave:
		return "leave"
	case Rename:
		return "nick"
	case Rekey:
		return "rekey"
	case Direct:
		return "direct"
	case Edit:
		return "edit"
	case Delete:
		return "delete"
	case React:
		return "react"
	case Removed:
		return "removed"
	}
	return "unknown"
}

// Amends reports an event that changes an earlier message (its Target)
// and is no line of its own: an edit, a delete, a reaction.
func (k Kind) Amends() bool { return k == Edit || k == Delete || k == React }

// System reports a line the chat writes (joins, leaves, renames), as
// opposed to what someone said.
func (k Kind) System() bool {
	return k == Join || k == Leave || k == Rename || k == Rekey || k == Direct
}

// Message is one line of a room, as the chat shows it.
type Message struct {
	Seq  int64 // its place in the room's one order, from 1; 0 while sending
	Kind Kind
	Nick string // who sent it, as the wire says (see DisplayNick)
	Text string // for Rename, the new nickname
	Sent time.Time
	// ClientID and ClientSeq name the send: a session's own lines are
	// its own under any nickname, and a send is one message however many
	// times it was tried.
	ClientID  string
	ClientSeq uint64
	// Trust says what its signature proves; Key is the key that signed
	// it (nil: unsigned). Only a Verified message is the nick's.
	Trust Trust
	Key   []byte
	// ReplyTo is the seq of the message this one answers (0: none).
	ReplyTo int64
	// Target is the seq of the message an amendment (Kind.Amends) or a
	// Removed is about.
	Target int64

	rec []byte // its record as read, with KeepRecords (see Record)
}

// messageOf is a wire message as the chat shows it, checked against what
// this room has seen of signatures.
func (r *Room) messageOf(m *chatpb.Message) Message {
	msg := r.open(m)
	if r.records {
		msg.rec = record(m)
	}
	return msg
}

// open is messageOf without the record.
func (r *Room) open(m *chatpb.Message) Message {
	if r.Encrypted() || len(m.Sealed) > 0 {
		// In an encrypted room every message is sealed: one that is not,
		// or does not open, is shown as what it is and nothing more (a
		// message in the clear there was written around the chat).
		inner, err := r.openMessage(m)
		if err != nil {
			return Message{Seq: m.Seq, ClientID: m.ClientId, ClientSeq: m.ClientSeq, Trust: Undecryptable}
		}
		m = inner
	}
	return r.shown(m)
}

// shown is a message in the clear as the chat shows it, its signature
// checked.
func (r *Room) shown(m *chatpb.Message) Message {
	trust := r.pins.check(r.code, m)
	if m.Kind == chatpb.Kind_KIND_REMOVED && m.Target != m.Seq && trust == Verified {
		// What a delete left at one place, copied to another: the
		// signature covers the place it names, not the place it is in.
		trust = Replayed
	}
	return Message{
		Seq: m.Seq, Kind: Kind(m.Kind), Nick: m.Nick, Text: m.Text,
		Sent: time.UnixMilli(m.SentUnixMs), ClientID: m.ClientId, ClientSeq: m.ClientSeq,
		Trust: trust, Key: m.AuthorKey,
		ReplyTo: m.ReplyTo, Target: m.Target,
	}
}

// openMessage opens a sealed message (a plain one in an encrypted room,
// or a sealed one in a room whose secret this client lacks, does not).
func (r *Room) openMessage(m *chatpb.Message) (*chatpb.Message, error) {
	if r.keys == nil || len(m.Sealed) == 0 {
		return nil, errUndecryptable
	}
	return r.keys.open(r.code, m)
}

func (r *Room) messagesOf(ms []*chatpb.Message) []Message {
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = r.messageOf(m)
	}
	return out
}

// Parts is how a message reads, through the display filter: a lead (who,
// marked by kind) and the rest, to be shown with a space between. With
// oneLine, newlines in the text show as ↵, so the whole is one line.
func (m Message) Parts(oneLine bool) (lead, text string) {
	nick := DisplayNick(m.Nick)
	if m.Trust == Undecryptable {
		return "⚠", "(could not decrypt this message)"
	}
	if m.Suspect() {
		// Never shown as that person: whoever wrote it is not the key
		// the nickname is bound to.
		nick = "⚠ " + nick + " (unverified)"
	}
	show := DisplayText
	if oneLine {
		show = DisplayLine
	}
	switch m.Kind {
	case Action:
		return "* " + nick, show(m.Text)
	case Join:
		return "→", nick + " joined"
	case Leave:
		return "←", nick + " left"
	case Rename:
		return "~", nick + " is now known as " + DisplayNick(m.Text)
	case Rekey:
		fp := "a key the chat cannot read"
		if pub, err := identity.ParsePublic(m.Text); err == nil {
			fp = identity.Fingerprint(pub)
		}
		return "~", nick + " now signs with a new key, " + fp
	case Direct:
		to, _, _ := m.DirectOffer()
		return "~", nick + " opened a direct room with " + DisplayNick(to)
	case Edit:
		return "~", fmt.Sprintf("%s edited message %d: %s", nick, m.Target, show(m.Text))
	case Delete:
		return "~", fmt.Sprintf("%s deleted message %d", nick, m.Target)
	case React:
		return "~", fmt.Sprintf("%s reacted %s to message %d", nick, DisplayLine(m.Text), m.Target)
	case Removed:
		return nick + ":", "(message deleted)"
	}
	return nick + ":", show(m.Text)
}

// Suspect reports a message that claims a nickname its signature does
// not prove: forged, signed by another key, replayed, or unsigned under a
// nickname that signs. An unsigned message under a nickname nobody
// signed for (an old client's) is not suspect: there is no one it could
// be taken for.
func (m Message) Suspect() bool {
	return m.Trust == Forged || m.Trust == OtherKey || m.Trust == Replayed || m.Trust == Undecryptable
}

// Mentions reports whether someone else's line names nick as a word,
// whatever the case ("@" optional): what rings the bell.
func (m Message) Mentions(nick string) bool {
	if nick == "" || m.Nick == nick || m.Kind != Text && m.Kind != Action {
		return false
	}
	text := strings.ToLower(m.Text)
	nick = strings.ToLower(nick)
	for i := strings.Index(text, nick); i >= 0; {
		end := i + len(nick)
		before := i == 0 || !isWordByte(text[i-1])
		after := end == len(text) || !isWordByte(text[end])
		if before && after {
			return true
		}
		j := strings.Index(text[i+1:], nick)
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return false
}

// isWordByte tells what may not touch a mention: letters (bytes of UTF-8
// letters included), digits and '_'. Punctuation may ("alice, look").
func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
}
