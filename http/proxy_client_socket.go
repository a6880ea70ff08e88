package http

import (
	gonet "net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/socket"
)

// drainBodyBufferSize is the read size used to discard a 407 body before
// resending on the same connection.
const drainBodyBufferSize = 4 << 10

type pcsState int

const (
	pcsStateNone pcsState = iota
	pcsStateSendRequest
	pcsStateSendRequestComplete
	pcsStateReadHeaders
	pcsStateReadHeadersComplete
	pcsStateDrainBody
	pcsStateDrainBodyComplete
	// pcsStateDone: the tunnel is up and the socket carries the caller's
	// bytes.
	pcsStateDone
)

// ProxyClientSocket is a byte stream to a destination through an HTTP
// CONNECT tunnel: Chromium's HttpProxyClientSocket. Its Connect sends the
// CONNECT request on the connection to the proxy and reads the reply; once
// the proxy answered 2xx, Read and Write pass through to that connection,
// Read first returning any bytes that came right after the reply's head.
//
// The proxy's reply to a failed CONNECT (its body above all) is never
// readable: an active attacker could otherwise pose as the destination
// (crbug.com/7338, crbug.com/137891).
//
// HTTPProxyConnectJob makes these; a pool hands them out like any other
// socket.
type ProxyClientSocket struct {
	transport socket.StreamSocket
	// socketNL is the transport's own source, kept because a TCP socket
	// forgets it on Disconnect and NetLog must keep answering.
	socketNL netlog.WithSource
	// nl is where the tunnel's events go: the connect job's source.
	nl        netlog.WithSource
	endpoint  string
	userAgent string
	auth      *proxyAuth
	// isReused: an earlier CONNECT (answered 407) used this connection, so
	// a close before any reply byte is a closed connection, not an empty
	// response.
	isReused bool

	next pcsState
	cb   net.CompletionCallback
	// open is the tunnel phase event begun and not yet ended, so that a
	// timeout or cancel can close it.
	open netlog.EventType

	requestLine string
	sendBuf     []byte
	sendOff     int

	// readBuf holds the reply as read so far; headEnd is the end of its
	// head once found.
	readBuf  []byte
	headEnd  int
	response *ResponseHeaders

	// Framing of a 407 body being discarded.
	bodyLeft     int64 // Content-Length bytes still to come; -1 unknown
	chunked      *ChunkedDecoder
	bodyComplete bool
	extraData    bool // bytes beyond the body: the connection is unusable
	drainBuf     []byte

	// pending are bytes that followed a 2xx head; Read serves them first.
	pending []byte
}

// newProxyClientSocket wraps transport, a connection to the proxy, for a
// tunnel to endpoint ("host:port"). Events go to nl.
func newProxyClientSocket(transport socket.StreamSocket, nl netlog.WithSource, endpoint, userAgent string, auth *proxyAuth) *ProxyClientSocket {
	return &ProxyClientSocket{
		transport: transport,
		socketNL:  transport.NetLog(),
		nl:        nl,
		endpoint:  endpoint,
		userAgent: userAgent,
		auth:      auth,
		bodyLeft:  -1,
	}
}

// tunnelEndpoint is the CONNECT target, "host:port" with brackets around
// IPv6 literals (Chromium's HostPortPair::ToString).
func tunnelEndpoint(host string, port uint16) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return gonet.JoinHostPort(host, strconv.Itoa(int(port)))
}

// buildTunnelRequest is Chromium's ProxyClientSocket::BuildTunnelRequest:
// Host first, as RFC 9112 asks; "Proxy-Connection: keep-alive" for
// HTTP/1.0 proxies such as Squid (needed for connection-based auth); then
// the User-Agent when there is one, and the credentials.
func buildTunnelRequest(endpoint, userAgent, authorization string) (string, RequestHeaders) {
	line := "CONNECT " + endpoint + " HTTP/1.1\r\n"
	var h RequestHeaders
	h.Set("Host", endpoint)
	h.Set("Proxy-Connection", "keep-alive")
	if userAgent != "" {
		h.Set("User-Agent", userAgent)
	}
	if authorization != "" {
		h.Set("Proxy-Authorization", authorization)
	}
	return line, h
}

// Connect implements socket.StreamSocket: it establishes the tunnel.
func (s *ProxyClientSocket) Connect(cb net.CompletionCallback) int {
	if s.next == pcsStateDone {
		return net.OK
	}
	s.next = pcsStateSendRequest
	rv := s.doLoop(net.OK)
	if rv == net.IOPending {
		s.cb = cb
	}
	return rv
}

