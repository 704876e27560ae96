package ui

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/ui/composer"
	"github.com/webaas-chat/webaas-chat/ui/members"
	"github.com/webaas-chat/webaas-chat/ui/messages"
	"github.com/webaas-chat/webaas-chat/ui/picker"
)

// pageSize is how many messages a history load brings.
const pageSize = 100

// Connection states shown in the header.
const (
	connConnecting   = "connecting"
	connConnected    = "connected"
	connReconnecting = "reconnecting"
	connOffline      = "offline"
)

// pane is what a room's panes have in common: they draw at a size, react
// to messages when focused, and say which keys they take.
type pane interface {
	SetSize(width, height int)
	Update(msg tea.Msg) tea.Cmd
	View() string
	SetFocus(bool)
}

// roomView is one joined room on the screen: its session and feed, its
// panes, and all that a room keeps while another is shown (the draft in
// its input, its scroll position and "new messages" marker). The session
// is the one source of the nickname: the panes ask it.
type roomView struct {
	*common.Common
	id      int
	room    *chat.Room
	server  string // the room's server, as its invite names it
	session *chat.Session
	feed    <-chan chat.Event
	stop    context.CancelFunc // ends the feed

	conn     string
	connNote string    // the retry countdown while reconnecting
	retryAt  time.Time // when the feed tries again, while reconnecting
	hostWhy  string    // why the server is unreachable, from Options.HostNote

	msgs    *messages.Model
	members *members.Model
	input   *composer.Model
	panes   [focusCount]pane

	olderGen     int // a history page for an older request is dropped
	loadingOlder bool
	noOlder      bool

	nextLocal int // ids of our messages being sent

	warnedKeys map[string]bool // nicknames whose other-key messages were announced
	notifyAll  bool            // ring and notify for every line of others, not only mentions (/notify)

	// unread and mentions count others' lines after the read marker
	// (what came while another room was shown, or was read on no device);
	// news holds them, so that a marker moved by another device recounts
	// them exactly.
	unread, mentions int
	news             []newsLine
	older            int   // unread lines older than the first page: counted, not held
	lastSeq          int64 // the newest message held
	// The read marker, written at most every markEvery: marked is what
	// was last written (or read), markWant what the screen has shown.
	marked, markWant int64
	markSoon         bool // a markTickMsg is on its way

	// Acting on messages (actions.go): what the input's text replies to
	// or replaces (with the draft an edit put aside), a delete waiting
	// for its "y", the emoji picker, a message being loaded to jump to.
	replyTo, editing int64
	draft            string
	confirmDel       int64
	confirmText      string // the question, on the status line until answered
	picker           *picker.Model
	pickFor          int64
	jumpTo           int64
	// typists are who else is typing, by when it was last said (this
	// clock); saidTyping when we last said we are, typingShown whether
	// the others show it now (a line of ours clears it there).
	typists     map[string]time.Time
	typingTick  bool
	saidTyping  time.Time
	typingShown bool
	markers     map[string]int64 // every nickname\'s "seen" marker, for "seen by"

	comp *completion // a Tab completion in progress (complete.go)
	hist history     // what was sent here, for ↑ (recall.go)
	find finder      // the search (find.go)
}

// newsLine is one unread line of a room.
type newsLine struct {
	seq     int64
	mention bool
}

// markEvery is how often a room's read marker is written at most: it is
// a transaction of four requests, and reading a busy room moves it on
// every message.
const markEvery = 2 * time.Second

func newRoomView(c *common.Common, id int, j joined) *roomView {
	r := &roomView{
		Common: c, id: id, room: j.room, server: j.server, session: j.session, feed: j.feed, stop: j.stop,
		conn: connConnecting,
	}
	r.msgs = messages.New(c, j.session)
	r.msgs.SetSeen(r.seenBy)
	r.members = members.New(c, j.session.Nick)
	r.input = composer.New(c)
	r.panes = [focusCount]pane{r.input, r.msgs, r.members}
	r.msgs.Add(j.latest)
	r.noOlder = len(j.latest) == 0 || j.latest[0].Seq <= 1
	r.marked = j.readUpTo
	if n := len(j.latest); n > 0 {
		r.lastSeq = j.latest[n-1].Seq
		if j.readUpTo > 0 { // a marker that was never written marks nothing unread
			r.countUnread(j.latest)
			if first := j.latest[0].Seq; j.readUpTo < first-1 {
				r.older = int(first - 1 - j.readUpTo) // older than the page: counted, not seen
				r.unread += r.older
			}
		}
	}
	return r
}

