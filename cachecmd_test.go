package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webaas-chat/webaas-chat/msgcache"
)

// `webaas-chat cache` says where the cache is and what it holds; `cache
// clear` deletes the file, and says so while a chat holds it.
func TestCacheCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t.Setenv("XDG_DATA_HOME", data)
	dir := filepath.Join(data, "webaas-chat", "cache")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"cache"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), filepath.Join(dir, msgcache.FileName)) || !strings.Contains(out.String(), "0 rooms, 0 messages") {
		t.Fatalf("cache printed %q", out.String())
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache directory: %v %v", fi, err)
	}

	held, err := msgcache.Open(dir, msgcache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"cache", "clear"}, nil, &out, &errOut); !errors.Is(err, msgcache.ErrInUse) {
		t.Fatalf("clear while a chat holds it: %v", err)
	}
	held.Close()
	if err := run(context.Background(), []string{"cache", "clear"}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, msgcache.FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after clear: %v", err)
	}
	for _, args := range [][]string{{"cache", "frob"}, {"cache", "show", "extra"}, {"cache", "--bogus"}} {
		if err := run(context.Background(), args, nil, &out, &errOut); !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
