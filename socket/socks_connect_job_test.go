package socket

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/netlogcheck"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

func TestSOCKSConnectJobHandshakeTimeout(t *testing.T) {
	for _, scheme := range []proxy.Scheme{proxy.SchemeSOCKS4, proxy.SchemeSOCKS5} {
		t.Run(scheme.String(), func(t *testing.T) {
			closed := make(chan int, 1)
			srv := socksServer(t, func(c *testserver.Conn) {
				// Accept, read whatever comes, say nothing.
				closed <- socksWaitClose(c)
			})
			e := newSOCKSEnv(t)
			e.timeouts.SOCKS = 50 * time.Millisecond
			start := time.Now()
			rv, _, run := e.connect(socksProxy(scheme, srv.Addr), "127.0.0.1", 80)
			wantSOCKSErr(t, rv, net.ErrTimedOut)
			if d := time.Since(start); d < e.timeouts.SOCKS {
				t.Errorf("timed out after %v, before the %v timeout", d, e.timeouts.SOCKS)
			}
			select {
			case n := <-closed:
				if n == 0 {
					t.Error("the server saw no handshake bytes before the close")
				}
			case <-time.After(nettest.HangGuard):
				t.Fatal("the server never saw the connection close")
			}
			var id uint32
			nettest.OnLoop(t, e.l, func() { id = run.job.NetLog().Source().ID })
			e.rec.One(t, netlog.EventConnectJobTimedOut, netlog.PhaseNone, id)
			if end := e.rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, id); end.Params["net_error"] != int(net.ErrTimedOut) {
				t.Errorf("CONNECT_JOB end = %v", end.Params)
			}
			nettest.ExpectNone(t, run.d.c, "a second completion")
		})
	}
}

// The SOCKS timer covers the handshake only, not the connect to the
// proxy: a slow nested job does not eat into it.
func TestSOCKSConnectJobTimerStartsWithHandshake(t *testing.T) {
	echo := socksEcho(t)
	srv := socksServer(t, socks5Relay(t, nil, nil))
	e := newSOCKSEnv(t)
	e.timeouts.SOCKS = 100 * time.Millisecond
	// The proxy's name resolves only after twice the SOCKS timeout.
	e.res.hang = true
	p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
	p.Host = "proxy.test"
	r := e.start(p, echo.Addr().String(), echo.Port())
	time.Sleep(2 * e.timeouts.SOCKS)
	nettest.ExpectNone(t, r.d.c, "completion while connecting to the proxy")
	nettest.OnLoop(t, e.l, func() {
		q := e.res.reqs[0]
		q.addrs = net.AddressList{netip.MustParseAddrPort(srv.Addr)}
		// Finish the lookup the way a resolver would: from a later task.
		e.l.Post(func() { resolveHangingForTest(q) })
	})
	wantSOCKSErr(t, r.wait(t), net.Error(net.OK))
	var s StreamSocket
	nettest.OnLoop(t, e.l, func() { s = r.job.TakeSocket() })
	defer e.l.PostAndWait(s.Disconnect)
	socksEchoRoundTrip(t, e.l, s)
}

// resolveHangingForTest completes a request of a hanging socksResolver
// with the addresses already set; the nested TransportConnectJob gave it
// its callback through Start.
func resolveHangingForTest(q *socksResolveRequest) {
	q.r.hang = false
	q.r.sync = false
	if q.cb != nil && !q.cancelled {
		q.cb(net.OK)
	}
}

