package server

// Who a client is, for the limits that count per client.

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientOf names the client of r: the address in Config.ClientIPHeader
// when the server is told to trust one, else the connection's remote
// address. See clientKey.
func (s *Server) clientOf(r *http.Request) string {
	if h := s.cfg.ClientIPHeader; h != "" {
		if vs := r.Header.Values(h); len(vs) > 0 {
			// X-Forwarded-For lists every hop: the last address is the one
			// the nearest proxy, the trusted one, added.
			last := vs[len(vs)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
				return clientKey(ip)
			}
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return clientKey(ap.Addr())
	}
	return r.RemoteAddr
}

// clientKey is what the per-client limits count by: an IPv4 address, or
// the /64 an IPv6 address is in (one host commonly has a whole /64, and
// could otherwise take a new address for each connection).
func clientKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() && !ip.IsLoopback() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
