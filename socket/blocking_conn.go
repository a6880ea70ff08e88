package socket

import (
	"io"
	gonet "net"
	"os"
	"sync"
	"time"

	"github.com/netfetch/netfetch/net"
)

// BlockingConn is a net.Conn view of a loop-owned StreamSocket, for code
// that only speaks blocking net.Conn (crypto/tls over a SOCKS or CONNECT
// tunnel, an HTTP/2 client connection). Each Read or Write posts the
// operation to the loop and waits for its completion, so it must never be
// called from the loop itself. Deadlines are honoured; Close disconnects
// the socket on the loop.
type BlockingConn struct {
	loop   *net.Loop
	socket StreamSocket

	readMu  sync.Mutex // one Read at a time, as the socket allows
	writeMu sync.Mutex // one Write at a time

	mu     sync.Mutex
	closed bool
	// closedCh is closed by Close, releasing operations that wait for a
	// socket whose pending callbacks Disconnect dropped.
	closedCh      chan struct{}
	readDeadline  time.Time
	writeDeadline time.Time
}

// NewBlockingConn wraps s, which belongs to loop. From then on the
// BlockingConn owns s: no one else may use it.
func NewBlockingConn(loop *net.Loop, s StreamSocket) *BlockingConn {
	return &BlockingConn{loop: loop, socket: s, closedCh: make(chan struct{})}
}

// Socket returns the wrapped socket.
func (c *BlockingConn) Socket() StreamSocket { return c.socket }

type ioResult struct {
	n   int
	buf []byte
}

// do runs op (Read or Write) on the loop into a private copy of the bytes,
// waiting at most until deadline. The caller's buffer is never touched by
// the loop, so a timed-out operation cannot write into it later.
func (c *BlockingConn) do(p []byte, write bool, deadline time.Time) (int, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return 0, gonet.ErrClosed
	}
	buf := make([]byte, len(p))
	if write {
		copy(buf, p)
	}
	done := make(chan ioResult, 1)
	var timer <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	if !c.loop.Post(func() {
		cb := func(rv int) { done <- ioResult{rv, buf} }
		var rv int
		if write {
			rv = c.socket.Write(buf, cb)
		} else {
			rv = c.socket.Read(buf, cb)
		}
		if rv != net.IOPending {
			cb(rv)
		}
	}) {
		return 0, gonet.ErrClosed
	}
	select {
	case r := <-done:
		return c.result(p, r, write)
	case <-timer:
		// The socket cannot abandon one operation alone: the connection is
		// unusable after a timeout, as with most net.Conns in practice.
		c.Close()
		return 0, os.ErrDeadlineExceeded
	case <-c.closedCh:
		return 0, gonet.ErrClosed
	case <-c.loop.Done():
		return 0, gonet.ErrClosed
	}
}

func (c *BlockingConn) result(p []byte, r ioResult, write bool) (int, error) {
	switch {
	case r.n < 0:
		return 0, net.Error(r.n)
	case r.n == 0 && !write && len(p) > 0:
		return 0, io.EOF
	}
	if !write {
		copy(p, r.buf[:r.n])
	}
	return r.n, nil
}

// Read implements net.Conn.
func (c *BlockingConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	c.mu.Lock()
	d := c.readDeadline
	c.mu.Unlock()
	return c.do(p, false, d)
}

// Write implements net.Conn; it writes all of p unless an error stops it.
func (c *BlockingConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	total := 0
	for total < len(p) {
		c.mu.Lock()
		d := c.writeDeadline
		c.mu.Unlock()
		n, err := c.do(p[total:], true, d)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Close implements net.Conn: the socket is disconnected on the loop.
func (c *BlockingConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closedCh)
	c.mu.Unlock()
	c.loop.Post(c.socket.Disconnect)
	return nil
}

// LocalAddr implements net.Conn.
func (c *BlockingConn) LocalAddr() gonet.Addr {
	return gonet.TCPAddrFromAddrPort(c.socket.LocalAddress())
}

// RemoteAddr implements net.Conn.
func (c *BlockingConn) RemoteAddr() gonet.Addr {
	return gonet.TCPAddrFromAddrPort(c.socket.PeerAddress())
}

// SetDeadline implements net.Conn.
func (c *BlockingConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline, c.writeDeadline = t, t
	c.mu.Unlock()
	return nil
}

// SetReadDeadline implements net.Conn.
func (c *BlockingConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.readDeadline = t
	c.mu.Unlock()
	return nil
}

// SetWriteDeadline implements net.Conn.
func (c *BlockingConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.writeDeadline = t
	c.mu.Unlock()
	return nil
}
