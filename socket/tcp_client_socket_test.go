package socket

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	gonet "net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// tcpServer is a local TCP listener whose accepted connections the test
// drives by hand.
type tcpServer struct {
	ln    *gonet.TCPListener
	conns chan *gonet.TCPConn
}

func newTCPServer(t testing.TB) *tcpServer {
	t.Helper()
	ln, err := gonet.ListenTCP("tcp", &gonet.TCPAddr{IP: gonet.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &tcpServer{ln: ln, conns: make(chan *gonet.TCPConn, 16)}
	go func() {
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			s.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-s.conns:
				c.Close()
			default:
				return
			}
		}
	})
	return s
}

func (s *tcpServer) addr() netip.AddrPort { return s.ln.Addr().(*gonet.TCPAddr).AddrPort() }

func (s *tcpServer) accept(t testing.TB) *gonet.TCPConn {
	t.Helper()
	select {
	case c := <-s.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(nettest.HangGuard):
		t.Fatal("timed out waiting for the server to accept")
		return nil
	}
}

// deadAddr returns a local address nobody listens on.
func deadAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := gonet.ListenTCP("tcp", &gonet.TCPAddr{IP: gonet.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().(*gonet.TCPAddr).AddrPort()
	ln.Close()
	return a
}

// connectTCP connects a socket to addrs on the loop and waits for the result.
func connectTCP(t testing.TB, l *net.Loop, addrs net.AddressList, log *netlog.NetLog, src netlog.Source) (*TCPClientSocket, int) {
	t.Helper()
	r := &reentrancy{t: t}
	cb, c := r.cb("Connect")
	var s *TCPClientSocket
	var rv int
	nettest.OnLoop(t, l, func() {
		s = NewTCPClientSocket(l, addrs, log, src)
		rv = r.call(func() int { return s.Connect(cb) })
	})
	if rv != net.IOPending {
		t.Fatalf("Connect returned %d, want IOPending", rv)
	}
	return s, waitInt(t, c, "Connect callback")
}

// connected returns a socket connected to srv and the server's side.
func connected(t testing.TB, l *net.Loop, srv *tcpServer) (*TCPClientSocket, *gonet.TCPConn) {
	t.Helper()
	s, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
	if rv != net.OK {
		t.Fatalf("Connect: %v", net.Error(rv))
	}
	t.Cleanup(func() { l.PostAndWait(s.Disconnect) })
	return s, srv.accept(t)
}

// waitUntil polls cond on the loop until it holds.
func waitUntil(t testing.TB, l *net.Loop, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(nettest.HangGuard)
	for {
		var ok bool
		nettest.OnLoop(t, l, func() { ok = cond() })
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// readOnLoop calls Read on the loop; a pending read's result arrives on the
// returned channel.
func readOnLoop(t testing.TB, l *net.Loop, s *TCPClientSocket, buf []byte) (int, chan int) {
	t.Helper()
	r := &reentrancy{t: t}
	cb, c := r.cb("Read")
	var rv int
	nettest.OnLoop(t, l, func() { rv = r.call(func() int { return s.Read(buf, cb) }) })
	return rv, c
}

func TestTCPConnectOK(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, rv := connectTCP(t, l, net.AddressList{srv.addr()}, nil, netlog.Source{})
	if rv != net.OK {
		t.Fatalf("Connect: %v", net.Error(rv))
	}
	srv.accept(t)
	nettest.OnLoop(t, l, func() {
		if !s.IsConnected() || !s.IsConnectedAndIdle() {
			t.Error("a fresh connection is not connected and idle")
		}
		if s.PeerAddress() != srv.addr() {
			t.Errorf("PeerAddress = %v, want %v", s.PeerAddress(), srv.addr())
		}
		if !s.LocalAddress().IsValid() || s.LocalAddress().Addr() != srv.addr().Addr() {
			t.Errorf("LocalAddress = %v", s.LocalAddress())
		}
		if s.WasEverUsed() {
			t.Error("WasEverUsed before any byte")
		}
		// Connecting a connected socket is a synchronous OK.
		if rv := s.Connect(func(int) { t.Error("callback of a synchronous Connect") }); rv != net.OK {
			t.Errorf("second Connect = %d", rv)
		}
		s.Disconnect()
		if s.IsConnected() {
			t.Error("connected after Disconnect")
		}
		if rv := s.Read(make([]byte, 1), nil); rv != int(net.ErrSocketNotConnected) {
			t.Errorf("Read after Disconnect = %d", rv)
		}
		if rv := s.Write([]byte("x"), nil); rv != int(net.ErrSocketNotConnected) {
			t.Errorf("Write after Disconnect = %d", rv)
		}
	})
}

func TestTCPConnectRefused(t *testing.T) {
	l := nettest.NewLoop(t)
	s, rv := connectTCP(t, l, net.AddressList{deadAddr(t)}, nil, netlog.Source{})
	if !errors.Is(net.Error(rv), net.ErrConnectionRefused) {
		t.Fatalf("Connect to a dead port = %v, want ERR_CONNECTION_REFUSED", net.Error(rv))
	}
	nettest.OnLoop(t, l, func() {
		if s.IsConnected() {
			t.Error("connected after a refused connect")
		}
		s.Disconnect()
	})
}

func TestTCPConnectEmptyAddressList(t *testing.T) {
	l := nettest.NewLoop(t)
	nettest.OnLoop(t, l, func() {
		s := NewTCPClientSocket(l, nil, nil, netlog.Source{})
		if rv := s.Connect(func(int) { t.Error("callback of a synchronous failure") }); rv != int(net.ErrAddressInvalid) {
			t.Errorf("Connect(no addresses) = %d, want ERR_ADDRESS_INVALID", rv)
		}
	})
	drain(t, l)
}

func TestTCPConnectTriesNextAddress(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	dead := deadAddr(t)
	s, rv := connectTCP(t, l, net.AddressList{dead, srv.addr()}, nil, netlog.Source{})
	if rv != net.OK {
		t.Fatalf("Connect(dead, live) = %v, want OK", net.Error(rv))
	}
	srv.accept(t)
	nettest.OnLoop(t, l, func() {
		if s.PeerAddress() != srv.addr() {
			t.Errorf("PeerAddress = %v, want the second address %v", s.PeerAddress(), srv.addr())
		}
		s.Disconnect()
	})

	// Every address dead: the last error is reported.
	_, rv = connectTCP(t, l, net.AddressList{dead, deadAddr(t)}, nil, netlog.Source{})
	if rv != int(net.ErrConnectionRefused) {
		t.Fatalf("Connect(dead, dead) = %v, want ERR_CONNECTION_REFUSED", net.Error(rv))
	}
}

func TestTCPDisconnectDuringConnect(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	c := make(chan int, 1)
	nettest.OnLoop(t, l, func() {
		s := NewTCPClientSocket(l, net.AddressList{srv.addr()}, nil, netlog.Source{})
		if rv := s.Connect(func(rv int) { c <- rv }); rv != net.IOPending {
			t.Errorf("Connect = %d", rv)
		}
		s.Disconnect()
	})
	nettest.ExpectNone(t, c, "Connect callback after Disconnect")
	drain(t, l)
	nettest.ExpectNone(t, c, "Connect callback after Disconnect")
}

func TestTCPReadSynchronousWhenBuffered(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	if _, err := peer.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	// Wait until the bytes sit in the kernel: the socket is connected but no
	// longer idle.
	waitUntil(t, l, "data is buffered", func() bool { return s.IsConnected() && !s.IsConnectedAndIdle() })
	buf := make([]byte, 16)
	rv, c := readOnLoop(t, l, s, buf)
	if rv != 5 || string(buf[:5]) != "hello" {
		t.Fatalf("Read of buffered data = %d %q, want a synchronous 5 \"hello\"", rv, buf[:max(rv, 0)])
	}
	nettest.ExpectNone(t, c, "callback of a synchronous Read")
	nettest.OnLoop(t, l, func() {
		if !s.WasEverUsed() {
			t.Error("WasEverUsed false after a read")
		}
		if !s.IsConnectedAndIdle() {
			t.Error("not idle after reading everything")
		}
	})
}

func TestTCPReadPendingThenCallback(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	buf := make([]byte, 16)
	rv, c := readOnLoop(t, l, s, buf)
	if rv != net.IOPending {
		t.Fatalf("Read with nothing buffered = %d, want IOPending", rv)
	}
	// A pending read keeps the socket "idle" for the pool's purposes and must
	// not block the loop (the waiter goroutine holds the fd's read lock).
	nettest.OnLoop(t, l, func() {
		if !s.IsConnected() {
			t.Error("not connected while a read is pending")
		}
	})
	time.Sleep(5 * time.Millisecond)
	if _, err := peer.Write([]byte("world")); err != nil {
		t.Fatal(err)
	}
	if n := waitInt(t, c, "Read callback"); n != 5 || string(buf[:5]) != "world" {
		t.Fatalf("Read callback = %d %q", n, buf[:max(n, 0)])
	}
}

// TestTCPReadPendingDataArrivesAtOnce sends the data right after Read went
// pending, in the same loop task, so that it arrives before the goroutine
// that waits for readiness has started. The wait must still see it.
func TestTCPReadPendingDataArrivesAtOnce(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	buf := make([]byte, 1)
	for i := 0; i < 200; i++ {
		c := make(chan int, 1)
		var rv int
		nettest.OnLoop(t, l, func() {
			rv = s.Read(buf, func(n int) { c <- n })
			if rv == net.IOPending {
				if _, err := peer.Write([]byte{byte(i)}); err != nil {
					t.Error(err)
				}
				// Give the netpoller time to see the data before the
				// waiter goroutine runs.
				time.Sleep(200 * time.Microsecond)
			}
		})
		if rv == net.IOPending {
			select {
			case rv = <-c:
			case <-time.After(2 * time.Second):
				t.Fatalf("iteration %d: the pending Read never completed although the data had arrived (lost readiness wake-up)", i)
			}
		}
		if rv != 1 || buf[0] != byte(i) {
			t.Fatalf("iteration %d: Read = %d %v", i, rv, buf)
		}
	}
}

func TestTCPWriteLargeBuffer(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)

	const size = 8 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7 + i>>12)
	}

	// The server reads slowly, so the kernel's send buffer fills up.
	got := make(chan []byte, 1)
	go func() {
		var out bytes.Buffer
		buf := make([]byte, 64<<10)
		for out.Len() < size {
			n, err := peer.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		got <- out.Bytes()
	}()

	inCall := false
	done := make(chan int, 1)
	var off, calls, pendings int
	var write func()
	onWrite := func(rv int) {
		if inCall {
			t.Error("Write callback ran inside Write")
		}
		if rv <= 0 {
			done <- rv
			return
		}
		off += rv
		write()
	}
	write = func() {
		for off < size {
			calls++
			inCall = true
			rv := s.Write(data[off:], onWrite)
			inCall = false
			if rv == net.IOPending {
				pendings++
				return
			}
			if rv <= 0 {
				done <- rv
				return
			}
			off += rv
		}
		done <- net.OK
	}
	l.Post(write)
	if rv := waitInt(t, done, "the 8 MiB write"); rv != net.OK {
		t.Fatalf("writing 8 MiB failed: %v", net.Error(rv))
	}
	var received []byte
	select {
	case received = <-got:
	case <-time.After(nettest.HangGuard):
		t.Fatal("server did not receive everything")
	}
	if !bytes.Equal(received, data) {
		t.Fatalf("server received %d bytes, not the %d written", len(received), size)
	}
	if calls < 2 || pendings == 0 {
		t.Errorf("an 8 MiB write to a slow reader took %d Write calls, %d pending: partial writes were not exercised", calls, pendings)
	}
	t.Logf("8 MiB written in %d Write calls, %d of them pending", calls, pendings)
}

func TestTCPReadEOF(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	buf := make([]byte, 16)
	rv, c := readOnLoop(t, l, s, buf)
	if rv != net.IOPending {
		t.Fatalf("Read = %d, want IOPending", rv)
	}
	peer.Close()
	if n := waitInt(t, c, "Read callback at EOF"); n != 0 {
		t.Fatalf("Read at EOF = %d, want 0", n)
	}
	// A later read reports EOF synchronously.
	rv, c = readOnLoop(t, l, s, buf)
	if rv != 0 {
		t.Fatalf("Read after EOF = %d, want 0", rv)
	}
	nettest.ExpectNone(t, c, "callback of a synchronous Read")
}

func TestTCPReadConnectionReset(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	buf := make([]byte, 16)
	rv, c := readOnLoop(t, l, s, buf)
	if rv != net.IOPending {
		t.Fatalf("Read = %d, want IOPending", rv)
	}
	if err := peer.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	peer.Close()
	if n := waitInt(t, c, "Read callback after RST"); n != int(net.ErrConnectionReset) {
		t.Fatalf("Read after a reset = %v, want ERR_CONNECTION_RESET", net.Error(n))
	}
}

func TestTCPIsConnectedAndIdle(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)

	// Unread data pending: connected, not idle.
	s1, peer1 := connected(t, l, srv)
	if _, err := peer1.Write([]byte("unexpected")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, l, "unread data makes the socket non-idle", func() bool { return !s1.IsConnectedAndIdle() })
	nettest.OnLoop(t, l, func() {
		if !s1.IsConnected() {
			t.Error("IsConnected false with unread data and an open peer")
		}
	})

	// The peer closed: neither connected nor idle.
	s2, peer2 := connected(t, l, srv)
	peer2.Close()
	waitUntil(t, l, "the peer's FIN is seen", func() bool { return !s2.IsConnected() })
	nettest.OnLoop(t, l, func() {
		if s2.IsConnectedAndIdle() {
			t.Error("IsConnectedAndIdle true after the peer closed")
		}
	})
}

