package storetest

import (
	"errors"
	"fmt"
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
