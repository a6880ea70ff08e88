package interop

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeTB records Skip and Fatal calls instead of stopping the test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = true
	f.msg = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
}

func TestRequired(t *testing.T) {
	const missing = "netfetch-no-such-binary-7f3a"

	t.Setenv(EnvInterop, "")
	f := &fakeTB{TB: t}
	Required(f, "sh", missing)
	if testing.Short() {
		if !f.skipped {
			t.Errorf("-short, %s unset: not skipped", EnvInterop)
		}
	} else if !f.skipped || f.failed || !strings.Contains(f.msg, missing) {
		t.Errorf("%s unset, binary missing: skipped=%v failed=%v msg=%q; want a skip naming %s", EnvInterop, f.skipped, f.failed, f.msg, missing)
	}

	t.Setenv(EnvInterop, "1")
	f = &fakeTB{TB: t}
	Required(f, "sh", missing)
	if !f.failed || f.skipped || !strings.Contains(f.msg, missing) {
		t.Errorf("%s=1, binary missing: skipped=%v failed=%v msg=%q; want a failure naming %s", EnvInterop, f.skipped, f.failed, f.msg, missing)
	}

	f = &fakeTB{TB: t}
	Required(f, "sh")
	if f.failed || f.skipped {
		t.Errorf("%s=1, binary present: skipped=%v failed=%v msg=%q", EnvInterop, f.skipped, f.failed, f.msg)
	}

	t.Setenv(EnvInterop, "0")
	if Enabled() {
		t.Errorf("Enabled() with %s=0", EnvInterop)
	}
}

func TestLookPathSbin(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
		t.Skip("no /usr/sbin/nginx")
	}
	t.Setenv("PATH", "/nonexistent")
	p, err := LookPath("nginx")
	if err != nil || p != "/usr/sbin/nginx" {
		t.Errorf("LookPath(nginx) with PATH without sbin = %q, %v", p, err)
	}
}

func TestFreePort(t *testing.T) {
	t.Parallel()
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatalf("port %d from FreePort not bindable: %v", p, err)
	}
	l.Close()
}

func TestParseAccessLogLine(t *testing.T) {
	t.Parallel()
	e, err := ParseAccessLogLine(`12 3 8443 "TLSv1.3" "r" "GET /a\x22b.txt HTTP/1.1" 200 1234`)
	if err != nil {
		t.Fatal(err)
	}
	want := AccessLogEntry{
		Connection: 12, ConnectionRequests: 3, ServerPort: 8443, TLSProtocol: "TLSv1.3", SessionReused: true,
		Request: `GET /a\x22b.txt HTTP/1.1`, Method: "GET", Path: `/a\x22b.txt`, Proto: "HTTP/1.1",
		Status: 200, Bytes: 1234,
	}
	if e != want {
		t.Errorf("got  %+v\nwant %+v", e, want)
	}
	e, err = ParseAccessLogLine(`5 1 8080 "-" "." "-" 400 0`)
	if err != nil {
		t.Fatal(err)
	}
	if e.TLSProtocol != "" || e.SessionReused || e.Request != "" || e.Status != 400 {
		t.Errorf("plain/empty request line: %+v", e)
	}
	for _, bad := range []string{"", `1 2 3 "x" "y" "GET / HTTP/1.1" 200`, `x 1 80 "-" "." "GET / HTTP/1.1" 200 0`, `1 1 80 "-" "." "GET / HTTP/1.1 200 0`} {
		if _, err := ParseAccessLogLine(bad); err == nil {
			t.Errorf("ParseAccessLogLine(%q): no error", bad)
		}
	}
}

