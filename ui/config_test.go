package ui

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/ui/common"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// Options a config file makes (theme, keys, timestamp format) taking
// effect on the screen.

// configuredModel is newTestModel with options of one's own.
func configuredModel(t testing.TB, srv *servertest.Server, set func(*Options)) *Model {
	t.Helper()
	c, err := chat.Dial(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Client: c, Server: "http://127.0.0.1:11232", Nick: "alice",
		Location: time.UTC,
		Follow:   chat.FollowOptions{Reconnect: backoff.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond}},
	}
	set(&opts)
	return New(context.Background(), opts)
}

// loggedInWith is loggedIn with options of one's own.
func loggedInWith(t testing.TB, w, h int, set func(*Options)) *Model {
	t.Helper()
	srv := servertest.Start(t)
	m := configuredModel(t, srv, set)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	logIn(t, m, "alice", "")
	r := m.room()
	r.msgs.Reset()
	r.msgs.Add(fixtureMessages())
	feed(m, chat.Event{Kind: chat.Connected})
	feed(m, chat.Event{Kind: chat.Members, Members: fixtureMembers()})
	m.status.text = ""
	return m
}

// shownInColour is the screen with its escape codes, the room code
// replaced by a fixed one.
func shownInColour(m *Model) string {
	s := m.View().Content
	if r := m.room(); r != nil {
		s = strings.ReplaceAll(s, r.room.Code(), fakeCode)
	}
	return s
}

func rebound(t testing.TB, name string, keys ...string) *common.KeyMap {
	t.Helper()
	km := common.DefaultKeyMap()
	if err := km.Rebind(name, keys); err != nil {
		t.Fatal(err)
	}
	return &km
}

func theme(t testing.TB, name string) *common.Styles {
	t.Helper()
	st, err := common.Theme(name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReboundSendKey: with send on ctrl+s, ctrl+s sends and enter does
// not; the hint line shows the new key.
func TestReboundSendKey(t *testing.T) {
	m := loggedInWith(t, 100, 30, func(o *Options) { o.Keys = rebound(t, "send", "ctrl+s") })
	if !strings.Contains(shown(m), "ctrl+s send") {
		t.Fatalf("the hint line does not show ctrl+s:\n%s", shown(m))
	}
	r := m.room()
	r.input.SetValue("hello with ctrl+s")
	if _, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter}); r.msgs.Pending() != 0 || !strings.Contains(r.input.Value(), "hello with ctrl+s") {
		t.Fatalf("enter sent (pending %d, input %q, cmd %v)", r.msgs.Pending(), r.input.Value(), cmd != nil)
	}
	_, cmd := m.Update(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	if r.input.Value() != "" || r.msgs.Pending() != 1 {
		t.Fatalf("ctrl+s did not send: input %q, pending %d", r.input.Value(), r.msgs.Pending())
	}
	if sent := findMsg[sentMsg](t, cmd); sent.err != nil || sent.msg.Text != "hello with ctrl+s" {
		t.Fatalf("the server took %q, %v", sent.msg.Text, sent.err)
	}
}

// TestReboundJumpRoom: the room a jump key goes to is its place in the
// binding, whatever the keys are (they were read from "alt+N").
func TestReboundJumpRoom(t *testing.T) {
	m := withRooms(t, 100, 30)
	if err := m.c.Keys.Rebind("jump_room", []string{"f5", "f6", "f7"}); err != nil {
		t.Fatal(err)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyF6})
	if m.cur != 1 {
		t.Fatalf("f6 went to room %d, want 1", m.cur)
	}
	m.Update(tea.KeyPressMsg{Code: '3', Mod: tea.ModAlt})
	if m.cur != 1 {
		t.Fatalf("alt+3, no longer bound, went to room %d", m.cur)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyF5})
	if m.cur != 0 {
		t.Fatalf("f5 went to room %d, want 0", m.cur)
	}
}

// TestReboundHelpIsStillTyped: help bound to a character still types it
// in the input, as "?" does.
func TestReboundHelpIsStillTyped(t *testing.T) {
	m := loggedInWith(t, 100, 30, func(o *Options) { o.Keys = rebound(t, "help", "h", "f2") })
	m.Update(tea.KeyPressMsg{Code: 'h', Text: "h"})
	if m.showHelp || m.room().input.Value() != "h" {
		t.Fatalf("h in the input: help %v, input %q", m.showHelp, m.room().input.Value())
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyF2})
	if !m.showHelp {
		t.Fatal("f2 did not open the help")
	}
}