// read moves the read marker to what the room holds, on screen: the
// marker is written soon (markCmd); the counts are cleared now.
func (r *roomView) read() tea.Cmd {
	r.news, r.unread, r.mentions, r.older = nil, 0, 0, 0
	if r.lastSeq <= r.markWant {
		return nil
	}
	r.markWant = r.lastSeq
	if r.markSoon || r.markWant <= r.marked {
		return nil
	}
	r.markSoon = true
	id := r.id
	return tea.Tick(markEvery, func(time.Time) tea.Msg { return markTickMsg{room: id} })
}

// markCmd writes the read marker the screen has reached.
func (r *roomView) markCmd(ctx context.Context) tea.Cmd {
	r.markSoon = false
	if r.markWant <= r.marked {
		return nil
	}
	seq, session, log := r.markWant, r.session, r.Log
	r.marked = seq
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := session.MarkRead(ctx, seq); err != nil {
			log.Warn("read marker not written", "err", err, "seq", seq)
		}
		return nil
	}
}

// readElsewhere takes a read marker moved by another device: what it
// covers is read here too.
func (r *roomView) readElsewhere(seq int64) {
	// Only what this chat holds: a marker moved past it (by hand, to hide
	// what comes) does not hide what comes.
	seq = min(seq, r.lastSeq)
	if seq <= r.marked {
		return // nothing new: the feed says the marker on every connect
	}
	r.marked, r.markWant = seq, max(r.markWant, seq)
	kept := r.news[:0]
	for _, n := range r.news {
		if n.seq > seq {
			kept = append(kept, n)
		}
	}
	r.news = kept
	if len(kept) > 0 || seq >= r.lastSeq {
		r.older = 0 // read past the first page's start
	}
	r.unread, r.mentions = len(kept)+r.older, 0
	for _, n := range kept {
		if n.mention {
			r.mentions++
		}
	}
}

// invite is the room's invite, naming its server.
func (r *roomView) invite() string { return r.room.Invite(r.server).String() }

// name is the room's name as shown: through the display filter, and cut
// to the longest name the chat lets anyone give (a raw write may store
// 64 KB, and the header and title are drawn every frame).
func (r *roomView) name() string {
	name := r.room.Name()
	if utf8.RuneCountInString(name) > chat.MaxRoomName {
		name = string([]rune(name)[:chat.MaxRoomName]) + "…"
	}
	return chat.DisplayLine(name)
}

func (r *roomView) setFocus(i int) {
	for j, p := range r.panes {
		p.SetFocus(j == i)
	}
}

// setSize lays the room's panes out for a terminal of w × h.
// setSize sizes the room's panes for a w × h screen whose room list,
// left of the messages, is listW wide (0: none).
func (r *roomView) setSize(w, h, listW int) {
	membersW := min(max(w/4, 16), 28)
	bodyH := max(h-2-(composer.Height+2), 3)
	r.msgs.SetSize(w-membersW-listW, bodyH)
	r.members.SetSize(membersW, bodyH)
	r.input.SetSize(w, composer.Height+2)
}

// close ends the feed; the session is the caller's to end.
func (r *roomView) close() {
	if r.stop != nil {
		r.stop()
		r.stop = nil
	}
}

// Messages of a room's commands. Each names its room, so an answer for a
// room left since is dropped.
type (
	feedMsg struct {
		room int
		ev   chat.Event
		ok   bool
	}
	sentMsg struct {
		room  int
		local int
		text  string
		msg   chat.Message
		err   error
	}
	olderMsg struct {
		room int
		gen  int
		msgs []chat.Message
		err  error
	}
	renamedMsg struct {
		room int
		nick string
		err  error
	}
	handedOverMsg struct {
		room int
		err  error
	}
	markTickMsg struct{ room int } // time to write a room's read marker
	// hostCheckMsg asks, while reconnecting, whether HostNote changed,
	// and moves the countdown on to now.
	hostCheckMsg struct {
		room int
		now  time.Time
	}
)

