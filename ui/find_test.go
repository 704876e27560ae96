package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/msgcache"
	"github.com/webaas-chat/webaas-chat/ui/login"
	"github.com/webaas-chat/webaas-chat/ui/messages"
	"github.com/webaas-chat/webaas-chat/ui/search"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

var ctrlF = tea.KeyPressMsg{Code: 'f', Mod: tea.ModCtrl}

// sendMany sends n lines as s, concurrently (the session batches them),
// and waits for all.
func sendMany(t *testing.T, s *chat.Session, n int, text func(i int) string) {
	t.Helper()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range work {
				if _, err := s.Send(context.Background(), text(i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
}

// searchUntilShown runs the search's steps (the index's fill, then the
// pages a jump loads) until match seq is selected.
func searchUntilShown(t *testing.T, m *Model, r *roomView, cmd tea.Cmd, seq int64) {
	t.Helper()
	for r.find.waiting {
		_, cmd = m.Update(findMsg[fillMsg](t, cmd))
	}
	if r.find.fillErr != "" {
		t.Fatalf("search: %s", r.find.fillErr)
	}
	for range 200 {
		if sel, _, ok := r.msgs.Selected(); ok && sel.Seq == seq {
			return
		}
		_, cmd = m.Update(findMsg[olderMsg](t, cmd))
	}
	t.Fatalf("message %d never selected", seq)
}

// searchRoom is an encrypted room on a real server with bob in it
// (signing), and its invite as the test models' server names it.
func searchRoom(t *testing.T) (*servertest.Server, *chat.Session, string) {
	t.Helper()
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	room, err := c.CreateRoom(context.Background(), "search", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	bob, err := room.Join(context.Background(), "bob", chat.SessionOptions{Identity: mustIdentity(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bob.Close)
	return srv, bob, room.Invite("http://127.0.0.1:11232").String()
}

// carol logs in to the room afresh: its newest page only.
func carol(t *testing.T, srv *servertest.Server, invite string) (*Model, *roomView) {
	t.Helper()
	m := newTestModel(t, srv, "carol", invite)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m, "carol", invite)
	return m, m.room()
}

// marked reports whether the view shows text in the Match style.
func marked(m *Model, r *roomView, text string) bool {
	open, _, _ := strings.Cut(m.c.Styles.Match.Render("x"), "x")
	return strings.Contains(r.msgs.View(), open+text)
}

// Through a real server, in an encrypted room, as a person would: a
// word 5,000 messages back is found (the index reads the whole room,
// showing its progress) and jumped to (the pane loads the pages down to
// it); n and N move between the matches, counted; esc ends it all.
func TestSearchFindsAWordFarBack(t *testing.T) {
	srv, bob, invite := searchRoom(t)
	old, err := bob.Send(context.Background(), "the Needle, long ago")
	if err != nil {
		t.Fatal(err)
	}
	sendMany(t, bob, 2500, func(i int) string { return fmt.Sprint("filler ", i) })
	recent, err := bob.Send(context.Background(), "a newer needle")
	if err != nil {
		t.Fatal(err)
	}
	sendMany(t, bob, 2500, func(i int) string { return fmt.Sprint("more filler ", i) })

	m, r := carol(t, srv, invite)
	if !r.room.Encrypted() {
		t.Fatal("the test room is not encrypted")
	}
	if r.msgs.OldestSeq() <= recent.Seq {
		t.Fatalf("the login loaded from %d: the matches are on screen already", r.msgs.OldestSeq())
	}
	r.input.SetValue("/search needle")
	_, cmd := m.Update(enter)
	if !r.find.waiting || !strings.Contains(m.chatHint(r), "searching… 0 of ") {
		t.Fatalf("no progress shown: %q", m.chatHint(r))
	}
	_, cmd = m.Update(findMsg[fillMsg](t, cmd))
	if hint := m.chatHint(r); !strings.Contains(hint, "searching… 2,000 of 5,00") {
		t.Fatalf("progress after one step: %q", hint)
	}
	searchUntilShown(t, m, r, cmd, recent.Seq)
	if hint := m.chatHint(r); !strings.Contains(hint, `search "needle": 1 of 2`) {
		t.Fatalf("hint %q", hint)
	}
	if !marked(m, r, "needle") {
		t.Fatalf("the match is not highlighted:\n%s", shown(m))
	}

	// n: the older one, 5,000 messages back; the pane loads down to it.
	_, cmd = m.Update(press('n'))
	searchUntilShown(t, m, r, cmd, old.Seq)
	if s := shown(m); !strings.Contains(s, "the Needle, long ago") || !strings.Contains(s, "2 of 2") || !marked(m, r, "Needle") {
		t.Fatalf("after n:\n%s", s)
	}
	if r.msgs.OldestSeq() > old.Seq {
		t.Fatalf("oldest held %d", r.msgs.OldestSeq())
	}
	// N: back to the newer; n again wraps round to the newest.
	m.Update(press('N'))
	if sel, _, _ := r.msgs.Selected(); sel.Seq != recent.Seq || !strings.Contains(m.chatHint(r), "1 of 2") {
		t.Fatalf("N selected %d; hint %q", sel.Seq, m.chatHint(r))
	}
	// esc: no search, no highlight, no selection.
	m.Update(esc)
	if r.find.active || r.msgs.Selecting() || marked(m, r, "needle") || r.msgs.Highlight() != "" {
		t.Fatal("esc left the search on")
	}
	// The index stays: the next search reads nothing.
	r.input.SetValue("/search FILLER 2499")
	_, cmd = m.Update(enter)
	if r.find.waiting {
		t.Fatal("a second search reads the room again")
	}
	if len(r.find.matches) != 2 {
		t.Fatalf("filler 2499: %d matches", len(r.find.matches))
	}
	_ = cmd
}

// The prompt (ctrl+f): typing, enter runs the search and goes on to
// older matches, shift+enter and ↓ back; tab leaves it with the search
// on; an empty query says how to search.
func TestSearchPrompt(t *testing.T) {
	m := loggedIn(t, 100, 30)
	r := m.room()
	seedIndex(r, fixtureMessages())
	m.Update(ctrlF)
	if r.find.prompt == nil || !strings.Contains(m.chatHint(r), "search:") {
		t.Fatalf("ctrl+f: %q", m.chatHint(r))
	}
	typeText(m, "GREEN")
	if r.input.Value() != "" {
		t.Fatalf("the query went to the input: %q", r.input.Value())
	}
	m.Update(enter)
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 4 || !strings.Contains(m.chatHint(r), "1 of 2") {
		t.Fatalf("enter: selected %d, %q", sel.Seq, m.chatHint(r))
	}
	m.Update(enter)
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 3 || !strings.Contains(m.chatHint(r), "2 of 2") {
		t.Fatalf("enter again: selected %d, %q", sel.Seq, m.chatHint(r))
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter, Mod: tea.ModShift})
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 4 {
		t.Fatalf("shift+enter: selected %d", sel.Seq)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 3 {
		t.Fatalf("↓ (wrapping round): selected %d", sel.Seq)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	if r.find.prompt != nil || !r.find.active {
		t.Fatal("tab did not leave the prompt with the search on")
	}
	m.Update(press('n'))
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 4 {
		t.Fatalf("n after tab: selected %d", sel.Seq)
	}
	// ctrl+f again holds the query; typing replaces it (an editing key
	// would keep it). A query that finds nothing says so.
	m.Update(ctrlF)
	if got := r.find.prompt.Value(); got != "GREEN" {
		t.Fatalf("ctrl+f again holds %q", got)
	}
	typeText(m, "purple")
	if got := r.find.prompt.Value(); got != "purple" {
		t.Fatalf("typing after ctrl+f made %q", got)
	}
	m.Update(enter)
	if !strings.Contains(m.chatHint(r), "no match") {
		t.Fatalf("no match: %q", m.chatHint(r))
	}
	m.Update(esc)
	if r.find.active || r.find.prompt != nil {
		t.Fatal("esc in the prompt left the search on")
	}
	m.command(r, "/search    ")
	if r.find.prompt == nil {
		t.Fatal("/search with nothing does not open the prompt")
	}
	// "?" is part of a query, not the help; a paste is the query too.
	typeText(m, "green?")
	m.Update(tea.PasteMsg{Content: " since"})
	if m.showHelp || r.find.prompt.Value() != "green? since" || r.input.Value() != "" {
		t.Fatalf("help %v, query %q, input %q", m.showHelp, r.find.prompt.Value(), r.input.Value())
	}
}

// seedIndex stands in for the room's index with msgs (the fixture, which
// the server does not hold).
func seedIndex(r *roomView, msgs []chat.Message) {
	r.find.index = search.New(nil, messages.PlainText)
	r.find.index.Add(msgs)
	r.find.low, r.find.top = 1, msgs[len(msgs)-1].Seq
}

// TestGoldenSearch: the matches highlighted (reverse video, escapes kept
// in the golden file), the current one selected, the prompt and count.
func TestGoldenSearch(t *testing.T) {
	m := loggedIn(t, 100, 30)
	r := m.room()
	seedIndex(r, fixtureMessages())
	m.Update(ctrlF)
	typeText(m, "green")
	m.Update(enter)
	checkFills(t, "search", m.View().Content, 100, 30)
	golden.RequireEqual(t, strings.ReplaceAll(m.View().Content, r.room.Code(), fakeCode))
}

// Edits and deletes are honoured, as every client applies them: an
// edited line is found by its new text only, a deleted one not at all.
func TestSearchHonoursEditsAndDeletes(t *testing.T) {
	ctx := context.Background()
	srv, bob, invite := searchRoom(t)
	pie, err := bob.Send(ctx, "apple pie for everyone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Edit(ctx, pie, "banana split for everyone"); err != nil {
		t.Fatal(err)
	}
	tart, err := bob.Send(ctx, "cherry tart, secretly")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Delete(ctx, tart); err != nil {
		t.Fatal(err)
	}
	m, r := carol(t, srv, invite)
	for query, want := range map[string]int{"apple": 0, "BANANA": 1, "cherry": 0, "everyone": 1} {
		cmd := m.command(r, "/search "+query)
		for r.find.waiting {
			_, cmd = m.Update(findMsg[fillMsg](t, cmd))
		}
		if len(r.find.matches) != want {
			t.Errorf("%s: %d matches, want %d", query, len(r.find.matches), want)
		}
		if want > 0 && !marked(m, r, strings.ToLower(query)) {
			t.Errorf("%s: not highlighted:\n%s", query, shown(m))
		}
		m.Update(esc)
	}
}

// openCacheT is a message cache in dir, closed when the test ends.
func openCacheT(t *testing.T, dir string) *msgcache.Cache {
	t.Helper()
	c, err := msgcache.Open(dir, msgcache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A search keeps what it read in the cache; the next launch's search
// reads it from there, and works with the server gone.
func TestSearchReadsTheCache(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	dir := t.TempDir()
	cache := openCacheT(t, dir)
	m.opts.Cache = cache
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m, "alice", "")
	r := m.room()
	bob, err := r.room.Join(context.Background(), "bob", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	sendMany(t, bob, 3000, func(i int) string { return fmt.Sprint("line ", i) })
	if _, err := bob.Send(context.Background(), "the last word"); err != nil {
		t.Fatal(err)
	}
	head, _ := r.room.Head(context.Background())
	invite := r.invite()

	// A second chat, with its own view of the room, fills the cache.
	m2 := newTestModel(t, srv, "carol", "")
	m2.opts.Cache = cache
	m2.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m2, "carol", invite)
	r2 := m2.room()
	cmd := m2.command(r2, "/search line 1234")
	for r2.find.waiting {
		_, cmd = m2.Update(findMsg[fillMsg](t, cmd))
	}
	m2.FlushCache()
	if missing, err := cache.Missing(r2.room.Code(), 1, head+1); err != nil || len(missing) != 0 {
		t.Fatalf("after a search the cache misses %v (%v)", missing, err)
	}

	// A third, the server gone once it has logged in: its search reads
	// the room from the cache alone.
	m3 := newTestModel(t, srv, "dave", "")
	m3.opts.Cache = cache
	m3.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m3, "dave", invite)
	srv.Stop()
	r3 := m3.room()
	cmd = m3.command(r3, "/search line 1234")
	for r3.find.waiting {
		_, cmd = m3.Update(findMsg[fillMsg](t, cmd))
	}
	if r3.find.fillErr != "" || len(r3.find.matches) != 1 {
		t.Fatalf("with the server gone: %d matches, %q", len(r3.find.matches), r3.find.fillErr)
	}
}

// A chat started again shows the room's last page from the cache at
// once, before the server answers; with the server down it stays and
// tries again; once the server answers, what it says replaces the page.
func TestRestartShowsTheLastScreenFromTheCache(t *testing.T) {
	srv := servertest.Start(t)
	dir := t.TempDir()
	m := newTestModel(t, srv, "alice", "")
	m.opts.Cache = openCacheT(t, dir)
	m.opts.Session.Owner = "this installation" // the next launch gets alice back at once
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m, "alice", "")
	r := m.room()
	bob, err := r.room.Join(context.Background(), "bob", chat.SessionOptions{Identity: mustIdentity(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if _, err := bob.Send(context.Background(), "see you tomorrow"); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "bob's line", func(*chat.Event) bool { return strings.Contains(shown(m), "see you tomorrow") })
	invite := r.invite()
	m.FlushCache()
	m.opts.Cache.(*msgcache.Cache).Close()
	// While away: a line this chat never read.
	if _, err := bob.Send(context.Background(), "written while you were away"); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	// Started again, the server down.
	m2 := newTestModel(t, srv, "alice", invite)
	m2.opts.Cache = openCacheT(t, dir)
	m2.opts.Session.Owner = m.opts.Session.Owner
	m2.opts.AutoLogin = true
	m2.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	req := m2.Init()().(login.Request)
	_, cmd := m2.Update(req)
	s := shown(m2)
	if !strings.Contains(s, "see you tomorrow") || !strings.Contains(s, "connecting") || strings.Contains(s, "while you were away") {
		t.Fatalf("at once, before the server answers:\n%s", s)
	}
	checkFills(t, "preview", m2.View().Content, 100, 30)
	_, cmd = m2.Update(findMsg[loginDoneMsg](t, cmd))
	if s := shown(m2); !strings.Contains(s, "see you tomorrow") || !strings.Contains(s, "Cannot reach http://127.0.0.1:11232; trying again") {
		t.Fatalf("the server down:\n%s", s)
	}
	srv.Restart()
	_, cmd = m2.Update(findMsg[retryLoginMsg](t, cmd))
	done := findMsg[loginDoneMsg](t, cmd)
	if done.err != nil {
		t.Fatal(done.err)
	}
	t.Cleanup(func() { m2.endRooms(); done.session.Close() })
	m2.Update(done)
	if m2.screen != chatScreen || m2.preview != nil {
		t.Fatal("logged in, the preview is still shown")
	}
	if s := shown(m2); !strings.Contains(s, "written while you were away") || !strings.Contains(s, "see you tomorrow") {
		t.Fatalf("what the server says:\n%s", s)
	}
}

// tamperedCache changes every record it gives back that holds a text:
// what a file changed on disk would give.
type tamperedCache struct {
	Cache
	from, to string
}

func (c tamperedCache) tamper(rec []byte) []byte {
	m := &chatpb.Message{}
	if proto.Unmarshal(rec, m) != nil || !strings.Contains(m.Text, c.from) {
		return rec
	}
	m.Text = strings.ReplaceAll(m.Text, c.from, c.to)
	out, _ := proto.Marshal(m)
	return out
}

func (c tamperedCache) Newest(room string, n int, fn func(int64, []byte)) error {
	return c.Cache.Newest(room, n, func(seq int64, rec []byte) { fn(seq, c.tamper(rec)) })
}

func (c tamperedCache) Records(room string, from, to int64, fn func(int64, []byte)) error {
	return c.Cache.Records(room, from, to, func(seq int64, rec []byte) { fn(seq, c.tamper(rec)) })
}

// A cache entry changed on disk is never shown as its author's: its
// signature no longer holds, so the line is marked unverified.
func TestTamperedCacheIsNotVerified(t *testing.T) {
	srv := servertest.Start(t)
	c, _ := chat.Dial(srv.URL())
	room, err := c.CreateRoom(context.Background(), "in the clear") // not sealed: the text is there to change
	if err != nil {
		t.Fatal(err)
	}
	bob, err := room.Join(context.Background(), "bob", chat.SessionOptions{Identity: mustIdentity(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	if _, err := bob.Send(context.Background(), "meet at noon"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := newTestModel(t, srv, "alice", room.Code())
	m.opts.Cache = openCacheT(t, dir)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m, "alice", room.Code())
	m.FlushCache()

	m2 := newTestModel(t, srv, "alice", room.Code())
	m2.opts.Cache = tamperedCache{Cache: m.opts.Cache, from: "noon", to: "midnight"}
	m2.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m2.loginCmd("alice", room.Code()) // the preview; the login itself is not run
	if m2.preview == nil {
		t.Fatal("no preview")
	}
	var line chat.Message
	for _, msg := range m2.preview.msgs.Messages() {
		if strings.Contains(msg.Text, "midnight") {
			line = msg
		}
	}
	if line.Trust == chat.Verified || line.Trust != chat.Forged {
		t.Fatalf("the changed line's trust: %v", line.Trust)
	}
	if s := shown(m2); !strings.Contains(s, "⚠ bob (unverified): meet at midnight") {
		t.Fatalf("the changed line is not marked:\n%s", s)
	}
}

// A message deleted while the chat watches leaves the cache too, with no
// search ever run: its text must not stay on disk.
func TestDeletedMessageLeavesTheCache(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	cache := openCacheT(t, t.TempDir())
	m.opts.Cache = cache
	m.opts.Session.Identity = mustIdentity(t)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m, "alice", "")
	r := m.room()
	sent := findMsg[sentMsg](t, m.send(r, chat.Text, "my password is hunter2"))
	m.Update(sent)
	feedUntil(t, m, r, "the line", func(ev *chat.Event) bool {
		return holds(ev, func(x chat.Message) bool { return x.Seq == sent.msg.Seq })
	})
	held := func() (kinds []chat.Kind) {
		m.FlushCache()
		err := cache.Records(r.room.Code(), sent.msg.Seq, sent.msg.Seq+1, func(_ int64, rec []byte) {
			msg, err := r.room.Decode(rec)
			if err != nil {
				t.Fatal(err)
			}
			kinds = append(kinds, msg.Kind)
		})
		if err != nil {
			t.Fatal(err)
		}
		return kinds
	}
	if got := held(); len(got) != 1 || got[0] != chat.Text {
		t.Fatalf("before the delete the cache holds %v", got)
	}
	m.Update(altUp)
	m.Update(press('d'))
	_, cmd := m.Update(press('y'))
	if acted := findMsg[actedMsg](t, cmd); acted.err != nil {
		t.Fatal(acted.err)
	}
	feedUntil(t, m, r, "the delete", func(ev *chat.Event) bool {
		return holds(ev, func(x chat.Message) bool { return x.Kind == chat.Delete })
	})
	for _, k := range held() {
		if k != chat.Removed {
			t.Fatalf("after the delete the cache still holds the message (%v)", k)
		}
	}
}

// The search matches what the pane shows: a phrase split by Markdown
// markers is found, and marked where it is drawn.
func TestSearchMatchesTheShownText(t *testing.T) {
	m := loggedIn(t, 100, 30)
	r := m.room()
	msgs := append(fixtureMessages(), chat.Message{Seq: 11, Nick: "bob", Text: "the **deploy** failed again", Sent: day0})
	r.msgs.Add(msgs[10:])
	seedIndex(r, msgs)
	m.command(r, "/search deploy failed")
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 11 || !strings.Contains(m.chatHint(r), "1 of 1") {
		t.Fatalf("selected %d, %q", sel.Seq, m.chatHint(r))
	}
	marked := false
	for _, line := range strings.Split(m.View().Content, "\n") {
		if strings.Contains(ansi.Strip(line), "failed again") {
			marked = strings.Contains(line, "7m")
		}
	}
	if !marked {
		t.Fatal("the match is not marked where it is drawn")
	}
	m.command(r, "/search **deploy")
	if !strings.Contains(m.chatHint(r), "no match") {
		t.Fatalf("markers are not what the pane shows: %q", m.chatHint(r))
	}
}
