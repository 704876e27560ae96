package pgstore_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// TestSequenceAcrossNodes: two nodes advancing one sequence give every
// value once, in commit order, and each node hears the records the other
// wrote, bytes included, so that it can push them.
func TestSequenceAcrossNodes(t *testing.T) {
	opts := options(newSchema(t))
	a, b := openStore(t, opts), openStore(t, opts)
	la, lb := listen(t, a), listen(t, b)
	createApps(t, a, "room")
	write := func(node string) store.Write {
		return store.Write{
			Key: store.RecordKey{App: "room", Schema: "M"}, Sequence: "m",
			Assign: func(n uint64) ([]byte, string, []byte, error) {
				return binary.BigEndian.AppendUint64([]byte{'u'}, n), fmt.Sprint(n), fmt.Appendf(nil, "%s %d", node, n), nil
			},
		}
	}
	const each = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var last uint64
	for i, st := range []store.Store{a, b, a, b} {
		node := fmt.Sprint("node", i%2)
		wg.Go(func() {
			for range each {
				seq, err := st.Commit(bg(t), store.Batch{Writes: []store.Write{write(node)}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				last = max(last, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	heard := func(l *listener) []string {
		var out []string
		for _, c := range l.waitSeq(t, last) {
			if c.Kind != store.ChangeRecords || c.Schema != "M" {
				continue
			}
			for i, k := range c.Keys {
				if len(c.Values) != len(c.Keys) {
					t.Fatalf("change %d carries %d values for %d keys", c.Seq, len(c.Values), len(c.Keys))
				}
				out = append(out, k+"="+string(c.Values[i]))
			}
		}
		return out
	}
	ha, hb := heard(la), heard(lb)
	if !slices.Equal(ha, hb) {
		t.Fatalf("the nodes heard different records:\nA: %q\nB: %q", ha, hb)
	}
	if len(ha) != 4*each {
		t.Fatalf("heard %d records, want %d", len(ha), 4*each)
	}
	for i, h := range ha {
		if want := fmt.Sprint(i+1, "="); h[:len(want)] != want {
			t.Fatalf("record %d heard as %q: values out of commit order, missing or doubled", i+1, h)
		}
	}
	if n, err := b.Sequence(bg(t), "room", "m"); err != nil || n != 4*each {
		t.Fatalf("Sequence = %d, %v; want %d", n, err, 4*each)
	}
}
