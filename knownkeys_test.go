package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestKnownKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "known-keys.json")
	k, err := openKnownKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Bind("room1", "alice", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := k.Bind("room1", "alice", []byte{9}); err != nil { // the first binding stands
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v %v", fi, err)
	}
	again, err := openKnownKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := again.Load("room1")
	if !bytes.Equal(got["alice"], []byte{1, 2, 3}) || len(got) != 1 {
		t.Fatalf("after a relaunch: %v", got)
	}
	if other, _ := again.Load("room2"); len(other) != 0 {
		t.Fatalf("another room: %v", other)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openKnownKeys(path, nil); err == nil {
		t.Fatal("a broken file opens as an empty memory")
	}
}
