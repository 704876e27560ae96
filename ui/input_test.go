package ui

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/recall"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

var (
	tab      = tea.KeyPressMsg{Code: tea.KeyTab}
	shiftTab = tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	up       = tea.KeyPressMsg{Code: tea.KeyUp}
	down     = tea.KeyPressMsg{Code: tea.KeyDown}
	left     = tea.KeyPressMsg{Code: tea.KeyLeft}
	ctrlD    = tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}
	newline  = tea.KeyPressMsg{Code: 'j', Mod: tea.ModCtrl}
)

// threeRoom is alice's chat with bob and bea in the room, bea the last
// to write, and the member list showing all three.
func threeRoom(t *testing.T) (*Model, *roomView) {
	t.Helper()
	ctx := context.Background()
	m, r, bob := actionsRoom(t)
	bea, err := r.room.Join(ctx, "bea", chat.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bea.Close)
	if _, err := bob.Send(ctx, "morning"); err != nil {
		t.Fatal(err)
	}
	last, err := bea.Send(ctx, "hi all")
	if err != nil {
		t.Fatal(err)
	}
	members := false
	feedUntil(t, m, r, "bea's line and the members", func(ev *chat.Event) bool {
		if ev != nil && ev.Kind == chat.Members && len(ev.Members) == 3 {
			members = true
		}
		return members && r.msgs.NewestSeq() >= last.Seq
	})
	return m, r
}

// Tab completes the nickname before the cursor, the most recently active
// first, and goes through the others, shift+tab back; at the start of
// the line it addresses ("bea: "), elsewhere it is a word ("bea "); the
// rest of the draft is left as it was.
func TestTabCompletesNicknames(t *testing.T) {
	m, r := threeRoom(t)
	typeText(m, "B")
	m.Update(tab)
	if got := r.input.Value(); got != "bea: " {
		t.Fatalf("tab after B: %q, want bea (the last to write) addressed", got)
	}
	if hint := m.chatHint(r); !strings.Contains(hint, "[bea]") || !strings.Contains(hint, "bob") {
		t.Errorf("the hint does not show the matches: %q", hint)
	}
	m.Update(tab)
	if got := r.input.Value(); got != "bob: " {
		t.Fatalf("second tab: %q", got)
	}
	m.Update(tab)
	if got := r.input.Value(); got != "bea: " {
		t.Fatalf("third tab goes round: %q", got)
	}
	m.Update(shiftTab)
	if got := r.input.Value(); got != "bob: " {
		t.Fatalf("shift+tab: %q", got)
	}
	typeText(m, "ok")
	if got := r.input.Value(); got != "bob: ok" || r.comp != nil {
		t.Fatalf("typing after a completion: %q (completion %v)", got, r.comp)
	}
	if m.focus != focusInput {
		t.Fatal("completing moved the focus")
	}

	// In a multi-line draft, in the middle of a line: only the word.
	r.input.Reset()
	typeText(m, "first line")
	m.Update(newline)
	typeText(m, "thanks bo there")
	for range len(" there") {
		m.Update(left)
	}
	m.Update(tab)
	if got := r.input.Value(); got != "first line\nthanks bob there" {
		t.Fatalf("mid-line completion: %q", got)
	}
	typeText(m, "!")
	if got := r.input.Value(); got != "first line\nthanks bob! there" {
		t.Fatalf("the cursor is not after the name: %q", got)
	}
	// At the start of a later line it is a name in a sentence, not an
	// address: a space, not ": ".
	r.input.Reset()
	typeText(m, "first line")
	m.Update(newline)
	typeText(m, "bo")
	m.Update(tab)
	if got := r.input.Value(); got != "first line\nbob " {
		t.Fatalf("completion on a later line: %q", got)
	}
}

// Tab moves to the next pane when there is nothing to complete: an empty
// input, a space before the cursor, a word nobody's name starts with,
// the cursor inside a word; and it never completes your own nickname.
func TestTabMovesPanesWithNothingToComplete(t *testing.T) {
	m, r := threeRoom(t)
	for _, draft := range []string{"", "hi ", "zed", "ali"} {
		r.input.SetValue(draft)
		m.setFocus(focusInput)
		m.Update(tab)
		if m.focus != focusMessages || r.input.Value() != draft {
			t.Errorf("tab with %q: focus %d, input %q", draft, m.focus, r.input.Value())
		}
	}
	r.input.SetValue("bo")
	m.setFocus(focusInput)
	m.Update(left)
	m.Update(tab)
	if m.focus != focusMessages || r.input.Value() != "bo" {
		t.Errorf("tab inside a word: focus %d, input %q", m.focus, r.input.Value())
	}
}

