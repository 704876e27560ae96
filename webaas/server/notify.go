package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
}

// POST /notification, JSON body {"appID", "schemaName", "recordKeys"}
func (s *Server) registerNotification(w http.ResponseWriter, r *http.Request) error {
	var body notificationBody
	if err := readJSON(w, r, s.cfg.MaxJSONBytes, &body); err != nil {
		return err
	}
	if body.AppID == "" {
		return errorf(wire.CodeBadParameter, "missing appID in the JSON body")
	}
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
	st, err := s.apps.get(r.Context(), body.AppID)
	if err != nil {
		return err
	}
	_, rt, err := s.apps.recordType(r.Context(), st, body.SchemaName)
	if err != nil {
		return err
	}
	n := store.Notification{ID: newID(), App: body.AppID, Schema: body.SchemaName, LastActive: s.cfg.Now()}
	seen := map[string]bool{}
	for _, jk := range body.RecordKeys {
		k := string(jk)
		if len(k) > s.cfg.MaxKeyBytes {
			return errorf(wire.CodeTooLarge, "record key %.40q... is %d bytes; keys are at most %d", k, len(k), s.cfg.MaxKeyBytes)
		}
		_, canonical, err := rt.codec.parse(k)
		if err != nil {
			return errorf(wire.CodeBadParameter, "recordKeys: %v", err)
		}
		if len(canonical) > maxFrameString || !utf8.ValidString(canonical) {
			return errorf(wire.CodeTooLarge, "record key %.40q... is %d bytes; notifications carry keys of at most %d bytes of UTF-8", canonical, len(canonical), maxFrameString)
		}
		if !seen[canonical] {
			seen[canonical] = true
			n.Keys = append(n.Keys, canonical)
		}
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
	// Register before the handshake completes: a client that has seen the
	// upgrade succeed must get every change committed after that.
	sock := s.hub.open(n)
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
