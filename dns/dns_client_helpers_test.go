package dns

import (
	gonet "net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Helpers shared by the DNS client's tests. Their names start with dc so
// they cannot clash with the helpers of the package's other tests.

// dcQuery is one query a test server received.
type dcQuery struct {
	tcp   bool
	name  string // lower-case, fully qualified
	qtype uint16
	msg   *mdns.Msg
}

// dcServer is a miekg/dns server on 127.0.0.1, UDP and TCP on one port,
// answering with a per-test script and recording every query.
type dcServer struct {
	addr netip.AddrPort

	mu      sync.Mutex
	script  func(q dcQuery) *mdns.Msg // nil answer: stay silent
	queries []dcQuery
	servers []*mdns.Server
}

// dcStartServer starts a server whose script answers each query; a nil
// reply means no answer at all. It is shut down when the test ends.
func dcStartServer(t testing.TB, script func(q dcQuery) *mdns.Msg) *dcServer {
	t.Helper()
	s := &dcServer{script: script}
	var pc gonet.PacketConn
	var ln gonet.Listener
	// The TCP port must equal the UDP one; retry when it is taken.
	for i := 0; ; i++ {
		var err error
		pc, err = gonet.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err = gonet.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if i == 10 {
			t.Fatal(err)
		}
	}
	s.addr = pc.LocalAddr().(*gonet.UDPAddr).AddrPort()
	h := mdns.HandlerFunc(s.serve)
	for _, srv := range []*mdns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		s.servers = append(s.servers, srv)
		go func() { _ = srv.ActivateAndServe() }()
		select {
		case <-started:
		case <-time.After(nettest.HangGuard):
			t.Fatal("dns test server did not start")
		}
	}
	t.Cleanup(s.stop)
	return s
}

// setScript replaces the script for the queries to come.
func (s *dcServer) setScript(script func(q dcQuery) *mdns.Msg) {
	s.mu.Lock()
	s.script = script
	s.mu.Unlock()
}

func (s *dcServer) stop() {
	for _, srv := range s.servers {
		_ = srv.Shutdown()
	}
}

func (s *dcServer) serve(w mdns.ResponseWriter, r *mdns.Msg) {
	if len(r.Question) != 1 {
		return
	}
	q := dcQuery{
		tcp:   w.LocalAddr().Network() == "tcp",
		name:  strings.ToLower(r.Question[0].Name),
		qtype: r.Question[0].Qtype,
		msg:   r,
	}
	s.mu.Lock()
	s.queries = append(s.queries, q)
	script := s.script
	s.mu.Unlock()
	if reply := script(q); reply != nil {
		_ = w.WriteMsg(reply)
	}
}

// asked returns the queries received so far, optionally only those of one
// type ("" for all) and transport.
func (s *dcServer) asked(qtype uint16) []dcQuery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dcQuery
	for _, q := range s.queries {
		if qtype == 0 || q.qtype == qtype {
			out = append(out, q)
		}
	}
	return out
}

// names lists the names of the queries of type qtype, in arrival order.
func (s *dcServer) names(qtype uint16) []string {
	var out []string
	for _, q := range s.asked(qtype) {
		out = append(out, q.name)
	}
	return out
}

// dcReply builds an answer to q with rcode and the records (in zone file
// syntax); records whose type is SOA go to the authority section.
func dcReply(t testing.TB, q dcQuery, rcode int, records ...string) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(q.msg)
	m.Rcode = rcode
	for _, s := range records {
		rr, err := mdns.NewRR(s)
		if err != nil {
			t.Errorf("bad record %q: %v", s, err)
			continue
		}
		if rr.Header().Rrtype == mdns.TypeSOA {
			m.Ns = append(m.Ns, rr)
		} else {
			m.Answer = append(m.Answer, rr)
		}
	}
	return m
}

// dcSOA is an SOA record for zone with the given TTL and MINIMUM.
func dcSOA(zone string, ttl, minimum int) string {
	return zone + " " + strconv.Itoa(ttl) + " IN SOA ns." + zone + " admin." + zone + " 1 3600 600 86400 " + strconv.Itoa(minimum)
}

// dcHarness drives a DNSClient on its own loop with a NetLog recorder.
type dcHarness struct {
	t      testing.TB
	loop   *net.Loop
	log    *netlog.NetLog
	rec    *nettest.Recorder
	client *DNSClient
}

// dcConfig returns a configuration for the given servers with a short
// timeout, one attempt per server, and no search list.
func dcConfig(servers ...netip.AddrPort) DNSConfig {
	return DNSConfig{Nameservers: servers, Ndots: 1, Timeout: 2 * time.Second, Attempts: 1}
}

func dcNewHarness(t testing.TB, cfg DNSConfig) *dcHarness {
	h := &dcHarness{t: t, loop: nettest.NewLoop(t), log: netlog.New()}
	h.rec = nettest.NewRecorder(h.log, netlog.Everything)
	nettest.OnLoop(t, h.loop, func() { h.client = NewDNSClient(h.loop, cfg, h.log) })
	return h
}

// dcPending is a Resolve in flight.
type dcPending struct {
	h      *dcHarness
	nl     netlog.WithSource
	cancel func()
	c      chan DNSResult
}

// start calls Resolve on the loop; it fails the test if the callback runs
// inside Resolve or more than once.
func (h *dcHarness) start(host string, qtypes ...QueryType) *dcPending {
	p := &dcPending{h: h, nl: netlog.NewSource(h.log, netlog.SourceHostResolverImplJob), c: make(chan DNSResult, 2)}
	nettest.OnLoop(h.t, h.loop, func() {
		inside := true
		p.cancel = h.client.Resolve(host, qtypes, p.nl, func(r DNSResult) {
			if inside {
				h.t.Errorf("%q: callback ran inside Resolve", host)
			}
			p.c <- r
		})
		inside = false
	})
	return p
}

func (p *dcPending) wait() DNSResult {
	p.h.t.Helper()
	select {
	case r := <-p.c:
		select {
		case r2 := <-p.c:
			p.h.t.Errorf("second callback: %+v", r2)
		case <-time.After(nettest.Quiet):
		}
		return r
	case <-time.After(nettest.HangGuard):
		p.h.t.Fatal("Resolve did not complete")
		return DNSResult{}
	}
}

// resolve runs one Resolve to completion.
func (h *dcHarness) resolve(host string, qtypes ...QueryType) DNSResult {
	h.t.Helper()
	return h.start(host, qtypes...).wait()
}

func dcAddrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}
