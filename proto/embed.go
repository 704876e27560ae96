// Package protosrc embeds the .proto sources of this directory, so the server
// can provide record_metadata_options.proto to uploaded schemas and the chat
// can upload chatroom.proto when it creates a room.
package protosrc

import _ "embed"

// RecordMetadataOptions is the text of record_metadata_options.proto, which
// uploaded schemas import without uploading it.
//
//go:embed record_metadata_options.proto
var RecordMetadataOptions string

// Chatroom is the text of chatroom.proto, the schema of every chat room.
//
//go:embed chatroom.proto
var Chatroom string
