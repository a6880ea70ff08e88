package dns

import (
	"fmt"
	gonet "net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// dcZone answers A and AAAA from a small table of records and NXDOMAIN with
// an SOA for other names under example.
func dcZone(t testing.TB, records map[string][]string) func(q dcQuery) *mdns.Msg {
	return func(q dcQuery) *mdns.Msg {
		rrs, ok := records[q.name]
		if !ok {
			return dcReply(t, q, mdns.RcodeNameError, dcSOA("example.", 3600, 300))
		}
		var matching []string
		for _, rr := range rrs {
			f := strings.Fields(rr)
			if f[3] == mdns.TypeToString[q.qtype] || f[3] == "CNAME" {
				matching = append(matching, rr)
			}
		}
		if len(matching) == 0 {
			return dcReply(t, q, mdns.RcodeSuccess, dcSOA("example.", 3600, 300))
		}
		return dcReply(t, q, mdns.RcodeSuccess, matching...)
	}
}

func TestDNSClientAAndAAAA(t *testing.T) {
	srv := dcStartServer(t, dcZone(t, map[string][]string{
		"www.example.": {
			"www.example. 300 IN A 192.0.2.1",
			"www.example. 30 IN A 192.0.2.2",
			"www.example. 120 IN AAAA 2001:db8::1",
		},
	}))
	h := dcNewHarness(t, dcConfig(srv.addr))
	base := testserver.GoroutineBaseline()

	r := h.resolve("www.example")
	if r.Err != 0 {
		t.Fatalf("Err = %v", r.Err)
	}
	if want := dcAddrs("2001:db8::1", "192.0.2.1", "192.0.2.2"); !reflect.DeepEqual(r.Addresses, want) {
		t.Errorf("Addresses = %v, want %v (IPv6 first)", r.Addresses, want)
	}
	if r.TTL != 30*time.Second {
		t.Errorf("TTL = %v, want 30s (the smallest)", r.TTL)
	}
	if len(r.Aliases) != 0 {
		t.Errorf("Aliases = %v, want none", r.Aliases)
	}

	// One type only.
	r = h.resolve("www.example", QueryA)
	if want := dcAddrs("192.0.2.1", "192.0.2.2"); r.Err != 0 || !reflect.DeepEqual(r.Addresses, want) {
		t.Errorf("A only: %+v", r)
	}
	r = h.resolve("www.example", QueryAAAA)
	if want := dcAddrs("2001:db8::1"); r.Err != 0 || !reflect.DeepEqual(r.Addresses, want) || r.TTL != 120*time.Second {
		t.Errorf("AAAA only: %+v", r)
	}
	for _, q := range srv.asked(0) {
		if q.tcp {
			t.Errorf("unexpected TCP query %v", q.name)
		}
		opt := q.msg.IsEdns0()
		if opt == nil || opt.UDPSize() != ednsUDPSize {
			t.Errorf("query without EDNS0 OPT of size %d: %v", ednsUDPSize, q.msg)
		}
		if !q.msg.RecursionDesired {
			t.Errorf("query without RD")
		}
	}
	testserver.CheckGoroutines(t, base)
}

func TestDNSClientCNAMEChain(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg {
		if q.name != "www.example." {
			return dcReply(t, q, mdns.RcodeNameError)
		}
		// The records come in a scrambled order, with an unrelated one
		// that must not be taken.
		rrs := []string{
			"b.example. 200 IN A 192.0.2.9",
			"evil.example. 1 IN A 203.0.113.66",
			"a.example. 50 IN CNAME b.example.",
			"www.example. 100 IN CNAME A.Example.",
		}
		if q.qtype == mdns.TypeAAAA {
			rrs = rrs[1:]
		}
		return dcReply(t, q, mdns.RcodeSuccess, rrs...)
	})
	h := dcNewHarness(t, dcConfig(srv.addr))
	r := h.resolve("www.example")
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.9")) {
		t.Fatalf("got %+v, want 192.0.2.9", r)
	}
	if want := []string{"a.example", "b.example"}; !reflect.DeepEqual(r.Aliases, want) {
		t.Errorf("Aliases = %q, want %q", r.Aliases, want)
	}
	if r.TTL != 50*time.Second {
		t.Errorf("TTL = %v, want 50s (the chain's smallest)", r.TTL)
	}
}

