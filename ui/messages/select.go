package messages

// Selection: a cursor on one message, moved by the root's keys, which
// act on what it selects (reply, edit, delete, react). It is kept by seq,
// so history loaded above it does not move it.

import "github.com/webaas-chat/webaas-chat/chat"

// Selecting reports whether a message is selected.
func (m *Model) Selecting() bool { return m.sel != 0 }

// Selected is the selected message and what its amendments made of it.
func (m *Model) Selected() (chat.Message, chat.State, bool) {
	i := m.index(m.sel)
	if m.sel == 0 || i < 0 {
		return chat.Message{}, chat.State{}, false
	}
	st, ok := m.ledger.State(m.sel)
	if !ok {
		st = chat.State{Text: m.entries[i].msg.Text}
	}
	return m.entries[i].msg, st, true
}

// Select selects the newest message (false: there is none).
func (m *Model) Select() bool {
	c := m.committed()
	if len(c) == 0 {
		return false
	}
	return m.SelectSeq(c[len(c)-1].msg.Seq)
}

// SelectSeq selects message seq and scrolls it into view (false: it is
// not held).
func (m *Model) SelectSeq(seq int64) bool {
	i := m.index(seq)
	if i < 0 {
		return false
	}
	m.sel = seq
	m.reveal(i)
	return true
}

// Unselect ends the selection.
func (m *Model) Unselect() { m.sel = 0 }

// MoveSelection moves the selection by delta messages, within those
// held; it reports false when it could not move up because the oldest
// held message is selected (older history is wanted).
func (m *Model) MoveSelection(delta int) bool {
	i := m.index(m.sel)
	if i < 0 {
		return m.Select()
	}
	j := min(max(i+delta, 0), len(m.committed())-1)
	if j != i {
		m.SelectSeq(m.entries[j].msg.Seq)
	}
	return j == i+delta
}

// reveal scrolls so that entry i is wholly on screen (as far as it fits),
// moving the view as little as it can.
func (m *Model) reveal(i int) {
	if len(m.rowsOf(i)) >= m.InnerHeight() {
		m.showFrom(i) // taller than the pane: its start, where it reads from
		return
	}
	b, hidden := m.bottomAnchor()
	switch {
	case i > b || i == b && hidden > 0:
		if i == len(m.entries)-1 {
			m.Bottom()
			return
		}
		m.follow, m.bottom, m.hidden = false, i, 0
	case i <= b && m.rowsAbove(i, b, hidden) < len(m.rowsOf(i)):
		// Its first rows are above the view: show it from its top.
		m.showFrom(i)
	}
}

// rowsAbove counts the rows from the top of entry i to the bottom of the
// view (the anchor b, hidden), up to the view's height.
func (m *Model) rowsAbove(i, b, hidden int) int {
	n := -hidden
	for j := i; j <= b; j++ {
		n += len(m.rowsOf(j))
	}
	if h := m.InnerHeight(); n > h {
		// More than the view: entry i starts above it by n - h rows.
		return len(m.rowsOf(i)) - (n - h)
	}
	return len(m.rowsOf(i))
}

// showFrom puts the top of entry i at the top of the view.
func (m *Model) showFrom(i int) {
	h := m.InnerHeight()
	acc := 0
	for j := i; j < len(m.entries); j++ {
		acc += len(m.rowsOf(j))
		if acc >= h {
			if j == len(m.entries)-1 && acc == h {
				m.Bottom()
				return
			}
			m.follow, m.bottom, m.hidden = false, j, acc-h
			return
		}
	}
	m.Bottom() // everything from i on fits
}

// At says what row y (0: the pane's first inner row) of the last View
// shows: a message's seq (0: none), and whether the row quotes what the
// message replies to.
func (m *Model) At(y int) (seq int64, quote bool) {
	if y < 0 || y >= len(m.rows) || m.rows[y].entry < 0 || m.rows[y].entry >= len(m.entries) {
		return 0, false
	}
	e := m.entries[m.rows[y].entry]
	if e.pending != 0 {
		return 0, false
	}
	return e.msg.Seq, m.rows[y].quote
}
