package socket

import (
	"bytes"
	"crypto/tls"
	"io"
	"math/rand/v2"
	gonet "net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// tlsTestServer is a crypto/tls server on 127.0.0.1 whose connections a
// handler drives. The handler gets the connection after a successful
// handshake; failed handshakes are reported on errs.
type tlsTestServer struct {
	ln   gonet.Listener
	sni  chan string // the ServerName of every ClientHello
	errs chan error  // server-side handshake errors
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[gonet.Conn]struct{}
}

func newTLSTestServer(t testing.TB, cfg *tls.Config, handler func(*tls.Conn)) *tlsTestServer {
	t.Helper()
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &tlsTestServer{ln: ln, sni: make(chan string, 64), errs: make(chan error, 64), conns: map[gonet.Conn]struct{}{}}
	cfg = cfg.Clone()
	prev := cfg.GetConfigForClient
	cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		select {
		case s.sni <- hi.ServerName:
		default:
		}
		if prev != nil {
			return prev(hi)
		}
		return nil, nil
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[raw] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					raw.Close()
					s.mu.Lock()
					delete(s.conns, raw)
					s.mu.Unlock()
				}()
				c := tls.Server(raw, cfg)
				if err := c.Handshake(); err != nil {
					select {
					case s.errs <- err:
					default:
					}
					return
				}
				if handler != nil {
					handler(c)
				}
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *tlsTestServer) addr() netip.AddrPort { return s.ln.Addr().(*gonet.TCPAddr).AddrPort() }

// close stops accepting, closes every connection and waits for the
// handlers to return.
func (s *tlsTestServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serverConfig is a TLS server configuration with kp's certificate.
func serverConfig(t testing.TB, kp interop.KeyPair, alpn ...string) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(kp.CertFile, kp.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: alpn}
}

// sendHello is a handler that writes "hello" and then echoes until EOF.
func sendHello(c *tls.Conn) {
	if _, err := c.Write([]byte("hello")); err != nil {
		return
	}
	io.Copy(c, c)
}

// connectSSL connects TCP to addr and runs a TLS handshake for host over it,
// on the loop; it returns the socket and the handshake's result.
func connectSSL(t testing.TB, l *net.Loop, addr netip.AddrPort, host string, cfg *SSLConfig, log *netlog.NetLog) (*SSLClientSocket, int) {
	t.Helper()
	tcp, rv := connectTCP(t, l, net.AddressList{addr}, log, netlog.Source{})
	if rv != net.OK {
		t.Fatalf("TCP connect: %v", net.Error(rv))
	}
	return handshakeOver(t, l, tcp, host, cfg, log)
}

// handshakeOver runs a TLS handshake over an already connected transport.
func handshakeOver(t testing.TB, l *net.Loop, transport StreamSocket, host string, cfg *SSLConfig, log *netlog.NetLog) (*SSLClientSocket, int) {
	t.Helper()
	r := &reentrancy{t: t}
	cb, c := r.cb("SSL Connect")
	var s *SSLClientSocket
	var rv int
	nettest.OnLoop(t, l, func() {
		s = NewSSLClientSocket(l, transport, host, cfg, log, netlog.Source{})
		rv = r.call(func() int { return s.Connect(cb) })
	})
	t.Cleanup(func() { l.PostAndWait(s.Disconnect) })
	if rv != net.IOPending {
		t.Fatalf("SSL Connect returned %d, want IOPending", rv)
	}
	return s, waitInt(t, c, "SSL Connect callback")
}

// mustConnectSSL is connectSSL that fails the test unless the handshake
// succeeds.
func mustConnectSSL(t testing.TB, l *net.Loop, addr netip.AddrPort, host string, cfg *SSLConfig, log *netlog.NetLog) *SSLClientSocket {
	t.Helper()
	s, rv := connectSSL(t, l, addr, host, cfg, log)
	if rv != net.OK {
		t.Fatalf("handshake: %v", net.Error(rv))
	}
	return s
}

// sslRead reads once on the loop, waiting for a pending read; sync says
// whether it completed synchronously.
func sslRead(t testing.TB, l *net.Loop, s StreamSocket, buf []byte) (rv int, sync bool) {
	t.Helper()
	r := &reentrancy{t: t}
	cb, c := r.cb("Read")
	nettest.OnLoop(t, l, func() { rv = r.call(func() int { return s.Read(buf, cb) }) })
	if rv != net.IOPending {
		nettest.ExpectNone(t, c, "callback of a synchronous Read")
		return rv, true
	}
	return waitInt(t, c, "Read callback"), false
}

