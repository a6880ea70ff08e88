package proxy

import (
	"net/netip"
	"strings"
)

// ParsePACString parses a PAC script's result, such as
// "PROXY a:8080; SOCKS5 b; DIRECT" (Chromium's ProxyList::SetFromPacString).
// Invalid elements are skipped; when nothing valid is left the list is a
// single DIRECT, since a script that returns garbage must not block
// traffic.
func ParsePACString(s string) List {
	var l List
	for _, elem := range strings.Split(s, ";") {
		if c, ok := ParsePACElement(elem); ok {
			l = append(l, c)
		}
	}
	if len(l) == 0 {
		return List{DirectChain()}
	}
	return l
}

// ParsePACElement parses one element of a PAC result, "<TYPE> host[:port]"
// or "DIRECT", into a one-hop chain. Types are case-insensitive: PROXY
// (HTTP), HTTPS, SOCKS (SOCKS4, for compatibility with old scripts),
// SOCKS4 and SOCKS5; a missing port is the type's default. ok is false for
// anything else, QUIC included (Chromium no longer takes it from PAC).
func ParsePACElement(elem string) (Chain, bool) {
	// The type and the host are separated by spaces or tabs (HTTP's LWS).
	typ, rest := strings.Trim(elem, " \t"), ""
	if i := strings.IndexAny(typ, " \t"); i >= 0 {
		typ, rest = typ[:i], strings.Trim(typ[i:], " \t")
	}
	var scheme Scheme
	switch strings.ToLower(typ) {
	case "direct":
		if rest != "" {
			return nil, false
		}
		return DirectChain(), true
	case "proxy":
		scheme = SchemeHTTP
	case "https":
		scheme = SchemeHTTPS
	case "socks", "socks4":
		scheme = SchemeSOCKS4
	case "socks5":
		scheme = SchemeSOCKS5
	default:
		return nil, false
	}
	host, port, ok := parseHostPort(rest, scheme.DefaultPort())
	if !ok {
		return nil, false
	}
	return Chain{{Scheme: scheme, Host: host, Port: port}}, true
}

// parseHostPort parses "host[:port]" with IPv6 literals in brackets; the
// host comes back lower-case and without brackets, and a missing port is
// defaultPort. Spaces, credentials, paths and the like make it invalid.
func parseHostPort(s string, defaultPort uint16) (host string, port uint16, ok bool) {
	port = defaultPort
	if i := strings.LastIndexByte(s, ':'); i >= 0 && !strings.Contains(s[i:], "]") {
		n, err := parsePort(s[i+1:], 1)
		if err != nil {
			return "", 0, false
		}
		s, port = s[:i], uint16(n)
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", 0, false
		}
		return a.String(), port, true
	}
	if !validHostChars(s, false) {
		return "", 0, false
	}
	return strings.ToLower(s), port, true
}
