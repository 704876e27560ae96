package boltstore

// Apps and their schema versions.

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

type appRecord struct {
	Name          string    `json:"name"`
	ActiveVersion string    `json:"activeVersion,omitempty"`
	Created       time.Time `json:"created"`
	SchemaRev     uint64    `json:"schemaRev,omitempty"`
}

func (r appRecord) app(id string) store.App {
	return store.App{ID: id, Name: r.Name, ActiveVersion: r.ActiveVersion, Created: r.Created, SchemaRev: r.SchemaRev}
}

// CreateApp implements store.Store.
func (s *Store) CreateApp(ctx context.Context, app store.App) error {
	v, err := json.Marshal(appRecord{Name: app.Name, ActiveVersion: app.ActiveVersion, Created: app.Created})
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		apps := tx.Bucket(bucketApps)
		if apps.Get([]byte(app.ID)) != nil {
			return nil, store.ErrExists
		}
		return quiet(apps.Put([]byte(app.ID), v))
	})
}

// App implements store.Store.
func (s *Store) App(ctx context.Context, id string) (store.App, error) {
	var app store.App
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		app, err = getApp(tx, id)
		return err
	})
	return app, err
}

func getApp(tx *bolt.Tx, id string) (store.App, error) {
	r, err := getAppRecord(tx, id)
	return r.app(id), err
}

func getAppRecord(tx *bolt.Tx, id string) (appRecord, error) {
	var r appRecord
	v := tx.Bucket(bucketApps).Get([]byte(id))
	if v == nil {
		return r, store.ErrNotFound
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("app %s: corrupt record: %w", id, err)
	}
	return r, nil
}

// bumpSchemaRev checks the app's schema revision against ifRev and
// advances it, inside a schema change's transaction.
func bumpSchemaRev(tx *bolt.Tx, id string, ifRev uint64, change func(*appRecord)) error {
	r, err := getAppRecord(tx, id)
	if err != nil {
		return err
	}
	if ifRev != store.AnyRev && r.SchemaRev != ifRev {
		return store.ErrConflict
	}
	r.SchemaRev++
	if change != nil {
		change(&r)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketApps).Put([]byte(id), v)
}

// DeleteApp implements store.Store.
func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		apps := tx.Bucket(bucketApps)
		if apps.Get([]byte(id)) == nil {
			return nil, store.ErrNotFound
		}
		if err := apps.Delete([]byte(id)); err != nil {
			return nil, err
		}
		for _, b := range [][]byte{bucketSchemas, bucketRecords, bucketNotifications, bucketSequences} {
			err := tx.Bucket(b).DeleteBucket([]byte(id))
			if err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
				return nil, err
			}
		}
		return change(store.Change{Kind: store.ChangeAppDeleted, App: id}, nil)
	})
}

func schemaFileKey(version, name string) []byte {
	return append(append([]byte(version), 0), name...)
}

// PutSchemaFile implements store.Store; an upload into the active version
// is published as a schema change.
func (s *Store) PutSchemaFile(ctx context.Context, appID, version, name string, text []byte, ifRev uint64) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		active := false
		err := bumpSchemaRev(tx, appID, ifRev, func(r *appRecord) { active = r.ActiveVersion == version })
		if err != nil {
			return nil, err
		}
		b, err := tx.Bucket(bucketSchemas).CreateBucketIfNotExists([]byte(appID))
		if err != nil {
			return nil, err
		}
		if err := b.Put(schemaFileKey(version, name), text); err != nil || !active {
			return nil, err
		}
		// A file of the active version changes what the app serves.
		return change(store.Change{Kind: store.ChangeSchema, App: appID}, nil)
	})
}

// SchemaFiles implements store.Store.
func (s *Store) SchemaFiles(ctx context.Context, appID, version string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSchemas).Bucket([]byte(appID))
		if b == nil {
			return nil
		}
		prefix := schemaFileKey(version, "")
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			files[string(k[len(prefix):])] = bytes.Clone(v)
		}
		return nil
	})
	return files, err
}

// SchemaVersions implements store.Store.
func (s *Store) SchemaVersions(ctx context.Context, appID string) ([]string, error) {
	var versions []string
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSchemas).Bucket([]byte(appID))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; {
			version, _, _ := bytes.Cut(k, []byte{0})
			versions = append(versions, string(version))
			// The first key past every file of this version.
			k, _ = c.Seek(append(bytes.Clone(version), 1))
		}
		return nil
	})
	return versions, err
}

// ActivateSchema implements store.Store.
func (s *Store) ActivateSchema(ctx context.Context, appID, version string, ifRev uint64) error {
	return s.update(func(tx *bolt.Tx) ([]store.Change, error) {
		err := bumpSchemaRev(tx, appID, ifRev, func(r *appRecord) { r.ActiveVersion = version })
		return change(store.Change{Kind: store.ChangeSchema, App: appID}, err)
	})
}
