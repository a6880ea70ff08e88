package socket

import (
	"context"
	"errors"
	"io"
	gonet "net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// dialTCP dials one address; tests replace it to make an address slow.
var dialTCP = (&gonet.Dialer{}).DialContext

// TCPClientSocket is a TCP connection driven from the loop. Reads and writes
// are first tried without blocking on the loop itself (through the
// connection's syscall.RawConn); only when the kernel has nothing to give
// does a goroutine wait for readiness in Go's netpoller and post the result
// back. Connecting tries each address in turn.
type TCPClientSocket struct {
	loop      *net.Loop
	addresses net.AddressList
	nl        netlog.WithSource

	conn      *gonet.TCPConn
	raw       syscall.RawConn
	peer      netip.AddrPort
	local     netip.AddrPort
	connected bool
	everUsed  bool

	// generation changes on Disconnect so that results of operations that
	// were in flight are dropped.
	generation   uint64
	cancelDial   context.CancelFunc
	connectIdx   int
	connectCB    net.CompletionCallback
	readPending  bool
	writePending bool
	// detached is set once DetachConn has handed the connection to a layer
	// that does its own blocking I/O on it.
	detached bool
}

// NewTCPClientSocket returns an unconnected socket that will try addresses
// in order. source is the object that asked for it (a connect job); the
// socket's own NetLog source points back at it.
func NewTCPClientSocket(loop *net.Loop, addresses net.AddressList, log *netlog.NetLog, source netlog.Source) *TCPClientSocket {
	s := &TCPClientSocket{loop: loop, addresses: addresses}
	s.nl = netlog.NewSource(log, netlog.SourceSocket)
	s.nl.BeginEvent(netlog.EventSocketAlive, func(netlog.CaptureMode) netlog.Params {
		if source.IsValid() {
			return source.DependencyParams()
		}
		return nil
	})
	return s
}

// NetLog implements StreamSocket.
func (s *TCPClientSocket) NetLog() netlog.WithSource { return s.nl }

// Connect implements StreamSocket.
func (s *TCPClientSocket) Connect(cb net.CompletionCallback) int {
	if s.connected {
		return net.OK
	}
	s.nl.BeginEvent(netlog.EventTCPConnect, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"address_list": s.addresses.Strings(), "aliases": []string{}}
	})
	if len(s.addresses) == 0 {
		s.nl.EndEventWithNetErrorCode(netlog.EventTCPConnect, int(net.ErrAddressInvalid))
		return int(net.ErrAddressInvalid)
	}
	s.connectIdx = 0
	s.connectCB = cb
	s.startAttempt()
	return net.IOPending
}

func (s *TCPClientSocket) startAttempt() {
	addr := s.addresses[s.connectIdx]
	s.nl.BeginEvent(netlog.EventTCPConnectAttempt, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"address": addr.String()}
	})
	gen := s.generation
	// Disconnect cancels the dial through dialCtx rather than cancelling
	// the Op: done must still run, to close a connection whose dial had
	// already succeeded when the socket was given up.
	dialCtx, cancelDial := context.WithCancel(context.Background())
	s.cancelDial = cancelDial
	net.Go(s.loop, func(ctx context.Context) (*gonet.TCPConn, error) {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(dialCtx, stop)()
		c, err := dialTCP(ctx, "tcp", addr.String())
		if err != nil {
			return nil, err
		}
		return c.(*gonet.TCPConn), nil
	}, func(c *gonet.TCPConn, err error) {
		cancelDial()
		if gen != s.generation {
			if c != nil {
				c.Close()
			}
			return
		}
		s.onAttemptDone(c, err)
	})
}

func (s *TCPClientSocket) onAttemptDone(c *gonet.TCPConn, err error) {
	if err != nil {
		rv := int(net.MapSystemError(err))
		if rv == int(net.ErrTimedOut) {
			rv = int(net.ErrConnectionTimedOut)
		}
		if rv == int(net.ErrFailed) {
			rv = int(net.ErrConnectionFailed)
		}
		s.nl.EndEventWithNetErrorCode(netlog.EventTCPConnectAttempt, rv)
		if rv == int(net.ErrAborted) || s.connectIdx+1 >= len(s.addresses) {
			s.nl.EndEventWithNetErrorCode(netlog.EventTCPConnect, rv)
			s.runConnectCallback(rv)
			return
		}
		s.connectIdx++
		s.startAttempt()
		return
	}
	raw, rerr := c.SyscallConn()
	if rerr != nil {
		c.Close()
		s.nl.EndEventWithNetErrorCode(netlog.EventTCPConnectAttempt, int(net.ErrUnexpected))
		s.nl.EndEventWithNetErrorCode(netlog.EventTCPConnect, int(net.ErrUnexpected))
		s.runConnectCallback(int(net.ErrUnexpected))
		return
	}
	s.conn, s.raw, s.connected = c, raw, true
	s.peer = addrPortOf(c.RemoteAddr())
	s.local = addrPortOf(c.LocalAddr())
	s.nl.EndEvent(netlog.EventTCPConnectAttempt, nil)
	s.nl.EndEvent(netlog.EventTCPConnect, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"local_address": s.local.String(), "remote_address": s.peer.String()}
	})
	s.runConnectCallback(net.OK)
}

