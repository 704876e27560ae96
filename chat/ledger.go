package chat

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
)

// A Ledger applies amendments (edits, deletes, reactions) to the messages
// they name, by the rules every client follows, so that all show the
// same thing whatever order they loaded history in:
//
//   - an edit or delete counts only if it is Verified and signed by the
//     key that signed its (Verified) target: anyone else's, made around
//     the chat, is ignored;
//   - a reaction counts if it is Verified; the same key and emoji again
//     takes it back;
//   - the target must be an earlier Text or Action line that is not
//     deleted; the later of two edits (by seq) wins;
//   - an amendment whose target is not loaded yet waits for it, and is
//     applied, in seq order, when it loads.
//
// A Ledger is not safe for concurrent use.
type Ledger struct {
	me      []byte // whose reactions are Mine
	lines   map[int64]*ledgerLine
	pending map[int64][]Message // by target
	applied map[int64]bool      // amendments taken (so a page read twice counts once)
	// sends are the amendments applied, by who sent them and which send
	// it was: a copy posted again later (a replay: same key, session and
	// number) counts nowhere, whichever of the two a client read first.
	sends map[string]bool
}

// State is what a message has become by its amendments.
type State struct {
	Text      string // the latest text
	Edited    bool
	Deleted   bool
	Reactions []Reaction // in the order each emoji was first given
}

// Reaction is one emoji on a message and how many gave it.
type Reaction struct {
	Emoji string
	Count int
	Mine  bool // the ledger's own key is among them
}

type ledgerLine struct {
	msg       Message
	state     State
	editSeq   int64
	reactions map[string]map[string]bool // emoji -> keys
}

// NewLedger is an empty ledger whose reactions by key me are Mine.
func NewLedger(me []byte) *Ledger {
	return &Ledger{me: bytes.Clone(me), lines: map[int64]*ledgerLine{}, pending: map[int64][]Message{}, applied: map[int64]bool{}, sends: map[string]bool{}}
}

// Add takes a message: a line is held as a possible target (and the
// amendments waiting for it applied), an amendment applied to its target
// or kept until the target loads. It reports the seq of the line whose
// State changed (0: none).
func (l *Ledger) Add(m Message) int64 {
	switch {
	case m.Kind.Amends():
		if m.Seq <= 0 || m.Target <= 0 || m.Target >= m.Seq || l.applied[m.Seq] {
			return 0
		}
		t, ok := l.lines[m.Target]
		if !ok {
			l.pending[m.Target] = append(l.pending[m.Target], m)
			return 0
		}
		l.applied[m.Seq] = true
		if l.take(t, m) {
			return m.Target
		}
		return 0
	case m.Kind == Text || m.Kind == Action || m.Kind == Removed:
		if _, ok := l.lines[m.Seq]; ok || m.Seq <= 0 {
			return 0
		}
		t := &ledgerLine{msg: m, state: State{Text: m.Text, Deleted: removed(m)}}
		l.lines[m.Seq] = t
		waiting := l.pending[m.Seq]
		delete(l.pending, m.Seq)
		slices.SortFunc(waiting, func(a, b Message) int { return cmp.Compare(a.Seq, b.Seq) })
		changed := false
		for _, a := range waiting {
			if !l.applied[a.Seq] {
				l.applied[a.Seq] = true
				changed = l.take(t, a) || changed
			}
		}
		if changed {
			return m.Seq
		}
	}
	return 0
}

// removed reports a record that stands for a deleted message: one that
// says so, at the place it names, signed by the key its nickname is
// bound to. Anything else (moved from another place, unsigned, another
// key's) is shown for what it is, and deletes nothing.
func removed(m Message) bool {
	return m.Kind == Removed && m.Target == m.Seq && m.Trust == Verified
}

// take applies amendment a to t unless a copy of it was applied before
// (an amendment's lowest seq is the original: when a target loads, the
// amendments waiting for it are taken in seq order, and any that come
// later are numbered higher than everything loaded).
func (l *Ledger) take(t *ledgerLine, a Message) bool {
	// The target is in it too: a replay names the same one (the
	// signature covers it), and two amendments that share the rest but
	// not the target (a client that numbers nothing) must not shadow each
	// other in one order and not in another.
	send := string(a.Key) + "\x00" + a.ClientID + "\x00" + strconv.FormatUint(a.ClientSeq, 10) + "\x00" + strconv.FormatInt(a.Target, 10)
	if a.Trust != Verified || l.sends[send] {
		return false
	}
	if !l.apply(t, a) {
		return false
	}
	l.sends[send] = true
	return true
}

// apply applies amendment a to t, reporting whether t changed.
func (l *Ledger) apply(t *ledgerLine, a Message) bool {
	if t.state.Deleted || t.msg.Kind == Removed {
		return false
	}
	byAuthor := t.msg.Trust == Verified && bytes.Equal(t.msg.Key, a.Key)
	switch a.Kind {
	case Edit:
		if !byAuthor || a.Seq < t.editSeq || CheckText(a.Text) != nil {
			return false
		}
		t.editSeq, t.state.Text, t.state.Edited = a.Seq, a.Text, true
	case Delete:
		if !byAuthor {
			return false
		}
		t.state = State{Deleted: true}
		t.reactions = nil
	case React:
		if CheckReaction(a.Text) != nil {
			return false
		}
		if t.reactions == nil {
			t.reactions = map[string]map[string]bool{}
		}
		keys := t.reactions[a.Text]
		if keys == nil {
			keys = map[string]bool{}
			t.reactions[a.Text] = keys
			t.state.Reactions = append(t.state.Reactions, Reaction{Emoji: a.Text})
		}
		k := string(a.Key)
		if keys[k] {
			delete(keys, k)
		} else {
			keys[k] = true
		}
		mine := keys[string(l.me)] && len(l.me) > 0
		kept := t.state.Reactions[:0]
		for _, r := range t.state.Reactions {
			if r.Emoji == a.Text {
				r.Count, r.Mine = len(keys), mine
			}
			if r.Count > 0 {
				kept = append(kept, r)
			}
		}
		t.state.Reactions = kept
		if len(keys) == 0 {
			delete(t.reactions, a.Text) // given again, it goes last
		}
	default:
		return false
	}
	return true
}

// State is what message seq has become; ok is false for a message the
// ledger does not hold as a line.
func (l *Ledger) State(seq int64) (s State, ok bool) {
	t, ok := l.lines[seq]
	if !ok {
		return State{}, false
	}
	s = t.state
	s.Reactions = slices.Clone(s.Reactions)
	return s, true
}

// Line is message seq as posted, if the ledger holds it.
func (l *Ledger) Line(seq int64) (Message, bool) {
	t, ok := l.lines[seq]
	if !ok {
		return Message{}, false
	}
	return t.msg, true
}

// Fold is msgs with the amendments among them applied: the lines only,
// each with its State (history, as a script reads it).
func Fold(me []byte, msgs []Message) []Folded {
	l := NewLedger(me)
	for _, m := range msgs {
		l.Add(m)
	}
	var out []Folded
	for _, m := range msgs {
		if m.Kind.Amends() {
			continue
		}
		f := Folded{Message: m}
		if st, ok := l.State(m.Seq); ok {
			f.State = st
		} else {
			f.State = State{Text: m.Text}
		}
		out = append(out, f)
	}
	return out
}

// Folded is a line with what its amendments made of it.
type Folded struct {
	Message
	State State
}
