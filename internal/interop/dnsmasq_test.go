package interop

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func TestDnsmasqArgs(t *testing.T) {
	args, err := dnsmasqArgs(5353, "/tmp/x.pid", DnsmasqOptions{
		Zone: "test.example",
		Hosts: []DnsmasqHost{{
			Name:  "www.test.example",
			Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("192.0.2.2")},
			TTL:   300,
		}},
		CNAMEs:        []DnsmasqCNAME{{Alias: "a.test.example", Target: "www.test.example", TTL: 60}},
		EDNSPacketMax: 512,
	})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(args, " ")
	for _, want := range []string{
		"--keep-in-foreground", "--port=5353", "--listen-address=127.0.0.1", "--no-resolv", "--no-hosts",
		"--conf-file=/dev/null", "--log-queries=extra", "--log-facility=-", "--local=/test.example/",
		"--host-record=www.test.example,192.0.2.1,2001:db8::1,300",
		"--host-record=www.test.example,192.0.2.2,300",
		"--cname=a.test.example,www.test.example,60",
		"--edns-packet-max=512",
	} {
		if !strings.Contains(" "+joined+" ", " "+want+" ") {
			t.Errorf("missing %s in %s", want, joined)
		}
	}
	if _, err := dnsmasqArgs(1, "p", DnsmasqOptions{Zone: "a,b"}); err == nil {
		t.Errorf("a zone with a comma was accepted")
	}
	auth, _ := dnsmasqArgs(1, "p", DnsmasqOptions{Zone: "z.example", Authoritative: true, AuthTTL: 77})
	if j := strings.Join(auth, " "); !strings.Contains(j, "--auth-zone=z.example") || !strings.Contains(j, "--auth-ttl=77") ||
		strings.Contains(j, "--local=") {
		t.Errorf("authoritative args: %s", j)
	}
}

func TestDnsmasqParseQueries(t *testing.T) {
	log := `dnsmasq[5934]: started, version 2.90 cachesize 150
dnsmasq[5934]: 1 127.0.0.1/43812 query[A] www.test.example from 127.0.0.1
dnsmasq[5934]: 1 127.0.0.1/43812 config www.test.example is 192.0.2.1
dnsmasq[5934]: 2 127.0.0.1/51742 auth[AAAA] WWW.test.example. from 127.0.0.1
`
	got := parseDnsmasqQueries(log)
	want := []DnsmasqQuery{
		{Serial: 1, From: netip.MustParseAddrPort("127.0.0.1:43812"), Type: "A", Name: "www.test.example"},
		{Serial: 2, From: netip.MustParseAddrPort("127.0.0.1:51742"), Type: "AAAA", Name: "WWW.test.example"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestDnsmasqServes(t *testing.T) {
	d := StartDnsmasq(t, DnsmasqOptions{
		Hosts:     []DnsmasqHost{{Name: "www.test.example", Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, TTL: 300}},
		Addresses: map[string]netip.Addr{"wild.test.example": netip.MustParseAddr("192.0.2.77")},
	})
	for _, network := range []string{"udp", "tcp"} {
		c := &mdns.Client{Net: network, Timeout: 5 * time.Second}
		m := new(mdns.Msg)
		m.SetQuestion("www.test.example.", mdns.TypeA)
		r, _, err := c.Exchange(m, d.Addr())
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.1" || r.Answer[0].Header().Ttl != 300 {
			t.Errorf("%s: answer %v", network, r)
		}
		m.SetQuestion("nope.test.example.", mdns.TypeA)
		if r, _, err := c.Exchange(m, d.Addr()); err != nil || r.Rcode != mdns.RcodeNameError {
			t.Errorf("%s: nope: %v %v", network, r, err)
		}
	}
	// --address covers the domain and every name under it.
	c := &mdns.Client{Timeout: 5 * time.Second}
	m := new(mdns.Msg)
	m.SetQuestion("x.y.wild.test.example.", mdns.TypeA)
	if r, _, err := c.Exchange(m, d.Addr()); err != nil || len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "192.0.2.77" {
		t.Errorf("--address: %v %v", r, err)
	}
	if n := d.WaitQueryCount("www.test.example", "A", 2, 5*time.Second); n != 2 {
		t.Errorf("QueryCount = %d, want 2\n%s", n, d.Log())
	}
	if n := d.QueryCount("nope.test.example.", ""); n != 2 {
		t.Errorf("QueryCount(nope) = %d, want 2", n)
	}
}
