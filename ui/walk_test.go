package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// What a person trying the chat in a terminal found; each test is one
// thing that was wrong on the screen.

// screenLine is row i of what the terminal shows (negative: from the
// bottom).
func screenLine(m *Model, i int) string {
	lines := strings.Split(shown(m), "\n")
	if i < 0 {
		i += len(lines)
	}
	return lines[i]
}

// TestHeaderKeepsTheConnectionState: a long room name (any name up to 64
// characters is allowed) or nickname must not push the connection's
// state off the header, at any width: it is the one place that says the
// server is gone. The name is what gives way.
func TestHeaderKeepsTheConnectionState(t *testing.T) {
	srv := servertest.Start(t)
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	name := "The quarterly planning room for the infrastructure team of 2027"
	room, err := c.CreateRoom(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	nick := "abcdefghijklmnopqrstuvwx" // the longest nickname
	m := newTestModel(t, srv, nick, room.Code())
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	logIn(t, m, nick, room.Code())
	for _, w := range []int{MinWidth, 80, 120} {
		m.Update(tea.WindowSizeMsg{Width: w, Height: 24})
		feed(m, chat.Event{Kind: chat.Connected})
		if h := screenLine(m, 0); !strings.HasSuffix(strings.TrimRight(h, " "), "● connected") || !strings.Contains(h, nick) {
			t.Errorf("at %d columns the header is %q", w, h)
		}
		feed(m, chat.Event{Kind: chat.Reconnecting, Retry: 3 * time.Second})
		if h := screenLine(m, 0); !strings.Contains(h, "reconnecting in 3s") {
			t.Errorf("at %d columns, reconnecting, the header is %q", w, h)
		}
	}
}

// TestReconnectCountdownCounts: the header's "reconnecting in Ns" counts
// down while the chat waits, instead of showing the delay it was told
// once (a "retry in 3.0s" that still says so seconds later looks frozen).
func TestReconnectCountdownCounts(t *testing.T) {
	m := loggedIn(t, 100, 30)
	_, cmd := m.Update(feedMsg{room: m.room().id, ok: true, ev: chat.Event{Kind: chat.Reconnecting, Retry: 3 * time.Second}})
	if h := screenLine(m, 0); !strings.Contains(h, "◌ server unreachable, reconnecting in 3s") {
		t.Fatalf("header %q", h)
	}
	// The check every second while reconnecting (a real one-second tick).
	m.Update(findMsg[hostCheckMsg](t, cmd))
	if h := screenLine(m, 0); !strings.Contains(h, "reconnecting in 2s") && !strings.Contains(h, "reconnecting in 1s") {
		t.Fatalf("a second later the header is %q", h)
	}
}

// TestNotSentFitsTheStatusLine: the note that a message typed while the
// server is unreachable was kept is read whole at the usual 80 columns,
// and at the smallest size the chat runs at.
func TestNotSentFitsTheStatusLine(t *testing.T) {
	for _, w := range []int{MinWidth, 80} {
		m := loggedIn(t, w, 24)
		feed(m, chat.Event{Kind: chat.Reconnecting, Retry: time.Second})
		m.room().input.SetValue("typed while the server is down")
		m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
		if got := screenLine(m, -1); !strings.Contains(got, "Not sent: the server is unreachable") || strings.Contains(got, "…") {
			t.Errorf("at %d columns the status line is %q", w, got)
		}
		if v := m.room().input.Value(); v != "typed while the server is down" {
			t.Errorf("the input holds %q", v)
		}
	}
}

// TestLoginErrorIsShownWhole: an error on the login form wraps inside the
// form instead of being cut (it is the one thing to read there).
func TestLoginErrorIsShownWhole(t *testing.T) {
	srv := servertest.Start(t)
	m := newTestModel(t, srv, "alice", "")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	srv.Stop()
	m.Update(m.loginCmd("alice", "")())
	s := shown(m)
	if !strings.Contains(s, "running?)") {
		t.Fatalf("the login error is cut:\n%s", s)
	}
	checkFills(t, "login error", m.View().Content, 80, 24)

	// A refused nickname's reason ends in "_ - .)": wrapped at its dash,
	// it was cut at the form's edge ("digits, _…").
	m.login.Reset("ev\u202eil", "")
	m.login.Ready()
	m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if s := shown(m); strings.Contains(s, "…") || !strings.Contains(s, ".)") {
		t.Fatalf("the nickname error is cut:\n%s", s)
	}
}

// TestDashAtTheEdgeIsShown: a " - " that falls at the right edge of the
// messages pane is shown, wherever the line breaks; the wrapping let that
// line run one cell over and the pane cut it, so the dash vanished
// ("green - ship it" showed as "green  ship it").
func TestDashAtTheEdgeIsShown(t *testing.T) {
	for _, w := range []int{MinWidth, 80} {
		m := loggedIn(t, w, 24)
		for k := 20; k < 80; k++ {
			r := m.room()
			r.msgs.Reset()
			r.msgs.Add([]chat.Message{{Seq: 1, Nick: "bob", Text: strings.Repeat("a", k) + " - b", Sent: day0}})
			rows := strings.Split(shown(m), "\n")
			pane := strings.Join(rows[1:len(rows)-6], "\n") // below the header, above the input
			if !strings.Contains(pane, "-") {
				t.Fatalf("at %d columns, %d a's: the dash is gone:\n%s", w, k, pane)
			}
			checkFills(t, "dash at the edge", m.View().Content, w, 24)
		}
	}
}

// TestInputShowsNoBidiControls: a bidi override pasted into the input
// (from a web page, a message copied out of another chat) reaches the
// terminal from the input pane too, where a terminal that does bidi
// would reverse the rest of the row. The input keeps the text as typed
// (it is sent as is, and the messages pane shows the controls as
// <U+202E>); only its display leaves them out. They take no cells, so
// the cursor stays where it was.
func TestInputShowsNoBidiControls(t *testing.T) {
	m := loggedIn(t, 80, 24)
	typed := "price: \u202e0001$ \u2066x\u2069 \u200fy"
	m.room().input.SetValue(typed)
	view := m.View().Content
	for _, r := range []rune{'\u202e', '\u2066', '\u2069', '\u200f'} {
		if strings.ContainsRune(view, r) {
			t.Errorf("the screen holds %U", r)
		}
	}
	if !strings.Contains(shown(m), "price: 0001$ x y") {
		t.Errorf("the input does not show the text:\n%s", shown(m))
	}
	if m.room().input.Value() != typed {
		t.Errorf("the input's text changed to %q", m.room().input.Value())
	}
	checkFills(t, "bidi in the input", view, 80, 24)

	// The login form's fields too.
	srv := servertest.Start(t)
	login := newTestModel(t, srv, "ev\u202eil", "")
	login.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if view := login.View().Content; strings.ContainsRune(view, '\u202e') || !strings.Contains(ansi.Strip(view), "evil") {
		t.Errorf("the login form shows %q", ansi.Strip(view))
	}
}

// TestLogoutSaysLoggingOut: logging out while the server is slow or gone
// holds the form for up to 10 s; it said "Connecting…", which is not what
// it was doing.
func TestLogoutSaysLoggingOut(t *testing.T) {
	m := loggedIn(t, 80, 24)
	m.Update(tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl})
	if s := shown(m); !strings.Contains(s, "Logging out…") || strings.Contains(s, "Connecting…") {
		t.Fatalf("while logging out the form shows:\n%s", s)
	}
}
