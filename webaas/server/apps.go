package server

import (
	"errors"
	"maps"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server/store"
)

const maxNameLen = 256 // app names, file names, versions

func checkName(what, v string) error {
	switch {
	case v == "":
		return errorf(webaas.CodeBadParameter, "%s is empty", what)
	case len(v) > maxNameLen:
		return errorf(webaas.CodeBadParameter, "%s is %d bytes long; the limit is %d", what, len(v), maxNameLen)
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return errorf(webaas.CodeBadParameter, "%s is not valid UTF-8 text", what)
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
	st, err := s.apps.get(r.Context(), id)
	if err != nil {
		return err
	}
	// appName is a guard against deleting the wrong app: when given, it
	// must match.
	if q := r.URL.Query(); q.Has("appName") && q.Get("appName") != st.app.Name {
		return errorf(webaas.CodeUnknownApp, "app %s is not named %q", id, q.Get("appName"))
	}
	err = s.store.DeleteApp(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(webaas.CodeUnknownApp, "unknown app %q", id)
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
		return errorf(webaas.CodeBadParameter, "fileName %q must be a clean relative path such as chat.proto", name)
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
	st, err := s.apps.get(r.Context(), id)
	if err != nil {
		return err
	}
	text, err := readBody(w, r, s.cfg.MaxSchemaBytes, "schema file")
	if err != nil {
		return err
	}
	if !utf8.Valid(text) {
		return errorf(webaas.CodeSchemaCompile, "%s: file is not UTF-8 text", name)
	}
	files, err := s.store.SchemaFiles(r.Context(), id, version)
	if err != nil {
		return storeFault(err)
	}
	if _, replace := files[name]; !replace && len(files) >= s.cfg.MaxSchemaFiles {
		return errorf(webaas.CodeLimit, "version %q already has %d files, the limit", version, len(files))
	}
	active := version == st.app.ActiveVersion
	if active {
		// The active version is compiled again whenever the app is loaded
		// (after a restart): a file that breaks it would break the app.
		next := maps.Clone(files)
		next[name] = text
		if _, err := compileSchema(r.Context(), next); err != nil {
			return err
		}
	}
	if err := s.store.PutSchemaFile(r.Context(), id, version, name, text); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errorf(webaas.CodeUnknownApp, "unknown app %q", id)
		}
		return storeFault(err)
	}
	if active {
		s.apps.forget(id) // serve what a restart would load
	}
	writeJSON(w, http.StatusOK, map[string]string{"appID": id, "fileName": name, "version": version})
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
	if _, err := s.apps.get(r.Context(), id); err != nil {
		return err
	}
	files, err := s.store.SchemaFiles(r.Context(), id, version)
	if err != nil {
		return storeFault(err)
	}
	if len(files) == 0 {
		return errorf(webaas.CodeUnknownSchema, "version %q of app %s has no files; upload them with PUT /schema first", version, id)
	}
	if _, err := compileSchema(r.Context(), files); err != nil {
		return err
	}
	err = s.store.ActivateSchema(r.Context(), id, version)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(webaas.CodeUnknownApp, "unknown app %q", id)
	}
	if err != nil {
		return storeFault(err)
	}
	s.apps.forget(id)
	s.log.Info("schema activated", "app", id, "version", version, "files", len(files))
	writeJSON(w, http.StatusOK, map[string]string{"appID": id, "version": version})
	return nil
}
