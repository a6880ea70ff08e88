package dns

import (
	gonet "net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// slowDNS is an in-test DNS server that answers every A and AAAA query
// after delay, counting queries and the distinct names in flight.
type slowDNS struct {
	addr     netip.AddrPort
	delay    time.Duration
	mu       sync.Mutex
	inFlight map[string]int
	maxNames int
	queries  atomic.Int64
	hold     chan struct{} // when set, answers wait for it to close
}

func startSlowDNS(t *testing.T, delay time.Duration) *slowDNS {
	return startHeldDNS(t, delay, nil)
}

// startHeldDNS starts a server whose answers wait until hold is closed.
func startHeldDNS(t *testing.T, delay time.Duration, hold chan struct{}) *slowDNS {
	t.Helper()
	s := &slowDNS{delay: delay, inFlight: map[string]int{}, hold: hold}
	pc, err := gonet.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = pc.LocalAddr().(*gonet.UDPAddr).AddrPort()
	srv := &mdns.Server{PacketConn: pc, Handler: mdns.HandlerFunc(s.serve)}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return s
}

// most is the largest number of names that were in flight at once.
func (s *slowDNS) most() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxNames
}

func (s *slowDNS) serve(w mdns.ResponseWriter, req *mdns.Msg) {
	s.queries.Add(1)
	q := req.Question[0]
	s.mu.Lock()
	s.inFlight[q.Name]++
	s.maxNames = max(s.maxNames, len(s.inFlight))
	s.mu.Unlock()
	if s.hold != nil {
		<-s.hold
	}
	time.Sleep(s.delay)
	s.mu.Lock()
	if s.inFlight[q.Name]--; s.inFlight[q.Name] == 0 {
		delete(s.inFlight, q.Name)
	}
	s.mu.Unlock()
	m := new(mdns.Msg)
	m.SetReply(req)
	switch q.Qtype {
	case mdns.TypeA:
		rr, _ := mdns.NewRR(q.Name + " 300 IN A 192.0.2.1")
		m.Answer = append(m.Answer, rr)
	case mdns.TypeAAAA:
		rr, _ := mdns.NewRR(q.Name + " 300 IN AAAA 2001:db8::1")
		m.Answer = append(m.Answer, rr)
	}
	w.WriteMsg(m)
}

// fixedSorter keeps the order: tests must not depend on this machine's
// routes.
var fixedSorter = NewAddressSorter(func(dst netip.Addr) (netip.Addr, bool) { return dst, true })

func newTestManager(t *testing.T, l *net.Loop, log *netlog.NetLog, server netip.AddrPort, opts ManagerOptions) *HostResolverManager {
	t.Helper()
	if opts.Config == nil {
		opts.Config = &DNSConfig{Nameservers: []netip.AddrPort{server}, Ndots: 1, Timeout: 5 * time.Second, Attempts: 1}
	}
	if opts.Sorter == nil {
		opts.Sorter = fixedSorter
	}
	if opts.IPv6Reachable == nil {
		opts.IPv6Reachable = func() bool { return true }
	}
	var m *HostResolverManager
	nettest.OnLoop(t, l, func() { m = NewHostResolverManager(l, log, opts) })
	return m
}

type lookup struct {
	req ResolveHostRequest
	rv  int
	c   chan int
}

func startLookup(t *testing.T, l *net.Loop, m *HostResolverManager, host string, params ResolveParams) *lookup {
	t.Helper()
	lk := &lookup{c: make(chan int, 1)}
	nettest.OnLoop(t, l, func() {
		lk.req = m.CreateRequest(host, 80, params, netlog.WithSource{})
		lk.rv = lk.req.Start(func(rv int) { lk.c <- rv })
	})
	return lk
}

func (lk *lookup) wait(t *testing.T) int {
	t.Helper()
	if lk.rv != net.IOPending {
		return lk.rv
	}
	select {
	case rv := <-lk.c:
		return rv
	case <-time.After(nettest.HangGuard):
		t.Fatal("lookup did not finish")
		return 0
	}
}

func TestManagerLiteralsAndLocalhostNeverReachTheNetwork(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := startSlowDNS(t, 0)
	m := newTestManager(t, l, netlog.New(), srv.addr, ManagerOptions{})
	for _, h := range []string{"127.0.0.1", "::1", "[2001:db8::2]", "localhost", "a.localhost"} {
		lk := startLookup(t, l, m, h, ResolveParams{})
		if lk.rv != net.OK {
			t.Errorf("%s: rv %d, want OK synchronously", h, lk.rv)
		}
	}
	if n := srv.queries.Load(); n != 0 {
		t.Fatalf("%d queries reached the server", n)
	}
}