func TestDNSClientCNAMELoopAndDanglingChain(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg {
		switch q.name {
		case "loop.example.":
			return dcReply(t, q, mdns.RcodeSuccess,
				"loop.example. 60 IN CNAME x.example.",
				"x.example. 60 IN CNAME loop.example.")
		case "dangling.example.":
			return dcReply(t, q, mdns.RcodeSuccess,
				"dangling.example. 60 IN CNAME elsewhere.example.",
				dcSOA("example.", 60, 45))
		}
		return dcReply(t, q, mdns.RcodeNameError)
	})
	h := dcNewHarness(t, dcConfig(srv.addr))
	r := h.resolve("loop.example")
	if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 0 {
		t.Errorf("CNAME loop: %+v, want NODATA without caching", r)
	}
	r = h.resolve("dangling.example")
	if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 45*time.Second {
		t.Errorf("dangling chain: %+v, want NODATA with the SOA's 45s", r)
	}
}

func TestDNSClientNXDomainWithSOA(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg {
		return dcReply(t, q, mdns.RcodeNameError, dcSOA("example.", 600, 300))
	})
	h := dcNewHarness(t, dcConfig(srv.addr))
	r := h.resolve("nope.example")
	if r.Err != net.ErrNameNotResolved {
		t.Fatalf("Err = %v, want ErrNameNotResolved", r.Err)
	}
	if r.NegativeTTL != 300*time.Second {
		t.Errorf("NegativeTTL = %v, want min(600, 300)s", r.NegativeTTL)
	}
	if len(r.Addresses) != 0 {
		t.Errorf("Addresses = %v", r.Addresses)
	}
	// The SOA's own TTL wins when it is the smaller.
	srv.setScript(func(q dcQuery) *mdns.Msg {
		return dcReply(t, q, mdns.RcodeNameError, dcSOA("example.", 20, 300))
	})
	if r := h.resolve("nope2.example"); r.NegativeTTL != 20*time.Second {
		t.Errorf("NegativeTTL = %v, want 20s", r.NegativeTTL)
	}
	// No SOA: not cacheable.
	srv.setScript(func(q dcQuery) *mdns.Msg { return dcReply(t, q, mdns.RcodeNameError) })
	if r := h.resolve("nope3.example"); r.Err != net.ErrNameNotResolved || r.NegativeTTL != 0 {
		t.Errorf("without SOA: %+v", r)
	}
}

func TestDNSClientNoData(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg {
		if q.qtype == mdns.TypeA {
			return dcReply(t, q, mdns.RcodeSuccess, dcSOA("example.", 100, 900))
		}
		return dcReply(t, q, mdns.RcodeSuccess, dcSOA("example.", 100, 50))
	})
	h := dcNewHarness(t, dcConfig(srv.addr))
	r := h.resolve("empty.example")
	if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 50*time.Second {
		t.Errorf("NODATA: %+v, want ErrNameNotResolved with 50s", r)
	}
	// NODATA for AAAA and addresses for A: a success.
	srv.setScript(func(q dcQuery) *mdns.Msg {
		if q.qtype == mdns.TypeA {
			return dcReply(t, q, mdns.RcodeSuccess, "v4only.example. 60 IN A 192.0.2.4")
		}
		return dcReply(t, q, mdns.RcodeSuccess)
	})
	r = h.resolve("v4only.example")
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.4")) || r.TTL != time.Minute {
		t.Errorf("A + AAAA NODATA: %+v", r)
	}
}