func TestSOCKSConnectJobProxyUnreachable(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		e := newSOCKSEnv(t)
		rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, socksDeadAddr(t).String()), "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrProxyConnectionFailed)
		// The nested job's own NetLog keeps the real cause.
		var refused bool
		for _, en := range e.rec.Find(netlog.EventTransportConnectJobConnect, netlog.PhaseEnd, 0) {
			refused = refused || en.Params["net_error"] == int(net.ErrConnectionRefused)
		}
		if !refused {
			t.Errorf("the nested job did not log ERR_CONNECTION_REFUSED: %v", e.rec.Describe())
		}
	})
	t.Run("name not resolved", func(t *testing.T) {
		e := newSOCKSEnv(t)
		p := proxy.Server{Scheme: proxy.SchemeSOCKS4, Host: "noproxy.test", Port: 1080}
		rv, _, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrProxyConnectionFailed)
	})
	t.Run("nested timeout", func(t *testing.T) {
		e := newSOCKSEnv(t)
		e.res.hang = true
		e.timeouts.TCP = 30 * time.Millisecond
		p := proxy.Server{Scheme: proxy.SchemeSOCKS5, Host: "slow.test", Port: 1080}
		rv, _, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrProxyConnectionFailed)
	})
	t.Run("synchronous failure", func(t *testing.T) {
		e := newSOCKSEnv(t)
		e.res.sync = true
		p := proxy.Server{Scheme: proxy.SchemeSOCKS5, Host: "noproxy.test", Port: 1080}
		r := e.start(p, "dest.test", 80)
		// A synchronous result never reaches the delegate.
		wantSOCKSErr(t, r.rv, net.ErrProxyConnectionFailed)
		nettest.ExpectNone(t, r.d.c, "delegate after a synchronous result")
	})
}

func TestSOCKSConnectJobCancel(t *testing.T) {
	t.Run("mid-handshake", func(t *testing.T) {
		greeted := make(chan struct{})
		closed := make(chan struct{})
		srv := socksServer(t, func(c *testserver.Conn) {
			if _, err := readSOCKS5Greeting(c); err != nil {
				t.Errorf("server: %v", err)
				return
			}
			close(greeted)
			socksWaitClose(c)
			close(closed)
		})
		e := newSOCKSEnv(t)
		r := e.start(socksProxy(proxy.SchemeSOCKS5, srv.Addr), "dest.test", 80)
		select {
		case <-greeted:
		case <-time.After(nettest.HangGuard):
			t.Fatal("the server never got the greeting")
		}
		nettest.OnLoop(t, e.l, func() {
			if got := r.job.LoadState(); got != net.LoadStateConnecting {
				t.Errorf("LoadState during the handshake = %v", got)
			}
			r.job.Cancel()
			if r.job.TakeSocket() != nil {
				t.Error("a cancelled job has a socket")
			}
		})
		select {
		case <-closed:
		case <-time.After(nettest.HangGuard):
			t.Fatal("the server never saw the connection close")
		}
		drain(t, e.l)
		nettest.ExpectNone(t, r.d.c, "delegate after Cancel")
		var id uint32
		nettest.OnLoop(t, e.l, func() {
			id = r.job.NetLog().Source().ID
			r.job.Cancel() // twice: a no-op
		})
		end := e.rec.One(t, netlog.EventSOCKSConnectJobConnect, netlog.PhaseEnd, id)
		if end.Params["net_error"] != int(net.ErrAborted) {
			t.Errorf("SOCKS_CONNECT_JOB_CONNECT end = %v", end.Params)
		}
		e.rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, id)
	})
	t.Run("connecting to the proxy", func(t *testing.T) {
		e := newSOCKSEnv(t)
		e.res.hang = true
		e.timeouts.SOCKS = 20 * time.Millisecond
		p := proxy.Server{Scheme: proxy.SchemeSOCKS5, Host: "proxy.test", Port: 1080}
		r := e.start(p, "dest.test", 80)
		nettest.OnLoop(t, e.l, func() {
			if got := r.job.LoadState(); got != net.LoadStateResolvingHost {
				t.Errorf("LoadState while the nested job resolves = %v", got)
			}
			r.job.Cancel()
			if !e.res.reqs[0].cancelled {
				t.Error("Cancel did not reach the nested job's DNS request")
			}
		})
		time.Sleep(2 * e.timeouts.SOCKS)
		nettest.ExpectNone(t, r.d.c, "delegate after Cancel")
	})
}

