package storetest

// Schema files, versions, activation and their revisions.

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// testSchemaFiles checks put, replace and list, per version.
func testSchemaFiles(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	putFile := func(app, version, name, text string) {
		t.Helper()
		if err := st.PutSchemaFile(ctx, app, version, name, []byte(text), store.AnyRev); err != nil {
			t.Fatalf("PutSchemaFile(%s, %s, %s): %v", app, version, name, err)
		}
	}
	wantFiles := func(app, version string, want map[string]string) {
		t.Helper()
		files, err := st.SchemaFiles(ctx, app, version)
		if err != nil {
			t.Fatalf("SchemaFiles(%s, %s): %v", app, version, err)
		}
		got := map[string]string{}
		for name, text := range files {
			got[name] = string(text)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("SchemaFiles(%s, %s) = %q, want %q", app, version, got, want)
		}
	}
	putFile("a", "v1", "chat.proto", "one")
	putFile("a", "v1", "dir/types.proto", "two")
	putFile("a", "v10", "chat.proto", "ten") // v1 is a prefix of v10
	putFile("a", "v", "chat.proto", "vee")
	putFile("b", "v1", "chat.proto", "b's")
	putFile("a", "v2", "empty.proto", "")
	wantFiles("a", "v1", map[string]string{"chat.proto": "one", "dir/types.proto": "two"})
	wantFiles("a", "v10", map[string]string{"chat.proto": "ten"})
	wantFiles("a", "v", map[string]string{"chat.proto": "vee"})
	wantFiles("a", "v2", map[string]string{"empty.proto": ""})
	wantFiles("a", "v3", map[string]string{})
	wantFiles("b", "v1", map[string]string{"chat.proto": "b's"})
	putFile("a", "v1", "chat.proto", "one, again")
	wantFiles("a", "v1", map[string]string{"chat.proto": "one, again", "dir/types.proto": "two"})
	wantFiles("b", "v1", map[string]string{"chat.proto": "b's"})
	wantFiles("nosuchapp", "v1", map[string]string{})
	// The server maps ErrNotFound here to "unknown app".
	if err := st.PutSchemaFile(ctx, "nosuchapp", "v1", "chat.proto", []byte("x"), store.AnyRev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PutSchemaFile to an unknown app: %v, want ErrNotFound", err)
	}
	// The caller's buffer is not kept.
	buf := []byte("mutable")
	if err := st.PutSchemaFile(ctx, "a", "v4", "m.proto", buf, store.AnyRev); err != nil {
		t.Fatal(err)
	}
	copy(buf, "CHANGED")
	wantFiles("a", "v4", map[string]string{"m.proto": "mutable"})
}

// testActivateSchema checks the active version and its changes.
func testActivateSchema(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	created := time.Now().UTC().Truncate(time.Microsecond)
	app := store.App{ID: "a", Name: "A", Created: created}
	if err := st.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	createApp(t, st, "b")
	c := subscribe(t, st)
	for _, v := range []string{"v1", "v2", "v1"} {
		if err := st.ActivateSchema(ctx, "a", v, store.AnyRev); err != nil {
			t.Fatal(err)
		}
		app.ActiveVersion = v
		wantApp(t, st, app) // name and creation time stay
	}
	if b, err := st.App(ctx, "b"); err != nil || b.ActiveVersion != "" {
		t.Fatalf("other app: %+v, %v", b, err)
	}
	if err := st.ActivateSchema(ctx, "nosuchapp", "v1", store.AnyRev); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ActivateSchema of an unknown app: %v, want ErrNotFound", err)
	}
	// An upload into the active version changes what the app serves, so
	// it is heard; one into another version is not.
	for _, v := range []string{"v1", "v2"} {
		if err := st.PutSchemaFile(ctx, "a", v, "late.proto", []byte("x"), store.AnyRev); err != nil {
			t.Fatal(err)
		}
	}
	got := barrier(t, st, c, "b")
	schemaChange := store.Change{Kind: store.ChangeSchema, App: "a"}
	wantChanges(t, got, []store.Change{schemaChange, schemaChange, schemaChange, schemaChange, got[len(got)-1]})
}

