package storetest

// Notification registrations.

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

// testNotifications checks put, get and delete, scoped by app.
func testNotifications(t *testing.T, st store.Store) {
	ctx := ctxFor(t)
	createApp(t, st, "a", "b")
	n := store.Notification{ID: "n-1", App: "a", Schema: "chat.Message", Keys: []string{"1", "-2", "x\x00y", "é"}, Types: []string{"chat.Member", "chat.Message"}}
	if err := st.PutNotification(ctx, n); err != nil {
		t.Fatal(err)
	}
	wantNotification := func(app, id string, want store.Notification) {
		t.Helper()
		got, err := st.Notification(ctx, app, id)
		if err != nil {
			t.Fatalf("Notification(%s, %s): %v", app, id, err)
		}
		if got.ID != want.ID || got.App != want.App || got.Schema != want.Schema || !slices.Equal(got.Keys, want.Keys) || !slices.Equal(got.Types, want.Types) {
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
