package storetest

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

func wantApp(t *testing.T, st store.Store, want store.App) {
	t.Helper()
	got, err := st.App(ctxFor(t), want.ID)
	if err != nil {
		t.Fatalf("App(%s): %v", want.ID, err)
	}
	if got.ID != want.ID || got.Name != want.Name || got.ActiveVersion != want.ActiveVersion || !got.Created.Equal(want.Created) {
		t.Fatalf("App(%s) = %+v, want %+v", want.ID, got, want)
	}
}

// testApps checks CreateApp, App and ErrExists. Created times are
// compared at microsecond precision, what SQL timestamps keep.
func testApps(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	created := time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	app := store.App{ID: "6f1c2a4e-0000-4000-8000-000000000001", Name: "chat, with ünïcode", Created: created}
	if _, err := st.App(ctx, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("App of an unknown id: %v, want ErrNotFound", err)
	}
	if err := st.CreateApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	wantApp(t, st, app)
	dup := store.App{ID: app.ID, Name: "other", Created: created.Add(time.Hour)}
	if err := st.CreateApp(ctx, dup); !errors.Is(err, store.ErrExists) {
		t.Fatalf("CreateApp with a taken id: %v, want ErrExists", err)
	}
	wantApp(t, st, app) // the first one is untouched
	// Names may repeat; ids may not.
	twin := store.App{ID: "6f1c2a4e-0000-4000-8000-000000000002", Name: app.Name, Created: created}
	if err := st.CreateApp(ctx, twin); err != nil {
		t.Fatalf("CreateApp with a repeated name: %v", err)
	}
	wantApp(t, st, twin)
	if _, err := st.App(ctx, "6f1c2a4e"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("App of an id prefix: %v, want ErrNotFound", err)
	}
}

// fill gives app records in two types, two schema versions and two
// notifications.
func fill(t *testing.T, st store.Store, app string) {
	t.Helper()
	ctx := ctxFor(t)
	for _, schema := range []string{"T", "U"} {
		for _, k := range []string{"1", "2", "3"} {
			put(t, st, rk(app, schema, stringKey(k)), k, []byte(app+schema+k))
		}
	}
	for _, v := range []string{"v1", "v2"} {
		if err := st.PutSchemaFile(ctx, app, v, "a.proto", []byte(app+v), store.AnyRev); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ActivateSchema(ctx, app, "v2", store.AnyRev); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"n1", "n2"} {
		if err := st.PutNotification(ctx, store.Notification{ID: id, App: app, Schema: "T", Keys: []string{app}}); err != nil {
			t.Fatal(err)
		}
	}
}

// wantFilled checks that app still holds everything fill gave it.
func wantFilled(t *testing.T, st store.Store, app string) {
	t.Helper()
	ctx := ctxFor(t)
	for _, schema := range []string{"T", "U"} {
		recs := rangeAll(t, st, app, schema, stringKey(""), stringKey("\xff"))
		if len(recs) != 3 {
			t.Fatalf("app %s type %s holds %d records, want 3", app, schema, len(recs))
		}
		for _, r := range recs {
			if string(r.Value) != app+schema+string(r.Key[1:]) {
				t.Fatalf("app %s holds %q", app, r.Value)
			}
		}
	}
	for _, v := range []string{"v1", "v2"} {
		files, err := st.SchemaFiles(ctx, app, v)
		if err != nil || len(files) != 1 || string(files["a.proto"]) != app+v {
			t.Fatalf("app %s schema %s: %q, %v", app, v, files, err)
		}
	}
	if a, err := st.App(ctx, app); err != nil || a.ActiveVersion != "v2" {
		t.Fatalf("app %s: %+v, %v", app, a, err)
	}
	for _, id := range []string{"n1", "n2"} {
		n, err := st.Notification(ctx, app, id)
		if err != nil || n.App != app || !slices.Equal(n.Keys, []string{app}) {
			t.Fatalf("app %s notification %s: %+v, %v", app, id, n, err)
		}
	}
}

// testDeleteApp checks that deleting an app removes everything of it, and
// nothing of other apps, even ones whose ids extend its id.
func testDeleteApp(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	apps := []string{"app", "app2", "ap", "other"}
	createApp(t, st, apps...)
	for _, app := range apps {
		fill(t, st, app)
	}
	if err := st.DeleteApp(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.App(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("App after DeleteApp: %v, want ErrNotFound", err)
	}
	wantGone(t, st, "app")
	for _, app := range apps[1:] {
		wantFilled(t, st, app)
	}
	if err := st.DeleteApp(ctx, "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteApp: %v, want ErrNotFound", err)
	}
	// The id can be registered again, and starts empty.
	createApp(t, st, "app")
	wantGone(t, st, "app")
	if a, err := st.App(ctx, "app"); err != nil || a.ActiveVersion != "" {
		t.Fatalf("recreated app: %+v, %v", a, err)
	}
}