// Tab completes /commands from the command table, and after "/join "
// the other rooms by name; enter on the name switches to the room.
func TestTabCompletesCommandsAndRooms(t *testing.T) {
	m, r := threeRoom(t)
	design, err := m.opts.Client.CreateRoom(context.Background(), "design reviews", chat.Encrypted())
	if err != nil {
		t.Fatal(err)
	}
	runCmd(t, m, m.command(r, "/join "+design.Invite(m.opts.Server).String()))
	t.Cleanup(m.room().session.Close)
	m.switchTo(0)
	m.setFocus(focusInput)

	typeText(m, "/jo")
	m.Update(tab)
	if got := r.input.Value(); got != "/join " {
		t.Fatalf("/jo: %q", got)
	}
	m.Update(tab) // the one command: Tab goes on to the rooms
	if got := r.input.Value(); got != "/join design reviews" {
		t.Fatalf("/join then tab: %q", got)
	}
	m.Update(enter)
	if m.room().room.Code() != design.Code() {
		t.Fatalf("/join by name is on %q", m.room().name())
	}

	m.switchTo(0)
	r.input.Reset()
	typeText(m, "/n")
	m.Update(tab)
	first := r.input.Value()
	m.Update(tab)
	second := r.input.Value()
	if !slices.Equal([]string{first, second}, []string{"/nick ", "/notify "}) {
		t.Fatalf("/n, tab, tab: %q, %q", first, second)
	}
}

func TestGoldenCompletion(t *testing.T) {
	m := loggedIn(t, 100, 30)
	feed(m, chat.Event{Kind: chat.Members, Members: append(fixtureMembers(), chat.Member{Nick: "dan"})})
	typeText(m, "d")
	m.Update(tab)
	golden.RequireEqual(t, shown(m))
}

// ↑ on the input's first row recalls what was sent here, older each
// time; ↓ on its last row newer, and past the newest the draft. A
// refused message is not kept, a command is, an invite never reaches the
// file; after a restart ↑ still recalls the last line.
func TestUpRecallsWhatWasSent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", recall.FileName)
	store, err := recall.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, r, _ := actionsRoom(t)
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 30}) // the invite below fits one row
	m.opts.Recall = store
	send := func(line string) {
		t.Helper()
		r.input.SetValue(line)
		_, cmd := m.Update(enter)
		if sent := findMsg[sentMsg](t, cmd); sent.err != nil {
			t.Fatal(sent.err)
		} else {
			m.Update(sent)
		}
	}
	send("first")
	send("second\nits second line")
	send("/me waves")
	r.input.SetValue("/nick")
	m.Update(enter) // a command: kept, though it only said how to use it
	r.input.SetValue(strings.Repeat("x", chat.MaxText+1))
	m.Update(enter) // refused: stays in the input, not kept
	invite := "/join webaas-chat+http://127.0.0.1:1/" + fakeCode + "#" + fakeSecret
	r.input.SetValue(invite)
	m.Update(enter) // (the join it starts is not run)

	r.input.Reset()
	typeText(m, "a draft")
	var got []string
	for range 6 {
		m.Update(up)
		got = append(got, r.input.Value())
	}
	want := []string{invite, "/nick", "/me waves", "second\nits second line", "second\nits second line", "first"}
	// The multi-line one is recalled with the cursor at its end: the
	// first ↑ there moves to its first line, the next recalls the older.
	if !slices.Equal(got, want) {
		t.Fatalf("↑ six times:\n got %q\nwant %q", got, want)
	}
	m.Update(up)
	if r.input.Value() != "first" {
		t.Fatalf("↑ past the oldest: %q", r.input.Value())
	}
	for _, want := range []string{"second\nits second line", "/me waves", "/nick", invite, "a draft"} {
		m.Update(down)
		if r.input.Value() != want {
			t.Fatalf("↓: %q, want %q", r.input.Value(), want)
		}
	}
	m.Update(down)
	if r.input.Value() != "a draft" {
		t.Fatalf("↓ past the draft: %q", r.input.Value())
	}

	// In a multi-line draft, ↑ moves up a line before it recalls.
	r.input.Reset()
	typeText(m, "one")
	m.Update(newline)
	typeText(m, "two")
	m.Update(up)
	if r.input.Value() != "one\ntwo" {
		t.Fatalf("↑ on a draft's second line recalled: %q", r.input.Value())
	}
	m.Update(up)
	if r.input.Value() != invite {
		t.Fatalf("↑ on its first line: %q", r.input.Value())
	}

	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := recall.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	kept := again.Load(r.room.Code())
	if !slices.Equal(kept, []string{"first", "second\nits second line", "/me waves", "/nick"}) {
		t.Fatalf("the file keeps %q", kept)
	}

	// A restart: a new chat in the room recalls the last line.
	m2 := New(context.Background(), Options{Client: m.opts.Client, Server: m.opts.Server, Location: time.UTC, Recall: again})
	m2.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m2, "alice2", r.invite())
	m2.Update(up)
	if got := m2.room().input.Value(); got != "/nick" {
		t.Fatalf("after a restart ↑ shows %q", got)
	}
}

