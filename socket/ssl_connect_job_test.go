package socket

import (
	"crypto/tls"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// fakeNestedJob stands for the job an SSLConnectJob nests (TCP, SOCKS,
// tunnel): it finishes with result synchronously, after delay, or never
// (hang), and hands over socket.
type fakeNestedJob struct {
	loop      *net.Loop
	delegate  ConnectJobDelegate
	result    int
	sync      bool
	hang      bool
	delay     time.Duration
	socket    StreamSocket
	loadState net.LoadState
	started   bool
	cancelled bool
	timer     *net.DelayedTask
}

func (f *fakeNestedJob) nested() NestedJob {
	return func(d ConnectJobDelegate) ConnectJob {
		f.delegate = d
		return f
	}
}

func (f *fakeNestedJob) Connect() int {
	f.started = true
	switch {
	case f.sync:
		return f.result
	case f.hang:
		return net.IOPending
	}
	f.timer = f.loop.PostDelayed(f.delay, func() { f.delegate.OnConnectJobComplete(f.result, f) })
	return net.IOPending
}

func (f *fakeNestedJob) TakeSocket() StreamSocket {
	s := f.socket
	f.socket = nil
	return s
}

func (f *fakeNestedJob) LoadState() net.LoadState  { return f.loadState }
func (f *fakeNestedJob) NetLog() netlog.WithSource { return netlog.WithSource{} }
func (f *fakeNestedJob) Cancel() {
	f.cancelled = true
	f.timer.Cancel()
}

var sslTestGroup = GroupID{Scheme: "https", Host: "localhost", Port: 443}

// transportNested returns a NestedJob that connects TCP to addr.
func transportNested(c *CommonConnectJobParams, addr netip.AddrPort) NestedJob {
	c.Resolver = &fakeResolver{loop: c.Loop, addrs: net.AddressList{addr}}
	return func(d ConnectJobDelegate) ConnectJob {
		return NewTransportConnectJob(c, sslTestGroup, "localhost", addr.Port(), net.Medium, d)
	}
}

// startSSLJob creates an SSLConnectJob for "localhost" on the loop and
// calls Connect.
func startSSLJob(t testing.TB, c *CommonConnectJobParams, nested NestedJob, d *fakeDelegate) (ConnectJob, int) {
	t.Helper()
	return startSSLJobHost(t, c, "localhost", nested, d)
}

func startSSLJobHost(t testing.TB, c *CommonConnectJobParams, host string, nested NestedJob, d *fakeDelegate) (ConnectJob, int) {
	t.Helper()
	var job ConnectJob
	var rv int
	nettest.OnLoop(t, c.Loop, func() {
		job = NewSSLConnectJob(c, sslTestGroup, host, 443, nested, net.Medium, d)
		rv = d.r.call(job.Connect)
	})
	return job, rv
}

// runSSLJob runs a job for "localhost" to completion and returns its
// result.
func runSSLJob(t testing.TB, c *CommonConnectJobParams, nested NestedJob) (ConnectJob, int) {
	t.Helper()
	return runSSLJobHost(t, c, "localhost", nested)
}

func runSSLJobHost(t testing.TB, c *CommonConnectJobParams, host string, nested NestedJob) (ConnectJob, int) {
	t.Helper()
	d := newFakeDelegate(t)
	job, rv := startSSLJobHost(t, c, host, nested, d)
	if rv == net.IOPending {
		rv = waitInt(t, d.c, "SSLConnectJob completion")
	}
	return job, rv
}

func TestSSLConnectJobSuccess(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	stall := make(chan struct{})
	cfg := serverConfig(t, pki.Leaf, "h2", "http/1.1")
	cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		<-stall // hold the handshake so that the test sees its load state
		return nil, nil
	}
	srv := newTLSTestServer(t, cfg, func(c *tls.Conn) { io.Copy(io.Discard, c) })
	defer func() {
		select {
		case <-stall:
		default:
			close(stall)
		}
	}()
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	c := &CommonConnectJobParams{Loop: l, NetLog: log, SSL: &SSLConfig{RootCAs: pki.CertPool()}}
	res := &fakeResolver{loop: l, addrs: net.AddressList{srv.addr()}, hang: true}
	nested := func(d ConnectJobDelegate) ConnectJob {
		c2 := *c
		c2.Resolver = res
		return NewTransportConnectJob(&c2, sslTestGroup, "localhost", srv.addr().Port(), net.Medium, d)
	}
	d := newFakeDelegate(t)
	job, rv := startSSLJob(t, c, nested, d)
	if rv != net.IOPending {
		t.Fatalf("Connect = %v, want IOPending", net.Error(rv))
	}
	nettest.OnLoop(t, l, func() {
		if got := job.LoadState(); got != net.LoadStateResolvingHost {
			t.Errorf("LoadState while the nested job resolves = %v", got)
		}
		res.requests[0].answer(net.OK)
	})
	waitUntil(t, l, "the handshake starts", func() bool { return job.LoadState() == net.LoadStateSSLHandshake })
	close(stall)
	if rv := waitInt(t, d.c, "job completion"); rv != net.OK {
		t.Fatalf("job = %v", net.Error(rv))
	}
	var jobID, sockID uint32
	nettest.OnLoop(t, l, func() {
		jobID = job.NetLog().Source().ID
		taken := job.TakeSocket()
		s, ok := taken.(*SSLClientSocket)
		if !ok {
			t.Fatalf("TakeSocket: %T", taken)
		}
		if !s.IsConnected() || s.NegotiatedProtocol() != "h2" {
			t.Fatalf("socket: connected %v, ALPN %q", s.IsConnected(), s.NegotiatedProtocol())
		}
		sockID = s.NetLog().Source().ID
		if _, isTCP := s.transport.(*TCPClientSocket); !isTCP {
			t.Errorf("transport %T", s.transport)
		}
		s.Disconnect()
	})
	begin := rec.One(t, netlog.EventConnectJob, netlog.PhaseBegin, jobID)
	if begin.Source.Type != netlog.SourceSSLConnectJob || begin.Params["group_id"] != sslTestGroup.String() {
		t.Errorf("CONNECT_JOB begin %+v", begin)
	}
	rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, jobID)
	rec.One(t, netlog.EventSSLConnectJobConnect, netlog.PhaseBegin, jobID)
	if e := rec.One(t, netlog.EventSSLConnectJobConnect, netlog.PhaseEnd, jobID); e.Params != nil {
		t.Errorf("SSL_CONNECT_JOB_CONNECT end %+v", e.Params)
	}
	set := rec.One(t, netlog.EventConnectJobSetSocket, netlog.PhaseNone, jobID)
	if dep, _ := set.Params["source_dependency"].(netlog.Params); dep["id"] != sockID {
		t.Errorf("CONNECT_JOB_SET_SOCKET %+v, socket source %d", set.Params, sockID)
	}
	rec.One(t, netlog.EventSSLConnect, netlog.PhaseBegin, sockID)
	end := rec.One(t, netlog.EventSSLConnect, netlog.PhaseEnd, sockID)
	if end.Source.Type != netlog.SourceSocket || end.Params["version"] != "TLS 1.3" || end.Params["is_resumed"] != false ||
		end.Params["next_proto"] != "h2" || end.Params["cipher_suite"] == uint16(0) {
		t.Errorf("SSL_CONNECT end %+v", end.Params)
	}
	if _, ok := end.Params["cipher_suite"].(uint16); !ok {
		t.Errorf("cipher_suite %T", end.Params["cipher_suite"])
	}
	if len(rec.Find(netlog.EventConnectJobTimedOut, netlog.PhaseNone, 0)) != 0 {
		t.Error("CONNECT_JOB_TIMED_OUT logged")
	}
}

