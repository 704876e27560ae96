package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

var (
	altUp = tea.KeyPressMsg{Code: tea.KeyUp, Mod: tea.ModAlt}
	enter = tea.KeyPressMsg{Code: tea.KeyEnter}
	esc   = tea.KeyPressMsg{Code: tea.KeyEscape}
)

func press(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

// typeText types s into m, key by key; it returns what the last key
// asked to run.
func typeText(m *Model, s string) tea.Cmd {
	var cmd tea.Cmd
	for _, r := range s {
		_, cmd = m.Update(press(r))
	}
	return cmd
}

// actionsRoom is alice's chat (signing) in a new room on a real server,
// with bob in it as a session of his own (signing too).
func actionsRoom(t *testing.T) (m *Model, r *roomView, bob *chat.Session) {
	t.Helper()
	srv := servertest.Start(t)
	m = newTestModel(t, srv, "alice", "")
	m.opts.Session.Identity = mustIdentity(t)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	logIn(t, m, "alice", "")
	r = m.room()
	bob, err := r.room.Join(context.Background(), "bob", chat.SessionOptions{Identity: mustIdentity(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bob.Close)
	return m, r, bob
}

// Through a real server, as a person would: select bob's line, reply to
// it; edit the reply with /edit; delete a line with d and y; react with
// + and 1, bob too; each is shown as every client shows it.
func TestReplyEditDeleteReact(t *testing.T) {
	ctx := context.Background()
	m, r, bob := actionsRoom(t)
	question, err := bob.Send(ctx, "is the build green?")
	if err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "bob's question", func(ev *chat.Event) bool {
		return holds(ev, func(x chat.Message) bool { return x.Seq == question.Seq })
	})

	// Reply.
	m.Update(altUp)
	if sel, _, ok := r.msgs.Selected(); !ok || sel.Seq != question.Seq {
		t.Fatalf("alt+↑ selected %+v", sel)
	}
	m.Update(press('r'))
	if r.replyTo != question.Seq || !strings.Contains(shown(m), "↳ replying to bob: is the build green?") {
		t.Fatalf("r: replying to %d; screen:\n%s", r.replyTo, shown(m))
	}
	typeText(m, "green since noon")
	_, cmd := m.Update(enter)
	m.Update(findMsg[sentMsg](t, cmd))
	feedUntil(t, m, r, "the reply", func(ev *chat.Event) bool {
		return holds(ev, func(x chat.Message) bool { return x.ReplyTo == question.Seq })
	})
	if s := shown(m); !strings.Contains(s, "↳ bob: is the build green?") || !strings.Contains(s, "alice: green since noon") {
		t.Fatalf("the reply and its quote:\n%s", s)
	}

	// Edit the last of ours with /edit: the draft comes back after.
	typeText(m, "a draft")
	m.command(r, "/edit")
	if r.input.Value() != "green since noon" || !strings.Contains(r.input.Context(), "editing") {
		t.Fatalf("/edit: input %q, context %q", r.input.Value(), r.input.Context())
	}
	r.input.SetValue("green since 11:40")
	_, cmd = m.Update(enter)
	if acted := findMsg[actedMsg](t, cmd); acted.err != nil {
		t.Fatal(acted.err)
	}
	feedUntil(t, m, r, "the edit", func(ev *chat.Event) bool { return holds(ev, func(x chat.Message) bool { return x.Kind == chat.Edit }) })
	if s := shown(m); !strings.Contains(s, "alice: green since 11:40 (edited)") || strings.Contains(s, "green since noon") {
		t.Fatalf("the edited reply:\n%s", s)
	}
	if r.input.Value() != "a draft" {
		t.Errorf("after the edit the input holds %q, not the draft", r.input.Value())
	}
	r.input.Reset()

	// Delete, after saying yes.
	m.Update(findMsg[sentMsg](t, m.send(r, chat.Text, "oops, wrong room")))
	feedUntil(t, m, r, "the line to delete", func(ev *chat.Event) bool { return strings.Contains(shown(m), "oops") })
	m.Update(altUp)
	m.Update(press('d'))
	if !strings.Contains(m.chatHint(r), "y deletes it") {
		t.Fatalf("d asks nothing: %q", m.chatHint(r))
	}
	_, cmd = m.Update(press('y'))
	if acted := findMsg[actedMsg](t, cmd); acted.err != nil {
		t.Fatal(acted.err)
	}
	feedUntil(t, m, r, "the delete", func(ev *chat.Event) bool {
		return holds(ev, func(x chat.Message) bool { return x.Kind == chat.Delete })
	})
	if s := shown(m); strings.Contains(s, "oops") || !strings.Contains(s, "alice: (message deleted)") {
		t.Fatalf("the deleted line:\n%s", s)
	}

	if r.msgs.Selecting() {
		t.Error("the deleted line is still selected")
	}
	// React: bob's question is three lines up.
	m.Update(altUp)
	m.Update(press('k'))
	m.Update(press('k'))
	m.Update(press('+'))
	if r.picker == nil {
		t.Fatal("+ opened no picker")
	}
	if s := shown(m); !strings.Contains(s, "React to bob: is the build green?") {
		t.Fatalf("the picker:\n%s", s)
	}
	_, cmd = m.Update(press('1'))
	if acted := findMsg[actedMsg](t, cmd); acted.err != nil {
		t.Fatal(acted.err)
	}
	if _, err := bob.React(ctx, question, "👍"); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "two reactions", func(*chat.Event) bool {
		st, _ := r.msgs.State(question.Seq)
		return len(st.Reactions) == 1 && st.Reactions[0].Count == 2
	})
	st, _ := r.msgs.State(question.Seq)
	if !st.Reactions[0].Mine || !strings.Contains(shown(m), "👍 2") {
		t.Errorf("reactions %+v; screen:\n%s", st.Reactions, shown(m))
	}

	// Not ours: e and d refuse.
	m.Update(esc)
	m.Update(altUp)
	for range 2 {
		m.Update(press('k'))
	}
	if sel, _, _ := r.msgs.Selected(); sel.Seq != question.Seq {
		t.Fatalf("selected %d, want bob's %d", sel.Seq, question.Seq)
	}
	m.Update(press('e'))
	if r.editing != 0 || !strings.Contains(m.status.text, "Only your own") {
		t.Errorf("e on bob's line: editing %d, status %q", r.editing, m.status.text)
	}
}

// enter on a reply whose original is older than what is loaded loads
// pages until it is there, and selects it.
func TestJumpToTheOriginalLoadsHistory(t *testing.T) {
	ctx := context.Background()
	m, r, bob := actionsRoom(t)
	first, err := bob.Send(ctx, "the original, long ago")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2*pageSize + 10 {
		if _, err := bob.Send(ctx, fmt.Sprint("filler ", i)); err != nil {
			t.Fatal(err)
		}
	}
	reply, err := bob.Reply(ctx, first, "about that")
	if err != nil {
		t.Fatal(err)
	}
	// A fresh screen of the room: only the newest page is held.
	r.msgs.Reset()
	r.noOlder = false
	latest, err := r.room.Latest(ctx, pageSize)
	if err != nil {
		t.Fatal(err)
	}
	r.msgs.Add(latest)
	if !strings.Contains(shown(m), fmt.Sprintf("↳ message %d, not loaded", first.Seq)) {
		t.Fatalf("the quote of what is not loaded:\n%s", shown(m))
	}
	m.Update(altUp)
	if sel, _, _ := r.msgs.Selected(); sel.Seq != reply.Seq {
		t.Fatalf("selected %d, want the reply %d", sel.Seq, reply.Seq)
	}
	_, cmd := m.Update(enter)
	for range 5 {
		_, cmd = m.Update(findMsg[olderMsg](t, cmd))
		if sel, _, _ := r.msgs.Selected(); sel.Seq == first.Seq {
			break
		}
	}
	if sel, _, _ := r.msgs.Selected(); sel.Seq != first.Seq || !strings.Contains(shown(m), "▶") || !strings.Contains(shown(m), "the original, long ago") {
		t.Fatalf("selected %d after loading; screen:\n%s", sel.Seq, shown(m))
	}
}

// Typing: ours is said once per chat.TypingEvery while writing a
// message (not a command, not a paste) and unsaid when the input is
// emptied; theirs shows in the status line until they send or go silent
// for chat.TypingTimeout (a crash sends no stop).
func TestTypingIndicator(t *testing.T) {
	ctx := context.Background()
	m, r, bob := actionsRoom(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	m.opts.Now = func() time.Time { return now }
	feedUntil(t, m, r, "the feed's start", func(*chat.Event) bool { return r.conn == connConnected })

	typing := func() int64 {
		t.Helper()
		c, err := webaas.GetMessage[chatpb.Counter](ctx, r.room.Client(), r.room.Code(), "typing:alice")
		if errors.Is(err, webaas.ErrNotFound) {
			return -1
		}
		if err != nil {
			t.Fatal(err)
		}
		return c.Value
	}
	m.Update(tea.PasteMsg{Content: "pasted text"})
	if !r.saidTyping.IsZero() {
		t.Errorf("a paste said we type")
	}
	r.input.Reset()
	if done := findMsg[typedMsg](t, typeText(m, "h")); done.err != nil || typing() <= 0 {
		t.Fatalf("typing not said: %v, record %d", done.err, typing())
	}
	said := r.saidTyping
	typeText(m, "ello")
	if r.saidTyping != said {
		t.Errorf("said again within TypingEvery")
	}
	for range len("hell") {
		m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	now = now.Add(chat.TypingEvery) // one write per TypingEvery: a stop too
	_, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyBackspace})
	if done := findMsg[typedMsg](t, cmd); done.err != nil || typing() != 0 {
		t.Fatalf("emptying the input did not unsay it: %v, record %d", done.err, typing())
	}

	// A send clears it at the others' without a write; the next word
	// within chat.TypingEvery writes nothing either.
	now = now.Add(chat.TypingEvery)
	if done := findMsg[typedMsg](t, typeText(m, "x")); done.err != nil {
		t.Fatal(done.err)
	}
	_, cmd = m.Update(enter)
	m.Update(findMsg[sentMsg](t, cmd))
	said = r.saidTyping
	typeText(m, "y")
	if r.saidTyping != said || r.typingShown {
		t.Errorf("the first word after a send wrote again within TypingEvery")
	}
	r.input.Reset()

	// Theirs.
	m.status.text = "" // the status line shows typists when it has nothing to say
	if err := bob.Typing(ctx, true); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "bob typing", func(*chat.Event) bool { return strings.Contains(m.chatHint(r), "bob is typing…") })
	m.Update(typingTickMsg{room: r.id, now: now.Add(chat.TypingTimeout - time.Second)})
	if !strings.Contains(m.chatHint(r), "bob is typing…") {
		t.Fatal("cleared before the timeout")
	}
	m.Update(typingTickMsg{room: r.id, now: now.Add(chat.TypingTimeout)})
	if strings.Contains(m.chatHint(r), "typing") {
		t.Fatal("a silent typist is still shown")
	}
	if err := bob.Typing(ctx, true); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "bob typing again", func(*chat.Event) bool { return strings.Contains(m.chatHint(r), "bob is typing…") })
	if _, err := bob.Send(ctx, "done typing"); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "bob's line", func(*chat.Event) bool { return !strings.Contains(m.chatHint(r), "typing") })
}

