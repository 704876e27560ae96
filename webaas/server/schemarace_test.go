package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// dupFile declares test.Dup: each of two such files compiles with the
// active version alone, and the two together do not (a duplicate name).
func dupFile(field string) []byte {
	return []byte(`syntax = "proto3";
package test;
import "record_metadata_options.proto";
message Dup { int32 ` + field + ` = 1 [(webaas.db.record.field).primary_key = true]; }
`)
}

// TestRacingSchemaUploadsNeverBrickAnApp races two uploads into the
// active version, each fine on its own and broken together. Before, both
// were checked against the old file set, both landed, and from then on
// every call to the app answered 1004, DELETE /app and a fixed upload
// included, in 48 of 50 rounds. Now at most one lands and the app works.
func TestRacingSchemaUploadsNeverBrickAnApp(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const rounds = 50
	bricked := 0
	for round := range rounds {
		app := e.newApp(fmt.Sprint("race", round))
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, name := range []string{"b.proto", "c.proto"} {
			wg.Go(func() {
				<-start
				errs[i] = e.c.PutSchema(ctx, app, "1", name, dupFile(fmt.Sprint("f", i)))
			})
		}
		close(start)
		wg.Wait()
		if errs[0] == nil && errs[1] == nil {
			t.Errorf("round %d: both uploads were accepted", round)
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, webaas.ErrSchemaCompile) {
				t.Errorf("round %d: an upload failed with %v, want success or 1004", round, err)
			}
		}
		if err := e.c.Put(ctx, app, "test.Item", item(1, "still works")); err != nil {
			bricked++
			t.Errorf("round %d: a write after the race: %v", round, err)
		}
		if err := e.c.DeleteApp(ctx, app, ""); err != nil {
			t.Errorf("round %d: DELETE /app after the race: %v", round, err)
		}
	}
	if bricked > 0 {
		t.Fatalf("%d of %d apps bricked by racing uploads", bricked, rounds)
	}
}

// TestBrokenStoredSchemaCanBeRepaired plants an active version that does
// not compile (as a store written before uploads were serialised may
// hold) and restarts: the calls that need the schema say why they cannot
// be served, and the calls that repair or delete the app work.
func TestBrokenStoredSchemaCanBeRepaired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	plant := func(app string) {
		t.Helper()
		for _, name := range []string{"b.proto", "c.proto"} {
			if err := e.srv.Store.PutSchemaFile(ctx, app, "1", name, dupFile(name[:1]), store.AnyRev); err != nil {
				t.Fatal(err)
			}
		}
	}
	plant(e.app)
	other := e.newApp("other")
	plant(other)
	deleted := e.newApp("deleted")
	plant(deleted)
	e.restart() // nothing cached: every app is loaded from the store

	wantCode(t, e.c.Put(ctx, e.app, "test.Item", item(1, "x")), wire.CodeSchemaCompile)
	_, err := e.c.RegisterNotification(ctx, e.app, "test.Item", []string{"1"})
	wantCode(t, err, wire.CodeSchemaCompile)

	// Repair by replacing a file: the new set compiles.
	if err := e.c.PutSchema(ctx, e.app, "1", "c.proto", []byte(`syntax = "proto3"; package other;`)); err != nil {
		t.Fatalf("a fixing upload into the broken active version: %v", err)
	}
	if err := e.c.Put(ctx, e.app, "test.Item", item(1, "repaired")); err != nil {
		t.Fatalf("a write after the repair: %v", err)
	}
	// Repair by activating another version.
	if err := e.c.PutSchema(ctx, other, "2", "test.proto", []byte(testSchema)); err != nil {
		t.Fatal(err)
	}
	if err := e.c.ActivateSchema(ctx, other, "2"); err != nil {
		t.Fatalf("activating another version of a broken app: %v", err)
	}
	if err := e.c.Put(ctx, other, "test.Item", item(1, "repaired")); err != nil {
		t.Fatalf("a write after activating another version: %v", err)
	}
	// Or delete it.
	if err := e.c.DeleteApp(ctx, deleted, ""); err != nil {
		t.Fatalf("DELETE /app of a broken app: %v", err)
	}
}
