package socket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// socks4Relay is the happy path of a SOCKS4/4a proxy: it reads the
// request, reports it on reqs, and relays to the address asked for (a
// SOCKS4a name is looked up in names).
func socks4Relay(t testing.TB, names map[string]string, reqs chan<- socks4Request) func(*testserver.Conn) {
	return func(c *testserver.Conn) {
		q, err := readSOCKS4Request(c)
		if err != nil {
			t.Errorf("server: request: %v", err)
			return
		}
		if reqs != nil {
			reqs <- q
		}
		target := netip.AddrPortFrom(q.ip, q.port).String()
		if q.name != "" {
			target = names[q.name]
		}
		c.Write(socks4OK)
		socksRelayTo(t, c, target)
	}
}

func socks4Bytes(port uint16, ip [4]byte, user, name string) []byte {
	b := binary.BigEndian.AppendUint16([]byte{4, 1}, port)
	b = append(append(append(b, ip[:]...), user...), 0)
	if name != "" {
		b = append(append(b, name...), 0)
	}
	return b
}

func TestSOCKS4ConnectOK(t *testing.T) {
	echo := socksEcho(t)
	reqs := make(chan socks4Request, 1)
	srv := socksServer(t, socks4Relay(t, nil, reqs))
	e := newSOCKSEnv(t)
	// The client resolves, and SOCKS4 carries IPv4 only: the IPv6 answer
	// that comes first must be skipped.
	e.res.hosts["dest.test"] = []netip.Addr{netip.MustParseAddr("::1"), echo.Addr()}
	p := socksProxy(proxy.SchemeSOCKS4, srv.Addr)
	p.Username = "alice" // sent as the user id
	rv, s, run := e.connect(p, "dest.test", echo.Port())
	wantSOCKSErr(t, rv, net.Error(net.OK))
	q := <-reqs
	want := socks4Bytes(echo.Port(), echo.Addr().As4(), "alice", "")
	if !bytes.Equal(q.raw, want) {
		t.Errorf("request = % x, want % x", q.raw, want)
	}
	nettest.OnLoop(t, e.l, func() {
		if len(e.res.asked) != 2 || e.res.asked[1] != "dest.test" {
			t.Errorf("resolver asked for %q; want the proxy then dest.test", e.res.asked)
		}
	})
	socksEchoRoundTrip(t, e.l, s)

	// NetLog: the job's spans on its source, the handshake on the socket's.
	var jobID, sockID uint32
	nettest.OnLoop(t, e.l, func() {
		jobID, sockID = run.job.NetLog().Source().ID, s.NetLog().Source().ID
	})
	begin := e.rec.One(t, netlog.EventConnectJob, netlog.PhaseBegin, jobID)
	if begin.Source.Type != netlog.SourceSOCKSConnectJob {
		t.Errorf("job source type = %v", begin.Source.Type)
	}
	e.rec.One(t, netlog.EventSOCKSConnectJobConnect, netlog.PhaseBegin, jobID)
	e.rec.One(t, netlog.EventSOCKSConnectJobConnect, netlog.PhaseEnd, jobID)
	e.rec.One(t, netlog.EventConnectJobSetSocket, netlog.PhaseNone, jobID)
	e.rec.One(t, netlog.EventConnectJob, netlog.PhaseEnd, jobID)
	e.rec.One(t, netlog.EventSOCKSConnect, netlog.PhaseBegin, sockID)
	if end := e.rec.One(t, netlog.EventSOCKSConnect, netlog.PhaseEnd, sockID); end.Params != nil {
		t.Errorf("SOCKS_CONNECT end params = %v", end.Params)
	}
}

func TestSOCKS4EmptyUserID(t *testing.T) {
	echo := socksEcho(t)
	reqs := make(chan socks4Request, 1)
	srv := socksServer(t, socks4Relay(t, nil, reqs))
	e := newSOCKSEnv(t)
	// An IPv4 literal needs no lookup.
	rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS4, srv.Addr), echo.Addr().String(), echo.Port())
	wantSOCKSErr(t, rv, net.Error(net.OK))
	if q := <-reqs; !bytes.Equal(q.raw, socks4Bytes(echo.Port(), echo.Addr().As4(), "", "")) {
		t.Errorf("request = % x", q.raw)
	}
	socksEchoRoundTrip(t, e.l, s)
}

