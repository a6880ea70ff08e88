package socket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	gonet "net"
	"net/netip"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// defaultALPN is what a TLS connection offers when SSLConfig.ALPN is empty:
// HTTP/2 first, as Chromium does.
var defaultALPN = []string{"h2", "http/1.1"}

// sslMaxWriteChunk bounds how much of a caller's buffer one Write copies and
// hands to its writer goroutine; the caller writes the rest next.
const sslMaxWriteChunk = 256 << 10

// SSLInfo describes a completed TLS handshake (Chromium's SSLInfo).
type SSLInfo struct {
	// Version is the protocol version, e.g. tls.VersionTLS13.
	Version uint16
	// CipherSuite is the negotiated suite's IANA number.
	CipherSuite uint16
	// Resumed reports whether the handshake resumed an earlier session.
	Resumed bool
	// NegotiatedProtocol is the ALPN result, "" when none was negotiated.
	NegotiatedProtocol string
	// PeerCertificates is the chain the server sent, leaf first.
	PeerCertificates []*x509.Certificate
	// State is crypto/tls's full account, for callers that want more (an
	// http.Response's TLS field).
	State tls.ConnectionState
}

// VersionName is Chromium's name for Version: "TLS 1.3", "TLS 1.2", ...
func (i SSLInfo) VersionName() string { return sslVersionName(i.Version) }

// SSLClientSocket is a TLS client connection over a connected StreamSocket
// (TCP, SOCKS or a proxy tunnel), made with crypto/tls.
//
// crypto/tls is blocking, so the handshake runs in a goroutine, each pending
// Read has one reader goroutine (it decrypts into a private buffer; the
// bytes are copied into the caller's buffer on the loop, and what does not
// fit is returned by later Reads without a goroutine) and each pending Write
// one writer goroutine (with a copy of the bytes). An idle connection has no
// goroutine. Over a *TCPClientSocket crypto/tls gets the connection itself
// (TCPClientSocket.DetachConn); over anything else it gets a BlockingConn.
//
// Events go to the transport's NetLog source, as Chromium's SSL socket logs
// on the SOCKET source: SSL_CONNECT, SSL_HANDSHAKE_ERROR,
// SSL_CERTIFICATES_RECEIVED, SSL_SOCKET_BYTES_SENT/RECEIVED (plaintext),
// SSL_READ_ERROR and SSL_WRITE_ERROR.
type SSLClientSocket struct {
	loop      *net.Loop
	transport StreamSocket
	config    *tls.Config
	nl        netlog.WithSource
	ownSource bool // nl is a source of our own: the transport logs nowhere

	conn *tls.Conn
	rc   *recordConn
	// blocking is set when crypto/tls runs over a BlockingConn.
	blocking *BlockingConn

	// generation changes on Disconnect so that results of goroutines still
	// in flight are dropped.
	generation    uint64
	handshake     net.Op
	connectCB     net.CompletionCallback
	connecting    bool
	connected     bool
	disconnected  bool
	handshakeDone bool
	state         tls.ConnectionState
	everUsed      bool

	readBuf     []byte // the reader goroutine's private buffer
	plain       []byte // decrypted bytes not yet returned: a slice of readBuf
	readPending bool
	userBuf     []byte
	readCB      net.CompletionCallback
	readFinal   *int // once set, what every later Read returns (0 = EOF)

	writeBuf     []byte
	writePending bool
	writeCB      net.CompletionCallback
	writeFinal   int // once negative, what every later Write returns
}

// NewSSLClientSocket returns a socket that will run a TLS handshake for host
// over transport, which must be connected; from then on the SSL socket owns
// transport. host is the server's name (sent as SNI and checked against the
// certificate) or an IP literal (no SNI; checked against the certificate's
// IP addresses). cfg may be nil for the defaults. Events go to the
// transport's NetLog source; only a transport that has none gets a new
// SOCKET source in log, pointing back at source (the connect job).
func NewSSLClientSocket(loop *net.Loop, transport StreamSocket, host string, cfg *SSLConfig, log *netlog.NetLog, source netlog.Source) *SSLClientSocket {
	s := &SSLClientSocket{
		loop:      loop,
		transport: transport,
		config:    newTLSConfig(host, cfg),
		nl:        transport.NetLog(),
	}
	if s.nl.NetLog() == nil && log != nil {
		s.nl = netlog.NewSource(log, netlog.SourceSocket)
		s.ownSource = true
		s.nl.BeginEvent(netlog.EventSocketAlive, func(netlog.CaptureMode) netlog.Params {
			if source.IsValid() {
				return source.DependencyParams()
			}
			return nil
		})
	}
	return s
}

