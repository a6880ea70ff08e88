package http_test

import (
	"encoding/base64"
	"fmt"
	"io"
	gonet "net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/socket"
)

// These tests drive HTTPProxyConnectJob directly: its nested job is a real
// TransportConnectJob to a scripted proxy on 127.0.0.1, which answers
// CONNECT as each test wants and, on success, relays to a local origin.

const testUserAgent = "netfetch-test/1.0"

// connectHead is a CONNECT request as the proxy received it.
type connectHead struct {
	conn   int      // which connection (0-based) it came on
	line   string   // request line without CRLF
	fields []string // "Name: value", in order
}

func (h connectHead) get(name string) (string, bool) {
	for _, f := range h.fields {
		if n, v, ok := strings.Cut(f, ":"); ok && strings.EqualFold(n, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// scriptedProxy is a raw TCP proxy whose handler gets each connection with
// its index; it records every CONNECT head it reads.
type scriptedProxy struct {
	*testserver.RawServer
	conns atomic.Int64
	mu    sync.Mutex
	heads []connectHead
}

func newScriptedProxy(t *testing.T, handle func(p *scriptedProxy, c *testserver.Conn, n int)) *scriptedProxy {
	p := &scriptedProxy{}
	p.RawServer = testserver.NewRaw(t, func(c *testserver.Conn) {
		n := int(p.conns.Add(1)) - 1
		handle(p, c, n)
	})
	return p
}

// readConnect reads one request head off c and records it.
func (p *scriptedProxy) readConnect(c *testserver.Conn, n int) (connectHead, error) {
	h := connectHead{conn: n}
	for {
		line, err := c.R.ReadString('\n')
		if err != nil {
			return h, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if h.line == "" {
			h.line = line
		} else {
			h.fields = append(h.fields, line)
		}
	}
	p.mu.Lock()
	p.heads = append(p.heads, h)
	p.mu.Unlock()
	return h, nil
}

func (p *scriptedProxy) Heads() []connectHead {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]connectHead(nil), p.heads...)
}

func (p *scriptedProxy) server() proxy.Server {
	host, port := splitAddr(p.Addr)
	return proxy.Server{Scheme: proxy.SchemeHTTP, Host: host, Port: port}
}

func splitAddr(addr string) (string, uint16) {
	host, ps, err := gonet.SplitHostPort(addr)
	if err != nil {
		panic(err)
	}
	port, _ := strconv.Atoi(ps)
	return host, uint16(port)
}

// relay connects c to addr both ways until either side closes, as a
// proxy does once it said 200.
func relay(c *testserver.Conn, addr string) {
	o, err := gonet.Dial("tcp", addr)
	if err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(o, c.R)
		_ = o.(*gonet.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(c.Conn, o)
		_ = c.Conn.(*gonet.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	for pending := 2; pending > 0; {
		select {
		case <-done:
			pending--
		case <-c.Server().Done():
			o.Close()
			c.Conn.Close()
			for ; pending > 0; pending-- {
				<-done
			}
		}
	}
	o.Close()
}

// newEchoOrigin is an origin that sends back whatever it gets.
func newEchoOrigin(t *testing.T) *testserver.RawServer {
	return testserver.NewRaw(t, func(c *testserver.Conn) { _, _ = io.Copy(c.Conn, c.R) })
}

const (
	established = "HTTP/1.1 200 Connection established\r\n\r\n"
	challenge   = "Proxy-Authenticate: Basic realm=\"test\"\r\n"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// tunnelEnv runs tunnel jobs on a loop, recording the NetLog.
type tunnelEnv struct {
	loop    *net.Loop
	nl      *netlog.NetLog
	rec     *nettest.Recorder
	common  *socket.CommonConnectJobParams
	factory *http.TunnelJobFactory
}

func newTunnelEnv(t *testing.T, mode netlog.CaptureMode) *tunnelEnv {
	loop := nettest.NewLoop(t)
	nl := netlog.New()
	return &tunnelEnv{
		loop:    loop,
		nl:      nl,
		rec:     nettest.NewRecorder(nl, mode),
		common:  &socket.CommonConnectJobParams{Loop: loop, NetLog: nl, Resolver: dns.NewSystemResolver(loop)},
		factory: &http.TunnelJobFactory{UserAgent: testUserAgent},
	}
}

type chanDelegate chan int

func (d chanDelegate) OnConnectJobComplete(rv int, _ socket.ConnectJob) { d <- rv }

// tunnelRun is one job: done hears its result, whether Connect returned it
// or the delegate did.
type tunnelRun struct {
	env      *tunnelEnv
	job      socket.ConnectJob
	delegate chanDelegate
	done     chan int
	syncRV   int
}

// start makes and starts a job tunnelling to dest through server.
func (e *tunnelEnv) start(t *testing.T, server proxy.Server, dest string) *tunnelRun {
	t.Helper()
	host, port := splitAddr(dest)
	r := &tunnelRun{env: e, delegate: make(chanDelegate, 1), done: make(chan int, 1)}
	group := socket.GroupID{Scheme: "https", Host: host, Port: port}
	nested := func(d socket.ConnectJobDelegate) socket.ConnectJob {
		return socket.NewTransportConnectJob(e.common, group, server.Host, server.Port, net.DefaultPriority, d)
	}
	nettest.OnLoop(t, e.loop, func() {
		r.job = e.factory.NewTunnelJob(e.common, group, server, host, port, nested, net.DefaultPriority, r.delegate)
		r.syncRV = r.job.Connect()
	})
	if r.syncRV != net.IOPending {
		r.done <- r.syncRV
	} else {
		go func() {
			if rv, ok := <-r.delegate; ok {
				r.done <- rv
			}
		}()
	}
	return r
}

func (r *tunnelRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case rv := <-r.done:
		return rv
	case <-time.After(nettest.HangGuard):
		t.Fatal("tunnel job hangs")
		return 0
	}
}

// takeSocket returns the job's socket, closed when the test ends.
func (r *tunnelRun) takeSocket(t *testing.T) socket.StreamSocket {
	t.Helper()
	var s socket.StreamSocket
	nettest.OnLoop(t, r.env.loop, func() { s = r.job.TakeSocket() })
	if s == nil {
		t.Fatal("no socket after success")
	}
	t.Cleanup(func() { r.env.loop.PostAndWait(s.Disconnect) })
	return s
}

// connect runs a whole job and returns its result and socket (nil on
// failure).
func (e *tunnelEnv) connect(t *testing.T, server proxy.Server, dest string) (int, socket.StreamSocket) {
	t.Helper()
	r := e.start(t, server, dest)
	rv := r.wait(t)
	if rv != net.OK {
		var s socket.StreamSocket
		nettest.OnLoop(t, e.loop, func() { s = r.job.TakeSocket() })
		if s != nil {
			t.Errorf("failed job (%v) handed out a socket", net.Error(rv))
		}
		return rv, nil
	}
	return rv, r.takeSocket(t)
}

// writeAll writes data to s on the loop.
func writeAll(t *testing.T, loop *net.Loop, s socket.StreamSocket, data []byte) {
	t.Helper()
	done := make(chan int, 1)
	loop.Post(func() {
		var write func()
		off := 0
		handle := func(rv int) bool {
			if rv < 0 {
				done <- rv
				return false
			}
			off += rv
			if off == len(data) {
				done <- net.OK
				return false
			}
			return true
		}
		write = func() {
			for {
				rv := s.Write(data[off:], func(rv int) {
					if handle(rv) {
						write()
					}
				})
				if rv == net.IOPending || !handle(rv) {
					return
				}
			}
		}
		write()
	})
	select {
	case rv := <-done:
		if rv != net.OK {
			t.Fatalf("write: %v", net.Error(rv))
		}
	case <-time.After(nettest.HangGuard):
		t.Fatal("write hangs")
	}
}

// readN reads from s on the loop until n bytes came or the stream ended.
func readN(t *testing.T, loop *net.Loop, s socket.StreamSocket, n int) []byte {
	t.Helper()
	type res struct {
		b  []byte
		rv int
	}
	done := make(chan res, 1)
	loop.Post(func() {
		var got []byte
		buf := make([]byte, 4096)
		var read func()
		handle := func(rv int) bool {
			if rv <= 0 {
				done <- res{got, rv}
				return false
			}
			got = append(got, buf[:rv]...)
			if len(got) >= n {
				done <- res{got, net.OK}
				return false
			}
			return true
		}
		read = func() {
			for {
				rv := s.Read(buf[:min(len(buf), n-len(got))], func(rv int) {
					if handle(rv) {
						read()
					}
				})
				if rv == net.IOPending || !handle(rv) {
					return
				}
			}
		}
		read()
	})
	select {
	case r := <-done:
		if r.rv < 0 {
			t.Fatalf("read: %v after %q", net.Error(r.rv), r.b)
		}
		return r.b
	case <-time.After(nettest.HangGuard):
		t.Fatal("read hangs")
		return nil
	}
}

func wantRV(t *testing.T, got int, want net.Error) {
	t.Helper()
	if got != int(want) {
		t.Fatalf("result %v (%d), want %v", net.Error(got), got, want)
	}
}

func TestTunnelDeliversEarlyBytesThenRelays(t *testing.T) {
	origin := newEchoOrigin(t)
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		// The head and the destination's first bytes in one segment.
		c.WriteString(established + "EARLY")
		relay(c, origin.Addr)
	})
	e := newTunnelEnv(t, netlog.Default)
	rv, s := e.connect(t, p.server(), "127.0.0.1:4433")
	wantRV(t, rv, net.OK)

	heads := p.Heads()
	if len(heads) != 1 {
		t.Fatalf("%d CONNECTs, want 1", len(heads))
	}
	h := heads[0]
	if h.line != "CONNECT 127.0.0.1:4433 HTTP/1.1" {
		t.Errorf("request line %q", h.line)
	}
	want := []string{"Host: 127.0.0.1:4433", "Proxy-Connection: keep-alive", "User-Agent: " + testUserAgent}
	if strings.Join(h.fields, "|") != strings.Join(want, "|") {
		t.Errorf("headers %q, want %q (Chromium's order)", h.fields, want)
	}

	if got := readN(t, e.loop, s, 5); string(got) != "EARLY" {
		t.Fatalf("first read %q, want the bytes after the head", got)
	}
	writeAll(t, e.loop, s, []byte("ping through the tunnel"))
	if got := readN(t, e.loop, s, 23); string(got) != "ping through the tunnel" {
		t.Fatalf("echo %q", got)
	}
	var proto string
	nettest.OnLoop(t, e.loop, func() { proto = s.NegotiatedProtocol() })
	if proto != "" {
		t.Errorf("NegotiatedProtocol %q, want none for a tunnel", proto)
	}

	// The job's NetLog, as Chromium's.
	var src uint32
	for _, en := range e.rec.Find(netlog.EventConnectJob, netlog.PhaseBegin, 0) {
		if en.Source.Type == netlog.SourceHTTPProxyConnectJob {
			src = en.Source.ID
			if g := en.Params["group_id"]; g != "https://127.0.0.1:4433" {
				t.Errorf("group_id %v", g)
			}
		}
	}
	if src == 0 {
		t.Fatalf("no CONNECT_JOB on an HTTP_PROXY_CONNECT_JOB source: %v", e.rec.Describe())
	}
	for _, ev := range []struct {
		t  netlog.EventType
		ph netlog.Phase
	}{
		{netlog.EventHTTPProxyConnectJobConnect, netlog.PhaseBegin},
		{netlog.EventHTTPProxyConnectJobConnect, netlog.PhaseEnd},
		{netlog.EventHTTPTransactionTunnelSendRequest, netlog.PhaseBegin},
		{netlog.EventHTTPTransactionTunnelSendRequest, netlog.PhaseEnd},
		{netlog.EventHTTPTransactionTunnelReadHeaders, netlog.PhaseBegin},
		{netlog.EventHTTPTransactionTunnelReadHeaders, netlog.PhaseEnd},
		{netlog.EventConnectJobSetSocket, netlog.PhaseNone},
		{netlog.EventConnectJob, netlog.PhaseEnd},
	} {
		e.rec.One(t, ev.t, ev.ph, src)
	}
	sent := e.rec.One(t, netlog.EventHTTPTransactionSendTunnelHeaders, netlog.PhaseNone, src)
	if sent.Params["line"] != "CONNECT 127.0.0.1:4433 HTTP/1.1\r\n" {
		t.Errorf("logged line %q", sent.Params["line"])
	}
	got := e.rec.One(t, netlog.EventHTTPTransactionReadTunnelResponseHeaders, netlog.PhaseNone, src)
	if hs, _ := got.Params["headers"].([]any); len(hs) == 0 || hs[0] != "HTTP/1.1 200 Connection established" {
		t.Errorf("logged response headers %v", got.Params["headers"])
	}
}

func TestTunnelAnyTwoHundredOpens(t *testing.T) {
	origin := newEchoOrigin(t)
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		// An interim reply first, then a 2xx other than 200.
		c.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
		time.Sleep(10 * time.Millisecond)
		c.WriteString("HTTP/1.0 204 Tunnel ready\r\nProxy-agent: x\r\n\r\n")
		relay(c, origin.Addr)
	})
	e := newTunnelEnv(t, netlog.Default)
	rv, s := e.connect(t, p.server(), "127.0.0.1:443")
	wantRV(t, rv, net.OK)
	writeAll(t, e.loop, s, []byte("x"))
	if got := readN(t, e.loop, s, 1); string(got) != "x" {
		t.Fatalf("echo %q", got)
	}
}