// The line says one, two, or how many are typing.
func TestTypingLine(t *testing.T) {
	r := &roomView{typists: map[string]time.Time{}}
	at := time.Now()
	for i, want := range []string{"alice is typing…", "alice and bob are typing…", "3 people are typing…"} {
		r.typists[[]string{"alice", "bob", "carol"}[i]] = at.Add(time.Duration(i) * time.Second)
		if got := r.typingLine(); got != want {
			t.Errorf("%d typists: %q, want %q", i+1, got, want)
		}
	}
}

// "seen by bob" comes under alice's newest line once bob's marker
// passes it, and /whois says how far bob has read.
func TestSeenBy(t *testing.T) {
	ctx := context.Background()
	m, r, bob := actionsRoom(t)
	sent := findMsg[sentMsg](t, m.send(r, chat.Text, "did you read this?"))
	m.Update(sent)
	if err := bob.MarkRead(ctx, sent.msg.Seq); err != nil {
		t.Fatal(err)
	}
	feedUntil(t, m, r, "seen by bob", func(*chat.Event) bool { return strings.Contains(shown(m), "seen by bob") })
	m.command(r, "/whois bob")
	if !strings.Contains(m.status.text, fmt.Sprintf("has read up to message %d (alice: did you read this?)", sent.msg.Seq)) {
		t.Errorf("/whois bob: %q", m.status.text)
	}
}