func TestTCPDisconnectWhileReadPending(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	buf := make([]byte, 16)
	rv, c := readOnLoop(t, l, s, buf)
	if rv != net.IOPending {
		t.Fatalf("Read = %d, want IOPending", rv)
	}
	nettest.OnLoop(t, l, s.Disconnect)
	peer.Write([]byte("late"))
	nettest.ExpectNone(t, c, "Read callback after Disconnect")
	drain(t, l)
	nettest.ExpectNone(t, c, "Read callback after Disconnect")
	if !bytes.Equal(buf, make([]byte, 16)) {
		t.Errorf("the buffer of a cancelled read was written: %q", buf)
	}
}

func TestTCPWriteThenPeerReadsEcho(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	go io.Copy(peer, peer) // echo
	r := &reentrancy{t: t}
	wcb, wc := r.cb("Write")
	var rv int
	nettest.OnLoop(t, l, func() { rv = r.call(func() int { return s.Write([]byte("abc"), wcb) }) })
	if rv == net.IOPending {
		rv = waitInt(t, wc, "Write callback")
	}
	if rv != 3 {
		t.Fatalf("Write = %d", rv)
	}
	buf := make([]byte, 3)
	rv, c := readOnLoop(t, l, s, buf)
	if rv == net.IOPending {
		rv = waitInt(t, c, "Read callback")
	}
	if rv <= 0 || string(buf[:rv]) != "abc"[:rv] {
		t.Fatalf("echo Read = %d %q", rv, buf)
	}
}