// restartWithAuth resends the CONNECT, now with credentials, on the same
// connection after discarding the 407's body. It fails with
// net.ErrUnableToReuseConnectionForProxyAuth, having disconnected, when
// the connection cannot carry another request; the caller then opens a
// new one.
func (s *ProxyClientSocket) restartWithAuth(cb net.CompletionCallback) int {
	rv := s.prepareForAuthRestart()
	if rv != net.OK {
		return rv
	}
	rv = s.doLoop(net.OK)
	if rv == net.IOPending {
		s.cb = cb
	}
	return rv
}

func (s *ProxyClientSocket) prepareForAuthRestart() int {
	if s.response == nil {
		return int(net.ErrConnectionReset)
	}
	// Even a keep-alive reply is useless without a way to find its end.
	if !s.response.IsKeepAlive() || (s.chunked == nil && s.bodyLeft < 0) || !s.transport.IsConnected() {
		s.transport.Disconnect()
		return int(net.ErrUnableToReuseConnectionForProxyAuth)
	}
	if !s.consumeBody(s.readBuf[s.headEnd:]) {
		return int(net.ErrUnableToReuseConnectionForProxyAuth)
	}
	if !s.bodyComplete {
		s.next = pcsStateDrainBody
		return net.OK
	}
	return s.didDrainBodyForAuthRestart()
}

func (s *ProxyClientSocket) didDrainBodyForAuthRestart() int {
	// Anything beyond the body, or a close, and the proxy and we no
	// longer agree on where the next reply starts.
	if s.extraData || !s.transport.IsConnectedAndIdle() {
		return int(net.ErrUnableToReuseConnectionForProxyAuth)
	}
	s.isReused = true
	s.requestLine, s.sendBuf, s.sendOff = "", nil, 0
	s.readBuf, s.headEnd, s.response = nil, 0, nil
	s.bodyLeft, s.chunked, s.bodyComplete, s.drainBuf = -1, nil, false, nil
	s.next = pcsStateSendRequest
	return net.OK
}

func (s *ProxyClientSocket) onIOComplete(rv int) {
	rv = s.doLoop(rv)
	if rv != net.IOPending && s.cb != nil {
		cb := s.cb
		s.cb = nil
		cb(rv)
	}
}

func (s *ProxyClientSocket) doLoop(rv int) int {
	for {
		state := s.next
		s.next = pcsStateNone
		switch state {
		case pcsStateSendRequest:
			rv = s.doSendRequest()
		case pcsStateSendRequestComplete:
			rv = s.doSendRequestComplete(rv)
		case pcsStateReadHeaders:
			rv = s.doReadHeaders()
		case pcsStateReadHeadersComplete:
			rv = s.doReadHeadersComplete(rv)
		case pcsStateDrainBody:
			rv = s.doDrainBody()
		case pcsStateDrainBodyComplete:
			rv = s.doDrainBodyComplete(rv)
		default:
			panic("http: bad ProxyClientSocket state")
		}
		if rv == net.IOPending || s.next == pcsStateNone || s.next == pcsStateDone {
			return rv
		}
	}
}

func (s *ProxyClientSocket) beginPhase(t netlog.EventType) {
	s.open = t
	s.nl.BeginEvent(t, nil)
}

func (s *ProxyClientSocket) endPhase(rv int) int {
	if s.open != 0 {
		s.nl.EndEventWithNetErrorCode(s.open, rv)
		s.open = 0
	}
	return rv
}