// sslReadFull reads exactly len(buf) bytes.
func sslReadFull(t testing.TB, l *net.Loop, s StreamSocket, buf []byte) {
	t.Helper()
	for off := 0; off < len(buf); {
		n, _ := sslRead(t, l, s, buf[off:])
		if n <= 0 {
			t.Fatalf("Read after %d of %d bytes: %v", off, len(buf), net.Error(n))
		}
		off += n
	}
}

// sslWriteAll writes all of data from the loop.
func sslWriteAll(t testing.TB, l *net.Loop, s StreamSocket, data []byte) {
	t.Helper()
	for off := 0; off < len(data); {
		r := &reentrancy{t: t}
		cb, c := r.cb("Write")
		var rv int
		nettest.OnLoop(t, l, func() { rv = r.call(func() int { return s.Write(data[off:], cb) }) })
		if rv == net.IOPending {
			rv = waitInt(t, c, "Write callback")
		}
		if rv <= 0 {
			t.Fatalf("Write after %d of %d bytes: %v", off, len(data), net.Error(rv))
		}
		off += rv
	}
}

// hiddenTransport hides a socket's type, so that SSLClientSocket treats it
// as it treats a SOCKS or tunnel socket: through a BlockingConn.
type hiddenTransport struct{ StreamSocket }

func TestSSLHandshakeOK(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf, "h2", "http/1.1"), sendHello)
	s := mustConnectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
	nettest.OnLoop(t, l, func() {
		info, ok := s.SSLInfo()
		if !ok || info.Version != tls.VersionTLS13 || info.VersionName() != "TLS 1.3" || info.CipherSuite == 0 || info.Resumed {
			t.Errorf("SSLInfo = %+v, %v", info, ok)
		}
		if len(info.PeerCertificates) == 0 || !info.PeerCertificates[0].Equal(pki.Leaf.Cert) {
			t.Errorf("peer certificates %v", info.PeerCertificates)
		}
		if s.NegotiatedProtocol() != "h2" || info.NegotiatedProtocol != "h2" {
			t.Errorf("ALPN = %q", s.NegotiatedProtocol())
		}
		if s.PeerAddress() != srv.addr() || !s.LocalAddress().IsValid() {
			t.Errorf("addresses %v %v", s.PeerAddress(), s.LocalAddress())
		}
		if !s.IsConnected() || s.WasEverUsed() {
			t.Errorf("IsConnected %v WasEverUsed %v", s.IsConnected(), s.WasEverUsed())
		}
		if rv := s.Connect(func(int) { t.Error("callback of a synchronous Connect") }); rv != net.OK {
			t.Errorf("Connect on a connected socket = %d", rv)
		}
	})
	buf := make([]byte, 5)
	sslReadFull(t, l, s, buf)
	if string(buf) != "hello" {
		t.Fatalf("read %q", buf)
	}
	sslWriteAll(t, l, s, []byte("ping"))
	sslReadFull(t, l, s, buf[:4])
	if string(buf[:4]) != "ping" {
		t.Fatalf("echo %q", buf[:4])
	}
	nettest.OnLoop(t, l, func() {
		if !s.WasEverUsed() || !s.IsConnectedAndIdle() {
			t.Errorf("after an exchange: WasEverUsed %v IsConnectedAndIdle %v", s.WasEverUsed(), s.IsConnectedAndIdle())
		}
		s.Disconnect()
		if s.IsConnected() {
			t.Error("connected after Disconnect")
		}
		if rv := s.Read(buf, nil); rv != int(net.ErrSocketNotConnected) {
			t.Errorf("Read after Disconnect = %d", rv)
		}
		if rv := s.Write(buf, nil); rv != int(net.ErrSocketNotConnected) {
			t.Errorf("Write after Disconnect = %d", rv)
		}
		if _, ok := s.SSLInfo(); !ok {
			t.Error("SSLInfo gone after Disconnect")
		}
	})
}

