package boltstore

// Notification registrations and their expiry.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

type notificationRecord struct {
	Schema     string    `json:"schema"`
	Keys       []string  `json:"keys"`
	Types      []string  `json:"types,omitempty"`
	LastActive time.Time `json:"lastActive,omitzero"`
}

// PutNotification implements store.Store.
func (s *Store) PutNotification(ctx context.Context, n store.Notification) error {
	v, err := json.Marshal(notificationRecord{Schema: n.Schema, Keys: n.Keys, Types: n.Types, LastActive: n.LastActive.UTC()})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		if _, err := getApp(tx, n.App); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fmt.Errorf("%w %s", store.ErrUnknownApp, n.App)
			}
			return nil, err
		}
		b, err := tx.Bucket(bucketNotifications).CreateBucketIfNotExists([]byte(n.App))
		if err != nil {
			return nil, err
		}
		return quiet(b.Put([]byte(n.ID), v))
	})
}

// Notification implements store.Store.
func (s *Store) Notification(ctx context.Context, appID, id string) (store.Notification, error) {
	var n store.Notification
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketNotifications).Bucket([]byte(appID))
		if b == nil {
			return store.ErrNotFound
		}
		v := b.Get([]byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		var r notificationRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("notification %s: corrupt record: %w", id, err)
		}
		n = store.Notification{ID: id, App: appID, Schema: r.Schema, Keys: r.Keys, Types: r.Types, LastActive: r.LastActive}
		return nil
	})
	return n, err
}

// DeleteNotification implements store.Store.
func (s *Store) DeleteNotification(ctx context.Context, appID, id string) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		b := tx.Bucket(bucketNotifications).Bucket([]byte(appID))
		if b == nil || b.Get([]byte(id)) == nil {
			return nil, store.ErrNotFound
		}
		return change(store.Change{Kind: store.ChangeNotificationDeleted, App: appID, NotificationID: id}, b.Delete([]byte(id)))
	})
}

// TouchNotifications implements store.Store.
func (s *Store) TouchNotifications(ctx context.Context, at time.Time, refs []store.NotificationRef) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		for _, ref := range refs {
			b := tx.Bucket(bucketNotifications).Bucket([]byte(ref.App))
			if b == nil {
				continue
			}
			err := updateNotification(b, []byte(ref.ID), func(r *notificationRecord) bool {
				if !at.After(r.LastActive) {
					return false
				}
				r.LastActive = at.UTC()
				return true
			})
			if err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
}

// updateNotification rewrites one registration if change says it changed.
func updateNotification(b *bolt.Bucket, id []byte, change func(*notificationRecord) bool) error {
	v := b.Get(id)
	if v == nil {
		return nil
	}
	var r notificationRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return fmt.Errorf("notification %s: corrupt record: %w", id, err)
	}
	if !change(&r) {
		return nil
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put(id, v)
}

// ExpireNotifications implements store.Store. It walks every
// registration: expiry runs rarely (the server does it a few times per
// expiry period), and registrations are few beside records.
func (s *Store) ExpireNotifications(ctx context.Context, before time.Time, limit int) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		n = 0
		var changes []store.Change
		now := time.Now().UTC()
		var apps [][]byte // gathered first: no bucket changes while iterating
		err := tx.Bucket(bucketNotifications).ForEachBucket(func(app []byte) error {
			apps = append(apps, bytes.Clone(app))
			return nil
		})
		for _, app := range apps {
			if err != nil {
				break
			}
			err = expireIn(tx.Bucket(bucketNotifications).Bucket(app), app, before, now, limit, &n, &changes)
		}
		return changes, err
	})
	return n, err
}

// expireIn expires the registrations of one app (see
// ExpireNotifications); n counts those expired so far.
func expireIn(b *bolt.Bucket, app []byte, before, now time.Time, limit int, n *int, changes *[]store.Change) error {
	var gone, undated [][]byte
	err := b.ForEach(func(id, v []byte) error {
		var r notificationRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("notification %s: corrupt record: %w", id, err)
		}
		switch {
		case r.LastActive.IsZero():
			undated = append(undated, bytes.Clone(id))
		case r.LastActive.Before(before) && *n < limit:
			gone = append(gone, bytes.Clone(id))
			*n++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range undated {
		if err := updateNotification(b, id, func(r *notificationRecord) bool { r.LastActive = now; return true }); err != nil {
			return err
		}
	}
	for _, id := range gone {
		if err := b.Delete(id); err != nil {
			return err
		}
		*changes = append(*changes, store.Change{Kind: store.ChangeNotificationDeleted, App: string(app), NotificationID: string(id)})
	}
	return nil
}
