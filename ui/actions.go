package ui

// Acting on messages: the selection's keys (reply, edit, delete, react,
// go to what a reply answers), the emoji picker, the delete question,
// who is typing and who has seen what.

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/picker"
)

// Messages of the actions' commands.
type (
	// actedMsg answers an edit, delete or reaction.
	actedMsg struct {
		room int
		what string // "Edited", "Deleted", "Reacted"
		err  error
	}
	// typedMsg says a typing write is done (whatever came of it).
	typedMsg struct{ err error }
	// typingTickMsg clears typists who went silent.
	typingTickMsg struct {
		room int
		now  time.Time
	}
)

// quoteOf is message seq as a one-line quote: "alice: what she said".
func (r *roomView) quoteOf(seq int64) string {
	msg, ok := r.msgs.Message(seq)
	if !ok {
		return fmt.Sprintf("message %d", seq)
	}
	if st, ok := r.msgs.State(seq); ok {
		if st.Deleted {
			msg.Text = "(message deleted)"
		} else {
			msg.Text = st.Text
		}
	}
	lead, text := msg.Parts(true)
	return ansi.Truncate(lead+" "+text, 60, "…")
}

// own reports a line this session's key signed: one it may edit or
// delete.
func (r *roomView) own(msg chat.Message, st chat.State) bool {
	key := r.session.Key()
	return !st.Deleted && msg.Kind != chat.Removed && (msg.Kind == chat.Text || msg.Kind == chat.Action) &&
		msg.Trust == chat.Verified && len(key) > 0 && bytes.Equal(msg.Key, key)
}

// said reports a line that can be replied or reacted to.
func said(msg chat.Message, st chat.State) bool {
	return !st.Deleted && (msg.Kind == chat.Text || msg.Kind == chat.Action) && msg.Trust != chat.Undecryptable
}

// selectMessages starts the selection on the newest message.
func (m *Model) selectMessages(r *roomView) tea.Cmd {
	if !r.msgs.Select() {
		return m.setStatus("No messages to select yet.", false)
	}
	m.setFocus(focusMessages)
	return nil
}

// onSelectKey takes a key while a message is selected.
func (m *Model) onSelectKey(r *roomView, msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := m.c.Keys
	sel, st, ok := r.msgs.Selected()
	if !ok {
		r.msgs.Unselect()
		return nil, false
	}
	switch {
	case key.Matches(msg, k.LineUp, k.Select):
		if !r.msgs.MoveSelection(-1) {
			return m.maybeLoadOlder(r), true
		}
		return m.maybeLoadOlder(r), true
	case key.Matches(msg, k.LineDown) || msg.String() == "alt+down":
		r.msgs.MoveSelection(1)
		return nil, true
	case key.Matches(msg, k.Unselect):
		r.msgs.Unselect()
		m.setFocus(focusInput)
		return nil, true
	case key.Matches(msg, k.Reply):
		if !said(sel, st) {
			return m.setStatus("That line cannot be replied to.", true), true
		}
		return m.startReply(r, sel.Seq), true
	case key.Matches(msg, k.Edit):
		if !r.own(sel, st) {
			return m.setStatus("Only your own messages can be edited.", true), true
		}
		return m.startEdit(r, sel.Seq, st.Text), true
	case key.Matches(msg, k.Delete):
		if !r.own(sel, st) {
			return m.setStatus("Only your own messages can be deleted.", true), true
		}
		// The question holds the status line until it is answered.
		r.confirmDel, r.confirmText = sel.Seq, chat.DisplayLine("Delete "+r.quoteOf(sel.Seq)+"? y deletes it; any other key keeps it.")
		return nil, true
	case key.Matches(msg, k.React):
		if !said(sel, st) {
			return m.setStatus("That line cannot be reacted to.", true), true
		}
		r.picker, r.pickFor = picker.New(m.c, r.quoteOf(sel.Seq)), sel.Seq
		return nil, true
	case key.Matches(msg, k.Jump):
		if sel.ReplyTo == 0 {
			return m.setStatus("That message is not a reply.", false), true
		}
		return m.jumpTo(r, sel.ReplyTo), true
	}
	return nil, false
}

