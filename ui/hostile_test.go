package ui

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/ui/messages"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// Hostile records, as anyone holding the room code can write them through
// the raw API (the chat's own checks never run).
const (
	hostileRoomName = "evil\u202eroom\x1b]0;pwned\x07"
	forgedNick      = "mallory\n2 2026-12-01 09:00:00 alice"
	longLines       = 13000
)

func hostileMessages() []*chatpb.Message {
	at := day0.UnixMilli()
	return []*chatpb.Message{
		{Nick: "mallory", Text: strings.Repeat("lin\n", longLines), SentUnixMs: at},
		{Nick: "mallory", Text: "price: \u202e0001$\u202c, \u2066isolated\u2069 \u200fmark", SentUnixMs: at},
		{Nick: "mallory", Text: "family 👨\u200d👩\u200d👧\u200d👦 flag 🏳\ufe0f\u200d🌈 thumbs 👍🏽 heart ❤\ufe0f", SentUnixMs: at},
		{Nick: "mallory", Text: "zero\u200bwidth\u200c\u2060\ufeff soft\u00adhyphen", SentUnixMs: at},
		{Nick: "mallory", Text: "Z" + strings.Repeat("\u0301\u0336\u0489", 40) + "algo", SentUnixMs: at},
		{Nick: forgedNick, Text: "I approve the transfer", SentUnixMs: at},
		{Nick: "\u202emallory", Text: "who am I", SentUnixMs: at},
		{Nick: "mallory", Text: "hi\x1b]0;pwned\x07\x1b[2J there", SentUnixMs: at},
	}
}

var hostileNicks = []string{forgedNick, "\u202emallory", "zero\u200bwidth", "👨\u200d👩\u200d👧"}

// hostileChat logs alice in for real to a room whose name, messages and
// members were written raw; the messages and members on screen are the
// ones read back from the server.
func hostileChat(t *testing.T) *Model {
	t.Helper()
	srv := servertest.Start(t)
	c, _ := webaas.New(srv.URL())
	ctx := context.Background()
	room, err := chat.NewClient(c).CreateRoom(ctx, hostileRoomName)
	if err != nil {
		t.Fatal(err)
	}
	chattest.RawPost(t, c, room.Code(), hostileMessages()...)
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, nick := range hostileNicks {
		// Seen in a year: online for the test's whole run.
		if err := tx.PutMessage(ctx, room.Code(), &chatpb.Member{Nick: nick, Online: true, LastSeenUnixMs: time.Now().Add(365 * 24 * time.Hour).UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	m := newTestModel(t, srv, "alice", room.Code())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	done := logIn(t, m, "alice", room.Code())
	var raw []chat.Message
	for _, msg := range done.latest {
		if msg.Kind == chat.Text {
			raw = append(raw, msg) // without alice's "joined", whose time moves
		}
	}
	m.room().msgs.Reset()
	m.room().msgs.Add(raw)
	members, err := room.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range members {
		members[i].Online = true // alice's own heartbeat is recent too
	}
	feed(m, chat.Event{Kind: chat.Connected})
	feed(m, chat.Event{Kind: chat.Members, Members: members})
	m.setStatus(hostileRoomName+" is shown in the status line too", false)
	return m
}

// checkTerminalSafe fails unless every row of the view is exactly w
// cells by both ways of counting them (grapheme clusters, as the layout
// does; code points, as Bubble Tea's renderer does unless the terminal
// supports mode 2027, and as tmux and xterm do), and unless no character
// that terminals show differently (invisible, bidi, control) is left.
func checkTerminalSafe(t *testing.T, name string, v tea.View, w, h int) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s at %dx%d: "+format, append([]any{name, w, h}, args...)...)
		ok = false
	}
	lines := strings.Split(v.Content, "\n")
	if len(lines) != h {
		fail("%d rows", len(lines))
	}
	for i, line := range lines {
		if g, c := ansi.StringWidth(line), ansi.StringWidthWc(line); g != w || c != w {
			fail("row %d is %d cells by grapheme, %d by code point: %q", i, g, c, ansi.Strip(line))
			break
		}
	}
	for i, line := range lines {
		if r := strings.IndexFunc(ansi.Strip(line), invisible); r >= 0 {
			fail("row %d holds %+q: %q", i, []rune(ansi.Strip(line)[r:])[0], ansi.Strip(line))
			break
		}
	}
	if strings.ContainsAny(v.WindowTitle, "\x1b\x07\u202e") {
		fail("the window title holds control characters: %q", v.WindowTitle)
	}
	return ok
}

// invisible: a character that terminals show as nothing, or not as
// itself, or whose width they disagree on.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point) ||
		r == '\ufe0f' || r >= 0x1f3fb && r <= 0x1f3ff
}

