package socket

import (
	"bytes"
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

func TestSOCKS5NoAuthDomainName(t *testing.T) {
	echo := socksEcho(t)
	reqs := make(chan socks5Request, 1)
	srv := socksServer(t, socks5Relay(t, map[string]string{"dest.test": echo.String()}, reqs))
	e := newSOCKSEnv(t)
	rv, s, run := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), "dest.test", echo.Port())
	wantSOCKSErr(t, rv, net.Error(net.OK))
	q := <-reqs
	want := append([]byte{5, 1, 0, 3, 9}, "dest.test"...)
	want = append(want, byte(echo.Port()>>8), byte(echo.Port()))
	if !bytes.Equal(q.raw, want) {
		t.Errorf("request = % x, want % x", q.raw, want)
	}
	nettest.OnLoop(t, e.l, func() {
		// The proxy resolves; only the proxy's own address was looked up.
		if len(e.res.asked) != 1 || e.res.asked[0] != "127.0.0.1" {
			t.Errorf("resolver asked for %q", e.res.asked)
		}
	})
	socksEchoRoundTrip(t, e.l, s)

	var jobID, sockID uint32
	nettest.OnLoop(t, e.l, func() {
		jobID, sockID = run.job.NetLog().Source().ID, s.NetLog().Source().ID
	})
	e.rec.One(t, netlog.EventSOCKSConnectJobConnect, netlog.PhaseBegin, jobID)
	e.rec.One(t, netlog.EventSOCKSConnectJobConnect, netlog.PhaseEnd, jobID)
	for _, ev := range []netlog.EventType{netlog.EventSOCKS5Connect, netlog.EventSOCKS5GreetWrite,
		netlog.EventSOCKS5GreetRead, netlog.EventSOCKS5HandshakeWrite, netlog.EventSOCKS5HandshakeRead} {
		e.rec.One(t, ev, netlog.PhaseBegin, sockID)
		if end := e.rec.One(t, ev, netlog.PhaseEnd, sockID); end.Params != nil {
			t.Errorf("%v end params = %v", ev, end.Params)
		}
	}
}

func TestSOCKS5IPLiterals(t *testing.T) {
	for _, tc := range []struct {
		host string
		want []byte // ATYP and address
	}{
		{"127.0.0.1", []byte{1, 127, 0, 0, 1}},
		{"[::1]", append([]byte{4}, netip.IPv6Loopback().AsSlice()...)},
		{"::1", append([]byte{4}, netip.IPv6Loopback().AsSlice()...)},
		{"[2001:db8::7]", append([]byte{4}, netip.MustParseAddr("2001:db8::7").AsSlice()...)},
	} {
		t.Run(tc.host, func(t *testing.T) {
			echo := socksEcho(t)
			reqs := make(chan socks5Request, 1)
			srv := socksServer(t, func(c *testserver.Conn) {
				if !socksExpect(t, c, "greeting", []byte{5, 1, 0}) {
					return
				}
				c.Write([]byte{5, 0})
				q, err := readSOCKS5Request(c)
				if err != nil {
					t.Errorf("server: %v", err)
					return
				}
				reqs <- q
				c.Write(socks5OK)
				// Whatever the address, relay to the echo server.
				socksRelayTo(t, c, echo.String())
			})
			e := newSOCKSEnv(t)
			rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), tc.host, 4321)
			wantSOCKSErr(t, rv, net.Error(net.OK))
			want := append(append([]byte{5, 1, 0}, tc.want...), 4321>>8, 4321&0xFF)
			if q := <-reqs; !bytes.Equal(q.raw, want) {
				t.Errorf("request = % x, want % x", q.raw, want)
			}
			socksEchoRoundTrip(t, e.l, s)
		})
	}
}

// authServer requires RFC 1929 with user/pass and then relays to target.
func authServer(t testing.TB, user, pass, target string) func(*testserver.Conn) {
	return func(c *testserver.Conn) {
		if !socksExpect(t, c, "greeting", []byte{5, 2, 0, 2}) {
			return
		}
		c.Write([]byte{5, 2})
		u, p, err := readSOCKS5Auth(c)
		if err != nil {
			t.Errorf("server: auth: %v", err)
			return
		}
		if u != user || p != pass {
			c.Write([]byte{1, 1})
			return
		}
		c.Write([]byte{1, 0})
		if _, err := readSOCKS5Request(c); err != nil {
			t.Errorf("server: request: %v", err)
			return
		}
		c.Write(socks5OK)
		socksRelayTo(t, c, target)
	}
}