// ctrl+d deletes the character under the cursor while the input holds a
// draft, and logs out only from an empty input; from another pane, a
// draft keeps it from logging out too.
func TestCtrlDDeletesInADraft(t *testing.T) {
	m := loggedIn(t, 80, 24)
	r := m.room()
	typeText(m, "helo")
	m.Update(left)
	m.Update(left)
	m.Update(ctrlD)
	if got := r.input.Value(); got != "heo" || m.screen != chatScreen {
		t.Fatalf("ctrl+d in a draft: input %q, screen %v", got, m.screen)
	}
	m.setFocus(focusMessages)
	m.Update(ctrlD)
	if m.screen != chatScreen || !strings.Contains(m.status.text, "once the input is empty") {
		t.Fatalf("ctrl+d from the messages with a draft: screen %v, status %q", m.screen, m.status.text)
	}
	r.input.Reset()
	m.Update(ctrlD)
	if m.screen != loginScreen {
		t.Fatal("ctrl+d with an empty input did not log out")
	}
}

// Home, End, ctrl+a and ctrl+e move within the input's line while it is
// focused; focused, the messages pane's home and end still go to the
// oldest and newest.
func TestHomeEndInTheInput(t *testing.T) {
	m := loggedIn(t, 80, 24)
	r := m.room()
	var more []chat.Message
	for i := int64(11); i <= 60; i++ {
		more = append(more, chat.Message{Seq: i, Nick: "carol", Text: "a line", Sent: day0})
	}
	r.msgs.Add(more) // more than the pane shows: home scrolls
	typeText(m, "hello")
	m.Update(tea.KeyPressMsg{Code: tea.KeyHome})
	typeText(m, "X")
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnd})
	typeText(m, "Y")
	m.Update(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl})
	typeText(m, "Z")
	m.Update(tea.KeyPressMsg{Code: 'e', Mod: tea.ModCtrl})
	typeText(m, "W")
	if got := r.input.Value(); got != "ZXhelloYW" {
		t.Fatalf("home/end/ctrl+a/ctrl+e in the input: %q", got)
	}
	if !r.msgs.Following() {
		t.Fatal("keys in the input scrolled the messages")
	}
	m.setFocus(focusMessages)
	m.Update(tea.KeyPressMsg{Code: tea.KeyHome})
	if r.msgs.Following() {
		t.Fatal("home in the messages pane did not scroll to the oldest")
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnd})
	if !r.msgs.Following() {
		t.Fatal("end in the messages pane did not return to the newest")
	}
}

// On the login screen "?" is text, and the hint says f1 opens the help.
func TestQuestionMarkIsTextOnTheLoginScreen(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "", "")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 20})
	typeText(m, "al?")
	s := shown(m)
	if m.showHelp || !strings.Contains(s, "al?") {
		t.Fatalf("? on the login screen: help %v, screen:\n%s", m.showHelp, s)
	}
	if !strings.Contains(s, "f1 help") || strings.Contains(s, "?/f1") {
		t.Fatalf("the login hint:\n%s", s)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyF1})
	if !m.showHelp {
		t.Fatal("f1 on the login screen shows no help")
	}
}

