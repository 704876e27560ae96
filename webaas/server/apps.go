package server

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

const maxNameLen = 256 // app names, file names, versions

func checkName(what, v string) error {
	switch {
	case v == "":
		return errorf(wire.CodeBadParameter, "%s is empty", what)
	case len(v) > maxNameLen:
		return errorf(wire.CodeBadParameter, "%s is %d bytes long; the limit is %d", what, len(v), maxNameLen)
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return errorf(wire.CodeBadParameter, "%s is not valid UTF-8 text", what)
	}
	return nil
}

// POST /app?appName=N
func (s *Server) registerApp(w http.ResponseWriter, r *http.Request) error {
	name, err := param(r, "appName")
	if err != nil {
		return err
	}
	if err := checkName("appName", name); err != nil {
		return err
	}
	app := store.App{ID: newID(), Name: name, Created: time.Now().UTC()}
	if err := s.store.CreateApp(r.Context(), app); err != nil {
		return storeFault(err)
	}
	s.log.Info("app registered", "app", app.ID, "name", name)
	writeJSON(w, http.StatusOK, map[string]string{"appID": app.ID})
	return nil
}

// DELETE /app?appName=N&appID=I
func (s *Server) deleteApp(w http.ResponseWriter, r *http.Request) error {
	id, err := param(r, "appID")
	if err != nil {
		return err
	}
	app, err := s.app(r.Context(), id)
	if err != nil {
		return err
	}
	// appName is a guard against deleting the wrong app: when given, it
	// must match.
	if q := r.URL.Query(); q.Has("appName") && q.Get("appName") != app.Name {
		return errorf(wire.CodeUnknownApp, "app %s is not named %q", id, q.Get("appName"))
	}
	err = s.store.DeleteApp(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(wire.CodeUnknownApp, "unknown app %q", id)
	}
	if err != nil {
		return storeFault(err)
	}
	s.apps.forget(id)
	s.log.Info("app deleted", "app", id)
	writeJSON(w, http.StatusOK, map[string]string{"appID": id})
	return nil
}

// checkFileName accepts clean relative paths such as "a.proto" or
// "dir/b.proto", the names imports refer to. Uploading a file the server
// provides (record_metadata_options.proto) is allowed, as old clients do;
// the uploaded copy then wins.
func checkFileName(name string) error {
	if err := checkName("fileName", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." || strings.Contains(name, "\\") {
		return errorf(wire.CodeBadParameter, "fileName %q must be a clean relative path such as chat.proto", name)
	}
	return nil
}

// PUT /schema?appID=I&fileName=F&version=V, body: .proto text
func (s *Server) putSchema(w http.ResponseWriter, r *http.Request) error {
	id, err := param(r, "appID")
	if err != nil {
		return err
	}
	name, err := param(r, "fileName")
	if err != nil {
		return err
	}
	version, err := param(r, "version")
	if err != nil {
		return err
	}
	if err := checkFileName(name); err != nil {
		return err
	}
	if err := checkName("version", version); err != nil {
		return err
	}
	if _, err := s.app(r.Context(), id); err != nil {
		return err // before reading a body that cannot be stored
	}
	text, err := readBody(w, r, s.cfg.MaxSchemaBytes, "schema file")
	if err != nil {
		return err
	}
	if !utf8.Valid(text) {
		return errorf(wire.CodeSchemaCompile, "%s: file is not UTF-8 text", name)
	}
	err = s.changeSchema(r.Context(), id, func(ctx context.Context, app store.App) error {
		files, err := s.store.SchemaFiles(ctx, id, version)
		if err != nil {
			return err
		}
		if err := s.checkVersionLimits(ctx, id, version, files, name, text); err != nil {
			return err
		}
		if version == app.ActiveVersion {
			// The active version is compiled again whenever the app is
			// loaded (after a restart, or an eviction from the cache): a
			// file that breaks it would break the app.
			next := maps.Clone(files)
			next[name] = text
			if _, err := s.apps.compiler.compile(ctx, next); err != nil {
				return err
			}
		}
		return s.store.PutSchemaFile(ctx, id, version, name, text, app.SchemaRev)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"appID": id, "fileName": name, "version": version})
	return nil
}

