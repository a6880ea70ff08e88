package main

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"io"
	gonet "net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netfetch/netfetch/internal/interop"
)

// Interop tests through real peers started on loopback: nginx over TLS
// (HTTP/1.1 and HTTP/2) with a CA the test makes, microsocks and dante as
// SOCKS servers, tinyproxy as an HTTP proxy.

// keepLoopback makes loopback destinations use the proxy: without it
// Chromium's implicit bypass sends them direct.
const keepLoopback = "<-loopback>"

func tlsNginx(t *testing.T, http2 bool) (*interop.Nginx, *interop.TestPKI, []byte) {
	t.Helper()
	pki := interop.GenerateCA(t, "", "localhost", "127.0.0.1")
	n := interop.StartNginx(t, interop.NginxOptions{TLS: pki.TLS(http2)})
	body := make([]byte, 200<<10)
	rand.Read(body)
	n.WriteFile(t, "file", body)
	return n, pki, body
}

func TestInteropTLSWithGeneratedCA(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		name := map[bool]string{false: "http1.1", true: "h2"}[h2]
		t.Run(name, func(t *testing.T) {
			n, pki, body := tlsNginx(t, h2)
			r := netfetch(t, "--cacert", pki.CACertFile, n.TLSURLHost("localhost", "/file"), n.TLSURLHost("localhost", "/file"))
			expectCode(t, r, 0)
			if r.stdout != string(body)+string(body) {
				t.Fatalf("got %d bytes, want two copies of %d", len(r.stdout), len(body))
			}
			entries := n.WaitAccessLog(t, 2)
			wantProto := map[bool]string{false: "HTTP/1.1", true: "HTTP/2.0"}[h2]
			for _, e := range entries {
				if e.Proto != wantProto || e.TLSProtocol == "" {
					t.Errorf("nginx saw %+v, want %s over TLS", e, wantProto)
				}
			}
		})
	}
}

