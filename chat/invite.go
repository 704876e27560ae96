package chat

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ErrBadInvite says a string is neither an invite nor a room code.
var ErrBadInvite = errors.New("not an invite or a room code")

// invitePrefix starts an invite's scheme; the server's own scheme
// (http or https) follows the plus.
const invitePrefix = "webaas-chat+"

// An Invite is everything a person needs to join a room, as one string:
//
//	webaas-chat+http://127.0.0.1:11232/ROOM-CODE#SECRET
//
// the server's URL with the room code as the last path segment and, for
// an end-to-end encrypted room, the room's secret (base64url) as the
// fragment, which a browser or proxy never sends to a server. A bare
// room code is an invite too, to the server at hand, of a room in the
// clear.
type Invite struct {
	Server string // the server's URL; empty: whichever server is in use
	Code   string
	Secret []byte // nil: a room in the clear
}

// String is the invite as one string (a bare room code when there is no
// server and no secret).
func (inv Invite) String() string {
	if inv.Server == "" && inv.Secret == nil {
		return inv.Code
	}
	s := invitePrefix + strings.TrimRight(inv.Server, "/") + "/" + inv.Code
	if inv.Secret != nil {
		s += "#" + base64.RawURLEncoding.EncodeToString(inv.Secret)
	}
	return s
}

// ParseInvite reads an invite or a bare room code. White space anywhere
// is ignored: an invite has none, and one copied from a terminal where
// it was wrapped over lines has line breaks.
func ParseInvite(s string) (Invite, error) {
	s = strings.Join(strings.Fields(s), "")
	if code := strings.ToLower(s); codeRE.MatchString(code) { // codes are read back in any case
		return Invite{Code: code}, nil
	}
	if !strings.HasPrefix(s, invitePrefix) {
		return Invite{}, fmt.Errorf("%w: want a room code or a string that starts with %q", ErrBadInvite, invitePrefix)
	}
	u, err := url.Parse(strings.TrimPrefix(s, invitePrefix))
	if err != nil {
		// Not url's words: they quote the string, key and all.
		return Invite{}, fmt.Errorf("%w: not a URL after %q", ErrBadInvite, invitePrefix)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return Invite{}, fmt.Errorf("%w: want %shttp(s)://host:port/ROOM-CODE#KEY", ErrBadInvite, invitePrefix)
	}
	dir, code := "", u.Path
	if i := strings.LastIndexByte(u.Path, '/'); i >= 0 {
		// "host//CODE" names the server "host", as String prints it.
		dir, code = strings.TrimRight(u.Path[:i], "/"), u.Path[i+1:]
	}
	if !codeRE.MatchString(code) {
		return Invite{}, fmt.Errorf("%w: %q is not a room code", ErrBadInvite, code)
	}
	inv := Invite{Server: (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: dir}).String(), Code: code}
	if u.Fragment != "" {
		secret, err := base64.RawURLEncoding.DecodeString(u.Fragment)
		if err != nil || len(secret) != SecretSize {
			return Invite{}, fmt.Errorf("%w: its key is damaged (want %d bytes in base64url)", ErrBadInvite, SecretSize)
		}
		inv.Secret = secret
	}
	return inv, nil
}

// SameServer reports whether two server URLs name one server (a trailing
// slash, or the letter case of scheme and host, aside).
func SameServer(a, b string) bool {
	ua, errA := url.Parse(strings.TrimRight(a, "/"))
	ub, errB := url.Parse(strings.TrimRight(b, "/"))
	return errA == nil && errB == nil && strings.EqualFold(ua.Scheme, ub.Scheme) &&
		strings.EqualFold(ua.Host, ub.Host) && ua.Path == ub.Path
}
