package http_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	gonet "net"
	nethttp "net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/socket"
)

// The HTTP/2 tests run sessions against an httptest server speaking HTTP/2
// over TLS (ALPN h2). Sockets come from a real socket pool whose connect
// jobs are the stack's own SSLConnectJob over a TransportConnectJob, so the
// session runs over an SSLClientSocket through a BlockingConn; one test
// variant uses tlsConnJob instead, a test-only socket that lends its
// *tls.Conn to the session (the session's fast path).

// h2Server is an HTTP/2 test server counting its TCP connections.
type h2Server struct {
	*httptest.Server
	conns atomic.Int64
}

func newH2Server(t testing.TB, h nethttp.Handler) *h2Server {
	t.Helper()
	s := &h2Server{}
	s.Server = httptest.NewUnstartedServer(h)
	s.EnableHTTP2 = true
	s.Config.ConnState = func(_ gonet.Conn, st nethttp.ConnState) {
		if st == nethttp.StateNew {
			s.conns.Add(1)
		}
	}
	// Handler panics and resets are what some tests want: keep them quiet.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *h2Server) hostPort() (string, uint16) {
	u, _ := url.Parse(s.URL)
	port, _ := strconv.Atoi(u.Port())
	return u.Hostname(), uint16(port)
}

// h2Env is a loop, a NetLog recorder, a socket pool for one server and an
// H2SessionPool.
type h2Env struct {
	t      testing.TB
	loop   *net.Loop
	nl     *netlog.NetLog
	rec    *nettest.Recorder
	srv    *h2Server
	pool   *socket.ClientSocketPool
	h2pool *http.H2SessionPool
	group  socket.GroupID
	key    http.H2SessionKey
}

type h2EnvOptions struct {
	// fastPath makes sockets that lend their *tls.Conn to the session.
	fastPath bool
	// http1 makes the server offer only http/1.1.
	http1 bool
}

func newH2Env(t testing.TB, h nethttp.Handler) *h2Env {
	return newH2EnvWith(t, h, h2EnvOptions{})
}

func newH2EnvWith(t testing.TB, h nethttp.Handler, o h2EnvOptions) *h2Env {
	t.Helper()
	e := &h2Env{t: t, loop: nettest.NewLoop(t), nl: netlog.New()}
	e.rec = nettest.NewRecorder(e.nl, netlog.IncludeSensitive)
	if o.http1 {
		srv := &h2Server{Server: httptest.NewUnstartedServer(h)}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		e.srv = srv
	} else {
		e.srv = newH2Server(t, h)
	}
	host, port := e.srv.hostPort()
	e.group = socket.GroupID{Scheme: "https", Host: host, Port: port}
	e.key = http.H2SessionKey{Group: e.group}
	roots := x509.NewCertPool()
	roots.AddCert(e.srv.Certificate())
	common := &socket.CommonConnectJobParams{
		Loop:     e.loop,
		NetLog:   e.nl,
		Resolver: dns.NewSystemResolver(e.loop),
		SSL:      &socket.SSLConfig{RootCAs: roots},
	}
	var factory socket.ConnectJobFactory = sslJobFactory{common}
	if o.fastPath {
		factory = tlsConnJobFactory{loop: e.loop, nl: e.nl, roots: roots}
	}
	nettest.OnLoop(t, e.loop, func() {
		e.pool = socket.NewClientSocketPool(e.loop, e.nl, "test", factory, socket.PoolOptions{})
		e.h2pool = http.NewH2SessionPool()
	})
	// Cleanups run last-registered first: sessions close before the
	// server and the loop go away.
	t.Cleanup(func() {
		e.loop.PostAndWait(func() {
			e.h2pool.CloseAll()
			e.pool.Close()
		})
	})
	return e
}

// sslJobFactory makes the stack's TLS connect jobs.
type sslJobFactory struct {
	common *socket.CommonConnectJobParams
}

func (f sslJobFactory) NewConnectJob(g socket.GroupID, p net.RequestPriority, d socket.ConnectJobDelegate) socket.ConnectJob {
	nested := func(d socket.ConnectJobDelegate) socket.ConnectJob {
		return socket.NewTransportConnectJob(f.common, g, g.Host, g.Port, p, d)
	}
	return socket.NewSSLConnectJob(f.common, g, g.Host, g.Port, nested, p, d)
}

// onLoop runs f on the loop and returns its result.
func h2OnLoop[T any](e *h2Env, f func() T) T {
	e.t.Helper()
	var v T
	nettest.OnLoop(e.t, e.loop, func() { v = f() })
	return v
}

// socketHandle takes a connected socket from the pool.
func (e *h2Env) socketHandle() *socket.ClientSocketHandle {
	e.t.Helper()
	h := &socket.ClientSocketHandle{}
	done := make(chan int, 1)
	e.loop.Post(func() {
		rv := h.Init(e.group, net.DefaultPriority, 0, e.pool, func(rv int) { done <- rv }, netlog.WithSource{})
		if rv != net.IOPending {
			done <- rv
		}
	})
	if rv := h2WaitRV(e.t, done); rv != net.OK {
		e.t.Fatalf("socket: %v", net.Error(rv))
	}
	return h
}

