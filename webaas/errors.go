package webaas

import (
	"errors"
	"fmt"

	"github.com/webaas-chat/webaas-chat/wire"
)

// Error is an error answer from a WeBaaS server.
type Error struct {
	Status  int       // HTTP status: 400 for client errors, 5xx for server faults
	Code    wire.Code // 0 when the body was not a WeBaaS error body
	Message string    // the server's words
}

func (e *Error) Error() string {
	if e.Code == 0 {
		return fmt.Sprintf("webaas: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("webaas: %s (code %d)", e.Message, e.Code)
}

// Is makes errors.Is(err, ErrNotFound) and friends match by code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Status == 0 && t.Code == e.Code
}

// Sentinels for errors.Is; each matches any *Error with its code.
var (
	ErrInternal           = &Error{Code: wire.CodeInternal, Message: "internal server error"}
	ErrUnknownApp         = &Error{Code: wire.CodeUnknownApp, Message: "unknown app"}
	ErrNotFound           = &Error{Code: wire.CodeNotFound, Message: "record not found"}
	ErrUnknownSchema      = &Error{Code: wire.CodeUnknownSchema, Message: "unknown schema"}
	ErrSchemaCompile      = &Error{Code: wire.CodeSchemaCompile, Message: "schema does not compile"}
	ErrBadRecord          = &Error{Code: wire.CodeBadRecord, Message: "record does not parse"}
	ErrNoPrimaryKey       = &Error{Code: wire.CodeNoPrimaryKey, Message: "type has no primary key"}
	ErrUnknownTransaction = &Error{Code: wire.CodeUnknownTransaction, Message: "unknown transaction"}
	ErrConflict           = &Error{Code: wire.CodeConflict, Message: "transaction conflict"}
	ErrUnknownNotify      = &Error{Code: wire.CodeUnknownNotify, Message: "unknown notification"}
	ErrTooLarge           = &Error{Code: wire.CodeTooLarge, Message: "too large"}
	ErrBadParameter       = &Error{Code: wire.CodeBadParameter, Message: "bad parameter"}
	ErrLimit              = &Error{Code: wire.CodeLimit, Message: "limit exceeded"}
	ErrUnavailable        = &Error{Code: wire.CodeUnavailable, Message: "server unavailable"}
)

// IsAnswer reports whether err is an answer from the server (an *Error),
// as opposed to a failure to get one (network, timeout), after which the
// outcome of a write is unknown.
func IsAnswer(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
