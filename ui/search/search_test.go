package search

import (
	"fmt"
	"slices"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
)

// line is a verified line by key k.
func said(seq int64, k, text string) chat.Message {
	return chat.Message{Seq: seq, Kind: chat.Text, Nick: k, Text: text, Trust: chat.Verified, Key: []byte(k), ClientID: k, ClientSeq: uint64(seq)}
}

func amend(seq int64, kind chat.Kind, k string, target int64, text string) chat.Message {
	m := said(seq, k, text)
	m.Kind, m.Target = kind, target
	return m
}

func TestFindHonoursEditsAndDeletes(t *testing.T) {
	msgs := []chat.Message{
		said(1, "alice", "Apple pie tonight?"),
		said(2, "bob", "apple crumble is better"),
		{Seq: 3, Kind: chat.Join, Nick: "carol"}, // not a line: never found
		said(4, "alice", "bring an APPLE"),
		amend(5, chat.Edit, "alice", 1, "cherry pie tonight?"),
		amend(6, chat.Delete, "alice", 4, ""),
		amend(7, chat.Edit, "mallory", 2, "apple apple"), // not bob's: ignored
		{Seq: 8, Kind: chat.Action, Nick: "bob", Text: "eats an apple", Trust: chat.Verified, Key: []byte("bob")},
		{Seq: 9, Nick: "?", Trust: chat.Undecryptable},
	}
	for name, order := range map[string][]int{
		"in order":     {0, 1, 2, 3, 4, 5, 6, 7, 8},
		"newest first": {8, 7, 6, 5, 4, 3, 2, 1, 0}, // as history pages come
	} {
		x := New(nil, nil)
		var in []chat.Message
		for _, i := range order {
			in = append(in, msgs[i])
		}
		deleted := x.Add(in)
		if got, want := x.Find("apple"), []int64{8, 2}; !slices.Equal(got, want) {
			t.Errorf("%s: apple found %v, want %v", name, got, want)
		}
		if got, want := x.Find("CHERRY"), []int64{1}; !slices.Equal(got, want) {
			t.Errorf("%s: cherry (the edit) found %v, want %v", name, got, want)
		}
		if got := x.Find("carol"); len(got) != 0 {
			t.Errorf("%s: a join line was found: %v", name, got)
		}
		if !slices.Equal(deleted, []int64{4}) {
			t.Errorf("%s: deleted %v, want [4]", name, deleted)
		}
		// Taken again (a page read twice): nothing changes, nothing is
		// reported again.
		if again := x.Add(in); len(again) != 0 || !slices.Equal(x.Find("apple"), []int64{8, 2}) {
			t.Errorf("%s: read twice: deleted %v, found %v", name, again, x.Find("apple"))
		}
	}
}

// The text as the pane shows it: a tab is a space there.
func TestFindMatchesTheShownText(t *testing.T) {
	x := New(nil, nil)
	x.Add([]chat.Message{said(1, "a", "tab\there")})
	if got := x.Find("tab here"); !slices.Equal(got, []int64{1}) {
		t.Errorf("found %v", got)
	}
	if got := x.Find(""); got != nil {
		t.Errorf("the empty query found %v", got)
	}
}

func TestSpans(t *testing.T) {
	for _, tc := range []struct {
		s, q string
		want [][2]int
	}{
		{"Green, green grass", "green", [][2]int{{0, 5}, {7, 12}}},
		{"ÉTÉ été", "été", [][2]int{{0, 5}, {6, 11}}},
		{"aaaa", "aa", [][2]int{{0, 2}, {2, 4}}},
		{"nothing", "x", nil},
		{"", "x", nil},
	} {
		if got := Spans(tc.s, Fold(tc.q)); !slices.Equal(got, tc.want) {
			t.Errorf("Spans(%q, %q) = %v, want %v", tc.s, tc.q, got, tc.want)
		}
	}
}

// BenchmarkSearch100k is one query over a room of 100,000 messages held
// in the index (what every search after a room's first costs): a word
// found in 1 line in 1,000, the matches listed newest first.
func BenchmarkSearch100k(b *testing.B) {
	x := New(nil, nil)
	msgs := make([]chat.Message, 0, 100_000)
	for i := range 100_000 {
		text := fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog, then naps", i)
		if i%1000 == 0 {
			text = fmt.Sprintf("message %d: where is the needle in this haystack", i)
		}
		msgs = append(msgs, chat.Message{Seq: int64(i + 1), Kind: chat.Text, Nick: "bob", Text: text})
	}
	x.Add(msgs)
	if n := len(x.Find("needle")); n != 100 {
		b.Fatalf("found %d", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		x.Find("Needle")
	}
}

// BenchmarkIndex100k is what a room's first search costs once its
// messages are decoded: taking 100,000 of them, an edit in every 100.
func BenchmarkIndex100k(b *testing.B) {
	msgs := make([]chat.Message, 0, 101_000)
	for i := range 100_000 {
		msgs = append(msgs, said(int64(i+1), "bob", fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog", i)))
		if i%100 == 99 {
			msgs = append(msgs, amend(int64(200_000+i), chat.Edit, "bob", int64(i+1), "edited"))
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		New(nil, nil).Add(msgs)
	}
}
