package http_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// These tests send http:// requests through an HTTP proxy the way
// Chromium does, without a tunnel: absolute-URI request lines,
// Proxy-Connection, and one resend with Basic credentials after a 407.

// newProxiedEnv is newEnv with every URL (loopback included) sent through
// server.
func newProxiedEnv(t *testing.T, server proxy.Server) *env {
	t.Helper()
	loop := net.NewLoop()
	nl := netlog.New()
	session := http.NewSession(http.SessionParams{
		Loop: loop, NetLog: nl, Resolver: dns.NewSystemResolver(loop),
		ProxyService: proxy.NewFixedService(server, keepLoopback(t)),
	})
	e := &env{loop: loop, nl: nl, session: session, layer: http.NewNetworkLayer(session)}
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() {
			loop.PostAndWait(session.Close)
			loop.Shutdown()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(hangGuard):
			t.Error("the loop is blocked: closing the session hangs")
		}
	})
	return e
}

// forwardProxy answers each request on a connection with the next of
// replies (the last one repeats), recording the request heads; a reply
// ending the connection ("Connection: close") closes it.
func forwardProxy(t *testing.T, replies ...string) *scriptedProxy {
	return newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		for i := 0; ; i++ {
			h, err := p.readConnect(c, n)
			if err != nil {
				return
			}
			if cl, ok := h.get("Content-Length"); ok {
				if _, err := c.R.Discard(atoiOr0(cl)); err != nil {
					return
				}
			}
			// Which reply: count the heads seen so far, all connections.
			k := len(p.Heads()) - 1
			reply := replies[min(k, len(replies)-1)]
			c.WriteString(reply)
			if strings.Contains(reply, "Connection: close") {
				return
			}
		}
	})
}

func atoiOr0(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

const proxiedOK = "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nproxied"

func TestHTTPProxyAbsoluteURIRequests(t *testing.T) {
	p := forwardProxy(t, proxiedOK)
	e := newProxiedEnv(t, p.server())
	for _, tc := range []struct {
		url, line, host string
	}{
		// No user info or fragment; the default port is dropped.
		{"http://user:pw@origin.test:8080/path?q=1#frag", "GET http://origin.test:8080/path?q=1 HTTP/1.1", "origin.test:8080"},
		{"http://origin.test:80/x", "GET http://origin.test/x HTTP/1.1", "origin.test"},
		{"http://[::1]:8081", "GET http://[::1]:8081/ HTTP/1.1", "[::1]:8081"},
	} {
		r := e.get(t, tc.url)
		if r.err != nil || string(r.body) != "proxied" {
			t.Fatalf("%s: err %v body %q", tc.url, r.err, r.body)
		}
		heads := p.Heads()
		h := heads[len(heads)-1]
		if h.line != tc.line {
			t.Errorf("%s: request line %q, want %q", tc.url, h.line, tc.line)
		}
		want := []string{"Host: " + tc.host, "Proxy-Connection: keep-alive"}
		if got := h.fields[:min(2, len(h.fields))]; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: headers %q, want first %q", tc.url, h.fields, want)
		}
		if v, ok := h.get("Connection"); ok {
			t.Errorf("%s: Connection: %s sent to a proxy", tc.url, v)
		}
	}
	// Sockets are pooled per destination, as in Chromium: one connection
	// to the proxy each, kept alive for the next request.
	if r := e.get(t, "http://origin.test:8080/again"); r.err != nil {
		t.Fatal(r.err)
	}
	if n := p.Accepted(); n != 3 {
		t.Errorf("%d connections to the proxy, want 3", n)
	}
}

