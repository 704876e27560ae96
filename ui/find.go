package ui

// Search (/search TEXT, ctrl+f): find text in the room's whole history,
// not only what is loaded. The first search of a room builds its index
// (ui/search) from every message, read from the cache where it holds
// them and from the server where it does not (keeping those in the
// cache); the index then follows what the room takes, so later searches
// read nothing. Matches are highlighted in the message pane; n/N (enter
// and shift+enter in the prompt) go from one to the next, loading older
// pages as a jump to a reply's original does; esc ends the search.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/ui/messages"
	"github.com/webaas-chat/webaas-chat/ui/search"
)

// fillChunk is how many sequence numbers one step of building the index
// reads (from the cache, else the server: 20 range pages), so that
// progress shows and the screen stays live.
const fillChunk = 2000

// maxQuery is the longest query, in characters: a message is at most
// chat.MaxText bytes, so no longer query can match.
const maxQuery = chat.MaxText

// finder is a room's search.
type finder struct {
	active  bool   // a search is on: highlights shown, n/N move
	query   string // as typed, the last one run
	matches []int64
	at      int // the current match in matches (newest first)
	prompt  *textinput.Model
	// fresh: the prompt holds the last query as it was opened with;
	// the first character typed replaces it, as a selected query would
	// be (an editing key keeps it).
	fresh bool

	// The index holds every message from low on (top+1: none yet; 1:
	// all); what came after top is taken as it comes (took).
	index    *search.Index
	low, top int64
	filling  bool
	waiting  bool // the query waits for the index
	gen      int  // a step of a fill given up since is dropped
	fillErr  string
}

// fillMsg brings one step of the index: the messages with from <= seq <
// to.
type fillMsg struct {
	room     int
	gen      int
	from, to int64
	msgs     []chat.Message
	err      error
}

// refind runs the query again over the index (the room took messages),
// keeping the current match.
func (f *finder) refind() {
	if !f.active || f.waiting || f.index == nil {
		return
	}
	cur := f.current()
	f.matches = f.index.Find(f.query)
	f.at = 0
	for i, seq := range f.matches {
		if seq == cur {
			f.at = i
		}
	}
}

func (f *finder) current() int64 {
	if f.at < len(f.matches) {
		return f.matches[f.at]
	}
	return 0
}

// openPrompt opens the search prompt, holding the query being shown.
func (m *Model) openPrompt(r *roomView) tea.Cmd {
	ti := textinput.New()
	ti.Prompt = "search: "
	ti.Placeholder = "text to find in the whole room"
	ti.CharLimit = maxQuery
	ti.SetValue(r.find.query)
	ti.CursorEnd()
	r.find.prompt, r.find.fresh = &ti, r.find.query != ""
	m.setFocus(focusMessages)
	return ti.Focus()
}

// runSearch searches the room for query: at once if the index is whole,
// else once it is.
func (m *Model) runSearch(r *roomView, query string) tea.Cmd {
	f := &r.find
	if strings.TrimSpace(query) == "" {
		return m.setStatus("Usage: /search TEXT (or ctrl+f)", true)
	}
	f.active, f.query, f.matches, f.at, f.fillErr = true, query, nil, 0, ""
	r.msgs.SetHighlight(query)
	if f.index == nil {
		f.index = search.New(r.session.Key(), messages.PlainText)
		f.top = max(r.lastSeq, r.msgs.NewestSeq())
		f.low = f.top + 1
	}
	if f.low > 1 {
		f.waiting = true
		return m.fillStep(r)
	}
	return m.showMatches(r)
}

// showMatches finds the query in the whole index and goes to the newest
// match.
func (m *Model) showMatches(r *roomView) tea.Cmd {
	f := &r.find
	f.waiting = false
	f.matches, f.at = f.index.Find(f.query), 0
	if len(f.matches) == 0 {
		return nil // the search line says so
	}
	return m.jumpTo(r, f.matches[0])
}

// moveMatch goes delta matches on (1: older), round from the oldest to
// the newest.
func (m *Model) moveMatch(r *roomView, delta int) tea.Cmd {
	f := &r.find
	if f.waiting || len(f.matches) == 0 {
		return nil
	}
	f.at = ((f.at+delta)%len(f.matches) + len(f.matches)) % len(f.matches)
	return m.jumpTo(r, f.matches[f.at])
}

// endSearch ends the search: no highlights, no prompt. The index stays,
// for the next.
func (m *Model) endSearch(r *roomView) {
	f := &r.find
	f.active, f.prompt, f.matches, f.waiting, f.fillErr = false, nil, nil, false, ""
	f.gen++ // a step under way is dropped; the next search goes on from f.low
	f.filling = false
	r.jumpTo = 0
	r.msgs.SetHighlight("")
	r.msgs.Unselect()
	m.setFocus(focusInput)
}

