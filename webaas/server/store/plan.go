package store

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
)

// GroupPlan is the net effect of a group of commits validated in order.
type GroupPlan struct {
	Start, End uint64       // the commit sequence number before and after the group
	Final      []FinalWrite // each written key's last write, in first-write order
	Changes    []Change     // what subscribers hear, in commit order
	Sequences  []SeqValue   // each sequence the group advanced, and its last value
}

// FinalWrite is the last write of one key in a group, with the version
// (the sequence number of the commit that made it) it leaves.
type FinalWrite struct {
	Write   Write
	Version uint64
}

// SeqValue is a named sequence of an app and its last value.
type SeqValue struct {
	App, Name string
	Value     uint64
}

// GroupState is what the planner asks of the store, about its state
// before the group; each question is asked at most once per key, app,
// sequence or token.
type GroupState interface {
	Version(RecordKey) uint64 // 0: absent
	AppExists(app string) bool
	Sequence(app, name string) uint64 // the last value given, 0 for none
	// Token returns the value of a token record (see TokenSchema), if
	// it exists.
	Token(RecordKey) (value []byte, ok bool)
}

// keyID identifies a record inside a group.
type keyID struct{ app, schema, key string }

func idOf(k RecordKey) keyID { return keyID{k.App, k.Schema, string(k.Key)} }

type seqID struct{ app, name string }

// planner is one group being planned: the state before it, and what the
// commits planned so far changed.
type planner struct {
	st     GroupState
	p      GroupPlan
	final  map[keyID]int // index into p.Final
	before map[keyID]uint64
	apps   map[string]bool
	seqs   map[seqID]uint64 // current values, the group's included
	order  []seqID          // sequences in first-use order
	tokens map[keyID][]byte // token records as the group leaves them
}

// PlanGroup validates the commits of a group in order, each against the
// state the commits before it left, exactly as if they had been applied
// one by one: every read must still hold, every written app exist, and a
// token must not have been used. It gives sequenced writes their values,
// sets each request's Seq (head+1, head+2, ... for those that pass) or
// Err, and returns the group's net effect for the store to write.
func PlanGroup(group []*CommitReq, head uint64, st GroupState) GroupPlan {
	pl := &planner{
		st: st, p: GroupPlan{Start: head, End: head},
		final: map[keyID]int{}, before: map[keyID]uint64{}, apps: map[string]bool{},
		seqs: map[seqID]uint64{}, tokens: map[keyID][]byte{},
	}
	now := time.Now()
	for _, r := range group {
		r.Seq, r.Err, r.assigned = 0, nil, nil
		writes, assigned, advanced, err := pl.check(r.Batch)
		if err != nil {
			r.Err = err
			continue
		}
		pl.p.End++
		r.Seq, r.assigned = pl.p.End, assigned
		if t := r.Batch.Token; t != nil {
			key := RecordKey{App: t.App, Schema: TokenSchema, Key: t.Key}
			value := tokenValue(now, assigned)
			pl.tokens[idOf(key)] = value
			writes = append(writes, Write{Key: key, Value: value})
		}
		for _, w := range writes {
			pl.write(w)
		}
		changes := ChangesOf(Batch{Writes: writes}, pl.p.End)
		for i := range changes {
			for _, sv := range advanced {
				if sv.App == changes[i].App {
					changes[i].Sequences = append(changes[i].Sequences, sv)
				}
			}
		}
		pl.p.Changes = append(pl.p.Changes, changes...)
	}
	for _, id := range pl.order {
		pl.p.Sequences = append(pl.p.Sequences, SeqValue{App: id.app, Name: id.name, Value: pl.seqs[id]})
	}
	return pl.p
}

