package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/wire"
)

// TestSchemaVersionLimits: versions per app and bytes per version are
// bounded, and uploads into existing versions still work at the limit.
func TestSchemaVersionLimits(t *testing.T) {
	e := newEnv(t, func(c *server.Config) {
		c.MaxSchemaVersions = 3
		c.MaxSchemaVersionBytes = 1000
	})
	ctx := context.Background()
	app := e.newApp("limits") // version "1"
	for _, v := range []string{"2", "3"} {
		if err := e.c.PutSchema(ctx, app, v, "a.proto", []byte(`syntax = "proto3";`)); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, e.c.PutSchema(ctx, app, "4", "a.proto", []byte(`syntax = "proto3";`)), wire.CodeLimit)
	if err := e.c.PutSchema(ctx, app, "3", "b.proto", []byte(`syntax = "proto3";`)); err != nil {
		t.Fatalf("a new file in an existing version at the version limit: %v", err)
	}
	comment := []byte("syntax = \"proto3\";\n// " + strings.Repeat("x", 600) + "\n")
	if err := e.c.PutSchema(ctx, app, "2", "big.proto", comment); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.c.PutSchema(ctx, app, "2", "big2.proto", comment), wire.CodeTooLarge)
	if err := e.c.PutSchema(ctx, app, "2", "big.proto", comment); err != nil {
		t.Fatalf("replacing a file counts its new size, not both: %v", err)
	}
}

// TestSchemaCacheIsBounded: with room for a few compiled schemas, the
// server holds no more than its budget however many apps are used, and
// every app still works (an evicted one is compiled again).
func TestSchemaCacheIsBounded(t *testing.T) {
	const budget = 100 << 10
	e := newEnv(t, func(c *server.Config) { c.SchemaCacheBytes = budget })
	ctx := context.Background()
	var apps []string
	for i := range 6 {
		apps = append(apps, e.newApp(fmt.Sprint("app", i)))
	}
	for round := range 2 {
		for i, app := range apps {
			if err := e.c.Put(ctx, app, "test.Item", item(int32(round), "x")); err != nil {
				t.Fatalf("app %d, round %d: %v", i, round, err)
			}
			if n, used := e.srv.API.CachedSchemas(); used > budget || n >= len(apps) {
				t.Fatalf("the cache holds %d apps in %d bytes; the budget is %d", n, used, budget)
			}
		}
	}
	if n, _ := e.srv.API.CachedSchemas(); n == 0 {
		t.Fatal("the cache holds nothing")
	}
}