// newTLSConfig is crypto/tls's configuration for one connection to host.
func newTLSConfig(host string, cfg *SSLConfig) *tls.Config {
	if cfg == nil {
		cfg = &SSLConfig{}
	}
	alpn := cfg.ALPN
	if len(alpn) == 0 {
		alpn = defaultALPN
	}
	// GroupIDs keep IPv6 literals bare, but be lenient with a URL's form.
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return &tls.Config{
		// crypto/tls sends no SNI for an IP literal, as RFC 6066 asks, and
		// verifies it against the certificate's IP addresses.
		ServerName:         host,
		NextProtos:         append([]string(nil), alpn...),
		RootCAs:            cfg.RootCAs,
		InsecureSkipVerify: cfg.Insecure,
		ClientSessionCache: cfg.SessionCache,
	}
}

// NetLog implements StreamSocket: the transport's source.
func (s *SSLClientSocket) NetLog() netlog.WithSource { return s.nl }

// Connect implements StreamSocket: it runs the TLS handshake, which always
// completes asynchronously.
func (s *SSLClientSocket) Connect(cb net.CompletionCallback) int {
	switch {
	case s.connected:
		return net.OK
	case s.disconnected:
		return int(net.ErrSocketNotConnected)
	case s.connecting:
		return int(net.ErrUnexpected)
	}
	s.nl.BeginEvent(netlog.EventSSLConnect, nil)
	var base gonet.Conn
	if tcp, ok := s.transport.(*TCPClientSocket); ok {
		if c := tcp.DetachConn(); c != nil {
			base = c
		}
	}
	if base == nil {
		s.blocking = NewBlockingConn(s.loop, s.transport)
		base = s.blocking
	}
	s.rc = newRecordConn(base)
	s.conn = tls.Client(s.rc, s.config)
	s.connecting = true
	s.connectCB = cb
	conn := s.conn
	// Cancelling the Op (Disconnect, loop shutdown) cancels the context,
	// and crypto/tls then closes the connection to stop the handshake.
	s.handshake = net.Go(s.loop, func(ctx context.Context) (tls.ConnectionState, error) {
		if err := conn.HandshakeContext(ctx); err != nil {
			return tls.ConnectionState{}, err
		}
		// Taken here, off the loop: ConnectionState locks the handshake
		// mutex, which the loop must never wait for.
		return conn.ConnectionState(), nil
	}, s.onHandshakeDone)
	return net.IOPending
}

func (s *SSLClientSocket) onHandshakeDone(cs tls.ConnectionState, err error) {
	s.connecting = false
	s.handshake = net.Op{}
	cb := s.connectCB
	s.connectCB = nil
	if err != nil {
		var rv int
		if errors.Is(err, net.ErrAborted) {
			// The loop is shutting down and the handshake goroutine may
			// still run: leave its record layer alone.
			rv = int(net.ErrAborted)
		} else {
			rv = int(mapTLSError(err, tlsErrorHints{alertAnsweredHello: s.rc.alertAnsweredHello, sentAlert: s.rc.sentAlert}))
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				s.logCertificates(verr.UnverifiedCertificates)
			}
		}
		msg := err.Error()
		s.nl.AddEvent(netlog.EventSSLHandshakeError, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"net_error": rv, "tls_error": msg}
		})
		s.nl.EndEventWithNetErrorCode(netlog.EventSSLConnect, rv)
		cb(rv)
		return
	}
	s.state = cs
	s.connected = true
	s.handshakeDone = true
	s.readBuf = make([]byte, tlsMaxPlaintextRecordBytes)
	s.logCertificates(cs.PeerCertificates)
	s.nl.EndEvent(netlog.EventSSLConnect, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{
			"version":                sslVersionName(cs.Version),
			"cipher_suite":           cs.CipherSuite,
			"is_resumed":             cs.DidResume,
			"key_exchange_group":     uint16(cs.CurveID),
			"encrypted_client_hello": cs.ECHAccepted,
			"next_proto":             nextProtoName(cs.NegotiatedProtocol),
		}
	})
	cb(net.OK)
}

