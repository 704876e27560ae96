package main

import (
	"os"
	"path/filepath"
	"runtime"
)

const appDirName = "webaas-chat"

// dataDir is where the embedded server keeps its data:
// $XDG_DATA_HOME/webaas-chat (~/.local/share/webaas-chat) on Linux and
// other Unix, ~/Library/Application Support/webaas-chat on macOS and
// %LocalAppData%\webaas-chat on Windows. os has UserConfigDir and
// UserCacheDir but no data dir, hence this.
func dataDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, appDirName), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", appDirName), nil
	default:
		if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, appDirName), nil
		}
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", appDirName), nil
}

// stateDir is where logs go: $XDG_STATE_HOME/webaas-chat
// (~/.local/state/webaas-chat) on Unix, the user cache dir elsewhere.
func stateDir() (string, error) {
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
			return filepath.Join(d, appDirName), nil
		}
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".local", "state", appDirName), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, appDirName), nil
}

// configDir is where the chat remembers the last room and nickname.
func configDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, appDirName), nil
}
