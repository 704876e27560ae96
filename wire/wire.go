// Package wire is what travels between a WeBaaS server and its clients
// and both sides must agree on: the error codes and the error body, the
// notification frame (NotificationMessage, generated from
// notification.proto), and the record options every schema may import
// (record_metadata_options.proto, which the server provides). It depends
// on nothing else in this project, so the server and the client share it
// without depending on each other. See docs/webaas-api.md.
package wire

import (
	_ "embed"
	"net/http"
)

//go:generate protoc -I . --go_out=. --go_opt=paths=source_relative notification.proto record_metadata_options.proto records.proto

// RecordMetadataOptions is the text of record_metadata_options.proto,
// which uploaded schemas import without uploading it.
//
//go:embed record_metadata_options.proto
var RecordMetadataOptions string

// Code is a WeBaaS error code, the "code" of every error body. This table
// is the one definition of the codes; they never change meaning. 1002 is
// fixed by the original service (old clients test for it); the rest are
// this project's.
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
	CodeTooLarge           Code = 1010 // a body, record, key, schema or transaction is over its size limit
	CodeBadParameter       Code = 1011 // a parameter is missing or malformed, no such endpoint, or (403) a request a server on loopback refuses
	CodeLimit              Code = 1012 // a count limit: keys per notification, writes or reads per transaction, open transactions, files per version, versions per app
	CodeUnavailable        Code = 1013 // the store is unreachable or out of space, the server is busy or shutting down (HTTP 503)
)

// HTTPStatus is the status an answer with this code comes with: 400 for
// whatever went wrong with the request, as the original did; 500 for a
// fault; 503 for "try again later".
func (c Code) HTTPStatus() int {
	switch c {
	case CodeInternal:
		return http.StatusInternalServerError
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}