func TestGenerateCA(t *testing.T) {
	t.Parallel()
	pki := GenerateCA(t, "")
	if _, err := tls.LoadX509KeyPair(pki.CACertFile, pki.CAKeyFile); err != nil {
		t.Fatalf("CA key pair: %v", err)
	}
	if pki.CertFile != pki.Leaf.CertFile || pki.KeyFile != pki.Leaf.KeyFile {
		t.Errorf("CertFile/KeyFile %s %s differ from Leaf %+v", pki.CertFile, pki.KeyFile, pki.Leaf)
	}
	for _, f := range []string{pki.CACertFile, pki.CAKeyFile, pki.CertFile, pki.KeyFile,
		pki.Expired.CertFile, pki.Expired.KeyFile, pki.WrongHost.CertFile, pki.WrongHost.KeyFile} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	for _, k := range []KeyPair{pki.Leaf, pki.Expired, pki.WrongHost} {
		if _, err := tls.LoadX509KeyPair(k.CertFile, k.KeyFile); err != nil {
			t.Errorf("%s: %v", k.CertFile, err)
		}
	}
	verify := func(k KeyPair, host string) error {
		_, err := k.Cert.Verify(x509.VerifyOptions{DNSName: host, Roots: pki.CertPool()})
		return err
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if err := verify(pki.Leaf, host); err != nil {
			t.Errorf("valid leaf for %s: %v", host, err)
		}
	}
	var invalid x509.CertificateInvalidError
	if err := verify(pki.Expired, "localhost"); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired leaf: err = %v, want x509.Expired", err)
	}
	var hostErr x509.HostnameError
	if err := verify(pki.WrongHost, "localhost"); !errors.As(err, &hostErr) {
		t.Errorf("wrong-host leaf: err = %v, want HostnameError", err)
	}
	if err := verify(pki.WrongHost, WrongHostName); err != nil {
		t.Errorf("wrong-host leaf for its own name: %v", err)
	}
	self := pki.IssueLeaf(t, LeafOptions{Name: "self", Hosts: []string{"localhost"}, SelfSigned: true})
	var unknown x509.UnknownAuthorityError
	if err := verify(self, "localhost"); !errors.As(err, &unknown) {
		t.Errorf("self-signed leaf: err = %v, want UnknownAuthorityError", err)
	}
	rsaLeaf := pki.IssueLeaf(t, LeafOptions{Name: "rsa", Hosts: []string{"example.test"}, RSABits: 2048})
	if err := verify(rsaLeaf, "example.test"); err != nil {
		t.Errorf("RSA leaf: %v", err)
	}
}

// get fetches url with client and returns the body and whether the
// connection was reused.
func get(t *testing.T, client *http.Client, url string) (resp *http.Response, body string, reused bool) {
	t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp, string(b), reused
}

func newClient(tlsConf *tls.Config, h2 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: h2}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

const helloBody = "hello from nginx\n"

