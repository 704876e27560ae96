package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/webaas-chat/webaas-chat/config"
	"github.com/webaas-chat/webaas-chat/ui"
	"github.com/webaas-chat/webaas-chat/ui/common"
)

// configHome gives the test a config directory of its own, with text as
// its config.toml ("": none), and returns the file's path.
func configHome(t *testing.T, text string) string {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	path, err := configPath()
	if err != nil {
		t.Fatal(err)
	}
	if text != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// configRun runs webaas-chat config; the file's path in what it prints
// is replaced by $CONFIG.
func configRun(t *testing.T, path string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"config"}, args...), strings.NewReader(""), &out, &errOut)
	dir := filepath.Dir(path)
	return strings.ReplaceAll(out.String(), dir, "$CONFIG"), strings.ReplaceAll(errOut.String(), dir, "$CONFIG"), err
}

func TestGoldenConfigDefaults(t *testing.T) {
	path := configHome(t, "")
	out, errOut, err := configRun(t, path)
	if err != nil || errOut != "" {
		t.Fatalf("%v, stderr %q", err, errOut)
	}
	golden.RequireEqual(t, out)
}

const sampleConfig = `nick = "alice"
server = "http://chat.example.org:11232"
rooms = ["0f8fad5b-d9cb-469f-a165-70867728950e"]
notify = "off"
bell = false
timestamp = "Jan 2 15:04"
theme = "light"

[keys]
send = ["ctrl+s"]
select = ["alt+up", "ctrl+e"]

[colors]
nicks = ["#ff8800", "12"]
mention = "#ff0000"
`

// TestGoldenConfigFromFile: the file's settings over the defaults; what
// it prints, copied into the file, is the same configuration.
func TestGoldenConfigFromFile(t *testing.T) {
	path := configHome(t, sampleConfig)
	out, errOut, err := configRun(t, path)
	if err != nil || errOut != "" {
		t.Fatalf("%v, stderr %q", err, errOut)
	}
	golden.RequireEqual(t, out)

	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	again, errOut, err := configRun(t, path)
	if err != nil || errOut != "" {
		t.Fatalf("the printed config, read back: %v, stderr %q", err, errOut)
	}
	if again != out {
		t.Fatalf("the printed config, read back, prints differently:\n%s", again)
	}
}

// TestConfigCommandSaysMistakes: each mistake on stderr with its line,
// exit status 1 (not a usage error), the configuration still printed.
func TestConfigCommandSaysMistakes(t *testing.T) {
	path := configHome(t, "nick = \"alice\"\ntheme = \"solarized\"\n[keys]\nsend = [\"ctrl+s\"]\nfrobnicate = [\"f5\"]\n")
	out, errOut, err := configRun(t, path)
	if err == nil || !strings.Contains(err.Error(), "2 mistakes in $CONFIG") && !strings.Contains(err.Error(), "2 mistakes in "+path) {
		t.Fatalf("err %v", err)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Fatal("a mistake in the file is a usage error (exit 2)")
	}
	want := "webaas-chat: $CONFIG/config.toml:2: theme: \"solarized\": want \"default\", \"light\" or \"dark\"\n" +
		"webaas-chat: $CONFIG/config.toml:5: keys: no such key binding \"frobnicate\" (webaas-chat config lists them)\n"
	if errOut != want {
		t.Fatalf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
	for _, line := range []string{`nick = "alice"`, `theme = "default"`, `send = ["ctrl+s"] # send`} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("the output has no %q", line)
		}
	}
	if _, _, err := configRun(t, path, "extra"); !errors.As(err, &ue) {
		t.Fatalf("an argument: %v", err)
	}
}

// TestConfigAgreesWithTheChat: the config file takes the themes the
// chat's styles take, no more, no fewer (colours it checks with the
// chat's own rule, common.CheckColor).
func TestConfigAgreesWithTheChat(t *testing.T) {
	if !slices.Equal(config.Themes, common.ThemeNames) {
		t.Fatalf("config themes %v, the chat's %v", config.Themes, common.ThemeNames)
	}
}

func TestConfigNotice(t *testing.T) {
	_, errs := config.Parse("/home/someone/.config/webaas-chat/config.toml", []byte("bell = 1\ntheme = 2\n"), config.Options{})
	got := configNotice(errs)
	if got != "config.toml:1: bell: want true or false, not the number 1 (1 more: webaas-chat config)" {
		t.Fatalf("notice %q", got)
	}
	if configNotice(nil) != "" {
		t.Fatal("a notice with no mistakes")
	}
}

// TestMergeRooms: the config's rooms first, then the remembered ones,
// each room once, keeping what the last launch remembers of it.
func TestMergeRooms(t *testing.T) {
	const a, b, c = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da"
	invB := "webaas-chat+http://h:1/" + b
	got := mergeRooms([]string{c, invB, c}, []ui.RoomEntry{{Invite: a, Nick: "al"}, {Invite: b, Nick: "bo", NotifyAll: true}})
	want := []ui.RoomEntry{{Invite: c}, {Invite: b, Nick: "bo", NotifyAll: true}, {Invite: a, Nick: "al"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := mergeRooms(nil, want); !reflect.DeepEqual(got, want) {
		t.Fatalf("no config rooms: %+v", got)
	}
}
