package http_test

import (
	"bufio"
	"crypto/x509"
	"fmt"
	"io"
	gonet "net"
	nethttp "net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/socket"
)

// Interop with a real HTTP proxy, tinyproxy: CONNECT tunnels driven by the
// tunnel job, and whole requests (http:// as absolute URIs, https://
// through a tunnel) through a Session.

func tinyproxyServer(t *testing.T, tp *interop.Tinyproxy, user, pass string) proxy.Server {
	t.Helper()
	s, err := proxy.ParseServerURI(tp.URL(), proxy.SchemeHTTP)
	if err != nil {
		t.Fatal(err)
	}
	s.Username, s.Password = user, pass
	return s
}

func originPort(t *testing.T, addr string) int {
	_, p, err := gonet.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestTinyproxyTunnel(t *testing.T) {
	origin := newEchoOrigin(t)
	web := testserver.NewHTTP(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path)
	}))
	webAddr := strings.TrimPrefix(web.URL, "http://")
	tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{
		ConnectPorts: []int{originPort(t, origin.Addr), originPort(t, webAddr)},
	})
	e := newTunnelEnv(t, netlog.Default)

	rv, s := e.connect(t, tinyproxyServer(t, tp, "", ""), origin.Addr)
	wantRV(t, rv, net.OK)
	writeAll(t, e.loop, s, []byte("through tinyproxy"))
	if got := readN(t, e.loop, s, 17); string(got) != "through tinyproxy" {
		t.Fatalf("echo %q", got)
	}

	// HTTP/1.1 over the tunnel, by hand.
	rv, s = e.connect(t, tinyproxyServer(t, tp, "", ""), webAddr)
	wantRV(t, rv, net.OK)
	writeAll(t, e.loop, s, []byte("GET /tunnelled HTTP/1.1\r\nHost: "+webAddr+"\r\nConnection: close\r\n\r\n"))
	raw := readAll(t, e.loop, s)
	resp, err := nethttp.ReadResponse(bufio.NewReader(strings.NewReader(raw)), nil)
	if err != nil {
		t.Fatalf("response through the tunnel: %v\n%s", err, raw)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "hello /tunnelled" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}

	// A port tinyproxy does not allow: its 403 fails the tunnel.
	rv, _ = e.connect(t, tinyproxyServer(t, tp, "", ""), "127.0.0.1:9")
	wantRV(t, rv, net.ErrTunnelConnectionFailed)
}

func TestTinyproxyTunnelBasicAuth(t *testing.T) {
	origin := newEchoOrigin(t)
	tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{Username: "netfetch", Password: "s3cret.pw"})
	e := newTunnelEnv(t, netlog.Default)

	// tinyproxy closes the connection after its 407: the credentials go
	// out on a second one.
	rv, s := e.connect(t, tinyproxyServer(t, tp, "netfetch", "s3cret.pw"), origin.Addr)
	wantRV(t, rv, net.OK)
	writeAll(t, e.loop, s, []byte("authenticated"))
	if got := readN(t, e.loop, s, 13); string(got) != "authenticated" {
		t.Fatalf("echo %q", got)
	}
	if n := len(e.rec.Find(netlog.EventHTTPTransactionTunnelSendRequest, netlog.PhaseBegin, 0)); n != 2 {
		t.Errorf("%d CONNECTs, want 2", n)
	}

	// No credentials: the 407 stands.
	rv, _ = e.connect(t, tinyproxyServer(t, tp, "", ""), origin.Addr)
	wantRV(t, rv, net.ErrProxyAuthRequested)

	// A wrong password: tinyproxy answers 401, not 407, which a tunnel
	// takes as a refusal.
	rv, _ = e.connect(t, tinyproxyServer(t, tp, "netfetch", "wrong"), origin.Addr)
	wantRV(t, rv, net.ErrTunnelConnectionFailed)
}