// onSearchKey takes a key for the search: in its prompt, all of them;
// else ctrl+f, and while a search is on esc and (outside the input)
// n/N. It reports whether the key was the search's.
func (m *Model) onSearchKey(r *roomView, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	f, k := &r.find, m.c.Keys
	if f.prompt != nil {
		fresh := f.fresh
		f.fresh = false
		switch {
		case key.Matches(msg, k.Close):
			m.endSearch(r)
		case key.Matches(msg, k.PromptLeave):
			f.prompt = nil
			if !f.active {
				m.setFocus(focusInput)
			}
		case key.Matches(msg, k.PromptNext, k.PromptPrev):
			query := f.prompt.Value()
			if !f.active || query != f.query {
				return m.runSearch(r, query), true
			}
			if key.Matches(msg, k.PromptNext) {
				return m.moveMatch(r, 1), true
			}
			return m.moveMatch(r, -1), true
		default:
			if fresh && msg.Text != "" {
				f.prompt.SetValue("") // typing anew
			}
			var cmd tea.Cmd
			*f.prompt, cmd = f.prompt.Update(msg)
			return cmd, true
		}
		return nil, true
	}
	switch {
	case key.Matches(msg, k.Search):
		return m.openPrompt(r), true
	case !f.active:
		return nil, false
	case key.Matches(msg, k.Close):
		m.endSearch(r)
		return nil, true
	case m.focus != focusInput && key.Matches(msg, k.SearchNext):
		return m.moveMatch(r, 1), true
	case m.focus != focusInput && key.Matches(msg, k.SearchPrev):
		return m.moveMatch(r, -1), true
	}
	return nil, false
}

// fillStep reads the next chunk of history, below what the index holds.
func (m *Model) fillStep(r *roomView) tea.Cmd {
	f := &r.find
	if f.filling || f.low <= 1 {
		return nil
	}
	f.filling = true
	from, to := max(1, f.low-fillChunk), f.low
	id, gen, room, cache, ctx := r.id, f.gen, r.room, m.opts.Cache, m.c.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		msgs, err := fill(ctx, room, cache, from, to)
		return fillMsg{room: id, gen: gen, from: from, to: to, msgs: msgs, err: err}
	}
}

// fill reads the messages with from <= seq < to: what the cache holds of
// ranges it read whole, decoded and checked again; the rest, and any
// record that does not decode, from the server, kept in the cache.
func fill(ctx context.Context, room *chat.Room, cache Cache, from, to int64) ([]chat.Message, error) {
	var msgs []chat.Message
	code := room.Code()
	missing := [][2]int64{{from, to}}
	if cache != nil {
		if ms, err := cache.Missing(code, from, to); err == nil {
			missing = ms
		}
		// A cache that cannot be read is read around: the server has it.
		_ = cache.Records(code, from, to, func(seq int64, rec []byte) {
			if within(missing, seq) {
				return // read again below
			}
			msg, err := room.Decode(rec)
			if err != nil || msg.Seq != seq {
				missing = append(missing, [2]int64{seq, seq + 1})
				return
			}
			msgs = append(msgs, msg)
		})
	}
	for _, rg := range missing {
		var got []chat.Message
		err := room.EachPage(ctx, rg[0], rg[1], func(page []chat.Message) error {
			got = append(got, page...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, got...)
		if cache != nil {
			_ = cache.Put(code, rg[0], rg[1], got) // not kept: read again next time
		}
	}
	return msgs, nil
}

func within(ranges [][2]int64, seq int64) bool {
	for _, r := range ranges {
		if seq >= r[0] && seq < r[1] {
			return true
		}
	}
	return false
}

// onFill takes a step of the index, and asks for the next or, the index
// whole, shows what the query found.
func (m *Model) onFill(r *roomView, msg fillMsg) tea.Cmd {
	f := &r.find
	if msg.gen != f.gen || f.index == nil {
		return nil
	}
	f.filling = false
	if msg.err != nil {
		f.waiting = false
		f.fillErr = "could not read the room's history: " + chat.Explain(msg.err)
		return nil
	}
	var cmd tea.Cmd
	if deleted := f.index.Add(msg.msgs); len(deleted) > 0 && m.opts.Cache != nil {
		cache, code, log := m.opts.Cache, r.room.Code(), m.c.Log
		cmd = m.cacheq.push(func() { forget(cache, code, deleted, log) })
	}
	f.low = min(f.low, msg.from)
	if f.low > 1 {
		return tea.Batch(cmd, m.fillStep(r))
	}
	if f.waiting {
		return tea.Batch(cmd, m.showMatches(r))
	}
	return cmd
}

// searchLine is the hint line's word on the search: the prompt while it
// is open, else the matches while a search is on ("": none).
func (m *Model) searchLine(r *roomView) string {
	f := &r.find
	if f.prompt == nil && !f.active {
		return ""
	}
	st := m.c.Styles
	var count string
	switch {
	case f.fillErr != "":
		count = st.Error.Render("Search stopped: " + f.fillErr)
	case f.waiting:
		done := f.top - f.low + 1
		count = fmt.Sprintf("searching… %s of %s", thousands(done), thousands(f.top))
	case !f.active:
	case len(f.matches) == 0:
		count = fmt.Sprintf("no match in %s messages", thousands(f.top))
	default:
		count = fmt.Sprintf("%d of %d", f.at+1, len(f.matches))
	}
	var line string
	if f.prompt != nil {
		// As wide as the query (the count stays near it), within a third
		// of the screen.
		f.prompt.SetWidth(min(max(ansi.StringWidth(f.prompt.Value())+1, 16), max(m.width/3, 16)))
		keys := "enter/↑ older · shift+enter/↓ newer · esc ends · tab n/N"
		line = f.prompt.View() + "  " + count + st.Dim.Render("  "+keys)
	} else {
		line = "search " + strconv.Quote(chat.DisplayLine(f.query)) + ": " + count + st.Dim.Render("  n older · N newer · ctrl+f edit · esc ends")
	}
	return common.PadRight(ansi.Truncate(line, m.width, "…"), m.width)
}

// thousands is n with commas: 48,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
