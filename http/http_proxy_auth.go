package http

import (
	"encoding/base64"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/proxy"
)

// basicAuthValue is the Proxy-Authorization value of RFC 7617 Basic
// credentials: "Basic " and base64("user:pass"), UTF-8 bytes as given.
func basicAuthValue(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// ProxyAuthCache remembers which HTTP proxies accepted our Basic
// credentials, so that later tunnels through them send Proxy-Authorization
// in their first CONNECT instead of paying a 407 round trip (and, with
// proxies that close the connection after a 407, a new TCP connection).
// It is the proxy half of Chromium's HttpAuthCache, reduced to the one
// identity a proxy.Server carries. Like everything of the stack it belongs
// to one loop.
type ProxyAuthCache struct {
	accepted map[string]struct{}
}

// NewProxyAuthCache returns an empty cache.
func NewProxyAuthCache() *ProxyAuthCache {
	return &ProxyAuthCache{accepted: make(map[string]struct{})}
}

// proxyAuthCache is the cache of the session's tunnel factory, so that
// tunnels and plain requests through one proxy learn from each other, as
// they share Chromium's HttpAuthCache. nil when the session has none.
func (s *Session) proxyAuthCache() *ProxyAuthCache {
	if s == nil || s.common == nil {
		return nil
	}
	if f, ok := s.common.Tunnels.(*TunnelJobFactory); ok {
		return f.AuthCache
	}
	return nil
}

// proxyAuthKey names a proxy together with its credentials: other
// credentials for the same proxy are a different entry.
func proxyAuthKey(s proxy.Server) string { return proxy.Chain{s}.Key() }

func (c *ProxyAuthCache) has(s proxy.Server) bool {
	if c == nil {
		return false
	}
	_, ok := c.accepted[proxyAuthKey(s)]
	return ok
}

func (c *ProxyAuthCache) add(s proxy.Server) {
	if c != nil {
		c.accepted[proxyAuthKey(s)] = struct{}{}
	}
}

func (c *ProxyAuthCache) remove(s proxy.Server) {
	if c != nil {
		delete(c.accepted, proxyAuthKey(s))
	}
}

// proxyAuth answers the 407 challenges of one HTTP proxy with the
// credentials of its proxy.Server: Chromium's HttpAuthController for
// AUTH_PROXY with Basic as the only scheme, one identity and no prompt.
// Where Chromium would ask the user, netfetch fails with
// net.ErrProxyAuthRequested.
type proxyAuth struct {
	server proxy.Server
	cache  *ProxyAuthCache
	// value is the Proxy-Authorization value to send, "" until a Basic
	// challenge was answered (or the cache said the proxy takes ours).
	value string
	// restart is set when a 407 was answered with credentials that have
	// not been sent yet: the request must be resent.
	restart bool
}

// newProxyAuth returns the auth state of a request through server; with a
// cache that knows the proxy takes our credentials, they are sent at once.
func newProxyAuth(server proxy.Server, cache *ProxyAuthCache) *proxyAuth {
	a := &proxyAuth{server: server, cache: cache}
	if server.HasCredentials() && cache.has(server) {
		a.value = basicAuthValue(server.Username, server.Password)
	}
	return a
}

// authorization is the Proxy-Authorization value to send, "" for none.
func (a *proxyAuth) authorization() string {
	if a == nil {
		return ""
	}
	return a.value
}

// takeRestart reports, once, that the last 407 was answered and the
// request must be resent with credentials.
func (a *proxyAuth) takeRestart() bool {
	r := a.restart
	a.restart = false
	return r
}

// accepted records that the proxy took the credentials sent.
func (a *proxyAuth) accepted() {
	if a.value != "" {
		a.cache.add(a.server)
	}
}

// authSchemesKnown are the schemes Chromium can answer. A tunnel whose 407
// offers none of them fails with ERR_PROXY_AUTH_UNSUPPORTED, as in
// HttpAuthController::HandleAuthChallenge; one that offers only schemes
// netfetch lacks (Digest, NTLM, Negotiate) is a challenge Chromium would
// take to the user, so it fails with ERR_PROXY_AUTH_REQUESTED.
var authSchemesKnown = [...]string{"basic", "digest", "ntlm", "negotiate"}

// handleChallenge decides what a 407 means. It returns OK when the request
// is to be resent with credentials (takeRestart then reports true), or the
// error to fail with:
//
//   - net.ErrProxyAuthRequested: no credentials, no Basic challenge, or
//     the credentials already sent were refused (the cache forgets them);
//   - net.ErrProxyAuthUnsupported: establishing a tunnel, and no challenge
//     of a known scheme at all.
func (a *proxyAuth) handleChallenge(h *ResponseHeaders, establishingTunnel bool) int {
	a.restart = false
	basic, known := false, false
	// Each Proxy-Authenticate line is one challenge whose scheme is its
	// first token: the header is never split on commas, as in Chromium.
	for _, v := range h.Values("Proxy-Authenticate") {
		scheme := challengeScheme(v)
		for _, k := range authSchemesKnown {
			if rhEqualFold(scheme, k) {
				known = true
			}
		}
		if rhEqualFold(scheme, "basic") {
			basic = true
		}
	}
	if !known && establishingTunnel {
		return int(net.ErrProxyAuthUnsupported)
	}
	if a.value != "" {
		// Our only identity was refused: forget it, there is nothing
		// else to try.
		a.value = ""
		a.cache.remove(a.server)
		return int(net.ErrProxyAuthRequested)
	}
	if !basic || !a.server.HasCredentials() {
		return int(net.ErrProxyAuthRequested)
	}
	a.value = basicAuthValue(a.server.Username, a.server.Password)
	a.restart = true
	return net.OK
}

// challengeScheme is the auth scheme of a challenge: its first token.
func challengeScheme(v string) string {
	i := 0
	for i < len(v) && rhIsLWS(v[i]) {
		i++
	}
	j := i
	for j < len(v) && !rhIsLWS(v[j]) && v[j] != ',' {
		j++
	}
	return v[i:j]
}
