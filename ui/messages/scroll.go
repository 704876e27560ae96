package messages

// Scrolling: the view is anchored at its bottom row.

// bottomAnchor is where the view's bottom line is.
func (m *Model) bottomAnchor() (int, int) {
	if m.follow {
		return len(m.entries) - 1, 0
	}
	// The anchored entry may have lost rows since (edited shorter,
	// deleted, a reaction line gone, a narrower pane): its hidden rows
	// cannot be more than it has.
	m.bottom = min(max(m.bottom, 0), len(m.entries)-1)
	if m.bottom >= 0 {
		m.hidden = min(max(m.hidden, 0), len(m.rowsOf(m.bottom))-1)
	}
	return m.bottom, m.hidden
}

// linesThrough counts the lines from the top of entry 0 down to the
// anchor, but stops counting once it reaches limit: every entry has a
// line, so beyond limit entries the answer is "at least limit".
func (m *Model) linesThrough(b, hidden, limit int) int {
	if b+1 >= limit {
		return limit
	}
	n := -hidden
	for i := 0; i <= b; i++ {
		n += len(m.rowsOf(i))
	}
	return n
}

// ScrollUp moves the view n lines towards older messages.
func (m *Model) ScrollUp(n int) {
	if len(m.entries) == 0 {
		return
	}
	b, hidden := m.bottomAnchor()
	hidden += n
	for b > 0 && hidden >= len(m.rowsOf(b)) {
		hidden -= len(m.rowsOf(b))
		b--
	}
	if b == 0 {
		hidden = min(hidden, len(m.rowsOf(0))-1)
	}
	m.follow, m.bottom, m.hidden = false, b, hidden
	m.clampTop()
}

// clampTop keeps the oldest line from going below the top of the view.
func (m *Model) clampTop() {
	h := m.InnerHeight()
	if m.follow || m.linesThrough(m.bottom, m.hidden, h) >= h {
		return
	}
	m.Top()
}

// ScrollDown moves the view n lines towards newer messages.
func (m *Model) ScrollDown(n int) {
	if m.follow {
		return
	}
	b, hidden := m.bottomAnchor()
	hidden -= n
	for hidden < 0 && b < len(m.entries)-1 {
		b++
		hidden += len(m.rowsOf(b))
	}
	if b >= len(m.entries)-1 && hidden <= 0 {
		m.Bottom()
		return
	}
	m.bottom, m.hidden = b, hidden
}

// Top shows the oldest held message at the top of the view.
func (m *Model) Top() { m.showFrom(0) }

// Bottom follows the newest message again.
func (m *Model) Bottom() {
	m.follow, m.bottom, m.hidden, m.unread = true, 0, 0, 0
}

// Following reports whether the view is at the newest message (so what
// arrives is seen).
func (m *Model) Following() bool { return m.follow }

// AtTop: the oldest held line is on screen, so older history is wanted.
func (m *Model) AtTop() bool {
	if len(m.entries) == 0 {
		return true
	}
	b, hidden := m.bottomAnchor()
	h := m.InnerHeight()
	return m.linesThrough(b, hidden, h+1) <= h
}
