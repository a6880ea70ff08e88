package socket

import (
	"net/netip"
	"strings"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// socksStream is the half of StreamSocket that SOCKS4 and SOCKS5 sockets
// share: once the handshake is done they are the transport, byte for byte.
// Chromium's SOCKS sockets log to the transport's source, so one socket in
// netlog-viewer shows the TCP connect, the SOCKS handshake and the data.
type socksStream struct {
	transport StreamSocket
	// nl is a copy of the transport's source taken at construction: the
	// TCP socket forgets its own on Disconnect, and the handshake's last
	// events may come after that.
	nl       netlog.WithSource
	destHost string
	destPort uint16

	completed bool
	// everUsed counts only bytes after the handshake, as Chromium's
	// was_ever_used_: the handshake always moves bytes on the transport,
	// and a pool must still treat a fresh tunnel as unused.
	everUsed bool
	userCB   net.CompletionCallback

	// connectEvent is SOCKS_CONNECT or SOCKS5_CONNECT; connectOpen says
	// its span is open, stepEvent/stepOpen the same for a handshake step,
	// so that Disconnect in mid-handshake can close them.
	connectEvent netlog.EventType
	connectOpen  bool
	stepEvent    netlog.EventType
	stepOpen     bool

	// buf holds the handshake bytes being written or read; off is how many
	// are done. Reads ask for exactly what the protocol says is left, so
	// that no byte meant for the caller is taken off the stream.
	buf []byte
	off int
}

func (s *socksStream) beginConnect() {
	s.connectOpen = true
	s.nl.BeginEvent(s.connectEvent, nil)
}

func (s *socksStream) endConnect(rv int) {
	s.endStep(rv)
	if s.connectOpen {
		s.connectOpen = false
		s.nl.EndEventWithNetErrorCode(s.connectEvent, rv)
	}
}

func (s *socksStream) beginStep(t netlog.EventType) {
	s.stepEvent, s.stepOpen = t, true
	s.nl.BeginEvent(t, nil)
}

func (s *socksStream) endStep(rv int) {
	if s.stepOpen {
		s.stepOpen = false
		s.nl.EndEventWithNetErrorCode(s.stepEvent, rv)
	}
}

// logInt adds a point event with one integer parameter, as Chromium's
// AddEventWithIntParams.
func (s *socksStream) logInt(t netlog.EventType, name string, v int) {
	s.nl.AddEntry(t, netlog.PhaseNone, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{name: v}
	})
}

// runUserCallback hands the handshake's result to Connect's caller.
func (s *socksStream) runUserCallback(rv int) {
	s.endConnect(rv)
	cb := s.userCB
	s.userCB = nil
	if cb != nil {
		cb(rv)
	}
}

// consumeWrite accounts for a transport write during the handshake and
// reports whether everything was written. A zero-byte write is not an
// error: Chromium ignores spurious empty writes and tries again.
func (s *socksStream) consumeWrite(rv int) bool {
	s.off += rv
	return s.off >= len(s.buf)
}

// Read implements StreamSocket.
func (s *socksStream) Read(buf []byte, cb net.CompletionCallback) int {
	return s.pass(s.transport.Read, buf, cb)
}

// Write implements StreamSocket.
func (s *socksStream) Write(buf []byte, cb net.CompletionCallback) int {
	return s.pass(s.transport.Write, buf, cb)
}

// pass runs a read or write of the transport once the handshake is done,
// noting when payload moves (WasEverUsed counts no handshake byte).
func (s *socksStream) pass(op func([]byte, net.CompletionCallback) int, buf []byte, cb net.CompletionCallback) int {
	if !s.completed {
		return int(net.ErrSocketNotConnected)
	}
	rv := op(buf, func(rv int) {
		if rv > 0 {
			s.everUsed = true
		}
		cb(rv)
	})
	if rv > 0 {
		s.everUsed = true
	}
	return rv
}

