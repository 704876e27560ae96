package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/chat/chatpb"
	"github.com/webaas-chat/webaas-chat/chat/chattest"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// amendRoom is a room in the clear on a new server, with alice and bob
// joined (lines 1 and 2), each signing with an identity of their own.
func amendRoom(t *testing.T) (srv *servertest.Server, room *chat.Room, alice, bob *chat.Session) {
	t.Helper()
	srv = servertest.Start(t)
	room = createRoom(t, srv.URL())
	for _, p := range []struct {
		nick string
		s    **chat.Session
	}{{"alice", &alice}, {"bob", &bob}} {
		id, err := identity.Generate()
		if err != nil {
			t.Fatal(err)
		}
		s, err := room.Join(context.Background(), p.nick, chat.SessionOptions{Identity: id})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		*p.s = s
	}
	return srv, room, alice, bob
}

// ok fails the test on err, else returns m.
func ok(t *testing.T) func(chat.Message, error) chat.Message {
	return func(m chat.Message, err error) chat.Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

// untimed is a history line without its date and time, which depend on
// the clock and the time zone: "SEQ rest".
func untimed(line string) string {
	f := strings.SplitN(line, " ", 4)
	if len(f) < 4 {
		return line
	}
	return f[0] + " " + f[3]
}

// jsonTime is how history --json writes a message's time.
func jsonTime(m chat.Message) string { return m.Sent.UTC().Format(time.RFC3339Nano) }

// TestSendReplyTo: `send --reply-to SEQ` posts a reply to SEQ that reads
// back as one; a SEQ that is no number, not above 0, not in the room or a
// join line is a usage error that says so, and nothing is sent.
func TestSendReplyTo(t *testing.T) {
	srv, room, alice, _ := amendRoom(t)
	ctx := context.Background()
	question := ok(t)(alice.Send(ctx, "who has the build?"))
	send := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append([]string{"send", "--server", srv.URL(), "--room", room.Code(), "--nick", "carol",
			"--identity", filepath.Join(t.TempDir(), "identity")}, args...), nil, &out, io.Discard)
		return out.String(), err
	}
	out, err := send("--reply-to", fmt.Sprint(question.Seq), "I", "do")
	if err != nil {
		t.Fatal(err)
	}
	seq := question.Seq + 1
	if out != fmt.Sprintf("%d\n", seq) {
		t.Fatalf("send printed %q, want %d", out, seq)
	}
	reply, err := room.Message(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if reply.ReplyTo != question.Seq || reply.Text != "I do" || reply.Nick != "carol" || reply.Trust == chat.Forged {
		t.Fatalf("the reply reads back as %+v", reply)
	}

	for _, tc := range []struct {
		seq     string
		says    string
		noSuchM bool // the chat's ErrNoSuchMessage
	}{
		{"twelve", `--reply-to "twelve" is not a message's number`, false},
		{"0", `--reply-to "0" is not a message's number`, false},
		{"-3", `--reply-to "-3" is not a message's number`, false},
		{"99", "--reply-to 99: message 99: no such message", true},
		{"1", "--reply-to 1: message 1 is a join line: no such message", true},
	} {
		out, err := send("--reply-to", tc.seq, "hello?")
		if !errors.As(err, new(usageError)) || !strings.Contains(fmt.Sprint(err), tc.says) {
			t.Errorf("--reply-to %s: %v, want a usage error saying %q", tc.seq, err, tc.says)
		}
		if errors.Is(err, chat.ErrNoSuchMessage) != tc.noSuchM {
			t.Errorf("--reply-to %s: %v is ErrNoSuchMessage: %v", tc.seq, err, !tc.noSuchM)
		}
		if out != "" {
			t.Errorf("--reply-to %s printed %q", tc.seq, out)
		}
	}
	if head, err := room.Head(ctx); err != nil || head != seq {
		t.Fatalf("the room's head is %d (%v) after the refused replies, want %d: something was sent", head, err, seq)
	}

	// As a person sees it: the error on stderr, exit status 2.
	p := startProcess(t, "send", "--server", srv.URL(), "--room", room.Code(), "--nick", "carol",
		"--identity", filepath.Join(t.TempDir(), "identity"), "--reply-to", "99", "hello?")
	if code := p.wait(30 * time.Second); code != 2 || !strings.Contains(p.out.String(), "webaas-chat: not sent: --reply-to 99: message 99: no such message") {
		t.Fatalf("exit %d, output %q", code, p.out.String())
	}
}