func TestManagerRunsAtMostEightJobs(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := startSlowDNS(t, 20*time.Millisecond)
	m := newTestManager(t, l, netlog.New(), srv.addr, ManagerOptions{})
	var lookups []*lookup
	for i := 0; i < 100; i++ {
		lookups = append(lookups, startLookup(t, l, m, "name"+strconv.Itoa(i)+".test", ResolveParams{}))
	}
	for i, lk := range lookups {
		if rv := lk.wait(t); rv != net.OK {
			t.Fatalf("lookup %d: %d", i, rv)
		}
	}
	if most := srv.most(); most > DefaultMaxConcurrentJobs || most < 2 {
		t.Fatalf("the server saw at most %d names in flight, want 2 to 8", most)
	}
}

func TestManagerMergesIdenticalLookups(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := startSlowDNS(t, 20*time.Millisecond)
	m := newTestManager(t, l, netlog.New(), srv.addr, ManagerOptions{})
	var lookups []*lookup
	for i := 0; i < 100; i++ {
		lookups = append(lookups, startLookup(t, l, m, "same.test", ResolveParams{}))
	}
	for _, lk := range lookups {
		if rv := lk.wait(t); rv != net.OK {
			t.Fatal(rv)
		}
		if got := lk.req.Addresses(); len(got) != 2 {
			t.Fatalf("addresses %v", got)
		}
	}
	if n := srv.queries.Load(); n != 2 {
		t.Fatalf("%d queries for 100 identical lookups, want one A and one AAAA", n)
	}
}

func TestManagerCachesAndAnswersSynchronously(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := startSlowDNS(t, 0)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	m := newTestManager(t, l, log, srv.addr, ManagerOptions{})
	if rv := startLookup(t, l, m, "cached.test", ResolveParams{}).wait(t); rv != net.OK {
		t.Fatal(rv)
	}
	var second *lookup
	nettest.OnLoop(t, l, func() {
		nl := netlog.NewSource(log, netlog.SourceURLRequest)
		second = &lookup{c: make(chan int, 1)}
		second.req = m.CreateRequest("CACHED.test.", 443, ResolveParams{}, nl)
		second.rv = second.req.Start(func(int) { t.Error("callback for a cache hit") })
	})
	if second.rv != net.OK || len(second.req.Addresses()) != 2 || second.req.Addresses()[0].Port() != 443 {
		t.Fatalf("cache hit: rv %d addrs %v", second.rv, second.req.Addresses())
	}
	if len(rec.Find(netlog.EventHostResolverManagerCacheHit, netlog.PhaseNone, 0)) != 1 {
		t.Fatal("no HOST_RESOLVER_MANAGER_CACHE_HIT")
	}
	if n := srv.queries.Load(); n != 2 {
		t.Fatalf("%d queries", n)
	}
	// Disabled cache: every lookup asks.
	m2 := newTestManager(t, l, log, srv.addr, ManagerOptions{DisableCache: true})
	startLookup(t, l, m2, "cached.test", ResolveParams{}).wait(t)
	if n := srv.queries.Load(); n != 4 {
		t.Fatalf("%d queries with the cache off", n)
	}
}

func TestManagerCancelLastRequestCancelsJob(t *testing.T) {
	l := nettest.NewLoop(t)
	hold := make(chan struct{})
	defer close(hold)
	srv := startHeldDNS(t, 0, hold)
	m := newTestManager(t, l, netlog.New(), srv.addr, ManagerOptions{MaxConcurrentJobs: 1})
	a := startLookup(t, l, m, "a.test", ResolveParams{})
	b := startLookup(t, l, m, "b.test", ResolveParams{})
	nettest.OnLoop(t, l, func() {
		if m.running != 1 || len(m.queue) != 1 {
			t.Errorf("running %d queued %d", m.running, len(m.queue))
		}
		a.req.Cancel()
		// The running job is gone and the waiting one starts.
		if len(m.jobs) != 1 || m.running != 1 || len(m.queue) != 0 {
			t.Errorf("after cancel: jobs %d running %d queued %d", len(m.jobs), m.running, len(m.queue))
		}
		b.req.Cancel()
		if len(m.jobs) != 0 || m.running != 0 {
			t.Errorf("after cancelling both: jobs %d running %d", len(m.jobs), m.running)
		}
	})
	nettest.ExpectNone(t, a.c, "cancelled a")
	nettest.ExpectNone(t, b.c, "cancelled b")
}