func TestInteropCertificateErrors(t *testing.T) {
	pki := interop.GenerateCA(t, "", "localhost", "127.0.0.1")
	for _, tc := range []struct {
		name string
		pair interop.KeyPair
		want string
	}{
		{"expired", pki.Expired, "net::ERR_CERT_DATE_INVALID (-201)"},
		{"wrong-host", pki.WrongHost, "net::ERR_CERT_COMMON_NAME_INVALID (-200)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := interop.StartNginx(t, interop.NginxOptions{TLS: tc.pair.TLS(false)})
			u := n.TLSURLHost("localhost", "/")
			r := netfetch(t, "--cacert", pki.CACertFile, u)
			expectCode(t, r, 1)
			if want := "netfetch: " + u + ": " + tc.want + "\n"; r.stderr != want {
				t.Fatalf("stderr %q, want %q", r.stderr, want)
			}
			expectCode(t, netfetch(t, "-k", u), 0)
		})
	}
	// A CA nobody told us about.
	n := interop.StartNginx(t, interop.NginxOptions{TLS: pki.TLS(false)})
	r := netfetch(t, n.TLSURLHost("localhost", "/"))
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_CERT_AUTHORITY_INVALID (-202)") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// origin is a plain HTTP server on loopback that records the requests it
// sees.
func origin(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var seen atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		w.Write([]byte("origin:" + r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &seen
}

func TestInteropSOCKS5ThroughMicrosocks(t *testing.T) {
	base, _ := origin(t)
	open := interop.StartMicrosocks(t, interop.MicrosocksOptions{})
	r := netfetch(t, "--proxy", open.URL(), "--proxy-bypass", keepLoopback, base+"/a")
	expectCode(t, r, 0)
	if r.stdout != "origin:/a" {
		t.Fatalf("stdout %q", r.stdout)
	}

	locked := interop.StartMicrosocks(t, interop.MicrosocksOptions{Username: "alice", Password: "s3cret"})
	r = netfetch(t, "--proxy", locked.URL(), "--proxy-bypass", keepLoopback, base+"/b")
	expectCode(t, r, 0)
	if r.stdout != "origin:/b" {
		t.Fatalf("stdout %q", r.stdout)
	}
	wrong := strings.Replace(locked.URL(), "s3cret", "nope", 1)
	r = netfetch(t, "--proxy", wrong, "--proxy-bypass", keepLoopback, base+"/c")
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_SOCKS_CONNECTION_FAILED (-120)") {
		t.Fatalf("wrong password: stderr %q", r.stderr)
	}
}

func TestInteropSOCKSToTLSOrigin(t *testing.T) {
	n, pki, body := tlsNginx(t, true)
	ms := interop.StartMicrosocks(t, interop.MicrosocksOptions{})
	r := netfetch(t, "--proxy", ms.URL(), "--proxy-bypass", keepLoopback, "--cacert", pki.CACertFile, n.TLSURLHost("localhost", "/file"))
	expectCode(t, r, 0)
	if r.stdout != string(body) {
		t.Fatalf("got %d bytes", len(r.stdout))
	}
}

func TestInteropSOCKS4ThroughDante(t *testing.T) {
	base, _ := origin(t)
	d := interop.StartDante(t, interop.DanteOptions{})
	for _, scheme := range []string{"socks4", "socks4a", "socks5"} {
		r := netfetch(t, "--proxy", d.URL(scheme), "--proxy-bypass", keepLoopback, base+"/"+scheme)
		expectCode(t, r, 0)
		if r.stdout != "origin:/"+scheme {
			t.Fatalf("%s: stdout %q", scheme, r.stdout)
		}
	}
}

func TestInteropHTTPProxyThroughTinyproxy(t *testing.T) {
	base, _ := origin(t)
	n, pki, body := tlsNginx(t, false)
	for _, creds := range []bool{false, true} {
		opts := interop.TinyproxyOptions{}
		if creds {
			opts.Username, opts.Password = "bob", "pw"
		}
		tp := interop.StartTinyproxy(t, opts)
		// http:// goes as an absolute-URI request on the proxy connection.
		r := netfetch(t, "--proxy", tp.URL(), "--proxy-bypass", keepLoopback, base+"/plain")
		expectCode(t, r, 0)
		if r.stdout != "origin:/plain" {
			t.Fatalf("http via tinyproxy: stdout %q", r.stdout)
		}
		// https:// goes through a CONNECT tunnel.
		r = netfetch(t, "--proxy", tp.URL(), "--proxy-bypass", keepLoopback, "--cacert", pki.CACertFile, n.TLSURLHost("localhost", "/file"))
		expectCode(t, r, 0)
		if r.stdout != string(body) {
			t.Fatalf("https via tinyproxy: %d bytes", len(r.stdout))
		}
		if log := tp.Log(); !strings.Contains(log, "CONNECT") {
			t.Errorf("tinyproxy did not log the CONNECT:\n%s", log)
		}
		if creds {
			noCreds := strings.Replace(tp.URL(), "bob:pw@", "", 1)
			r = netfetch(t, "--proxy", noCreds, "--proxy-bypass", keepLoopback, "--cacert", pki.CACertFile, n.TLSURLHost("localhost", "/file"))
			expectCode(t, r, 1)
			if !strings.Contains(r.stderr, "net::ERR_PROXY_AUTH_REQUESTED (-127)") {
				t.Fatalf("no credentials: stderr %q", r.stderr)
			}
		}
	}
}

func TestInteropDeadProxy(t *testing.T) {
	base, seen := origin(t)
	r := netfetch(t, "--proxy", "socks5://"+strings.TrimPrefix(deadURL(t), "http://"), "--proxy-bypass", keepLoopback, base+"/")
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_PROXY_CONNECTION_FAILED (-130)") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if seen.Load() != 0 {
		t.Fatal("the origin was reached without the proxy")
	}
	// Without <-loopback>, a loopback destination bypasses the proxy.
	r = netfetch(t, "--proxy", "socks5://"+strings.TrimPrefix(deadURL(t), "http://"), base+"/")
	expectCode(t, r, 0)
}

func TestInteropCLIFlagsValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o644)
	for _, args := range [][]string{
		{"--proxy", "ftp://x:1", "http://a/"},
		{"--proxy-bypass", "10.0.0.0/33", "http://a/"},
		{"--proxy", "http=a:99999", "http://a/"},
		{"--pac-url", "ftp://x/p.pac", "http://a/"},
		{"--pac-mandatory", "http://a/"},
		{"--cacert", bad, "http://a/"},
		{"--max-sockets-per-host", "-1", "http://a/"},
	} {
		expectCode(t, netfetch(t, args...), 2)
	}
}

