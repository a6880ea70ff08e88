package socket

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// SOCKS5 protocol constants (RFC 1928, RFC 1929).
const (
	socks5Version         = 0x05
	socks5MethodNoAuth    = 0x00
	socks5MethodUserPass  = 0x02
	socks5MethodNone      = 0xFF
	socks5CmdConnect      = 0x01
	socks5AtypIPv4        = 0x01
	socks5AtypDomain      = 0x03
	socks5AtypIPv6        = 0x04
	socks5AuthVersion     = 0x01
	socks5GreetReplySize  = 2
	socks5AuthReplySize   = 2
	socks5ReplyHeaderSize = 5 // VER REP RSV ATYP and the first address byte
)

// SOCKS5 reply codes (RFC 1928 §6).
const (
	socks5ReplySucceeded           = 0x00
	socks5ReplyGeneralFailure      = 0x01
	socks5ReplyNotAllowed          = 0x02
	socks5ReplyNetworkUnreachable  = 0x03
	socks5ReplyHostUnreachable     = 0x04
	socks5ReplyConnectionRefused   = 0x05
	socks5ReplyTTLExpired          = 0x06
	socks5ReplyCommandNotSupported = 0x07
	socks5ReplyAddressNotSupported = 0x08
)

// socks5ReplyError maps a non-zero SOCKS5 reply code to a net error.
//
// Chromium maps every non-zero code to ERR_SOCKS_CONNECTION_FAILED; we
// keep that for the codes that mean the proxy itself failed or refused us,
// and use ERR_SOCKS_CONNECTION_HOST_UNREACHABLE for the codes that mean
// the proxy works but could not reach the destination. The difference
// matters to proxy fallback (chromium-net.md §3.3): SOCKS_CONNECTION_FAILED
// marks the proxy bad and tries the next one, HOST_UNREACHABLE is reported
// as ERR_ADDRESS_UNREACHABLE without blaming the proxy. That is also why a
// refused destination (0x05) is not ERR_CONNECTION_REFUSED, which fallback
// would read as the proxy refusing us.
//
//	0x01 general SOCKS server failure   ErrSOCKSConnectionFailed
//	0x02 not allowed by ruleset         ErrSOCKSConnectionFailed
//	0x03 network unreachable            ErrSOCKSConnectionHostUnreachable
//	0x04 host unreachable               ErrSOCKSConnectionHostUnreachable
//	0x05 connection refused             ErrSOCKSConnectionHostUnreachable
//	0x06 TTL expired                    ErrSOCKSConnectionHostUnreachable
//	0x07 command not supported          ErrSOCKSConnectionFailed
//	0x08 address type not supported     ErrSOCKSConnectionFailed
//	0x09-0xFF unassigned                ErrSOCKSConnectionFailed
func socks5ReplyError(code byte) int {
	switch code {
	case socks5ReplyNetworkUnreachable, socks5ReplyHostUnreachable,
		socks5ReplyConnectionRefused, socks5ReplyTTLExpired:
		return int(net.ErrSOCKSConnectionHostUnreachable)
	default: // general failure, not allowed, unsupported, unassigned
		return int(net.ErrSOCKSConnectionFailed)
	}
}

type socks5State int

const (
	socks5StateNone socks5State = iota
	socks5StateGreetWrite
	socks5StateGreetWriteComplete
	socks5StateGreetRead
	socks5StateGreetReadComplete
	socks5StateAuthWrite
	socks5StateAuthWriteComplete
	socks5StateAuthRead
	socks5StateAuthReadComplete
	socks5StateHandshakeWrite
	socks5StateHandshakeWriteComplete
	socks5StateHandshakeRead
	socks5StateHandshakeReadComplete
)

// SOCKS5ClientSocket speaks SOCKS5 over a connected transport (Chromium's
// SOCKS5ClientSocket, plus RFC 1929 user name/password authentication).
//
// The greeting offers "no authentication" and, when a user name or
// password was given, "user name/password" too. The CONNECT request names
// the destination by host name (ATYP 3: the proxy resolves it), or by
// address when the host is an IPv4 or IPv6 literal (ATYP 1 or 4; Chromium
// sends even literals as names). The reply's bound address, of any of the
// three types, is read in full and dropped, so the stream starts exactly
// after it.
//
// Errors follow Chromium's socks5_client_socket.cc: a host name over 255
// bytes, a reply with the wrong version, a method we did not offer (or
// 0xFF, none acceptable), an unknown address type, and the proxy closing
// the connection at any point of the handshake are all
// ErrSOCKSConnectionFailed, each with its SOCKS_* NetLog event. Beyond
// Chromium: a rejected user name/password (RFC 1929 status other than 0)
// is ErrSOCKSConnectionFailed with a SOCKS_UNEXPECTED_AUTH event, and the
// reply codes are mapped as socks5ReplyError documents.
type SOCKS5ClientSocket struct {
	socksStream
	username, password string
	next               socks5State
	// want is how many reply bytes the current read step needs in all;
	// for the CONNECT reply it grows once the address type is known.
	want int
}