// A fixture of a conversation acted on: a reply, an edit, a delete,
// reactions (a flood of them too), who has read it, who is typing.
func actionsFixture(m *Model) {
	key := func(who string) []byte { return []byte(strings.Repeat(who[:1], 32)) }
	r := m.room()
	msgs := fixtureMessages()
	for i := range msgs {
		msgs[i].Trust, msgs[i].Key = chat.Verified, key(msgs[i].Nick)
	}
	at := day0.Add(130 * time.Minute)
	msgs = append(msgs,
		chat.Message{Seq: 11, Nick: "carol", Text: "yes, since this morning", ReplyTo: 3, Sent: at, Trust: chat.Verified, Key: key("carol")},
		chat.Message{Seq: 12, Nick: "alice", Kind: chat.Edit, Target: 4, Text: "green since 21:40; pages match the python client", Sent: at, Trust: chat.Verified, Key: key("alice"), ClientSeq: 12},
		chat.Message{Seq: 13, Nick: "bob", Kind: chat.Delete, Target: 7, Sent: at, Trust: chat.Verified, Key: key("bob"), ClientSeq: 13},
		chat.Message{Seq: 14, Nick: "dave", Kind: chat.Edit, Target: 8, Text: "dave's forged edit", Sent: at, Trust: chat.Verified, Key: key("dave"), ClientSeq: 14},
	)
	seq := int64(15)
	emoji := []string{"👍", "❤️", "😂", "🎉", "😮", "😢", "👀", "🙏", "🔥", "✅", "🚀", "👏"}
	for i := range 300 {
		msgs = append(msgs, chat.Message{Seq: seq, Nick: "x", Kind: chat.React, Target: 8, Text: emoji[i%len(emoji)], Trust: chat.Verified, Key: []byte(fmt.Sprintf("%032d", i)), Sent: at})
		seq++
	}
	for _, who := range []string{"alice", "bob"} {
		msgs = append(msgs, chat.Message{Seq: seq, Nick: who, Kind: chat.React, Target: 11, Text: "👍", Trust: chat.Verified, Key: key(who), Sent: at, ClientSeq: uint64(seq)})
		seq++
	}
	r.msgs.Reset()
	r.msgs.Add(msgs)
	feed(m, chat.Event{Kind: chat.Members, Members: fixtureMembers()})
	feed(m, chat.Event{Kind: chat.Marker, Nick: "robert", Seq: seq})
	feed(m, chat.Event{Kind: chat.Marker, Nick: "dave", Seq: 11})
	m.status.text = ""
}