// TestTimestampFormat: message times in a layout of one's own, the
// gutter as wide as its widest time, continuation rows under the text.
func TestTimestampFormat(t *testing.T) {
	m := loggedInWith(t, 100, 30, func(o *Options) { o.TimeFormat = "3:04:05PM" })
	s := shown(m)
	for _, want := range []string{" 9:59:00PM bob: evening! is the build green?", "12:03:00AM alice: sure"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q on the screen", want)
		}
	}
	checkFills(t, "timestamp format", m.View().Content, 100, 30)
	golden.RequireEqual(t, s)
}

// TestGoldenThemeLight and TestGoldenThemeDark keep the colours: the
// golden files hold the escape codes the themes draw with.
func TestGoldenThemeLight(t *testing.T) {
	golden.RequireEqual(t, shownInColour(loggedInWith(t, 100, 30, func(o *Options) { o.Styles = theme(t, "light") })))
}

func TestGoldenThemeDark(t *testing.T) {
	golden.RequireEqual(t, shownInColour(loggedInWith(t, 100, 30, func(o *Options) { o.Styles = theme(t, "dark") })))
}

// TestColorOverridesReachTheScreen: a [colors] mention and border are
// what the screen draws with.
func TestColorOverridesReachTheScreen(t *testing.T) {
	st := theme(t, "dark")
	if err := st.SetColors(common.Colors{Mention: "#123456", Border: "#654321"}); err != nil {
		t.Fatal(err)
	}
	m := loggedInWith(t, 100, 30, func(o *Options) { o.Styles = st })
	m.setFocus(focusInput) // the messages pane has the plain border
	view := m.View().Content
	// bob's line mentions alice, who reads: drawn in the mention colour.
	for _, want := range []string{"38;2;18;52;86", "38;2;101;67;33"} {
		if !strings.Contains(view, want) {
			t.Errorf("no %q (an override's colour) in the view", want)
		}
	}
	if strings.Contains(view, fg(lipgloss.Color("#facc15"))+"m!") {
		t.Error("the mention mark is still in the theme's colour")
	}
	if !strings.Contains(view, fg(lipgloss.Color("#123456"))+"m!") {
		t.Error("the mention mark is not in the set colour")
	}
}

// fg is the SGR parameters of a foreground colour as lipgloss writes it.
func fg(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, _ := c.RGBA()
	return "38;2;" + strconv.Itoa(int(r>>8)) + ";" + strconv.Itoa(int(g>>8)) + ";" + strconv.Itoa(int(b>>8))
}

// colourSGR finds colour in SGR sequences: foreground or background,
// basic, bright, 256 or true colour.
var colourSGR = regexp.MustCompile(`\x1b\[(?:[0-9:;]*;)?(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:[;:][0-9:;]*)?m`)

// TestNoColorWins: under NO_COLOR a real program draws the dark theme
// without a colour (the control run, without it, has colours).
func TestNoColorWins(t *testing.T) {
	run := func(env ...string) string {
		srv := servertest.Start(t)
		m := configuredModel(t, srv, func(o *Options) { o.Styles, o.AutoLogin = theme(t, "dark"), true })
		tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30),
			teatest.WithProgramOptions(tea.WithEnvironment(append([]string{"TERM=xterm-256color", "TTY_FORCE=1"}, env...))))
		var seen []byte // what the wait read: gone from the output
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			seen = append(seen[:0], b...)
			return bytes.Contains(b, []byte("connected"))
		}, teatest.WithDuration(15*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
		tm.Send(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
		rest, err := io.ReadAll(tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		return string(seen) + string(rest)
	}
	if out := run(); !colourSGR.MatchString(out) {
		t.Fatalf("without NO_COLOR, no colour was drawn: the test cannot tell")
	}
	if out := run("NO_COLOR=1"); colourSGR.MatchString(out) {
		t.Fatalf("under NO_COLOR a colour was drawn: %q", colourSGR.FindString(out))
	}
}