func TestDNSClientServfailThenSecondServer(t *testing.T) {
	bad := dcStartServer(t, func(q dcQuery) *mdns.Msg { return dcReply(t, q, mdns.RcodeServerFailure) })
	good := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.7"}}))
	h := dcNewHarness(t, dcConfig(bad.addr, good.addr))
	r := h.resolve("www.example", QueryA)
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.7")) {
		t.Fatalf("got %+v", r)
	}
	if n := len(bad.asked(mdns.TypeA)); n != 1 {
		t.Errorf("first server asked %d times, want 1", n)
	}
	if n := len(good.asked(mdns.TypeA)); n != 1 {
		t.Errorf("second server asked %d times, want 1", n)
	}
	// Alone, the failing server's answer is the result, after every
	// attempt.
	h2 := dcNewHarness(t, DNSConfig{Nameservers: []netip.AddrPort{bad.addr}, Timeout: time.Second, Attempts: 2})
	if r := h2.resolve("www.example", QueryA); r.Err != net.ErrDNSServerFailure {
		t.Errorf("Err = %v, want ErrDNSServerFailure", r.Err)
	}
	if n := len(bad.asked(mdns.TypeA)); n != 3 {
		t.Errorf("first server asked %d times in all, want 1+2", n)
	}
}

func TestDNSClientRefused(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg { return dcReply(t, q, mdns.RcodeRefused) })
	cfg := dcConfig(srv.addr)
	cfg.Attempts = 2
	h := dcNewHarness(t, cfg)
	r := h.resolve("www.example")
	if r.Err != net.ErrDNSRefused {
		t.Fatalf("Err = %v, want ErrDNSRefused", r.Err)
	}
	if n := len(srv.asked(mdns.TypeA)); n != 2 {
		t.Errorf("A asked %d times, want 2 (attempts)", n)
	}
	// A refusing server before a working one: the working one answers.
	good := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.8"}}))
	h2 := dcNewHarness(t, dcConfig(srv.addr, good.addr))
	if r := h2.resolve("www.example", QueryA); r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.8")) {
		t.Errorf("refused then good: %+v", r)
	}
}

func TestDNSClientMergeKeepsSuccess(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg {
		if q.qtype == mdns.TypeAAAA {
			return dcReply(t, q, mdns.RcodeServerFailure)
		}
		return dcReply(t, q, mdns.RcodeSuccess, "www.example. 60 IN A 192.0.2.5")
	})
	h := dcNewHarness(t, dcConfig(srv.addr))
	if r := h.resolve("www.example"); r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.5")) {
		t.Errorf("A ok + AAAA SERVFAIL: %+v", r)
	}
	// Without any success, the failure wins over a negative answer: the
	// name's absence is not established.
	srv.setScript(func(q dcQuery) *mdns.Msg {
		if q.qtype == mdns.TypeAAAA {
			return dcReply(t, q, mdns.RcodeServerFailure)
		}
		return dcReply(t, q, mdns.RcodeSuccess)
	})
	if r := h.resolve("www2.example"); r.Err != net.ErrDNSServerFailure {
		t.Errorf("A NODATA + AAAA SERVFAIL: %+v, want ErrDNSServerFailure", r)
	}
}

