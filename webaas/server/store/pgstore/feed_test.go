package pgstore_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
)

// TestLogReadPlan checks the plan of the feed's log read on a freshly
// created schema, before autovacuum has analyzed anything. PostgreSQL
// guesses 2,200 rows for a table it knows nothing about, so the one-row
// counter and log-state tables once made it expect 242 million rows: it
// JIT-compiled the read every time, 290 ms instead of 4. The plan must
// expect no more than a page of the log and never JIT-compile.
func TestLogReadPlan(t *testing.T) {
	st := openStore(t, options(newSchema(t)))
	createApps(t, st, "app")
	var last uint64
	for i := range 20 {
		last = commit(t, st, "app", fmt.Sprint(i))
	}
	raw, err := pgstore.ExplainLogRead(bg(t), st, last-1)
	if err != nil {
		t.Fatal(err)
	}
	var plans []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
			Cost float64 `json:"Total Cost"`
		}
		JIT *json.RawMessage
	}
	if err := json.Unmarshal(raw, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("EXPLAIN said %s (%v)", raw, err)
	}
	p := plans[0]
	if p.JIT != nil {
		t.Errorf("the log read is JIT-compiled: %s", *p.JIT)
	}
	const page = 500 // fetchPage
	if p.Plan.Rows > page {
		t.Errorf("the log read is expected to return %.0f rows, more than a page (%d); its cost is %.0f", p.Plan.Rows, page, p.Plan.Cost)
	}
}