func TestHTTPProxyAuthRestartSameConnection(t *testing.T) {
	p := forwardProxy(t,
		"HTTP/1.1 407 Proxy Authentication Required\r\n"+challenge+"Content-Length: 12\r\n\r\nlog in first",
		proxiedOK)
	e := newProxiedEnv(t, withCreds(p.server()))
	rec := nettest.NewRecorder(e.nl, netlog.Default)
	r := e.fetch(t, "POST", "http://origin.test/form", http.NewBytesUpload([]byte("a=1")))
	if r.err != nil || r.resp.Headers.StatusCode() != 200 || string(r.body) != "proxied" {
		t.Fatalf("err %v body %q", r.err, r.body)
	}
	checkAuthFlow(t, p, []int{0, 0})
	for _, h := range p.Heads() {
		if h.line != "POST http://origin.test/form HTTP/1.1" {
			t.Errorf("request line %q", h.line)
		}
		if cl, _ := h.get("Content-Length"); cl != "3" {
			t.Errorf("Content-Length %q: the body is sent again", cl)
		}
	}
	// The 407 body was drained as Chromium logs it, and the credentials
	// stay out of a Default-mode log.
	if n := len(rec.Find(netlog.EventHTTPTransactionDrainBodyForAuthRestart, netlog.PhaseBegin, 0)); n == 0 {
		t.Error("no HTTP_TRANSACTION_DRAIN_BODY_FOR_AUTH_RESTART")
	}
	sent := rec.Find(netlog.EventHTTPTransactionSendRequestHeaders, netlog.PhaseNone, 0)
	if len(sent) != 2 {
		t.Fatalf("%d requests logged, want 2", len(sent))
	}
	hs := fmt.Sprint(sent[1].Params["headers"])
	if !strings.Contains(hs, "Proxy-Authorization: [") || strings.Contains(hs, basic("user", "pa:ss")) {
		t.Errorf("logged headers %s", hs)
	}
	if line := sent[1].Params["line"]; line != "POST http://origin.test/form HTTP/1.1\r\n" {
		t.Errorf("logged line %q", line)
	}
}

func TestHTTPProxyAuthRestartNewConnection(t *testing.T) {
	p := forwardProxy(t,
		"HTTP/1.0 407 Proxy Authentication Required\r\n"+challenge+"Connection: close\r\n\r\n<html>denied</html>",
		proxiedOK)
	e := newProxiedEnv(t, withCreds(p.server()))
	r := e.get(t, "http://origin.test/")
	if r.err != nil || string(r.body) != "proxied" {
		t.Fatalf("err %v body %q", r.err, r.body)
	}
	checkAuthFlow(t, p, []int{0, 1})
}

func TestHTTPProxyAuthFailures(t *testing.T) {
	const reply407 = "HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + "Content-Length: 0\r\n\r\n"
	for _, tc := range []struct {
		name     string
		creds    bool
		requests int
	}{
		{"no credentials", false, 1},
		{"wrong credentials", true, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := forwardProxy(t, reply407)
			srv := p.server()
			if tc.creds {
				srv = withCreds(srv)
			}
			e := newProxiedEnv(t, srv)
			r := e.get(t, "http://origin.test/")
			wantErr(t, "407", r.err, net.ErrProxyAuthRequested)
			if n := len(p.Heads()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}

// A 407 from an origin reached directly (or through a tunnel) is not a
// proxy's and is refused, as in Chromium.
func TestUnexpectedProxyAuth(t *testing.T) {
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 407 Proxy Authentication Required\r\n"+challenge+"Content-Length: 0\r\n\r\n"))
	e := newEnv(t)
	r := e.get(t, s.URL)
	if !errors.Is(r.err, net.ErrUnexpectedProxyAuth) {
		t.Fatalf("got %v, want ERR_UNEXPECTED_PROXY_AUTH", r.err)
	}
}

// Once the proxy took our credentials, later requests (and tunnels) of
// the session send them up front, as Chromium's auth cache does.
func TestHTTPProxyAuthPreemptsAfterSuccess(t *testing.T) {
	p := forwardProxy(t,
		"HTTP/1.1 407 Proxy Authentication Required\r\n"+challenge+"Content-Length: 0\r\n\r\n",
		proxiedOK)
	e := newProxiedEnv(t, withCreds(p.server()))
	for i := 0; i < 2; i++ {
		if r := e.get(t, "http://origin.test/"+strings.Repeat("x", i)); r.err != nil {
			t.Fatal(r.err)
		}
	}
	heads := p.Heads()
	if len(heads) != 3 {
		t.Fatalf("%d requests, want 3 (challenge, answer, preemptive)", len(heads))
	}
	if got, _ := heads[2].get("Proxy-Authorization"); got != basic("user", "pa:ss") {
		t.Errorf("second request: Proxy-Authorization %q", got)
	}
}

// keepLoopback is the bypass list "<-loopback>", so test proxies on
// loopback are used for loopback origins.
func keepLoopback(t *testing.T) proxy.BypassRules {
	t.Helper()
	r, err := proxy.ParseBypassRules("<-loopback>")
	if err != nil {
		t.Fatal(err)
	}
	return r
}