// wantGone checks that app holds no records, schemas or notifications.
func wantGone(t *testing.T, st store.Store, app string) {
	t.Helper()
	ctx := ctxFor(t)
	for _, schema := range []string{"T", "U"} {
		if recs := rangeAll(t, st, app, schema, stringKey(""), stringKey("\xff")); len(recs) != 0 {
			t.Fatalf("deleted app %s still holds %d records of %s", app, len(recs), schema)
		}
		wantAbsent(t, st, rk(app, schema, stringKey("1")))
	}
	for _, v := range []string{"v1", "v2"} {
		if files, err := st.SchemaFiles(ctx, app, v); err != nil || len(files) != 0 {
			t.Fatalf("deleted app %s schema %s: %d files, %v", app, v, len(files), err)
		}
	}
	for _, id := range []string{"n1", "n2"} {
		if _, err := st.Notification(ctx, app, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted app %s notification %s: %v, want ErrNotFound", app, id, err)
		}
	}
}

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

// testNotifications checks put, get and delete, scoped by app.
func testNotifications(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	n := store.Notification{ID: "n-1", App: "a", Schema: "chat.Message", Keys: []string{"1", "-2", "x\x00y", "é"}}
	if err := st.PutNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	wantNotification := func(app, id string, want store.Notification) {
		t.Helper()
		got, err := st.Notification(ctx, app, id)
		if err != nil {
			t.Fatalf("Notification(%s, %s): %v", app, id, err)
		}
		if got.ID != want.ID || got.App != want.App || got.Schema != want.Schema || !slices.Equal(got.Keys, want.Keys) {
			t.Fatalf("Notification(%s, %s) = %+v, want %+v", app, id, got, want)
		}
	}
	wantNotification("a", "n-1", n)
	// Another app cannot see, nor delete, a's notification by its id.
	if _, err := st.Notification(ctx, "b", "n-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("app b reading app a's notification: %v, want ErrNotFound", err)
	}
	if err := st.DeleteNotification(ctx, "b", "n-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("app b deleting app a's notification: %v, want ErrNotFound", err)
	}
	wantNotification("a", "n-1", n)
	// The same id in another app is another notification.
	nb := store.Notification{ID: "n-1", App: "b", Schema: "other.Type", Keys: []string{"k"}}
	if err := st.PutNotification(ctx, nb); err != nil {
		t.Fatal(err)
	}
	wantNotification("b", "n-1", nb)
	wantNotification("a", "n-1", n)
	if _, err := st.Notification(ctx, "a", "n-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown notification: %v, want ErrNotFound", err)
	}
	if err := st.PutNotification(ctx, store.Notification{ID: "n-9", App: "nosuchapp", Schema: "T", Keys: []string{"1"}}); !errors.Is(err, store.ErrUnknownApp) {
		t.Fatalf("PutNotification to an unknown app: %v, want ErrUnknownApp", err)
	}
	if err := st.DeleteNotification(ctx, "a", "n-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Notification(ctx, "a", "n-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted notification: %v, want ErrNotFound", err)
	}
	if err := st.DeleteNotification(ctx, "a", "n-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	wantNotification("b", "n-1", nb)
}

// testClosed checks that every call after Close returns ErrClosed.
func testClosed(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a")
	key := rk("a", "T", stringKey("k"))
	put(t, st, key, "k", []byte("v"))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := map[string]func() error{
		"CreateApp":      func() error { return st.CreateApp(ctx, store.App{ID: "b"}) },
		"App":            func() error { _, err := st.App(ctx, "a"); return err },
		"DeleteApp":      func() error { return st.DeleteApp(ctx, "a") },
		"PutSchemaFile":  func() error { return st.PutSchemaFile(ctx, "a", "v", "f", nil, store.AnyRev) },
		"SchemaFiles":    func() error { _, err := st.SchemaFiles(ctx, "a", "v"); return err },
		"ActivateSchema": func() error { return st.ActivateSchema(ctx, "a", "v", store.AnyRev) },
		"Get":            func() error { _, err := st.Get(ctx, key); return err },
		"Range": func() error {
			_, _, err := st.Range(ctx, "a", "T", stringKey(""), stringKey("\xff"), 0, 10)
			return err
		},
		"Commit": func() error {
			_, err := st.Commit(ctx, store.Batch{Writes: []store.Write{write(key, "k", "v")}})
			return err
		},
		"PutNotification":    func() error { return st.PutNotification(ctx, store.Notification{ID: "n", App: "a"}) },
		"Notification":       func() error { _, err := st.Notification(ctx, "a", "n"); return err },
		"DeleteNotification": func() error { return st.DeleteNotification(ctx, "a", "n") },
		"LastSeq":            func() error { _, err := st.LastSeq(ctx); return err },
		"SchemaVersions":     func() error { _, err := st.SchemaVersions(ctx, "a"); return err },
		"TouchNotifications": func() error {
			return st.TouchNotifications(ctx, time.Now(), []store.NotificationRef{{App: "a", ID: "n"}})
		},
		"ExpireNotifications": func() error { _, err := st.ExpireNotifications(ctx, time.Now(), 10); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// testDeleteAppRacingCommits deletes an app while commits to it and to
// another app are in flight, a few times: afterwards nothing of the
// deleted app is left, and the other app holds exactly the commits that
// succeeded.
func testDeleteAppRacingCommits(t *testing.T, st store.Store) {
	createApp(t, st, "b")
	for round := range 3 {
		app := fmt.Sprint("a", round)
		createApp(t, st, app)
		deleteAppRacingCommits(t, st, app, fmt.Sprint("Round", round))
	}
}

func deleteAppRacingCommits(t *testing.T, st store.Store, app, other string) {
	ctx := ctxFor(t)
	landed := make(chan string, 1<<12)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 1000; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				_, err := st.Commit(ctx, store.Batch{Writes: []store.Write{
					write(rk("b", other, stringKey(key)), key, "v"),
					write(rk(app, "T", stringKey(key)), key, "v"),
				}})
				if errors.Is(err, store.ErrUnknownApp) {
					return // the app is gone: so is every later commit to it
				}
				if err != nil {
					t.Error(err)
					return
				}
				landed <- key
			}
		})
	}
	for range 20 { // let some commits land first
		<-landed
	}
	if err := st.DeleteApp(ctx, app); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(landed)
	if recs := rangeAll(t, st, app, "T", stringKey(""), stringKey("\xff")); len(recs) != 0 {
		t.Fatalf("%d records of the deleted app survived commits racing with DeleteApp", len(recs))
	}
	n := len(rangeAll(t, st, "b", other, stringKey(""), stringKey("\xff")))
	if want := 20 + len(landed); n != want {
		t.Fatalf("the other app holds %d records; %d commits succeeded", n, want)
	}
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