func TestGoldenMessageActions(t *testing.T) {
	m := loggedIn(t, 100, 30)
	actionsFixture(m)
	m.opts.Now = func() time.Time { return day0 }
	feed(m, chat.Event{Kind: chat.Typing, Nick: "carol", Active: true})
	golden.RequireEqual(t, shown(m))
}

func TestGoldenSelection(t *testing.T) {
	m := loggedIn(t, 100, 30)
	actionsFixture(m)
	m.Update(altUp)
	m.Update(press('k')) // carol's reply, from the newest line
	golden.RequireEqual(t, shown(m))
}

// /seen lists each member and the last message they read; a click on a
// line selects it, a click on a reply's quote goes to the original.
func TestSeenListAndClicks(t *testing.T) {
	m := loggedIn(t, 100, 30)
	actionsFixture(m)
	m.command(m.room(), "/seen")
	s := shown(m)
	for _, want := range []string{"Who has read what", "robert  up to message 317", "dave    up to message 11 · carol: yes, since this morning", "alice   nothing here yet"} {
		if !strings.Contains(s, want) {
			t.Errorf("/seen lacks %q:\n%s", want, s)
		}
	}
	m.Update(esc)
	if m.info != nil {
		t.Fatal("esc left /seen open")
	}

	r := m.room()
	rowOf := func(text string) int {
		for i, line := range strings.Split(shown(m), "\n") {
			if strings.Contains(line, text) {
				return i
			}
		}
		t.Fatalf("no row shows %q", text)
		return 0
	}
	m.Update(tea.MouseClickMsg{X: 10, Y: rowOf("carol waves"), Button: tea.MouseLeft})
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 6 || m.focus != focusMessages {
		t.Fatalf("a click on carol's line selected %d (focus %d)", sel.Seq, m.focus)
	}
	m.Update(tea.MouseClickMsg{X: 10, Y: rowOf("↳ bob: evening!"), Button: tea.MouseLeft})
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 3 {
		t.Fatalf("a click on the quote selected %d, want the original 3", sel.Seq)
	}
	m.Update(tea.MouseClickMsg{X: 90, Y: rowOf("carol waves"), Button: tea.MouseLeft}) // the member list
	if sel, _, _ := r.msgs.Selected(); sel.Seq != 3 {
		t.Fatalf("a click beside the pane moved the selection to %d", sel.Seq)
	}
}