// NewSOCKS5ClientSocket wraps transport, already connected to a SOCKS5
// proxy, in a socket whose Connect asks the proxy for a connection to
// destHost:destPort. A non-empty username or password is offered to the
// proxy with RFC 1929.
func NewSOCKS5ClientSocket(transport StreamSocket, destHost string, destPort uint16, username, password string) *SOCKS5ClientSocket {
	s := &SOCKS5ClientSocket{username: username, password: password}
	s.transport, s.nl = transport, transport.NetLog()
	s.destHost, s.destPort = destHost, destPort
	s.connectEvent = netlog.EventSOCKS5Connect
	return s
}

func (s *SOCKS5ClientSocket) hasCredentials() bool { return s.username != "" || s.password != "" }

// Connect implements StreamSocket: it runs the SOCKS5 handshake.
func (s *SOCKS5ClientSocket) Connect(cb net.CompletionCallback) int {
	if s.completed {
		return net.OK
	}
	s.beginConnect()
	s.next = socks5StateGreetWrite
	s.buf, s.off = nil, 0
	rv := s.doLoop(net.OK)
	if rv == net.IOPending {
		s.userCB = cb
	} else {
		s.endConnect(rv)
	}
	return rv
}

// Disconnect implements StreamSocket.
func (s *SOCKS5ClientSocket) Disconnect() {
	s.next = socks5StateNone
	s.disconnect()
}

func (s *SOCKS5ClientSocket) onIOComplete(rv int) {
	rv = s.doLoop(rv)
	if rv != net.IOPending {
		s.runUserCallback(rv)
	}
}

// doLoop runs the states; the greeting and CONNECT steps are NetLog spans
// (SOCKS5_GREET_WRITE/READ, SOCKS5_HANDSHAKE_WRITE/READ) as in Chromium.
// The RFC 1929 exchange has no event type of its own in Chromium's list,
// so it shows only as the socket's bytes and, on failure, an error event.
func (s *SOCKS5ClientSocket) doLoop(rv int) int {
	for {
		state := s.next
		s.next = socks5StateNone
		switch state {
		case socks5StateGreetWrite:
			s.beginStepOnce(netlog.EventSOCKS5GreetWrite)
			rv = s.doGreetWrite()
		case socks5StateGreetWriteComplete:
			rv = s.doGreetWriteComplete(rv)
			s.endStepUnlessRepeating(rv, socks5StateGreetWrite)
		case socks5StateGreetRead:
			s.beginStepOnce(netlog.EventSOCKS5GreetRead)
			rv = s.doGreetRead()
		case socks5StateGreetReadComplete:
			rv = s.doGreetReadComplete(rv)
			s.endStepUnlessRepeating(rv, socks5StateGreetRead)
		case socks5StateAuthWrite:
			rv = s.doAuthWrite()
		case socks5StateAuthWriteComplete:
			rv = s.doAuthWriteComplete(rv)
		case socks5StateAuthRead:
			rv = s.doAuthRead()
		case socks5StateAuthReadComplete:
			rv = s.doAuthReadComplete(rv)
		case socks5StateHandshakeWrite:
			s.beginStepOnce(netlog.EventSOCKS5HandshakeWrite)
			rv = s.doHandshakeWrite()
		case socks5StateHandshakeWriteComplete:
			rv = s.doHandshakeWriteComplete(rv)
			s.endStepUnlessRepeating(rv, socks5StateHandshakeWrite)
		case socks5StateHandshakeRead:
			s.beginStepOnce(netlog.EventSOCKS5HandshakeRead)
			rv = s.doHandshakeRead()
		case socks5StateHandshakeReadComplete:
			rv = s.doHandshakeReadComplete(rv)
			s.endStepUnlessRepeating(rv, socks5StateHandshakeRead)
		default:
			panic("socket: bad SOCKS5ClientSocket state")
		}
		if rv == net.IOPending || s.next == socks5StateNone {
			return rv
		}
	}
}

// beginStepOnce opens a step's span unless a partial read or write left
// it open: one span per step however many transport calls it takes.
func (s *SOCKS5ClientSocket) beginStepOnce(t netlog.EventType) {
	if !s.stepOpen || s.stepEvent != t {
		s.endStep(net.OK)
		s.beginStep(t)
	}
}

// endStepUnlessRepeating closes the step's span when the step is over:
// on error, or when the next state is not the same step again.
func (s *SOCKS5ClientSocket) endStepUnlessRepeating(rv int, again socks5State) {
	if rv < 0 || s.next != again {
		s.endStep(rv)
	}
}