func TestSSLALPN(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	for _, tc := range []struct {
		name   string
		server []string
		client []string
		want   string
	}{
		{"server h2", []string{"h2", "http/1.1"}, nil, "h2"},
		{"server h2 only", []string{"h2"}, nil, "h2"},
		{"server http/1.1", []string{"http/1.1"}, nil, "http/1.1"},
		{"client http/1.1", []string{"h2", "http/1.1"}, []string{"http/1.1"}, "http/1.1"},
		{"no ALPN on the server", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTLSTestServer(t, serverConfig(t, pki.Leaf, tc.server...), nil)
			s := mustConnectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: pki.CertPool(), ALPN: tc.client}, nil)
			nettest.OnLoop(t, l, func() {
				if got := s.NegotiatedProtocol(); got != tc.want {
					t.Errorf("NegotiatedProtocol = %q, want %q", got, tc.want)
				}
			})
		})
	}
}

func TestSSLSNI(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), nil)
	for _, tc := range []struct{ host, want string }{
		{"localhost", "localhost"},
		{"127.0.0.1", ""}, // no SNI for IP literals (RFC 6066)
	} {
		mustConnectSSL(t, l, srv.addr(), tc.host, &SSLConfig{RootCAs: pki.CertPool()}, nil)
		select {
		case got := <-srv.sni:
			if got != tc.want {
				t.Errorf("host %s: server saw SNI %q, want %q", tc.host, got, tc.want)
			}
		case <-time.After(nettest.HangGuard):
			t.Fatal("no ClientHello seen")
		}
	}
}

func TestSSLCertErrors(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	other := interop.GenerateCA(t, "")
	for _, tc := range []struct {
		name string
		kp   interop.KeyPair
		pki  *interop.TestPKI // whose CA the client trusts
		want net.Error
	}{
		{"unknown CA", pki.Leaf, other, net.ErrCertAuthorityInvalid},
		{"expired", pki.Expired, pki, net.ErrCertDateInvalid},
		{"wrong host", pki.WrongHost, pki, net.ErrCertCommonNameInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTLSTestServer(t, serverConfig(t, tc.kp), nil)
			log := netlog.New()
			rec := nettest.NewRecorder(log, netlog.Default)
			s, rv := connectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: tc.pki.CertPool()}, log)
			if rv != int(tc.want) {
				t.Fatalf("handshake = %v, want %v", net.Error(rv), tc.want)
			}
			if !tc.want.IsCertificateError() {
				t.Errorf("%v is not a certificate error", tc.want)
			}
			var src uint32
			nettest.OnLoop(t, l, func() {
				src = s.NetLog().Source().ID
				if s.IsConnected() {
					t.Error("connected after a failed handshake")
				}
				if _, ok := s.SSLInfo(); ok {
					t.Error("SSLInfo after a failed handshake")
				}
			})
			herr := rec.One(t, netlog.EventSSLHandshakeError, netlog.PhaseNone, src)
			if herr.Params["net_error"] != rv || herr.Source.Type != netlog.SourceSocket {
				t.Errorf("SSL_HANDSHAKE_ERROR %+v", herr)
			}
			end := rec.One(t, netlog.EventSSLConnect, netlog.PhaseEnd, src)
			if end.Params["net_error"] != rv {
				t.Errorf("SSL_CONNECT end %+v", end.Params)
			}
			certs := rec.One(t, netlog.EventSSLCertificatesReceived, netlog.PhaseNone, src)
			if pems, _ := certs.Params["certificates"].([]string); len(pems) == 0 {
				t.Errorf("SSL_CERTIFICATES_RECEIVED %+v", certs.Params)
			}

			// -k accepts the same certificate.
			if _, rv := connectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: tc.pki.CertPool(), Insecure: true}, nil); rv != net.OK {
				t.Errorf("Insecure handshake = %v", net.Error(rv))
			}
		})
	}
}

func TestSSLServerClosesMidHandshake(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	go func() {
		c := <-srv.conns
		// Read the ClientHello's record, then hang up.
		hdr := make([]byte, 5)
		if _, err := io.ReadFull(c, hdr); err == nil {
			io.CopyN(io.Discard, c, int64(hdr[3])<<8|int64(hdr[4]))
		}
		c.Close()
	}()
	start := time.Now()
	_, rv := connectSSL(t, l, srv.addr(), "localhost", nil, nil)
	if rv != int(net.ErrConnectionClosed) && rv != int(net.ErrConnectionReset) {
		t.Fatalf("handshake with a server that hangs up = %v, want ERR_CONNECTION_CLOSED or _RESET", net.Error(rv))
	}
	if d := time.Since(start); d > nettest.HangGuard/2 {
		t.Errorf("the failure took %v", d)
	}
}