func TestSOCKS4aSendsName(t *testing.T) {
	echo := socksEcho(t)
	reqs := make(chan socks4Request, 1)
	srv := socksServer(t, socks4Relay(t, map[string]string{"dest.test": echo.String()}, reqs))
	e := newSOCKSEnv(t)
	p := socksProxy(proxy.SchemeSOCKS4a, srv.Addr)
	p.Username = "bob"
	rv, s, _ := e.connect(p, "dest.test", echo.Port())
	wantSOCKSErr(t, rv, net.Error(net.OK))
	want := socks4Bytes(echo.Port(), [4]byte{0, 0, 0, 1}, "bob", "dest.test")
	if q := <-reqs; !bytes.Equal(q.raw, want) {
		t.Errorf("request = % x, want % x", q.raw, want)
	}
	nettest.OnLoop(t, e.l, func() {
		for _, h := range e.res.asked {
			if h == "dest.test" {
				t.Error("SOCKS4a resolved the destination itself")
			}
		}
	})
	socksEchoRoundTrip(t, e.l, s)
}

func TestSOCKS4CannotNameIPv6(t *testing.T) {
	for _, tc := range []struct{ name, host string }{
		{"IPv6-only name", "v6only.test"},
		{"IPv6 literal", "[2001:db8::1]"},
		{"unknown name", "nxdomain.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				if n := socksWaitClose(c); n != 0 {
					t.Errorf("server got %d bytes; want none", n)
				}
			})
			e := newSOCKSEnv(t)
			e.res.hosts["v6only.test"] = []netip.Addr{netip.MustParseAddr("2001:db8::2")}
			rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS4, srv.Addr), tc.host, 80)
			wantSOCKSErr(t, rv, net.ErrNameNotResolved)
		})
	}
}

func TestSOCKS4ReplyCodes(t *testing.T) {
	for _, tc := range []struct {
		reply []byte
		want  net.Error
	}{
		{[]byte{0, 0x5A, 0, 0, 0, 0, 0, 0}, net.Error(net.OK)},
		{[]byte{0, 0x5B, 0, 0, 0, 0, 0, 0}, net.ErrSOCKSConnectionFailed},
		{[]byte{0, 0x5C, 0, 0, 0, 0, 0, 0}, net.ErrSOCKSConnectionHostUnreachable},
		{[]byte{0, 0x5D, 0, 0, 0, 0, 0, 0}, net.ErrSOCKSConnectionFailed},
		{[]byte{0, 0x00, 0, 0, 0, 0, 0, 0}, net.ErrSOCKSConnectionFailed},
		{[]byte{0, 0xFF, 0, 0, 0, 0, 0, 0}, net.ErrSOCKSConnectionFailed},
		// Garbage: the first byte must be 0 (a SOCKS5 reply, an HTTP
		// answer).
		{[]byte{4, 0x5A, 0, 0, 0, 0, 0, 0}, net.ErrSOCKSConnectionFailed},
		{[]byte("HTTP/1.0"), net.ErrSOCKSConnectionFailed},
	} {
		t.Run(fmt.Sprintf("% x", tc.reply[:2]), func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				if _, err := readSOCKS4Request(c); err != nil {
					t.Errorf("server: %v", err)
					return
				}
				c.Write(tc.reply)
				c.Write([]byte("after")) // must stay in the stream
				socksWaitClose(c)
			})
			e := newSOCKSEnv(t)
			rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS4, srv.Addr), "127.0.0.1", 80)
			wantSOCKSErr(t, rv, tc.want)
			if tc.want == net.Error(net.OK) {
				if got := socksReadN(t, e.l, s, 5); string(got) != "after" {
					t.Errorf("first bytes after the reply = %q", got)
				}
				return
			}
			switch {
			case tc.reply[0] != 0:
				if ev := e.rec.Find(netlog.EventSOCKSUnexpectedVersion, netlog.PhaseNone, 0); len(ev) != 1 || ev[0].Params["version"] != int(tc.reply[0]) {
					t.Errorf("SOCKS_UNEXPECTED_VERSION events = %+v", ev)
				}
			default:
				if ev := e.rec.Find(netlog.EventSOCKSServerError, netlog.PhaseNone, 0); len(ev) != 1 || ev[0].Params["error_code"] != int(tc.reply[1]) {
					t.Errorf("SOCKS_SERVER_ERROR events = %+v", ev)
				}
			}
			end := e.rec.Find(netlog.EventSOCKSConnect, netlog.PhaseEnd, 0)
			if len(end) != 1 || end[0].Params["net_error"] != int(tc.want) {
				t.Errorf("SOCKS_CONNECT end = %+v", end)
			}
		})
	}
}

