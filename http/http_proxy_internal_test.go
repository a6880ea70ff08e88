package http

import (
	"net/url"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/proxy"
)

// Unit tests of the proxy helpers that have no socket in them: the request
// line and headers, the route test, the challenge handling and the CONNECT
// request.

func fields(h RequestHeaders) string {
	var out []string
	for _, f := range h.Fields() {
		out = append(out, f.Name+": "+f.Value)
	}
	return strings.Join(out, "|")
}

func TestBuildRequestHeadersViaProxy(t *testing.T) {
	for _, tc := range []struct {
		url      string
		viaProxy bool
		auth     string
		extra    [][2]string
		line     string
		headers  string
	}{
		{url: "http://a.test/p?q", line: "GET /p?q HTTP/1.1\r\n", headers: "Host: a.test|Connection: keep-alive"},
		{url: "http://a.test/p?q", viaProxy: true, line: "GET http://a.test/p?q HTTP/1.1\r\n", headers: "Host: a.test|Proxy-Connection: keep-alive"},
		{url: "http://u:p@a.test:80#f", viaProxy: true, line: "GET http://a.test/ HTTP/1.1\r\n", headers: "Host: a.test|Proxy-Connection: keep-alive"},
		{url: "HTTP://a.test:8080/x", viaProxy: true, line: "GET http://a.test:8080/x HTTP/1.1\r\n", headers: "Host: a.test:8080|Proxy-Connection: keep-alive"},
		{url: "http://[::1]:81/", viaProxy: true, line: "GET http://[::1]:81/ HTTP/1.1\r\n", headers: "Host: [::1]:81|Proxy-Connection: keep-alive"},
		// Credentials come before the request's own headers, which may
		// replace them.
		{url: "http://a.test/", viaProxy: true, auth: "Basic eA==", extra: [][2]string{{"Accept", "*/*"}},
			line: "GET http://a.test/ HTTP/1.1\r\n", headers: "Host: a.test|Proxy-Connection: keep-alive|Proxy-Authorization: Basic eA==|Accept: */*"},
		{url: "http://a.test/", viaProxy: true, auth: "Basic eA==", extra: [][2]string{{"proxy-authorization", "Basic own"}},
			line: "GET http://a.test/ HTTP/1.1\r\n", headers: "Host: a.test|Proxy-Connection: keep-alive|Proxy-Authorization: Basic own"},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		info := &RequestInfo{Method: "GET", URL: u}
		for _, kv := range tc.extra {
			info.Headers.Add(kv[0], kv[1])
		}
		line, h := buildRequestHeaders(info, tc.viaProxy, tc.auth)
		if line != tc.line || fields(h) != tc.headers {
			t.Errorf("%s (proxy %v):\n got %q %q\nwant %q %q", tc.url, tc.viaProxy, line, fields(h), tc.line, tc.headers)
		}
	}
}

func TestUsingHTTPProxy(t *testing.T) {
	httpProxy := proxy.Server{Scheme: proxy.SchemeHTTP, Host: "p", Port: 3128}
	httpsProxy := proxy.Server{Scheme: proxy.SchemeHTTPS, Host: "p", Port: 443}
	socks := proxy.Server{Scheme: proxy.SchemeSOCKS5, Host: "s", Port: 1080}
	for _, tc := range []struct {
		url   string
		chain proxy.Chain // nil: direct
		want  bool
	}{
		{"http://a/", nil, false},
		{"http://a/", proxy.Chain{httpProxy}, true},
		{"http://a/", proxy.Chain{httpsProxy}, true},
		{"HTTP://a/", proxy.Chain{httpProxy}, true},
		{"https://a/", proxy.Chain{httpProxy}, false},
		{"ws://a/", proxy.Chain{httpProxy}, false},
		{"http://a/", proxy.Chain{socks}, false},
		{"http://a/", proxy.Chain{httpsProxy, httpProxy}, false},
	} {
		u, _ := url.Parse(tc.url)
		tx := &NetworkTransaction{info: &RequestInfo{Method: "GET", URL: u}}
		if tc.chain == nil {
			tx.proxyInfo = proxy.DirectInfo()
		} else {
			tx.proxyInfo.UseChain(tc.chain)
		}
		got, ok := tx.usingHTTPProxy()
		if ok != tc.want || (ok && got != tc.chain.Last()) {
			t.Errorf("%s via %v: %v %v", tc.url, tc.chain, got, ok)
		}
	}
	// No route yet (the stream was never asked for): not a proxy.
	tx := &NetworkTransaction{info: &RequestInfo{URL: &url.URL{Scheme: "http", Host: "a"}}}
	if _, ok := tx.usingHTTPProxy(); ok {
		t.Error("an empty proxy.Info counts as an HTTP proxy")
	}
}