// TestSSLReadSynchronousWhenBuffered: what one record decrypted beyond the
// caller's buffer is returned by the next Reads at once.
func TestSSLReadSynchronousWhenBuffered(t *testing.T) {
	for _, hide := range []bool{false, true} {
		name := map[bool]string{false: "TCP", true: "BlockingConn"}[hide]
		t.Run(name, func(t *testing.T) {
			l := nettest.NewLoop(t)
			pki := interop.GenerateCA(t, "")
			srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), func(c *tls.Conn) {
				c.Write([]byte("0123456789"))
				io.Copy(io.Discard, c)
			})
			tcp, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
			if rv != net.OK {
				t.Fatal(net.Error(rv))
			}
			var transport StreamSocket = tcp
			if hide {
				transport = hiddenTransport{tcp}
			}
			s, rv := handshakeOver(t, l, transport, "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
			if rv != net.OK {
				t.Fatal(net.Error(rv))
			}
			buf := make([]byte, 4)
			var got []byte
			for _, want := range []struct {
				n    int
				sync bool
			}{{4, false}, {4, true}, {2, true}} {
				n, sync := sslRead(t, l, s, buf)
				if n != want.n || sync != want.sync {
					t.Fatalf("Read = %d (sync %v), want %d (sync %v)", n, sync, want.n, want.sync)
				}
				got = append(got, buf[:n]...)
			}
			if string(got) != "0123456789" {
				t.Fatalf("read %q", got)
			}
			nettest.OnLoop(t, l, func() {
				if !s.IsConnectedAndIdle() {
					t.Error("not idle after reading everything")
				}
			})
		})
	}
}

func TestSSLDisconnectWithPendingIO(t *testing.T) {
	for _, hide := range []bool{false, true} {
		name := map[bool]string{false: "TCP", true: "BlockingConn"}[hide]
		t.Run(name, func(t *testing.T) {
			l := nettest.NewLoop(t)
			pki := interop.GenerateCA(t, "")
			release, closed := make(chan struct{}), make(chan struct{})
			srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), func(c *tls.Conn) {
				// Neither write nor read (so that a big write stays
				// pending) until the client has gone; then drain to EOF.
				select {
				case <-release:
				case <-time.After(nettest.HangGuard):
				}
				io.Copy(io.Discard, c.NetConn())
				close(closed)
			})
			tcp, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
			if rv != net.OK {
				t.Fatal(net.Error(rv))
			}
			var transport StreamSocket = tcp
			if hide {
				transport = hiddenTransport{tcp}
			}
			s, rv := handshakeOver(t, l, transport, "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
			if rv != net.OK {
				t.Fatal(net.Error(rv))
			}
			// Keep writing until the kernel's buffers are full and a Write
			// stays pending; the server reads nothing.
			big := make([]byte, 8<<20)
			var disconnected, writePending bool
			var write func()
			write = func() {
				for {
					rv := s.Write(big, func(rv int) {
						if disconnected {
							t.Errorf("Write callback (%d) after Disconnect", rv)
						}
						writePending = false
						write()
					})
					if rv == net.IOPending {
						writePending = true
						return
					}
				}
			}
			nettest.OnLoop(t, l, func() {
				if rv := s.Read(make([]byte, 16), func(rv int) {
					t.Errorf("Read callback (%d) while nothing was sent", rv)
				}); rv != net.IOPending {
					t.Errorf("Read = %d, want IOPending", rv)
				}
				write()
				if !s.IsConnected() || s.IsConnectedAndIdle() {
					t.Errorf("with I/O pending: IsConnected %v IsConnectedAndIdle %v", s.IsConnected(), s.IsConnectedAndIdle())
				}
			})
			// Wait until a write has stayed pending for a while: the
			// writer goroutine is blocked in crypto/tls.
			for stuck := 0; stuck < 5; {
				time.Sleep(10 * time.Millisecond)
				var pending bool
				nettest.OnLoop(t, l, func() { pending = writePending })
				if pending {
					stuck++
				} else {
					stuck = 0
				}
			}
			nettest.OnLoop(t, l, func() {
				s.Disconnect()
				disconnected = true
			})
			time.Sleep(nettest.Quiet)
			drain(t, l)
			close(release)
			select {
			case <-closed:
			case <-time.After(nettest.HangGuard):
				t.Fatal("the server never saw the connection close")
			}
		})
	}
}