// Chromium: the proxy closing the connection during a SOCKS4 handshake is
// ERR_CONNECTION_CLOSED.
func TestSOCKS4EOF(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent []byte
	}{
		{"before the reply", nil},
		{"mid-reply", []byte{0, 0x5A, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				if _, err := readSOCKS4Request(c); err != nil {
					t.Errorf("server: %v", err)
				}
				c.Write(tc.sent)
			})
			e := newSOCKSEnv(t)
			rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS4, srv.Addr), "127.0.0.1", 80)
			wantSOCKSErr(t, rv, net.ErrConnectionClosed)
			if len(e.rec.Find(netlog.EventSOCKSUnexpectedlyClosedDuringHandshake, netlog.PhaseNone, 0)) != 1 {
				t.Error("no SOCKS_UNEXPECTEDLY_CLOSED_DURING_HANDSHAKE event")
			}
		})
	}
}

func TestSOCKS4OneByteAtATime(t *testing.T) {
	echo := socksEcho(t)
	srv := socksServer(t, func(c *testserver.Conn) {
		q, err := readSOCKS4Request(c)
		if err != nil {
			t.Errorf("server: %v", err)
			return
		}
		if err := c.WriteSlowly(string(socks4OK), 2*time.Millisecond); err != nil {
			return
		}
		socksRelayTo(t, c, netip.AddrPortFrom(q.ip, q.port).String())
	})
	e := newSOCKSEnv(t)
	rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS4, srv.Addr), echo.Addr().String(), echo.Port())
	wantSOCKSErr(t, rv, net.Error(net.OK))
	socksEchoRoundTrip(t, e.l, s)
}

func TestSOCKS4aHostnameTooLong(t *testing.T) {
	srv := socksServer(t, func(c *testserver.Conn) {
		if n := socksWaitClose(c); n != 0 {
			t.Errorf("server got %d bytes; want none", n)
		}
	})
	e := newSOCKSEnv(t)
	rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS4a, srv.Addr), strings.Repeat("a", 256), 80)
	wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
	if len(e.rec.Find(netlog.EventSOCKSHostnameTooBig, netlog.PhaseNone, 0)) != 1 {
		t.Error("no SOCKS_HOSTNAME_TOO_BIG event")
	}
}

// partialIOModes are the ways chunkTransport completes its calls.
var partialIOModes = []string{"sync", "async", "alternate"}

// TestSOCKSPartialIO runs each handshake over a transport that moves one
// (or three) bytes per call, completing synchronously, asynchronously or
// both, and checks the bytes sent, that the callback never runs inside
// Connect, and that the bytes after the reply are left for the caller.
func TestSOCKSPartialIO(t *testing.T) {
	const after = "payload after the handshake"
	cases := []struct {
		name  string
		reply []byte
		make  func(tr StreamSocket, res *socksResolver) StreamSocket
		want  []byte
	}{
		{
			name:  "socks4",
			reply: socks4OK,
			make: func(tr StreamSocket, res *socksResolver) StreamSocket {
				return NewSOCKSClientSocket(tr, "dest.test", 8080, false, "u", res, net.Medium)
			},
			want: socks4Bytes(8080, [4]byte{10, 1, 2, 3}, "u", ""),
		},
		{
			name:  "socks4a",
			reply: socks4OK,
			make: func(tr StreamSocket, res *socksResolver) StreamSocket {
				return NewSOCKSClientSocket(tr, "dest.test", 8080, true, "", res, net.Medium)
			},
			want: socks4Bytes(8080, [4]byte{0, 0, 0, 1}, "", "dest.test"),
		},
		{
			name: "socks5 with auth and a domain bound address",
			reply: append([]byte{5, 2, 1, 0},
				append([]byte{5, 0, 0, 3, 9}, append([]byte("bound.test"[:9]), 0x1F, 0x90)...)...),
			make: func(tr StreamSocket, _ *socksResolver) StreamSocket {
				return NewSOCKS5ClientSocket(tr, "dest.test", 8080, "user", "pw")
			},
			want: append(append([]byte{5, 2, 0, 2, 1, 4}, "user\x02pw"...),
				append([]byte{5, 1, 0, 3, 9}, "dest.test\x1f\x90"...)...),
		},
		{
			name:  "socks5 IPv6 bound address",
			reply: append([]byte{5, 0, 5, 0, 0, 4}, make([]byte, 18)...),
			make: func(tr StreamSocket, _ *socksResolver) StreamSocket {
				return NewSOCKS5ClientSocket(tr, "10.9.8.7", 443, "", "")
			},
			want: []byte{5, 1, 0, 5, 1, 0, 1, 10, 9, 8, 7, 1, 0xBB},
		},
	}
	for _, tc := range cases {
		for _, mode := range partialIOModes {
			for _, chunk := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%s/%d", tc.name, mode, chunk), func(t *testing.T) {
					l := nettest.NewLoop(t)
					res := &socksResolver{loop: l, hosts: map[string][]netip.Addr{
						"dest.test": {netip.MustParseAddr("10.1.2.3")},
					}}
					tr := newChunkTransport(l, nil, append(append([]byte{}, tc.reply...), after...), chunk, mode)
					var s StreamSocket
					rv := socksIO(t, l, "Connect", func(cb net.CompletionCallback) int {
						s = tc.make(tr, res)
						return s.Connect(cb)
					})
					wantSOCKSErr(t, rv, net.Error(net.OK))
					nettest.OnLoop(t, l, func() {
						if !bytes.Equal(tr.out, tc.want) {
							t.Errorf("sent % x\nwant % x", tr.out, tc.want)
						}
						if s.WasEverUsed() {
							t.Error("WasEverUsed after the handshake alone")
						}
					})
					if got := socksReadN(t, l, s, len(after)); string(got) != after {
						t.Errorf("after the handshake read %q", got)
					}
					nettest.OnLoop(t, l, func() {
						if !s.WasEverUsed() {
							t.Error("WasEverUsed false after a read")
						}
					})
				})
			}
		}
	}
}

