package pgstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/webaas-chat/webaas-chat/backoff"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

const (
	// fetchPage is how many log entries one read returns at most.
	fetchPage = 500
	// listenKeepalive is how long the LISTEN connection may stay silent
	// before it is pinged, so a connection that died without a word is
	// noticed.
	listenKeepalive = 30 * time.Second
	// retryDelay is the first wait before reconnecting or rereading after
	// a failure; it grows up to maxRetryDelay (see retrying).
	retryDelay    = 100 * time.Millisecond
	maxRetryDelay = 5 * time.Second
)

// feed delivers changes to the subscribers in sequence order, from this
// node's own writes and from the change log, which every node appends to.
type feed struct {
	s          *Store
	connConfig *pgx.ConnConfig

	wake     chan struct{} // capacity 1: "look at the queue and the log"
	mu       sync.Mutex
	pending  []localChanges // this node's writes, not yet delivered
	catchUp  bool           // the log must be read (reconnect, failure)
	notified atomic.Uint64  // the highest sequence number NOTIFY announced
	pid      atomic.Uint32  // the LISTEN connection's backend, for tests

	last uint64 // owned by dispatch: every change up to it is delivered
}

// localChanges are the changes of this node's sequence numbers start+1 to
// end, known without reading them back.
type localChanges struct {
	start, end uint64
	changes    []store.Change
}

func newFeed(s *Store, cc *pgx.ConnConfig, head uint64) *feed {
	cc = cc.Copy()
	cc.RuntimeParams["application_name"] = cc.RuntimeParams["application_name"] + " listen"
	return &feed{s: s, connConfig: cc, wake: make(chan struct{}, 1), last: head}
}

func (f *feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// local queues this node's committed changes for delivery.
func (f *feed) local(start, end uint64, changes []store.Change) {
	f.mu.Lock()
	f.pending = append(f.pending, localChanges{start, end, changes})
	f.mu.Unlock()
	f.poke()
}

// announce records a sequence number some node NOTIFYed.
func (f *feed) announce(seq uint64) {
	for {
		cur := f.notified.Load()
		if seq <= cur || f.notified.CompareAndSwap(cur, seq) {
			break
		}
	}
	f.poke()
}

func (f *feed) requestCatchUp() {
	f.mu.Lock()
	f.catchUp = true
	f.mu.Unlock()
	f.poke()
}

// dispatch delivers until ctx ends.
func (f *feed) dispatch(ctx context.Context) {
	poll := time.NewTicker(f.s.opts.PollInterval)
	defer poll.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	delay := retrying()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-poll.C:
			f.requestCatchUp()
			continue
		case <-retry.C:
			f.requestCatchUp()
			continue
		}
		if err := f.deliver(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			wait := delay.Next()
			f.s.log.Warn("pgstore: reading the change log failed; will retry", "err", err, "in", wait)
			f.mu.Lock()
			f.catchUp = true
			f.mu.Unlock()
			retry.Reset(wait)
			continue
		}
		delay.Reset()
	}
}

// deliver publishes this node's own changes directly while they follow on
// from what was delivered, and reads the log as soon as anything else may
// have happened in between.
func (f *feed) deliver(ctx context.Context) error {
	f.mu.Lock()
	pending, need := f.pending, f.catchUp
	f.pending, f.catchUp = nil, false
	f.mu.Unlock()
	for _, p := range pending {
		switch {
		case p.end <= f.last: // already read from the log
		case p.start == f.last && !need:
			f.s.Publish(p.changes...)
			f.last = p.end
		default:
			need = true // another node committed in between: the log has it all
		}
	}
	if f.notified.Load() > f.last {
		need = true
	}
	if !need {
		return nil
	}
	return f.readLog(ctx)
}

// fetchSQL reads, in one snapshot, the counter, how far the log was
// pruned, and the log entries after $1: whole sequence numbers, at most $2
// of them (n tells whether the page was full).
//
// The one-row tables are read as scalar subqueries, not joined: the
// planner then counts each as one value whatever its statistics say. On a
// schema autovacuum has not analyzed yet it guesses 2,200 rows for each,
// and the join of both with the log was estimated at 242 million rows, a
// plan it JIT-compiled on every read (290 ms instead of 4).
const fetchSQL = `
WITH page AS (SELECT seq FROM webaas_changes WHERE seq > $1 ORDER BY seq, part LIMIT $2),
bound AS (SELECT max(seq) AS hi, count(*) AS n FROM page)
SELECT (SELECT seq FROM webaas_counter), (SELECT pruned_through FROM webaas_log_state), b.n,
	c.seq, c.kind, c.app, c.schema, c.keys, c.vals, c.seqs, c.notification_id
FROM bound b
LEFT JOIN webaas_changes c ON c.seq > $1 AND c.seq <= b.hi
ORDER BY c.seq, c.part`

