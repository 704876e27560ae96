package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// unsafeRune: a character that a terminal shows as nothing, or not as
// itself (controls, bidi, invisible and format characters).
func unsafeRune(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Other_Default_Ignorable_Code_Point)
}

// TestHistoryShowsHostileTextOnOneLine writes, through the raw API, a
// nickname with a newline that forges a whole `history` line, a bidi
// override, zero-width characters, escape sequences and a 13,000-line
// message; real `history` prints each message as exactly one line with
// nothing unsafe in it, and `history --json` as one line that decodes to
// exactly what was written, with the nickname marked invalid.
func TestHistoryShowsHostileTextOnOneLine(t *testing.T) {
	srv := servertest.Start(t)
	room := createRoom(t, srv.URL())
	c, _ := webaas.New(srv.URL())
	forged := "mallory\n2 2026-12-01 09:00:00 alice"
	hostile := []*chatpb.Message{
		{Nick: "alice", Text: "hello"},
		{Nick: forged, Text: "I approve the transfer"},
		{Nick: "\u202emallory", Text: "price: \u202e0001$", Kind: chatpb.Kind_KIND_ACTION},
		{Nick: "mallory", Text: "zero\u200bwidth\u2028line\x1b]0;pwned\x07\u009b2J"},
		{Nick: "mallory", Text: strings.Repeat("lin\n", 13000)},
		{Nick: "mallory", Kind: chatpb.Kind_KIND_NICK, Text: "bob\nalice"},
	}
	chattest.RawPost(t, c, room.Code(), hostile...)

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"history", "--server", srv.URL(), "--room", room.Code()}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(hostile) {
		t.Fatalf("%d messages printed as %d lines:\n%.2000s", len(hostile), len(lines), out.String())
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprint(i+1, " ")) {
			t.Errorf("line %d does not start with its seq: %.200q", i+1, l)
		}
		if j := strings.IndexFunc(l, unsafeRune); j >= 0 {
			t.Errorf("line %d holds %+q: %.200q", i+1, []rune(l[j:])[0], l)
		}
	}
	for _, want := range []string{
		`"mallory\n2 2026-12-01 09:00:00 alice": I approve the transfer`,
		`* "\u202emallory" price: <U+202E>0001$`,
		"zero<U+200B>width<U+2028>line<U+001B>]0;pwned<U+0007><U+009B>2J",
		"mallory: lin ↵ lin ↵ lin",
		`~ mallory is now known as "bob\nalice"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("history does not show %q:\n%.2000s", want, out.String())
		}
	}

	out.Reset()
	if err := run(context.Background(), []string{"history", "--server", srv.URL(), "--room", room.Code(), "--json"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	sc.Buffer(nil, 1<<20)
	n := 0
	for ; sc.Scan(); n++ {
		line := sc.Text()
		if j := strings.IndexFunc(line, unsafeRune); j >= 0 {
			t.Errorf("JSON line %d holds %+q raw: %.200q", n+1, []rune(line[j:])[0], line)
		}
		var got struct {
			Nick        string `json:"nick"`
			Text        string `json:"text"`
			NickInvalid bool   `json:"nick_invalid"`
		}
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("JSON line %d does not parse: %v", n+1, err)
		}
		want := hostile[n]
		if got.Nick != want.Nick || got.Text != want.Text {
			t.Errorf("JSON line %d decodes to %.100q %.100q, want %.100q %.100q", n+1, got.Nick, got.Text, want.Nick, want.Text)
		}
		if wantInvalid := want.Nick != "alice" && want.Nick != "mallory"; got.NickInvalid != wantInvalid {
			t.Errorf("JSON line %d: nick_invalid %v for %q", n+1, got.NickInvalid, want.Nick)
		}
	}
	if n != len(hostile) {
		t.Fatalf("--json printed %d lines for %d messages", n, len(hostile))
	}
	// A message with a valid nickname prints as it did, and says it is
	// unsigned (a raw write).
	if first := strings.SplitN(out.String(), "\n", 2)[0]; first != `{"seq":1,"nick":"alice","text":"hello","time":"1970-01-01T00:00:00Z","kind":"text","verified":false,"trust":"unsigned"}` {
		t.Errorf("a plain message's JSON changed: %s", first)
	}
}

// watchWriter collects a command's output and closes seen once the
// output holds want at least n times: tests wait on it, not on a clock.
type watchWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	n    int
	seen chan struct{}
}

func newWatchWriter(want string, n int) *watchWriter {
	return &watchWriter{want: want, n: n, seen: make(chan struct{})}
}

func (w *watchWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	select {
	case <-w.seen:
	default:
		if strings.Count(w.buf.String(), w.want) >= w.n {
			close(w.seen)
		}
	}
	return len(p), nil
}

func (w *watchWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// wait waits until the output holds what it watches for.
func (w *watchWriter) wait(t *testing.T, what string) {
	t.Helper()
	w.waitOr(t, what, nil)
}

// waitOr is wait for a command still running: it fails if the command
// ends (with the result on done) first.
func (w *watchWriter) waitOr(t *testing.T, what string, done <-chan error) {
	t.Helper()
	select {
	case <-w.seen:
	case err := <-done:
		t.Fatalf("%s: the command ended (%v) before the output held %q %d times:\n%.3000s", what, err, w.want, w.n, w.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: the output never held %q %d times:\n%.3000s", what, w.want, w.n, w.String())
	}
}

// gate serves the real server's API, except that the first range query
// for messages asked once out holds a line waits until release is
// called; held is closed when it starts waiting. (history reads the room
// twice, the first time printing nothing: see scanAmendments.)
func gate(t *testing.T, srv *servertest.Server, out *watchWriter) (url string, held <-chan struct{}, release func()) {
	t.Helper()
	var holding atomic.Bool
	gate, heldc := make(chan struct{}), make(chan struct{})
	release = sync.OnceFunc(func() { close(gate) })
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/query" && r.URL.Query().Get("schemaName") == "chatroom.Message" &&
			strings.Contains(out.String(), "\n") && holding.CompareAndSwap(false, true) {
			close(heldc)
			<-gate
		}
		srv.API.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(release) // runs first: a failed test does not hold the server
	return front.URL, heldc, release
}

// TestHistoryPrintsEachPageAsItArrives: `history` (and `--last N`) prints
// the first page of a room before it asks for the second, so its memory
// is one page whatever the room's size. Before, it read the whole room
// first: nothing was printed while the second page was held back. (Its
// first reading, for the amendments, prints nothing and holds none of
// the room's text: the gate waits for the second.)
func TestHistoryPrintsEachPageAsItArrives(t *testing.T) {
	const pageSize, n = 5, 23
	srv := servertest.Start(t, func(c *server.Config) { c.PageSize = pageSize })
	room := createRoom(t, srv.URL())
	c, _ := webaas.New(srv.URL())
	var msgs []*chatpb.Message
	for i := 1; i <= n; i++ {
		msgs = append(msgs, &chatpb.Message{Nick: "bob", Text: fmt.Sprint("m", i)})
	}
	chattest.RawPost(t, c, room.Code(), msgs...)
	for _, tc := range []struct {
		args      []string
		first     int // messages printed from the first page
		total     int
		firstLine string
	}{
		{nil, pageSize, n, "1 "},
		{[]string{"--last", "12"}, pageSize, 12, "12 "},
		{[]string{"--json"}, pageSize, n, `{"seq":1,`},
	} {
		out := newWatchWriter("\n", tc.first)
		url, held, release := gate(t, srv, out)
		done := make(chan error, 1)
		go func() {
			done <- run(context.Background(), append([]string{"history", "--server", url, "--room", room.Code()}, tc.args...), nil, out, io.Discard)
		}()
		what := fmt.Sprintf("history %v with the second page held back", tc.args)
		select {
		case <-held:
		case err := <-done:
			t.Fatalf("%s: it asked for no page after printing its first line (ended: %v):\n%s", what, err, out.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no page asked for after the first line:\n%s", what, out.String())
		}
		out.waitOr(t, what, done)
		if n := strings.Count(out.String(), "\n"); n != tc.first {
			t.Fatalf("%s: %d lines printed, want the first page's %d", what, n, tc.first)
		}
		release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != tc.total || !strings.HasPrefix(lines[0], tc.firstLine) {
			t.Fatalf("history %v printed %d lines from %q, want %d from %q", tc.args, len(lines), lines[0], tc.total, tc.firstLine)
		}
	}
}

// TestHistoryStopsAtTheHead: a raw write of a far-future message is not
// printed (it is past the head counter, so not part of the room), and a
// head counter moved past missing messages is said on stderr. Before,
// history printed the hostile record and --follow went on from its
// sequence number, missing every honest message after it.
func TestHistoryStopsAtTheHead(t *testing.T) {
	srv := servertest.Start(t, func(c *server.Config) { c.Plain = true }) // a room with a head counter
	room := createRoom(t, srv.URL())
	c, _ := webaas.New(srv.URL())
	ctx := context.Background()
	chattest.RawPost(t, c, room.Code(), &chatpb.Message{Nick: "alice", Text: "one"}, &chatpb.Message{Nick: "alice", Text: "two"})
	if err := c.PutMessage(ctx, room.Code(), &chatpb.Message{Seq: 1_000_000, Nick: "mallory", Text: "from the future"}); err != nil {
		t.Fatal(err)
	}
	if err := c.PutMessage(ctx, room.Code(), &chatpb.Counter{Name: "head", Value: 4}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"history", "--server", srv.URL(), "--room", room.Code()}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "from the future") || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("history printed:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "messages 3 to 4 are missing from the room") {
		t.Fatalf("stderr does not say messages 3 to 4 are missing:\n%s", errOut.String())
	}
}