func (s *TCPClientSocket) runConnectCallback(rv int) {
	cb := s.connectCB
	s.connectCB = nil
	cb(rv)
}

func addrPortOf(a gonet.Addr) netip.AddrPort {
	if t, ok := a.(*gonet.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// Read implements StreamSocket.
func (s *TCPClientSocket) Read(buf []byte, cb net.CompletionCallback) int {
	if !s.connected {
		return int(net.ErrSocketNotConnected)
	}
	if s.detached {
		return int(net.ErrUnexpected)
	}
	if rv, done := s.tryRead(buf); done {
		return rv
	}
	s.readPending = true
	s.waitRead(buf, cb)
	return net.IOPending
}

func (s *TCPClientSocket) waitRead(buf []byte, cb net.CompletionCallback) {
	s.waitReady(s.raw.Read, unix.POLLIN, func() {
		if rv, done := s.tryRead(buf); done {
			s.readPending = false
			cb(rv)
			return
		}
		s.waitRead(buf, cb)
	})
}

// tryRead reads without blocking; done is false when the kernel had nothing.
func (s *TCPClientSocket) tryRead(buf []byte) (rv int, done bool) {
	var n int
	var errno error
	if err := s.raw.Read(func(fd uintptr) bool {
		n, errno = syscall.Read(int(fd), buf)
		return true
	}); err != nil {
		errno = err
	}
	if errors.Is(errno, syscall.EAGAIN) {
		return 0, false
	}
	if errno != nil {
		rv := int(net.MapSystemError(errno))
		s.nl.AddEventWithNetErrorCode(netlog.EventSocketReadError, rv)
		return rv, true
	}
	if n > 0 {
		s.everUsed = true
		s.nl.AddByteTransferEvent(netlog.EventSocketBytesReceived, buf[:n])
	}
	return n, true
}

// waitReady waits off the loop until the connection is readable (wait =
// raw.Read, events = POLLIN) or writable (raw.Write, POLLOUT), then runs
// then on the loop, unless the socket was disconnected meanwhile. The
// goroutine only waits: it never touches the caller's buffer, which stays
// the loop's.
func (s *TCPClientSocket) waitReady(wait func(func(uintptr) bool) error, events int16, then func()) {
	gen := s.generation
	go func() {
		// The netpoller forgets readiness it saw before this call, so the
		// callback asks the kernel first and parks (returns false) only
		// when the fd is really not ready; an error (the fd was closed) ends
		// the wait too, and the next syscall on the loop reports it.
		_ = wait(func(fd uintptr) bool { return fdReady(fd, events) })
		s.loop.Post(func() {
			if gen == s.generation {
				then()
			}
		})
	}()
}

// fdReady polls fd without blocking.
func fdReady(fd uintptr, events int16) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(pfd, 0)
		if err == unix.EINTR {
			continue
		}
		return err != nil || n > 0
	}
}

// Write implements StreamSocket.
func (s *TCPClientSocket) Write(buf []byte, cb net.CompletionCallback) int {
	if !s.connected {
		return int(net.ErrSocketNotConnected)
	}
	if s.detached {
		return int(net.ErrUnexpected)
	}
	if rv, done := s.tryWrite(buf); done {
		return rv
	}
	s.writePending = true
	s.waitWrite(buf, cb)
	return net.IOPending
}

func (s *TCPClientSocket) waitWrite(buf []byte, cb net.CompletionCallback) {
	s.waitReady(s.raw.Write, unix.POLLOUT, func() {
		if rv, done := s.tryWrite(buf); done {
			s.writePending = false
			cb(rv)
			return
		}
		s.waitWrite(buf, cb)
	})
}

func (s *TCPClientSocket) tryWrite(buf []byte) (rv int, done bool) {
	var n int
	var errno error
	if err := s.raw.Write(func(fd uintptr) bool {
		n, errno = syscall.Write(int(fd), buf)
		return true
	}); err != nil {
		errno = err
	}
	if errors.Is(errno, syscall.EAGAIN) {
		return 0, false
	}
	if errno != nil {
		rv := int(net.MapSystemError(errno))
		s.nl.AddEventWithNetErrorCode(netlog.EventSocketWriteError, rv)
		return rv, true
	}
	if n > 0 {
		s.everUsed = true
		s.nl.AddByteTransferEvent(netlog.EventSocketBytesSent, buf[:n])
	}
	return n, true
}