// newSession makes a session on a fresh socket and adds it to the pool.
func (e *h2Env) newSession() *http.H2Session {
	e.t.Helper()
	h := e.socketHandle()
	var s *http.H2Session
	var err error
	nettest.OnLoop(e.t, e.loop, func() {
		s, err = http.NewH2Session(e.loop, e.key, h, e.nl)
		if err == nil {
			e.h2pool.Add(s, netlog.WithSource{})
		}
	})
	if err != nil {
		e.t.Fatalf("NewH2Session: %v", err)
	}
	return s
}

func h2WaitRV(t testing.TB, c <-chan int) int {
	t.Helper()
	select {
	case rv := <-c:
		return rv
	case <-time.After(nettest.HangGuard):
		t.Fatal("no callback")
		return 0
	}
}

// h2Result is the outcome of one exchange.
type h2Result struct {
	rv      int // the first error, or OK
	stage   string
	resp    *http.ResponseInfo
	body    []byte
	stream  *http.H2Stream
	nlSrc   netlog.Source
	reused  bool
	recvLen int64
}

// h2Request describes one exchange driven by h2Exchange.
type h2Request struct {
	method string
	path   string
	upload http.UploadDataStream
	header [][2]string
	// bodyBuf is the size of each ReadResponseBody.
	bodyBuf int
	// stopAfter closes the stream once that many body bytes were read.
	stopAfter int
	// onHeaders runs on the loop when the response headers are in.
	onHeaders func()
}

// start runs one request on s on the loop, as a NetworkTransaction would:
// SendRequest, ReadResponseHeaders, ReadResponseBody until the end, Close.
// The result arrives on the channel.
func (e *h2Env) start(s *http.H2Session, r h2Request) <-chan h2Result {
	out := make(chan h2Result, 1)
	e.loop.Post(func() { e.exchange(s, r, out) })
	return out
}

func (e *h2Env) exchange(s *http.H2Session, r h2Request, out chan<- h2Result) {
	if r.method == "" {
		r.method = "GET"
	}
	if r.bodyBuf == 0 {
		r.bodyBuf = 16 << 10
	}
	u, _ := url.Parse(e.srv.URL + r.path)
	info := &http.RequestInfo{Method: r.method, URL: u, Upload: r.upload}
	// The headers a NetworkTransaction builds, hop-by-hop ones included:
	// the stream must drop them.
	var hdrs http.RequestHeaders
	hdrs.Set("Host", u.Host)
	hdrs.Set("Connection", "keep-alive")
	if r.upload != nil {
		if r.upload.Size() >= 0 {
			hdrs.Set("Content-Length", strconv.FormatInt(r.upload.Size(), 10))
		} else {
			hdrs.Set("Transfer-Encoding", "chunked")
		}
	}
	for _, h := range r.header {
		hdrs.Add(h[0], h[1])
	}
	reqNL := netlog.NewSource(e.nl, netlog.SourceURLRequest)
	st := s.NewStream(reqNL)
	res := h2Result{resp: &http.ResponseInfo{}, stream: st, nlSrc: reqNL.Source(), reused: st.IsConnectionReused()}
	buf := make([]byte, r.bodyBuf)
	var readBody func()
	finish := func(rv int, stage string) {
		res.rv, res.stage = rv, stage
		res.recvLen = st.ReceivedBytes()
		st.Close(rv < 0)
		out <- res
	}
	onBody := func(rv int) bool {
		switch {
		case rv < 0:
			finish(rv, "body")
			return false
		case rv == 0:
			if !st.IsResponseBodyComplete() {
				finish(int(net.ErrUnexpected), "body complete")
				return false
			}
			finish(net.OK, "")
			return false
		}
		res.body = append(res.body, buf[:rv]...)
		if r.stopAfter > 0 && len(res.body) >= r.stopAfter {
			finish(net.OK, "stopped")
			return false
		}
		return true
	}
	readBody = func() {
		for {
			rv := st.ReadResponseBody(buf, func(rv int) {
				if onBody(rv) {
					readBody()
				}
			})
			if rv == net.IOPending || !onBody(rv) {
				return
			}
		}
	}
	onHeaders := func(rv int) {
		if rv < 0 {
			finish(rv, "headers")
			return
		}
		if r.onHeaders != nil {
			r.onHeaders()
		}
		readBody()
	}
	readHeaders := func() {
		rv := st.ReadResponseHeaders(onHeaders)
		if rv != net.IOPending {
			onHeaders(rv)
		}
	}
	onSent := func(rv int) {
		if rv < 0 {
			finish(rv, "send")
			return
		}
		readHeaders()
	}
	requestLine := r.method + " " + u.RequestURI() + " HTTP/1.1\r\n"
	rv := st.SendRequest(info, requestLine, &hdrs, res.resp, onSent)
	if rv != net.IOPending {
		onSent(rv)
	}
}