func TestDNSClientTruncatedRetriedOverTCP(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg {
		if !q.tcp {
			m := dcReply(t, q, mdns.RcodeSuccess)
			m.Truncated = true
			return m
		}
		var rrs []string
		for i := 1; i <= 100; i++ {
			rrs = append(rrs, fmt.Sprintf("big.example. 60 IN A 10.0.0.%d", i))
		}
		return dcReply(t, q, mdns.RcodeSuccess, rrs...)
	})
	h := dcNewHarness(t, dcConfig(srv.addr))
	r := h.resolve("big.example", QueryA)
	if r.Err != 0 || len(r.Addresses) != 100 {
		t.Fatalf("got Err %v and %d addresses, want 100", r.Err, len(r.Addresses))
	}
	var udp, tcp int
	for _, q := range srv.asked(mdns.TypeA) {
		if q.tcp {
			tcp++
		} else {
			udp++
		}
	}
	if udp != 1 || tcp != 1 {
		t.Errorf("queries: %d UDP, %d TCP; want 1 and 1", udp, tcp)
	}
	// The TCP query has its own ID (RFC 5452).
	qs := srv.asked(mdns.TypeA)
	if qs[0].msg.Id == qs[1].msg.Id {
		t.Errorf("TCP retry reused the UDP query's ID %d", qs[0].msg.Id)
	}
	tcpEv := h.rec.Find(netlog.EventDNSTransactionTCPAttempt, netlog.PhaseNone, 0)
	if len(tcpEv) != 1 {
		t.Errorf("DNS_TRANSACTION_TCP_ATTEMPT events: %d, want 1", len(tcpEv))
	}
}

func TestDNSClientTruncatedTCPFails(t *testing.T) {
	// A UDP-only server that truncates: the TCP retry is refused.
	pc, err := gonet.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.Truncated = true
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	h := dcNewHarness(t, dcConfig(pc.LocalAddr().(*gonet.UDPAddr).AddrPort()))
	if r := h.resolve("big.example", QueryA); r.Err != net.ErrDNSServerRequiresTCP {
		t.Errorf("Err = %v, want ErrDNSServerRequiresTCP", r.Err)
	}
}

// dcSilent is a UDP socket that reads queries and never answers; it
// reports how many it received.
func dcSilent(t testing.TB) (netip.AddrPort, func() int) {
	pc, err := gonet.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	count := make(chan int, 1)
	count <- 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			count <- <-count + 1
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().(*gonet.UDPAddr).AddrPort(), func() int { n := <-count; count <- n; return n }
}

func TestDNSClientTimeoutFallsBackToSecondServer(t *testing.T) {
	silent, silentCount := dcSilent(t)
	good := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.3"}}))
	cfg := dcConfig(silent, good.addr)
	cfg.Timeout = 200 * time.Millisecond
	h := dcNewHarness(t, cfg)
	base := testserver.GoroutineBaseline()
	start := time.Now()
	r := h.resolve("www.example", QueryA)
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.3")) {
		t.Fatalf("got %+v", r)
	}
	if el := time.Since(start); el < cfg.Timeout {
		t.Errorf("answered after %v, before the first attempt's timeout %v", el, cfg.Timeout)
	}
	if n := silentCount(); n != 1 {
		t.Errorf("silent server asked %d times, want 1", n)
	}
	testserver.CheckGoroutines(t, base)
}

func TestDNSClientAllServersSilent(t *testing.T) {
	s1, c1 := dcSilent(t)
	s2, c2 := dcSilent(t)
	cfg := dcConfig(s1, s2)
	cfg.Timeout = 100 * time.Millisecond
	cfg.Attempts = 2
	h := dcNewHarness(t, cfg)
	base := testserver.GoroutineBaseline()
	r := h.resolve("www.example")
	if r.Err != net.ErrDNSTimedOut {
		t.Fatalf("Err = %v, want ErrDNSTimedOut", r.Err)
	}
	// Two types × two attempts per server.
	if n1, n2 := c1(), c2(); n1 != 4 || n2 != 4 {
		t.Errorf("servers asked %d and %d times, want 4 and 4", n1, n2)
	}
	testserver.CheckGoroutines(t, base)
}