// DetachConn hands the connection to a layer that reads and writes it with
// blocking calls from its own goroutines (crypto/tls in SSLClientSocket):
// going through the loop for every TLS record would cost a task hop per
// read. It returns nil unless the socket is connected, has no Read or Write
// pending and was not detached before.
//
// The returned conn logs SOCKET_BYTES_SENT/RECEIVED and read/write errors on
// this socket's source, from whichever goroutine does the I/O (a NetLog is
// safe for concurrent use), so the socket's log stays what it was.
//
// Afterwards Read and Write fail with ErrUnexpected, but the socket keeps
// its source alive, still answers IsConnected and IsConnectedAndIdle by
// peeking at the kernel's receive buffer, and Disconnect still closes the
// connection. The new owner must not call IsConnected or IsConnectedAndIdle
// while one of its goroutines is inside a Read of the conn: the peek would
// wait for that Read to release the descriptor and block the loop.
func (s *TCPClientSocket) DetachConn() gonet.Conn {
	if !s.connected || s.detached || s.readPending || s.writePending {
		return nil
	}
	s.detached = true
	return &detachedTCPConn{Conn: s.conn, nl: s.nl}
}

// detachedTCPConn is the conn DetachConn returns. It embeds the net.Conn
// interface, not *net.TCPConn, so that io.Copy cannot reach the TCPConn's
// ReadFrom and WriteTo and bypass the logging.
type detachedTCPConn struct {
	gonet.Conn
	nl netlog.WithSource
}

func (c *detachedTCPConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.nl.AddByteTransferEvent(netlog.EventSocketBytesReceived, p[:n])
	}
	if err != nil && err != io.EOF && !errors.Is(err, gonet.ErrClosed) {
		c.nl.AddEventWithNetErrorCode(netlog.EventSocketReadError, int(net.MapSystemError(err)))
	}
	return n, err
}

func (c *detachedTCPConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.nl.AddByteTransferEvent(netlog.EventSocketBytesSent, p[:n])
	}
	if err != nil && !errors.Is(err, gonet.ErrClosed) {
		c.nl.AddEventWithNetErrorCode(netlog.EventSocketWriteError, int(net.MapSystemError(err)))
	}
	return n, err
}

// Disconnect implements StreamSocket.
func (s *TCPClientSocket) Disconnect() {
	s.generation++
	if s.cancelDial != nil {
		s.cancelDial()
	}
	s.readPending, s.writePending = false, false
	if s.conn != nil {
		s.conn.Close()
		s.conn, s.raw = nil, nil
		s.nl.AddEvent(netlog.EventSocketClosed, nil)
	}
	if s.connected || s.connectCB != nil {
		s.connectCB = nil
	}
	if s.connected {
		s.connected = false
	}
	s.nl.EndEvent(netlog.EventSocketAlive, nil)
	s.nl = netlog.WithSource{}
}

// IsConnected implements StreamSocket.
func (s *TCPClientSocket) IsConnected() bool {
	if !s.connected {
		return false
	}
	state := s.peek()
	return state != peekClosed
}

// IsConnectedAndIdle implements StreamSocket.
func (s *TCPClientSocket) IsConnectedAndIdle() bool {
	return s.connected && s.peek() == peekIdle
}

type peekState int

const (
	peekIdle peekState = iota
	peekHasData
	peekClosed
)

// peek asks the kernel, without blocking or consuming anything, whether the
// peer closed the connection or sent data nobody asked for.
func (s *TCPClientSocket) peek() peekState {
	if s.readPending {
		return peekIdle
	}
	var one [1]byte
	var n int
	var errno error
	if err := s.raw.Read(func(fd uintptr) bool {
		n, _, errno = syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		return peekClosed
	}
	switch {
	case errors.Is(errno, syscall.EAGAIN):
		return peekIdle
	case errno != nil || n == 0:
		return peekClosed
	default:
		return peekHasData
	}
}

// WasEverUsed implements StreamSocket.
func (s *TCPClientSocket) WasEverUsed() bool { return s.everUsed }

// PeerAddress implements StreamSocket.
func (s *TCPClientSocket) PeerAddress() netip.AddrPort { return s.peer }

// LocalAddress implements StreamSocket.
func (s *TCPClientSocket) LocalAddress() netip.AddrPort { return s.local }

// NegotiatedProtocol implements StreamSocket.
func (s *TCPClientSocket) NegotiatedProtocol() string { return "" }