func TestSOCKS5Auth(t *testing.T) {
	echo := socksEcho(t)
	srv := socksServer(t, authServer(t, "alice", "s3cret", echo.String()))
	t.Run("ok", func(t *testing.T) {
		e := newSOCKSEnv(t)
		p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
		p.Username, p.Password = "alice", "s3cret"
		rv, s, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.Error(net.OK))
		socksEchoRoundTrip(t, e.l, s)
	})
	t.Run("wrong password", func(t *testing.T) {
		e := newSOCKSEnv(t)
		p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
		p.Username, p.Password = "alice", "guess"
		rv, _, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
		ev := e.rec.Find(netlog.EventSOCKSUnexpectedAuth, netlog.PhaseNone, 0)
		if len(ev) != 1 || ev[0].Params["method"] != 2 || ev[0].Params["status"] != 1 {
			t.Errorf("SOCKS_UNEXPECTED_AUTH events = %+v", ev)
		}
	})
	t.Run("server answers auth with version 5", func(t *testing.T) {
		srv := socksServer(t, func(c *testserver.Conn) {
			socksExpect(t, c, "greeting", []byte{5, 2, 0, 2})
			c.Write([]byte{5, 2})
			if _, _, err := readSOCKS5Auth(c); err != nil {
				t.Errorf("server: %v", err)
			}
			c.Write([]byte{5, 0})
			socksWaitClose(c)
		})
		e := newSOCKSEnv(t)
		p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
		p.Username, p.Password = "u", "p"
		rv, _, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
		if len(e.rec.Find(netlog.EventSOCKSUnexpectedVersion, netlog.PhaseNone, 0)) != 1 {
			t.Error("no SOCKS_UNEXPECTED_VERSION event")
		}
	})
	t.Run("server skips auth", func(t *testing.T) {
		// Offered both methods, the server may pick no authentication.
		echo := socksEcho(t)
		srv := socksServer(t, func(c *testserver.Conn) {
			socksExpect(t, c, "greeting", []byte{5, 2, 0, 2})
			c.Write([]byte{5, 0})
			if _, err := readSOCKS5Request(c); err != nil {
				t.Errorf("server: %v", err)
				return
			}
			c.Write(socks5OK)
			socksRelayTo(t, c, echo.String())
		})
		e := newSOCKSEnv(t)
		p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
		p.Username, p.Password = "u", "p"
		rv, s, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.Error(net.OK))
		socksEchoRoundTrip(t, e.l, s)
	})
}

func TestSOCKS5UnacceptableMethod(t *testing.T) {
	for _, tc := range []struct {
		name   string
		creds  bool
		method byte
	}{
		{"no acceptable method", false, 0xFF},
		{"no acceptable method with credentials", true, 0xFF},
		{"user/pass not offered", false, 0x02},
		{"GSSAPI", true, 0x01},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				if _, err := readSOCKS5Greeting(c); err != nil {
					t.Errorf("server: %v", err)
				}
				c.Write([]byte{5, tc.method})
				if n := socksWaitClose(c); n != 0 {
					t.Errorf("client sent %d more bytes", n)
				}
			})
			e := newSOCKSEnv(t)
			p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
			if tc.creds {
				p.Username, p.Password = "u", "p"
			}
			rv, _, _ := e.connect(p, "dest.test", 80)
			wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
			ev := e.rec.Find(netlog.EventSOCKSUnexpectedAuth, netlog.PhaseNone, 0)
			if len(ev) != 1 || ev[0].Params["method"] != int(tc.method) {
				t.Errorf("SOCKS_UNEXPECTED_AUTH events = %+v", ev)
			}
		})
	}
}

func TestSOCKS5ReplyCodes(t *testing.T) {
	want := map[byte]net.Error{
		0x01: net.ErrSOCKSConnectionFailed,
		0x02: net.ErrSOCKSConnectionFailed,
		0x03: net.ErrSOCKSConnectionHostUnreachable,
		0x04: net.ErrSOCKSConnectionHostUnreachable,
		0x05: net.ErrSOCKSConnectionHostUnreachable,
		0x06: net.ErrSOCKSConnectionHostUnreachable,
		0x07: net.ErrSOCKSConnectionFailed,
		0x08: net.ErrSOCKSConnectionFailed,
		0x09: net.ErrSOCKSConnectionFailed,
		0x80: net.ErrSOCKSConnectionFailed,
		0xFF: net.ErrSOCKSConnectionFailed,
	}
	for code, werr := range want {
		t.Run(fmt.Sprintf("%#02x", code), func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				socksExpect(t, c, "greeting", []byte{5, 1, 0})
				c.Write([]byte{5, 0})
				if _, err := readSOCKS5Request(c); err != nil {
					t.Errorf("server: %v", err)
				}
				c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
				socksWaitClose(c)
			})
			e := newSOCKSEnv(t)
			rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), "dest.test", 80)
			wantSOCKSErr(t, rv, werr)
			ev := e.rec.Find(netlog.EventSOCKSServerError, netlog.PhaseNone, 0)
			if len(ev) != 1 || ev[0].Params["error_code"] != int(code) {
				t.Errorf("SOCKS_SERVER_ERROR events = %+v", ev)
			}
			end := e.rec.Find(netlog.EventSOCKS5HandshakeRead, netlog.PhaseEnd, 0)
			if len(end) != 1 || end[0].Params["net_error"] != int(werr) {
				t.Errorf("SOCKS5_HANDSHAKE_READ end = %+v", end)
			}
		})
	}
}