// TestSSLCloseNotifyBehindDataIsNotIdle: a close_notify that arrived in the
// same read as the last data must make the connection not idle, although
// the kernel's buffer is empty, or a pool would reuse a closing connection.
func TestSSLCloseNotifyBehindDataIsNotIdle(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	sent := make(chan struct{})
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), func(c *tls.Conn) {
		// Wait for the client's "go", then send data and close_notify
		// back to back.
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		c.Write([]byte("last"))
		c.CloseWrite()
		close(sent)
		io.Copy(io.Discard, c)
	})
	s := mustConnectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
	sslWriteAll(t, l, s, []byte("go"))
	<-sent
	time.Sleep(20 * time.Millisecond) // both records reach the kernel
	buf := make([]byte, 64)
	if n, _ := sslRead(t, l, s, buf); n != 4 || string(buf[:4]) != "last" {
		t.Fatalf("Read = %d %q", n, buf[:max(n, 0)])
	}
	waitUntil(t, l, "the close_notify makes the socket not idle", func() bool { return !s.IsConnectedAndIdle() })
	if n, _ := sslRead(t, l, s, buf); n != 0 {
		t.Fatalf("Read after close_notify = %d, want 0 (EOF)", n)
	}
	// EOF is sticky and synchronous.
	if n, sync := sslRead(t, l, s, buf); n != 0 || !sync {
		t.Fatalf("second Read after EOF = %d (sync %v)", n, sync)
	}
}

func TestSSLUnreadDataIsNotIdle(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), sendHello)
	s := mustConnectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
	waitUntil(t, l, "the server's data makes the socket not idle", func() bool { return s.IsConnected() && !s.IsConnectedAndIdle() })
	buf := make([]byte, 5)
	sslReadFull(t, l, s, buf)
	nettest.OnLoop(t, l, func() {
		if !s.IsConnectedAndIdle() {
			t.Error("not idle after reading everything")
		}
	})
}

// TestSSLLargeTransfer moves 8 MiB each way at once, over TCP and over a
// BlockingConn.
func TestSSLLargeTransfer(t *testing.T) {
	const size = 8 << 20
	for _, hide := range []bool{false, true} {
		name := map[bool]string{false: "TCP", true: "BlockingConn"}[hide]
		t.Run(name, func(t *testing.T) {
			l := nettest.NewLoop(t)
			pki := interop.GenerateCA(t, "")
			up, down := make([]byte, size), make([]byte, size)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range up {
				up[i] = byte(rng.Uint32())
				down[i] = byte(rng.Uint32())
			}
			received := make(chan []byte, 1)
			srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), func(c *tls.Conn) {
				rd := make(chan struct{})
				go func() {
					defer close(rd)
					got := make([]byte, size)
					if _, err := io.ReadFull(c, got); err != nil {
						got = nil
					}
					received <- got
				}()
				c.Write(down)
				<-rd
			})
			tcp, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
			if rv != net.OK {
				t.Fatal(net.Error(rv))
			}
			var transport StreamSocket = tcp
			if hide {
				transport = hiddenTransport{tcp}
			}
			s, rv := handshakeOver(t, l, transport, "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
			if rv != net.OK {
				t.Fatal(net.Error(rv))
			}

			// Drive a reader and a writer concurrently, on the loop.
			got := make([]byte, 0, size)
			readBuf := make([]byte, 32<<10)
			done := make(chan error, 2)
			var read, write func()
			var woff int
			onRead := func(rv int) {
				if rv <= 0 {
					done <- net.Error(rv)
					return
				}
				got = append(got, readBuf[:rv]...)
				read()
			}
			read = func() {
				for len(got) < size {
					rv := s.Read(readBuf, onRead)
					if rv == net.IOPending {
						return
					}
					if rv <= 0 {
						done <- net.Error(rv)
						return
					}
					got = append(got, readBuf[:rv]...)
				}
				done <- nil
			}
			onWrite := func(rv int) {
				if rv <= 0 {
					done <- net.Error(rv)
					return
				}
				woff += rv
				write()
			}
			write = func() {
				for woff < size {
					rv := s.Write(up[woff:], onWrite)
					if rv == net.IOPending {
						return
					}
					if rv <= 0 {
						done <- net.Error(rv)
						return
					}
					woff += rv
				}
				done <- nil
			}
			l.Post(read)
			l.Post(write)
			for i := 0; i < 2; i++ {
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("transfer: %v", err)
					}
				case <-time.After(4 * nettest.HangGuard):
					t.Fatal("transfer hung")
				}
			}
			var srvGot []byte
			select {
			case srvGot = <-received:
			case <-time.After(nettest.HangGuard):
				t.Fatal("server did not receive everything")
			}
			var clientGot []byte
			nettest.OnLoop(t, l, func() { clientGot = got })
			if !bytes.Equal(srvGot, up) {
				t.Errorf("server received %d bytes, not the %d written", len(srvGot), size)
			}
			if !bytes.Equal(clientGot, down) {
				t.Errorf("client received %d bytes that differ from the %d sent", len(clientGot), size)
			}
		})
	}
}