// Whole requests through tinyproxy with a Session: http:// goes as an
// absolute-URI request, https:// through a CONNECT tunnel with TLS to the
// origin inside it.
func TestTinyproxySession(t *testing.T) {
	web := testserver.NewHTTP(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "%s %s via %q", r.Method, r.URL.Path, r.Header.Get("Via"))
	}))
	tlsWeb := httptest.NewTLSServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "secure %s", r.URL.Path)
	}))
	t.Cleanup(tlsWeb.Close)
	roots := x509.NewCertPool()
	roots.AddCert(tlsWeb.Certificate())

	for _, tc := range []struct {
		name       string
		user, pass string // tinyproxy's
		sendUser   string // ours
		sendPass   string
		status     int
		err        net.Error
	}{
		{name: "open"},
		{name: "basic auth", user: "netfetch", pass: "pw", sendUser: "netfetch", sendPass: "pw"},
		{name: "no credentials", user: "netfetch", pass: "pw", err: net.ErrProxyAuthRequested},
		// tinyproxy's 401 to a plain request is a response like any
		// other; to a CONNECT it is a refusal.
		{name: "wrong password", user: "netfetch", pass: "pw", sendUser: "netfetch", sendPass: "nope", status: 401, err: net.ErrTunnelConnectionFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{Username: tc.user, Password: tc.pass})
			loop := net.NewLoop()
			nl := netlog.New()
			session := http.NewSession(http.SessionParams{
				Loop: loop, NetLog: nl, Resolver: dns.NewSystemResolver(loop),
				ProxyService: proxy.NewFixedService(tinyproxyServer(t, tp, tc.sendUser, tc.sendPass), keepLoopback(t)),
				SSL:          &socket.SSLConfig{RootCAs: roots},
				UserAgent:    testUserAgent,
			})
			e := &env{loop: loop, nl: nl, session: session, layer: http.NewNetworkLayer(session)}
			t.Cleanup(func() {
				loop.PostAndWait(session.Close)
				loop.Shutdown()
			})

			r := e.get(t, web.URL+"/plain")
			switch {
			case tc.status != 0:
				if r.err != nil || r.resp.Headers.StatusCode() != tc.status {
					t.Errorf("http://: err %v, want status %d", r.err, tc.status)
				}
			case tc.err != 0:
				wantErr(t, "http://", r.err, tc.err)
			default:
				if r.err != nil || !strings.HasPrefix(string(r.body), "GET /plain via ") || !strings.Contains(string(r.body), "tinyproxy") {
					t.Errorf("http://: err %v body %q", r.err, r.body)
				}
			}

			r = e.get(t, tlsWeb.URL+"/tls")
			if tc.err != 0 {
				wantErr(t, "https://", r.err, tc.err)
				return
			}
			if r.err != nil || string(r.body) != "secure /tls" {
				t.Errorf("https://: err %v body %q", r.err, r.body)
			}
		})
	}
}

// readAll reads s to its end on the loop.
func readAll(t *testing.T, loop *net.Loop, s socket.StreamSocket) string {
	t.Helper()
	var b strings.Builder
	deadline := time.Now().Add(nettest.HangGuard)
	for time.Now().Before(deadline) {
		chunk, eof := readSome(t, loop, s)
		b.Write(chunk)
		if eof {
			return b.String()
		}
	}
	t.Fatal("read hangs")
	return ""
}

// readSome does one Read on the loop.
func readSome(t *testing.T, loop *net.Loop, s socket.StreamSocket) ([]byte, bool) {
	t.Helper()
	type res struct {
		b  []byte
		rv int
	}
	done := make(chan res, 1)
	buf := make([]byte, 4096)
	loop.Post(func() {
		rv := s.Read(buf, func(rv int) { done <- res{buf, rv} })
		if rv != net.IOPending {
			done <- res{buf, rv}
		}
	})
	select {
	case r := <-done:
		if r.rv < 0 {
			t.Fatalf("read: %v", net.Error(r.rv))
		}
		return append([]byte(nil), r.b[:r.rv]...), r.rv == 0
	case <-time.After(nettest.HangGuard):
		t.Fatal("read hangs")
		return nil, true
	}
}