// disconnect closes the transport; a handshake in progress ends with
// ErrAborted in the NetLog and its callback never runs.
func (s *socksStream) disconnect() {
	if s.connectOpen {
		s.endConnect(int(net.ErrAborted))
	}
	s.completed = false
	s.userCB = nil
	s.buf, s.off = nil, 0
	s.transport.Disconnect()
}

// IsConnected implements StreamSocket.
func (s *socksStream) IsConnected() bool { return s.completed && s.transport.IsConnected() }

// IsConnectedAndIdle implements StreamSocket.
func (s *socksStream) IsConnectedAndIdle() bool {
	return s.completed && s.transport.IsConnectedAndIdle()
}

// WasEverUsed implements StreamSocket: whether any byte moved after the
// handshake.
func (s *socksStream) WasEverUsed() bool { return s.everUsed }

// PeerAddress implements StreamSocket: the proxy's address, as Chromium.
func (s *socksStream) PeerAddress() netip.AddrPort { return s.transport.PeerAddress() }

// LocalAddress implements StreamSocket.
func (s *socksStream) LocalAddress() netip.AddrPort { return s.transport.LocalAddress() }

// NetLog implements StreamSocket: the transport's source.
func (s *socksStream) NetLog() netlog.WithSource { return s.nl }

// NegotiatedProtocol implements StreamSocket: SOCKS negotiates none.
func (s *socksStream) NegotiatedProtocol() string { return "" }

// Transport returns the socket the handshake runs over.
func (s *socksStream) Transport() StreamSocket { return s.transport }