// authProxy answers the first CONNECT of each connection without
// Proxy-Authorization with reply407, and one with the right credentials
// with 200 and a relay. With closeAfter407 it closes after the 407.
func authProxy(t *testing.T, origin string, reply407 string, closeAfter407 bool) *scriptedProxy {
	want := basic("user", "pa:ss")
	return newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		for {
			h, err := p.readConnect(c, n)
			if err != nil {
				return
			}
			if got, _ := h.get("Proxy-Authorization"); got == want {
				c.WriteString(established)
				relay(c, origin)
				return
			}
			c.WriteString(reply407)
			if closeAfter407 {
				return
			}
		}
	})
}

func withCreds(s proxy.Server) proxy.Server {
	s.Username, s.Password = "user", "pa:ss"
	return s
}

func checkAuthFlow(t *testing.T, p *scriptedProxy, wantConns []int) {
	t.Helper()
	heads := p.Heads()
	if len(heads) != len(wantConns) {
		t.Fatalf("%d CONNECTs, want %d: %+v", len(heads), len(wantConns), heads)
	}
	for i, h := range heads {
		if h.conn != wantConns[i] {
			t.Errorf("CONNECT %d on connection %d, want %d", i, h.conn, wantConns[i])
		}
		got, ok := h.get("Proxy-Authorization")
		if i == 0 && ok {
			t.Errorf("first CONNECT carries Proxy-Authorization %q before any challenge", got)
		}
		if i > 0 && got != basic("user", "pa:ss") {
			t.Errorf("CONNECT %d: Proxy-Authorization %q, want %q", i, got, basic("user", "pa:ss"))
		}
	}
}