// waitFeed is the listener: one feed event becomes one message, and the
// handler calls waitFeed again for the next.
func (r *roomView) waitFeed() tea.Cmd {
	id, feed := r.id, r.feed
	return func() tea.Msg {
		ev, ok := <-feed
		return feedMsg{room: id, ev: ev, ok: ok}
	}
}

// onFeed handles one feed event of this room.
func (m *Model) onFeed(r *roomView, msg feedMsg) tea.Cmd {
	if !msg.ok {
		return nil // the feed ended (a logout)
	}
	var cmds []tea.Cmd
	switch msg.ev.Kind {
	case chat.Connected:
		r.conn, r.connNote, r.hostWhy = connConnected, "", ""
	case chat.Reconnecting:
		checking := r.conn == connReconnecting
		r.conn = connReconnecting
		r.retryAt = time.Now().Add(msg.ev.Retry)
		r.connNote = countdown(msg.ev.Retry)
		r.hostWhy = m.hostNote()
		r.Log.Info("feed reconnecting", "err", msg.ev.Err, "retry", msg.ev.Retry)
		if !checking {
			cmds = append(cmds, hostCheck(r.id))
		}
	case chat.Messages:
		for _, line := range msg.ev.Messages {
			switch line.Kind {
			case chat.Text, chat.Action, chat.Leave, chat.Rename:
				delete(r.typists, line.Nick) // they sent what they typed, or went
			}
		}
		mentions := r.msgs.Add(msg.ev.Messages)
		cmds = append(cmds, m.took(r, msg.ev.Messages))
		if mentions > 0 && m.opts.Bell {
			cmds = append(cmds, tea.Raw("\a"))
		}
		if n := len(msg.ev.Messages); n > 0 {
			r.lastSeq = max(r.lastSeq, msg.ev.Messages[n-1].Seq)
		}
		switch {
		case r != m.room() || m.blurred || !r.msgs.Following():
			r.countUnread(msg.ev.Messages)
			if r == m.room() && m.blurred {
				m.unseen += mentions
			}
		default: // on screen and seen
			cmds = append(cmds, r.read())
		}
		if mentions > 0 || r.notifyAll {
			for _, line := range msg.ev.Messages {
				others := (line.Kind == chat.Text || line.Kind == chat.Action) && line.ClientID != r.session.ClientID() && line.Nick != r.session.Nick()
				if line.Mentions(r.session.Nick()) || r.notifyAll && others {
					if mentions == 0 && m.opts.Bell {
						cmds = append(cmds, tea.Raw("\a")) // every line, in a room that asks for it
					}
					lead, text := line.Parts(true)
					cmds = append(cmds, m.notify("webaas-chat · "+r.name(), lead+" "+text))
					break
				}
			}
		}
		cmds = append(cmds, m.directOffers(r, msg.ev.Messages))
		if warn := r.keyChanges(msg.ev.Messages); warn != "" {
			cmds = append(cmds, m.setStatus(warn, true))
		}
	case chat.Members:
		r.members.SetMembers(msg.ev.Members)
	case chat.ReadUpTo:
		r.readElsewhere(msg.ev.Seq)
	case chat.Marker:
		r.noteMarker(msg.ev.Nick, msg.ev.Seq)
	case chat.Typing:
		cmds = append(cmds, m.noteTyping(r, msg.ev))
	case chat.Gap:
		what := fmt.Sprintf("Message %d is", msg.ev.From)
		if msg.ev.To > msg.ev.From {
			what = fmt.Sprintf("Messages %d to %d are", msg.ev.From, msg.ev.To)
		}
		cmds = append(cmds, m.setStatus(what+" missing from this room (written around the chat); skipped.", true))
	}
	cmds = append(cmds, r.waitFeed())
	return tea.Batch(cmds...)
}

