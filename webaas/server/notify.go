package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/webaas-chat/webaas-chat/webaas/server/store"
	"github.com/webaas-chat/webaas-chat/wire"
)

// maxFrameString bounds every string a frame carries. The frame is binary
// protobuf sent as a *text* frame (old clients decode it as a string), so
// it must be valid UTF-8: with strings under 128 bytes every length prefix
// is one byte below 0x80, and the tags are ASCII, so it is.
const maxFrameString = 127

// jsonKey is a record key in a JSON body: a string as the contract says,
// or a number, as a client holding integer ids may well send.
type jsonKey string

func (k *jsonKey) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*k = jsonKey(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("record key %s is neither a string nor a number", b)
	}
	*k = jsonKey(n.String())
	return nil
}

type notificationBody struct {
	AppID      string    `json:"appID"`
	SchemaName string    `json:"schemaName"`
	RecordKeys []jsonKey `json:"recordKeys"`
	// SchemaNames (an extension) are types all of whose records are
	// watched; with them, schemaName and recordKeys may be left out.
	SchemaNames []string `json:"schemaNames"`
}

// maxWatchedTypes bounds schemaNames.
const maxWatchedTypes = 16

// POST /notification, JSON body {"appID", "schemaName", "recordKeys"}
func (s *Server) registerNotification(w http.ResponseWriter, r *http.Request) error {
	var body notificationBody
	if err := readJSON(w, r, s.cfg.MaxJSONBytes, &body); err != nil {
		return err
	}
	if s.cfg.Plain {
		body.SchemaNames = nil
	}
	if body.AppID == "" {
		return errorf(wire.CodeBadParameter, "missing appID in the JSON body")
	}
	byKey := len(body.SchemaNames) == 0 || body.SchemaName != "" || len(body.RecordKeys) > 0
	if byKey {
		// Checked before the app, in the order the original server did.
		if err := s.checkKeysBody(body); err != nil {
			return err
		}
	}
	st, err := s.apps.get(r.Context(), body.AppID)
	if err != nil {
		return err
	}
	n := store.Notification{ID: newID(), App: body.AppID, LastActive: s.cfg.Now()}
	if byKey {
		if n.Schema, n.Keys, err = s.watchedKeys(r, st, body); err != nil {
			return err
		}
	}
	if n.Types, err = s.watchedTypes(r, st, body.SchemaNames); err != nil {
		return err
	}
	if err := s.store.PutNotification(r.Context(), n); err != nil {
		if errors.Is(err, store.ErrUnknownApp) {
			return errorf(wire.CodeUnknownApp, "unknown app %q", body.AppID)
		}
		return storeFault(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"notificationID": n.ID})
	return nil
}

// checkKeysBody checks what needs no app of a registration that names
// records one by one.
func (s *Server) checkKeysBody(body notificationBody) error {
	if body.SchemaName == "" {
		return errorf(wire.CodeBadParameter, "missing schemaName in the JSON body")
	}
	if len(body.SchemaName) > maxFrameString {
		return errorf(wire.CodeTooLarge, "schemaName is %d bytes; notifications carry names of at most %d", len(body.SchemaName), maxFrameString)
	}
	if len(body.RecordKeys) == 0 {
		return errorf(wire.CodeBadParameter, "recordKeys is empty: name the records to watch")
	}
	if len(body.RecordKeys) > s.cfg.MaxNotifyKeys {
		return errorf(wire.CodeLimit, "%d recordKeys; a notification watches at most %d", len(body.RecordKeys), s.cfg.MaxNotifyKeys)
	}
	return nil
}

// watchedKeys checks the records a registration names one by one.
func (s *Server) watchedKeys(r *http.Request, st *appState, body notificationBody) (string, []string, error) {
	_, rt, err := s.apps.recordType(r.Context(), st, body.SchemaName)
	if err != nil {
		return "", nil, err
	}
	var keys []string
	seen := map[string]bool{}
	for _, jk := range body.RecordKeys {
		k := string(jk)
		if len(k) > s.cfg.MaxKeyBytes {
			return "", nil, errorf(wire.CodeTooLarge, "record key %.40q... is %d bytes; keys are at most %d", k, len(k), s.cfg.MaxKeyBytes)
		}
		_, canonical, err := rt.codec.parse(k)
		if err != nil {
			return "", nil, errorf(wire.CodeBadParameter, "recordKeys: %v", err)
		}
		if len(canonical) > maxFrameString || !utf8.ValidString(canonical) {
			return "", nil, errorf(wire.CodeTooLarge, "record key %.40q... is %d bytes; notifications carry keys of at most %d bytes of UTF-8", canonical, len(canonical), maxFrameString)
		}
		if !seen[canonical] {
			seen[canonical] = true
			keys = append(keys, canonical)
		}
	}
	return body.SchemaName, keys, nil
}