// logCertificates logs SSL_CERTIFICATES_RECEIVED as Chromium does: the
// chain as PEM strings.
func (s *SSLClientSocket) logCertificates(certs []*x509.Certificate) {
	if len(certs) == 0 {
		return
	}
	s.nl.AddEvent(netlog.EventSSLCertificatesReceived, func(netlog.CaptureMode) netlog.Params {
		pems := make([]string, len(certs))
		for i, c := range certs {
			pems[i] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		return netlog.Params{"certificates": pems}
	})
}

// sslVersionName is Chromium's SSLVersionToString.
func sslVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS 1.3"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS10:
		return "TLS 1"
	case 0x0300: // SSL 3.0, whose crypto/tls constant is deprecated
		return "SSL 3"
	}
	return "?"
}

// nextProtoName is Chromium's NextProtoToString: the protocols it knows, or
// "unknown" (which includes no ALPN at all).
func nextProtoName(p string) string {
	switch p {
	case "h2", "http/1.1":
		return p
	}
	return "unknown"
}

// Read implements StreamSocket. Plaintext already decrypted is returned at
// once; otherwise a goroutine waits for the next record.
func (s *SSLClientSocket) Read(buf []byte, cb net.CompletionCallback) int {
	if !s.connected {
		return int(net.ErrSocketNotConnected)
	}
	if s.readPending {
		return int(net.ErrUnexpected)
	}
	if len(buf) == 0 {
		// 0 would read as end of stream.
		return int(net.ErrInvalidArgument)
	}
	if len(s.plain) > 0 {
		n := copy(buf, s.plain)
		s.plain = s.plain[n:]
		s.gotPlaintext(buf[:n])
		return n
	}
	if s.readFinal != nil {
		return *s.readFinal
	}
	s.readPending = true
	s.userBuf, s.readCB = buf, cb
	gen, conn, rb := s.generation, s.conn, s.readBuf
	go func() {
		var n int
		var err error
		for n == 0 && err == nil {
			n, err = conn.Read(rb)
		}
		s.loop.Post(func() {
			if gen == s.generation {
				s.onReadDone(n, err)
			}
		})
	}()
	return net.IOPending
}

func (s *SSLClientSocket) onReadDone(n int, err error) {
	buf, cb := s.userBuf, s.readCB
	s.readPending = false
	s.userBuf, s.readCB = nil, nil
	if err != nil {
		// crypto/tls may return the last bytes together with the
		// close_notify behind them: the error is for the next Read.
		rv := int(mapTLSError(err, tlsErrorHints{}))
		if rv == int(net.ErrConnectionClosed) {
			// As Chromium: many servers close TCP without a close_notify,
			// so an unclean shutdown reads as a clean end of stream
			// (crbug.com/861413); HTTP framing catches truncation.
			rv = 0
		} else {
			s.nl.AddEventWithNetErrorCode(netlog.EventSSLReadError, rv)
		}
		s.readFinal = &rv
	}
	if n == 0 {
		cb(*s.readFinal)
		return
	}
	c := copy(buf, s.readBuf[:n])
	s.plain = s.readBuf[c:n]
	s.gotPlaintext(buf[:c])
	cb(c)
}

func (s *SSLClientSocket) gotPlaintext(b []byte) {
	if len(b) > 0 {
		s.everUsed = true
		s.nl.AddByteTransferEvent(netlog.EventSSLSocketBytesReceived, b)
	}
}

// Write implements StreamSocket. It always completes asynchronously: a
// goroutine encrypts and sends a copy of (up to 256 KiB of) buf.
func (s *SSLClientSocket) Write(buf []byte, cb net.CompletionCallback) int {
	if !s.connected {
		return int(net.ErrSocketNotConnected)
	}
	if s.writePending {
		return int(net.ErrUnexpected)
	}
	if s.writeFinal < 0 {
		return s.writeFinal
	}
	if len(buf) == 0 {
		return 0
	}
	n := min(len(buf), sslMaxWriteChunk)
	if cap(s.writeBuf) < n {
		s.writeBuf = make([]byte, n)
	}
	wb := s.writeBuf[:n]
	copy(wb, buf)
	s.writePending = true
	s.writeCB = cb
	gen, conn := s.generation, s.conn
	go func() {
		_, err := conn.Write(wb)
		s.loop.Post(func() {
			if gen == s.generation {
				s.onWriteDone(wb, err)
			}
		})
	}()
	return net.IOPending
}

