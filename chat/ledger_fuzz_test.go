package chat

import (
	"reflect"
	"testing"
)

// FuzzLedgerOrder: whatever the messages, a ledger that takes them in
// the room's order and one that takes them newest first (as history
// pages come, amendments before their targets) end with the same state
// of every line; and nothing panics.
func FuzzLedgerOrder(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0, 0, 1, 1, 3, 0, 2, 0, 2, 1, 1, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		keys := [][]byte{[]byte("a-key-of-32-bytes-aaaaaaaaaaaaaa"), []byte("b-key-of-32-bytes-bbbbbbbbbbbbbb"), nil}
		emoji := []string{"👍", "❤️", "🎉"}
		var msgs []Message
		for i := 0; i+1 < len(ops) && len(msgs) < 200; i += 2 {
			seq := int64(len(msgs) + 1)
			op, arg := ops[i], int64(ops[i+1])
			key := keys[int(op>>4)%len(keys)]
			trust := Verified
			if key == nil {
				trust = Unsigned
			}
			if op&8 != 0 {
				trust = Forged
			}
			m := Message{Seq: seq, Key: key, Trust: trust, Nick: string(rune('a' + op>>4%3))}
			target := arg%(seq+1) + (arg/7)%3 - 1 // mostly earlier, sometimes itself or later
			switch op % 6 {
			case 0, 1:
				m.Kind, m.Text = Text, "line"
			case 2:
				m.Kind, m.Target, m.Text = Edit, target, "edit"
			case 3:
				m.Kind, m.Target = Delete, target
			case 4:
				m.Kind, m.Target, m.Text = React, target, emoji[arg%3]
			case 5:
				m.Kind, m.Target = Removed, seq
			}
			msgs = append(msgs, m)
		}
		inOrder := NewLedger(keys[0])
		for _, m := range msgs {
			inOrder.Add(m)
		}
		newestFirst := NewLedger(keys[0])
		for i := len(msgs) - 1; i >= 0; i-- {
			newestFirst.Add(msgs[i])
		}
		for _, m := range msgs {
			a, okA := inOrder.State(m.Seq)
			b, okB := newestFirst.State(m.Seq)
			if okA != okB || !reflect.DeepEqual(a, b) {
				t.Fatalf("message %d: in order %+v (%v), newest first %+v (%v)", m.Seq, a, okA, b, okB)
			}
		}
	})
}
