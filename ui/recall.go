package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Recall keeps what was typed in each room across launches, for ↑ in the
// input (package recall is the chat's). Load is called as a room is
// joined; Add as a line is sent (or a command run), in order, and must
// not wait for a disk.
type Recall interface {
	Load(room string) []string // the room's lines (by room code), oldest first
	Add(room, line string)
}

// history is a room's input history: the lines sent in it, oldest first,
// and, while ↑ and ↓ go through them, which is shown and the draft they
// replaced.
type history struct {
	loaded   bool // lines were taken from Options.Recall
	lines    []string
	browsing bool
	at       int    // the line shown, while browsing
	draft    string // what the input held before ↑
	// typed is the line being submitted, as typed (with its "/me" or
	// "//"); a send takes it, so that what the server takes is kept and
	// what it refuses is not. pending holds it by the send's local id.
	typed   string
	pending map[int]string
}

// maxHistory is how many lines a room's history holds in memory, as the
// file keeps (recall.MaxLines).
const maxHistory = 500

// historyOf is r's history, taken from Options.Recall when first used.
func (m *Model) historyOf(r *roomView) *history {
	h := &r.hist
	if !h.loaded {
		h.loaded = true
		if m.opts.Recall != nil {
			h.lines = append(m.opts.Recall.Load(r.room.Code()), h.lines...)
		}
	}
	return h
}

// remember adds a line sent in r to its history, and to Options.Recall.
func (m *Model) remember(r *roomView, line string) {
	h := m.historyOf(r)
	if n := len(h.lines); n == 0 || h.lines[n-1] != line {
		h.lines = append(h.lines, line)
		if len(h.lines) > maxHistory {
			h.lines = h.lines[len(h.lines)-maxHistory:]
		}
	}
	if m.opts.Recall != nil {
		m.opts.Recall.Add(r.room.Code(), line)
	}
}

// submitted ends a walk through the history: what was sent is the draft.
func (r *roomView) submitted(typed string) {
	r.hist.browsing, r.hist.draft, r.hist.typed = false, "", typed
}

// takeTyped is the line typed for a send (which it alone takes: a send
// it refuses leaves nothing to keep), "" for a send of no typed line.
func (r *roomView) takeTyped() string {
	typed := r.hist.typed
	r.hist.typed = ""
	return typed
}

// sending is called by a send that will go: the line typed for it is
// kept once the server takes it.
func (r *roomView) sending(local int, typed string) {
	h := &r.hist
	if typed == "" {
		return
	}
	if h.pending == nil {
		h.pending = map[int]string{}
	}
	h.pending[local] = typed
}

// sent is called with a send's answer: a line the server took is kept.
func (m *Model) sent(r *roomView, local int, err error) {
	line, ok := r.hist.pending[local]
	if !ok {
		return
	}
	delete(r.hist.pending, local)
	if err == nil {
		m.remember(r, line)
	}
}

// ranCommand keeps a command line that ran (known, and not one that
// sent a message: that one is kept once the server takes it).
func (m *Model) ranCommand(r *roomView, line string) {
	typed := r.hist.typed
	r.hist.typed = ""
	name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	if typed == "" || !knownCommand(name) {
		return
	}
	m.remember(r, typed)
}

func knownCommand(name string) bool {
	for _, c := range commands {
		if c.name == name {
			return true
		}
	}
	return false
}

// recallOlder shows the line sent before the one shown (the newest, from
// the draft); false: there is none to show, and ↑ is the editor's.
func (m *Model) recallOlder(r *roomView) bool {
	h := m.historyOf(r)
	if r.editing != 0 || len(h.lines) == 0 {
		return false
	}
	if !h.browsing {
		h.browsing, h.at, h.draft = true, len(h.lines), r.input.Value()
	}
	if h.at == 0 {
		return true // the oldest: it stays
	}
	h.at--
	r.input.SetValueEnd(h.lines[h.at])
	return true
}

// recallNewer shows the line sent after the one shown, and past the
// newest the draft again; false: not walking the history.
func (m *Model) recallNewer(r *roomView) bool {
	h := &r.hist
	if !h.browsing || r.editing != 0 {
		return false
	}
	h.at++
	if h.at >= len(h.lines) {
		r.input.SetValueEnd(h.draft)
		h.browsing, h.draft = false, ""
		return true
	}
	r.input.SetValueEnd(h.lines[h.at])
	return true
}

// historyKey handles ↑ on the input's first row and ↓ on its last: the
// history. done is false when the key is not for it.
func (m *Model) historyKey(r *roomView, msg tea.KeyPressMsg) (done bool) {
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.HistoryPrev) && r.input.OnFirstRow():
		return m.recallOlder(r)
	case key.Matches(msg, k.HistoryNext) && r.input.OnLastRow():
		return m.recallNewer(r)
	}
	return false
}
