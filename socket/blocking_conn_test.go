package socket

import (
	"bytes"
	"errors"
	"io"
	gonet "net"
	"os"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
)

// blockingPair returns a BlockingConn over a TCP socket connected to srv,
// and the server's side.
func blockingPair(t *testing.T, l *net.Loop) (*BlockingConn, *TCPClientSocket, *gonet.TCPConn) {
	t.Helper()
	s, peer := connected(t, l, newTCPServer(t))
	c := NewBlockingConn(l, s)
	t.Cleanup(func() { c.Close() })
	return c, s, peer
}

// readResult is a Read's outcome, for reads run in a goroutine.
type readResult struct {
	n   int
	err error
}

func goRead(c gonet.Conn, buf []byte) chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		n, err := c.Read(buf)
		ch <- readResult{n, err}
	}()
	return ch
}

func waitRead(t *testing.T, ch chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(nettest.HangGuard):
		t.Fatal("Read never returned")
		return readResult{}
	}
}

func TestBlockingConnReadWrite(t *testing.T) {
	l := nettest.NewLoop(t)
	c, s, peer := blockingPair(t, l)
	if c.Socket() != StreamSocket(s) {
		t.Error("Socket() is not the wrapped socket")
	}
	if c.RemoteAddr().String() != peer.LocalAddr().String() || c.LocalAddr().String() != peer.RemoteAddr().String() {
		t.Errorf("addresses %v→%v, server sees %v→%v", c.LocalAddr(), c.RemoteAddr(), peer.RemoteAddr(), peer.LocalAddr())
	}

	if n, err := c.Write([]byte("ping")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(peer, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("server read %q, %v", buf, err)
	}

	// A pending Read completes when the bytes come.
	ch := goRead(c, buf)
	time.Sleep(5 * time.Millisecond)
	peer.Write([]byte("pong"))
	if r := waitRead(t, ch); r.n != 4 || r.err != nil || string(buf) != "pong" {
		t.Fatalf("Read = %d %q, %v", r.n, buf[:max(r.n, 0)], r.err)
	}

	// A write larger than the kernel's buffers is written whole.
	big := make([]byte, 4<<20)
	for i := range big {
		big[i] = byte(i * 31)
	}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(big))
		io.ReadFull(peer, b)
		got <- b
	}()
	if n, err := c.Write(big); n != len(big) || err != nil {
		t.Fatalf("big Write = %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, big) {
		t.Fatal("server received different bytes")
	}
}

func TestBlockingConnEOFAndReset(t *testing.T) {
	l := nettest.NewLoop(t)
	c, _, peer := blockingPair(t, l)
	peer.Write([]byte("bye"))
	peer.Close()
	buf := make([]byte, 8)
	if n, err := io.ReadFull(c, buf[:3]); n != 3 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	if n, err := c.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end = %d, %v; want 0, io.EOF", n, err)
	}

	c, _, peer = blockingPair(t, l)
	peer.SetLinger(0) // close with a reset
	peer.Close()
	_, err := c.Read(buf)
	if !errors.Is(err, net.ErrConnectionReset) {
		t.Fatalf("Read after a reset = %v, want ERR_CONNECTION_RESET", err)
	}
}

func TestBlockingConnDeadline(t *testing.T) {
	l := nettest.NewLoop(t)
	c, s, peer := blockingPair(t, l)
	buf := make([]byte, 8)

	// A deadline already past fails at once and leaves the conn usable.
	c.SetDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline = %v", err)
	}
	if _, err := c.Write(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past the deadline = %v", err)
	}
	c.SetDeadline(time.Time{})
	peer.Write([]byte("x"))
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("Read after clearing the deadline = %d, %v", n, err)
	}

	// A deadline that expires while waiting: a timeout error, as net.Conn
	// users (crypto/tls, HTTP/2) expect, and the conn is closed.
	const d = 50 * time.Millisecond
	c.SetReadDeadline(time.Now().Add(d))
	start := time.Now()
	_, err := c.Read(buf)
	var ne gonet.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read until the deadline = %v, want a timeout", err)
	}
	if e := time.Since(start); e < d {
		t.Errorf("timed out after %v, before the %v deadline", e, d)
	}
	if _, err := c.Read(buf); !errors.Is(err, gonet.ErrClosed) {
		t.Errorf("Read after the timeout = %v, want net.ErrClosed", err)
	}
	waitUntil(t, l, "the socket is disconnected", func() bool { return !s.IsConnected() })
	peer.SetReadDeadline(time.Now().Add(nettest.HangGuard))
	if _, err := peer.Read(buf); err != io.EOF {
		t.Errorf("server read %v, want EOF", err)
	}

	// SetWriteDeadline alone does not limit reads.
	c2, _, peer2 := blockingPair(t, l)
	c2.SetWriteDeadline(time.Now().Add(-time.Second))
	ch := goRead(c2, buf)
	time.Sleep(d)
	peer2.Write([]byte("y"))
	if r := waitRead(t, ch); r.n != 1 || r.err != nil {
		t.Errorf("Read with only a write deadline = %d, %v", r.n, r.err)
	}
}

func TestBlockingConnClose(t *testing.T) {
	l := nettest.NewLoop(t)
	c, s, peer := blockingPair(t, l)
	baseline := testserver.GoroutineBaseline()

	// Close releases a pending Read, although Disconnect drops the
	// socket's callback.
	ch := goRead(c, make([]byte, 8))
	time.Sleep(5 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if r := waitRead(t, ch); !errors.Is(r.err, gonet.ErrClosed) {
		t.Fatalf("pending Read after Close = %d, %v; want net.ErrClosed", r.n, r.err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, gonet.ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	waitUntil(t, l, "the socket is disconnected", func() bool { return !s.IsConnected() })
	peer.SetReadDeadline(time.Now().Add(nettest.HangGuard))
	if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("server read %v, want EOF", err)
	}
	drain(t, l)
	testserver.CheckGoroutines(t, baseline)
}

func TestBlockingConnLoopShutdown(t *testing.T) {
	l := net.NewLoop()
	t.Cleanup(l.Shutdown)
	c, _, _ := blockingPair(t, l)
	ch := goRead(c, make([]byte, 8))
	time.Sleep(5 * time.Millisecond)
	l.Shutdown()
	if r := waitRead(t, ch); !errors.Is(r.err, gonet.ErrClosed) {
		t.Fatalf("pending Read at loop shutdown = %d, %v; want net.ErrClosed", r.n, r.err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, gonet.ErrClosed) {
		t.Errorf("Write after loop shutdown = %v", err)
	}
}