func (s *SSLClientSocket) onWriteDone(wb []byte, err error) {
	cb := s.writeCB
	s.writePending = false
	s.writeCB = nil
	if err != nil {
		rv := int(mapTLSError(err, tlsErrorHints{}))
		s.nl.AddEventWithNetErrorCode(netlog.EventSSLWriteError, rv)
		s.writeFinal = rv
		cb(rv)
		return
	}
	s.everUsed = true
	s.nl.AddByteTransferEvent(netlog.EventSSLSocketBytesSent, wb)
	cb(len(wb))
}

// Disconnect implements StreamSocket. It closes the connection under
// crypto/tls, which ends every goroutine blocked in it, and drops their
// results. No close_notify is sent: tls.Conn.Close would write it with a
// blocking call, and Chromium does not send one either.
func (s *SSLClientSocket) Disconnect() {
	if s.disconnected {
		return
	}
	s.disconnected = true
	s.generation++
	if s.connecting {
		s.handshake.Cancel()
		s.connecting = false
		s.connectCB = nil
		s.nl.EndEventWithNetErrorCode(netlog.EventSSLConnect, int(net.ErrAborted))
	}
	s.connected = false
	s.readPending, s.writePending = false, false
	s.userBuf, s.readCB, s.writeCB = nil, nil, nil
	s.plain = nil
	if s.blocking != nil {
		// Close releases the goroutines blocked in the BlockingConn (whose
		// callbacks the transport's Disconnect drops) and disconnects the
		// transport in a task it posts.
		s.blocking.Close()
	} else {
		s.transport.Disconnect()
	}
	if s.ownSource {
		s.nl.EndEvent(netlog.EventSocketAlive, nil)
	}
}

// IsConnected implements StreamSocket. As in Chromium, a socket with a
// Read or Write in flight counts as connected; otherwise the transport
// decides (a TCP transport peeks at the kernel's buffer).
func (s *SSLClientSocket) IsConnected() bool {
	if !s.connected {
		return false
	}
	if s.readPending || s.writePending {
		return true
	}
	return s.transport.IsConnected()
}

// IsConnectedAndIdle implements StreamSocket: connected, nothing in flight,
// no plaintext or record bytes waiting to be read, and the transport idle.
// Any unread record, a close_notify included, makes the connection not
// idle, which is what a pool must know before reusing it.
func (s *SSLClientSocket) IsConnectedAndIdle() bool {
	if !s.connected || s.readPending || s.writePending || len(s.plain) > 0 || s.readFinal != nil || s.writeFinal < 0 {
		return false
	}
	if s.rc.buffered() > 0 {
		return false
	}
	return s.transport.IsConnectedAndIdle()
}

// WasEverUsed implements StreamSocket: whether application data was read
// or written (the handshake does not count).
func (s *SSLClientSocket) WasEverUsed() bool { return s.everUsed }

// PeerAddress implements StreamSocket.
func (s *SSLClientSocket) PeerAddress() netip.AddrPort { return s.transport.PeerAddress() }

// LocalAddress implements StreamSocket.
func (s *SSLClientSocket) LocalAddress() netip.AddrPort { return s.transport.LocalAddress() }

// NegotiatedProtocol implements StreamSocket: the ALPN result, "" when the
// server chose none (treat it as http/1.1).
func (s *SSLClientSocket) NegotiatedProtocol() string { return s.state.NegotiatedProtocol }

// SSLInfo describes the handshake; ok is false until one has completed. It
// stays available after Disconnect.
func (s *SSLClientSocket) SSLInfo() (info SSLInfo, ok bool) {
	if !s.handshakeDone {
		return SSLInfo{}, false
	}
	cs := s.state
	return SSLInfo{
		Version:            cs.Version,
		CipherSuite:        cs.CipherSuite,
		Resumed:            cs.DidResume,
		NegotiatedProtocol: cs.NegotiatedProtocol,
		PeerCertificates:   cs.PeerCertificates,
		State:              cs,
	}, true
}