func TestManagerQueueFollowsPriority(t *testing.T) {
	l := nettest.NewLoop(t)
	hold := make(chan struct{})
	srv := startHeldDNS(t, 0, hold)
	m := newTestManager(t, l, netlog.New(), srv.addr, ManagerOptions{MaxConcurrentJobs: 1})
	startLookup(t, l, m, "first.test", ResolveParams{Priority: net.Lowest})
	low := startLookup(t, l, m, "low.test", ResolveParams{Priority: net.Lowest})
	mid := startLookup(t, l, m, "mid.test", ResolveParams{Priority: net.Medium})
	nettest.OnLoop(t, l, func() {
		if m.queue[0].key.host != "mid.test" {
			t.Errorf("queue head %s, want mid.test", m.queue[0].key.host)
		}
		low.req.SetPriority(net.Highest)
		if m.queue[0].key.host != "low.test" {
			t.Errorf("after SetPriority, queue head %s, want low.test", m.queue[0].key.host)
		}
	})
	close(hold)
	low.wait(t)
	mid.wait(t)
}

func TestManagerHostsFileAndRules(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := startSlowDNS(t, 0)
	rules, err := ParseHostResolverRules("MAP mapped.test 10.1.2.3, MAP gone.test ~NOTFOUND")
	if err != nil {
		t.Fatal(err)
	}
	if err := rules.AddCurlResolve("curl.test:80:192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	cfg := &DNSConfig{Nameservers: []netip.AddrPort{srv.addr}, Ndots: 1, Timeout: time.Second, Attempts: 1,
		Hosts: map[string][]netip.Addr{"hosted.test": {netip.MustParseAddr("10.9.9.9")}}}
	m := newTestManager(t, l, netlog.New(), srv.addr, ManagerOptions{Config: cfg, Rules: rules})
	for host, want := range map[string]string{"hosted.test": "10.9.9.9:80", "mapped.test": "10.1.2.3:80", "curl.test": "192.0.2.9:80"} {
		lk := startLookup(t, l, m, host, ResolveParams{})
		if lk.rv != net.OK || lk.req.Addresses().String() != want {
			t.Errorf("%s: rv %d addrs %v, want %s synchronously", host, lk.rv, lk.req.Addresses(), want)
		}
	}
	if lk := startLookup(t, l, m, "gone.test", ResolveParams{}); lk.rv != int(net.ErrNameNotResolved) {
		t.Errorf("~NOTFOUND: rv %d", lk.rv)
	}
	if n := srv.queries.Load(); n != 0 {
		t.Fatalf("%d queries", n)
	}
}

func BenchmarkManagerCacheHit(b *testing.B) {
	l := net.NewLoop()
	defer l.Shutdown()
	cfg := &DNSConfig{Hosts: map[string][]netip.Addr{}}
	var m *HostResolverManager
	l.PostAndWait(func() {
		m = NewHostResolverManager(l, netlog.New(), ManagerOptions{Config: cfg, Sorter: fixedSorter, SystemResolver: true})
		key := jobKey{host: "cached.test"}
		m.cache.Set(m.cacheKey(key), HostCacheEntry{Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.1")}, Source: "dns", TTL: time.Hour}, time.Now(), time.Hour)
	})
	b.ReportAllocs()
	misses := 0
	l.PostAndWait(func() {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			q := m.CreateRequest("cached.test", 80, ResolveParams{}, netlog.WithSource{})
			if q.Start(nil) != net.OK {
				misses++
			}
		}
	})
	if misses > 0 {
		b.Fatalf("%d cache misses", misses)
	}
}

func TestManagerAsksOnlyForAWithoutIPv6(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := startSlowDNS(t, 0)
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Default)
	m := newTestManager(t, l, log, srv.addr, ManagerOptions{IPv6Reachable: func() bool { return false }})
	var lk *lookup
	nettest.OnLoop(t, l, func() {
		lk = &lookup{c: make(chan int, 1)}
		lk.req = m.CreateRequest("v4only.test", 80, ResolveParams{}, netlog.NewSource(log, netlog.SourceURLRequest))
		lk.rv = lk.req.Start(func(rv int) { lk.c <- rv })
	})
	if rv := lk.wait(t); rv != net.OK {
		t.Fatal(rv)
	}
	if n := srv.queries.Load(); n != 1 {
		t.Fatalf("%d queries, want A only", n)
	}
	if got := lk.req.Addresses(); len(got) != 1 || !got[0].Addr().Is4() {
		t.Fatalf("addresses %v", got)
	}
	e := rec.One(t, netlog.EventHostResolverManagerIPV6ReachabilityCheck, netlog.PhaseNone, 0)
	if e.Params["ipv6_available"] != false {
		t.Fatalf("params %v", e.Params)
	}
}