func TestTunnelAuthSameConnection(t *testing.T) {
	origin := newEchoOrigin(t)
	for _, tc := range []struct {
		name  string
		reply string
	}{
		{"content-length", "HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + "Content-Length: 10\r\n\r\n0123456789"},
		{"empty", "HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + "Content-Length: 0\r\n\r\n"},
		{"chunked", "HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
		{"digest and basic", "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest realm=\"x\", nonce=\"y\"\r\n" + challenge + "Content-Length: 2\r\n\r\nno"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := authProxy(t, origin.Addr, tc.reply, false)
			e := newTunnelEnv(t, netlog.Default)
			rv, s := e.connect(t, withCreds(p.server()), "127.0.0.1:443")
			wantRV(t, rv, net.OK)
			checkAuthFlow(t, p, []int{0, 0})
			writeAll(t, e.loop, s, []byte("hi"))
			if got := readN(t, e.loop, s, 2); string(got) != "hi" {
				t.Fatalf("echo %q", got)
			}
		})
	}
}

// A 407 body that arrives after a pause is drained from the socket, not
// only from what came with the head.
func TestTunnelAuthDrainsSlowBody(t *testing.T) {
	origin := newEchoOrigin(t)
	want := basic("user", "pa:ss")
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		for {
			h, err := p.readConnect(c, n)
			if err != nil {
				return
			}
			if got, _ := h.get("Proxy-Authorization"); got == want {
				c.WriteString(established)
				relay(c, origin.Addr)
				return
			}
			c.WriteString("HTTP/1.1 407 Auth\r\n" + challenge + "Transfer-Encoding: chunked\r\n\r\n4\r\nab")
			time.Sleep(30 * time.Millisecond)
			c.WriteString("cd\r\n1000\r\n" + strings.Repeat("z", 4096) + "\r\n0\r\n\r\n")
		}
	})
	e := newTunnelEnv(t, netlog.Default)
	rv, _ := e.connect(t, withCreds(p.server()), "127.0.0.1:443")
	wantRV(t, rv, net.OK)
	checkAuthFlow(t, p, []int{0, 0})
}