func TestTCPNetLog(t *testing.T) {
	for _, mode := range []netlog.CaptureMode{netlog.Default, netlog.Everything} {
		t.Run(mode.String(), func(t *testing.T) {
			l := nettest.NewLoop(t)
			srv := newTCPServer(t)
			log := netlog.New()
			col := nettest.NewRecorder(log, mode)
			owner := netlog.NewSource(log, netlog.SourceTransportConnectJob)
			dead := deadAddr(t)
			addrs := net.AddressList{dead, srv.addr()}
			s, rv := connectTCP(t, l, addrs, log, owner.Source())
			if rv != net.OK {
				t.Fatalf("Connect: %v", net.Error(rv))
			}
			peer := srv.accept(t)
			var id uint32
			nettest.OnLoop(t, l, func() { id = s.NetLog().Source().ID })

			r := &reentrancy{t: t}
			wcb, wc := r.cb("Write")
			nettest.OnLoop(t, l, func() {
				if rv := r.call(func() int { return s.Write([]byte("ping"), wcb) }); rv != 4 {
					t.Errorf("Write = %d", rv)
				}
			})
			nettest.ExpectNone(t, wc, "callback of a synchronous Write")
			in := make([]byte, 4)
			if _, err := io.ReadFull(peer, in); err != nil {
				t.Fatal(err)
			}
			peer.Write([]byte("pong"))
			buf := make([]byte, 4)
			rv, c := readOnLoop(t, l, s, buf)
			if rv == net.IOPending {
				rv = waitInt(t, c, "Read callback")
			}
			if rv != 4 {
				t.Fatalf("Read = %d", rv)
			}
			nettest.OnLoop(t, l, s.Disconnect)

			alive := col.One(t, netlog.EventSocketAlive, netlog.PhaseBegin, id)
			if alive.Source.Type != netlog.SourceSocket {
				t.Errorf("socket source type = %v", alive.Source.Type)
			}
			dep, _ := alive.Params["source_dependency"].(netlog.Params)
			if dep == nil || dep["id"] != owner.Source().ID {
				t.Errorf("SOCKET_ALIVE params = %v, want a source_dependency on %d", alive.Params, owner.Source().ID)
			}
			col.One(t, netlog.EventSocketAlive, netlog.PhaseEnd, id)
			col.One(t, netlog.EventSocketClosed, netlog.PhaseNone, id)

			connect := col.One(t, netlog.EventTCPConnect, netlog.PhaseBegin, id)
			if got := connect.Params["address_list"]; !reflect.DeepEqual(got, addrs.Strings()) {
				t.Errorf("TCP_CONNECT address_list = %v, want %v", got, addrs.Strings())
			}
			connectEnd := col.One(t, netlog.EventTCPConnect, netlog.PhaseEnd, id)
			if connectEnd.Params["remote_address"] != srv.addr().String() {
				t.Errorf("TCP_CONNECT end params = %v", connectEnd.Params)
			}
			attempts := col.Find(netlog.EventTCPConnectAttempt, netlog.PhaseBegin, id)
			if len(attempts) != 2 || attempts[0].Params["address"] != dead.String() || attempts[1].Params["address"] != srv.addr().String() {
				t.Errorf("TCP_CONNECT_ATTEMPT begins = %v", attempts)
			}
			attemptEnds := col.Find(netlog.EventTCPConnectAttempt, netlog.PhaseEnd, id)
			if len(attemptEnds) != 2 || attemptEnds[0].Params["net_error"] != int(net.ErrConnectionRefused) || attemptEnds[1].Params != nil {
				t.Errorf("TCP_CONNECT_ATTEMPT ends = %v", attemptEnds)
			}

			for _, tc := range []struct {
				et   netlog.EventType
				data string
			}{{netlog.EventSocketBytesSent, "ping"}, {netlog.EventSocketBytesReceived, "pong"}} {
				e := col.One(t, tc.et, netlog.PhaseNone, id)
				if e.Params["byte_count"] != len(tc.data) {
					t.Errorf("%v byte_count = %v", tc.et, e.Params["byte_count"])
				}
				b, has := e.Params["bytes"]
				switch {
				case mode == netlog.Everything && b != base64.StdEncoding.EncodeToString([]byte(tc.data)):
					t.Errorf("%v bytes = %v in Everything mode", tc.et, b)
				case mode != netlog.Everything && has:
					t.Errorf("%v carries bytes in %v mode", tc.et, mode)
				}
			}
		})
	}
}