// TestSSLSessionResumption: a second connection with the session's cache
// resumes the first one's session, and says so in SSL_CONNECT's END.
func TestSSLSessionResumption(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), sendHello)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	c := &CommonConnectJobParams{Loop: l, NetLog: log, SSL: &SSLConfig{RootCAs: pki.CertPool(), SessionCache: tls.NewLRUClientSessionCache(8)}}
	var resumed []any
	for i := 0; i < 2; i++ {
		job, rv := runSSLJob(t, c, transportNested(c, srv.addr()))
		if rv != net.OK {
			t.Fatalf("connection %d: %v", i, net.Error(rv))
		}
		var s *SSLClientSocket
		nettest.OnLoop(t, l, func() { s = job.TakeSocket().(*SSLClientSocket) })
		// TLS 1.3 sends the session ticket after the handshake: read
		// something so that it is processed.
		sslReadFull(t, l, s, make([]byte, 5))
		var id uint32
		nettest.OnLoop(t, l, func() {
			id = s.NetLog().Source().ID
			if info, _ := s.SSLInfo(); info.Resumed != (i == 1) {
				t.Errorf("connection %d: SSLInfo.Resumed = %v", i, info.Resumed)
			}
			s.Disconnect()
		})
		resumed = append(resumed, rec.One(t, netlog.EventSSLConnect, netlog.PhaseEnd, id).Params["is_resumed"])
	}
	if resumed[0] != false || resumed[1] != true {
		t.Errorf("is_resumed = %v, want [false true]", resumed)
	}
}