func challengeHeaders(t *testing.T, lines ...string) *ResponseHeaders {
	t.Helper()
	h, err := ParseResponseHeaders([]byte("HTTP/1.1 407 Proxy Authentication Required\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestProxyAuthHandleChallenge(t *testing.T) {
	creds := proxy.Server{Scheme: proxy.SchemeHTTP, Host: "p", Port: 8080, Username: "Aladdin", Password: "open sesame"}
	noCreds := proxy.Server{Scheme: proxy.SchemeHTTP, Host: "p", Port: 8080}
	basicLine := `Proxy-Authenticate: Basic realm="r"`
	for _, tc := range []struct {
		name   string
		server proxy.Server
		lines  []string
		tunnel bool
		want   int
	}{
		{"basic", creds, []string{basicLine}, true, net.OK},
		{"basic, lower case, leading space", creds, []string{`Proxy-Authenticate:   basic realm=x`}, true, net.OK},
		{"basic among others", creds, []string{`Proxy-Authenticate: Negotiate`, basicLine}, true, net.OK},
		{"no credentials", noCreds, []string{basicLine}, true, int(net.ErrProxyAuthRequested)},
		{"digest only", creds, []string{`Proxy-Authenticate: Digest realm="r", nonce="n"`}, true, int(net.ErrProxyAuthRequested)},
		{"no challenge, tunnel", creds, nil, true, int(net.ErrProxyAuthUnsupported)},
		{"no challenge, no tunnel", creds, nil, false, int(net.ErrProxyAuthRequested)},
		{"unknown scheme, tunnel", creds, []string{`Proxy-Authenticate: Foo`}, true, int(net.ErrProxyAuthUnsupported)},
		{"WWW-Authenticate does not count", creds, []string{`WWW-Authenticate: Basic realm="r"`}, true, int(net.ErrProxyAuthUnsupported)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newProxyAuth(tc.server, nil)
			if got := a.handleChallenge(challengeHeaders(t, tc.lines...), tc.tunnel); got != tc.want {
				t.Fatalf("got %v, want %v", net.Error(got), net.Error(tc.want))
			}
			if tc.want != net.OK {
				if a.authorization() != "" || a.takeRestart() {
					t.Error("a refused challenge left credentials to send")
				}
				return
			}
			// RFC 7617's example.
			if got := a.authorization(); got != "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==" {
				t.Errorf("authorization %q", got)
			}
			if !a.takeRestart() || a.takeRestart() {
				t.Error("takeRestart must report the restart exactly once")
			}
			// The same challenge again: the credentials were refused.
			if got := a.handleChallenge(challengeHeaders(t, tc.lines...), tc.tunnel); got != int(net.ErrProxyAuthRequested) {
				t.Errorf("second challenge: %v", net.Error(got))
			}
			if a.authorization() != "" {
				t.Error("refused credentials are still sent")
			}
		})
	}
}

func TestProxyAuthCache(t *testing.T) {
	s := proxy.Server{Scheme: proxy.SchemeHTTP, Host: "p", Port: 8080, Username: "u", Password: "p"}
	c := NewProxyAuthCache()
	if newProxyAuth(s, c).authorization() != "" {
		t.Fatal("credentials sent before any challenge")
	}
	a := newProxyAuth(s, c)
	a.handleChallenge(challengeHeaders(t, `Proxy-Authenticate: Basic realm="r"`), true)
	a.accepted()
	if newProxyAuth(s, c).authorization() != basicAuthValue("u", "p") {
		t.Fatal("accepted credentials are not sent up front")
	}
	other := s
	other.Password = "q"
	if newProxyAuth(other, c).authorization() != "" {
		t.Fatal("other credentials for the same proxy are sent up front")
	}
	// Preempted credentials refused: forgotten.
	b := newProxyAuth(s, c)
	if rv := b.handleChallenge(challengeHeaders(t, `Proxy-Authenticate: Basic realm="r"`), true); rv != int(net.ErrProxyAuthRequested) {
		t.Fatalf("refused preemptive credentials: %v", net.Error(rv))
	}
	if newProxyAuth(s, c).authorization() != "" {
		t.Fatal("refused credentials stay in the cache")
	}
	// A nil cache is valid: no preemption, nothing recorded.
	var nilCache *ProxyAuthCache
	d := newProxyAuth(s, nilCache)
	d.handleChallenge(challengeHeaders(t, `Proxy-Authenticate: Basic realm="r"`), true)
	d.accepted()
}

func TestBuildTunnelRequest(t *testing.T) {
	line, h := buildTunnelRequest(tunnelEndpoint("2001:db8::1", 443), "", "")
	if line != "CONNECT [2001:db8::1]:443 HTTP/1.1\r\n" || fields(h) != "Host: [2001:db8::1]:443|Proxy-Connection: keep-alive" {
		t.Errorf("%q %q", line, fields(h))
	}
	line, h = buildTunnelRequest(tunnelEndpoint("[a.test]", 8443), "UA/1", "Basic x")
	if line != "CONNECT a.test:8443 HTTP/1.1\r\n" || fields(h) != "Host: a.test:8443|Proxy-Connection: keep-alive|User-Agent: UA/1|Proxy-Authorization: Basic x" {
		t.Errorf("%q %q", line, fields(h))
	}
}