func (s *ProxyClientSocket) doSendRequest() int {
	s.beginPhase(netlog.EventHTTPTransactionTunnelSendRequest)
	s.next = pcsStateSendRequestComplete
	// Built lazily, so that a restart carries the credentials it was
	// restarted for.
	line, headers := buildTunnelRequest(s.endpoint, s.userAgent, s.auth.authorization())
	s.requestLine = line
	s.nl.AddEvent(netlog.EventHTTPTransactionSendTunnelHeaders, func(m netlog.CaptureMode) netlog.Params {
		return requestHeadersNetLogParams(line, &headers, m)
	})
	b := append([]byte(nil), line...)
	for _, f := range headers.Fields() {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	s.sendBuf = append(b, "\r\n"...)
	s.sendOff = 0
	return s.transport.Write(s.sendBuf, s.onIOComplete)
}

// requestHeadersNetLogParams is Chromium's HttpRequestHeaders::NetLogParams:
// {"line", "headers": ["Name: value"...]}, credentials elided below
// IncludeSensitive.
func requestHeadersNetLogParams(line string, h *RequestHeaders, m netlog.CaptureMode) netlog.Params {
	fields := h.Fields()
	lines := make([]string, len(fields))
	for i, f := range fields {
		lines[i] = f.Name + ": " + ElideHeaderValueForNetLog(!m.IncludesSensitive(), f.Name, f.Value)
	}
	return netlog.Params{"line": line, "headers": lines}
}

func (s *ProxyClientSocket) doSendRequestComplete(rv int) int {
	if rv < 0 {
		return s.endPhase(rv)
	}
	s.sendOff += rv
	if s.sendOff < len(s.sendBuf) {
		// A short write: the rest goes out before we listen.
		s.next = pcsStateSendRequestComplete
		return s.transport.Write(s.sendBuf[s.sendOff:], s.onIOComplete)
	}
	s.endPhase(net.OK)
	s.next = pcsStateReadHeaders
	return net.OK
}

func (s *ProxyClientSocket) doReadHeaders() int {
	s.beginPhase(netlog.EventHTTPTransactionTunnelReadHeaders)
	if s.readBuf == nil {
		s.readBuf = make([]byte, 0, initialHeaderBufSize)
	}
	return s.readHead()
}

// readHead reads more of the reply's head, growing the buffer up to the
// 256 KiB head limit.
func (s *ProxyClientSocket) readHead() int {
	s.next = pcsStateReadHeadersComplete
	if len(s.readBuf) == cap(s.readBuf) {
		grown := make([]byte, len(s.readBuf), min(2*cap(s.readBuf), maxHeaderBufSize))
		copy(grown, s.readBuf)
		s.readBuf = grown
	}
	return s.transport.Read(s.readBuf[len(s.readBuf):cap(s.readBuf)], s.onIOComplete)
}

func (s *ProxyClientSocket) doReadHeadersComplete(rv int) int {
	if rv < 0 {
		return s.endPhase(rv)
	}
	if rv == 0 {
		// The proxy closed before the end of the head. Chromium's parser,
		// reading a CONNECT as an https:// request, never accepts a
		// truncated head.
		switch {
		case len(s.readBuf) > 0:
			rv = int(net.ErrResponseHeadersTruncated)
		case s.isReused:
			rv = int(net.ErrConnectionClosed)
		default:
			rv = int(net.ErrEmptyResponse)
		}
		return s.endPhase(rv)
	}
	s.readBuf = s.readBuf[:len(s.readBuf)+rv]
	for {
		// No "HTTP" in the first bytes: HTTP/0.9 or garbage, which a
		// tunnel must not accept (Chromium requires an HTTP/1.x status
		// line for CONNECT). Deciding now fails a babbling proxy at once.
		if len(s.readBuf) >= 8 && rhLocateStatusLine(s.readBuf) < 0 {
			return s.endPhase(int(net.ErrTunnelConnectionFailed))
		}
		end := rhLocateEndOfHeaders(s.readBuf)
		if end < 0 {
			if len(s.readBuf) >= maxHeaderBufSize {
				return s.endPhase(int(net.ErrResponseHeadersTooBig))
			}
			return s.readHead()
		}
		h, err := ParseResponseHeaders(s.readBuf[:end])
		if err == nil {
			err = h.Validate()
		}
		if err != nil {
			return s.endPhase(net.ResultFromError(err))
		}
		if code := h.StatusCode(); code >= 100 && code < 200 && code != 101 {
			// Interim replies (100 Continue) precede the real one; a 101
			// is final, and no tunnel.
			s.readBuf = append(s.readBuf[:0], s.readBuf[end:]...)
			if len(s.readBuf) == 0 {
				return s.readHead()
			}
			continue
		}
		return s.headReceived(h, end)
	}
}

func (s *ProxyClientSocket) headReceived(h *ResponseHeaders, end int) int {
	if major, _ := h.Version(); major < 1 {
		return s.endPhase(int(net.ErrTunnelConnectionFailed))
	}
	s.response, s.headEnd = h, end
	s.nl.AddEvent(netlog.EventHTTPTransactionReadTunnelResponseHeaders, func(m netlog.CaptureMode) netlog.Params {
		return h.NetLogParams(!m.IncludesSensitive())
	})
	code := h.StatusCode()
	switch {
	case code >= 200 && code < 300:
		// RFC 9110 §9.3.6: any 2xx opens the tunnel. Whatever followed
		// the head is the destination's first bytes (a server that speaks
		// first), kept for Read.
		if end < len(s.readBuf) {
			s.pending = append([]byte(nil), s.readBuf[end:]...)
		}
		s.readBuf = nil
		s.next = pcsStateDone
		return s.endPhase(net.OK)
	case code == 407:
		if h.IsChunkedEncoding() {
			s.chunked = &ChunkedDecoder{}
		} else {
			s.bodyLeft = h.ContentLength()
		}
		rv := s.auth.handleChallenge(h, true)
		if rv == net.OK {
			// Restartable: the job resends with credentials.
			rv = int(net.ErrProxyAuthRequested)
		}
		return s.endPhase(rv)
	default:
		// The reply is dropped unread, lest the proxy pose as the
		// destination; useful error pages (Squid's DNS failures) are lost.
		return s.endPhase(int(net.ErrTunnelConnectionFailed))
	}
}

// consumeBody discards b as 407 body bytes; false means the body is
// malformed and the connection unusable.
func (s *ProxyClientSocket) consumeBody(b []byte) bool {
	if len(b) == 0 && !s.bodyComplete {
		s.bodyComplete = s.chunked == nil && s.bodyLeft == 0
		return true
	}
	if s.chunked != nil {
		if _, err := s.chunked.FilterBuf(b); err != nil {
			return false
		}
		if s.chunked.ReachedEOF() {
			s.bodyComplete = true
			s.extraData = s.chunked.BytesAfterEOF() > 0
		}
		return true
	}
	take := min(int64(len(b)), s.bodyLeft)
	s.bodyLeft -= take
	if int64(len(b)) > take {
		s.extraData = true
	}
	s.bodyComplete = s.bodyLeft == 0
	return true
}

func (s *ProxyClientSocket) doDrainBody() int {
	s.next = pcsStateDrainBodyComplete
	if s.drainBuf == nil {
		s.drainBuf = make([]byte, drainBodyBufferSize)
	}
	buf := s.drainBuf
	if s.chunked == nil && int64(len(buf)) > s.bodyLeft {
		// Never read past the body: nothing may follow it.
		buf = buf[:s.bodyLeft]
	}
	return s.transport.Read(buf, s.onIOComplete)
}

func (s *ProxyClientSocket) doDrainBodyComplete(rv int) int {
	if rv <= 0 || !s.consumeBody(s.drainBuf[:rv]) {
		return int(net.ErrUnableToReuseConnectionForProxyAuth)
	}
	if !s.bodyComplete {
		s.next = pcsStateDrainBody
		return net.OK
	}
	return s.didDrainBodyForAuthRestart()
}

// abort disconnects, closing a tunnel phase that was under way with rv.
func (s *ProxyClientSocket) abort(rv int) {
	s.endPhase(rv)
	s.Disconnect()
}

// Read implements socket.StreamSocket.
func (s *ProxyClientSocket) Read(buf []byte, cb net.CompletionCallback) int {
	if s.next != pcsStateDone {
		// The bytes of a reply other than 2xx are the proxy's, not the
		// destination's: never hand them out.
		return int(net.ErrTunnelConnectionFailed)
	}
	if len(s.pending) > 0 {
		n := copy(buf, s.pending)
		s.pending = s.pending[n:]
		if len(s.pending) == 0 {
			s.pending = nil
		}
		return n
	}
	return s.transport.Read(buf, cb)
}

// Write implements socket.StreamSocket.
func (s *ProxyClientSocket) Write(buf []byte, cb net.CompletionCallback) int {
	if s.next != pcsStateDone {
		return int(net.ErrSocketNotConnected)
	}
	return s.transport.Write(buf, cb)
}

// Disconnect implements socket.StreamSocket.
func (s *ProxyClientSocket) Disconnect() {
	s.transport.Disconnect()
	s.next = pcsStateNone
	s.cb = nil
	s.pending = nil
}

// IsConnected implements socket.StreamSocket.
func (s *ProxyClientSocket) IsConnected() bool {
	return s.next == pcsStateDone && s.transport.IsConnected()
}

// IsConnectedAndIdle implements socket.StreamSocket.
func (s *ProxyClientSocket) IsConnectedAndIdle() bool {
	return s.next == pcsStateDone && len(s.pending) == 0 && s.transport.IsConnectedAndIdle()
}

// WasEverUsed implements socket.StreamSocket. The CONNECT exchange counts,
// as in Chromium.
func (s *ProxyClientSocket) WasEverUsed() bool { return s.transport.WasEverUsed() }

// PeerAddress implements socket.StreamSocket: the proxy's address.
func (s *ProxyClientSocket) PeerAddress() netip.AddrPort { return s.transport.PeerAddress() }

// LocalAddress implements socket.StreamSocket.
func (s *ProxyClientSocket) LocalAddress() netip.AddrPort { return s.transport.LocalAddress() }

// NetLog implements socket.StreamSocket: the connection to the proxy's
// source, as Chromium's HttpProxyClientSocket.
func (s *ProxyClientSocket) NetLog() netlog.WithSource { return s.socketNL }

// NegotiatedProtocol implements socket.StreamSocket. It is always "": ALPN
// with an HTTPS proxy concerns the proxy, not the tunnel to the
// destination.
func (s *ProxyClientSocket) NegotiatedProtocol() string { return "" }
