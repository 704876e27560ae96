package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/webaas-chat/webaas-chat/pb"
	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// rawPost appends messages to a room as a sender does (the next sequence
// numbers, the head counter bumped in the same transaction) but with
// whatever they hold: what anyone with the room code can write through
// the raw API.
func rawPost(t testing.TB, c *webaas.Client, code string, msgs ...*pb.Message) {
	t.Helper()
	ctx := context.Background()
	tx, err := c.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	head, err := webaas.TxnGetMessage[pb.Counter](ctx, tx, code, "head")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		head.Value++
		m.Seq = head.Value
		if err := tx.PutMessage(ctx, code, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.PutMessage(ctx, code, head); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

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
	hostile := []*pb.Message{
		{Nick: "alice", Text: "hello"},
		{Nick: forged, Text: "I approve the transfer"},
		{Nick: "\u202emallory", Text: "price: \u202e0001$", Kind: pb.Kind_KIND_ACTION},
		{Nick: "mallory", Text: "zero\u200bwidth\u2028line\x1b]0;pwned\x07\u009b2J"},
		{Nick: "mallory", Text: strings.Repeat("lin\n", 13000)},
		{Nick: "mallory", Kind: pb.Kind_KIND_NICK, Text: "bob\nalice"},
	}
	rawPost(t, c, room.Code(), hostile...)

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
	// A message with a valid nickname prints exactly as before.
	if first := strings.SplitN(out.String(), "\n", 2)[0]; first != `{"seq":1,"nick":"alice","text":"hello","time":"1970-01-01T00:00:00Z","kind":"text"}` {
		t.Errorf("a plain message's JSON changed: %s", first)
	}
}
