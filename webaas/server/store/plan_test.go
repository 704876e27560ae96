package store

import (
	"errors"
	"slices"
	"testing"
)

// TestPlanGroup checks group validation on its own: each commit of a
// group is judged against the stored versions and the commits before it
// in the group, as if the group's commits had run one by one. (The
// conformance suite checks the same through real stores, but cannot
// choose which commits share a group.)
func TestPlanGroup(t *testing.T) {
	k := RecordKey{App: "a", Schema: "T", Key: []byte("k")}
	other := RecordKey{App: "a", Schema: "T", Key: []byte("other")}
	put := Write{Key: k, TextKey: "k", Value: []byte("v")}
	del := Write{Key: k, TextKey: "k", Delete: true}
	req := func(reads []Read, writes ...Write) *CommitReq {
		return &CommitReq{Batch: Batch{Reads: reads, Writes: writes}}
	}
	read := func(key RecordKey, v uint64) []Read { return []Read{{Key: key, Version: v}} }
	const head = 100 // k is at version 7 in the database; other is absent
	asked := map[keyID]int{}
	version := func(key RecordKey) uint64 {
		asked[idOf(key)]++
		if idOf(key) == idOf(k) {
			return 7
		}
		return 0
	}
	exists := func(app string) bool { return app == "a" }

	reqs := []*CommitReq{
		req(read(k, 7), put),   // 101: holds
		req(read(k, 7), put),   // stale: 101 wrote k
		req(read(k, 101), del), // 102: deletes k
		req(read(k, 101), put), // stale: k is absent now
		req(read(k, 0)),        // 103: absent holds, read-only
		req(read(k, 0), put),   // 104: recreates k
		req(nil, Write{Key: RecordKey{App: "gone", Schema: "T", Key: []byte("x")}}), // unknown app
		req(read(other, 0), put, del), // 105: the last write of k wins
		req(read(other, 0), Write{Key: other, TextKey: "other", Value: []byte("o")}), // 106
	}
	p := PlanGroup(reqs, head, version, exists)
	want := []struct {
		seq uint64
		err error
	}{{101, nil}, {0, ErrConflict}, {102, nil}, {0, ErrConflict}, {103, nil}, {104, nil},
		{0, ErrUnknownApp}, {105, nil}, {106, nil}}
	for i, w := range want {
		r := reqs[i]
		if r.Seq != w.seq || (w.err == nil) != (r.Err == nil) || (w.err != nil && !errors.Is(r.Err, w.err)) {
			t.Errorf("commit %d: seq %d, %v; want seq %d, %v", i, r.Seq, r.Err, w.seq, w.err)
		}
	}
	if p.Start != head || p.End != 106 {
		t.Fatalf("group spans %d..%d, want %d..106", p.Start, p.End, head)
	}
	if len(p.Final) != 2 {
		t.Fatalf("group writes %d keys, want 2", len(p.Final))
	}
	if f := p.Final[0]; idOf(f.Write.Key) != idOf(k) || !f.Write.Delete || f.Version != 105 {
		t.Fatalf("k ends as %+v, want deleted by 105", f)
	}
	if f := p.Final[1]; idOf(f.Write.Key) != idOf(other) || f.Write.Delete || f.Version != 106 || string(f.Write.Value) != "o" {
		t.Fatalf("other ends as %+v, want written by 106", f)
	}
	for id, n := range asked {
		if n != 1 {
			t.Errorf("the version of %q was asked %d times, want once", id.key, n)
		}
	}
	var seqs []uint64
	for _, c := range p.Changes {
		seqs = append(seqs, c.Seq)
	}
	if want := []uint64{101, 102, 104, 105, 106}; !slices.Equal(seqs, want) {
		t.Fatalf("changes of seqs %v, want %v (the read-only commit has none)", seqs, want)
	}
}
