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
// readable only by you, rewritten whole on each new binding.
type knownKeys struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	keys map[string]map[string][]byte // room -> nick -> key
}

// openKnownKeys reads the file at path (none yet: nothing known). A
// file that does not parse is an error, not an empty memory: starting
// from nothing would let anyone be taken for anyone.
func openKnownKeys(path string, log *slog.Logger) (*knownKeys, error) {
	k := &knownKeys{path: path, log: log, keys: map[string]map[string][]byte{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known keys: %w", err)
	}
	if err := json.Unmarshal(b, &k.keys); err != nil {
		return nil, fmt.Errorf("known keys %s: %w (move it away to start afresh: every nickname is then learnt again)", path, err)
	}
	return k, nil
}

func (k *knownKeys) Load(room string) (map[string][]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[string][]byte, len(k.keys[room]))
	for nick, key := range k.keys[room] {
		out[nick] = key
	}
	return out, nil
}

func (k *knownKeys) Bind(room, nick string, key []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys[room] == nil {
		k.keys[room] = map[string][]byte{}
	}
	if _, ok := k.keys[room][nick]; ok {
		return nil // the first binding stands
	}
	k.keys[room][nick] = key
	err := k.save()
	if err != nil && k.log != nil {
		k.log.Warn("known keys: not saved", "err", err)
	}
	return err
}

// save writes the whole file anew (called with mu held).
func (k *knownKeys) save() error {
	b, err := json.Marshal(k.keys)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(k.path), 0o700); err != nil {
		return err
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, k.path)
}
