package socket

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// TestSSLInteropNginx runs SSLConnectJobs over TransportConnectJobs against a
// real nginx with TLS: the certificate checks, ALPN as nginx's http2
// setting says, and an HTTP/1.1 exchange over the TLS socket.
func TestSSLInteropNginx(t *testing.T) {
	pki := interop.GenerateCA(t, "")
	l := nettest.NewLoop(t)

	connect := func(t *testing.T, n *interop.Nginx, host string) (*SSLClientSocket, int) {
		t.Helper()
		log := netlog.New()
		rec := nettest.NewRecorder(log, netlog.Default)
		c := &CommonConnectJobParams{Loop: l, NetLog: log, SSL: &SSLConfig{RootCAs: pki.CertPool()}}
		addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(n.TLSPort))
		job, rv := runSSLJobHost(t, c, host, transportNested(c, addr))
		if rv != net.OK {
			if e := rec.Find(netlog.EventSSLHandshakeError, netlog.PhaseNone, 0); len(e) > 0 {
				t.Logf("SSL_HANDSHAKE_ERROR %v", e[0].Params)
			}
			return nil, rv
		}
		var s *SSLClientSocket
		nettest.OnLoop(t, l, func() { s = job.TakeSocket().(*SSLClientSocket) })
		t.Cleanup(func() { l.PostAndWait(s.Disconnect) })
		return s, rv
	}

	t.Run("valid, HTTP/1.1", func(t *testing.T) {
		n := interop.StartNginx(t, interop.NginxOptions{TLS: pki.TLS(false)})
		n.WriteFile(t, "hello.txt", []byte("hello over TLS\n"))
		for _, host := range []string{"localhost", "127.0.0.1"} {
			s, rv := connect(t, n, host)
			if rv != net.OK {
				t.Fatalf("%s: %v", host, net.Error(rv))
			}
			var info SSLInfo
			nettest.OnLoop(t, l, func() { info, _ = s.SSLInfo() })
			if info.NegotiatedProtocol != "http/1.1" || info.VersionName() != "TLS 1.3" {
				t.Errorf("%s: ALPN %q, version %s", host, info.NegotiatedProtocol, info.VersionName())
			}
			sslWriteAll(t, l, s, []byte("GET /hello.txt HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n"))
			var resp []byte
			buf := make([]byte, 4096)
			for {
				n, _ := sslRead(t, l, s, buf)
				if n < 0 {
					t.Fatalf("%s: Read: %v", host, net.Error(n))
				}
				if n == 0 {
					break
				}
				resp = append(resp, buf[:n]...)
			}
			if !bytes.HasPrefix(resp, []byte("HTTP/1.1 200 ")) || !bytes.HasSuffix(resp, []byte("\r\n\r\nhello over TLS\n")) {
				t.Errorf("%s: response %q", host, resp)
			}
		}
		log := n.WaitAccessLog(t, 2)
		for _, e := range log {
			if e.TLSProtocol != "TLSv1.3" || e.Status != 200 || e.ServerPort != n.TLSPort {
				t.Errorf("access log %+v", e)
			}
		}
	})

	t.Run("valid, HTTP/2", func(t *testing.T) {
		n := interop.StartNginx(t, interop.NginxOptions{TLS: pki.TLS(true)})
		s, rv := connect(t, n, "localhost")
		if rv != net.OK {
			t.Fatal(net.Error(rv))
		}
		nettest.OnLoop(t, l, func() {
			if p := s.NegotiatedProtocol(); p != "h2" {
				t.Errorf("ALPN %q, want h2", p)
			}
		})
		// nginx speaks first in HTTP/2: its SETTINGS frame.
		buf := make([]byte, 9)
		sslReadFull(t, l, s, buf)
		if buf[3] != 0x4 { // frame type SETTINGS
			t.Errorf("first frame header % x, want SETTINGS", buf)
		}
	})

	t.Run("expired", func(t *testing.T) {
		n := interop.StartNginx(t, interop.NginxOptions{TLS: pki.Expired.TLS(false)})
		if _, rv := connect(t, n, "localhost"); rv != int(net.ErrCertDateInvalid) {
			t.Errorf("handshake = %v, want ERR_CERT_DATE_INVALID", net.Error(rv))
		}
	})

	t.Run("wrong host", func(t *testing.T) {
		n := interop.StartNginx(t, interop.NginxOptions{TLS: pki.WrongHost.TLS(false)})
		if _, rv := connect(t, n, "localhost"); rv != int(net.ErrCertCommonNameInvalid) {
			t.Errorf("handshake = %v, want ERR_CERT_COMMON_NAME_INVALID", net.Error(rv))
		}
	})
}
