package socket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	gonet "net"
	"os"
	"syscall"
	"testing"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
)

// remoteAlert is how crypto/tls reports an alert from the peer (with its
// unexported alert type, for which tls.AlertError stands in here).
func remoteAlert(a uint8) error {
	return &gonet.OpError{Op: "remote error", Err: tls.AlertError(a)}
}

func TestSSLErrorMapping(t *testing.T) {
	verify := func(err error) error { return &tls.CertificateVerificationError{Err: err} }
	hello := tlsErrorHints{alertAnsweredHello: true}
	for _, tc := range []struct {
		name  string
		err   error
		hints tlsErrorHints
		want  net.Error
	}{
		{"nil", nil, tlsErrorHints{}, 0},

		// Certificates.
		{"unknown authority", verify(x509.UnknownAuthorityError{}), tlsErrorHints{}, net.ErrCertAuthorityInvalid},
		{"unknown authority, bare", x509.UnknownAuthorityError{}, tlsErrorHints{}, net.ErrCertAuthorityInvalid},
		{"no system roots", verify(x509.SystemRootsError{}), tlsErrorHints{}, net.ErrCertAuthorityInvalid},
		{"expired", verify(x509.CertificateInvalidError{Reason: x509.Expired}), tlsErrorHints{}, net.ErrCertDateInvalid},
		{"wrong host", verify(x509.HostnameError{Host: "example.com"}), tlsErrorHints{}, net.ErrCertCommonNameInvalid},
		{"name constraints", verify(x509.CertificateInvalidError{Reason: x509.CANotAuthorizedForThisName}), tlsErrorHints{}, net.ErrCertNameConstraintViolation},
		{"unconstrained name", verify(x509.CertificateInvalidError{Reason: x509.UnconstrainedName}), tlsErrorHints{}, net.ErrCertNameConstraintViolation},
		{"wrong key usage", verify(x509.CertificateInvalidError{Reason: x509.IncompatibleUsage}), tlsErrorHints{}, net.ErrCertInvalid},
		{"not a CA", verify(x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign}), tlsErrorHints{}, net.ErrCertInvalid},
		{"weak signature", verify(x509.InsecureAlgorithmError(x509.MD5WithRSA)), tlsErrorHints{}, net.ErrCertWeakSignatureAlgorithm},
		{"other verification error", verify(errors.New("custom verifier says no")), tlsErrorHints{}, net.ErrCertInvalid},
		{"constraint violation", verify(x509.ConstraintViolationError{}), tlsErrorHints{}, net.ErrCertInvalid},

		// Alerts from the server.
		{"protocol_version", remoteAlert(alertProtocolVersion), tlsErrorHints{}, net.ErrSSLVersionOrCipherMismatch},
		{"insufficient_security", remoteAlert(alertInsufficientSecurity), tlsErrorHints{}, net.ErrSSLVersionOrCipherMismatch},
		{"handshake_failure answering the hello", remoteAlert(alertHandshakeFailure), hello, net.ErrSSLVersionOrCipherMismatch},
		{"handshake_failure later", remoteAlert(alertHandshakeFailure), tlsErrorHints{}, net.ErrSSLProtocolError},
		{"bad_certificate", remoteAlert(alertBadCertificate), tlsErrorHints{}, net.ErrBadSSLClientAuthCert},
		{"unknown_ca", remoteAlert(alertUnknownCA), tlsErrorHints{}, net.ErrBadSSLClientAuthCert},
		{"certificate_required", remoteAlert(alertCertificateRequired), tlsErrorHints{}, net.ErrBadSSLClientAuthCert},
		{"bad_record_mac", remoteAlert(alertBadRecordMAC), tlsErrorHints{}, net.ErrSSLBadRecordMACAlert},
		{"decrypt_error", remoteAlert(alertDecryptError), tlsErrorHints{}, net.ErrSSLDecryptErrorAlert},
		{"decompression_failure", remoteAlert(alertDecompressionFailure), tlsErrorHints{}, net.ErrSSLDecompressionFailureAlert},
		{"unrecognized_name", remoteAlert(alertUnrecognizedName), tlsErrorHints{}, net.ErrSSLUnrecognizedNameAlert},
		{"unexpected_message", remoteAlert(10), tlsErrorHints{}, net.ErrSSLProtocolError},
		{"internal_error", remoteAlert(80), tlsErrorHints{}, net.ErrSSLProtocolError},

		// Failures crypto/tls finds itself.
		{"we sent protocol_version", errors.New("tls: server selected unsupported protocol version 301"), tlsErrorHints{sentAlert: alertProtocolVersion}, net.ErrSSLVersionOrCipherMismatch},
		{"tls error", errors.New("tls: server chose an unconfigured cipher suite"), tlsErrorHints{sentAlert: 47}, net.ErrSSLProtocolError},
		{"local alert", &gonet.OpError{Op: "local error", Err: tls.AlertError(80)}, tlsErrorHints{}, net.ErrSSLProtocolError},
		{"not TLS", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, tlsErrorHints{}, net.ErrSSLProtocolError},
		{"unknown error", errors.New("something odd"), tlsErrorHints{}, net.ErrSSLProtocolError},

		// The transport's failures.
		{"EOF", io.EOF, tlsErrorHints{}, net.ErrConnectionClosed},
		{"EOF mid-record", io.ErrUnexpectedEOF, tlsErrorHints{}, net.ErrConnectionClosed},
		{"reset", &gonet.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, tlsErrorHints{}, net.ErrConnectionReset},
		{"broken pipe", &gonet.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, tlsErrorHints{}, net.ErrConnectionReset},
		{"net.Error from a BlockingConn", net.ErrConnectionReset, tlsErrorHints{}, net.ErrConnectionReset},
		{"wrapped proxy error", fmt.Errorf("reading: %w", net.ErrProxyConnectionFailed), tlsErrorHints{}, net.ErrProxyConnectionFailed},
		{"cancelled", context.Canceled, tlsErrorHints{}, net.ErrAborted},
		{"deadline", os.ErrDeadlineExceeded, tlsErrorHints{}, net.ErrTimedOut},
	} {
		if got := mapTLSError(tc.err, tc.hints); got != tc.want {
			t.Errorf("%s: mapTLSError(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// TestSSLErrorMappingLive checks the mapping against the errors crypto/tls
// really returns, from servers that refuse the handshake.
func TestSSLErrorMappingLive(t *testing.T) {
	l := nettest.NewLoop(t)
	pki := interop.GenerateCA(t, "")
	cfg := &SSLConfig{RootCAs: pki.CertPool()}
	for _, tc := range []struct {
		name   string
		server func(*tls.Config)
		want   net.Error
	}{
		{"server only speaks TLS 1.1", func(c *tls.Config) {
			c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		}, net.ErrSSLVersionOrCipherMismatch},
		{"no common cipher suite", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256} // not offered by default
		}, net.ErrSSLVersionOrCipherMismatch},
		// crypto/tls answers a missing client certificate with
		// handshake_failure in TLS 1.2, after the ClientHello.
		{"client certificate required (TLS 1.2)", func(c *tls.Config) {
			c.MaxVersion = tls.VersionTLS12
			c.ClientAuth = tls.RequireAnyClientCert
		}, net.ErrSSLProtocolError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := serverConfig(t, pki.Leaf)
			tc.server(sc)
			srv := newTLSTestServer(t, sc, nil)
			if _, rv := connectSSL(t, l, srv.addr(), "localhost", cfg, nil); rv != int(tc.want) {
				t.Errorf("handshake = %v, want %v", net.Error(rv), tc.want)
			}
		})
	}

	// In TLS 1.3 the client's handshake is over before the server has
	// looked at its (empty) certificate: the certificate_required alert
	// fails the first Read.
	t.Run("client certificate required (TLS 1.3)", func(t *testing.T) {
		sc := serverConfig(t, pki.Leaf)
		sc.ClientAuth = tls.RequireAnyClientCert
		srv := newTLSTestServer(t, sc, sendHello)
		s := mustConnectSSL(t, l, srv.addr(), "localhost", cfg, nil)
		if rv, _ := sslRead(t, l, s, make([]byte, 5)); rv != int(net.ErrBadSSLClientAuthCert) {
			t.Errorf("Read = %v, want ERR_BAD_SSL_CLIENT_AUTH_CERT", net.Error(rv))
		}
		// The error is sticky.
		if rv, sync := sslRead(t, l, s, make([]byte, 5)); rv != int(net.ErrBadSSLClientAuthCert) || !sync {
			t.Errorf("second Read = %v (sync %v)", net.Error(rv), sync)
		}
	})

	t.Run("plain HTTP server", func(t *testing.T) {
		srv := newTCPServer(t)
		go func() {
			c := <-srv.conns
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			io.Copy(io.Discard, c)
			c.Close()
		}()
		if _, rv := connectSSL(t, l, srv.addr(), "localhost", cfg, nil); rv != int(net.ErrSSLProtocolError) {
			t.Errorf("handshake = %v, want ERR_SSL_PROTOCOL_ERROR", net.Error(rv))
		}
	})
}
