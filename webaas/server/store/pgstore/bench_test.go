package pgstore_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// BenchmarkHotKey measures chat sends into one room: each send reads the
// room's head record, then commits the new head and the message, retrying
// on conflict. b.N is the number of sends that landed.
//
//	eval "$(scripts/pg-test-up.sh)"
//	go test -run '^$' -bench HotKey ./webaas/server/store/pgstore/
func BenchmarkHotKey(b *testing.B) {
	for _, workers := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprint("senders=", workers), func(b *testing.B) {
			benchSends(b, workers, func(int) string { return "room" })
		})
	}
}

// BenchmarkRooms is the same with each sender in its own room: no
// conflicts, so it shows what group commit does for throughput.
func BenchmarkRooms(b *testing.B) {
	for _, workers := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprint("senders=", workers), func(b *testing.B) {
			benchSends(b, workers, func(w int) string { return fmt.Sprint("room", w) })
		})
	}
}

func benchSends(b *testing.B, workers int, room func(worker int) string) {
	st := openStore(b, options(newSchema(b)))
	ctx := context.Background()
	if err := st.CreateApp(ctx, store.App{ID: "chat", Created: time.Now()}); err != nil {
		b.Fatal(err)
	}
	var left, conflicts atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			head := store.RecordKey{App: "chat", Schema: "Head", Key: []byte("s" + room(w))}
			for left.Add(-1) >= 0 {
				for {
					err := send(ctx, st, head)
					if err == nil {
						break
					}
					if !errors.Is(err, store.ErrConflict) {
						b.Error(err)
						return
					}
					conflicts.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/send")
	stats := st.CommitStats()
	b.ReportMetric(float64(stats.Commits)/float64(max(stats.Groups, 1)), "commits/txn")
}

// send appends one message to a room: read the head, write head+1 and the
// message keyed by it.
func send(ctx context.Context, st store.Store, head store.RecordKey) error {
	var n uint64
	rec, err := st.Get(ctx, head)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		n = binary.BigEndian.Uint64(rec.Value)
	}
	msg := store.RecordKey{App: "chat", Schema: "Message", Key: binary.BigEndian.AppendUint64(append([]byte("u"), head.Key...), n+1)}
	_, err = st.Commit(ctx, store.Batch{
		Reads: []store.Read{{Key: head, Version: rec.Version}},
		Writes: []store.Write{
			{Key: head, TextKey: string(head.Key), Value: binary.BigEndian.AppendUint64(nil, n+1)},
			{Key: msg, TextKey: fmt.Sprint(n + 1), Value: make([]byte, 200)},
		},
	})
	return err
}

// chatTxnState is what a chat send through the transactional API
// accumulates: the room's head read, then the new head and the message.
func chatTxnState() store.TxnState {
	head := store.RecordKey{App: "chat-app-0123456789", Schema: "chat.RoomHead", Key: []byte("sroom-42")}
	msg := store.RecordKey{App: head.App, Schema: "chat.Message", Key: []byte("sroom-42\x00\x00\x00\x00\x00\x00\x00\x00\x2a")}
	return store.TxnState{
		Reads: []store.Read{{Key: head, Version: 123456}},
		Writes: []store.Write{
			{Key: head, TextKey: "room-42", Value: make([]byte, 20)},
			{Key: msg, TextKey: "room-42/42", Value: make([]byte, 200)},
		},
	}
}

// BenchmarkTxn measures each TxnStore call, one caller at a time (the
// latency of a call) and from many callers on different transactions (its
// cost under load). Update saves the state of a chat send again: one read
// and two writes. Send is a whole chat send through the transactional API:
// begin, a read, two writes, commit (the EndTxn; Commit itself is not
// included).
//
//	eval "$(scripts/pg-test-up.sh)"
//	go test -run '^$' -bench Txn ./webaas/server/store/pgstore/
func BenchmarkTxn(b *testing.B) {
	st := openStore(b, options(newSchema(b)))
	ctx := context.Background()
	chat := chatTxnState()
	var ids atomic.Int64
	newTxn := func(b *testing.B, state bool) string {
		id := fmt.Sprint("txn-", ids.Add(1))
		if err := st.BeginTxn(ctx, id, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		if state {
			if err := st.UpdateTxn(ctx, id, time.Now().Add(time.Hour), func(ts *store.TxnState) error { *ts = chat; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		return id
	}
	keep := func(*store.TxnState) error { return nil }
	for _, parallel := range []bool{false, true} {
		run := func(name string, op func(b *testing.B) func()) {
			if parallel {
				name += "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				if !parallel {
					next := op(b)
					b.ResetTimer()
					for range b.N {
						next()
					}
					return
				}
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					next := op(b)
					for pb.Next() {
						next()
					}
				})
			})
		}
		run("Begin", func(b *testing.B) func() {
			return func() { newTxn(b, false) }
		})
		run("Update", func(b *testing.B) func() {
			id := newTxn(b, true)
			return func() {
				if err := st.UpdateTxn(ctx, id, time.Now().Add(time.Hour), keep); err != nil {
					b.Error(err)
				}
			}
		})
		run("End", func(b *testing.B) func() {
			// Each op ends a transaction begun by the op before it; the
			// begin is timed too, and subtracted in the report by hand.
			return func() {
				if _, err := st.EndTxn(ctx, newTxn(b, false)); err != nil {
					b.Error(err)
				}
			}
		})
		run("Send", func(b *testing.B) func() {
			return func() {
				id := newTxn(b, false)
				for _, step := range []func(*store.TxnState){
					func(ts *store.TxnState) { ts.Reads = append(ts.Reads, chat.Reads[0]) },
					func(ts *store.TxnState) { ts.Writes = append(ts.Writes, chat.Writes[0]) },
					func(ts *store.TxnState) { ts.Writes = append(ts.Writes, chat.Writes[1]) },
				} {
					err := st.UpdateTxn(ctx, id, time.Now().Add(time.Hour), func(ts *store.TxnState) error { step(ts); return nil })
					if err != nil {
						b.Error(err)
					}
				}
				if _, err := st.EndTxn(ctx, id); err != nil {
					b.Error(err)
				}
			}
		})
	}
}