// The NetLog of fetches through a SOCKS5 proxy and through an HTTP proxy's
// CONNECT tunnel to a TLS origin has every layer's events and loads in
// netlog-viewer (readNetLog holds it to the viewer's rules).
func TestInteropNetLogOfProxiedTLS(t *testing.T) {
	n, pki, _ := tlsNginx(t, false)
	tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{Username: "bob", Password: "pw"})
	ms := interop.StartMicrosocks(t, interop.MicrosocksOptions{Username: "al", Password: "pw"})
	for _, tc := range []struct {
		proxy string
		want  []string
	}{
		{tp.URL(), []string{"HTTP_PROXY_CONNECT_JOB_CONNECT", "HTTP_TRANSACTION_TUNNEL_SEND_REQUEST",
			"HTTP_TRANSACTION_SEND_TUNNEL_HEADERS", "HTTP_TRANSACTION_READ_TUNNEL_RESPONSE_HEADERS"}},
		{ms.URL(), []string{"SOCKS_CONNECT_JOB_CONNECT", "SOCKS5_CONNECT", "SOCKS5_GREET_WRITE", "SOCKS5_HANDSHAKE_READ"}},
	} {
		path := filepath.Join(t.TempDir(), "log.json")
		r := netfetch(t, "--netlog", path, "--netlog-mode", "Everything", "--proxy", tc.proxy,
			"--proxy-bypass", keepLoopback, "--cacert", pki.CACertFile, n.TLSURLHost("localhost", "/file"))
		expectCode(t, r, 0)
		nl := readNetLog(t, path)
		nl.require(t, append(tc.want, "SSL_CONNECT_JOB_CONNECT", "SSL_CONNECT", "TCP_CONNECT", "CONNECT_JOB",
			"SOCKET_POOL", "SOCKET_BYTES_SENT", "SOCKET_BYTES_RECEIVED", "SOCKET_POOL_CLOSING_SOCKET")...)
		for _, e := range nl.byName["SSL_CONNECT"] {
			if e.Phase == 2 {
				if e.Params["version"] == nil || e.Params["cipher_suite"] == nil || e.Params["next_proto"] == nil || e.Params["is_resumed"] == nil {
					t.Errorf("SSL_CONNECT end params %v", e.Params)
				}
			}
		}
		pools, _ := nl.raw["polledData"].(map[string]any)["socketPoolInfo"].([]any)
		if len(pools) != 1 || !strings.Contains(pools[0].(map[string]any)["name"].(string), "127.0.0.1") {
			t.Errorf("socketPoolInfo %v: want the proxy's pool", pools)
		}
	}
}

// httpsProxy is a CONNECT-only proxy reached over TLS (an "HTTPS proxy"),
// written here since none of the packaged proxies speaks TLS to clients.
// It answers CONNECT with 200 and relays bytes; it counts the tunnels.
func httpsProxy(t *testing.T, pki *interop.TestPKI) (string, *atomic.Int64) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.CertFile, pki.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var tunnels atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil || req.Method != "CONNECT" {
					io.WriteString(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
					return
				}
				up, err := gonet.Dial("tcp", req.Host)
				if err != nil {
					io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
					return
				}
				defer up.Close()
				tunnels.Add(1)
				io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n")
				go io.Copy(up, br)
				io.Copy(c, up)
			}()
		}
	}()
	return "https://localhost:" + strconv.Itoa(ln.Addr().(*gonet.TCPAddr).Port), &tunnels
}

func TestInteropHTTPSProxy(t *testing.T) {
	n, pki, body := tlsNginx(t, true)
	proxyURL, tunnels := httpsProxy(t, pki)
	r := netfetch(t, "--proxy", proxyURL, "--proxy-bypass", keepLoopback, "--cacert", pki.CACertFile, n.TLSURLHost("localhost", "/file"))
	expectCode(t, r, 0)
	if r.stdout != string(body) || tunnels.Load() != 1 {
		t.Fatalf("%d bytes through %d tunnels", len(r.stdout), tunnels.Load())
	}
	// The proxy's certificate is checked like any other: without the CA it
	// is a proxy certificate error.
	r = netfetch(t, "--proxy", proxyURL, "--proxy-bypass", keepLoopback, n.TLSURLHost("localhost", "/file"))
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_PROXY_CERTIFICATE_INVALID (-136)") {
		t.Fatalf("stderr %q", r.stderr)
	}
}
