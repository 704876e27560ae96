package webaas

import (
	"errors"
	"fmt"
)

// Code is a WeBaaS error code, the "code" of every error body. This table
// is the one definition of the codes, shared by this client and by the
// server in webaas/server; codes never change meaning. 1002 is fixed by the
// original service (old clients test for it); the rest are this project's.
type Code int

const (
	CodeInternal           Code = 1000 // server fault (HTTP 500)
	CodeUnknownApp         Code = 1001 // no app with that appID
	CodeNotFound           Code = 1002 // record not found
	CodeUnknownSchema      Code = 1003 // no active schema, no such type in it, or no files in that version
	CodeSchemaCompile      Code = 1004 // a .proto file does not compile (the message has file:line:column)
	CodeBadRecord          Code = 1005 // the body does not parse as the named type
	CodeNoPrimaryKey       Code = 1006 // the type has no usable primary-key field
	CodeUnknownTransaction Code = 1007 // no such transaction, or it expired, committed or aborted
	CodeConflict           Code = 1008 // transaction conflict: a record it read changed; retry
	CodeUnknownNotify      Code = 1009 // no such notification in this app
	CodeTooLarge           Code = 1010 // a body, record, key or schema is over its size limit
	CodeBadParameter       Code = 1011 // a parameter is missing or malformed, or no such endpoint
	CodeLimit              Code = 1012 // a count limit: keys per notification, writes per transaction, open transactions, files per version
	CodeUnavailable        Code = 1013 // the store is unreachable or the server is shutting down (HTTP 503)
)

// Error is an error answer from a WeBaaS server.
type Error struct {
	Status  int    // HTTP status: 400 for client errors, 5xx for server faults
	Code    Code   // 0 when the body was not a WeBaaS error body
	Message string // the server's words
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
	ErrInternal           = &Error{Code: CodeInternal, Message: "internal server error"}
	ErrUnknownApp         = &Error{Code: CodeUnknownApp, Message: "unknown app"}
	ErrNotFound           = &Error{Code: CodeNotFound, Message: "record not found"}
	ErrUnknownSchema      = &Error{Code: CodeUnknownSchema, Message: "unknown schema"}
	ErrSchemaCompile      = &Error{Code: CodeSchemaCompile, Message: "schema does not compile"}
	ErrBadRecord          = &Error{Code: CodeBadRecord, Message: "record does not parse"}
	ErrNoPrimaryKey       = &Error{Code: CodeNoPrimaryKey, Message: "type has no primary key"}
	ErrUnknownTransaction = &Error{Code: CodeUnknownTransaction, Message: "unknown transaction"}
	ErrConflict           = &Error{Code: CodeConflict, Message: "transaction conflict"}
	ErrUnknownNotify      = &Error{Code: CodeUnknownNotify, Message: "unknown notification"}
	ErrTooLarge           = &Error{Code: CodeTooLarge, Message: "too large"}
	ErrBadParameter       = &Error{Code: CodeBadParameter, Message: "bad parameter"}
	ErrLimit              = &Error{Code: CodeLimit, Message: "limit exceeded"}
	ErrUnavailable        = &Error{Code: CodeUnavailable, Message: "server unavailable"}
)

// IsAnswer reports whether err is an answer from the server (an *Error),
// as opposed to a failure to get one (network, timeout), after which the
// outcome of a write is unknown.
func IsAnswer(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