func TestSSLConnectJobHandshakeTimeout(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t) // accepts, never answers the ClientHello
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	c := &CommonConnectJobParams{Loop: l, NetLog: log, Timeouts: Timeouts{TLS: 100 * time.Millisecond}}
	job, rv := runSSLJob(t, c, transportNested(c, srv.addr()))
	if rv != int(net.ErrTimedOut) {
		t.Fatalf("job = %v, want ERR_TIMED_OUT", net.Error(rv))
	}
	conn := srv.accept(t)
	var id uint32
	nettest.OnLoop(t, l, func() {
		id = job.NetLog().Source().ID
		if job.TakeSocket() != nil {
			t.Error("a failed job has a socket")
		}
	})
	rec.One(t, netlog.EventConnectJobTimedOut, netlog.PhaseNone, id)
	if e := rec.One(t, netlog.EventSSLConnectJobConnect, netlog.PhaseEnd, id); e.Params["net_error"] != int(net.ErrTimedOut) {
		t.Errorf("SSL_CONNECT_JOB_CONNECT end %+v", e.Params)
	}
	// The handshake was aborted: the server sees the connection close.
	conn.SetReadDeadline(time.Now().Add(nettest.HangGuard))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Errorf("server side: %v, want EOF", err)
	}
}

// TestSSLConnectJobTimerStartsWithHandshake: the nested job's time does not
// count against the handshake's timeout.
func TestSSLConnectJobTimerStartsWithHandshake(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	const nestedDelay, tlsTimeout = 200 * time.Millisecond, 150 * time.Millisecond
	tcp, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
	if rv != net.OK {
		t.Fatal(net.Error(rv))
	}
	srv.accept(t)
	f := &fakeNestedJob{loop: l, result: net.OK, delay: nestedDelay, socket: tcp, loadState: net.LoadStateConnecting}
	c := &CommonConnectJobParams{Loop: l, Timeouts: Timeouts{TLS: tlsTimeout}}
	start := time.Now()
	_, rv = runSSLJob(t, c, f.nested())
	if rv != int(net.ErrTimedOut) {
		t.Fatalf("job = %v, want ERR_TIMED_OUT", net.Error(rv))
	}
	// Timers never fire early, so this lower bound is safe.
	if d := time.Since(start); d < nestedDelay+tlsTimeout {
		t.Errorf("timed out after %v, before the nested %v plus the handshake's %v", d, nestedDelay, tlsTimeout)
	}
}

func TestSSLConnectJobNestedFailure(t *testing.T) {
	l := nettest.NewLoop(t)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	c := &CommonConnectJobParams{Loop: l, NetLog: log}

	// Asynchronous: the nested error reaches the delegate as it is.
	f := &fakeNestedJob{loop: l, result: int(net.ErrProxyConnectionFailed), loadState: net.LoadStateConnecting}
	job, rv := runSSLJob(t, c, f.nested())
	if rv != int(net.ErrProxyConnectionFailed) {
		t.Fatalf("job = %v, want the nested ERR_PROXY_CONNECTION_FAILED", net.Error(rv))
	}
	var id uint32
	nettest.OnLoop(t, l, func() { id = job.NetLog().Source().ID })
	if e := rec.One(t, netlog.EventSSLConnectJobConnect, netlog.PhaseEnd, id); e.Params["net_error"] != rv {
		t.Errorf("SSL_CONNECT_JOB_CONNECT end %+v", e.Params)
	}
	if n := len(rec.Find(netlog.EventSSLConnect, netlog.PhaseBegin, 0)); n != 0 {
		t.Errorf("%d SSL_CONNECT events without a handshake", n)
	}

	// Synchronous: Connect returns it and the delegate hears nothing.
	f = &fakeNestedJob{loop: l, result: int(net.ErrSOCKSConnectionFailed), sync: true}
	d := newFakeDelegate(t)
	_, rv = startSSLJob(t, c, f.nested(), d)
	if rv != int(net.ErrSOCKSConnectionFailed) {
		t.Fatalf("Connect = %v, want the nested ERR_SOCKS_CONNECTION_FAILED", net.Error(rv))
	}
	nettest.ExpectNone(t, d.c, "delegate after a synchronous failure")
}