// hostLiteral parses host as an IP literal, with or without the brackets
// of an IPv6 URL host.
func hostLiteral(host string) (netip.Addr, bool) {
	h := host
	if len(h) > 1 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// ---------------------------------------------------------------------------
// SOCKS4 and SOCKS4a

// SOCKS4 protocol constants.
const (
	socks4Version       = 0x04
	socks4CmdConnect    = 0x01
	socks4ReplyOK       = 0x5A
	socks4ReplyRejected = 0x5B
	// 0x5C: the server could not reach the client's identd.
	socks4ReplyNoIdentd = 0x5C
	// 0x5D: identd did not confirm the user id.
	socks4ReplyBadUserID = 0x5D
	socks4ReplySize      = 8
	// socksMaxHostLen is the longest name SOCKS5 can carry (one length
	// byte); SOCKS4a has no length field but gets the same limit, which
	// no DNS name exceeds and which keeps servers' fixed buffers safe.
	socksMaxHostLen = 255
)

type socks4State int

const (
	socks4StateNone socks4State = iota
	socks4StateResolveHost
	socks4StateResolveHostComplete
	socks4StateHandshakeWrite
	socks4StateHandshakeWriteComplete
	socks4StateHandshakeRead
	socks4StateHandshakeReadComplete
)

// SOCKSClientSocket speaks SOCKS4 or SOCKS4a over a connected transport
// (Chromium's SOCKSClientSocket). With SOCKS4 the client resolves the
// destination itself, to an IPv4 address only, and never falls back to
// SOCKS4a; with SOCKS4a (beyond Chromium) the name goes to the proxy,
// which resolves it. The user id is the proxy's user name (Chromium sends
// an empty one).
//
// Replies: 0x5A is success; 0x5C (identd unreachable) is
// ErrSOCKSConnectionHostUnreachable; 0x5B, 0x5D, any other code and a
// reply whose first byte is not 0x00 are ErrSOCKSConnectionFailed; the
// proxy closing the connection mid-handshake is ErrConnectionClosed. These
// are Chromium's choices (net/socket/socks_client_socket.cc).
type SOCKSClientSocket struct {
	socksStream
	socks4a  bool
	userID   string
	resolver dns.HostResolver
	priority net.RequestPriority
	request  dns.ResolveHostRequest
	next     socks4State
	// ip is the destination address sent in the request: the resolved
	// IPv4 address, or 0.0.0.1 when a SOCKS4a proxy resolves the name.
	ip   netip.Addr
	name string // sent after the user id for SOCKS4a, else ""
}

// NewSOCKSClientSocket wraps transport, already connected to a SOCKS4
// proxy, in a socket whose Connect asks the proxy for a connection to
// destHost:destPort. socks4a selects SOCKS4a. userID is sent as the SOCKS4
// user id. resolver (used only for SOCKS4 with a host name) resolves the
// destination at priority.
func NewSOCKSClientSocket(transport StreamSocket, destHost string, destPort uint16, socks4a bool, userID string, resolver dns.HostResolver, priority net.RequestPriority) *SOCKSClientSocket {
	s := &SOCKSClientSocket{socks4a: socks4a, userID: userID, resolver: resolver, priority: priority}
	s.transport, s.nl = transport, transport.NetLog()
	s.destHost, s.destPort = destHost, destPort
	s.connectEvent = netlog.EventSOCKSConnect
	return s
}

// Connect implements StreamSocket: it runs the SOCKS4 handshake.
func (s *SOCKSClientSocket) Connect(cb net.CompletionCallback) int {
	if s.completed {
		return net.OK
	}
	s.beginConnect()
	s.next = socks4StateResolveHost
	rv := s.doLoop(net.OK)
	if rv == net.IOPending {
		s.userCB = cb
	} else {
		s.endConnect(rv)
	}
	return rv
}

// Disconnect implements StreamSocket.
func (s *SOCKSClientSocket) Disconnect() {
	if s.request != nil {
		s.request.Cancel()
		s.request = nil
	}
	s.next = socks4StateNone
	s.disconnect()
}

func (s *SOCKSClientSocket) onIOComplete(rv int) {
	rv = s.doLoop(rv)
	if rv != net.IOPending {
		s.runUserCallback(rv)
	}
}

func (s *SOCKSClientSocket) doLoop(rv int) int {
	for {
		state := s.next
		s.next = socks4StateNone
		switch state {
		case socks4StateResolveHost:
			rv = s.doResolveHost()
		case socks4StateResolveHostComplete:
			rv = s.doResolveHostComplete(rv)
		case socks4StateHandshakeWrite:
			rv = s.doHandshakeWrite()
		case socks4StateHandshakeWriteComplete:
			rv = s.doHandshakeWriteComplete(rv)
		case socks4StateHandshakeRead:
			rv = s.doHandshakeRead()
		case socks4StateHandshakeReadComplete:
			rv = s.doHandshakeReadComplete(rv)
		default:
			panic("socket: bad SOCKSClientSocket state")
		}
		if rv == net.IOPending || s.next == socks4StateNone {
			return rv
		}
	}
}

func (s *SOCKSClientSocket) doResolveHost() int {
	if ip, ok := hostLiteral(s.destHost); ok {
		if !ip.Is4() {
			if s.socks4a {
				// The proxy may be able to reach an IPv6 destination
				// even though SOCKS4 cannot name one: pass it as a name.
				s.ip, s.name = netip.AddrFrom4([4]byte{0, 0, 0, 1}), ip.String()
				s.next = socks4StateHandshakeWrite
				return net.OK
			}
			// Chromium asks for A records only; an IPv6 literal has none.
			return int(net.ErrNameNotResolved)
		}
		s.ip = ip
		s.next = socks4StateHandshakeWrite
		return net.OK
	}
	if s.socks4a {
		if len(s.destHost) > socksMaxHostLen {
			s.nl.AddEvent(netlog.EventSOCKSHostnameTooBig, nil)
			return int(net.ErrSOCKSConnectionFailed)
		}
		s.ip, s.name = netip.AddrFrom4([4]byte{0, 0, 0, 1}), s.destHost
		s.next = socks4StateHandshakeWrite
		return net.OK
	}
	s.next = socks4StateResolveHostComplete
	s.request = s.resolver.CreateRequest(s.destHost, s.destPort, dns.ResolveParams{Priority: s.priority}, s.nl)
	return s.request.Start(s.onIOComplete)
}

func (s *SOCKSClientSocket) doResolveHostComplete(rv int) int {
	req := s.request
	s.request = nil
	if rv != net.OK {
		// No fall back to SOCKS4a: a proxy without 4a would be sent a
		// meaningless address (Chromium's reasoning).
		return rv
	}
	// SOCKS4 carries IPv4 only. Our resolver has no A-only query, so the
	// IPv6 answers are dropped here; a host with none left is, as for
	// Chromium's A query, not resolved.
	for _, a := range req.Addresses() {
		if ip := a.Addr().Unmap(); ip.Is4() {
			s.ip = ip
			s.next = socks4StateHandshakeWrite
			return net.OK
		}
	}
	return int(net.ErrNameNotResolved)
}

// request builds the CONNECT request: version, command, port, address,
// user id and NUL, then for SOCKS4a the host name and NUL.
func (s *SOCKSClientSocket) buildRequest() []byte {
	b := make([]byte, 0, 8+len(s.userID)+1+len(s.name)+1)
	ip := s.ip.As4()
	b = append(b, socks4Version, socks4CmdConnect, byte(s.destPort>>8), byte(s.destPort))
	b = append(b, ip[:]...)
	b = append(b, s.userID...)
	b = append(b, 0)
	if s.name != "" {
		b = append(b, s.name...)
		b = append(b, 0)
	}
	return b
}

func (s *SOCKSClientSocket) doHandshakeWrite() int {
	s.next = socks4StateHandshakeWriteComplete
	if s.buf == nil {
		// A NUL inside either string would end it early on the wire and
		// the proxy would read the rest as something else.
		if strings.IndexByte(s.userID, 0) >= 0 || strings.IndexByte(s.name, 0) >= 0 {
			s.next = socks4StateNone
			return int(net.ErrSOCKSConnectionFailed)
		}
		s.buf, s.off = s.buildRequest(), 0
	}
	return s.transport.Write(s.buf[s.off:], s.onIOComplete)
}

func (s *SOCKSClientSocket) doHandshakeWriteComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	if s.consumeWrite(rv) {
		s.buf, s.off = nil, 0
		s.next = socks4StateHandshakeRead
	} else {
		s.next = socks4StateHandshakeWrite
	}
	return net.OK
}

