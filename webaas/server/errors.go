package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/webaas-chat/webaas-chat/wire"
)

// apiError is an error with its code; handlers return it and writeError
// turns it into the response.
type apiError struct {
	code    wire.Code
	message string
	err     error // the cause, for logs; not shown to clients
}

func (e *apiError) Error() string { return e.message }
func (e *apiError) Unwrap() error { return e.err }

func errorf(code wire.Code, format string, args ...any) *apiError {
	return &apiError{code: code, message: fmt.Sprintf(format, args...)}
}

// writeError writes err as the JSON error body; anything that is not an
// *apiError is a server fault, logged in full and shown as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: wire.CodeInternal, message: "internal error", err: err}
	}
	switch {
	case errors.Is(err, errBusy):
		// Under load, one line per busy answer would flood the log.
		s.log.Debug("request refused: server busy", "method", r.Method, "path", r.URL.Path, "code", int(ae.code))
	case ae.code == wire.CodeInternal || ae.code == wire.CodeUnavailable:
		// The cause, which the client is not shown, is what the log is for.
		cause := err
		if ae.err != nil {
			cause = ae.err
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", int(ae.code), "msg", ae.message, "err", cause)
	default:
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", int(ae.code), "msg", ae.message)
	}
	writeJSON(w, ae.code.HTTPStatus(), wire.ErrorBody{Code: ae.code, Message: ae.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