func TestTunnelAuthNewConnection(t *testing.T) {
	origin := newEchoOrigin(t)
	for _, tc := range []struct {
		name  string
		reply string
	}{
		{"connection close", "HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + "Connection: close\r\nContent-Length: 3\r\n\r\nbye"},
		// tinyproxy's: HTTP/1.0 and a body that ends with the connection.
		{"close-delimited", "HTTP/1.0 407 Proxy Authentication Required\r\n" + challenge + "Content-Type: text/html\r\n\r\n<html>denied</html>"},
		// Keep-alive, but no way to find the body's end.
		{"no framing", "HTTP/1.1 407 Proxy Authentication Required\r\n" + challenge + "\r\nbody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := authProxy(t, origin.Addr, tc.reply, true)
			e := newTunnelEnv(t, netlog.Default)
			rv, s := e.connect(t, withCreds(p.server()), "127.0.0.1:443")
			wantRV(t, rv, net.OK)
			checkAuthFlow(t, p, []int{0, 1})
			if n := p.Accepted(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
			writeAll(t, e.loop, s, []byte("hi"))
			if got := readN(t, e.loop, s, 2); string(got) != "hi" {
				t.Fatalf("echo %q", got)
			}
		})
	}
}

// A proxy that accepted our credentials gets them up front next time when
// the factory has an auth cache.
func TestTunnelAuthCachePreempts(t *testing.T) {
	origin := newEchoOrigin(t)
	p := authProxy(t, origin.Addr, "HTTP/1.1 407 Auth\r\n"+challenge+"Content-Length: 0\r\n\r\n", false)
	e := newTunnelEnv(t, netlog.Default)
	e.factory.AuthCache = http.NewProxyAuthCache()
	rv, _ := e.connect(t, withCreds(p.server()), "127.0.0.1:443")
	wantRV(t, rv, net.OK)
	rv, _ = e.connect(t, withCreds(p.server()), "127.0.0.1:443")
	wantRV(t, rv, net.OK)
	heads := p.Heads()
	if len(heads) != 3 {
		t.Fatalf("%d CONNECTs, want 3 (challenge, answer, preemptive)", len(heads))
	}
	if got, _ := heads[2].get("Proxy-Authorization"); got != basic("user", "pa:ss") {
		t.Errorf("second tunnel's first CONNECT: Proxy-Authorization %q", got)
	}
	// Other credentials for the same proxy are not preempted.
	other := p.server()
	other.Username, other.Password = "someone", "else"
	rv, _ = e.connect(t, other, "127.0.0.1:443")
	wantRV(t, rv, net.ErrProxyAuthRequested)
	if got, ok := p.Heads()[3].get("Proxy-Authorization"); ok {
		t.Errorf("credentials %q sent before a challenge", got)
	}
}

func TestTunnelAuthFailures(t *testing.T) {
	origin := newEchoOrigin(t)
	const head = "HTTP/1.1 407 Proxy Authentication Required\r\n"
	for _, tc := range []struct {
		name     string
		reply    string
		creds    bool
		want     net.Error
		connects int
	}{
		{"no credentials", head + challenge + "Content-Length: 0\r\n\r\n", false, net.ErrProxyAuthRequested, 1},
		{"wrong credentials", head + challenge + "Content-Length: 0\r\n\r\n", true, net.ErrProxyAuthRequested, 2},
		{"wrong credentials, close", head + challenge + "Connection: close\r\n\r\n", true, net.ErrProxyAuthRequested, 2},
		{"digest only", head + "Proxy-Authenticate: Digest realm=\"x\", nonce=\"1\"\r\nContent-Length: 0\r\n\r\n", true, net.ErrProxyAuthRequested, 1},
		{"no challenge", head + "Content-Length: 0\r\n\r\n", true, net.ErrProxyAuthUnsupported, 1},
		{"unknown scheme", head + "Proxy-Authenticate: Bogus x=1\r\nContent-Length: 0\r\n\r\n", true, net.ErrProxyAuthUnsupported, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// This proxy never accepts anything.
			p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
				for {
					if _, err := p.readConnect(c, n); err != nil {
						return
					}
					c.WriteString(tc.reply)
				}
			})
			srv := p.server()
			if tc.creds {
				srv = withCreds(srv)
			}
			e := newTunnelEnv(t, netlog.Default)
			rv, _ := e.connect(t, srv, origin.Addr)
			wantRV(t, rv, tc.want)
			if n := len(p.Heads()); n != tc.connects {
				t.Errorf("%d CONNECTs, want %d", n, tc.connects)
			}
		})
	}
}

