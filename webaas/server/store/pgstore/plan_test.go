package pgstore

import (
	"errors"
	"slices"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// TestPlan checks group validation on its own: each commit of a group is
// judged against the database's versions and the commits before it in the
// group, as if the group's commits had run one by one. (The conformance
// suite checks the same through a real database, but cannot choose which
// commits share a group.)
func TestPlan(t *testing.T) {
	k := store.RecordKey{App: "a", Schema: "T", Key: []byte("k")}
	other := store.RecordKey{App: "a", Schema: "T", Key: []byte("other")}
	put := store.Write{Key: k, TextKey: "k", Value: []byte("v")}
	del := store.Write{Key: k, TextKey: "k", Delete: true}
	req := func(reads []store.Read, writes ...store.Write) *commitReq {
		return &commitReq{batch: store.Batch{Reads: reads, Writes: writes}}
	}
	read := func(key store.RecordKey, v uint64) []store.Read { return []store.Read{{Key: key, Version: v}} }
	const head = 100 // k is at version 7 in the database; other is absent
	versions := map[keyID]uint64{idOf(k): 7}
	apps := map[string]bool{"a": true}

	reqs := []*commitReq{
		req(read(k, 7), put),   // 101: holds
		req(read(k, 7), put),   // stale: 101 wrote k
		req(read(k, 101), del), // 102: deletes k
		req(read(k, 101), put), // stale: k is absent now
		req(read(k, 0)),        // 103: absent holds, read-only
		req(read(k, 0), put),   // 104: recreates k
		req(nil, store.Write{Key: store.RecordKey{App: "gone", Schema: "T", Key: []byte("x")}}), // unknown app
		req(read(other, 0), put, del), // 105: the last write of k wins
		req(read(other, 0), store.Write{Key: other, TextKey: "other", Value: []byte("o")}), // 106
	}
	p := plan(reqs, head, versions, apps)
	want := []struct {
		seq uint64
		err error
	}{{101, nil}, {0, store.ErrConflict}, {102, nil}, {0, store.ErrConflict}, {103, nil}, {104, nil},
		{0, store.ErrUnknownApp}, {105, nil}, {106, nil}}
	for i, w := range want {
		r := reqs[i]
		if r.seq != w.seq || (w.err == nil) != (r.err == nil) || (w.err != nil && !errors.Is(r.err, w.err)) {
			t.Errorf("commit %d: seq %d, %v; want seq %d, %v", i, r.seq, r.err, w.seq, w.err)
		}
	}
	if p.start != head || p.end != 106 {
		t.Fatalf("group spans %d..%d, want %d..106", p.start, p.end, head)
	}
	if len(p.final) != 2 {
		t.Fatalf("group writes %d keys, want 2", len(p.final))
	}
	if f := p.state[idOf(k)]; !f.w.Delete || f.version != 105 {
		t.Fatalf("k ends as %+v, want deleted by 105", f)
	}
	if f := p.state[idOf(other)]; f.w.Delete || f.version != 106 || string(f.w.Value) != "o" {
		t.Fatalf("other ends as %+v, want written by 106", f)
	}
	var seqs []uint64
	for _, c := range p.changes {
		seqs = append(seqs, c.Seq)
	}
	if want := []uint64{101, 102, 104, 105, 106}; !slices.Equal(seqs, want) {
		t.Fatalf("changes of seqs %v, want %v (the read-only commit has none)", seqs, want)
	}
}