// directOffers takes note of the direct rooms offered to us in these
// lines (those we can open: verified, sealed to our key by the key that
// signed the offer, on this room's server). Joining one is the user's
// choice (/accept): anyone who has written here can offer a room.
func (m *Model) directOffers(r *roomView, msgs []chat.Message) tea.Cmd {
	var cmd tea.Cmd
	for _, msg := range msgs {
		if msg.Kind != chat.Direct || msg.ClientID == r.session.ClientID() {
			continue
		}
		inv, err := r.session.OpenDirect(msg)
		if err != nil || inv.Server != "" && !chat.SameServer(inv.Server, r.server) {
			continue // not for us, or not openable: the line says what it is
		}
		joined := false
		for _, other := range m.rooms {
			joined = joined || other.room.Code() == inv.Code
		}
		if !joined {
			m.offers = append(m.offers, offer{from: msg.Nick, nick: r.session.Nick(), invite: inv.String()})
			cmd = m.setStatus(chat.DisplayNick(msg.Nick)+" offers a direct room: /accept joins it.", false)
		}
	}
	return cmd
}

// countUnread counts others' lines after the read marker (system lines,
// like "joined", are not news).
func (r *roomView) countUnread(msgs []chat.Message) {
	me := r.session.Nick()
	for _, msg := range msgs {
		if msg.Seq <= r.marked || msg.Kind.System() || msg.Kind.Amends() || msg.Kind == chat.Removed || msg.ClientID == r.session.ClientID() || msg.Nick == me && !msg.Suspect() {
			continue
		}
		n := newsLine{seq: msg.Seq, mention: msg.Mentions(me)}
		r.news = append(r.news, n)
		r.unread++
		if n.mention {
			r.mentions++
		}
	}
}

// keyChanges announces, once per nickname, messages under a nickname
// signed by a key other than the one it is bound to: a new device, a lost
// identity, or someone else using the name.
func (r *roomView) keyChanges(msgs []chat.Message) string {
	for _, msg := range msgs {
		if msg.Trust != chat.OtherKey || r.warnedKeys[msg.Nick] {
			continue
		}
		if r.warnedKeys == nil {
			r.warnedKeys = map[string]bool{}
		}
		r.warnedKeys[msg.Nick] = true
		by := "no key"
		if fp := msg.Fingerprint(); fp != "" {
			by = "key " + fp
		}
		// Short enough for 80 columns; /whois shows the bound key.
		nick := chat.DisplayNick(msg.Nick)
		return fmt.Sprintf("⚠ Unverified line as %s, %s · /whois %s", nick, by, nick)
	}
	return ""
}

// hostNote asks why the server is unreachable, if a reason is known.
func (m *Model) hostNote() string {
	if m.opts.HostNote == nil {
		return ""
	}
	return m.opts.HostNote()
}

// hostCheck asks again in a second: the host may leave (or come back)
// between two reconnect attempts, which are up to seconds apart.
func hostCheck(room int) tea.Cmd {
	return tea.Tick(time.Second, func(now time.Time) tea.Msg { return hostCheckMsg{room, now} })
}

func (m *Model) checkHost(r *roomView, now time.Time) tea.Cmd {
	if r.conn != connReconnecting {
		return nil // connected again: stop asking
	}
	r.hostWhy = m.hostNote()
	r.connNote = countdown(r.retryAt.Sub(now))
	return hostCheck(r.id)
}

// countdown is the header's word on the next attempt to reconnect, due
// in d: whole seconds, rounded up, so it reaches "in 1s", never "in 0s".
func countdown(d time.Duration) string {
	if d <= 0 {
		return "reconnecting…"
	}
	return fmt.Sprintf("reconnecting in %ds", (d+time.Second-1)/time.Second)
}