func TestDNSClientSearchListAndNdots(t *testing.T) {
	srv := dcStartServer(t, dcZone(t, map[string][]string{
		"www.x.":               {"www.x. 60 IN A 192.0.2.10"},
		"host.corp.example.":   {"host.corp.example. 60 IN A 192.0.2.11"},
		"a.b.c.":               {"a.b.c. 60 IN A 192.0.2.12"},
		"single.":              {"single. 60 IN A 192.0.2.13"},
		"www.x.first.example.": {},
	}))
	cfg := dcConfig(srv.addr)
	cfg.Search = []string{"first.example", "corp.example"}
	cfg.Ndots = 2
	h := dcNewHarness(t, cfg)

	for _, tc := range []struct {
		host  string
		want  []string // names asked for A, in order
		addrs []netip.Addr
		err   net.Error
	}{
		// Fewer dots than ndots: the suffixes first, then the name as is.
		// www.x.first.example has no A (NODATA): that stops the search.
		{"www.x", []string{"www.x.first.example."}, nil, net.ErrNameNotResolved},
		{"host", []string{"host.first.example.", "host.corp.example."}, dcAddrs("192.0.2.11"), 0},
		// At least ndots dots: as is first.
		{"a.b.c", []string{"a.b.c."}, dcAddrs("192.0.2.12"), 0},
		// A single-label name is never sent as is (Chromium).
		{"single", []string{"single.first.example.", "single.corp.example."}, nil, net.ErrNameNotResolved},
		// A trailing dot: only the name as is.
		{"single.", []string{"single."}, dcAddrs("192.0.2.13"), 0},
		{"nothere.x.", []string{"nothere.x."}, nil, net.ErrNameNotResolved},
	} {
		before := len(srv.names(mdns.TypeA))
		r := h.resolve(tc.host, QueryA)
		asked := srv.names(mdns.TypeA)[before:]
		if !reflect.DeepEqual(asked, tc.want) {
			t.Errorf("%q: asked %q, want %q", tc.host, asked, tc.want)
		}
		if r.Err != tc.err || !reflect.DeepEqual(r.Addresses, tc.addrs) {
			t.Errorf("%q: got %+v, want %v %v", tc.host, r, tc.err, tc.addrs)
		}
	}

	// The multi-label name falls back to as-is after the suffixes.
	cfg.Ndots = 3
	h3 := dcNewHarness(t, cfg)
	before := len(srv.names(mdns.TypeA))
	r := h3.resolve("a.b.c", QueryA)
	want := []string{"a.b.c.first.example.", "a.b.c.corp.example.", "a.b.c."}
	if asked := srv.names(mdns.TypeA)[before:]; !reflect.DeepEqual(asked, want) {
		t.Errorf("ndots 3: asked %q, want %q", asked, want)
	}
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.12")) {
		t.Errorf("ndots 3: %+v", r)
	}
	// Negative TTL over several candidates: the smallest.
	if r := h3.resolve("gone.example", QueryA); r.Err != net.ErrNameNotResolved || r.NegativeTTL != 300*time.Second {
		t.Errorf("gone: %+v", r)
	}
}

func TestDNSClientSearchNames(t *testing.T) {
	loop := nettest.NewLoop(t)
	c := NewDNSClient(loop, DNSConfig{Search: []string{"", ".", ".a.example.", "b.example"}, Ndots: 1}, nil)
	if want := []string{"a.example", "b.example"}; !reflect.DeepEqual(c.Config().Search, want) {
		t.Errorf("Search = %q, want %q", c.Config().Search, want)
	}
	long := strings.Repeat("x", 63)
	host := long + "." + long + "." + long + "." + strings.Repeat("y", 50) // 242 bytes
	// host.a.example is 252 bytes, host.b.example too; a longer suffix
	// would pass 253 and is skipped.
	c = NewDNSClient(loop, DNSConfig{Search: []string{"a.example", "toolong.example"}, Ndots: 5}, nil)
	if got, want := c.searchNames(host), []string{host + ".a.example.", host + "."}; !reflect.DeepEqual(got, want) {
		t.Errorf("searchNames = %q, want %q", got, want)
	}
}

