package dns

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Interop tests against a real dnsmasq (skipped unless installed, or
// failed when NETFETCH_INTEROP is set and it is not).

// dcBigHost has enough A records (100 × 16 bytes) that its UDP answer
// exceeds the 1232-byte EDNS0 size the client advertises, so dnsmasq sets
// TC and the client must ask again over TCP.
func dcBigHost() interop.DnsmasqHost {
	h := interop.DnsmasqHost{Name: "big.test.example", TTL: 600}
	for i := 1; i <= 100; i++ {
		h.Addrs = append(h.Addrs, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	return h
}

func dcStartDnsmasq(t *testing.T) *interop.Dnsmasq {
	return interop.StartDnsmasq(t, interop.DnsmasqOptions{
		Hosts: []interop.DnsmasqHost{
			{Name: "www.test.example", Addrs: dcAddrs("192.0.2.1", "2001:db8::1"), TTL: 300},
			{Name: "v4.test.example", Addrs: dcAddrs("192.0.2.4", "192.0.2.5"), TTL: 250},
			dcBigHost(),
		},
		CNAMEs: []interop.DnsmasqCNAME{
			{Alias: "alias.test.example", Target: "mid.test.example", TTL: 120},
			{Alias: "mid.test.example", Target: "www.test.example", TTL: 90},
		},
	})
}

func TestDNSClientInteropDnsmasq(t *testing.T) {
	d := dcStartDnsmasq(t)
	cfg := dcConfig(d.AddrPort())
	cfg.Search = []string{"test.example"}
	h := dcNewHarness(t, cfg)
	base := testserver.GoroutineBaseline()

	t.Run("A and AAAA", func(t *testing.T) {
		r := h.resolve("www.test.example")
		if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("2001:db8::1", "192.0.2.1")) {
			t.Fatalf("got %+v", r)
		}
		if r.TTL != 300*time.Second {
			t.Errorf("TTL = %v, want the configured 300s", r.TTL)
		}
		if n := d.WaitQueryCount("www.test.example", "A", 1, 5*time.Second); n != 1 {
			t.Errorf("A queries: %d, want 1", n)
		}
	})
	t.Run("search list", func(t *testing.T) {
		r := h.resolve("v4")
		if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.4", "192.0.2.5")) || r.TTL != 250*time.Second {
			t.Fatalf("got %+v", r)
		}
	})
	t.Run("NXDOMAIN", func(t *testing.T) {
		r := h.resolve("nope.test.example")
		// dnsmasq's local answers carry no SOA: not cacheable.
		if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 0 {
			t.Fatalf("got %+v, want ErrNameNotResolved without a negative TTL", r)
		}
	})
	t.Run("CNAME chain", func(t *testing.T) {
		r := h.resolve("alias.test.example")
		if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("2001:db8::1", "192.0.2.1")) {
			t.Fatalf("got %+v", r)
		}
		if want := []string{"mid.test.example", "www.test.example"}; !reflect.DeepEqual(r.Aliases, want) {
			t.Errorf("Aliases = %q, want %q", r.Aliases, want)
		}
		if r.TTL != 90*time.Second {
			t.Errorf("TTL = %v, want 90s (the chain's smallest)", r.TTL)
		}
	})
	t.Run("truncated answer over TCP", func(t *testing.T) {
		before := len(h.rec.Find(netlog.EventDNSTransactionTCPAttempt, netlog.PhaseNone, 0))
		r := h.resolve("big.test.example", QueryA)
		if r.Err != 0 || len(r.Addresses) != 100 || r.TTL != 600*time.Second {
			t.Fatalf("got Err %v, %d addresses, TTL %v; want 100 with 600s", r.Err, len(r.Addresses), r.TTL)
		}
		sorted := slices.Clone(r.Addresses)
		slices.SortFunc(sorted, netip.Addr.Compare)
		if !reflect.DeepEqual(sorted, dcBigHost().Addrs) {
			t.Errorf("addresses differ from the records")
		}
		// The UDP query and its TCP repetition.
		if n := d.WaitQueryCount("big.test.example", "A", 2, 5*time.Second); n != 2 {
			t.Errorf("queries for big: %d, want 2 (UDP, then TCP)\n%s", n, d.Log())
		}
		if n := len(h.rec.Find(netlog.EventDNSTransactionTCPAttempt, netlog.PhaseNone, 0)) - before; n != 1 {
			t.Errorf("TCP attempts: %d, want 1", n)
		}
	})
	t.Run("fresh source ports", func(t *testing.T) {
		seen := map[netip.AddrPort]string{}
		for _, q := range d.Queries() {
			key := fmt.Sprintf("%d %s %s", q.Serial, q.Type, q.Name)
			if prev, ok := seen[q.From]; ok && q.Name != "big.test.example" {
				t.Errorf("source %v used for %q and %q", q.From, prev, key)
			}
			seen[q.From] = key
		}
	})
	testserver.CheckGoroutines(t, base)
}

func TestDNSClientInteropDnsmasqAuthoritative(t *testing.T) {
	// An authoritative dnsmasq puts its SOA in negative answers, with
	// --auth-ttl as the SOA's TTL and MINIMUM, and every record's TTL.
	d := interop.StartDnsmasq(t, interop.DnsmasqOptions{
		Zone:          "auth.example",
		Authoritative: true,
		AuthTTL:       77,
		Hosts:         []interop.DnsmasqHost{{Name: "v4.auth.example", Addrs: dcAddrs("192.0.2.9")}},
	})
	h := dcNewHarness(t, dcConfig(d.AddrPort()))
	r := h.resolve("nope.auth.example")
	if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 77*time.Second {
		t.Errorf("NXDOMAIN: %+v, want ErrNameNotResolved cacheable for 77s", r)
	}
	r = h.resolve("v4.auth.example")
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.9")) || r.TTL != 77*time.Second {
		t.Errorf("A with AAAA NODATA: %+v", r)
	}
	r = h.resolve("v4.auth.example", QueryAAAA)
	if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 77*time.Second {
		t.Errorf("NODATA: %+v, want ErrNameNotResolved cacheable for 77s", r)
	}
}