// send posts text (a message or an action) in the room.
func (m *Model) send(r *roomView, kind chat.Kind, text string) tea.Cmd {
	typed := r.takeTyped()
	if err := chat.CheckText(text); err != nil {
		return m.setStatus("Not sent: "+chat.Explain(err), true)
	}
	if r.conn == connReconnecting {
		// Nothing could take it now; queued, it would be lost if the chat
		// closed before the server came back. It stays in the input.
		why := "the server is unreachable"
		if r.hostWhy != "" {
			why = r.hostWhy
		}
		// Short enough to read whole at 80 columns (60 without a host note).
		return m.setStatus("Not sent: "+why+" (kept in the input).", true)
	}
	r.input.Reset()
	replyTo := r.replyTo
	to, held := r.msgs.Message(replyTo)
	if kind != chat.Text || !held {
		replyTo = 0
	}
	r.replyTo, r.typingShown = 0, false // the line itself tells the others we stopped
	r.input.SetContext("")
	r.nextLocal++
	local, id, session := r.nextLocal, r.id, r.session
	r.sending(local, typed)
	r.msgs.AddPending(local, chat.Message{Nick: session.Nick(), Text: text, Kind: kind, Sent: time.Now(), ClientID: session.ClientID(), ReplyTo: replyTo})
	r.msgs.Bottom()
	ctx := m.c.Ctx
	return func() tea.Msg {
		// No timeout: the session retries until the server takes the
		// message or the session ends (logout, quit).
		var msg chat.Message
		var err error
		switch {
		case kind == chat.Action:
			msg, err = session.Act(ctx, text)
		case replyTo != 0:
			msg, err = session.Reply(ctx, to, text)
		default:
			msg, err = session.Send(ctx, text)
		}
		return sentMsg{room: id, local: local, text: text, msg: msg, err: err}
	}
}

func (m *Model) onSent(r *roomView, msg sentMsg) tea.Cmd {
	r.msgs.RemovePending(msg.local)
	m.sent(r, msg.local, msg.err)
	if msg.err != nil {
		if errors.Is(msg.err, chat.ErrClosed) {
			return nil // logged out meanwhile
		}
		if r.input.Value() == "" {
			r.input.SetValue(msg.text) // keep what was typed
		}
		return m.setStatus("Not sent: "+chat.Explain(msg.err), true)
	}
	r.msgs.Add([]chat.Message{msg.msg})
	return nil
}

// maybeLoadOlder asks for the previous page when the oldest held message
// has scrolled into view.
func (m *Model) maybeLoadOlder(r *roomView) tea.Cmd {
	if r == nil || r.noOlder || r.loadingOlder || !r.msgs.AtTop() {
		return nil
	}
	return m.loadOlder(r)
}

func (m *Model) loadOlder(r *roomView) tea.Cmd {
	if r.loadingOlder {
		return nil
	}
	r.olderGen++
	r.loadingOlder = true
	id, gen, room, before := r.id, r.olderGen, r.room, r.msgs.OldestSeq()
	if before == 0 {
		before = 1 << 62 // nothing held yet: the newest page
	}
	ctx := m.c.Ctx
	return tea.Batch(m.setStatus("Loading older messages…", false), func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		msgs, err := room.Before(ctx, before, pageSize)
		return olderMsg{room: id, gen: gen, msgs: msgs, err: err}
	})
}

func (m *Model) onOlder(r *roomView, msg olderMsg) tea.Cmd {
	if msg.gen != r.olderGen {
		return nil // an answer for a request we no longer care about
	}
	r.loadingOlder = false
	if msg.err != nil {
		r.jumpTo = 0 // a jump that could not load is given up, not kept for later
		return m.setStatus("Could not load older messages: "+chat.Explain(msg.err), true)
	}
	r.msgs.Add(msg.msgs)
	took := m.took(r, msg.msgs)
	r.noOlder = len(msg.msgs) == 0 || msg.msgs[0].Seq <= 1
	if r.jumpTo != 0 {
		return tea.Batch(took, m.jumpTo(r, r.jumpTo)) // another page, or there
	}
	text := fmt.Sprintf("Loaded %d older message%s.", len(msg.msgs), common.Plural(len(msg.msgs)))
	if r.noOlder {
		text += " That is the beginning of the room."
	}
	return tea.Batch(took, m.setStatus(text, false))
}