// TestSOCKSConnectJobNoGoroutineLeak runs jobs that succeed, fail, time
// out and are cancelled, closes everything, and checks that every
// goroutine they started has ended.
func TestSOCKSConnectJobNoGoroutineLeak(t *testing.T) {
	base := testserver.GoroutineBaseline()
	func() {
		l := net.NewLoop()
		defer l.Shutdown()
		echoSrv := socksEchoServer(t)
		ok := socksServer(t, socks5Relay(t, map[string]string{"dest.test": echoSrv.Addr}, nil))
		silent := socksServer(t, func(c *testserver.Conn) { socksWaitClose(c) })
		refusing := socksServer(t, func(c *testserver.Conn) {
			socksExpect(t, c, "greeting", []byte{5, 1, 0})
			c.Write([]byte{5, 0xFF})
		})
		e := newSOCKSEnvOn(t, l)
		e.timeouts.SOCKS = 30 * time.Millisecond

		rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, ok.Addr), "dest.test", 80)
		wantSOCKSErr(t, rv, net.Error(net.OK))
		socksEchoRoundTrip(t, l, s)
		l.PostAndWait(s.Disconnect)

		rv, _, _ = e.connect(socksProxy(proxy.SchemeSOCKS5, refusing.Addr), "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
		rv, _, _ = e.connect(socksProxy(proxy.SchemeSOCKS4, silent.Addr), "127.0.0.1", 80)
		wantSOCKSErr(t, rv, net.ErrTimedOut)
		rv, _, _ = e.connect(socksProxy(proxy.SchemeSOCKS5, socksDeadAddr(t).String()), "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrProxyConnectionFailed)

		r := e.start(socksProxy(proxy.SchemeSOCKS5, silent.Addr), "dest.test", 80)
		for deadline := time.Now().Add(nettest.HangGuard); ; time.Sleep(time.Millisecond) {
			var connecting bool
			nettest.OnLoop(t, l, func() { connecting = r.job.LoadState() == net.LoadStateConnecting })
			if connecting {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the handshake never started")
			}
		}
		nettest.OnLoop(t, l, r.job.Cancel)

		for _, srv := range []*testserver.RawServer{ok, silent, refusing, echoSrv} {
			if !srv.WaitAllClosed(nettest.HangGuard) {
				t.Errorf("server %s still has open connections", srv.Addr)
			}
			srv.Close()
		}
	}()
	testserver.CheckGoroutines(t, base)
}

// TestSOCKSNetLogDumpForViewer writes the NetLog of a successful SOCKS5
// job with authentication, a failed SOCKS4 job and a timed-out one to a
// file and holds it to netlog-viewer's rules (every source dependency
// must lead to a source with events of its own).
func TestSOCKSNetLogDumpForViewer(t *testing.T) {
	echo := socksEcho(t)
	okSrv := socksServer(t, authServer(t, "u", "p", echo.String()))
	failSrv := socksServer(t, func(c *testserver.Conn) {
		if _, err := readSOCKS4Request(c); err == nil {
			c.Write([]byte{0, 0x5B, 0, 0, 0, 0, 0, 0})
		}
		socksWaitClose(c)
	})
	silent := socksServer(t, func(c *testserver.Conn) { socksWaitClose(c) })
	e := newSOCKSEnv(t)
	e.timeouts.SOCKS = 30 * time.Millisecond
	path := filepath.Join(t.TempDir(), "netlog.json")
	fw, err := netlog.CreateFileWriter(path, netlog.Everything)
	if err != nil {
		t.Fatal(err)
	}
	e.log.AddObserver(fw, netlog.Everything)

	p := socksProxy(proxy.SchemeSOCKS5, okSrv.Addr)
	p.Username, p.Password = "u", "p"
	rv, s, _ := e.connect(p, "dest.test", 80)
	wantSOCKSErr(t, rv, net.Error(net.OK))
	socksEchoRoundTrip(t, e.l, s)
	e.l.PostAndWait(s.Disconnect)
	rv, _, _ = e.connect(socksProxy(proxy.SchemeSOCKS4, failSrv.Addr), "127.0.0.1", 80)
	wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
	rv, _, _ = e.connect(socksProxy(proxy.SchemeSOCKS5, silent.Addr), "dest.test", 80)
	wantSOCKSErr(t, rv, net.ErrTimedOut)

	drain(t, e.l)
	e.log.RemoveObserver(fw)
	if err := fw.Close(nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := netlogcheck.ValidateForViewer(t, b); n == 0 {
		t.Error("the viewer would load no events")
	}
	for _, name := range []string{"SOCKS_CONNECT_JOB_CONNECT", "SOCKS5_GREET_READ", "SOCKS_CONNECT", "SOCKS_SERVER_ERROR", "CONNECT_JOB_TIMED_OUT"} {
		if !strings.Contains(string(b), name) {
			t.Errorf("the dump has no %s event", name)
		}
	}
}