// TestTCPDisconnectAfterDialCompletedClosesConnection: the dial finished
// (its result is already queued on the loop) when Disconnect runs. The
// connection must be closed, not leaked: the server sees EOF.
func TestTCPDisconnectAfterDialCompletedClosesConnection(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	c := make(chan int, 1)
	nettest.OnLoop(t, l, func() {
		s := NewTCPClientSocket(l, net.AddressList{srv.addr()}, nil, netlog.Source{})
		if rv := s.Connect(func(rv int) { c <- rv }); rv != net.IOPending {
			t.Errorf("Connect = %d", rv)
		}
		// Keep the loop busy until the dial has completed and posted its
		// result, then give up on the socket.
		select {
		case peer := <-srv.conns:
			srv.conns <- peer
		case <-time.After(nettest.HangGuard):
			t.Error("server never accepted")
		}
		time.Sleep(20 * time.Millisecond)
		s.Disconnect()
	})
	nettest.ExpectNone(t, c, "Connect callback after Disconnect")
	peer := srv.accept(t)
	peer.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := peer.Read(make([]byte, 1))
	if err != io.EOF {
		t.Fatalf("server read = %d, %v; want EOF: the client's connection was leaked open", n, err)
	}
}

func TestTCPWriteAfterPeerReset(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	s, peer := connected(t, l, srv)
	peer.SetLinger(0)
	peer.Close()
	waitUntil(t, l, "the reset is seen", func() bool { return !s.IsConnected() })
	r := &reentrancy{t: t}
	cb, c := r.cb("Write")
	var rv int
	nettest.OnLoop(t, l, func() { rv = r.call(func() int { return s.Write([]byte("after reset"), cb) }) })
	if rv == net.IOPending {
		rv = waitInt(t, c, "Write callback")
	}
	if rv != int(net.ErrConnectionReset) {
		t.Fatalf("Write after the peer reset = %v, want ERR_CONNECTION_RESET", net.Error(rv))
	}
}
