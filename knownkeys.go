package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/webaas-chat/webaas-chat/chat"
)

// knownKeysPath is where the chat remembers who signs as whom.
func knownKeysPath() string {
	d, err := configDir()
	if err != nil {
		return "known-keys.json" // no config directory: the working one
	}
	return filepath.Join(d, "known-keys.json")
}

// knownKeys is the chat's memory of which key each nickname signs with,
// room by room (chat.KeyStore): a JSON file in the config directory,
// readable only by you. Several chats (a TUI, a history --follow) may
// share it: each save reads the file again and merges into it, so one
// process does not drop what another learnt; two saving within the same
// moment can still lose one binding, which is then learnt again.
type knownKeys struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	keys knownFile
}

// knownFile is the file's form: room code -> nickname -> its bindings,
// oldest first (none: forgotten, which a merge must not undo).
type knownFile map[string]map[string][]chat.Binding

// openKnownKeys reads the file at path (none yet: nothing known). A
// file that does not parse is an error, not an empty memory: starting
// from nothing would let anyone be taken for anyone.
func openKnownKeys(path string, log *slog.Logger) (*knownKeys, error) {
	keys, err := readKnown(path)
	if err != nil {
		return nil, err
	}
	return &knownKeys{path: path, log: log, keys: keys}, nil
}

func readKnown(path string) (knownFile, error) {
	keys := knownFile{}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return keys, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known keys: %w", err)
	}
	if err := json.Unmarshal(b, &keys); err != nil {
		return nil, fmt.Errorf("known keys %s: %w (move it away to start afresh: every nickname is then learnt again)", path, err)
	}
	return keys, nil
}

func (k *knownKeys) Load(room string) (map[string][]chat.Binding, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string][]chat.Binding, len(k.keys[room]))
	for nick, b := range k.keys[room] {
		out[nick] = b
	}
	return out, nil
}

func (k *knownKeys) Bind(room, nick string, b []chat.Binding) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	put(k.keys, room, nick, b)
	err := k.save()
	if err != nil && k.log != nil {
		k.log.Warn("known keys: not saved", "err", err)
	}
	return err
}

// put sets a binding in f (a Room decides what to bind; the file keeps
// what it is told).
func put(f knownFile, room, nick string, b []chat.Binding) {
	if f[room] == nil {
		f[room] = map[string][]chat.Binding{}
	}
	f[room][nick] = b
}

// save merges what is in memory into the file as it is now (another
// chat may have written it since) and writes it anew, on disk before it
// replaces the old one. Called with mu held.
func (k *knownKeys) save() error {
	onDisk, err := readKnown(k.path)
	if err != nil {
		return err
	}
	for room, nicks := range onDisk {
		for nick, b := range nicks {
			if _, ok := k.keys[room][nick]; !ok {
				put(k.keys, room, nick, b)
			}
		}
	}
	data, err := json.Marshal(k.keys)
	if err != nil {
		return err
	}
	dir := filepath.Dir(k.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".known-keys-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), k.path)
}
