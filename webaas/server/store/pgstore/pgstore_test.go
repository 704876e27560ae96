package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/pgstore"
	"github.com/webaas-chat/webaas-chat/webaas/server/store/storetest"
)

// testURL is the database the tests may create schemas in, or skips.
func testURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("WEBAAS_TEST_POSTGRES")
	if u == "" {
		t.Skip("PostgreSQL tests are off: set WEBAAS_TEST_POSTGRES=postgres://user:pass@host/db; .ci/run does (scripts/pg-test-up.sh starts one)")
	}
	return u
}

func bg(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// admin runs one statement on its own connection.
func admin(t testing.TB, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// newSchema returns the name of a schema no other test uses; it is
// dropped, with everything in it, when the test ends. The store creates it.
func newSchema(t testing.TB) string {
	t.Helper()
	testURL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "webaas_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() { admin(t, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE") })
	return name
}

// options are the test defaults: the schema's own channel, so tests on one
// database never hear each other.
func options(schema string) pgstore.Options {
	return pgstore.Options{Schema: schema, Channel: schema, StatementTimeout: 10 * time.Second}
}

// openStore opens a store on schema and closes it when the test ends.
func openStore(t testing.TB, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	return openAt(t, testURL(t), opts)
}

func openAt(t testing.TB, url string, opts pgstore.Options) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(bg(t), url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestConformance runs the store conformance suite, each subtest on a
// fresh schema.
func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openStore(t, options(newSchema(t)))
	})
}

// TestDurable closes and reopens stores on the same schema.
func TestDurable(t *testing.T) {
	testURL(t)
	storetest.RunDurable(t, func(t *testing.T) (store.Store, func() store.Store) {
		opts := options(newSchema(t))
		return openStore(t, opts), func() store.Store { return openStore(t, opts) }
	})
}

// TestSessionSettings checks that the store's connections commit durably,
// time out and never JIT-compile, even when the connection URL asks
// otherwise.
func TestSessionSettings(t *testing.T) {
	opts := options(newSchema(t))
	opts.StatementTimeout = 1500 * time.Millisecond
	u, err := url.Parse(testURL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("synchronous_commit", "off")
	q.Set("statement_timeout", "0")
	q.Set("jit", "on")
	u.RawQuery = q.Encode()
	st := openAt(t, u.String(), opts)
	for name, want := range map[string]string{
		"synchronous_commit":                  "on",
		"statement_timeout":                   "1500ms",
		"idle_in_transaction_session_timeout": "1500ms",
		"jit":                                 "off",
		"search_path":                         `"` + opts.Schema + `"`,
	} {
		got, err := pgstore.Setting(bg(t), st, name)
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}