func (s *SOCKS5ClientSocket) doGreetWrite() int {
	if s.buf == nil {
		// The CONNECT request has one length byte for the name, so check
		// it before anything goes on the wire, as Chromium does.
		if _, literal := hostLiteral(s.destHost); !literal && len(s.destHost) > socksMaxHostLen {
			s.nl.AddEvent(netlog.EventSOCKSHostnameTooBig, nil)
			return int(net.ErrSOCKSConnectionFailed)
		}
		// RFC 1929 also has one length byte each for user and password.
		if s.hasCredentials() && (len(s.username) > 255 || len(s.password) > 255) {
			return int(net.ErrSOCKSConnectionFailed)
		}
		if s.hasCredentials() {
			s.buf = []byte{socks5Version, 2, socks5MethodNoAuth, socks5MethodUserPass}
		} else {
			s.buf = []byte{socks5Version, 1, socks5MethodNoAuth}
		}
		s.off = 0
	}
	s.next = socks5StateGreetWriteComplete
	return s.transport.Write(s.buf[s.off:], s.onIOComplete)
}

// writeStepDone accounts for rv bytes of a handshake message: when all of
// it is written, the buffer is dropped (wiped first, since it may hold the
// password) and next becomes done; otherwise the write goes on (again).
func (s *SOCKS5ClientSocket) writeStepDone(rv int, again, done socks5State) int {
	if rv < 0 {
		return rv
	}
	if !s.consumeWrite(rv) {
		s.next = again
		return net.OK
	}
	clear(s.buf)
	s.buf, s.off = nil, 0
	s.next = done
	return net.OK
}

func (s *SOCKS5ClientSocket) doGreetWriteComplete(rv int) int {
	return s.writeStepDone(rv, socks5StateGreetWrite, socks5StateGreetRead)
}

// readStep reads the rest of a want-byte reply into s.buf.
func (s *SOCKS5ClientSocket) readStep(want int, complete socks5State) int {
	if s.buf == nil {
		s.buf, s.off, s.want = make([]byte, want), 0, want
	}
	s.next = complete
	return s.transport.Read(s.buf[s.off:s.want], s.onIOComplete)
}

func (s *SOCKS5ClientSocket) doGreetRead() int {
	return s.readStep(socks5GreetReplySize, socks5StateGreetReadComplete)
}

// readStepDone accounts for rv bytes of a fixed-size reply. It returns
// the whole reply once it is in; until then reply is nil and rv is OK with
// next set to read again, or an error (EOF logs closed and fails the
// handshake, as Chromium does).
func (s *SOCKS5ClientSocket) readStepDone(rv int, again socks5State, closed netlog.EventType) (reply []byte, result int) {
	if rv < 0 {
		return nil, rv
	}
	if rv == 0 {
		s.nl.AddEvent(closed, nil)
		return nil, int(net.ErrSOCKSConnectionFailed)
	}
	s.off += rv
	if s.off < s.want {
		s.next = again
		return nil, net.OK
	}
	reply = s.buf
	s.buf, s.off = nil, 0
	return reply, net.OK
}

func (s *SOCKS5ClientSocket) doGreetReadComplete(rv int) int {
	reply, rv := s.readStepDone(rv, socks5StateGreetRead, netlog.EventSOCKSUnexpectedlyClosedDuringGreeting)
	if reply == nil {
		return rv
	}
	if reply[0] != socks5Version {
		s.logInt(netlog.EventSOCKSUnexpectedVersion, "version", int(reply[0]))
		return int(net.ErrSOCKSConnectionFailed)
	}
	switch {
	case reply[1] == socks5MethodNoAuth:
		s.next = socks5StateHandshakeWrite
	case reply[1] == socks5MethodUserPass && s.hasCredentials():
		s.next = socks5StateAuthWrite
	default:
		// 0xFF (no acceptable method), or one we did not offer.
		s.logInt(netlog.EventSOCKSUnexpectedAuth, "method", int(reply[1]))
		return int(net.ErrSOCKSConnectionFailed)
	}
	return net.OK
}

func (s *SOCKS5ClientSocket) doAuthWrite() int {
	if s.buf == nil {
		b := make([]byte, 0, 3+len(s.username)+len(s.password))
		b = append(b, socks5AuthVersion, byte(len(s.username)))
		b = append(b, s.username...)
		b = append(b, byte(len(s.password)))
		b = append(b, s.password...)
		s.buf, s.off = b, 0
	}
	s.next = socks5StateAuthWriteComplete
	return s.transport.Write(s.buf[s.off:], s.onIOComplete)
}