func TestDNSClientConnectionRefusedFallsBack(t *testing.T) {
	// A port nobody listens on answers with ICMP port unreachable, which
	// the connected UDP socket reports at once: no need to wait for the
	// timeout.
	pc, err := gonet.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().(*gonet.UDPAddr).AddrPort()
	pc.Close()
	good := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.3"}}))
	cfg := dcConfig(closed, good.addr)
	cfg.Timeout = 5 * time.Second
	h := dcNewHarness(t, cfg)
	start := time.Now()
	r := h.resolve("www.example", QueryA)
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.3")) {
		t.Fatalf("got %+v", r)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v: the refused attempt waited for its timeout", el)
	}
	h2 := dcNewHarness(t, dcConfig(closed))
	if r := h2.resolve("www.example", QueryA); r.Err != net.ErrConnectionRefused {
		t.Errorf("Err = %v, want ErrConnectionRefused", r.Err)
	}
}

func TestDNSClientInvalidNames(t *testing.T) {
	srv := dcStartServer(t, func(q dcQuery) *mdns.Msg { return dcReply(t, q, mdns.RcodeNameError) })
	h := dcNewHarness(t, dcConfig(srv.addr))
	long := strings.Repeat("a", 63)
	for _, host := range []string{
		"",
		".",
		"a..b",
		".a",
		strings.Repeat("a", 64) + ".example",
		strings.Join([]string{long, long, long, long}, "."), // 255 bytes
		"bad name.example",
		"exa\x00mple.com",
	} {
		if r := h.resolve(host); r.Err != net.ErrNameNotResolved {
			t.Errorf("%q: Err = %v, want ErrNameNotResolved", host, r.Err)
		}
	}
	if q := srv.asked(0); len(q) != 0 {
		t.Errorf("invalid names reached the server: %d queries", len(q))
	}
	// 253 bytes is fine.
	name := strings.Join([]string{long, long, long, strings.Repeat("b", 61)}, ".")
	h.resolve(name)
	if len(srv.asked(0)) == 0 {
		t.Errorf("a 253-byte name was not asked")
	}
}

func TestDNSClientQueryTypes(t *testing.T) {
	srv := dcStartServer(t, dcZone(t, map[string][]string{
		"www.example.": {"www.example. 60 IN A 192.0.2.1", "www.example. 60 IN AAAA 2001:db8::1"},
	}))
	h := dcNewHarness(t, dcConfig(srv.addr))
	if r := h.resolve("www.example", QueryUnspecified); r.Err != 0 || len(r.Addresses) != 2 {
		t.Errorf("QueryUnspecified: %+v, want both types", r)
	}
	if r := h.resolve("www.example", QueryType(99)); r.Err != net.ErrInvalidArgument {
		t.Errorf("unknown type: %+v, want ErrInvalidArgument", r)
	}
}

func TestDNSClientSingleLabelWithoutSearch(t *testing.T) {
	srv := dcStartServer(t, dcZone(t, map[string][]string{"intranet.": {"intranet. 60 IN A 192.0.2.1"}}))
	h := dcNewHarness(t, dcConfig(srv.addr))
	if r := h.resolve("intranet"); r.Err != net.ErrDNSSearchEmpty {
		t.Errorf("Err = %v, want ErrDNSSearchEmpty", r.Err)
	}
	if n := len(srv.asked(0)); n != 0 {
		t.Errorf("%d queries for a single-label name", n)
	}
	// With ndots 0 it is a name like any other.
	cfg := dcConfig(srv.addr)
	cfg.Ndots = 0
	h = dcNewHarness(t, cfg)
	if r := h.resolve("intranet", QueryA); r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.1")) {
		t.Errorf("ndots 0: %+v", r)
	}
}

func TestDNSClientNoNameservers(t *testing.T) {
	h := dcNewHarness(t, DNSConfig{})
	if r := h.resolve("www.example"); r.Err != net.ErrNameNotResolved {
		t.Errorf("Err = %v, want ErrNameNotResolved", r.Err)
	}
}

