package pgstore

import "context"

// Test seams: they reach into a real Store running on a real database.

// ListenPID returns the backend pid of the store's LISTEN connection, 0
// before it first connected.
func ListenPID(s *Store) uint32 { return s.feed.pid.Load() }

// SetListenGate makes the store call gate before each LISTEN connection
// attempt, so a test can hold the store deaf while others commit.
func SetListenGate(o *Options, gate func(ctx context.Context)) { o.listenGate = gate }

// Prune runs one pruning pass now.
func Prune(ctx context.Context, s *Store) (int64, error) { return s.prune(ctx) }

// Setting returns a run-time setting as the store's connections see it.
func Setting(ctx context.Context, s *Store, name string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}

// PurgeTxns runs one purge of expired transactions now.
func PurgeTxns(ctx context.Context, s *Store) (int64, error) { return s.purgeTxns(ctx) }

// ReadLog reads the change log once, from after, as the feed does, and
// returns how many changes it read.
func ReadLog(ctx context.Context, s *Store, after uint64) (int, error) {
	f := &feed{s: s, last: after}
	page, err := f.fetch(ctx)
	return len(page.changes), err
}

// ExplainLogRead returns the plan of the feed's log read from after, in
// EXPLAIN's JSON format, as the store's own connections would run it.
func ExplainLogRead(ctx context.Context, s *Store, after uint64) ([]byte, error) {
	var plan []byte
	err := s.pool.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+fetchSQL, int64(after), fetchPage).Scan(&plan)
	return plan, err
}
