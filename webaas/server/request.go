package server

// Reading a request: parameters and bodies, within their limits.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/webaas-chat/webaas-chat/wire"
)

// param returns a required query parameter.
func param(r *http.Request, name string) (string, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return "", errorf(wire.CodeBadParameter, "missing parameter %s", name)
	}
	return q.Get(name), nil
}

// readBody reads the whole body, refusing more than limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, error) {
	body, err := readAll(http.MaxBytesReader(rawWriter(w), r.Body, limit), r.ContentLength, limit)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, errorf(wire.CodeTooLarge, "%s is larger than the limit of %d bytes", what, limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, errorf(wire.CodeBadParameter, "%s did not arrive in time (--read-timeout)", what)
	case err != nil:
		return nil, errorf(wire.CodeBadParameter, "reading %s: %v", what, err)
	}
	return body, nil
}

// readAll reads r to the end. With the length known and within limit it
// reads into a buffer of exactly that size: a body kept in an open
// transaction then holds no spare capacity of a growing buffer.
func readAll(r io.Reader, length, limit int64) ([]byte, error) {
	if length <= 0 || length > limit {
		return io.ReadAll(r)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// readJSON decodes a JSON body, whatever its Content-Type says.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := readBody(w, r, limit, "JSON body")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errorf(wire.CodeBadParameter, "body is not the expected JSON: %v", err)
	}
	return nil
}

func atoiParam(r *http.Request, name string, def int) (int, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return 0, errorf(wire.CodeBadParameter, "parameter %s=%q is not an integer", name, q.Get(name))
	}
	return n, nil
}
