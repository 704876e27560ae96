package server_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/webaas-chat/webaas-chat/webaas"
	"github.com/webaas-chat/webaas-chat/webaas/server"
	"github.com/webaas-chat/webaas-chat/wire"
)

// publicListener is a loopback listener that says it listens on a
// public address, as one on 0.0.0.0 or a LAN address would.
type publicListener struct{ net.Listener }

func (publicListener) Addr() net.Addr {
	return &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 11232}
}

func (p publicListener) dialAddr() string { return p.Listener.Addr().String() }

// TestLoopbackRefusesForeignHosts: a web page the user opens can send
// requests to a server on loopback, and DNS rebinding makes them
// same-origin. On loopback the server serves only requests addressed to a
// loopback name, with no Origin or a loopback one (or allowed names);
// listening publicly, it allows any origin as before.
func TestLoopbackRefusesForeignHosts(t *testing.T) {
	n := onBolt(t, func(c *server.Config) { c.AllowHosts = []string{"chat.example.org", "Team.Example.ORG."} })
	_, port, _ := net.SplitHostPort(n.addr)
	cases := []struct {
		name, host, origin string
		ok                 bool
	}{
		{"loopback address", "127.0.0.1:" + port, "", true},
		{"localhost", "localhost:" + port, "", true},
		{"localhost without a port", "localhost", "", true},
		{"localhost in capitals with a dot", "LocalHost.:" + port, "", true},
		{"a name under localhost", "app.localhost:" + port, "", true},
		{"another loopback address", "127.8.9.10:" + port, "", true},
		{"IPv6 loopback", "[::1]:" + port, "", true},
		{"an allowed name", "chat.example.org", "", true},
		{"an allowed name, any case", "team.example.org:" + port, "", true},
		{"a rebound name", "evil.example.com:" + port, "", false},
		{"a public address", "192.0.2.1:" + port, "", false},
		{"a name that starts like localhost", "localhost.evil.example:" + port, "", false},
		{"a loopback origin", "127.0.0.1:" + port, "http://localhost:3000", true},
		{"a loopback origin over https", "127.0.0.1:" + port, "https://127.0.0.1", true},
		{"an IPv6 loopback origin", "127.0.0.1:" + port, "http://[::1]:8080", true},
		{"an allowed origin", "chat.example.org", "https://chat.example.org", true},
		{"a foreign origin", "127.0.0.1:" + port, "http://evil.example.com", false},
		{"a foreign origin on an allowed host", "chat.example.org", "https://evil.example.com", false},
		{"an opaque origin", "127.0.0.1:" + port, "null", false},
		{"an origin that starts like localhost", "127.0.0.1:" + port, "http://localhost.evil.example", false},
	}
	hc := n.httpFrom("127.0.0.1")
	for _, c := range cases {
		for _, method := range []string{"POST", "OPTIONS"} {
			req, _ := http.NewRequest(method, n.url+"/transaction?action=begin", nil)
			req.Host = c.host
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if c.ok {
				if resp.StatusCode >= 300 {
					t.Errorf("%s: %s with Host %q Origin %q: HTTP %d %s; want it served", c.name, method, c.host, c.origin, resp.StatusCode, body)
				}
				continue
			}
			var e webaas.Error
			if json.Unmarshal(body, &e); resp.StatusCode != http.StatusForbidden || e.Code != wire.CodeBadParameter || !strings.Contains(e.Message, "--allow-host") {
				t.Errorf("%s: %s with Host %q Origin %q: HTTP %d %s; want 403 code 1011 naming --allow-host", c.name, method, c.host, c.origin, resp.StatusCode, body)
			}
		}
	}

	// A websocket upgrade is a request like the others.
	id, err := n.client("127.0.0.1").RegisterNotification(ctx, n.app, "test.Item", []string{"1"})
	if err != nil {
		t.Fatal(err)
	}
	wsURL := "ws://" + n.addr + "/notification?appID=" + n.app + "&notificationID=" + id
	for _, c := range []struct {
		name, host, origin string
		ok                 bool
	}{
		{"plain", "", "", true},
		{"a loopback origin", "", "http://localhost:5173", true},
		{"a rebound host", "evil.example.com:" + port, "", false},
		{"a foreign origin", "", "http://evil.example.com", false},
	} {
		h := http.Header{}
		if c.origin != "" {
			h.Set("Origin", c.origin)
		}
		ws, resp, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Host: c.host, HTTPHeader: h, HTTPClient: hc})
		switch {
		case c.ok && err != nil:
			t.Errorf("websocket %s: %v", c.name, err)
		case !c.ok && err == nil:
			ws.CloseNow()
			t.Errorf("websocket %s: upgraded; want 403", c.name)
		case !c.ok && (resp == nil || resp.StatusCode != http.StatusForbidden):
			t.Errorf("websocket %s: %v; want 403", c.name, err)
		case err == nil:
			ws.CloseNow()
		}
	}

	anything := onBolt(t, func(c *server.Config) { c.AllowHosts = []string{"*"} })
	req, _ := http.NewRequest("POST", anything.url+"/transaction?action=begin", nil)
	req.Host = "evil.example.com"
	req.Header.Set("Origin", "http://evil.example.com")
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("with --allow-host '*', a foreign host and origin: %v %v; want served", resp, err)
	}
}

// TestPublicListenerAllowsAnyOrigin: on a public address, browser clients
// of any origin work, as they always did.
func TestPublicListenerAllowsAnyOrigin(t *testing.T) {
	n := startOn(t, openBolt(t), publicListener{loopbackListener(t)})
	req, _ := http.NewRequest("POST", n.url+"/transaction?action=begin", nil)
	req.Host = "chat.example.com"
	req.Header.Set("Origin", "https://app.example.net")
	resp, err := n.httpFrom("127.0.0.1").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("public listener, foreign origin: HTTP %d, Access-Control-Allow-Origin %q; want 200 and *", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
