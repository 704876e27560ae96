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
	stats := st.Stats()
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