// checkVersionLimits refuses an upload of name into version (which holds
// files now) that would go past a limit on files, bytes or versions.
func (s *Server) checkVersionLimits(ctx context.Context, id, version string, files map[string][]byte, name string, text []byte) error {
	_, replace := files[name]
	if !replace && len(files) >= s.cfg.MaxSchemaFiles {
		return errorf(wire.CodeLimit, "version %q already has %d files, the limit (--max-schema-files)", version, len(files))
	}
	total := int64(len(text))
	for n, t := range files {
		if n != name {
			total += int64(len(t))
		}
	}
	if total > s.cfg.MaxSchemaVersionBytes {
		return errorf(wire.CodeTooLarge, "version %q would hold %d bytes of files, more than the limit of %d (--max-schema-version-bytes)", version, total, s.cfg.MaxSchemaVersionBytes)
	}
	if len(files) == 0 {
		versions, err := s.store.SchemaVersions(ctx, id)
		if err != nil {
			return err
		}
		if len(versions) >= s.cfg.MaxSchemaVersions {
			return errorf(wire.CodeLimit, "app %s already has %d schema versions, the limit (--max-schema-versions); upload into one of them", id, len(versions))
		}
	}
	return nil
}

// POST /schema?appID=I&version=V
func (s *Server) activateSchema(w http.ResponseWriter, r *http.Request) error {
	id, err := param(r, "appID")
	if err != nil {
		return err
	}
	version, err := param(r, "version")
	if err != nil {
		return err
	}
	var files map[string][]byte
	err = s.changeSchema(r.Context(), id, func(ctx context.Context, app store.App) error {
		var err error
		if files, err = s.store.SchemaFiles(ctx, id, version); err != nil {
			return err
		}
		if len(files) == 0 {
			return errorf(wire.CodeUnknownSchema, "version %q of app %s has no files; upload them with PUT /schema first", version, id)
		}
		if _, err := s.apps.compiler.compile(ctx, files); err != nil {
			return err
		}
		return s.store.ActivateSchema(ctx, id, version, app.SchemaRev)
	})
	if err != nil {
		return err
	}
	s.log.Info("schema activated", "app", id, "version", version, "files", len(files))
	writeJSON(w, http.StatusOK, map[string]string{"appID": id, "version": version})
	return nil
}

// schemaChangeTries bounds how often a schema change is checked again
// after another change to the same app landed first.
const schemaChangeTries = 8

// changeSchema runs a schema change: fn checks it against the app as the
// store has it now, and makes it conditional on the app's schema revision,
// so two changes checked apart can never both land. A change that lost
// that race is checked again, against what won. The app's cached state
// is dropped afterwards either way: this node serves what a restart would.
func (s *Server) changeSchema(ctx context.Context, id string, fn func(context.Context, store.App) error) error {
	defer s.apps.forget(id)
	for range schemaChangeTries {
		app, err := s.app(ctx, id)
		if err != nil {
			return err
		}
		err = fn(ctx, app)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrConflict):
			continue
		case errors.Is(err, store.ErrNotFound):
			return errorf(wire.CodeUnknownApp, "unknown app %q", id)
		}
		return storeFault(err)
	}
	return errorf(wire.CodeConflict, "the schema of app %s changed %d times while this change was checked; try again", id, schemaChangeTries)
}

// app reads an app as the store has it, without compiling its schema.
func (s *Server) app(ctx context.Context, id string) (store.App, error) {
	if id == "" {
		return store.App{}, errorf(wire.CodeBadParameter, "missing parameter appID")
	}
	app, err := s.store.App(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.App{}, errorf(wire.CodeUnknownApp, "unknown app %q", id)
	}
	if err != nil {
		return store.App{}, storeFault(err)
	}
	return app, nil
}