// TestSSLConnectJobNestedSync: a nested job that connects synchronously
// (an idle socket, say) goes straight to the handshake, over a transport
// that is not a TCP socket.
func TestSSLConnectJobNestedSync(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf, "http/1.1"), sendHello)
	tcp, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
	if rv != net.OK {
		t.Fatal(net.Error(rv))
	}
	f := &fakeNestedJob{loop: l, result: net.OK, sync: true, socket: hiddenTransport{tcp}}
	c := &CommonConnectJobParams{Loop: l, SSL: &SSLConfig{RootCAs: pki.CertPool()}}
	job, rv := runSSLJob(t, c, f.nested())
	if rv != net.OK {
		t.Fatalf("job = %v", net.Error(rv))
	}
	var s *SSLClientSocket
	nettest.OnLoop(t, l, func() { s = job.TakeSocket().(*SSLClientSocket) })
	defer l.PostAndWait(s.Disconnect)
	buf := make([]byte, 5)
	sslReadFull(t, l, s, buf)
	nettest.OnLoop(t, l, func() {
		if string(buf) != "hello" || s.NegotiatedProtocol() != "http/1.1" {
			t.Errorf("read %q, ALPN %q", buf, s.NegotiatedProtocol())
		}
	})
}

func TestSSLConnectJobCertError(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Expired), nil)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	c := &CommonConnectJobParams{Loop: l, NetLog: log, SSL: &SSLConfig{RootCAs: pki.CertPool()}}
	job, rv := runSSLJob(t, c, transportNested(c, srv.addr()))
	if rv != int(net.ErrCertDateInvalid) {
		t.Fatalf("job = %v, want ERR_CERT_DATE_INVALID", net.Error(rv))
	}
	var id uint32
	nettest.OnLoop(t, l, func() { id = job.NetLog().Source().ID })
	if e := rec.One(t, netlog.EventSSLConnectJobSSLConnect, netlog.PhaseEnd, id); e.Params["net_error"] != rv {
		t.Errorf("SSL_CONNECT_JOB_SSL_CONNECT end %+v", e.Params)
	}
	if e := rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, id); e.Params["net_error"] != rv {
		t.Errorf("CONNECT_JOB end %+v", e.Params)
	}
	ssl := rec.One(t, netlog.EventSSLConnect, netlog.PhaseEnd, 0)
	herr := rec.One(t, netlog.EventSSLHandshakeError, netlog.PhaseNone, ssl.Source.ID)
	if herr.Params["net_error"] != rv {
		t.Errorf("SSL_HANDSHAKE_ERROR %+v", herr.Params)
	}
	// The TCP socket under the failed handshake was closed.
	rec.One(t, netlog.EventSocketClosed, netlog.PhaseNone, ssl.Source.ID)
}

func TestSSLConnectJobCancel(t *testing.T) {
	l := nettest.NewLoop(t)

	t.Run("nested", func(t *testing.T) {
		f := &fakeNestedJob{loop: l, hang: true, loadState: net.LoadStateResolvingHost}
		c := &CommonConnectJobParams{Loop: l}
		d := newFakeDelegate(t)
		job, rv := startSSLJob(t, c, f.nested(), d)
		if rv != net.IOPending {
			t.Fatalf("Connect = %d", rv)
		}
		nettest.OnLoop(t, l, func() {
			if job.LoadState() != net.LoadStateResolvingHost {
				t.Errorf("LoadState = %v, want the nested job's", job.LoadState())
			}
			job.Cancel()
			if !f.cancelled {
				t.Error("nested job not cancelled")
			}
			job.Cancel() // twice is harmless
		})
		nettest.ExpectNone(t, d.c, "delegate after Cancel")
	})

	t.Run("handshake", func(t *testing.T) {
		srv := newTCPServer(t)
		log := netlog.New()
		rec := nettest.NewRecorder(log, netlog.Default)
		c := &CommonConnectJobParams{Loop: l, NetLog: log}
		d := newFakeDelegate(t)
		job, rv := startSSLJob(t, c, transportNested(c, srv.addr()), d)
		if rv != net.IOPending {
			t.Fatalf("Connect = %d", rv)
		}
		conn := srv.accept(t)
		waitUntil(t, l, "the handshake starts", func() bool { return job.LoadState() == net.LoadStateSSLHandshake })
		var id uint32
		nettest.OnLoop(t, l, func() {
			id = job.NetLog().Source().ID
			job.Cancel()
		})
		nettest.ExpectNone(t, d.c, "delegate after Cancel")
		conn.SetReadDeadline(time.Now().Add(nettest.HangGuard))
		if _, err := io.Copy(io.Discard, conn); err != nil {
			t.Errorf("server side: %v, want EOF", err)
		}
		if e := rec.One(t, netlog.EventSSLConnectJobConnect, netlog.PhaseEnd, id); e.Params["net_error"] != int(net.ErrAborted) {
			t.Errorf("SSL_CONNECT_JOB_CONNECT end %+v", e.Params)
		}
	})
}