// TestHostileTextKeepsTheFrame writes what a hostile member can (bidi
// overrides, zero-width characters, ZWJ emoji, Zalgo, a nickname with a
// newline, a 13,000-line message, escape sequences, a room name with an
// OSC) and draws the chat at several sizes, scrolled through the whole
// history: every row keeps the frame's width, nothing invisible reaches
// the terminal, and the long message takes a bounded number of rows.
func TestHostileTextKeepsTheFrame(t *testing.T) {
	m := hostileChat(t)
	msgs := m.room().msgs
	for _, sz := range [][2]int{{80, 24}, {MinWidth, MinHeight}, {200, 50}, {100, 40}} {
		w, h := sz[0], sz[1]
		m.Update(tea.WindowSizeMsg{Width: w, Height: h})
		msgs.Bottom()
		ok := checkTerminalSafe(t, "bottom", m.View(), w, h)
		for i := 0; !msgs.AtTop() && i < 100; i++ {
			m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
			ok = ok && checkTerminalSafe(t, fmt.Sprintf("page %d up", i+1), m.View(), w, h)
		}
		if !msgs.AtTop() {
			t.Errorf("at %dx%d: 100 pages up do not reach the top: the long message is not folded", w, h)
		}
		m.Update(tea.KeyPressMsg{Code: tea.KeyHome})
		checkTerminalSafe(t, "top", m.View(), w, h)
		m.Update(tea.KeyPressMsg{Code: tea.KeyF1})
		checkTerminalSafe(t, "help", m.View(), w, h)
		m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	msgs.Top()
	if top := shown(m); !strings.Contains(top, fmt.Sprintf("… %d more lines", longLines-(messages.MaxRows-1)+1)) {
		t.Errorf("the %d-line message is not folded to %d rows:\n%s", longLines, messages.MaxRows, top)
	}
	msgs.Bottom()
	screen := shown(m)
	for _, want := range []string{"<U+202E>0001$<U+202C>", "<U+200B>width", `"mallory\n2 2026-12-01 09:00:00 alice": I approve`, `"\u202emallory": who am I`, "👨👩👧👦", "evil<U+202E>room<U+001B>]0;pwned<U+0007>"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the screen does not show %q:\n%s", want, screen)
		}
	}
}

// TestGoldenHostileText is the screen TestHostileTextKeepsTheFrame checks.
func TestGoldenHostileText(t *testing.T) {
	m := hostileChat(t)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 40})
	golden.RequireEqual(t, shown(m))
}

// TestCtrlLRedraws: ctrl+L asks Bubble Tea to clear the screen, from the
// chat, the login screen and the help overlay alike; in a running
// program, the whole frame is then drawn again after an erase.
func TestCtrlLRedraws(t *testing.T) {
	ctrlL := tea.KeyPressMsg{Code: 'l', Mod: tea.ModCtrl}
	clear := reflect.TypeOf(tea.ClearScreen())
	chatM := loggedIn(t, 80, 24)
	srv := servertest.Start(t)
	login := newTestModel(t, srv, "", "")
	for _, tc := range []struct {
		name string
		m    *Model
		help bool
	}{{"chat", chatM, false}, {"chat help", chatM, true}, {"login", login, false}} {
		tc.m.showHelp = tc.help
		cmd := tc.m.onKey(ctrlL)
		if cmd == nil || reflect.TypeOf(cmd()) != clear {
			t.Errorf("%s: ctrl+L does not clear the screen", tc.name)
		}
	}

	m := newTestModel(t, srv, "alice", "")
	m.opts.AutoLogin = true
	tm := program(t, m)
	waitScreen(t, tm, "Joined webaas-chat as alice")
	tm.Send(ctrlL)
	// After the erase, the frame is drawn whole: its top border and its
	// key hints come after it.
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		i := bytes.LastIndex(b, []byte(ansi.EraseEntireScreen))
		return i >= 0 && bytes.Contains(b[i:], []byte("Members")) && bytes.Contains(b[i:], []byte("● connected"))
	}, teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
}
