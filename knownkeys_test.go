package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
)

func TestKnownKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "known-keys.json")
	k, err := openKnownKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Bind("room1", "alice", []chat.Binding{{Key: []byte{1, 2, 3}, Seq: 7}}); err != nil {
		t.Fatal(err)
	}
	// Another chat on the same file learns bob meanwhile: neither loses
	// the other's binding.
	other, err := openKnownKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Bind("room1", "bob", []chat.Binding{{Key: []byte{4}, Seq: 9}}); err != nil {
		t.Fatal(err)
	}
	if err := k.Bind("room2", "carol", []chat.Binding{{Key: []byte{5}, Seq: 1}}); err != nil {
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
	if len(got) != 2 || len(got["alice"]) != 1 || !bytes.Equal(got["alice"][0].Key, []byte{1, 2, 3}) || got["alice"][0].Seq != 7 || !bytes.Equal(got["bob"][0].Key, []byte{4}) {
		t.Fatalf("after a relaunch: %v", got)
	}
	if r2, _ := again.Load("room2"); len(r2) != 1 {
		t.Fatalf("another room: %v", r2)
	}
	// Forgotten: a save by another chat that never knew of it does not
	// bring it back from the file.
	if err := again.Bind("room1", "alice", nil); err != nil {
		t.Fatal(err)
	}
	third, err := openKnownKeys(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := third.Bind("room2", "dave", []chat.Binding{{Key: []byte{6}, Seq: 2}}); err != nil {
		t.Fatal(err)
	}
	final, _ := openKnownKeys(path, nil)
	if got, _ := final.Load("room1"); len(got["alice"]) != 0 || len(got["bob"]) != 1 {
		t.Fatalf("after forgetting alice: %v", got)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openKnownKeys(path, nil); err == nil {
		t.Fatal("a broken file opens as an empty memory")
	}
}
