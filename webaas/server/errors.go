package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/webaas-chat/webaas-chat/webaas"
)

// apiError is an error with its code; handlers return it and writeError
// turns it into the response.
type apiError struct {
	code    webaas.Code
	message string
	err     error // the cause, for logs; not shown to clients
}

func (e *apiError) Error() string { return e.message }
func (e *apiError) Unwrap() error { return e.err }

func errorf(code webaas.Code, format string, args ...any) *apiError {
	return &apiError{code: code, message: fmt.Sprintf(format, args...)}
}

// httpStatus is the HTTP status for an error code: clients get 400
// whatever went wrong with their request, as the original did. The codes
// themselves are defined once, in package webaas.
func httpStatus(c webaas.Code) int {
	switch c {
	case webaas.CodeInternal:
		return http.StatusInternalServerError
	case webaas.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

type errorBody struct {
	Code    webaas.Code `json:"code"`
	Message string      `json:"message"`
}

// writeError writes err as the JSON error body; anything that is not an
// *apiError is a server fault, logged in full and shown as "internal error".
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: webaas.CodeInternal, message: "internal error", err: err}
	}
	switch {
	case errors.Is(err, errBusy):
		// Under load, one line per busy answer would flood the log.
		s.log.Debug("request refused: server busy", "method", r.Method, "path", r.URL.Path, "code", int(ae.code))
	case ae.code == webaas.CodeInternal || ae.code == webaas.CodeUnavailable:
		// The cause, which the client is not shown, is what the log is for.
		cause := err
		if ae.err != nil {
			cause = ae.err
		}
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "code", int(ae.code), "msg", ae.message, "err", cause)
	default:
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "code", int(ae.code), "msg", ae.message)
	}
	writeJSON(w, httpStatus(ae.code), errorBody{Code: ae.code, Message: ae.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
