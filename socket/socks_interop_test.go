package socket

import (
	"fmt"
	gonet "net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/proxy"
)

// socksOrigin is the HTTP server the interop tests reach through a proxy.
// It listens on 127.0.0.1 and, when the host has IPv6 loopback, on [::1]
// with the same port, so that "localhost" works whichever address a proxy
// resolves it to first.
type socksOrigin struct {
	port uint16
	ipv6 bool
}

func startSOCKSOrigin(t *testing.T) *socksOrigin {
	t.Helper()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Origin", "netfetch-socks-test")
		fmt.Fprintf(w, "hello through socks: %s from %s", r.URL.Path, r.RemoteAddr)
	})}
	t.Cleanup(func() { srv.Close() })
	for attempt := 0; attempt < 5; attempt++ {
		ln4, err := gonet.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		o := &socksOrigin{port: uint16(ln4.Addr().(*gonet.TCPAddr).Port)}
		ln6, err := gonet.Listen("tcp6", gonet.JoinHostPort("::1", strconv.Itoa(int(o.port))))
		if err != nil && socksHasIPv6Loopback() {
			// The port is taken on ::1: try another.
			ln4.Close()
			continue
		}
		go srv.Serve(ln4)
		if ln6 != nil {
			o.ipv6 = true
			go srv.Serve(ln6)
		}
		return o
	}
	t.Fatal("no port free on both 127.0.0.1 and ::1")
	return nil
}

func socksHasIPv6Loopback() bool {
	ln, err := gonet.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// socksHTTPGet sends a GET for path over s and returns the whole response
// (the request asks the server to close the connection after it).
func socksHTTPGet(t *testing.T, l *net.Loop, s StreamSocket, host, path string) string {
	t.Helper()
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: netfetch-test\r\nConnection: close\r\n\r\n"
	socksWriteAll(t, l, s, []byte(req))
	var resp []byte
	buf := make([]byte, 4096)
	for {
		rv := socksIO(t, l, "Read", func(cb net.CompletionCallback) int { return s.Read(buf, cb) })
		if rv < 0 {
			t.Fatalf("Read: %v", net.Error(rv))
		}
		if rv == 0 {
			return string(resp)
		}
		resp = append(resp, buf[:rv]...)
	}
}

func wantOriginResponse(t *testing.T, resp, path string) {
	t.Helper()
	if !strings.HasPrefix(resp, "HTTP/1.1 200 OK\r\n") || !strings.Contains(resp, "X-Origin: netfetch-socks-test\r\n") ||
		!strings.Contains(resp, "\r\n\r\nhello through socks: "+path+" from ") {
		t.Fatalf("response:\n%s", resp)
	}
}

func TestSOCKSInteropMicrosocks(t *testing.T) {
	open := interop.StartMicrosocks(t, interop.MicrosocksOptions{})
	authed := interop.StartMicrosocks(t, interop.MicrosocksOptions{Username: "alice", Password: "s3cret"})
	origin := startSOCKSOrigin(t)
	dead := socksDeadAddr(t)

	for _, tc := range []struct {
		name       string
		proxy      *interop.Microsocks
		user, pass string
		host       string
		port       uint16
		want       net.Error
	}{
		{"no auth, IPv4 literal", open, "", "", "127.0.0.1", origin.port, net.Error(net.OK)},
		{"no auth, host name", open, "", "", "localhost", origin.port, net.Error(net.OK)},
		{"no auth, IPv6 literal", open, "", "", "[::1]", origin.port, net.Error(net.OK)},
		{"password", authed, "alice", "s3cret", "localhost", origin.port, net.Error(net.OK)},
		{"wrong password", authed, "alice", "guess", "localhost", origin.port, net.ErrSOCKSConnectionFailed},
		// microsocks answers method 0xFF to a client without credentials.
		{"no credentials", authed, "", "", "localhost", origin.port, net.ErrSOCKSConnectionFailed},
		// microsocks replies 0x05 (connection refused): the destination's
		// fault, not the proxy's.
		{"destination refused", open, "", "", dead.Addr().String(), dead.Port(), net.ErrSOCKSConnectionHostUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.host == "[::1]" && !origin.ipv6 {
				t.Skip("no IPv6 loopback")
			}
			e := newSOCKSEnv(t)
			p := socksProxy(proxy.SchemeSOCKS5, tc.proxy.Addr())
			p.Username, p.Password = tc.user, tc.pass
			rv, s, _ := e.connect(p, tc.host, tc.port)
			wantSOCKSErr(t, rv, tc.want)
			if rv != net.OK {
				return
			}
			path := "/via/microsocks/" + strings.ReplaceAll(tc.name, " ", "-")
			hostPort := gonet.JoinHostPort(strings.Trim(tc.host, "[]"), strconv.Itoa(int(tc.port)))
			wantOriginResponse(t, socksHTTPGet(t, e.l, s, hostPort, path), path)
		})
	}
}

func TestSOCKSInteropDante(t *testing.T) {
	dante := interop.StartDante(t, interop.DanteOptions{})
	origin := startSOCKSOrigin(t)
	dead := socksDeadAddr(t)

	for _, tc := range []struct {
		name   string
		scheme proxy.Scheme
		host   string
		port   uint16
		want   net.Error
	}{
		// SOCKS4: the client resolves origin.test itself.
		{"socks4 host name", proxy.SchemeSOCKS4, "origin.test", origin.port, net.Error(net.OK)},
		{"socks4 IPv4 literal", proxy.SchemeSOCKS4, "127.0.0.1", origin.port, net.Error(net.OK)},
		// Dante answers 0x5B (rejected or failed) when the destination
		// refuses.
		{"socks4 destination refused", proxy.SchemeSOCKS4, dead.Addr().String(), dead.Port(), net.ErrSOCKSConnectionFailed},
		// Dante has no SOCKS4a: it tries to connect to 0.0.0.1 and
		// answers 0x5B.
		{"socks4a unsupported by dante", proxy.SchemeSOCKS4a, "localhost", origin.port, net.ErrSOCKSConnectionFailed},
		// An IPv4 literal needs no 4a extension, so it works.
		{"socks4a IPv4 literal", proxy.SchemeSOCKS4a, "127.0.0.1", origin.port, net.Error(net.OK)},
		{"socks5 host name", proxy.SchemeSOCKS5, "localhost", origin.port, net.Error(net.OK)},
		{"socks5 IPv4 literal", proxy.SchemeSOCKS5, "127.0.0.1", origin.port, net.Error(net.OK)},
		{"socks5 destination refused", proxy.SchemeSOCKS5, dead.Addr().String(), dead.Port(), net.ErrSOCKSConnectionHostUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSOCKSEnv(t)
			e.res.hosts["origin.test"] = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
			rv, s, _ := e.connect(socksProxy(tc.scheme, dante.Addr()), tc.host, tc.port)
			wantSOCKSErr(t, rv, tc.want)
			if rv != net.OK {
				return
			}
			path := "/via/dante/" + strings.ReplaceAll(tc.name, " ", "-")
			wantOriginResponse(t, socksHTTPGet(t, e.l, s, gonet.JoinHostPort(tc.host, strconv.Itoa(int(tc.port))), path), path)
			nettest.OnLoop(t, e.l, func() {
				if !s.WasEverUsed() {
					t.Error("WasEverUsed false after an HTTP exchange")
				}
			})
		})
	}
}