// testSchemaRevisions checks the compare-and-swap on an app's schema
// revision: a change names the revision it was checked against, and of
// two changes checked against the same one, exactly one lands.
func testSchemaRevisions(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	c := subscribe(t, st)
	rev := func() uint64 {
		t.Helper()
		app, err := st.App(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		return app.SchemaRev
	}
	if r := rev(); r != 0 {
		t.Fatalf("a new app has schema revision %d, want 0", r)
	}
	if err := st.PutSchemaFile(ctx, "a", "v1", "a.proto", []byte("one"), 0); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r != 1 {
		t.Fatalf("after one upload, revision %d, want 1", r)
	}
	if err := st.PutSchemaFile(ctx, "a", "v1", "a.proto", []byte("stale"), 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("upload against a stale revision: %v, want ErrConflict", err)
	}
	if err := st.ActivateSchema(ctx, "a", "v1", 0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("activation against a stale revision: %v, want ErrConflict", err)
	}
	if files, err := st.SchemaFiles(ctx, "a", "v1"); err != nil || string(files["a.proto"]) != "one" {
		t.Fatalf("after a refused upload, v1 holds %q, %v; want the first upload", files, err)
	}
	if app, err := st.App(ctx, "a"); err != nil || app.ActiveVersion != "" {
		t.Fatalf("after a refused activation: %+v, %v; want no active version", app, err)
	}
	if err := st.ActivateSchema(ctx, "a", "v1", 1); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r != 2 {
		t.Fatalf("after an activation, revision %d, want 2", r)
	}
	if err := st.PutSchemaFile(ctx, "a", "v2", "a.proto", []byte("two"), store.AnyRev); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r != 3 {
		t.Fatalf("an unconditional upload still counts: revision %d, want 3", r)
	}
	for name, err := range map[string]error{
		"upload":     st.PutSchemaFile(ctx, "nosuchapp", "v1", "a.proto", nil, 7),
		"activation": st.ActivateSchema(ctx, "nosuchapp", "v1", 7),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("conditional %s to an unknown app: %v, want ErrNotFound", name, err)
		}
	}
	// Racing changes against one revision: one wins each round.
	activations := 1 // the one above
	for round := range 5 {
		from := rev()
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for i := range 6 {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					err = st.PutSchemaFile(ctx, "a", "v3", fmt.Sprint(i, ".proto"), []byte("x"), from)
				} else {
					err = st.ActivateSchema(ctx, "a", "v2", from)
				}
				switch {
				case err == nil:
					mu.Lock()
					won++
					if i%2 == 1 {
						activations++
					}
					mu.Unlock()
				case !errors.Is(err, store.ErrConflict):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if won != 1 || rev() != from+1 {
			t.Fatalf("round %d: %d of 6 racing changes against revision %d landed, revision now %d; want 1 and %d", round, won, from, rev(), from+1)
		}
	}
	// Refused activations publish nothing.
	got := barrier(t, st, c, "a")
	n := 0
	for _, ch := range got {
		if ch.Kind == store.ChangeSchema {
			n++
		}
	}
	if n != activations {
		t.Fatalf("heard %d schema changes, want %d: one per landed activation", n, activations)
	}
}

// testSchemaVersions lists an app's versions, in byte order.
func testSchemaVersions(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	for _, v := range []string{"v2", "v1", "v10", "v", "v1"} {
		if err := st.PutSchemaFile(ctx, "a", v, "a.proto", []byte(v), store.AnyRev); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutSchemaFile(ctx, "a", "v1", "b.proto", []byte("x"), store.AnyRev); err != nil {
		t.Fatal(err)
	}
	if err := st.PutSchemaFile(ctx, "b", "other", "a.proto", []byte("x"), store.AnyRev); err != nil {
		t.Fatal(err)
	}
	for app, want := range map[string][]string{"a": {"v", "v1", "v10", "v2"}, "b": {"other"}, "nosuchapp": nil} {
		got, err := st.SchemaVersions(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("SchemaVersions(%s) = %q, want %q", app, got, want)
		}
	}
}