// onConfirmKey answers the delete question.
func (m *Model) onConfirmKey(r *roomView, msg tea.KeyPressMsg) tea.Cmd {
	target, held := r.msgs.Message(r.confirmDel)
	r.confirmDel, r.confirmText = 0, ""
	// Answered, the question ends the selection: whatever comes next
	// goes to the input.
	m.setFocus(focusInput)
	if !key.Matches(msg, m.c.Keys.Confirm) || !held {
		return m.setStatus("Kept.", false)
	}
	session, id, ctx := r.session, r.id, m.c.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := session.Delete(ctx, target)
		return actedMsg{room: id, what: "Deleted", err: err}
	}
}

// onPickerKey takes a key while the emoji picker is open.
func (m *Model) onPickerKey(r *roomView, msg tea.KeyPressMsg) tea.Cmd {
	emoji, done := r.picker.Update(msg)
	if !done {
		return nil
	}
	seq := r.pickFor
	r.picker, r.pickFor = nil, 0
	if emoji == "" {
		return nil
	}
	return m.react(r, seq, emoji)
}

// react toggles our reaction emoji on message seq.
func (m *Model) react(r *roomView, seq int64, emoji string) tea.Cmd {
	target, ok := r.msgs.Message(seq)
	if !ok {
		return m.setStatus(fmt.Sprintf("Message %d is not loaded.", seq), true)
	}
	session, id, ctx := r.session, r.id, m.c.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := session.React(ctx, target, emoji)
		return actedMsg{room: id, what: "Reacted", err: err}
	}
}

// startReply makes the input's next message a reply to seq.
func (m *Model) startReply(r *roomView, seq int64) tea.Cmd {
	r.msgs.Unselect()
	r.cancelEdit()
	r.replyTo = seq
	r.input.SetContext("↳ replying to " + r.quoteOf(seq) + " · esc cancels")
	m.setFocus(focusInput)
	return nil
}

// startEdit fills the input with message seq's text to be edited; what
// the input held comes back when the edit is saved or cancelled.
func (m *Model) startEdit(r *roomView, seq int64, text string) tea.Cmd {
	r.msgs.Unselect()
	if r.editing == 0 {
		r.draft = r.input.Value()
	}
	r.replyTo = 0
	r.editing = seq
	r.input.SetValue(text)
	r.input.SetContext("editing your message · enter saves · esc cancels")
	m.setFocus(focusInput)
	return nil
}

// cancelEdit ends an edit or a reply without sending.
func (r *roomView) cancelEdit() {
	if r.editing != 0 {
		r.input.SetValue(r.draft)
	}
	r.editing, r.replyTo, r.draft = 0, 0, ""
	r.input.SetContext("")
}

// saveEdit sends the input's text as the new text of the message being
// edited.
func (m *Model) saveEdit(r *roomView, text string) tea.Cmd {
	if err := chat.CheckText(text); err != nil {
		return m.setStatus("Not saved: "+chat.Explain(err), true)
	}
	target, ok := r.msgs.Message(r.editing)
	r.cancelEdit() // the draft is back
	if !ok {
		return m.setStatus("Not saved: the message is no longer loaded.", true)
	}
	session, id, ctx := r.session, r.id, m.c.Ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		_, err := session.Edit(ctx, target, text)
		return actedMsg{room: id, what: "Edited", err: err}
	}
}

func (m *Model) onActed(msg actedMsg) tea.Cmd {
	if msg.err != nil {
		return m.setStatus("Not done: "+chat.Explain(msg.err), true)
	}
	return nil // the feed shows it
}

// lastOwn is the newest held message of ours that can be edited.
func (r *roomView) lastOwn() (int64, string, bool) {
	msgs := r.msgs.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		st, ok := r.msgs.State(msgs[i].Seq)
		if !ok {
			st = chat.State{Text: msgs[i].Text}
		}
		if r.own(msgs[i], st) {
			return msgs[i].Seq, st.Text, true
		}
	}
	return 0, "", false
}