// check says why a commit cannot apply, or gives its writes, sequenced
// ones made, the values they were given, and the sequences it advanced
// with their values after it; a refused commit leaves the sequences as
// they were.
func (pl *planner) check(b Batch) ([]Write, []uint64, []SeqValue, error) {
	if t := b.Token; t != nil {
		if v, used := pl.token(RecordKey{App: t.App, Schema: TokenSchema, Key: t.Key}); used {
			assigned, err := tokenAssigned(v)
			if err != nil {
				return nil, nil, nil, err
			}
			return nil, nil, nil, &DuplicateError{Assigned: assigned}
		}
	}
	for _, rd := range b.Reads {
		if pl.current(rd.Key) != rd.Version {
			return nil, nil, nil, ErrConflict
		}
	}
	for _, w := range b.Writes {
		if !pl.exists(w.Key.App) {
			return nil, nil, nil, fmt.Errorf("%w %s", ErrUnknownApp, w.Key.App)
		}
	}
	writes := b.Writes
	var assigned []uint64
	next := map[seqID]uint64{}
	for i, w := range b.Writes {
		if w.Sequence == "" {
			continue
		}
		if assigned == nil {
			writes = append([]Write(nil), b.Writes...) // the caller's batch is not changed
		}
		id := seqID{w.Key.App, w.Sequence}
		n, ok := next[id]
		if !ok {
			n = pl.sequence(id)
		}
		n++
		key, text, value, err := w.Assign(n)
		if err != nil {
			return nil, nil, nil, err
		}
		writes[i].Key.Key, writes[i].TextKey, writes[i].Value = key, text, value
		next[id] = n
		assigned = append(assigned, n)
	}
	var advanced []SeqValue
	for id, n := range next {
		if _, seen := pl.seqs[id]; !seen {
			pl.order = append(pl.order, id)
		}
		pl.seqs[id] = n
		advanced = append(advanced, SeqValue{App: id.app, Name: id.name, Value: n})
	}
	slices.SortFunc(advanced, func(a, b SeqValue) int { return strings.Compare(a.App+"\x00"+a.Name, b.App+"\x00"+b.Name) })
	return writes, assigned, advanced, nil
}

func (pl *planner) write(w Write) {
	id := idOf(w.Key)
	if i, ok := pl.final[id]; ok {
		pl.p.Final[i] = FinalWrite{Write: w, Version: pl.p.End}
		return
	}
	pl.final[id] = len(pl.p.Final)
	pl.p.Final = append(pl.p.Final, FinalWrite{Write: w, Version: pl.p.End})
}

// current is k's version as the commits planned so far leave it.
func (pl *planner) current(k RecordKey) uint64 {
	id := idOf(k)
	if i, ok := pl.final[id]; ok {
		if pl.p.Final[i].Write.Delete {
			return 0
		}
		return pl.p.Final[i].Version
	}
	v, ok := pl.before[id]
	if !ok {
		v = pl.st.Version(k)
		pl.before[id] = v
	}
	return v
}

func (pl *planner) exists(app string) bool {
	ok, seen := pl.apps[app]
	if !seen {
		ok = pl.st.AppExists(app)
		pl.apps[app] = ok
	}
	return ok
}

func (pl *planner) sequence(id seqID) uint64 {
	v, ok := pl.seqs[id]
	if !ok {
		v = pl.st.Sequence(id.app, id.name)
		pl.seqs[id] = v
		pl.order = append(pl.order, id)
	}
	return v
}

func (pl *planner) token(k RecordKey) ([]byte, bool) {
	if v, ok := pl.tokens[idOf(k)]; ok {
		return v, true
	}
	return pl.st.Token(k)
}

// A token record's value: when it was made (Unix milliseconds, 8 bytes
// big-endian, so stores can compare it as bytes), then the values the
// commit's sequenced writes were given, as uvarints.
func tokenValue(at time.Time, assigned []uint64) []byte {
	v := binary.BigEndian.AppendUint64(nil, uint64(at.UnixMilli()))
	for _, n := range assigned {
		v = binary.AppendUvarint(v, n)
	}
	return v
}

func tokenAssigned(v []byte) ([]uint64, error) {
	if len(v) < 8 {
		return nil, fmt.Errorf("token record of %d bytes: corrupt", len(v))
	}
	var out []uint64
	for rest := v[8:]; len(rest) > 0; {
		n, size := binary.Uvarint(rest)
		if size <= 0 {
			return nil, fmt.Errorf("token record: corrupt value list")
		}
		out = append(out, n)
		rest = rest[size:]
	}
	return out, nil
}

// TokenTime is when the token record with value v was made.
func TokenTime(v []byte) time.Time {
	if len(v) < 8 {
		return time.Time{}
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(v)))
}

// TokenExpiry is the first bytes of the value of a token record made at
// t: a store finds the records made before t by comparing values' first
// 8 bytes with it.
func TokenExpiry(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixMilli()))
}