func TestTunnelRefusedReplies(t *testing.T) {
	const secret = "SECRET-PROXY-BODY"
	for _, tc := range []struct {
		name  string
		reply string
		want  net.Error
	}{
		{"403", "HTTP/1.1 403 Forbidden\r\nContent-Length: 17\r\n\r\n" + secret, net.ErrTunnelConnectionFailed},
		{"502", "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 17\r\n\r\n" + secret, net.ErrTunnelConnectionFailed},
		{"401", "HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n" + secret, net.ErrTunnelConnectionFailed},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n" + secret, net.ErrTunnelConnectionFailed},
		{"302", "HTTP/1.1 302 Found\r\nLocation: http://evil.example/\r\nContent-Length: 17\r\n\r\n" + secret, net.ErrTunnelConnectionFailed},
		{"garbage", "SSH-2.0-OpenSSH_9.2\r\n" + secret + "\r\n\r\n", net.ErrTunnelConnectionFailed},
		{"http/0.9 status", "HTTP/0.9 200 OK\r\n\r\n", net.ErrTunnelConnectionFailed},
		{"bad status code", "HTTP/1.1 2x0 OK\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"closed mid-head", "HTTP/1.1 200 Connection est", net.ErrResponseHeadersTruncated},
		{"closed at once", "", net.ErrEmptyResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
				if _, err := p.readConnect(c, n); err != nil {
					return
				}
				c.WriteString(tc.reply)
				// Then close: the tests for errors that need the
				// proxy to keep the connection open are below.
			})
			e := newTunnelEnv(t, netlog.Everything)
			start := time.Now()
			rv, _ := e.connect(t, p.server(), "127.0.0.1:443")
			wantRV(t, rv, tc.want)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("failing took %v", d)
			}
			// The proxy's body reaches nobody, not even the NetLog's
			// parsed events (only raw socket bytes in Everything mode).
			for _, en := range e.rec.All() {
				if en.Type == netlog.EventSocketBytesReceived {
					continue
				}
				if strings.Contains(fmt.Sprint(en.Params), secret) {
					t.Errorf("%v carries the proxy's body: %v", en.Type, en.Params)
				}
			}
		})
	}
}

