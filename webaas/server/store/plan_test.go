package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// fakeState is a store's state before a group, counting the questions.
type fakeState struct {
	versions map[keyID]uint64
	apps     map[string]bool
	seqs     map[seqID]uint64
	tokens   map[keyID][]byte
	asked    map[keyID]int
	seqAsked map[seqID]int
}

func (f *fakeState) Version(k RecordKey) uint64 {
	if f.asked == nil {
		f.asked = map[keyID]int{}
	}
	f.asked[idOf(k)]++
	return f.versions[idOf(k)]
}

func (f *fakeState) AppExists(app string) bool { return f.apps[app] }

func (f *fakeState) Sequence(app, name string) uint64 {
	if f.seqAsked == nil {
		f.seqAsked = map[seqID]int{}
	}
	f.seqAsked[seqID{app, name}]++
	return f.seqs[seqID{app, name}]
}

func (f *fakeState) Token(k RecordKey) ([]byte, bool) {
	v, ok := f.tokens[idOf(k)]
	return v, ok
}

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
	st := &fakeState{versions: map[keyID]uint64{idOf(k): 7}, apps: map[string]bool{"a": true}}

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
	p := PlanGroup(reqs, head, st)
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
	for id, n := range st.asked {
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

// sequenced is a write of the next value of app's sequence "m", keyed by
// that value; fail refuses value n.
func sequenced(app string, fail uint64) Write {
	return Write{
		Key: RecordKey{App: app, Schema: "M"}, Sequence: "m",
		Assign: func(n uint64) ([]byte, string, []byte, error) {
			if n == fail {
				return nil, "", nil, fmt.Errorf("value %d refused", n)
			}
			return binary.BigEndian.AppendUint64(nil, n), fmt.Sprint(n), []byte(fmt.Sprint("msg ", n)), nil
		},
	}
}

// TestPlanSequences: sequenced writes take consecutive values in commit
// and write order, a refused commit gives its values back, and the state
// is asked once per sequence.
func TestPlanSequences(t *testing.T) {
	st := &fakeState{apps: map[string]bool{"a": true, "b": true}, seqs: map[seqID]uint64{{"a", "m"}: 10}}
	stale := RecordKey{App: "a", Schema: "T", Key: []byte("k")}
	var got [][]uint64
	reqs := []*CommitReq{
		{Batch: Batch{Writes: []Write{sequenced("a", 0), sequenced("a", 0)}}},                       // 11, 12
		{Batch: Batch{Writes: []Write{sequenced("b", 0)}}},                                          // b: 1
		{Batch: Batch{Reads: []Read{{Key: stale, Version: 3}}, Writes: []Write{sequenced("a", 0)}}}, // conflict
		{Batch: Batch{Writes: []Write{sequenced("a", 14), sequenced("a", 14)}}},                     // 13 passes, 14 refused: all refused
		{Batch: Batch{Writes: []Write{sequenced("a", 0)}}},                                          // 13
	}
	p := PlanGroup(reqs, 0, st)
	for _, r := range reqs {
		got = append(got, r.assigned)
	}
	want := [][]uint64{{11, 12}, {1}, nil, nil, {13}}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("commit %d was given %v, want %v (err %v)", i, got[i], want[i], reqs[i].Err)
		}
	}
	if !errors.Is(reqs[2].Err, ErrConflict) || reqs[3].Err == nil {
		t.Errorf("errors %v, %v; want a conflict and Assign's refusal", reqs[2].Err, reqs[3].Err)
	}
	if want := []SeqValue{{"a", "m", 13}, {"b", "m", 1}}; !slices.Equal(p.Sequences, want) {
		t.Errorf("sequences end as %v, want %v", p.Sequences, want)
	}
	for id, n := range st.seqAsked {
		if n != 1 {
			t.Errorf("sequence %v asked %d times, want once", id, n)
		}
	}
	var keys []string
	for _, f := range p.Final {
		keys = append(keys, f.Write.Key.App+"/"+f.Write.TextKey+"="+string(f.Write.Value))
	}
	if want := []string{"a/11=msg 11", "a/12=msg 12", "b/1=msg 1", "a/13=msg 13"}; !slices.Equal(keys, want) {
		t.Errorf("writes %v, want %v", keys, want)
	}
	if w := reqs[0].Batch.Writes[0]; w.Key.Key != nil || w.TextKey != "" {
		t.Errorf("the caller's write was changed: %+v", w)
	}
}

// TestPlanTokens: a token used before, in the store or earlier in the
// group, refuses the commit with what the first one was given.
func TestPlanTokens(t *testing.T) {
	tok := func(key string) *Token { return &Token{App: "a", Key: []byte(key)} }
	old := RecordKey{App: "a", Schema: TokenSchema, Key: []byte("old")}
	st := &fakeState{
		apps: map[string]bool{"a": true}, seqs: map[seqID]uint64{},
		tokens: map[keyID][]byte{idOf(old): binary.AppendUvarint(binary.AppendUvarint(make([]byte, 8), 4), 5)},
	}
	reqs := []*CommitReq{
		{Batch: Batch{Token: tok("old"), Writes: []Write{sequenced("a", 0)}}},
		{Batch: Batch{Token: tok("new"), Writes: []Write{sequenced("a", 0), sequenced("a", 0)}}},
		{Batch: Batch{Token: tok("new"), Writes: []Write{sequenced("a", 0)}}},
	}
	p := PlanGroup(reqs, 0, st)
	for i, want := range [][]uint64{{4, 5}, nil, {1, 2}} {
		var dup *DuplicateError
		if want == nil {
			if reqs[i].Err != nil || !slices.Equal(reqs[i].assigned, []uint64{1, 2}) {
				t.Errorf("commit %d: %v, given %v; want it to pass with [1 2]", i, reqs[i].Err, reqs[i].assigned)
			}
			continue
		}
		if !errors.As(reqs[i].Err, &dup) || !slices.Equal(dup.Assigned, want) {
			t.Errorf("commit %d: %v; want a duplicate of one given %v", i, reqs[i].Err, want)
		}
	}
	if p.End != 1 {
		t.Errorf("group ends at %d, want 1 commit", p.End)
	}
	for _, c := range p.Changes {
		if c.Schema == TokenSchema {
			t.Errorf("a token is published: %+v", c)
		}
	}
}