// clipboard is what cmd (or a part of its batch) puts on the clipboard.
func clipboard(t *testing.T, cmd tea.Cmd) string {
	t.Helper()
	want := reflect.TypeOf(tea.SetClipboard("")())
	var find func(tea.Cmd) (string, bool)
	find = func(c tea.Cmd) (string, bool) {
		if c == nil {
			return "", false
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- c() }()
		select {
		case msg := <-done:
			if batch, ok := msg.(tea.BatchMsg); ok {
				for _, sub := range batch {
					if s, ok := find(sub); ok {
						return s, true
					}
				}
			}
			if reflect.TypeOf(msg) == want {
				return reflect.ValueOf(msg).String(), true
			}
		case <-time.After(100 * time.Millisecond): // a timer: not it
		}
		return "", false
	}
	s, ok := find(cmd)
	if !ok {
		t.Fatal("nothing put on the clipboard")
	}
	return s
}

// /copy and y in the help copy the invite of an encrypted room (the code
// of a room in the clear) and say so.
func TestCopyInvite(t *testing.T) {
	m := loggedIn(t, 100, 30)
	r := m.room()
	if got := clipboard(t, m.command(r, "/copy")); got != r.invite() || !strings.Contains(got, "#") {
		t.Fatalf("/copy put %q on the clipboard, want the invite", got)
	}
	if !strings.Contains(m.status.text, "Invite copied") {
		t.Fatalf("status %q", m.status.text)
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 45}) // tall enough for the invite
	m.Update(tea.KeyPressMsg{Code: tea.KeyF1})
	if s := shown(m); !strings.Contains(s, "y or /copy copies it") || !strings.Contains(s, "y      copy invite") {
		t.Errorf("the help does not say y copies:\n%s", shown(m))
	}
	m.status.text = ""
	_, cmd := m.Update(press('y'))
	if got := clipboard(t, cmd); got != r.invite() || !m.showHelp || !strings.Contains(m.status.text, "Invite copied") {
		t.Fatalf("y in the help: %q, help %v, status %q", got, m.showHelp, m.status.text)
	}

	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	clear, err := c.CreateRoom(context.Background(), "in the clear")
	if err != nil {
		t.Fatal(err)
	}
	m2 := newTestModel(t, srv, "alice", clear.Code())
	m2.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m2, "alice", clear.Code())
	if got := clipboard(t, m2.command(m2.room(), "/copy")); got != clear.Code() || !strings.Contains(m2.status.text, "Room code copied") {
		t.Fatalf("/copy in the clear: %q, status %q", got, m2.status.text)
	}
}

// A nickname renamed away leaves the member list: bob becomes robert,
// and only robert is listed.
func TestRenamedNicknameLeavesTheMemberList(t *testing.T) {
	m, r, bob := actionsRoom(t)
	if err := bob.Rename(context.Background(), "robert"); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "robert in the members", func(ev *chat.Event) bool {
		for _, mb := range r.members.Members() {
			if mb.Nick == "robert" {
				return true
			}
		}
		return false
	})
	var nicks []string
	for _, mb := range r.members.Members() {
		nicks = append(nicks, mb.Nick)
	}
	if !slices.Equal(nicks, []string{"alice", "robert"}) {
		t.Fatalf("members %q, want alice and robert", nicks)
	}
	if s := shown(m); strings.Contains(s, "○ bob") {
		t.Fatalf("bob is still listed:\n%s", s)
	}
}

// A member's lines under a nickname renamed away count as theirs: bob
// became robert after carol wrote, so robert comes first.
func TestCompletionFollowsRenames(t *testing.T) {
	m := loggedIn(t, 100, 30)
	typeText(m, "hi @")
	m.Update(tab)
	r := m.room()
	if got := r.input.Value(); got != "hi @robert " {
		t.Fatalf("hi @, tab: %q", got)
	}
	if hint := ansi.Strip(m.chatHint(r)); !strings.Contains(hint, "[robert] carol dave") {
		t.Fatalf("the order: %q", hint)
	}
}