// TestSSLNoGoroutineLeak runs handshakes, I/O, and disconnects in every
// state, over TCP and over a BlockingConn, and checks that every goroutine
// ends.
func TestSSLNoGoroutineLeak(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), sendHello)
	hang := newTCPServer(t)
	cfg := &SSLConfig{RootCAs: pki.CertPool()}
	drain(t, l)
	baseline := testserver.GoroutineBaseline()

	for _, hide := range []bool{false, true} {
		wrap := func(s StreamSocket) StreamSocket {
			if hide {
				return hiddenTransport{s}
			}
			return s
		}
		// Idle after a read.
		tcp, _ := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
		s, rv := handshakeOver(t, l, wrap(tcp), "localhost", cfg, nil)
		if rv != net.OK {
			t.Fatal(net.Error(rv))
		}
		sslReadFull(t, l, s, make([]byte, 5))
		nettest.OnLoop(t, l, s.Disconnect)

		// Disconnected with a read pending.
		tcp, _ = connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
		s, _ = handshakeOver(t, l, wrap(tcp), "localhost", cfg, nil)
		sslReadFull(t, l, s, make([]byte, 5))
		nettest.OnLoop(t, l, func() { s.Read(make([]byte, 5), func(int) { t.Error("Read callback after Disconnect") }) })
		time.Sleep(5 * time.Millisecond)
		nettest.OnLoop(t, l, s.Disconnect)

		// Disconnected during the handshake.
		tcp, _ = connectTCP(t, l, net.AddressList{hang.addr()}, nil, netlog.Source{})
		hang.accept(t)
		nettest.OnLoop(t, l, func() {
			s := NewSSLClientSocket(l, wrap(tcp), "localhost", cfg, nil, netlog.Source{})
			s.Connect(func(int) { t.Error("Connect callback after Disconnect") })
			l.PostDelayed(5*time.Millisecond, s.Disconnect)
		})
		time.Sleep(10 * time.Millisecond)
		drain(t, l)
	}
	// The server's handlers end when they see the client's close.
	testserver.CheckGoroutines(t, baseline)
}

func TestSSLNetLogBytes(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), sendHello)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Everything)
	s := mustConnectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: pki.CertPool()}, log)
	sslReadFull(t, l, s, make([]byte, 5))
	sslWriteAll(t, l, s, []byte("abc"))
	sslReadFull(t, l, s, make([]byte, 3))
	var src uint32
	nettest.OnLoop(t, l, func() { src = s.NetLog().Source().ID; s.Disconnect() })
	sum := func(et netlog.EventType) (n int) {
		for _, e := range rec.Find(et, netlog.PhaseNone, src) {
			n += e.Params["byte_count"].(int)
		}
		return n
	}
	if got := sum(netlog.EventSSLSocketBytesReceived); got != 8 {
		t.Errorf("SSL_SOCKET_BYTES_RECEIVED total %d, want 8", got)
	}
	if got := sum(netlog.EventSSLSocketBytesSent); got != 3 {
		t.Errorf("SSL_SOCKET_BYTES_SENT total %d, want 3", got)
	}
	// The TLS records themselves are logged on the same (TCP) source.
	if sum(netlog.EventSocketBytesReceived) <= 8 || sum(netlog.EventSocketBytesSent) <= 3 {
		t.Errorf("SOCKET_BYTES_* totals %d received, %d sent", sum(netlog.EventSocketBytesReceived), sum(netlog.EventSocketBytesSent))
	}
	e := rec.Find(netlog.EventSSLSocketBytesSent, netlog.PhaseNone, src)[0]
	if e.Params["bytes"] != "YWJj" { // base64("abc")
		t.Errorf("SSL_SOCKET_BYTES_SENT bytes %v", e.Params["bytes"])
	}
	rec.One(t, netlog.EventSocketClosed, netlog.PhaseNone, src)
	rec.One(t, netlog.EventSocketAlive, netlog.PhaseEnd, src)
}

