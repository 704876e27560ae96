package ui

// The message cache (Options.Cache): what the chat read of rooms, kept
// on disk, so that search reads a room from disk rather than from its
// server, and a chat started again shows the room's last page at once,
// before the server answers (the preview, replaced by what the server
// says once it does).

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/ui/composer"
	"github.com/webaas-chat/webaas-chat/ui/members"
	"github.com/webaas-chat/webaas-chat/ui/messages"
)

// A Cache keeps records of rooms' messages as the server sent them
// (chat.Message.Record) by room code and sequence number, and which
// ranges of numbers were read whole; msgcache.Cache is one. The chat
// trusts nothing in it: each record is decoded and checked again
// (chat.Room.Decode), and what the server says replaces what it holds.
// It is used from several goroutines.
type Cache interface {
	// PutRoom keeps a room's own record (chat.Room.InfoRecord);
	// RoomInfo gives it back (nil: none).
	PutRoom(room string, info []byte) error
	RoomInfo(room string) ([]byte, error)
	// Put keeps what was read of from <= seq < to: msgs, replacing all
	// it held in that range.
	Put(room string, from, to int64, msgs []chat.Message) error
	// Records calls fn with the records held in [from, to), in order;
	// Newest with the newest n, in order. The bytes are fn's.
	Records(room string, from, to int64, fn func(seq int64, rec []byte)) error
	Newest(room string, n int, fn func(seq int64, rec []byte)) error
	// Missing are the ranges within [from, to) not read whole.
	Missing(room string, from, to int64) ([][2]int64, error)
	// Forget drops message seq: its record changed on the server.
	Forget(room string, seq int64) error
}

// cacheQueue runs the cache's writes off the screen's goroutine, in the
// order the screen asked for them: a page read again after a delete
// must not be overtaken by the older copy.
type cacheQueue struct {
	mu    sync.Mutex
	ops   []func()
	drain sync.Mutex // one drain at a time, each taking all queued in order
}

// push queues op; the command runs what is queued.
func (q *cacheQueue) push(op func()) tea.Cmd {
	q.mu.Lock()
	q.ops = append(q.ops, op)
	q.mu.Unlock()
	return func() tea.Msg {
		q.flush()
		return nil
	}
}

func (q *cacheQueue) flush() {
	q.drain.Lock()
	defer q.drain.Unlock()
	q.mu.Lock()
	ops := q.ops
	q.ops = nil
	q.mu.Unlock()
	for _, op := range ops {
		op()
	}
}

// FlushCache writes what the cache has still to write: for the program
// to call once the chat has ended, so that the next launch shows the
// last screen.
func (m *Model) FlushCache() { m.cacheq.flush() }

// took hands messages read from the server to the room's search index
// (once it has one) and to the cache. They are in order, and there is no
// message in between that was not read.
func (m *Model) took(r *roomView, msgs []chat.Message) tea.Cmd {
	if len(msgs) == 0 {
		return nil
	}
	var stale []int64
	if r.find.index != nil {
		stale = r.find.index.Add(msgs)
		r.find.refind()
	}
	// A delete overwrote its target on the server: the cache must not
	// keep the text either, search or no search (a delete that does not
	// count only costs a read of the record again).
	for _, msg := range msgs {
		if msg.Kind == chat.Delete && msg.Target > 0 && !slices.Contains(stale, msg.Target) {
			stale = append(stale, msg.Target)
		}
	}
	cache := m.opts.Cache
	if cache == nil {
		return nil
	}
	code, from, to, log := r.room.Code(), msgs[0].Seq, msgs[len(msgs)-1].Seq+1, m.c.Log
	return m.cacheq.push(func() {
		if from >= 1 && to > from {
			if err := cache.Put(code, from, to, msgs); err != nil {
				log.Warn("message cache: not kept", "err", err)
			}
		}
		forget(cache, code, stale, log)
	})
}

// forget drops from the cache the messages a delete overwrote on the
// server, so the next read takes what the server has now.
func forget(cache Cache, code string, seqs []int64, log interface{ Warn(string, ...any) }) {
	for _, seq := range seqs {
		if err := cache.Forget(code, seq); err != nil {
			log.Warn("message cache: deleted message not dropped", "err", err, "seq", seq)
		}
	}
}

// keep writes a room just joined to the cache: its own record and its
// newest page (the server's, which replaces what the cache held).
func keep(opts Options, room *chat.Room, latest []chat.Message) {
	if opts.Cache == nil {
		return
	}
	if err := opts.Cache.PutRoom(room.Code(), room.InfoRecord()); err != nil {
		opts.Logger.Warn("message cache: room not kept", "err", err)
	}
	if n := len(latest); n > 0 {
		if err := opts.Cache.Put(room.Code(), latest[0].Seq, latest[n-1].Seq+1, latest); err != nil {
			opts.Logger.Warn("message cache: newest page not kept", "err", err)
		}
	}
}

// The preview.

// preview is the room being logged in to, drawn from the cache while
// the server has not answered.
type preview struct {
	name, nick string
	msgs       *messages.Model
	members    *members.Model
	input      *composer.Model
	note       string // what the hint line says
	retry      backoff.Backoff
	gen        int    // a retry for a preview gone since is dropped
	invite     string // what is being logged in to
}

// previewMe is who reads the preview: the nickname being logged in with
// and the identity's key (no session yet).
type previewMe struct {
	nick string
	key  []byte
}

func (p previewMe) Nick() string     { return p.nick }
func (p previewMe) ClientID() string { return "" }
func (p previewMe) Key() []byte      { return p.key }