// A babbling proxy that keeps the connection open fails at once, not at
// the tunnel timeout.
func TestTunnelGarbageFailsWithoutWaiting(t *testing.T) {
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		c.WriteString("220 smtp.example ESMTP ready\r\n")
		c.Stall()
	})
	e := newTunnelEnv(t, netlog.Default)
	e.common.Timeouts.Tunnel = 20 * time.Second
	start := time.Now()
	rv, _ := e.connect(t, p.server(), "127.0.0.1:443")
	wantRV(t, rv, net.ErrTunnelConnectionFailed)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("failing took %v", d)
	}
}

func TestTunnelHeadTooBig(t *testing.T) {
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		c.WriteString("HTTP/1.1 200 OK\r\n")
		line := "X-Filler: " + strings.Repeat("f", 1000) + "\r\n"
		for i := 0; i < 300; i++ {
			c.WriteString(line)
		}
		c.Stall()
	})
	e := newTunnelEnv(t, netlog.Default)
	rv, _ := e.connect(t, p.server(), "127.0.0.1:443")
	wantRV(t, rv, net.ErrResponseHeadersTooBig)
}

func TestTunnelTimeout(t *testing.T) {
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		c.WriteString("HTTP/1.1 200 ") // and then nothing
		c.Stall()
	})
	e := newTunnelEnv(t, netlog.Default)
	e.common.Timeouts.Tunnel = 150 * time.Millisecond
	r := e.start(t, p.server(), "127.0.0.1:443")

	// While the proxy sits on the CONNECT, the job says so.
	if !testserver.Eventually(nettest.HangGuard, func() bool {
		var ls net.LoadState
		e.loop.PostAndWait(func() { ls = r.job.LoadState() })
		return ls == net.LoadStateEstablishingProxyTunnel
	}) {
		t.Fatal("load state never became ESTABLISHING_PROXY_TUNNEL")
	}
	start := time.Now()
	wantRV(t, r.wait(t), net.ErrTimedOut)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timed out after %v", d)
	}
	var src uint32
	nettest.OnLoop(t, e.loop, func() { src = r.job.NetLog().Source().ID })
	e.rec.One(t, netlog.EventConnectJobTimedOut, netlog.PhaseNone, src)
	end := e.rec.One(t, netlog.EventHTTPTransactionTunnelReadHeaders, netlog.PhaseEnd, src)
	if end.Params["net_error"] != int(net.ErrTimedOut) {
		t.Errorf("read headers phase ended with %v", end.Params)
	}
	end = e.rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, src)
	if end.Params["net_error"] != int(net.ErrTimedOut) {
		t.Errorf("CONNECT_JOB ended with %v", end.Params)
	}
}

// The tunnel timer starts after the proxy connection is up and covers the
// auth restart too; a slow but steady proxy within it succeeds.
func TestTunnelSlowProxyWithinTimeout(t *testing.T) {
	origin := newEchoOrigin(t)
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		if c.WriteSlowly(established, 2*time.Millisecond) != nil {
			return
		}
		relay(c, origin.Addr)
	})
	e := newTunnelEnv(t, netlog.Default)
	rv, s := e.connect(t, p.server(), "127.0.0.1:443")
	wantRV(t, rv, net.OK)
	writeAll(t, e.loop, s, []byte("slow"))
	if got := readN(t, e.loop, s, 4); string(got) != "slow" {
		t.Fatalf("echo %q", got)
	}
}

func TestTunnelProxyRefused(t *testing.T) {
	l, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	host, port := splitAddr(addr)
	e := newTunnelEnv(t, netlog.Default)
	rv, _ := e.connect(t, proxy.Server{Scheme: proxy.SchemeHTTP, Host: host, Port: port}, "127.0.0.1:443")
	wantRV(t, rv, net.ErrProxyConnectionFailed)
}

