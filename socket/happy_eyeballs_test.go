package socket

import (
	"context"
	gonet "net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Happy eyeballs: IPv6 addresses first, IPv4 ones 300 ms later or as soon
// as IPv6 fails; the first connection wins and the other attempt closes.

// listenOn returns an accepting listener's port on ip, closed at cleanup.
func listenOn(t *testing.T, ip string) (uint16, chan gonet.Conn) {
	t.Helper()
	ln, err := gonet.Listen("tcp", gonet.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	accepted := make(chan gonet.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	return uint16(ln.Addr().(*gonet.TCPAddr).Port), accepted
}

// deadPort is a port nothing listens on at ip.
func deadPort(t *testing.T, ip string) uint16 {
	t.Helper()
	ln, err := gonet.Listen("tcp", gonet.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	port := uint16(ln.Addr().(*gonet.TCPAddr).Port)
	ln.Close()
	return port
}

// withFallbackDelay sets the IPv6 head start for one test.
func withFallbackDelay(t *testing.T, d time.Duration) {
	old := ipv6FallbackDelay
	ipv6FallbackDelay = d
	t.Cleanup(func() { ipv6FallbackDelay = old })
}

// withSlowIPv6 makes every dial to an IPv6 address hang until cancelled.
func withSlowIPv6(t *testing.T) chan string {
	cancelled := make(chan string, 4)
	old := dialTCP
	dialTCP = func(ctx context.Context, network, addr string) (gonet.Conn, error) {
		if strings.HasPrefix(addr, "[") {
			<-ctx.Done()
			cancelled <- addr
			return nil, ctx.Err()
		}
		return old(ctx, network, addr)
	}
	t.Cleanup(func() { dialTCP = old })
	return cancelled
}

func runEyeballsJob(t *testing.T, addrs net.AddressList) (int, StreamSocket, *nettest.Recorder) {
	t.Helper()
	l := nettest.NewLoop(t)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	res := &fakeResolver{loop: l, addrs: addrs}
	f := &TransportConnectJobFactory{Loop: l, NetLog: log, Resolver: res}
	d := newFakeDelegate(t)
	job, rv := startTransportJob(t, l, f, d)
	if rv == net.IOPending {
		select {
		case rv = <-d.c:
		case <-time.After(nettest.HangGuard):
			t.Fatal("connect job did not finish")
		}
	}
	var s StreamSocket
	nettest.OnLoop(t, l, func() {
		if rv == net.OK {
			s = job.TakeSocket()
		}
	})
	t.Cleanup(func() {
		if s != nil {
			l.Post(s.Disconnect)
		}
	})
	return rv, s, rec
}

func v6(port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.IPv6Loopback(), port) }
func v4(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
}

func TestHappyEyeballsPrefersIPv6(t *testing.T) {
	withFallbackDelay(t, time.Hour)
	p6, _ := listenOn(t, "::1")
	p4, _ := listenOn(t, "127.0.0.1")
	rv, s, rec := runEyeballsJob(t, net.AddressList{v4(p4), v6(p6)})
	if rv != net.OK || !s.PeerAddress().Addr().Is6() {
		t.Fatalf("rv %d, peer %v; want IPv6 first", rv, s)
	}
	if n := len(rec.Find(netlog.EventTransportConnectJobIPV6Fallback, netlog.PhaseNone, 0)); n != 0 {
		t.Errorf("IPv4 fallback started although IPv6 connected at once")
	}
}

func TestHappyEyeballsFallsBackAtOnceWhenIPv6Fails(t *testing.T) {
	withFallbackDelay(t, time.Hour) // the timer must not be what starts IPv4
	p4, _ := listenOn(t, "127.0.0.1")
	rv, s, rec := runEyeballsJob(t, net.AddressList{v6(deadPort(t, "::1")), v4(p4)})
	if rv != net.OK || !s.PeerAddress().Addr().Is4() {
		t.Fatalf("rv %d; want the IPv4 connection", rv)
	}
	rec.One(t, netlog.EventTransportConnectJobIPV6Fallback, netlog.PhaseNone, 0)
}

func TestHappyEyeballsStartsIPv4AfterTheDelay(t *testing.T) {
	withFallbackDelay(t, 20*time.Millisecond)
	cancelled := withSlowIPv6(t)
	p6, _ := listenOn(t, "::1")
	p4, _ := listenOn(t, "127.0.0.1")
	rv, s, rec := runEyeballsJob(t, net.AddressList{v6(p6), v4(p4)})
	if rv != net.OK || !s.PeerAddress().Addr().Is4() {
		t.Fatalf("rv %d; want the IPv4 connection while IPv6 hangs", rv)
	}
	rec.One(t, netlog.EventTransportConnectJobIPV6Fallback, netlog.PhaseNone, 0)
	select {
	case <-cancelled: // the losing IPv6 dial was abandoned
	case <-time.After(nettest.HangGuard):
		t.Fatal("the hanging IPv6 dial was not cancelled")
	}
}

func TestHappyEyeballsBothFamiliesFail(t *testing.T) {
	withFallbackDelay(t, time.Hour)
	rv, _, _ := runEyeballsJob(t, net.AddressList{v6(deadPort(t, "::1")), v4(deadPort(t, "127.0.0.1"))})
	if rv != int(net.ErrConnectionRefused) {
		t.Fatalf("rv %d, want ErrConnectionRefused", rv)
	}
}
