package server_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/webaas/server/servertest"
)

// compatPackages is what TestCompatOldClients needs; CI installs them.
const compatPackages = "apt-get install -y python3-requests python3-websockets python3-protobuf node-ws node-axios"

// compatClient is one old-style client script in testdata/compat and how to
// find an interpreter that can run it.
type compatClient struct {
	name   string
	script string
	interp []string // candidates, first usable wins
	probe  []string // arguments that exit 0 when the client's modules load
	env    []string
}

// TestCompatOldClients runs WeBaaS clients written the way the original
// service's Python (requests + websockets) and JavaScript (axios + ws)
// clients were against a real server; the scripts check the contract step
// by step and exit non-zero on the first difference.
func TestCompatOldClients(t *testing.T) {
	script := func(name string) string {
		p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compat", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Candidate interpreters: fixed paths, then what PATH finds.
	interps := func(fixed string, names ...string) []string {
		list := []string{fixed}
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil && p != fixed {
				list = append(list, p)
			}
		}
		return list
	}
	// Debian's node modules live in /usr/share/nodejs, which a node not
	// built by Debian does not search.
	nodePath := "/usr/share/nodejs"
	if p := os.Getenv("NODE_PATH"); p != "" {
		nodePath = p + string(os.PathListSeparator) + nodePath
	}
	clients := []compatClient{{
		name:   "python",
		script: script("old_client.py"),
		// Debian's python3-* modules are importable by /usr/bin/python3,
		// not necessarily by a python3 earlier on PATH (pyenv and such).
		interp: interps("/usr/bin/python3", "python3"),
		probe:  []string{"-c", "import requests, websockets, google.protobuf"},
		env:    []string{"PYTHONDONTWRITEBYTECODE=1"},
	}, {
		name:   "javascript",
		script: script("old_client.js"),
		interp: interps("/usr/bin/node", "node", "nodejs"),
		probe:  []string{"-e", "require('ws'); require('axios')"},
		env:    []string{"NODE_PATH=" + nodePath},
	}}

	// A small page, so the scripts' range scans take several pages.
	srv := servertest.Start(t, func(c *server.Config) { c.PageSize = 3 })
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			interp := c.find()
			if interp == "" {
				msg := "no interpreter among [" + strings.Join(c.interp, " ") + "] loads the " + c.name + " client's modules; enable this test with: " + compatPackages
				if os.Getenv("CI") == "true" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, interp, c.script, srv.URL())
			cmd.Env = append(os.Environ(), c.env...)
			cmd.WaitDelay = 5 * time.Second
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("%s %s timed out; output so far:\n%s", interp, filepath.Base(c.script), out)
			}
			if err != nil {
				t.Fatalf("%s %s: %v; output:\n%s", interp, filepath.Base(c.script), err, out)
			}
			t.Logf("%s %s:\n%s", interp, filepath.Base(c.script), out)
		})
	}
}

// find returns the first candidate interpreter that loads the modules.
func (c compatClient) find() string {
	for _, p := range c.interp {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, p, c.probe...)
		cmd.Env = append(os.Environ(), c.env...)
		err := cmd.Run()
		cancel()
		if err == nil {
			return p
		}
	}
	return ""
}
