package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webaas-chat/webaas-chat/chat"
	"github.com/webaas-chat/webaas-chat/identity"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// identityRun runs webaas-chat identity with its config directory in a
// temporary HOME.
func identityRun(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"identity"}, args...), strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestIdentityCommand(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(t.TempDir(), "config"))

	fp, errOut, err := identityRun(t, "")
	if err != nil || !strings.Contains(errOut, "made a new identity") {
		t.Fatalf("first show: %v, stderr %q", err, errOut)
	}
	again, errOut, err := identityRun(t, "", "show")
	if err != nil || again != fp || errOut != "" {
		t.Fatalf("second show: %q %q %v, want %q", again, errOut, err, fp)
	}
	pub, _, err := identityRun(t, "", "public")
	if err != nil || !strings.HasPrefix(pub, "webaas-chat-key-v1:") {
		t.Fatalf("public: %q %v", pub, err)
	}
	if k, err := identity.ParsePublic(pub); err != nil || identity.Fingerprint(k)+"\n" != fp {
		t.Fatalf("the public key's fingerprint: %v, want %q", err, fp)
	}
	secret, _, err := identityRun(t, "", "export")
	if err != nil {
		t.Fatal(err)
	}

	// On another device: import refuses to replace an identity silently.
	other := filepath.Join(t.TempDir(), "id")
	if _, _, err := identityRun(t, "", "show", "--file", other); err != nil {
		t.Fatal(err)
	}
	if _, _, err := identityRun(t, secret, "import", "--file", other); !errors.Is(err, identity.ErrExists) {
		t.Fatalf("import over an identity: %v, want ErrExists", err)
	}
	got, _, err := identityRun(t, secret, "import", "--file", other, "--force")
	if err != nil || got != fp {
		t.Fatalf("import --force: %q %v, want %q", got, err, fp)
	}
	if shown, _, _ := identityRun(t, "", "show", "--file", other); shown != fp {
		t.Fatalf("after import, show says %q, want %q", shown, fp)
	}
	fi, err := os.Stat(other)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("imported file: %v, %v", fi.Mode(), err)
	}

	// Bad input: a clear error, nothing written.
	fresh := filepath.Join(t.TempDir(), "id")
	if _, _, err := identityRun(t, "not a key", "import", "--file", fresh); !errors.Is(err, identity.ErrBadIdentity) {
		t.Fatalf("import of garbage: %v", err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed import wrote a file")
	}
	var ue usageError
	if _, _, err := identityRun(t, "", "frobnicate"); !errors.As(err, &ue) {
		t.Fatalf("unknown action: %v, want a usage error", err)
	}
	if _, _, err := identityRun(t, "", "export", "--file", fresh); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("export with no identity: %v", err)
	}
}

// `send --nick alice` from bob's installation never shows as alice's:
// her own sends are verified, his under her nickname are not, in both
// forms of history.
func TestSendAsSomeoneElseIsUnverified(t *testing.T) {
	srv := servertest.Start(t)
	code := createRoom(t, srv.URL()).Code()
	dir := t.TempDir()
	aliceID, bobID := filepath.Join(dir, "alice"), filepath.Join(dir, "bob")
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, nil, &out, &errOut); err != nil {
			t.Fatalf("%v: %v (%s)", args, err, errOut.String())
		}
		return out.String()
	}
	cli("send", "--server", srv.URL(), "--room", code, "--nick", "alice", "--identity", aliceID, "hello from alice")
	cli("send", "--server", srv.URL(), "--room", code, "--nick", "alice", "--identity", bobID, "bob pretending")
	cli("send", "--server", srv.URL(), "--room", code, "--nick", "alice", "--identity", aliceID, "alice again")
	aliceFP := cli("identity", "show", "--file", aliceID)

	var got []jsonMessage
	for line := range strings.Lines(cli("history", "--server", srv.URL(), "--room", code, "--json")) {
		var m jsonMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := map[string]bool{"hello from alice": true, "bob pretending": false, "alice again": true}
	if len(got) != len(want) {
		t.Fatalf("history: %+v", got)
	}
	for _, m := range got {
		if m.Verified != want[m.Text] {
			t.Errorf("%q: verified %v (%s), want %v", m.Text, m.Verified, m.Trust, want[m.Text])
		}
		if m.Verified && m.Fingerprint+"\n" != aliceFP {
			t.Errorf("%q: fingerprint %q, want alice's %q", m.Text, m.Fingerprint, aliceFP)
		}
	}
	text := cli("history", "--server", srv.URL(), "--room", code)
	if !strings.Contains(text, "⚠ alice (unverified): bob pretending") || strings.Count(text, "unverified") != 1 {
		t.Errorf("history:\n%s", text)
	}
}

// An invite can come from $WEBAAS_ROOM instead of --room, so that its key
// is not in the process list; a bad one is a usage error that still says
// why (errors.Is sees chat.ErrBadInvite) and does not repeat the key.
func TestInviteFromTheEnvironment(t *testing.T) {
	srv := servertest.Start(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"room", "create", "--server", srv.URL()}, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	inv := strings.TrimSpace(out.String())
	if !strings.HasPrefix(inv, "webaas-chat+http://") || !strings.Contains(inv, "#") {
		t.Fatalf("room create printed %q, want an invite", inv)
	}
	t.Setenv("WEBAAS_ROOM", inv)
	out.Reset()
	if err := run(context.Background(), []string{"send", "--nick", "alice", "from the environment"}, nil, &out, &errOut); err != nil {
		t.Fatalf("send: %v (%s)", err, errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"history"}, nil, &out, &errOut); err != nil || !strings.Contains(out.String(), "alice: from the environment") {
		t.Fatalf("history: %q %v", out.String(), err)
	}
	bad := strings.Replace(inv, "#", "%zz#", 1)
	err := run(context.Background(), []string{"history", "--room", bad}, nil, &out, &errOut)
	var ue usageError
	if !errors.As(err, &ue) || !errors.Is(err, chat.ErrBadInvite) {
		t.Fatalf("a damaged invite: %v", err)
	}
	if secret := inv[strings.Index(inv, "#")+1:]; strings.Contains(err.Error(), secret) {
		t.Fatalf("the error repeats the key: %v", err)
	}
}