// TestSOCKSSocketPassThrough checks what a SOCKS socket takes from its
// transport, and what it does not.
func TestSOCKSSocketPassThrough(t *testing.T) {
	for _, v5 := range []bool{false, true} {
		t.Run(fmt.Sprint("v5=", v5), func(t *testing.T) {
			l := nettest.NewLoop(t)
			log := netlog.New()
			reply := socks4OK
			if v5 {
				reply = append([]byte{5, 0}, socks5OK...)
			}
			tr := newChunkTransport(l, log, reply, 64, "async")
			var s StreamSocket
			nettest.OnLoop(t, l, func() {
				if v5 {
					s = NewSOCKS5ClientSocket(tr, "10.0.0.1", 80, "", "")
				} else {
					s = NewSOCKSClientSocket(tr, "10.0.0.1", 80, false, "", nil, net.Medium)
				}
				if rv := s.Read(make([]byte, 1), func(int) { t.Error("callback") }); rv != int(net.ErrSocketNotConnected) {
					t.Errorf("Read before Connect = %v", net.Error(rv))
				}
				if s.IsConnected() || s.IsConnectedAndIdle() {
					t.Error("connected before the handshake")
				}
			})
			rv := socksIO(t, l, "Connect", s.Connect)
			wantSOCKSErr(t, rv, net.Error(net.OK))
			nettest.OnLoop(t, l, func() {
				if rv := s.Connect(func(int) { t.Error("callback") }); rv != net.OK {
					t.Errorf("second Connect = %v", net.Error(rv))
				}
				if !s.IsConnected() || !s.IsConnectedAndIdle() {
					t.Error("not connected and idle after the handshake")
				}
				if s.NegotiatedProtocol() != "" {
					t.Errorf("NegotiatedProtocol = %q (the transport's must not show through)", s.NegotiatedProtocol())
				}
				if s.PeerAddress() != tr.PeerAddress() || s.LocalAddress() != tr.LocalAddress() {
					t.Error("addresses are not the transport's")
				}
				if s.NetLog().Source() != tr.NetLog().Source() {
					t.Error("NetLog source is not the transport's")
				}
				s.Disconnect()
				if !tr.disconnected || s.IsConnected() {
					t.Error("Disconnect did not disconnect the transport")
				}
			})
		})
	}
}

// TestSOCKSDisconnectMidHandshake: no callback after Disconnect, and the
// NetLog spans are closed.
func TestSOCKSDisconnectMidHandshake(t *testing.T) {
	for _, v5 := range []bool{false, true} {
		t.Run(fmt.Sprint("v5=", v5), func(t *testing.T) {
			l := nettest.NewLoop(t)
			log := netlog.New()
			rec := nettest.NewRecorder(log, netlog.Default)
			tr := newChunkTransport(l, log, nil, 64, "async") // the peer never answers
			c := make(chan int, 1)
			nettest.OnLoop(t, l, func() {
				var s StreamSocket
				if v5 {
					s = NewSOCKS5ClientSocket(tr, "dest.test", 80, "", "")
				} else {
					s = NewSOCKSClientSocket(tr, "10.0.0.1", 80, false, "", nil, net.Medium)
				}
				if rv := s.Connect(func(rv int) { c <- rv }); rv != net.IOPending {
					t.Errorf("Connect = %v", net.Error(rv))
				}
				s.Disconnect()
			})
			drain(t, l)
			nettest.ExpectNone(t, c, "Connect callback after Disconnect")
			ev := netlog.EventSOCKSConnect
			if v5 {
				ev = netlog.EventSOCKS5Connect
			}
			end := rec.Find(ev, netlog.PhaseEnd, 0)
			if len(end) != 1 || end[0].Params["net_error"] != int(net.ErrAborted) {
				t.Errorf("connect span end = %+v", end)
			}
		})
	}
}