// TestHistoryFoldsAmendments: `history` shows each message as its edits,
// deletes and reactions left it, replies with what they answer, and no
// line of the amendments themselves; an edit written around the chat
// (unsigned, under alice's nickname) changes nothing. `--json` says the
// same in reply_to, edited, deleted and reactions, each left out when it
// does not apply, so an untouched line is byte for byte what it was.
func TestHistoryFoldsAmendments(t *testing.T) {
	srv, room, alice, bob := amendRoom(t)
	ctx := context.Background()
	first := ok(t)(alice.Send(ctx, "first"))
	second := ok(t)(alice.Send(ctx, "second, a secret"))
	reply := ok(t)(bob.Reply(ctx, first, "answer to first"))
	ok(t)(alice.Edit(ctx, first, "first (typo)"))
	ok(t)(alice.Edit(ctx, first, "first, edited"))
	ok(t)(alice.Delete(ctx, second))
	ok(t)(bob.React(ctx, first, "👍"))
	ok(t)(alice.React(ctx, first, "👍"))
	ok(t)(alice.React(ctx, first, "❤️"))
	ok(t)(bob.React(ctx, reply, "🎉"))
	ok(t)(bob.React(ctx, reply, "👀"))
	ok(t)(bob.React(ctx, reply, "👀")) // taken back
	c, _ := webaas.New(srv.URL())
	chattest.RawPost(t, c, room.Code(), &chatpb.Message{Kind: chatpb.Kind_KIND_EDIT, Nick: "alice", Text: "forged", Target: first.Seq, SentUnixMs: time.Now().UnixMilli(), ClientId: "x", ClientSeq: 1})
	last := ok(t)(alice.Send(ctx, "the end"))

	history := func(args ...string) []string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, append([]string{"history", "--server", srv.URL(), "--room", room.Code()}, args...), nil, &out, &errOut); err != nil {
			t.Fatalf("history %v: %v\n%s", args, err, errOut.String())
		}
		return strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	}
	var got []string
	for _, l := range history() {
		got = append(got, untimed(l))
	}
	want := []string{
		"1 → alice joined",
		"2 → bob joined",
		fmt.Sprintf("%d alice: first, edited (edited) [👍 2 ❤ 1]", first.Seq),
		fmt.Sprintf("%d alice: (message deleted)", second.Seq),
		fmt.Sprintf("%d ↳ #%d bob: answer to first [🎉 1]", reply.Seq, first.Seq),
		fmt.Sprintf("%d alice: the end", last.Seq),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// --last counts lines, not the amendments among them.
	if got := history("--last", "2"); len(got) != 2 || untimed(got[0]) != want[4] || untimed(got[1]) != want[5] {
		t.Errorf("history --last 2:\n%s", strings.Join(got, "\n"))
	}

	fa, fb := identity.Fingerprint(alice.Key()), identity.Fingerprint(bob.Key())
	wantJSON := map[int64]string{
		first.Seq: fmt.Sprintf(`{"seq":%d,"nick":"alice","text":"first, edited","time":%q,"kind":"text","verified":true,"trust":"verified","fingerprint":%q,"edited":true,"reactions":[{"emoji":"👍","count":2},{"emoji":"❤\ufe0f","count":1}]}`,
			first.Seq, jsonTime(first), fa),
		// The delete left its own record in the message's place, under
		// the message's nickname and time.
		second.Seq: fmt.Sprintf(`{"seq":%d,"nick":"alice","text":"","time":%q,"kind":"removed","verified":true,"trust":"verified","fingerprint":%q,"deleted":true}`,
			second.Seq, jsonTime(second), fa),
		reply.Seq: fmt.Sprintf(`{"seq":%d,"nick":"bob","text":"answer to first","time":%q,"kind":"text","verified":true,"trust":"verified","fingerprint":%q,"reply_to":%d,"reactions":[{"emoji":"🎉","count":1}]}`,
			reply.Seq, jsonTime(reply), fb, first.Seq),
		last.Seq: fmt.Sprintf(`{"seq":%d,"nick":"alice","text":"the end","time":%q,"kind":"text","verified":true,"trust":"verified","fingerprint":%q}`,
			last.Seq, jsonTime(last), fa),
	}
	lines := history("--json")
	if len(lines) != len(want) {
		t.Fatalf("history --json printed %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		var seq int64
		if _, err := fmt.Sscanf(l, `{"seq":%d,`, &seq); err != nil {
			t.Fatalf("JSON line %d: %v: %s", i+1, err, l)
		}
		if w, ok := wantJSON[seq]; ok && l != w {
			t.Errorf("JSON line %d:\n%s\nwant\n%s", i+1, l, w)
		}
	}
}

// followed is a command that runs until the test ends, its output
// handed over a line at a time.
type followed struct {
	lines chan string
	done  chan error
}

func runFollowing(t *testing.T, args ...string) *followed {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	f := &followed{lines: make(chan string, 1000), done: make(chan error, 1)}
	go func() {
		err := run(ctx, args, nil, pw, io.Discard)
		pw.Close()
		f.done <- err
	}()
	go func() {
		defer close(f.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			f.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-f.done; err != nil {
			t.Errorf("%v ended with %v", args, err)
		}
	})
	return f
}

// next is the next line printed.
func (f *followed) next(t *testing.T, what string) string {
	t.Helper()
	select {
	case l, ok := <-f.lines:
		if !ok {
			t.Fatalf("%s: the command ended", what)
		}
		return l
	case <-time.After(30 * time.Second):
		t.Fatalf("%s: nothing printed", what)
	}
	return ""
}

// TestHistoryFollowPrintsAmendments: after the folded history, `history
// --follow` prints each edit, delete and reaction as it comes, as the
// event it is; one written around the chat (unsigned) is not printed,
// nor is one of a message before what --last read. Each follower's next
// line is checked in order, so a line printed that should not be is
// the next one seen.
func TestHistoryFollowPrintsAmendments(t *testing.T) {
	srv, room, alice, bob := amendRoom(t)
	ctx := context.Background()
	first := ok(t)(alice.Send(ctx, "first"))
	second := ok(t)(bob.Send(ctx, "second"))
	base := []string{"history", "--server", srv.URL(), "--room", room.Code(), "--follow"}
	text := runFollowing(t, base...)
	asJSON := runFollowing(t, append(base, "--json", "--last", "1")...)
	for i := range 4 {
		text.next(t, fmt.Sprint("history line ", i+1))
	}
	if l := asJSON.next(t, "history --last 1"); !strings.HasPrefix(l, fmt.Sprintf(`{"seq":%d,`, second.Seq)) {
		t.Fatalf("history --json --last 1 printed %s", l)
	}

	edit := ok(t)(alice.Edit(ctx, first, "first, edited"))
	c, _ := webaas.New(srv.URL())
	chattest.RawPost(t, c, room.Code(), &chatpb.Message{Kind: chatpb.Kind_KIND_EDIT, Nick: "bob", Text: "forged", Target: second.Seq, SentUnixMs: time.Now().UnixMilli(), ClientId: "x", ClientSeq: 1})
	react := ok(t)(bob.React(ctx, second, "👍"))
	reply := ok(t)(bob.Reply(ctx, first, "re: first"))
	del := ok(t)(bob.Delete(ctx, second))

	for _, want := range []string{
		fmt.Sprintf("%d ~ alice edited message %d: first, edited", edit.Seq, first.Seq),
		fmt.Sprintf("%d ~ bob reacted 👍 to message %d", react.Seq, second.Seq),
		fmt.Sprintf("%d ↳ #%d bob: re: first", reply.Seq, first.Seq),
		fmt.Sprintf("%d ~ bob deleted message %d", del.Seq, second.Seq),
	} {
		if got := untimed(text.next(t, want)); got != want {
			t.Errorf("history --follow printed %q, want %q", got, want)
		}
	}

	fb := identity.Fingerprint(bob.Key())
	// The edit of the first message, which --last 1 did not read, is not
	// there: the reaction comes next.
	for _, want := range []string{
		fmt.Sprintf(`{"seq":%d,"nick":"bob","text":"👍","time":%q,"kind":"react","verified":true,"trust":"verified","fingerprint":%q,"target":%d}`, react.Seq, jsonTime(react), fb, second.Seq),
		fmt.Sprintf(`{"seq":%d,"nick":"bob","text":"re: first","time":%q,"kind":"text","verified":true,"trust":"verified","fingerprint":%q,"reply_to":%d}`, reply.Seq, jsonTime(reply), fb, first.Seq),
		fmt.Sprintf(`{"seq":%d,"nick":"bob","text":"","time":%q,"kind":"delete","verified":true,"trust":"verified","fingerprint":%q,"target":%d}`, del.Seq, jsonTime(del), fb, second.Seq),
	} {
		if got := asJSON.next(t, want); got != want {
			t.Errorf("history --follow --json printed\n%s\nwant\n%s", got, want)
		}
	}
}