// retryLoginMsg is the time to log in again while the preview shows.
type retryLoginMsg struct{ gen int }

// startPreview shows the room nick logs in to from the cache, if the
// cache holds it: its newest page, checked as the server's would be.
func (m *Model) startPreview(nick, invite string) {
	m.preview = nil
	cache := m.opts.Cache
	if cache == nil || invite == "" {
		return
	}
	inv, err := chat.ParseInvite(invite)
	if err != nil {
		return
	}
	info, err := cache.RoomInfo(inv.Code)
	if err != nil || info == nil {
		return
	}
	opts := append(append([]chat.RoomOption{}, m.opts.RoomOptions...), chat.WithSecret(inv.Secret))
	room, err := m.opts.Client.RoomFromRecord(inv.Code, info, opts...)
	if err != nil {
		m.c.Log.Info("message cache: no preview", "err", err)
		return
	}
	var latest []chat.Message
	err = cache.Newest(inv.Code, pageSize, func(seq int64, rec []byte) {
		if msg, err := room.Decode(rec); err == nil && msg.Seq == seq {
			latest = append(latest, msg)
		}
	})
	if err != nil || len(latest) == 0 {
		return
	}
	var key []byte
	if id := m.opts.Session.Identity; id != nil {
		key = id.Public()
	}
	me := previewMe{nick: nick, key: key}
	p := &preview{
		name: chat.DisplayLine(room.Name()), nick: nick,
		msgs: messages.New(m.c, me), members: members.New(m.c, me.Nick), input: composer.New(m.c),
		note:  "Connecting… · the messages this chat kept are shown meanwhile · esc: login form",
		retry: m.opts.Follow.Reconnect, // the feed's pace: the same server
		gen:   m.previewGen + 1, invite: invite,
	}
	m.previewGen++
	if p.retry.Min <= 0 {
		p.retry = backoff.Backoff{Min: time.Second, Max: 30 * time.Second}
	}
	p.msgs.Add(latest)
	m.preview = p
	m.layoutPreview()
}

func (m *Model) layoutPreview() {
	p := m.preview
	if p == nil {
		return
	}
	membersW := min(max(m.width/4, 16), 28)
	bodyH := max(m.height-2-(composer.Height+2), 3)
	p.msgs.SetSize(m.width-membersW, bodyH)
	p.members.SetSize(membersW, bodyH)
	p.input.SetSize(m.width, composer.Height+2)
}

// previewFailed keeps the preview on a login that could not reach the
// server, and tries again later; false: no preview, or an error trying
// again will not mend (the login form says it).
func (m *Model) previewFailed(err error) (tea.Cmd, bool) {
	p := m.preview
	if p == nil {
		return nil, false
	}
	if !chat.Unreachable(err) {
		m.preview = nil
		return nil, false
	}
	wait := p.retry.Next()
	p.note = fmt.Sprintf("Cannot reach %s; trying again… · the messages kept are shown · esc: login form", m.opts.Server)
	gen := p.gen
	return tea.Tick(wait, func(time.Time) tea.Msg { return retryLoginMsg{gen} }), true
}

// onRetryLogin logs in again, unless the preview was left meanwhile.
func (m *Model) onRetryLogin(msg retryLoginMsg) tea.Cmd {
	p := m.preview
	if p == nil || p.gen != msg.gen || m.screen != loginScreen {
		if m.screen == loginScreen {
			m.login.SetError("Cannot reach the server at " + m.opts.Server + " (is it running?)")
		}
		return nil
	}
	nick, room := p.nick, p.invite
	opts, ctx := m.opts, m.c.Ctx
	return func() tea.Msg {
		j, err := join(ctx, opts, nick, room)
		return loginDoneMsg{joined: j, err: err}
	}
}

// onPreviewKey takes a key while the preview shows: it scrolls; esc
// leaves it for the login form (whose attempt goes on).
func (m *Model) onPreviewKey(msg tea.KeyPressMsg) tea.Cmd {
	p, k := m.preview, m.c.Keys
	switch {
	case key.Matches(msg, k.Close):
		m.preview = nil
	case key.Matches(msg, k.PageUp):
		p.msgs.ScrollUp(max(p.msgs.InnerHeight()-1, 1))
	case key.Matches(msg, k.PageDown):
		p.msgs.ScrollDown(max(p.msgs.InnerHeight()-1, 1))
	case key.Matches(msg, k.Top):
		p.msgs.Top()
	case key.Matches(msg, k.Bottom):
		p.msgs.Bottom()
	default:
		p.msgs.Update(msg) // ↑/↓ scroll
	}
	return nil
}

// previewScreen draws the preview as the chat screen would the room:
// header, messages, members (not known yet), input, and a note.
func (m *Model) previewScreen() string {
	p, st := m.preview, m.c.Styles
	state := st.Reconnecting.Render("◌ connecting")
	right := state + st.Header.Render(" ")
	name, nick := fitHeader(p.name, chat.DisplayNick(p.nick), m.width-ansi.StringWidth(right))
	left := st.HeaderRoom.Render(" "+name) + st.Header.Render(" · ") + st.HeaderNick.Render(nick+" ")
	header := left + st.Header.Render(fmt.Sprintf("%*s", max(m.width-ansi.StringWidth(left)-ansi.StringWidth(right), 0), "")) + right
	body := lipgloss.JoinHorizontal(lipgloss.Top, m.frame(p.msgs, false), m.frame(p.members, false))
	hint := common.PadRight(st.Hint.Render(ansi.Truncate(p.note, m.width, "…")), m.width)
	return header + "\n" + body + "\n" + m.frame(p.input, false) + "\n" + hint
}