// The bound address in the reply is read in full, whatever its type, and
// the bytes the server sends right behind it in the same segment are the
// stream's.
func TestSOCKS5BoundAddressTypes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		reply []byte
	}{
		{"IPv4", socks5OK},
		{"IPv6", append(append([]byte{5, 0, 0, 4}, netip.IPv6Loopback().AsSlice()...), 0, 80)},
		{"domain", append(append([]byte{5, 0, 0, 3, 11}, "proxy.local"...), 0, 80)},
		{"empty domain", []byte{5, 0, 0, 3, 0, 0, 80}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				socksExpect(t, c, "greeting", []byte{5, 1, 0})
				c.Write([]byte{5, 0})
				if _, err := readSOCKS5Request(c); err != nil {
					t.Errorf("server: %v", err)
				}
				c.Write(append(append([]byte{}, tc.reply...), "stream!"...))
				socksWaitClose(c)
			})
			e := newSOCKSEnv(t)
			rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), "dest.test", 80)
			wantSOCKSErr(t, rv, net.Error(net.OK))
			if got := socksReadN(t, e.l, s, 7); string(got) != "stream!" {
				t.Errorf("stream starts with %q", got)
			}
		})
	}
}

func TestSOCKS5Garbage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		greeting []byte // the server's method reply
		reply    []byte // the CONNECT reply, when the greeting is good
		event    netlog.EventType
	}{
		{"greeting version 4", []byte{4, 0}, nil, netlog.EventSOCKSUnexpectedVersion},
		{"greeting HTTP", []byte("HT"), nil, netlog.EventSOCKSUnexpectedVersion},
		{"reply version 4", []byte{5, 0}, []byte{4, 0, 0, 1, 0, 0, 0, 0, 0, 0}, netlog.EventSOCKSUnexpectedVersion},
		{"reply reserved byte set", []byte{5, 0}, []byte{5, 0, 1, 1, 0, 0, 0, 0, 0, 0}, netlog.EventSOCKSUnexpectedVersion},
		{"unknown address type", []byte{5, 0}, []byte{5, 0, 0, 2, 0}, netlog.EventSOCKSUnknownAddressType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				socksExpect(t, c, "greeting", []byte{5, 1, 0})
				c.Write(tc.greeting)
				if tc.reply != nil {
					if _, err := readSOCKS5Request(c); err != nil {
						t.Errorf("server: %v", err)
					}
					c.Write(tc.reply)
				}
				socksWaitClose(c)
			})
			e := newSOCKSEnv(t)
			rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), "dest.test", 80)
			wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
			if len(e.rec.Find(tc.event, netlog.PhaseNone, 0)) != 1 {
				t.Errorf("no %v event: %v", tc.event, e.rec.Describe())
			}
		})
	}
}

