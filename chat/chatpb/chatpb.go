// Package chatpb is the chat room's schema: chatroom.proto, which the chat
// uploads when it creates a room, and the Go code generated from it. The
// generated file is committed; after editing the .proto, run
//
//	go generate ./chat/chatpb ./wire
//
// which needs protoc and protoc-gen-go
// (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
package chatpb

import _ "embed"

//go:generate protoc -I . -I ../../wire --go_out=. --go_opt=paths=source_relative chatroom.proto

// Chatroom is the text of chatroom.proto, the schema of every chat room.
//
//go:embed chatroom.proto
var Chatroom string