// TestSSLUncleanCloseIsEOF: a server that closes TCP without a close_notify
// ends the stream as a clean EOF, as in Chromium.
func TestSSLUncleanCloseIsEOF(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	srv := newTLSTestServer(t, serverConfig(t, pki.Leaf), func(c *tls.Conn) {
		c.Write([]byte("bye"))
		c.NetConn().Close()
	})
	s := mustConnectSSL(t, l, srv.addr(), "localhost", &SSLConfig{RootCAs: pki.CertPool()}, nil)
	buf := make([]byte, 3)
	sslReadFull(t, l, s, buf)
	if n, _ := sslRead(t, l, s, buf); n != 0 {
		t.Fatalf("Read after the server hung up = %v, want 0 (EOF)", net.Error(n))
	}
}

// TestTLSTransportDetachConn covers TCPClientSocket.DetachConn, which hands
// crypto/tls the connection itself.
func TestTLSTransportDetachConn(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	s, rv := connectTCP(t, l, net.AddressList{srv.addr()}, log, netlog.Source{})
	if rv != net.OK {
		t.Fatal(net.Error(rv))
	}
	peer := srv.accept(t)

	// Not while a Read is pending.
	nettest.OnLoop(t, l, func() {
		if rv := s.Read(make([]byte, 1), func(int) {}); rv != net.IOPending {
			t.Fatalf("Read = %d", rv)
		}
		if s.DetachConn() != nil {
			t.Error("DetachConn with a Read pending")
		}
	})
	peer.Write([]byte("x"))
	waitUntil(t, l, "the read completes", func() bool { return !s.readPending })

	var c gonet.Conn
	nettest.OnLoop(t, l, func() {
		if c = s.DetachConn(); c == nil {
			t.Fatal("DetachConn = nil")
		}
		if s.DetachConn() != nil {
			t.Error("DetachConn twice")
		}
		if rv := s.Read(make([]byte, 1), nil); rv != int(net.ErrUnexpected) {
			t.Errorf("Read after DetachConn = %d", rv)
		}
		if rv := s.Write([]byte("x"), nil); rv != int(net.ErrUnexpected) {
			t.Errorf("Write after DetachConn = %d", rv)
		}
		if !s.IsConnected() || !s.IsConnectedAndIdle() {
			t.Error("a detached idle socket is not connected and idle")
		}
	})
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(peer, buf); err != nil {
		t.Fatal(err)
	}
	peer.Write([]byte("pong!"))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("read %q, %v", buf, err)
	}
	// One byte left unread: the socket's peek still sees it.
	nettest.OnLoop(t, l, func() {
		if !s.IsConnected() || s.IsConnectedAndIdle() {
			t.Error("unread data on a detached socket: still idle")
		}
	})
	var id uint32
	nettest.OnLoop(t, l, func() {
		id = s.NetLog().Source().ID
		s.Disconnect()
	})
	if _, err := c.Read(buf); err == nil {
		t.Error("the detached conn still reads after Disconnect")
	}
	sent := rec.Find(netlog.EventSocketBytesSent, netlog.PhaseNone, id)
	if len(sent) != 1 || sent[0].Params["byte_count"] != 4 {
		t.Errorf("SOCKET_BYTES_SENT %+v", sent)
	}
	got := 0
	for _, e := range rec.Find(netlog.EventSocketBytesReceived, netlog.PhaseNone, id) {
		got += e.Params["byte_count"].(int)
	}
	if got != 1+4 { // "x" on the loop, "pong" through the conn
		t.Errorf("SOCKET_BYTES_RECEIVED total %d", got)
	}
	rec.One(t, netlog.EventSocketClosed, netlog.PhaseNone, id)
	if len(rec.Find(netlog.EventSocketReadError, netlog.PhaseNone, id)) != 0 {
		t.Error("reading a conn closed by Disconnect logged SOCKET_READ_ERROR")
	}
}
