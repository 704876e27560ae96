package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas"
)

// PostgreSQL's tables, read directly, hold none of what was said in an
// encrypted room; the same scan finds what was said in a room in the
// clear (so it can find it).
func TestPostgresHoldsNoPlaintextOfAnEncryptedRoom(t *testing.T) {
	db := pgURL(t)
	schema := pgSchema(t, db)
	p := freePort(t)
	startServer(t, p, t.TempDir(), "--store", db, "--pg-schema", schema, "--pg-channel", schema)
	p.file.Close()
	url := "http://" + p.addr
	ctx := context.Background()
	c, err := webaas.New(url)
	if err != nil {
		t.Fatal(err)
	}
	secret, clear := "secret-"+rand.Text(), "clear-"+rand.Text()
	for _, tc := range []struct {
		text string
		opts []chat.RoomOption
	}{{secret, []chat.RoomOption{chat.Encrypted()}}, {clear, nil}} {
		room, err := chat.NewClient(c).CreateRoom(ctx, "r", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		s, err := room.Sender("alice", chat.SessionOptions{Identity: mustIdentity(t)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Send(ctx, tc.text); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(cctx)
	rows, err := conn.Query(cctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("tables: %v %v", tables, err)
	}
	var dump strings.Builder
	for _, table := range tables {
		rows, err := conn.Query(cctx, "SELECT t::text FROM "+pgx.Identifier{schema, table}.Sanitize()+" t")
		if err != nil {
			t.Fatal(err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range texts {
			dump.WriteString(s + "\n")
		}
	}
	// bytea columns print as hex.
	holds := func(s string) bool {
		return strings.Contains(dump.String(), s) || strings.Contains(dump.String(), hex.EncodeToString([]byte(s)))
	}
	if !holds(clear) {
		t.Fatalf("the scan does not find the clear room's message in %d tables", len(tables))
	}
	if holds(secret) {
		t.Fatal("PostgreSQL holds the encrypted room's plaintext")
	}
}

func mustIdentity(t *testing.T) *identity.Identity {
	t.Helper()
	id, err := identity.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