// A message the view is anchored in, made shorter under it (edited,
// deleted) while scrolled up, does not break the view; a tall message
// selected stays put however often ↓ is pressed.
func TestTallMessagesUnderTheView(t *testing.T) {
	m := loggedIn(t, 80, 20)
	r := m.room()
	key := []byte(strings.Repeat("b", 32))
	msgs := fixtureMessages()
	long := chat.Message{Seq: 11, Nick: "bob", Text: strings.Repeat("a long line of text ", 40), Sent: day0, Trust: chat.Verified, Key: key}
	r.msgs.Add(append(msgs, long))
	r.msgs.ScrollUp(4)
	r.msgs.Add([]chat.Message{{Seq: 12, Nick: "bob", Kind: chat.Delete, Target: 11, Sent: day0, Trust: chat.Verified, Key: key}})
	checkFills(t, "after the delete", m.View().Content, 80, 20)
	r.msgs.Bottom()
	if !strings.Contains(shown(m), "bob: (message deleted)") {
		t.Fatalf("the deleted line:\n%s", shown(m))
	}

	r.msgs.Reset()
	r.msgs.Add(append(fixtureMessages(), chat.Message{Seq: 11, Nick: "bob", Text: strings.Repeat("a long line of text ", 40), Sent: day0, Trust: chat.Verified, Key: key}))
	m.Update(altUp)
	first := shown(m)
	for range 3 {
		m.Update(press('j'))
		if got := shown(m); got != first {
			t.Fatalf("↓ on the newest, taller than the pane, moved the view:\n%s\nwas\n%s", got, first)
		}
	}
	if !strings.Contains(first, "▶") {
		t.Fatalf("the tall message's first row is not shown:\n%s", first)
	}
}

// An edit is the message's text, whatever it starts with: editing a
// line that reads "/part …" saves it, and runs no command.
func TestEditOfASlashLineIsNoCommand(t *testing.T) {
	m, r, _ := actionsRoom(t)
	m.Update(findMsg[sentMsg](t, m.send(r, chat.Text, "/part is how you leave")))
	m.command(r, "/edit")
	if r.input.Value() != "/part is how you leave" {
		t.Fatalf("/edit put %q in the input", r.input.Value())
	}
	typeText(m, " a room")
	_, cmd := m.Update(enter)
	if acted := findMsg[actedMsg](t, cmd); acted.err != nil {
		t.Fatal(acted.err)
	}
	if len(m.rooms) != 1 || m.room() != r {
		t.Fatal("the edit ran /part")
	}
	feedUntil(t, m, r, "the edit", func(ev *chat.Event) bool { return holds(ev, func(x chat.Message) bool { return x.Kind == chat.Edit }) })
	if !strings.Contains(shown(m), "alice: /part is how you leave a room (edited)") {
		t.Fatalf("the edited line:\n%s", shown(m))
	}
}

// The selection's keys are the messages pane's: the delete question,
// answered no, ends the selection, and what is typed next goes to the
// input whole; tab away ends it too.
func TestSelectionKeysStayInThePane(t *testing.T) {
	m, r, _ := actionsRoom(t)
	m.Update(findMsg[sentMsg](t, m.send(r, chat.Text, "mine")))
	m.command(r, "/delete")
	if !strings.Contains(m.chatHint(r), "y deletes it") {
		t.Fatalf("/delete asks nothing: %q", m.chatHint(r))
	}
	m.Update(press('n'))
	m.status.text = ""
	typeText(m, "just kidding")
	if r.msgs.Selecting() || r.input.Value() != "just kidding" || r.confirmDel != 0 {
		t.Fatalf("selecting %v, input %q", r.msgs.Selecting(), r.input.Value())
	}
	m.Update(altUp)
	m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	if r.msgs.Selecting() {
		t.Fatal("tab left the selection on")
	}
}