// fakeNestedJob fails asynchronously with a given error, standing in for a
// TLS job to an HTTPS proxy.
type fakeNestedJob struct {
	loop     *net.Loop
	nl       netlog.WithSource
	rv       int
	delegate socket.ConnectJobDelegate
	task     *net.DelayedTask
}

func (f *fakeNestedJob) Connect() int {
	f.task = f.loop.PostDelayed(time.Millisecond, func() { f.delegate.OnConnectJobComplete(f.rv, f) })
	return net.IOPending
}
func (f *fakeNestedJob) TakeSocket() socket.StreamSocket { return nil }
func (f *fakeNestedJob) LoadState() net.LoadState        { return net.LoadStateSSLHandshake }
func (f *fakeNestedJob) NetLog() netlog.WithSource       { return f.nl }
func (f *fakeNestedJob) Cancel()                         { f.task.Cancel() }

func TestTunnelNestedErrorsMapped(t *testing.T) {
	for _, tc := range []struct {
		nested, want net.Error
	}{
		{net.ErrCertAuthorityInvalid, net.ErrProxyCertificateInvalid},
		{net.ErrCertDateInvalid, net.ErrProxyCertificateInvalid},
		{net.ErrSSLProtocolError, net.ErrProxyConnectionFailed},
		{net.ErrNameNotResolved, net.ErrProxyConnectionFailed},
		{net.ErrTimedOut, net.ErrProxyConnectionFailed},
		{net.ErrSSLClientAuthCertNeeded, net.ErrSSLClientAuthCertNeeded},
	} {
		t.Run(tc.nested.Name(), func(t *testing.T) {
			e := newTunnelEnv(t, netlog.Default)
			done := make(chanDelegate, 1)
			var job socket.ConnectJob
			nettest.OnLoop(t, e.loop, func() {
				nested := func(d socket.ConnectJobDelegate) socket.ConnectJob {
					return &fakeNestedJob{loop: e.loop, nl: netlog.NewSource(e.nl, netlog.SourceSSLConnectJob), rv: int(tc.nested), delegate: d}
				}
				srv := proxy.Server{Scheme: proxy.SchemeHTTPS, Host: "proxy.example", Port: 443}
				job = e.factory.NewTunnelJob(e.common, socket.GroupID{Scheme: "https", Host: "a.example", Port: 443}, srv, "a.example", 443, nested, net.DefaultPriority, done)
				if rv := job.Connect(); rv != net.IOPending {
					t.Errorf("Connect: %v, want IO_PENDING", net.Error(rv))
				}
				if ls := job.LoadState(); ls != net.LoadStateSSLHandshake {
					t.Errorf("load state %v, want the nested job's", ls)
				}
			})
			select {
			case rv := <-done:
				wantRV(t, rv, tc.want)
			case <-time.After(nettest.HangGuard):
				t.Fatal("hangs")
			}
		})
	}
}

func TestTunnelCancel(t *testing.T) {
	for _, phase := range []string{"connecting", "tunnel"} {
		t.Run(phase, func(t *testing.T) {
			reached := make(chan struct{}, 1)
			p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
				if _, err := p.readConnect(c, n); err != nil {
					return
				}
				reached <- struct{}{}
				c.Stall()
			})
			e := newTunnelEnv(t, netlog.Default)
			baseline := testserver.GoroutineBaseline()
			r := e.start(t, p.server(), "127.0.0.1:443")
			if phase == "tunnel" {
				select {
				case <-reached:
				case <-time.After(nettest.HangGuard):
					t.Fatal("CONNECT never reached the proxy")
				}
			}
			nettest.OnLoop(t, e.loop, r.job.Cancel)
			nettest.ExpectNone(t, r.delegate, "cancelled job")
			var s socket.StreamSocket
			nettest.OnLoop(t, e.loop, func() { s = r.job.TakeSocket() })
			if s != nil {
				t.Error("cancelled job handed out a socket")
			}
			var src uint32
			nettest.OnLoop(t, e.loop, func() { src = r.job.NetLog().Source().ID })
			end := e.rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, src)
			if end.Params["net_error"] != int(net.ErrAborted) {
				t.Errorf("CONNECT_JOB ended with %v", end.Params)
			}
			// The proxy sees the connection close, and no goroutine of
			// ours (socket waits, the relay's handler) survives it.
			if !p.WaitAllClosed(nettest.HangGuard) {
				t.Error("the proxy connection stayed open after Cancel")
			}
			close(r.delegate)
			testserver.CheckGoroutines(t, baseline)
		})
	}
}