func TestDNSClientRotate(t *testing.T) {
	s1 := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.1"}}))
	s2 := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.1"}}))
	cfg := dcConfig(s1.addr, s2.addr)
	cfg.Rotate = true
	h := dcNewHarness(t, cfg)
	for i := 0; i < 4; i++ {
		h.resolve("www.example", QueryA)
	}
	if n1, n2 := len(s1.asked(0)), len(s2.asked(0)); n1 != 2 || n2 != 2 {
		t.Errorf("with rotate: %d and %d queries, want 2 and 2", n1, n2)
	}
	cfg.Rotate = false
	h = dcNewHarness(t, cfg)
	for i := 0; i < 2; i++ {
		h.resolve("www.example", QueryA)
	}
	if n1, n2 := len(s1.asked(0)), len(s2.asked(0)); n1 != 4 || n2 != 2 {
		t.Errorf("without rotate: %d and %d queries in all, want 4 and 2", n1, n2)
	}
}

func TestDNSClientCancel(t *testing.T) {
	silent, count := dcSilent(t)
	cfg := dcConfig(silent)
	cfg.Timeout = 5 * time.Second
	h := dcNewHarness(t, cfg)
	base := testserver.GoroutineBaseline()
	p := h.start("www.example")
	// Wait until both queries are out, so the goroutines are blocked in
	// their reads.
	deadline := time.Now().Add(nettest.HangGuard)
	for count() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	nettest.OnLoop(t, h.loop, func() {
		p.cancel()
		p.cancel() // idempotent
	})
	select {
	case r := <-p.c:
		t.Fatalf("callback after cancel: %+v", r)
	case <-time.After(nettest.Quiet):
	}
	// The attempts' goroutines are gone well before their 5 s timeout.
	if !testserver.WaitGoroutines(base, 2*time.Second) {
		testserver.CheckGoroutines(t, base)
	}
	end := h.rec.Find(netlog.EventHostResolverDNSTask, netlog.PhaseEnd, p.nl.Source().ID)
	if len(end) != 1 || end[0].Params["net_error"] != int(net.ErrAborted) {
		t.Errorf("HOST_RESOLVER_DNS_TASK end: %v", end)
	}
	for _, e := range h.rec.Find(netlog.EventDNSTransaction, netlog.PhaseEnd, 0) {
		if e.Params["net_error"] != int(net.ErrAborted) {
			t.Errorf("DNS_TRANSACTION end: %v", e.Params)
		}
	}
}

func TestDNSClientLoopShutdown(t *testing.T) {
	silent, count := dcSilent(t)
	cfg := dcConfig(silent)
	cfg.Timeout = 5 * time.Second
	l := net.NewLoop()
	log := netlog.New()
	var c *DNSClient
	got := make(chan DNSResult, 1)
	l.PostAndWait(func() {
		c = NewDNSClient(l, cfg, log)
		c.Resolve("www.example", []QueryType{QueryA}, netlog.WithSource{}, func(r DNSResult) { got <- r })
	})
	for count() < 1 {
		time.Sleep(5 * time.Millisecond)
	}
	l.Shutdown()
	select {
	case r := <-got:
		if r.Err != net.ErrAborted {
			t.Errorf("Err = %v, want ErrAborted", r.Err)
		}
	default:
		t.Errorf("no callback at shutdown")
	}
}

