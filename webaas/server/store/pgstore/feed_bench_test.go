package pgstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
)

// BenchmarkLogRead measures one read of the change log on a freshly
// created schema, before autovacuum has analyzed its tables: the feed of
// every node runs it on each change another node commits.
//
//	go test -run '^$' -bench LogRead -benchtime 50x ./webaas/server/store/pgstore/
func BenchmarkLogRead(b *testing.B) {
	st := openStore(b, options(newSchema(b)))
	createApps(b, st, "app")
	var last uint64
	for i := range 20 {
		last = commit(b, st, "app", fmt.Sprint(i))
	}
	ctx := bg(b)
	b.ResetTimer()
	for range b.N {
		if n, err := pgstore.ReadLog(ctx, st, last-1); err != nil || n != 1 {
			b.Fatalf("read %d changes, %v", n, err)
		}
	}
}

// BenchmarkCrossNode measures how late a commit on one node reaches the
// subscribers of another node, on a freshly created schema: each op is
// one commit on A and the wait until B has delivered it.
//
//	go test -run '^$' -bench CrossNode -benchtime 50x ./webaas/server/store/pgstore/
func BenchmarkCrossNode(b *testing.B) {
	opts := options(newSchema(b))
	a, other := openStore(b, opts), openStore(b, opts)
	heard := make(chan uint64, 1024)
	b.Cleanup(other.Subscribe(func(cs []store.Change) {
		for _, c := range cs {
			heard <- c.Seq
		}
	}))
	createApps(b, a, "app")
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		seq := commit(b, a, "app", fmt.Sprint(i))
		for got := range heard {
			if got == seq {
				break
			}
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
}