func TestNginxPlainKeepAlive(t *testing.T) {
	t.Parallel()
	n := StartNginx(t, NginxOptions{})
	n.WriteFile(t, "hello.txt", []byte(helloBody))
	client := newClient(nil, false)
	defer client.CloseIdleConnections()

	var reused [2]bool
	for i := range reused {
		resp, body, r := get(t, client, n.URL("hello.txt"))
		if resp.StatusCode != 200 || body != helloBody {
			t.Fatalf("request %d: %s %q", i, resp.Status, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
			t.Errorf("Content-Type %q", ct)
		}
		reused[i] = r
	}
	if reused != [2]bool{false, true} {
		t.Errorf("client-side reuse = %v, want [false true]", reused)
	}
	log := n.WaitAccessLog(t, 2)
	if len(log) != 2 {
		t.Fatalf("access log: %+v", log)
	}
	for i, e := range log {
		if e.ConnectionRequests != i+1 || e.Status != 200 || e.Bytes != int64(len(helloBody)) ||
			e.Request != "GET /hello.txt HTTP/1.1" || e.Path != "/hello.txt" || e.ServerPort != n.Port || e.TLSProtocol != "" {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
	if log[0].Connection != log[1].Connection {
		t.Errorf("two requests on different connections: %d, %d", log[0].Connection, log[1].Connection)
	}
}

func TestNginxKeepAliveDisabled(t *testing.T) {
	t.Parallel()
	n := StartNginx(t, NginxOptions{
		KeepaliveTimeout:  -1,
		ExtraServerConfig: `location = /teapot { return 418 "short and stout"; }`,
	})
	client := newClient(nil, false)
	defer client.CloseIdleConnections()
	for i := 0; i < 2; i++ {
		resp, body, reused := get(t, client, n.URL("/teapot"))
		if resp.StatusCode != 418 || body != "short and stout" || reused {
			t.Fatalf("request %d: %s %q reused=%v", i, resp.Status, body, reused)
		}
	}
	log := n.WaitAccessLog(t, 2)
	if log[0].Connection == log[1].Connection || log[0].ConnectionRequests != 1 || log[1].ConnectionRequests != 1 {
		t.Errorf("keep-alive off: %+v", log)
	}
}

func TestNginxKeepaliveRequests(t *testing.T) {
	t.Parallel()
	n := StartNginx(t, NginxOptions{KeepaliveRequests: 2, KeepaliveTimeout: 30 * time.Second})
	n.WriteFile(t, "a/b.txt", []byte("b"))
	client := newClient(nil, false)
	defer client.CloseIdleConnections()
	for i := 0; i < 3; i++ {
		if resp, body, _ := get(t, client, n.URL("/a/b.txt")); resp.StatusCode != 200 || body != "b" {
			t.Fatalf("request %d: %s %q", i, resp.Status, body)
		}
	}
	log := n.WaitAccessLog(t, 3)
	if log[0].Connection != log[1].Connection || log[1].Connection == log[2].Connection || log[2].ConnectionRequests != 1 {
		t.Errorf("keepalive_requests 2: %+v", log)
	}
}

func TestNginxTLS(t *testing.T) {
	t.Parallel()
	pki := GenerateCA(t, "")
	n := StartNginx(t, NginxOptions{TLS: pki.TLS(false)})
	n.WriteFile(t, "hello.txt", []byte(helloBody))
	client := newClient(&tls.Config{RootCAs: pki.CertPool()}, true)
	defer client.CloseIdleConnections()

	for i := 0; i < 2; i++ {
		resp, body, _ := get(t, client, n.TLSURL("/hello.txt"))
		if resp.StatusCode != 200 || body != helloBody {
			t.Fatalf("%s %q", resp.Status, body)
		}
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 || resp.ProtoMajor != 1 {
			t.Errorf("TLS state %+v, proto %s; want TLS 1.3, HTTP/1.1", resp.TLS, resp.Proto)
		}
	}
	// A host name in the certificate works too.
	if resp, _, _ := get(t, client, n.TLSURLHost("localhost", "/hello.txt")); resp.StatusCode != 200 {
		t.Errorf("via localhost: %s", resp.Status)
	}
	// The plain port still serves.
	if resp, body, _ := get(t, client, n.URL("/hello.txt")); resp.StatusCode != 200 || body != helloBody {
		t.Errorf("plain: %s %q", resp.Status, body)
	}
	log := n.WaitAccessLog(t, 4)
	for i, e := range log[:3] {
		if e.TLSProtocol != "TLSv1.3" || e.ServerPort != n.TLSPort || e.Status != 200 {
			t.Errorf("TLS entry %d: %+v", i, e)
		}
	}
	if log[0].Connection != log[1].Connection || log[1].ConnectionRequests != 2 {
		t.Errorf("TLS keep-alive: %+v", log[:2])
	}
	if log[3].TLSProtocol != "" || log[3].ServerPort != n.Port {
		t.Errorf("plain entry: %+v", log[3])
	}
}

func TestNginxHTTP2(t *testing.T) {
	t.Parallel()
	pki := GenerateCA(t, "", "127.0.0.1")
	n := StartNginx(t, NginxOptions{TLS: pki.TLS(true)})
	n.WriteFile(t, "x.json", []byte(`{"x":1}`))
	client := newClient(&tls.Config{RootCAs: pki.CertPool()}, true)
	defer client.CloseIdleConnections()
	for i := 0; i < 2; i++ {
		resp, body, _ := get(t, client, n.TLSURL("x.json"))
		if resp.StatusCode != 200 || body != `{"x":1}` || resp.ProtoMajor != 2 {
			t.Fatalf("%s %s %q", resp.Proto, resp.Status, body)
		}
		if resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("ALPN %q", resp.TLS.NegotiatedProtocol)
		}
	}
	log := n.WaitAccessLog(t, 2)
	if log[0].Connection != log[1].Connection || log[0].Proto != "HTTP/2.0" {
		t.Errorf("HTTP/2 entries: %+v", log)
	}
}

func TestNginxBadCertificates(t *testing.T) {
	t.Parallel()
	pki := GenerateCA(t, "")
	tlsConf := &tls.Config{RootCAs: pki.CertPool()}

	expired := StartNginx(t, NginxOptions{TLS: pki.Expired.TLS(false)})
	_, err := newClient(tlsConf, false).Get(expired.TLSURL("/"))
	var invalid x509.CertificateInvalidError
	if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("expired certificate: err = %v, want x509.Expired", err)
	}

	wrong := StartNginx(t, NginxOptions{TLS: pki.WrongHost.TLS(false)})
	_, err = newClient(tlsConf, false).Get(wrong.TLSURL("/"))
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Errorf("wrong-host certificate: err = %v, want x509.HostnameError", err)
	}
}

