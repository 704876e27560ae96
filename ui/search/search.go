// Package search finds text in what a room's messages show: the lines
// people wrote (text and /me actions) with their latest text, edits
// applied and deleted lines left out, by the same rules every client
// applies amendments by (chat.Ledger). It runs in the client, over
// decrypted messages, so it works in end-to-end encrypted rooms too.
//
// Matching is case-insensitive substring matching on the text as the
// message pane shows it (through the display filter); nicknames are not
// searched.
package search

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/webaas-chat/webaas-chat/chat"
)

// Fold is a query or a text as it is matched: lower case.
func Fold(s string) string { return strings.ToLower(s) }

// Plain is what a reader sees of a text once its formatting is drawn
// (Markdown markers gone): what is searched. Nil: the text as written.
type Plain func(text string) string

// Shown is the text a line shows, as it is matched (folded), and
// whether it can match at all: a text or action line that is not
// deleted and did open.
func Shown(msg chat.Message, st chat.State, plain Plain) (string, bool) {
	if msg.Kind != chat.Text && msg.Kind != chat.Action || st.Deleted || msg.Trust == chat.Undecryptable {
		return "", false
	}
	text := chat.DisplayText(st.Text)
	if plain != nil {
		text = plain(text)
	}
	return Fold(text), true
}

// Matches reports whether a line (with its state) matches a folded query.
func Matches(msg chat.Message, st chat.State, query string, plain Plain) bool {
	text, ok := Shown(msg, st, plain)
	return ok && query != "" && strings.Contains(text, query)
}

// Spans are where a folded query occurs in s, as byte ranges of s, one
// after the other (not overlapping), matched character by character
// under the fold: what a highlight marks.
func Spans(s, query string) [][2]int {
	if query == "" {
		return nil
	}
	q := []rune(query)
	var out [][2]int
	for i := 0; i < len(s); {
		if end, ok := matchAt(s, i, q); ok {
			out = append(out, [2]int{i, end})
			i = end
			continue
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	return out
}

// matchAt reports whether q matches s from byte i on, and where it ends.
func matchAt(s string, i int, q []rune) (int, bool) {
	for _, want := range q {
		if i >= len(s) {
			return 0, false
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.ToLower(r) != want {
			return 0, false
		}
		i += n
	}
	return i, true
}

// line is one line of the index.
type line struct {
	seq   int64
	text  string // folded; "" with ok false: it cannot match
	ok    bool
	stale bool // deleted, its original text held: reported once
}

// Index is what a room's messages show, for Find. Messages may come in
// any order and more than once (pages of history, the feed): each is
// taken once. An Index is not safe for concurrent use.
type Index struct {
	plain  Plain
	ledger *chat.Ledger
	lines  map[int64]*line
	sorted []*line // by seq, once not dirty
	dirty  bool
}

// New is an empty index whose reader signs with key me (whose
// reactions are Mine: nothing here shows them), searching texts as
// plain makes them.
func New(me []byte, plain Plain) *Index {
	return &Index{plain: plain, ledger: chat.NewLedger(me), lines: map[int64]*line{}}
}

// Len is how many lines the index holds.
func (x *Index) Len() int { return len(x.lines) }

// Add takes messages. It returns the lines it holds the text of that a
// delete removed (now, or on their arrival, the delete being held
// before): what was kept of them anywhere is out of date, the server
// having overwritten their record.
func (x *Index) Add(msgs []chat.Message) (deleted []int64) {
	for _, m := range msgs {
		changed := x.ledger.Add(m)
		if !m.Kind.Amends() && m.Seq > 0 {
			if _, held := x.lines[m.Seq]; !held && (m.Kind == chat.Text || m.Kind == chat.Action || m.Kind == chat.Removed) {
				l := &line{seq: m.Seq}
				x.lines[m.Seq] = l
				x.sorted = append(x.sorted, l)
				x.dirty = x.dirty || len(x.sorted) > 1 && x.sorted[len(x.sorted)-2].seq > m.Seq
				changed = m.Seq
			}
		}
		if l := x.lines[changed]; changed != 0 && l != nil && x.refresh(l) {
			deleted = append(deleted, changed)
		}
	}
	return deleted
}

// refresh takes l's text from the ledger; it reports a line whose
// original text is held though a delete removed it, once.
func (x *Index) refresh(l *line) bool {
	msg, _ := x.ledger.Line(l.seq)
	st, ok := x.ledger.State(l.seq)
	if !ok {
		st = chat.State{Text: msg.Text}
	}
	l.text, l.ok = Shown(msg, st, x.plain)
	stale := st.Deleted && msg.Kind != chat.Removed && !l.stale
	l.stale = l.stale || stale
	return stale
}

// Find is the lines that match query (as typed: it is folded here),
// newest first.
func (x *Index) Find(query string) []int64 {
	q := Fold(query)
	if q == "" {
		return nil
	}
	if x.dirty {
		slices.SortFunc(x.sorted, func(a, b *line) int {
			switch {
			case a.seq < b.seq:
				return -1
			case a.seq > b.seq:
				return 1
			}
			return 0
		})
		x.dirty = false
	}
	var out []int64
	for i := len(x.sorted) - 1; i >= 0; i-- {
		if l := x.sorted[i]; l.ok && strings.Contains(l.text, q) {
			out = append(out, l.seq)
		}
	}
	return out
}