// watchedTypes checks the types a registration watches whole.
func (s *Server) watchedTypes(r *http.Request, st *appState, names []string) ([]string, error) {
	if len(names) > maxWatchedTypes {
		return nil, errorf(wire.CodeLimit, "%d schemaNames; a notification watches at most %d types", len(names), maxWatchedTypes)
	}
	var types []string
	for _, name := range names {
		if slices.Contains(types, name) {
			continue
		}
		if _, _, err := s.apps.recordType(r.Context(), st, name); err != nil {
			return nil, prefixed("schemaNames: ", err)
		}
		types = append(types, name)
	}
	return types, nil
}

// notificationParams reads appID (of an existing app) and notificationID.
func (s *Server) notificationParams(r *http.Request) (appID, id string, err error) {
	if appID, err = param(r, "appID"); err != nil {
		return "", "", err
	}
	if id, err = param(r, "notificationID"); err != nil {
		return "", "", err
	}
	if _, err := s.apps.get(r.Context(), appID); err != nil {
		return "", "", err
	}
	return appID, id, nil
}

// DELETE /notification?appID=I&notificationID=X
func (s *Server) deleteNotification(w http.ResponseWriter, r *http.Request) error {
	appID, id, err := s.notificationParams(r)
	if err != nil {
		return err
	}
	err = s.store.DeleteNotification(r.Context(), appID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(wire.CodeUnknownNotify, "unknown notification %q in app %s", id, appID)
	}
	if err != nil {
		return storeFault(err)
	}
	// Sockets close through the store's ChangeNotificationDeleted, on
	// every node.
	writeJSON(w, http.StatusOK, map[string]string{"notificationID": id})
	return nil
}

// GET /notification?appID=I&notificationID=X, a websocket upgrade.
func (s *Server) listen(w http.ResponseWriter, r *http.Request) error {
	appID, id, err := s.notificationParams(r)
	if err != nil {
		return err
	}
	n, err := s.store.Notification(r.Context(), appID, id)
	if errors.Is(err, store.ErrNotFound) {
		// Also what another app's notification id gets: no hint it exists.
		return errorf(wire.CodeUnknownNotify, "unknown notification %q in app %s", id, appID)
	}
	if err != nil {
		return storeFault(err)
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return errorf(wire.CodeBadParameter, "GET /notification is a websocket upgrade: connect with a websocket client to ws://host/notification?appID=...&notificationID=...")
	}
	records, err := framesParam(r)
	if err != nil && !s.cfg.Plain {
		return err
	}
	records = records && !s.cfg.Plain
	if len(n.Types) > 0 && !records {
		// Keys found by type may be any bytes, which text frames of
		// NotificationMessage cannot carry.
		return errorf(wire.CodeBadParameter, "notification %s watches whole types: listen with frames=records", id)
	}
	// Register before the handshake completes: a client that has seen the
	// upgrade succeed must get every change committed after that.
	sock := s.hub.open(n, records)
	if sock == nil {
		return &apiError{code: wire.CodeUnavailable, message: "server shutting down, try again"}
	}
	// This node may deliver changes late: another node's, read from the
	// store's log, can be older than the socket. Whatever is committed by
	// now is not news to a client that has not seen the upgrade succeed,
	// and what is committed later is numbered higher; read only after
	// registering, so that nothing in between is missed.
	after, err := s.store.LastSeq(r.Context())
	if err != nil {
		s.hub.remove(sock)
		return storeFault(err)
	}
	sock.after = after
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// The notification id is the credential; any origin may listen.
		InsecureSkipVerify: true,
	})
	if err != nil {
		s.hub.remove(sock)
		return nil // Accept has answered the client already
	}
	// Serve from a fresh goroutine and let the handler return: the
	// handler's stack grew through the whole HTTP stack, and an idle
	// socket should not keep it (measured with bench --run fanout: 35 KiB
	// of server memory per idle socket before, 28 KiB after).
	go s.hub.serve(sock, conn)
	return nil
}

// framesParam reads the frames parameter of an upgrade (an extension):
// "records" asks for RecordsFrame frames; absent, the original frames.
func framesParam(r *http.Request) (records bool, err error) {
	switch f := r.URL.Query().Get("frames"); f {
	case "":
		return false, nil
	case "records":
		return true, nil
	default:
		return false, errorf(wire.CodeBadParameter, "frames=%.40q: the only kind on offer is frames=records", f)
	}
}