// target is what /reply, /react and /delete act on: the selected
// message, else the newest (of ours, with own) that can be.
func (r *roomView) target(own bool) (int64, bool) {
	if sel, st, ok := r.msgs.Selected(); ok {
		return sel.Seq, own && r.own(sel, st) || !own && said(sel, st)
	}
	if own {
		seq, _, ok := r.lastOwn()
		return seq, ok
	}
	msgs := r.msgs.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		st, ok := r.msgs.State(msgs[i].Seq)
		if !ok {
			st = chat.State{Text: msgs[i].Text}
		}
		if said(msgs[i], st) {
			return msgs[i].Seq, true
		}
	}
	return 0, false
}

// jumpTo selects message seq, loading older pages until it is held.
func (m *Model) jumpTo(r *roomView, seq int64) tea.Cmd {
	if r.msgs.SelectSeq(seq) {
		r.jumpTo = 0
		m.setFocus(focusMessages)
		return nil
	}
	if r.noOlder || seq >= r.msgs.OldestSeq() && r.msgs.OldestSeq() > 0 {
		r.jumpTo = 0
		return m.setStatus(fmt.Sprintf("Message %d is not in this room any more.", seq), true)
	}
	r.jumpTo = seq
	return m.loadOlder(r)
}

// Typing.

// typingCmd says that we are typing while the input holds a message
// being written (not a command, not an edit), and that we stopped when
// the input is emptied after we said it: one write at most per
// chat.TypingEvery, whatever we send meanwhile (a sent line clears the
// indicator at the others' without a write).
func (m *Model) typingCmd(r *roomView, before string) tea.Cmd {
	now := m.now()
	text := r.input.Value()
	writing := strings.TrimSpace(text) != "" && !strings.HasPrefix(text, "/") && r.editing == 0
	if now.Sub(r.saidTyping) < chat.TypingEvery {
		// One write per TypingEvery, a start or a stop: a stop left out
		// is the others' timeout to make.
		if !writing {
			r.typingShown = false
		}
		return nil
	}
	switch {
	case writing && text != before:
		r.saidTyping, r.typingShown = now, true
		return r.typingWrite(m.c.Ctx, true)
	case !writing && r.typingShown:
		r.saidTyping, r.typingShown = now, false
		return r.typingWrite(m.c.Ctx, false)
	}
	return nil
}

func (r *roomView) typingWrite(ctx context.Context, active bool) tea.Cmd {
	session, log := r.session, r.Log
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, chat.TypingEvery)
		defer cancel()
		err := session.Typing(ctx, active)
		if err != nil {
			log.Debug("typing not said", "err", err) // a nicety: never worth a word on screen
		}
		return typedMsg{err}
	}
}

// typingTick is the next look for typists gone silent.
func typingTick(room int) tea.Cmd {
	return tea.Tick(time.Second, func(now time.Time) tea.Msg { return typingTickMsg{room, now} })
}

// noteTyping takes a typing event of the feed.
func (m *Model) noteTyping(r *roomView, ev chat.Event) tea.Cmd {
	if ev.Nick == r.session.Nick() {
		return nil // ours, from this or another of our devices
	}
	if !ev.Active {
		delete(r.typists, ev.Nick)
		return nil
	}
	if r.typists == nil {
		r.typists = map[string]time.Time{}
	}
	r.typists[ev.Nick] = m.now()
	if r.typingTick {
		return nil
	}
	r.typingTick = true
	return typingTick(r.id)
}

// onTypingTick drops typists silent for chat.TypingTimeout.
func (m *Model) onTypingTick(r *roomView, now time.Time) tea.Cmd {
	for nick, at := range r.typists {
		if now.Sub(at) >= chat.TypingTimeout {
			delete(r.typists, nick)
		}
	}
	if len(r.typists) == 0 {
		r.typingTick = false
		return nil
	}
	return typingTick(r.id)
}