func TestDNSClientNetLog(t *testing.T) {
	srv := dcStartServer(t, dcZone(t, map[string][]string{"www.example.": {"www.example. 60 IN A 192.0.2.1"}}))
	h := dcNewHarness(t, dcConfig(srv.addr))
	p := h.start("www.example")
	p.wait()
	job := p.nl.Source().ID
	begin := h.rec.One(t, netlog.EventHostResolverDNSTask, netlog.PhaseBegin, job)
	if begin.Params["secure"] != false {
		t.Errorf("DNS task begin: %v", begin.Params)
	}
	needed := begin.Params["transactions_needed"].([]netlog.Params)
	if len(needed) != 2 || needed[0]["dns_query_type"] != "AAAA" || needed[1]["dns_query_type"] != "A" {
		t.Errorf("transactions_needed = %v", needed)
	}
	refs := h.rec.Find(netlog.EventDNSTransaction, netlog.PhaseNone, job)
	if len(refs) != 2 {
		t.Fatalf("DNS_TRANSACTION references from the job: %d", len(refs))
	}
	types := map[int]bool{}
	for _, ref := range refs {
		id := ref.Params["source_dependency"].(netlog.Params)["id"].(uint32)
		b := h.rec.One(t, netlog.EventDNSTransaction, netlog.PhaseBegin, id)
		if b.Source.Type != netlog.SourceDNSTransaction || b.Params["hostname"] != "www.example" {
			t.Errorf("DNS_TRANSACTION begin: %v %v", b.Source.Type, b.Params)
		}
		types[b.Params["query_type"].(int)] = true
		q := h.rec.One(t, netlog.EventDNSTransactionQuery, netlog.PhaseBegin, id)
		if q.Params["qname"] != "www.example" {
			t.Errorf("DNS_TRANSACTION_QUERY: %v", q.Params)
		}
		att := h.rec.One(t, netlog.EventDNSTransactionAttempt, netlog.PhaseNone, id)
		if att.Params["attempt_number"] != 0 || att.Params["server_index"] != 0 {
			t.Errorf("DNS_TRANSACTION_ATTEMPT: %v", att.Params)
		}
		sockID := att.Params["source_dependency"].(netlog.Params)["id"].(uint32)
		conn := h.rec.One(t, netlog.EventUDPConnect, netlog.PhaseBegin, sockID)
		if conn.Params["address"] != srv.addr.String() || conn.Source.Type != netlog.SourceUDPSocket {
			t.Errorf("UDP_CONNECT: %v", conn.Params)
		}
		h.rec.One(t, netlog.EventUDPConnect, netlog.PhaseEnd, sockID)
		if la := h.rec.One(t, netlog.EventUDPLocalAddress, netlog.PhaseNone, sockID); la.Params["address"] == nil {
			t.Errorf("UDP_LOCAL_ADDRESS: %v", la.Params)
		}
		h.rec.One(t, netlog.EventUDPBytesSent, netlog.PhaseNone, sockID)
		recv := h.rec.One(t, netlog.EventUDPBytesReceived, netlog.PhaseNone, sockID)
		if recv.Params["bytes"] == nil {
			t.Errorf("UDP_BYTES_RECEIVED without bytes in Everything mode")
		}
		h.rec.One(t, netlog.EventSocketAlive, netlog.PhaseEnd, sockID)
		resp := h.rec.One(t, netlog.EventDNSTransactionResponse, netlog.PhaseNone, id)
		if resp.Params["rcode"] != 0 || resp.Params["source_dependency"] == nil || resp.Params["response_buffer"] == nil {
			t.Errorf("DNS_TRANSACTION_RESPONSE: %v", resp.Params)
		}
		end := h.rec.One(t, netlog.EventDNSTransaction, netlog.PhaseEnd, id)
		if end.Params != nil {
			t.Errorf("DNS_TRANSACTION end: %v", end.Params)
		}
	}
	if !types[1] || !types[28] {
		t.Errorf("query types %v, want 1 and 28", types)
	}
	end := h.rec.One(t, netlog.EventHostResolverDNSTask, netlog.PhaseEnd, job)
	res := end.Params["results"].(netlog.Params)
	if eps := res["ip_endpoints"].([]netlog.Params); len(eps) != 1 || eps[0]["address"] != "192.0.2.1" {
		t.Errorf("DNS task results: %v", res)
	}
}