// readLog delivers every logged change after f.last, page by page.
func (f *feed) readLog(ctx context.Context) error {
	for {
		page, err := f.fetch(ctx)
		if err != nil {
			return err
		}
		if page.pruned > f.last {
			f.s.lost.Add(1)
			f.s.log.Error("pgstore: the change log was pruned past this node's position; subscribers missed changes",
				"delivered", f.last, "pruned", page.pruned)
		}
		f.s.Publish(page.changes...)
		if !page.full {
			f.last = max(f.last, page.head)
			return nil
		}
		f.last = page.changes[len(page.changes)-1].Seq
	}
}

type logPage struct {
	head, pruned uint64
	full         bool
	changes      []store.Change
}

func (f *feed) fetch(ctx context.Context) (logPage, error) {
	ctx, cancel := context.WithTimeout(ctx, f.s.opts.StatementTimeout)
	defer cancel()
	rows, err := f.s.pool.Query(ctx, fetchSQL, int64(f.last), fetchPage)
	if err != nil {
		return logPage{}, err
	}
	var page logPage
	var head, pruned, n int64
	var seq *int64
	var kind *int16
	var app, schema, nid *string
	var keys, vals, seqs []byte
	_, err = pgx.ForEachRow(rows, []any{&head, &pruned, &n, &seq, &kind, &app, &schema, &keys, &vals, &seqs, &nid}, func() error {
		page.head, page.pruned, page.full = uint64(head), uint64(pruned), n == fetchPage
		if seq == nil {
			return nil // no entries: the row only carries the counter
		}
		c, err := decodeChange(uint64(*seq), *kind, *app, *schema, keys, vals, seqs, *nid)
		if err != nil {
			return err
		}
		page.changes = append(page.changes, c)
		return nil
	})
	return page, err
}

func decodeChange(seq uint64, kind int16, app, schema string, keys, vals, seqs []byte, nid string) (store.Change, error) {
	c := store.Change{Kind: store.ChangeKind(kind), App: app}
	switch c.Kind {
	case store.ChangeRecords:
		c.Seq, c.Schema = seq, schema
		var err error
		if c.Keys, err = decodeKeys(keys); err != nil {
			return c, fmt.Errorf("change %d: %w", seq, err)
		}
		if c.Values, err = decodeValues(vals, len(c.Keys)); err != nil {
			return c, fmt.Errorf("change %d: %w", seq, err)
		}
		if c.Sequences, err = decodeSequences(app, seqs); err != nil {
			return c, fmt.Errorf("change %d: %w", seq, err)
		}
	case store.ChangeNotificationDeleted:
		c.NotificationID = nid
	case store.ChangeSchema, store.ChangeAppDeleted:
	default:
		return c, fmt.Errorf("change %d: unknown kind %d", seq, kind)
	}
	return c, nil
}

// encodeKeys packs text keys, which may hold any byte, as length-prefixed
// strings.
func encodeKeys(keys []string) []byte {
	var out []byte
	for _, k := range keys {
		out = binary.AppendUvarint(out, uint64(len(k)))
		out = append(out, k...)
	}
	return out
}

func decodeKeys(b []byte) ([]string, error) {
	var keys []string
	for len(b) > 0 {
		n, size := binary.Uvarint(b)
		if size <= 0 || uint64(len(b)-size) < n {
			return nil, errors.New("corrupt key list")
		}
		keys = append(keys, string(b[size:size+int(n)]))
		b = b[size+int(n):]
	}
	return keys, nil
}

// encodeValues packs records' bytes, each as a uvarint of its length plus
// one (0: deleted) and the bytes.
func encodeValues(values [][]byte) []byte {
	var out []byte
	for _, v := range values {
		if v == nil {
			out = binary.AppendUvarint(out, 0)
			continue
		}
		out = binary.AppendUvarint(out, uint64(len(v))+1)
		out = append(out, v...)
	}
	return out
}

// decodeValues unpacks want values; none at all (a change logged before
// the log kept values) is nil: the values are not known.
func decodeValues(b []byte, want int) ([][]byte, error) {
	if len(b) == 0 {
		return nil, nil
	}
	values := make([][]byte, 0, want)
	for len(b) > 0 {
		n, size := binary.Uvarint(b)
		if size <= 0 || uint64(len(b)-size) < max(n, 1)-1 {
			return nil, errors.New("corrupt value list")
		}
		b = b[size:]
		if n == 0 {
			values = append(values, nil)
			continue
		}
		values = append(values, b[:n-1:n-1])
		b = b[n-1:]
	}
	if len(values) != want {
		return nil, fmt.Errorf("corrupt value list: %d values for %d keys", len(values), want)
	}
	return values, nil
}

