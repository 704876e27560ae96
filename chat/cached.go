package chat

// Records kept outside the server (a client's cache of what it read):
// a Message read with KeepRecords carries its record as the server sent
// it, and Decode turns such a record back into a Message the way a read
// from the server does, signature checked and sealed message opened
// again. A cache is then never believed: a record changed on disk is
// Forged or Undecryptable, never a verified line.

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
)

// ErrBadRecord says bytes given to Decode or RoomFromRecord are not a
// record of that kind.
var ErrBadRecord = errors.New("not a record of this kind")

// KeepRecords makes every Message the room reads keep its record (see
// Message.Record): for a client that caches what it read. It costs an
// encoding and the bytes per message, so only a cache asks for it.
func KeepRecords() RoomOption { return func(o *roomOptions) { o.records = true } }

// Record is the message's record as the server sent it (sealed, in an
// encrypted room), for Room.Decode to read again; nil for a message not
// read from the server, or read without KeepRecords.
func (m Message) Record() []byte { return m.rec }

// record is the wire form of m, as Decode reads it.
func record(m *chatpb.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil // cannot happen for a message that was just decoded; then nothing is kept
	}
	return b
}

// Decode is the message a record of this room reads as, checked as a
// read from the server is (signature, seal, what this Room has seen of
// the nickname's key). It keeps rec as its Record with KeepRecords.
func (r *Room) Decode(rec []byte) (Message, error) {
	m := &chatpb.Message{}
	if err := proto.Unmarshal(rec, m); err != nil {
		return Message{}, fmt.Errorf("message record: %w: %w", ErrBadRecord, err)
	}
	if m.Seq <= 0 {
		return Message{}, fmt.Errorf("message record: %w: sequence number %d", ErrBadRecord, m.Seq)
	}
	msg := r.open(m)
	if r.records {
		msg.rec = rec
	}
	return msg, nil
}

// InfoRecord is the room's own record (its name, whether it is
// encrypted and how to check its secret): what a cache keeps to open the
// room before the server answers (RoomFromRecord).
func (r *Room) InfoRecord() []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r.info)
	if err != nil {
		return nil
	}
	return b
}

// RoomFromRecord opens room code from its InfoRecord without asking the
// server: to read a cache at once, while the server may be slow or
// down. The secret is checked against the record's key check as
// OpenRoom checks it; the room's reads and writes go to the server like
// any Room's. A record that changed since it was kept shows as a wrong
// key, or as a room in the clear whose sealed messages do not open.
func (cl *Client) RoomFromRecord(code string, info []byte, opts ...RoomOption) (*Room, error) {
	var o roomOptions
	for _, f := range opts {
		f(&o)
	}
	if !codeRE.MatchString(code) {
		return nil, ErrBadRoomCode
	}
	ri := &chatpb.Room{}
	if err := proto.Unmarshal(info, ri); err != nil {
		return nil, fmt.Errorf("room record: %w: %w", ErrBadRecord, err)
	}
	if ri.Id != roomKey {
		return nil, fmt.Errorf("room record: %w: id %q", ErrBadRecord, ri.Id)
	}
	r, err := openWith(cl.c, code, ri, o)
	if err != nil {
		return nil, fmt.Errorf("room record: %w", err)
	}
	return r, nil
}
