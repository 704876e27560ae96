// Package pb holds the Go code generated from the .proto files in ../proto:
// the WeBaaS record options, the notification frame and the chat records.
// The generated files are committed; regenerate them after editing a .proto:
//
//	go generate ./pb
//
// which needs protoc and protoc-gen-go
// (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
package pb

//go:generate protoc -I ../proto --go_out=. --go_opt=paths=source_relative record_metadata_options.proto notification.proto chatroom.proto