func (e *h2Env) wait(c <-chan h2Result) h2Result {
	e.t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(nettest.HangGuard):
		e.t.Fatal("the exchange did not finish")
		return h2Result{}
	}
}

// fetch runs one exchange to the end.
func (e *h2Env) fetch(s *http.H2Session, r h2Request) h2Result {
	e.t.Helper()
	return e.wait(e.start(s, r))
}

// eventually waits for cond, evaluated on the loop.
func (e *h2Env) eventually(what string, cond func() bool) {
	e.t.Helper()
	ok := testserver.Eventually(nettest.HangGuard, func() bool {
		var v bool
		if !e.loop.PostAndWait(func() { v = cond() }) {
			return false
		}
		return v
	})
	if !ok {
		e.t.Fatalf("timed out waiting: %s", what)
	}
}

// tlsConnJobFactory makes connect jobs that dial TLS themselves and produce
// a tlsConnSocket: a test-only socket that lends its *tls.Conn to the
// session, as a TLS socket with that accessor would.
type tlsConnJobFactory struct {
	loop  *net.Loop
	nl    *netlog.NetLog
	roots *x509.CertPool
}

func (f tlsConnJobFactory) NewConnectJob(g socket.GroupID, _ net.RequestPriority, d socket.ConnectJobDelegate) socket.ConnectJob {
	return &tlsConnJob{f: f, group: g, delegate: d, nl: netlog.NewSource(f.nl, netlog.SourceSSLConnectJob)}
}

type tlsConnJob struct {
	f        tlsConnJobFactory
	group    socket.GroupID
	delegate socket.ConnectJobDelegate
	nl       netlog.WithSource
	op       net.Op
	sock     *tlsConnSocket
}

func (j *tlsConnJob) Connect() int {
	addr := gonet.JoinHostPort(j.group.Host, strconv.Itoa(int(j.group.Port)))
	cfg := &tls.Config{RootCAs: j.f.roots, NextProtos: []string{"h2", "http/1.1"}}
	var proto string
	j.op = net.Go(j.f.loop, func(ctx context.Context) (*tls.Conn, error) {
		d := tls.Dialer{Config: cfg}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		tc := c.(*tls.Conn)
		// Taken here, off the loop: ConnectionState locks the handshake
		// mutex.
		proto = tc.ConnectionState().NegotiatedProtocol
		return tc, nil
	}, func(c *tls.Conn, err error) {
		if err != nil {
			j.delegate.OnConnectJobComplete(int(net.ErrConnectionFailed), j)
			return
		}
		j.sock = &tlsConnSocket{conn: c, proto: proto, nl: netlog.NewSource(j.f.nl, netlog.SourceSocket), connected: true}
		j.delegate.OnConnectJobComplete(net.OK, j)
	})
	return net.IOPending
}

func (j *tlsConnJob) TakeSocket() socket.StreamSocket {
	s := j.sock
	j.sock = nil
	return s
}
func (j *tlsConnJob) LoadState() net.LoadState  { return net.LoadStateConnecting }
func (j *tlsConnJob) NetLog() netlog.WithSource { return j.nl }
func (j *tlsConnJob) Cancel()                   { j.op.Cancel() }

// tlsConnSocket is a connected TLS socket that only lends its conn: Read
// and Write are not used by the session on this path.
type tlsConnSocket struct {
	conn      *tls.Conn
	proto     string
	nl        netlog.WithSource
	connected bool
}

func (s *tlsConnSocket) TLSConn() *tls.Conn                       { return s.conn }
func (s *tlsConnSocket) Connect(net.CompletionCallback) int       { return net.OK }
func (s *tlsConnSocket) Read([]byte, net.CompletionCallback) int  { return int(net.ErrUnexpected) }
func (s *tlsConnSocket) Write([]byte, net.CompletionCallback) int { return int(net.ErrUnexpected) }
func (s *tlsConnSocket) IsConnected() bool                        { return s.connected }
func (s *tlsConnSocket) IsConnectedAndIdle() bool                 { return false }
func (s *tlsConnSocket) WasEverUsed() bool                        { return true }
func (s *tlsConnSocket) NetLog() netlog.WithSource                { return s.nl }
func (s *tlsConnSocket) NegotiatedProtocol() string               { return s.proto }
func (s *tlsConnSocket) PeerAddress() netip.AddrPort              { return addrPort(s.conn.RemoteAddr()) }
func (s *tlsConnSocket) LocalAddress() netip.AddrPort             { return addrPort(s.conn.LocalAddr()) }
func (s *tlsConnSocket) Disconnect() {
	if s.connected {
		s.connected = false
		// Closing the TCP conn under the TLS one: no close_notify, which
		// would be a blocking write on the loop.
		s.conn.NetConn().Close()
	}
}

func addrPort(a gonet.Addr) netip.AddrPort {
	if t, ok := a.(*gonet.TCPAddr); ok {
		return t.AddrPort()
	}
	return netip.AddrPort{}
}

func h2MustURL(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