func (s *SOCKSClientSocket) doHandshakeRead() int {
	s.next = socks4StateHandshakeReadComplete
	if s.buf == nil {
		s.buf, s.off = make([]byte, socks4ReplySize), 0
	}
	return s.transport.Read(s.buf[s.off:], s.onIOComplete)
}

func (s *SOCKSClientSocket) doHandshakeReadComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	if rv == 0 {
		s.nl.AddEvent(netlog.EventSOCKSUnexpectedlyClosedDuringHandshake, nil)
		return int(net.ErrConnectionClosed)
	}
	s.off += rv
	if s.off < len(s.buf) {
		s.next = socks4StateHandshakeRead
		return net.OK
	}
	reply := s.buf
	s.buf, s.off = nil, 0
	// The reply's first byte is a version that must be 0 (RFC-less SOCKS4
	// says "null byte"); the port and address after the code are ignored.
	if reply[0] != 0x00 {
		s.logInt(netlog.EventSOCKSUnexpectedVersion, "version", int(reply[0]))
		return int(net.ErrSOCKSConnectionFailed)
	}
	if reply[1] == socks4ReplyOK {
		s.completed = true
		return net.OK
	}
	s.logInt(netlog.EventSOCKSServerError, "error_code", int(reply[1]))
	return socks4ReplyError(reply[1])
}

// socks4ReplyError maps a SOCKS4 reply code other than 0x5A to Chromium's
// error.
func socks4ReplyError(code byte) int {
	switch code {
	case socks4ReplyNoIdentd:
		return int(net.ErrSOCKSConnectionHostUnreachable)
	case socks4ReplyRejected, socks4ReplyBadUserID:
		return int(net.ErrSOCKSConnectionFailed)
	default:
		return int(net.ErrSOCKSConnectionFailed)
	}
}