func (s *SOCKS5ClientSocket) doAuthWriteComplete(rv int) int {
	return s.writeStepDone(rv, socks5StateAuthWrite, socks5StateAuthRead)
}

func (s *SOCKS5ClientSocket) doAuthRead() int {
	return s.readStep(socks5AuthReplySize, socks5StateAuthReadComplete)
}

func (s *SOCKS5ClientSocket) doAuthReadComplete(rv int) int {
	// Authentication is part of method negotiation, the "greeting".
	reply, rv := s.readStepDone(rv, socks5StateAuthRead, netlog.EventSOCKSUnexpectedlyClosedDuringGreeting)
	if reply == nil {
		return rv
	}
	if reply[0] != socks5AuthVersion {
		s.logInt(netlog.EventSOCKSUnexpectedVersion, "version", int(reply[0]))
		return int(net.ErrSOCKSConnectionFailed)
	}
	if reply[1] != 0x00 {
		// Rejected credentials. ERR_PROXY_AUTH_REQUESTED would ask the
		// HTTP layer for credentials it has no way to supply for SOCKS;
		// Chromium's code for a failed SOCKS negotiation is this one.
		s.nl.AddEntry(netlog.EventSOCKSUnexpectedAuth, netlog.PhaseNone, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"method": socks5MethodUserPass, "status": int(reply[1])}
		})
		return int(net.ErrSOCKSConnectionFailed)
	}
	s.next = socks5StateHandshakeWrite
	return net.OK
}

// buildRequest is the CONNECT request: VER CMD RSV ATYP DST.ADDR DST.PORT.
func (s *SOCKS5ClientSocket) buildRequest() []byte {
	b := make([]byte, 0, 7+len(s.destHost)+16)
	b = append(b, socks5Version, socks5CmdConnect, 0x00)
	if ip, ok := hostLiteral(s.destHost); ok {
		if ip.Is4() {
			a := ip.As4()
			b = append(b, socks5AtypIPv4)
			b = append(b, a[:]...)
		} else {
			a := ip.As16()
			b = append(b, socks5AtypIPv6)
			b = append(b, a[:]...)
		}
	} else {
		b = append(b, socks5AtypDomain, byte(len(s.destHost)))
		b = append(b, s.destHost...)
	}
	return append(b, byte(s.destPort>>8), byte(s.destPort))
}

func (s *SOCKS5ClientSocket) doHandshakeWrite() int {
	if s.buf == nil {
		s.buf, s.off = s.buildRequest(), 0
	}
	s.next = socks5StateHandshakeWriteComplete
	return s.transport.Write(s.buf[s.off:], s.onIOComplete)
}

func (s *SOCKS5ClientSocket) doHandshakeWriteComplete(rv int) int {
	return s.writeStepDone(rv, socks5StateHandshakeWrite, socks5StateHandshakeRead)
}

func (s *SOCKS5ClientSocket) doHandshakeRead() int {
	return s.readStep(socks5ReplyHeaderSize, socks5StateHandshakeReadComplete)
}

func (s *SOCKS5ClientSocket) doHandshakeReadComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	if rv == 0 {
		s.nl.AddEvent(netlog.EventSOCKSUnexpectedlyClosedDuringHandshake, nil)
		return int(net.ErrSOCKSConnectionFailed)
	}
	s.off += rv
	if s.off == socks5ReplyHeaderSize && s.want == socks5ReplyHeaderSize {
		// The header tells how long the bound address is.
		h := s.buf
		if h[0] != socks5Version || h[2] != 0x00 {
			s.logInt(netlog.EventSOCKSUnexpectedVersion, "version", int(h[0]))
			return int(net.ErrSOCKSConnectionFailed)
		}
		if h[1] != socks5ReplySucceeded {
			s.logInt(netlog.EventSOCKSServerError, "error_code", int(h[1]))
			return socks5ReplyError(h[1])
		}
		// h[4] is the first byte of the address: the name's length for a
		// domain, part of the address otherwise.
		var rest int
		switch h[3] {
		case socks5AtypIPv4:
			rest = 4 - 1
		case socks5AtypIPv6:
			rest = 16 - 1
		case socks5AtypDomain:
			rest = int(h[4])
		default:
			s.logInt(netlog.EventSOCKSUnknownAddressType, "address_type", int(h[3]))
			return int(net.ErrSOCKSConnectionFailed)
		}
		s.want = socks5ReplyHeaderSize + rest + 2 // and the port
		s.buf = append(s.buf, make([]byte, s.want-len(s.buf))...)
	}
	if s.off < s.want {
		s.next = socks5StateHandshakeRead
		return net.OK
	}
	// The bound address and port mean nothing for a CONNECT tunnel.
	s.buf, s.off = nil, 0
	s.completed = true
	return net.OK
}