func TestNginxIPv6(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	l.Close()
	n := StartNginx(t, NginxOptions{IPv6: true})
	n.WriteFile(t, "index.html", []byte("<p>v6</p>"))
	client := newClient(nil, false)
	defer client.CloseIdleConnections()
	url := "http://" + net.JoinHostPort("::1", strconv.Itoa(n.Port)) + "/"
	if resp, body, _ := get(t, client, url); resp.StatusCode != 200 || body != "<p>v6</p>" {
		t.Errorf("GET %s: %s %q", url, resp.Status, body)
	}
}

func TestNginxStartFailureReportsConfigError(t *testing.T) {
	t.Parallel()
	Required(t, "nginx")
	// Run StartNginx's work directly so the failure is an error, not a
	// Fatal on t.
	path, _ := LookPath("nginx")
	build, err := nginxBuildInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = startNginxOnce(t, path, build, NginxOptions{
		Root:              t.TempDir(),
		ExtraServerConfig: "no_such_directive on;",
		StartTimeout:      10 * time.Second,
		StopTimeout:       time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "no_such_directive") {
		t.Errorf("bad config: err = %v, want one quoting nginx's complaint", err)
	}
}

// groupMembers returns the live (non-zombie) processes whose process group
// is pgid, and the zombies separately.
func groupMembers(t *testing.T, pgid int) (live, zombies []int) {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		// After the command: state ppid pgrp ...
		f := strings.Fields(s[i+1:])
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g != pgid {
			continue
		}
		if f[0] == "Z" {
			zombies = append(zombies, pid)
		} else {
			live = append(live, pid)
		}
	}
	return live, zombies
}

func TestNginxCleanupLeavesNoProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	var pgid int
	var started []int
	t.Run("run", func(t *testing.T) {
		n := StartNginx(t, NginxOptions{})
		pgid = n.Pid()
		// A served request proves the worker is up.
		if resp, _, _ := get(t, newClient(nil, false), n.URL("/")); resp.StatusCode != 403 && resp.StatusCode != 404 {
			t.Errorf("GET / on an empty root: %s", resp.Status)
		}
		started, _ = groupMembers(t, pgid)
		if len(started) < 2 {
			t.Errorf("nginx process group %d has %v, want master and worker", pgid, started)
		}
	})
	if pgid == 0 {
		t.Fatal("subtest did not start nginx")
	}
	if live, zombies := groupMembers(t, pgid); len(live)+len(zombies) != 0 {
		t.Errorf("after cleanup, nginx process group %d still has live %v, zombies %v", pgid, live, zombies)
	}
}

func TestNginxStopKillsHungServer(t *testing.T) {
	n := StartNginx(t, NginxOptions{StopTimeout: 300 * time.Millisecond})
	pgid := n.Pid()
	if resp, _, _ := get(t, newClient(nil, false), n.URL("/")); resp.StatusCode >= 500 {
		t.Fatalf("GET /: %s", resp.Status)
	}
	// A stopped master ignores SIGQUIT, so Stop must fall back to SIGKILL.
	if err := syscall.Kill(pgid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n.Stop()
	if d := time.Since(start); d < 300*time.Millisecond || d > 8*time.Second {
		t.Errorf("Stop took %v, want about the 300ms StopTimeout", d)
	}
	if !n.Process().Exited() {
		t.Fatal("nginx master still running after Stop")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		live, zombies := groupMembers(t, pgid)
		if len(live) == 0 {
			if len(zombies) != 0 {
				t.Logf("zombies awaiting reaping by init: %v", zombies)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Stop, nginx process group %d still has %v", pgid, live)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := net.DialTimeout("tcp", n.Addr(), time.Second); err == nil {
		t.Errorf("%s still accepts connections after Stop", n.Addr())
	}
	n.Stop() // idempotent
}

func TestStartProcess(t *testing.T) {
	t.Parallel()
	sh := Binary(t, "sh")
	p := StartProcess(t, ProcessOptions{Path: sh, Args: []string{"-c", "echo ready; exec sleep 60"}})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Output(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("no output; got %q", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	if !p.Exited() {
		t.Fatal("not exited after Stop")
	}
	if err := p.Err(); err == nil {
		t.Errorf("sleep killed by SIGTERM: Err() = nil")
	}
}