// encodeSequences packs a change's sequence values (all of its app) as
// length-prefixed names, each followed by its value, as uvarints.
func encodeSequences(seqs []store.SeqValue) []byte {
	var out []byte
	for _, sv := range seqs {
		out = binary.AppendUvarint(out, uint64(len(sv.Name)))
		out = append(out, sv.Name...)
		out = binary.AppendUvarint(out, sv.Value)
	}
	return out
}

func decodeSequences(app string, b []byte) ([]store.SeqValue, error) {
	var out []store.SeqValue
	for len(b) > 0 {
		n, size := binary.Uvarint(b)
		if size <= 0 || uint64(len(b)-size) < n {
			return nil, errors.New("corrupt sequence list")
		}
		name := string(b[size : size+int(n)])
		b = b[size+int(n):]
		v, size := binary.Uvarint(b)
		if size <= 0 {
			return nil, errors.New("corrupt sequence list")
		}
		b = b[size:]
		out = append(out, store.SeqValue{App: app, Name: name, Value: v})
	}
	return out, nil
}

// listen keeps a LISTEN connection open until ctx ends, reconnecting
// after failures; each connection starts with a catch-up read of the log,
// which covers whatever was committed while nobody listened.
func (f *feed) listen(ctx context.Context) {
	delay := retrying()
	for {
		err := f.listenOnce(ctx, delay.Reset)
		if ctx.Err() != nil {
			return
		}
		wait := delay.Next()
		f.s.log.Warn("pgstore: LISTEN connection lost; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// retrying is the backoff after a failure of the feed's reads or its
// LISTEN connection, jittered so that nodes cut off together do not come
// back together.
func retrying() backoff.Backoff {
	return backoff.Backoff{Min: retryDelay, Max: maxRetryDelay}
}

// listenOnce connects, listens and forwards notifications until the
// connection fails; connected is called once it listens.
func (f *feed) listenOnce(ctx context.Context, connected func()) error {
	if gate := f.s.opts.listenGate; gate != nil {
		gate(ctx)
	}
	connectCtx, cancel := context.WithTimeout(ctx, f.s.opts.StatementTimeout)
	conn, err := pgx.ConnectConfig(connectCtx, f.connConfig)
	if err == nil {
		_, err = conn.Exec(connectCtx, "LISTEN "+pgx.Identifier{f.s.opts.Channel}.Sanitize())
	}
	cancel()
	if conn != nil {
		defer func() {
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			conn.Close(closeCtx)
		}()
	}
	if err != nil {
		return err
	}
	f.pid.Store(conn.PgConn().PID())
	connected()
	f.requestCatchUp()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenKeepalive)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			seq, _ := strconv.ParseUint(n.Payload, 10, 64)
			f.announce(seq)
		case ctx.Err() != nil:
			return ctx.Err()
		case pgconn.Timeout(err):
			if err := f.ping(ctx, conn); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

func (f *feed) ping(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, f.s.opts.StatementTimeout)
	defer cancel()
	_, err := conn.Exec(ctx, "SELECT 1")
	return err
}

// pruneLoop deletes old change-log entries and expired transactions
// every minute or so.
func (s *Store) pruneLoop(ctx context.Context) {
	every := min(time.Minute, max(s.opts.ChangeRetention/4, time.Second))
	tick := time.NewTicker(every)
	defer tick.Stop()
	failed := func(err error) bool { return err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrClosed) }
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := s.prune(ctx); failed(err) {
				s.log.Warn("pgstore: pruning the change log failed", "err", err)
			}
			if _, err := s.purgeTxns(ctx); failed(err) {
				s.log.Warn("pgstore: purging expired transactions failed", "err", err)
			}
		}
	}
}

// prune deletes change-log entries older than the retention and returns
// how many.
func (s *Store) prune(ctx context.Context) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.do(ctx, "prune", func(ctx context.Context) error {
			err := s.pool.QueryRow(ctx, pruneSQL, s.opts.ChangeRetention.Microseconds(), pruneBatch).Scan(&n)
			if errors.Is(err, pgx.ErrNoRows) {
				n, err = 0, nil
			}
			return err
		})
		total += n
		if err != nil || n < pruneBatch/2 {
			return total, err
		}
	}
}
