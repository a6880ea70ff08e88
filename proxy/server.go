package proxy

import (
	"fmt"
	gonet "net"
	"net/url"
	"strconv"
	"strings"
)

// Scheme is how a proxy server is spoken to.
type Scheme int

// Proxy schemes. SOCKS4a is SOCKS4 with the host name sent to the proxy
// (beyond Chromium, which has no 4a); SOCKS5 always sends host names.
const (
	SchemeInvalid Scheme = iota
	SchemeDirect
	SchemeHTTP
	SchemeHTTPS
	SchemeSOCKS4
	SchemeSOCKS4a
	SchemeSOCKS5
)

var schemeNames = [...]string{"invalid", "direct", "http", "https", "socks4", "socks4a", "socks5"}

// String is the URI scheme, e.g. "socks5".
func (s Scheme) String() string {
	if s >= 0 && int(s) < len(schemeNames) {
		return schemeNames[s]
	}
	return "invalid"
}

// DefaultPort is Chromium's default port for a proxy scheme: 80 for HTTP,
// 443 for HTTPS and 1080 for SOCKS.
func (s Scheme) DefaultPort() uint16 {
	switch s {
	case SchemeHTTP:
		return 80
	case SchemeHTTPS:
		return 443
	case SchemeSOCKS4, SchemeSOCKS4a, SchemeSOCKS5:
		return 1080
	}
	return 0
}

// IsSOCKS reports whether the scheme is one of the SOCKS versions.
func (s Scheme) IsSOCKS() bool { return s == SchemeSOCKS4 || s == SchemeSOCKS4a || s == SchemeSOCKS5 }

// IsHTTPLike reports whether the proxy speaks HTTP (in clear or over TLS).
func (s Scheme) IsHTTPLike() bool { return s == SchemeHTTP || s == SchemeHTTPS }

// Server is one proxy server, or DIRECT (Chromium's ProxyServer). Username
// and Password, when set, answer the proxy's authentication: Basic auth for
// HTTP proxies, RFC 1929 for SOCKS5, the user id for SOCKS4.
type Server struct {
	Scheme   Scheme
	Host     string
	Port     uint16
	Username string
	Password string
}

// Direct is the Server that stands for no proxy.
func Direct() Server { return Server{Scheme: SchemeDirect} }

// IsDirect reports whether s stands for no proxy.
func (s Server) IsDirect() bool { return s.Scheme == SchemeDirect }

// HasCredentials reports whether a user name or password was given.
func (s Server) HasCredentials() bool { return s.Username != "" || s.Password != "" }

// HostPort is "host:port", with brackets around IPv6 literals.
func (s Server) HostPort() string {
	return gonet.JoinHostPort(s.Host, strconv.Itoa(int(s.Port)))
}

// URI is the server as a URI without credentials, e.g.
// "socks5://proxy:1080", or "direct://".
func (s Server) URI() string {
	if s.IsDirect() {
		return "direct://"
	}
	return s.Scheme.String() + "://" + s.HostPort()
}

// String is the URI form; it never shows credentials.
func (s Server) String() string { return s.URI() }

// PACString is the server in PAC result form, as Chromium prints a
// resolved proxy list: "DIRECT", "PROXY host:port", "HTTPS host:port",
// "SOCKS host:port" (SOCKS4), "SOCKS4A host:port", "SOCKS5 host:port".
func (s Server) PACString() string {
	switch s.Scheme {
	case SchemeDirect:
		return "DIRECT"
	case SchemeHTTP:
		return "PROXY " + s.HostPort()
	case SchemeHTTPS:
		return "HTTPS " + s.HostPort()
	case SchemeSOCKS4:
		return "SOCKS " + s.HostPort()
	case SchemeSOCKS4a:
		return "SOCKS4A " + s.HostPort()
	case SchemeSOCKS5:
		return "SOCKS5 " + s.HostPort()
	}
	return ""
}

// redactURI hides the password of a URI that does not parse: everything
// between "://" and the last "@".
func redactURI(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		return s
	}
	return scheme + "://xxxxx@" + rest[at+1:]
}

// ParseServerURI parses a proxy URI such as "socks5://user:pass@host:1080",
// "https://proxy", "direct://" or a bare "host:port" (taken as
// defaultScheme). A missing port takes the scheme's default. "socks://"
// means SOCKS5, as in Chromium's URI form.
func ParseServerURI(s string, defaultScheme Scheme) (Server, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Server{}, fmt.Errorf("proxy: empty proxy URI")
	}
	if !strings.Contains(s, "://") {
		s = defaultScheme.String() + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		// url's error repeats the URI, password included.
		return Server{}, fmt.Errorf("proxy: bad proxy URI %q", redactURI(s))
	}
	shown := u.Redacted()
	var srv Server
	switch strings.ToLower(u.Scheme) {
	case "direct":
		return Direct(), nil
	case "http":
		srv.Scheme = SchemeHTTP
	case "https":
		srv.Scheme = SchemeHTTPS
	case "socks4":
		srv.Scheme = SchemeSOCKS4
	case "socks4a":
		srv.Scheme = SchemeSOCKS4a
	case "socks5", "socks5h", "socks":
		srv.Scheme = SchemeSOCKS5
	default:
		return Server{}, fmt.Errorf("proxy: unsupported proxy scheme %q", u.Scheme)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Server{}, fmt.Errorf("proxy: proxy URI %q must not have a path or query", shown)
	}
	srv.Host = u.Hostname()
	if srv.Host == "" {
		return Server{}, fmt.Errorf("proxy: proxy URI %q has no host", shown)
	}
	srv.Port = srv.Scheme.DefaultPort()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return Server{}, fmt.Errorf("proxy: bad port in proxy URI %q", shown)
		}
		srv.Port = uint16(n)
	}
	if u.User != nil {
		srv.Username = u.User.Username()
		srv.Password, _ = u.User.Password()
	}
	return srv, nil
}