// testNotificationExpiry checks LastActive, TouchNotifications and
// ExpireNotifications.
func testNotificationExpiry(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	c := subscribe(t, st)
	now := time.Now().UTC().Truncate(time.Millisecond)
	old := now.Add(-2 * time.Hour)
	for _, n := range []store.Notification{
		{ID: "n1", App: "a", Schema: "T", Keys: []string{"k"}, LastActive: old},
		{ID: "n2", App: "a", Schema: "T", Keys: []string{"k"}, LastActive: old},
		{ID: "n3", App: "a", Schema: "T", Keys: []string{"k"}, LastActive: now},
		{ID: "n4", App: "b", Schema: "T", Keys: []string{"k"}, LastActive: old},
		{ID: "n5", App: "b", Schema: "T", Keys: []string{"k"}}, // undated, as older versions stored them
	} {
		if err := st.PutNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	lastActive := func(app, id string) time.Time {
		t.Helper()
		n, err := st.Notification(ctx, app, id)
		if err != nil {
			t.Fatalf("Notification(%s, %s): %v", app, id, err)
		}
		return n.LastActive
	}
	if got := lastActive("a", "n1"); !got.Equal(old) {
		t.Fatalf("n1 was last active at %v, want %v", got, old)
	}
	refs := []store.NotificationRef{{App: "a", ID: "n2"}, {App: "a", ID: "gone"}, {App: "nosuchapp", ID: "n2"}}
	if err := st.TouchNotifications(ctx, now, refs); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchNotifications(ctx, old, []store.NotificationRef{{App: "a", ID: "n3"}}); err != nil {
		t.Fatal(err)
	}
	if got := lastActive("a", "n2"); !got.Equal(now) {
		t.Fatalf("touched n2 is last active at %v, want %v", got, now)
	}
	if got := lastActive("a", "n3"); !got.Equal(now) {
		t.Fatalf("a touch with an older time moved n3 back to %v", got)
	}
	cutoff := now.Add(-time.Hour)
	if n, err := st.ExpireNotifications(ctx, cutoff, 1); err != nil || n != 1 {
		t.Fatalf("ExpireNotifications with limit 1: %d, %v; want 1", n, err)
	}
	if n, err := st.ExpireNotifications(ctx, cutoff, 100); err != nil || n != 1 {
		t.Fatalf("the second ExpireNotifications: %d, %v; want the 1 left", n, err)
	}
	for _, ref := range []store.NotificationRef{{App: "a", ID: "n1"}, {App: "b", ID: "n4"}} {
		if _, err := st.Notification(ctx, ref.App, ref.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired %s/%s: %v, want ErrNotFound", ref.App, ref.ID, err)
		}
	}
	if got := lastActive("b", "n5"); got.Before(now.Add(-time.Minute)) {
		t.Fatalf("an undated registration counts as last active at %v; want about now", got)
	}
	got := barrier(t, st, c, "a")
	var deleted []string
	for _, ch := range got {
		if ch.Kind == store.ChangeNotificationDeleted {
			deleted = append(deleted, ch.App+"/"+ch.NotificationID)
		}
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, []string{"a/n1", "b/n4"}) {
		t.Fatalf("heard the deletion of %v, want a/n1 and b/n4", deleted)
	}
}
