package chat_test

import (
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
)

func TestMentions(t *testing.T) {
	for _, tc := range []struct {
		text string
		want bool
	}{
		{"alice: look", true}, {"hey @alice!", true}, {"ALICE?", true}, {"hi alice.", true},
		{"malice aforethought", false}, {"alicebob", false}, {"nothing here", false},
	} {
		if got := (chat.Message{Nick: "bob", Text: tc.text}).Mentions("alice"); got != tc.want {
			t.Errorf("%q mentions alice: %v, want %v", tc.text, got, tc.want)
		}
	}
	if (chat.Message{Nick: "alice", Text: "alice talks about herself"}).Mentions("alice") {
		t.Error("own line counted as a mention")
	}
	if (chat.Message{Nick: "bob", Kind: chat.Join}).Mentions("bob2") {
		t.Error("a join line counted as a mention")
	}
}

func TestParts(t *testing.T) {
	for _, tc := range []struct {
		m          chat.Message
		lead, text string
	}{
		{chat.Message{Nick: "alice", Text: "hi\nthere"}, "alice:", "hi ↵ there"},
		{chat.Message{Nick: "alice", Kind: chat.Action, Text: "waves"}, "* alice", "waves"},
		{chat.Message{Nick: "alice", Kind: chat.Join}, "→", "alice joined"},
		{chat.Message{Nick: "alice", Kind: chat.Leave}, "←", "alice left"},
		{chat.Message{Nick: "alice", Kind: chat.Rename, Text: "bob"}, "~", "alice is now known as bob"},
	} {
		if lead, text := tc.m.Parts(true); lead != tc.lead || text != tc.text {
			t.Errorf("%+v reads %q %q, want %q %q", tc.m, lead, text, tc.lead, tc.text)
		}
	}
}
