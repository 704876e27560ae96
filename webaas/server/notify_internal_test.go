package server

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
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
	s := h.open(store.Notification{ID: "n", App: "a", Schema: "T", Keys: []string{"a", "b", "c", "d"}}, false)
	defer h.remove(s)
	s.after = 10
	s.push([]byte("old"), "T", []string{"a"}, 5) // queued
	s.push(nil, "T", []string{"b"}, 11)          // the queue is full: backlog
	s.push(nil, "T", []string{"a"}, 7)
	s.push(nil, "T", []string{"c", "b"}, 9)
	s.push(nil, "T", []string{"d"}, 8)
	s.push(nil, "T", []string{"c"}, 12)
	frames, keys := s.take()
	if len(frames) != 1 || s.fresh(frames[0]) {
		t.Errorf("the queued frame of change 5 would be sent on a socket opened at 10")
	}
	if frame, _ := s.gather(frames, 1<<20); frame != nil {
		t.Errorf("gather makes %q of a frame older than the socket", frame)
	}
	if want := []typedKey{{"T", "b"}, {"T", "c"}}; !slices.Equal(keys, want) {
		t.Errorf("backlog frame names %q, want %q", keys, want)
	}
	s.push([]byte("new"), "T", []string{"a"}, 13)
	if frames, _ := s.take(); len(frames) != 1 || !s.fresh(frames[0]) || string(frames[0].frame) != "new" {
		t.Errorf("the frame of change 13 is %+v, not sent", frames)
	}
}

// TestBacklogFrames: changes that found the queue full are sent as one
// records frame with every record omitted (the client reads them), or,
// on an old-style socket, as one frame per type.
func TestBacklogFrames(t *testing.T) {
	h := newHub(Config{WSQueue: 1}.withDefaults(), slog.New(slog.DiscardHandler))
	for _, records := range []bool{true, false} {
		s := h.open(store.Notification{ID: "n", App: "a", Types: []string{"T", "U"}}, records)
		s.push([]byte("queued"), "T", []string{"1"}, 1)
		s.push(nil, "T", []string{"2"}, 2)
		s.push(nil, "U", []string{"x"}, 3)
		s.push(nil, "T", []string{"3", "2"}, 4)
		var got []string
		_, keys := s.take()
		for _, frame := range s.backlogFrames(h.log, keys) {
			if records {
				var f wire.RecordsFrame
				if err := proto.Unmarshal(frame, &f); err != nil {
					t.Fatal(err)
				}
				var parts []string
				for _, c := range f.Changes {
					parts = append(parts, fmt.Sprintf("%s/%s omitted=%v", c.SchemaName, c.RecordKey, c.Omitted))
				}
				got = append(got, fmt.Sprintf("commit=%d %s", f.Commit, strings.Join(parts, " ")))
				continue
			}
			var m wire.NotificationMessage
			if err := proto.Unmarshal(frame, &m); err != nil {
				t.Fatal(err)
			}
			got = append(got, m.SchemaName+" "+strings.Join(m.RecordKeys, ","))
		}
		want := []string{"commit=0 T/2 omitted=true U/x omitted=true T/3 omitted=true"}
		if !records {
			want = []string{"T 2,3", "U x"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("records=%v: backlog frames %q, want %q", records, got, want)
		}
		h.remove(s)
	}
}

// TestGatherJoinsRecordsFrames: a records socket's queued frames are
// written as one, which decodes as the frames' changes in order, with the
// last commit's position; an old-style socket's are written one by one.
func TestGatherJoinsRecordsFrames(t *testing.T) {
	h := newHub(Config{}.withDefaults(), slog.New(slog.DiscardHandler))
	frame := func(commit uint64, key string) []byte {
		b, err := proto.Marshal(&wire.RecordsFrame{NotificationId: "n", AppId: "a", Commit: commit,
			Changes: []*wire.RecordChange{{SchemaName: "T", RecordKey: []byte(key), Record: []byte(key)}}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, records := range []bool{true, false} {
		s := h.open(store.Notification{ID: "n", App: "a", Types: []string{"T"}}, records)
		shared := frame(1, "1")
		for i, f := range [][]byte{shared, frame(2, "2"), frame(3, "3")} {
			s.push(f, "T", []string{fmt.Sprint(i + 1)}, uint64(i+1))
		}
		frames, _ := s.take()
		var written []*wire.RecordsFrame
		for len(frames) > 0 {
			var b []byte
			b, frames = s.gather(frames, 1<<20)
			var f wire.RecordsFrame
			if err := proto.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			written = append(written, &f)
		}
		if !records {
			if len(written) != 3 {
				t.Errorf("an old-style socket wrote %d frames, want 3", len(written))
			}
			h.remove(s)
			continue
		}
		if len(written) != 1 || written[0].Commit != 3 || len(written[0].Changes) != 3 || written[0].NotificationId != "n" {
			t.Fatalf("a records socket wrote %v", written)
		}
		for i, c := range written[0].Changes {
			if string(c.RecordKey) != fmt.Sprint(i+1) {
				t.Errorf("change %d is %s", i, c.RecordKey)
			}
		}
		if !slices.Equal(shared, frame(1, "1")) {
			t.Error("joining frames changed a frame other sockets share")
		}
		h.remove(s)
	}
}