// typingLine is "alice is typing…", "alice and bob are typing…", "3
// people are typing…", or "".
func (r *roomView) typingLine() string {
	names := make([]string, 0, len(r.typists))
	for nick := range r.typists {
		names = append(names, nick)
	}
	slices.SortFunc(names, func(a, b string) int { return r.typists[a].Compare(r.typists[b]) })
	switch len(names) {
	case 0:
		return ""
	case 1:
		return chat.DisplayNick(names[0]) + " is typing…"
	case 2:
		return chat.DisplayNick(names[0]) + " and " + chat.DisplayNick(names[1]) + " are typing…"
	}
	return fmt.Sprintf("%d people are typing…", len(names))
}

// Seen by.

// noteMarker takes a nickname's "seen" marker (at most chat.MaxMarkers
// are kept: a raw writer can make any number).
func (r *roomView) noteMarker(nick string, seq int64) {
	if r.markers == nil {
		r.markers = map[string]int64{}
	}
	if _, ok := r.markers[nick]; !ok && len(r.markers) >= chat.MaxMarkers {
		return
	}
	r.markers[nick] = max(r.markers[nick], seq)
}

// seenBy is who has read up to message seq, but its author and us: the
// members whose "seen" marker is there.
func (r *roomView) seenBy(seq int64, author string) []string {
	var out []string
	me := r.session.Nick()
	for _, mb := range r.members.Members() {
		if mb.Nick == author || mb.Nick == me || mb.Suspect() {
			continue
		}
		if r.markers[mb.Nick] >= seq {
			out = append(out, chat.DisplayNick(mb.Nick))
		}
	}
	slices.Sort(out)
	return out
}

// readUpTo says how far nick has read: for /whois.
func (r *roomView) readUpTo(nick string) string {
	for _, mb := range r.members.Members() {
		if mb.Nick != nick {
			continue
		}
		seq := r.markers[nick]
		if seq == 0 {
			return "has read nothing here yet"
		}
		return fmt.Sprintf("has read up to message %d (%s)", seq, r.quoteOf(seq))
	}
	return ""
}

// seenList is the /seen overlay: each member and the last message they
// read, furthest first.
func (r *roomView) seenList() []string {
	type row struct {
		nick string
		seq  int64
	}
	var rows []row
	for _, mb := range r.members.Members() {
		if mb.Suspect() {
			continue
		}
		rows = append(rows, row{mb.Nick, r.markers[mb.Nick]})
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if a.seq != b.seq {
			return int(b.seq - a.seq)
		}
		return strings.Compare(a.nick, b.nick)
	})
	w := 0
	for _, x := range rows {
		w = max(w, ansi.StringWidth(chat.DisplayNick(x.nick)))
	}
	out := []string{"Who has read what in " + r.name()}
	for _, x := range rows {
		what := "nothing here yet"
		if x.seq > 0 {
			what = fmt.Sprintf("up to message %d · %s", x.seq, r.quoteOf(x.seq))
		}
		nick := chat.DisplayNick(x.nick)
		out = append(out, nick+strings.Repeat(" ", w-ansi.StringWidth(nick))+"  "+what)
	}
	if len(rows) == 0 {
		out = append(out, "No members yet.")
	}
	return out
}

// onClick selects the message under the mouse, or on a reply's quote
// goes to what it answers.
func (m *Model) onClick(msg tea.MouseClickMsg) tea.Cmd {
	r := m.room()
	if r == nil || m.screen != chatScreen || m.showHelp || m.switcher != nil || r.picker != nil || msg.Button != tea.MouseLeft {
		return nil
	}
	// The messages pane starts under the header, right of the room
	// list, inside its border.
	x, y := msg.X-m.listWidth()-1, msg.Y-2
	if x < 0 || x >= r.msgs.InnerWidth() || y < 0 || y >= r.msgs.InnerHeight() {
		return nil
	}
	seq, quote := r.msgs.At(y)
	if seq == 0 {
		return nil
	}
	if quote {
		if target, ok := r.msgs.Message(seq); ok && target.ReplyTo > 0 {
			return m.jumpTo(r, target.ReplyTo)
		}
	}
	r.msgs.SelectSeq(seq)
	m.setFocus(focusMessages)
	return nil
}