// Chromium: the proxy closing the connection at any point of a SOCKS5
// handshake is ERR_SOCKS_CONNECTION_FAILED, with an event saying when.
func TestSOCKS5EOF(t *testing.T) {
	const (
		duringGreeting  = netlog.EventSOCKSUnexpectedlyClosedDuringGreeting
		duringHandshake = netlog.EventSOCKSUnexpectedlyClosedDuringHandshake
	)
	for _, tc := range []struct {
		name  string
		auth  bool
		sends [][]byte // what the server sends after each client message
		event netlog.EventType
	}{
		{"greeting", false, [][]byte{nil}, duringGreeting},
		{"mid-greeting", false, [][]byte{{5}}, duringGreeting},
		{"auth", true, [][]byte{{5, 2}, nil}, duringGreeting},
		{"mid-auth", true, [][]byte{{5, 2}, {1}}, duringGreeting},
		{"connect reply", false, [][]byte{{5, 0}, nil}, duringHandshake},
		{"mid-header", false, [][]byte{{5, 0}, {5, 0, 0}}, duringHandshake},
		{"mid IPv4 address", false, [][]byte{{5, 0}, {5, 0, 0, 1, 127, 0}}, duringHandshake},
		{"mid IPv6 address", false, [][]byte{{5, 0}, {5, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0}}, duringHandshake},
		{"mid domain", false, [][]byte{{5, 0}, {5, 0, 0, 3, 10, 'a', 'b'}}, duringHandshake},
		{"before the port", false, [][]byte{{5, 0}, {5, 0, 0, 1, 127, 0, 0, 1, 0}}, duringHandshake},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := socksServer(t, func(c *testserver.Conn) {
				if _, err := readSOCKS5Greeting(c); err != nil {
					t.Errorf("server: %v", err)
					return
				}
				c.Write(tc.sends[0])
				if len(tc.sends) == 1 {
					return
				}
				if tc.auth {
					if _, _, err := readSOCKS5Auth(c); err != nil {
						t.Errorf("server: %v", err)
						return
					}
				} else if _, err := readSOCKS5Request(c); err != nil {
					t.Errorf("server: %v", err)
					return
				}
				c.Write(tc.sends[1])
			})
			e := newSOCKSEnv(t)
			p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
			if tc.auth {
				p.Username, p.Password = "u", "p"
			}
			rv, _, _ := e.connect(p, "dest.test", 80)
			wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
			if len(e.rec.Find(tc.event, netlog.PhaseNone, 0)) != 1 {
				t.Errorf("no %v event: %v", tc.event, e.rec.Describe())
			}
		})
	}
}

func TestSOCKS5OneByteAtATime(t *testing.T) {
	echo := socksEcho(t)
	srv := socksServer(t, func(c *testserver.Conn) {
		slow := func(b []byte) bool { return c.WriteSlowly(string(b), time.Millisecond) == nil }
		if !socksExpect(t, c, "greeting", []byte{5, 2, 0, 2}) || !slow([]byte{5, 2}) {
			return
		}
		if _, _, err := readSOCKS5Auth(c); err != nil || !slow([]byte{1, 0}) {
			return
		}
		if _, err := readSOCKS5Request(c); err != nil {
			return
		}
		if !slow(append(append([]byte{5, 0, 0, 3, 5}, "bound"...), 0, 1)) {
			return
		}
		socksRelayTo(t, c, echo.String())
	})
	e := newSOCKSEnv(t)
	p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
	p.Username, p.Password = "u", "p"
	rv, s, _ := e.connect(p, "dest.test", 80)
	wantSOCKSErr(t, rv, net.Error(net.OK))
	socksEchoRoundTrip(t, e.l, s)
	// Partial reads and writes must not open a span per byte.
	var sockID uint32
	nettest.OnLoop(t, e.l, func() { sockID = s.NetLog().Source().ID })
	for _, ev := range []netlog.EventType{netlog.EventSOCKS5GreetRead, netlog.EventSOCKS5HandshakeRead} {
		e.rec.One(t, ev, netlog.PhaseBegin, sockID)
		e.rec.One(t, ev, netlog.PhaseEnd, sockID)
	}
}

func TestSOCKS5HostnameLength(t *testing.T) {
	t.Run("256 bytes", func(t *testing.T) {
		srv := socksServer(t, func(c *testserver.Conn) {
			if n := socksWaitClose(c); n != 0 {
				t.Errorf("server got %d bytes; want none", n)
			}
		})
		e := newSOCKSEnv(t)
		rv, _, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), strings.Repeat("a", 256), 80)
		wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
		if len(e.rec.Find(netlog.EventSOCKSHostnameTooBig, netlog.PhaseNone, 0)) != 1 {
			t.Error("no SOCKS_HOSTNAME_TOO_BIG event")
		}
	})
	t.Run("255 bytes", func(t *testing.T) {
		echo := socksEcho(t)
		name := strings.Repeat("b", 255)
		reqs := make(chan socks5Request, 1)
		srv := socksServer(t, socks5Relay(t, map[string]string{name: echo.String()}, reqs))
		e := newSOCKSEnv(t)
		rv, s, _ := e.connect(socksProxy(proxy.SchemeSOCKS5, srv.Addr), name, 80)
		wantSOCKSErr(t, rv, net.Error(net.OK))
		if q := <-reqs; q.host != name {
			t.Errorf("name sent = %q", q.host)
		}
		socksEchoRoundTrip(t, e.l, s)
	})
	t.Run("credentials over 255 bytes", func(t *testing.T) {
		srv := socksServer(t, func(c *testserver.Conn) { socksWaitClose(c) })
		e := newSOCKSEnv(t)
		p := socksProxy(proxy.SchemeSOCKS5, srv.Addr)
		p.Username, p.Password = "u", strings.Repeat("p", 256)
		rv, _, _ := e.connect(p, "dest.test", 80)
		wantSOCKSErr(t, rv, net.ErrSOCKSConnectionFailed)
	})
}