// SEND_TUNNEL_HEADERS shows credentials only from IncludeSensitive up.
func TestTunnelNetLogElidesCredentials(t *testing.T) {
	origin := newEchoOrigin(t)
	for _, mode := range []netlog.CaptureMode{netlog.Default, netlog.IncludeSensitive} {
		t.Run(mode.String(), func(t *testing.T) {
			p := authProxy(t, origin.Addr, "HTTP/1.1 407 Auth\r\n"+challenge+"Content-Length: 0\r\n\r\n", false)
			e := newTunnelEnv(t, mode)
			rv, _ := e.connect(t, withCreds(p.server()), "127.0.0.1:443")
			wantRV(t, rv, net.OK)
			sent := e.rec.Find(netlog.EventHTTPTransactionSendTunnelHeaders, netlog.PhaseNone, 0)
			if len(sent) != 2 {
				t.Fatalf("%d SEND_TUNNEL_HEADERS, want 2", len(sent))
			}
			hs := fmt.Sprint(sent[1].Params["headers"])
			secret := basic("user", "pa:ss")
			if mode.IncludesSensitive() != strings.Contains(hs, secret) {
				t.Errorf("mode %v: logged headers %s", mode, hs)
			}
			if !strings.Contains(hs, "Proxy-Authorization: ") {
				t.Errorf("Proxy-Authorization not logged at all: %s", hs)
			}
			// The 407 is logged too, its Basic challenge whole.
			got := e.rec.Find(netlog.EventHTTPTransactionReadTunnelResponseHeaders, netlog.PhaseNone, 0)
			if len(got) != 2 || !strings.Contains(fmt.Sprint(got[0].Params["headers"]), `Basic realm="test"`) {
				t.Errorf("logged replies %v", got)
			}
			ends := e.rec.Find(netlog.EventHTTPTransactionTunnelReadHeaders, netlog.PhaseEnd, 0)
			if len(ends) != 2 || ends[0].Params["net_error"] != int(net.ErrProxyAuthRequested) {
				t.Errorf("read headers ends %v", ends)
			}
		})
	}
}

// An IPv6 destination is bracketed in the CONNECT line, and bulk data
// crosses the tunnel both ways.
func TestTunnelIPv6DestinationAndBulkData(t *testing.T) {
	origin := newEchoOrigin(t)
	p := newScriptedProxy(t, func(p *scriptedProxy, c *testserver.Conn, n int) {
		if _, err := p.readConnect(c, n); err != nil {
			return
		}
		c.WriteString(established)
		relay(c, origin.Addr)
	})
	e := newTunnelEnv(t, netlog.Default)
	rv, s := e.connect(t, p.server(), "[::ffff:127.0.0.1]:8443")
	wantRV(t, rv, net.OK)
	if h := p.Heads()[0]; h.line != "CONNECT [::ffff:127.0.0.1]:8443 HTTP/1.1" {
		t.Errorf("IPv6 destination: %q", h.line)
	}
	big := []byte(strings.Repeat("0123456789", 3000))
	writeAll(t, e.loop, s, big)
	if got := readN(t, e.loop, s, len(big)); string(got) != string(big) {
		t.Fatalf("echoed %d bytes, want %d", len(got), len(big))
	}
}

// BenchmarkTunnelConnect measures a whole tunnel: TCP to a local proxy,
// CONNECT, the 200, and the socket handed out and closed.
func BenchmarkTunnelConnect(b *testing.B) {
	p := testserver.NewRaw(b, func(c *testserver.Conn) {
		for {
			line, err := c.R.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\r\n" {
				c.WriteString(established)
			}
		}
	})
	loop := nettest.NewLoop(b)
	nl := netlog.New()
	common := &socket.CommonConnectJobParams{Loop: loop, NetLog: nl, Resolver: dns.NewSystemResolver(loop)}
	factory := &http.TunnelJobFactory{UserAgent: testUserAgent}
	host, port := splitAddr(p.Addr)
	srv := proxy.Server{Scheme: proxy.SchemeHTTP, Host: host, Port: port}
	group := socket.GroupID{Scheme: "https", Host: "origin.test", Port: 443}
	nested := func(d socket.ConnectJobDelegate) socket.ConnectJob {
		return socket.NewTransportConnectJob(common, group, host, port, net.DefaultPriority, d)
	}
	done := make(chanDelegate, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var job socket.ConnectJob
		loop.Post(func() {
			job = factory.NewTunnelJob(common, group, srv, "origin.test", 443, nested, net.DefaultPriority, done)
			if rv := job.Connect(); rv != net.IOPending {
				done <- rv
			}
		})
		if rv := <-done; rv != net.OK {
			b.Fatalf("tunnel: %v", net.Error(rv))
		}
		loop.PostAndWait(func() { job.TakeSocket().Disconnect() })
	}
}
