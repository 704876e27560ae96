package server

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// TestSocketSkipsOlderChanges pins down what a socket does with changes
// numbered no higher than the store's sequence number when it opened
// (delivered late by this node's feed): they are never sent, whether they
// wait in the queue or were coalesced into the backlog, and a key in the
// backlog is sent if any change newer than the socket named it.
// TestTwoNodesSocketAfterCommit shows the same through two real nodes, but
// cannot choose which changes find the queue full.
func TestSocketSkipsOlderChanges(t *testing.T) {
	h := newHub(Config{WSQueue: 1}.withDefaults(), slog.New(slog.DiscardHandler))
	s := h.open(store.Notification{ID: "n", App: "a", Schema: "T", Keys: []string{"a", "b", "c", "d"}})
	defer h.remove(s)
	s.after = 10
	s.push([]byte("old"), []string{"a"}, 5) // queued
	s.push(nil, []string{"b"}, 11)          // the queue is full: backlog
	s.push(nil, []string{"a"}, 7)
	s.push(nil, []string{"c", "b"}, 9)
	s.push(nil, []string{"d"}, 8)
	s.push(nil, []string{"c"}, 12)
	if q := <-s.queue; s.fresh(q) {
		t.Errorf("the queued frame of change 5 would be sent on a socket opened at 10")
	}
	if got, want := s.takeBacklog(), []string{"b", "c"}; !slices.Equal(got, want) {
		t.Errorf("backlog frame names %q, want %q", got, want)
	}
	s.push([]byte("new"), []string{"a"}, 13)
	if q := <-s.queue; !s.fresh(q) || string(q.frame) != "new" {
		t.Errorf("the frame of change 13 is %+v, not sent", q)
	}
}
