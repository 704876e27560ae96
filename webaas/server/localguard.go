package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/webaas-chat/webaas-chat/wire"
)

// localGuard serves a server listening on loopback: anything on the
// machine may reach it, including a web page the user opens, which can
// send it "simple" requests from any origin and, by DNS rebinding, make
// them same-origin. So it serves only requests addressed to a loopback
// name and coming from no origin (not a browser) or a loopback one, or
// from names added with --allow-host.
type localGuard struct {
	next  http.Handler
	allow map[string]bool // normalized names; "*" allows any
}

func newLocalGuard(next http.Handler, allow []string) *localGuard {
	g := &localGuard{next: next, allow: map[string]bool{}}
	for _, a := range allow {
		for _, name := range strings.Split(a, ",") {
			if name = normalHost(hostOnly(strings.TrimSpace(name))); name != "" {
				g.allow[name] = true
			}
		}
	}
	return g
}

func (g *localGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if why := g.refusal(r); why != "" {
		writeJSON(w, http.StatusForbidden, wire.ErrorBody{Code: wire.CodeBadParameter, Message: why})
		return
	}
	g.next.ServeHTTP(w, r)
}

// refusal says why r is refused, or "" to serve it.
func (g *localGuard) refusal(r *http.Request) string {
	if g.allow["*"] {
		return ""
	}
	if !g.local(hostOnly(r.Host)) {
		return fmt.Sprintf("Host %q is not a loopback name: this server listens on loopback and serves this machine only, not web pages; name other hosts with --allow-host", r.Host)
	}
	for _, origin := range r.Header.Values("Origin") {
		u, err := url.Parse(origin)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" || !g.local(u.Hostname()) {
			return fmt.Sprintf("Origin %q is not a loopback origin: this server listens on loopback and serves this machine only, not web pages; name other origins' hosts with --allow-host", origin)
		}
	}
	return ""
}

// local reports whether host (without a port) is a loopback name or
// address, or an allowed one.
func (g *localGuard) local(host string) bool {
	h := normalHost(host)
	switch {
	case h == "":
		return false
	case h == "localhost", strings.HasSuffix(h, ".localhost"): // RFC 6761: always loopback
		return true
	case g.allow[h]:
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

// hostOnly strips the port from a Host value, and the brackets from an
// IPv6 address.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// normalHost lower-cases a host name and drops a final dot.
func normalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }

// onLoopback reports whether a listener's address is a loopback one.
func onLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
