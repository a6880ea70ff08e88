package dns

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// The manager against a real dnsmasq: answers are cached until their TTL
// runs out, and NXDOMAIN is cached for the SOA's negative TTL. (CNAME
// chains and TCP retries against dnsmasq are in dns_client_interop_test.go.)
func TestManagerInteropDnsmasqCaching(t *testing.T) {
	d := interop.StartDnsmasq(t, interop.DnsmasqOptions{
		Authoritative: true,
		AuthTTL:       120,
		Hosts:         []interop.DnsmasqHost{{Name: "www.test.example", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.7")}}},
	})
	l := nettest.NewLoop(t)
	m := newTestManager(t, l, netlog.New(), d.AddrPort(), ManagerOptions{IPv6Reachable: func() bool { return false }})
	clock := time.Now()
	nettest.OnLoop(t, l, func() { m.now = func() time.Time { return clock } })

	resolve := func(host string) (int, net.AddressList) {
		lk := startLookup(t, l, m, host, ResolveParams{})
		return lk.wait(t), lk.req.Addresses()
	}
	if rv, addrs := resolve("www.test.example"); rv != net.OK || addrs.String() != "127.0.0.7:80" {
		t.Fatalf("rv %d addrs %v", rv, addrs)
	}
	resolve("www.test.example")
	if n := d.QueryCount("www.test.example", "A"); n != 1 {
		t.Fatalf("%d queries: the second lookup was not a cache hit", n)
	}
	// Past the TTL (120 s, above Chromium's 60 s floor) the name is asked again.
	nettest.OnLoop(t, l, func() { clock = clock.Add(121 * time.Second) })
	resolve("www.test.example")
	if n := d.WaitQueryCount("www.test.example", "A", 2, nettest.HangGuard); n != 2 {
		t.Fatalf("%d queries after the TTL ran out, want 2", n)
	}

	// NXDOMAIN, cached for the SOA's TTL.
	if rv, _ := resolve("missing.test.example"); rv != int(net.ErrNameNotResolved) {
		t.Fatalf("rv %d", rv)
	}
	if rv, _ := resolve("missing.test.example"); rv != int(net.ErrNameNotResolved) {
		t.Fatalf("rv %d", rv)
	}
	if n := d.QueryCount("missing.test.example", "A"); n != 1 {
		t.Fatalf("%d queries for a negative-cached name, want 1", n)
	}
}
