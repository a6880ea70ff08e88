package dns

import (
	"bufio"
	"net/netip"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

type harness struct {
	t   *testing.T
	l   *net.Loop
	log *netlog.NetLog
	col *nettest.Recorder
	r   *SystemResolver
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, l: nettest.NewLoop(t), log: netlog.New(), col: &nettest.Recorder{}}
	h.log.AddObserver(h.col, netlog.Default)
	nettest.OnLoop(t, h.l, func() { h.r = NewSystemResolver(h.l) })
	return h
}

// start creates and starts a request on the loop. Its callback's result
// arrives on the returned channel; it fails the test if it runs inside Start.
func (h *harness) start(host string, port uint16) (ResolveHostRequest, netlog.WithSource, int, chan int) {
	var q ResolveHostRequest
	var rv int
	c := make(chan int, 1)
	nl := netlog.NewSource(h.log, netlog.SourceURLRequest)
	nettest.OnLoop(h.t, h.l, func() {
		inStart := true
		q = h.r.CreateRequest(host, port, ResolveParams{Priority: net.Medium, Scheme: "http"}, nl)
		rv = q.Start(func(rv int) {
			if inStart {
				h.t.Errorf("%q: callback ran inside Start", host)
			}
			c <- rv
		})
		inStart = false
	})
	return q, nl, rv, c
}

func TestSystemResolverLiteralsAndLocalhost(t *testing.T) {
	h := newHarness(t)
	v4 := netip.MustParseAddr("127.0.0.1")
	v6 := netip.IPv6Loopback()
	localhost := net.AddressList{netip.AddrPortFrom(v6, 80), netip.AddrPortFrom(v4, 80)}
	for _, tc := range []struct {
		host string
		want net.AddressList
	}{
		{"127.0.0.1", net.AddressList{netip.AddrPortFrom(v4, 80)}},
		{"192.0.2.7", net.AddressList{netip.MustParseAddrPort("192.0.2.7:80")}},
		{"::1", net.AddressList{netip.AddrPortFrom(v6, 80)}},
		{"[::1]", net.AddressList{netip.AddrPortFrom(v6, 80)}},
		{"[2001:db8::1]", net.AddressList{netip.MustParseAddrPort("[2001:db8::1]:80")}},
		{"::ffff:192.0.2.1", net.AddressList{netip.MustParseAddrPort("192.0.2.1:80")}},
		{"localhost", localhost},
		{"localhost.", localhost},
		{"LocalHost", localhost},
		{"www.localhost", localhost},
	} {
		t.Run(tc.host, func(t *testing.T) {
			var q ResolveHostRequest
			var rv, before, after int
			c := make(chan int, 1)
			nl := netlog.NewSource(h.log, netlog.SourceURLRequest)
			nettest.OnLoop(t, h.l, func() {
				q = h.r.CreateRequest(tc.host, 80, ResolveParams{Scheme: "http"}, nl)
				before = runtime.NumGoroutine()
				rv = q.Start(func(rv int) { c <- rv })
				after = runtime.NumGoroutine()
			})
			if rv != net.OK {
				t.Fatalf("Start(%q) = %v, want a synchronous OK", tc.host, net.Error(rv))
			}
			if after > before {
				t.Errorf("Start(%q) started a goroutine (%d -> %d)", tc.host, before, after)
			}
			nettest.OnLoop(t, h.l, func() {
				if got := q.Addresses(); !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Addresses(%q) = %v, want %v", tc.host, got, tc.want)
				}
				if sq := q.(*systemRequest); sq.job.Source().IsValid() || sq.cb != nil {
					t.Errorf("Start(%q) created a job for a literal", tc.host)
				}
				q.Cancel() // after completion: a no-op
			})
			nettest.ExpectNone(t, c, "callback of a synchronous Start")
			end := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseEnd, nl.Source().ID)
			if _, ok := end.Params["net_error"]; ok {
				t.Errorf("HOST_RESOLVER_MANAGER_REQUEST end = %v", end.Params)
			}
		})
	}
}

func TestSystemResolverInvalidNames(t *testing.T) {
	h := newHarness(t)
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62)
	if len(long) != 254 {
		t.Fatalf("test name is %d bytes", len(long))
	}
	for _, host := range []string{
		"",
		".",
		"a..b",
		".example.com",
		strings.Repeat("x", 64) + ".com",
		long,
		"exa mple.com",
		"bad!name.com",
		"under/score",
		"caf\u00e9.example",
		"nul\x00.example",
	} {
		_, nl, rv, c := h.start(host, 443)
		if rv != int(net.ErrNameNotResolved) {
			t.Errorf("Start(%q) = %v, want a synchronous ERR_NAME_NOT_RESOLVED", host, net.Error(rv))
			continue
		}
		end := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseEnd, nl.Source().ID)
		if end.Params["net_error"] != int(net.ErrNameNotResolved) {
			t.Errorf("%q: HOST_RESOLVER_MANAGER_REQUEST end = %v", host, end.Params)
		}
		select {
		case v := <-c:
			t.Errorf("Start(%q): callback ran with %d after a synchronous result", host, v)
		default:
		}
	}
	// Boundaries that are valid.
	for _, host := range []string{
		strings.Repeat("a", 63) + ".com",
		long[:253],
		long[:253] + ".",
		"my_host-1.example.",
	} {
		if !validHostName(host) {
			t.Errorf("validHostName(%q) = false", host)
		}
	}
}

// hostsName returns a name from /etc/hosts that the resolver cannot answer
// without a lookup, and its addresses there.
func hostsName(t *testing.T) (string, []netip.Addr) {
	f, err := os.Open("/etc/hosts")
	if err != nil {
		return "", nil
	}
	defer f.Close()
	byName := map[string][]netip.Addr{}
	var order []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		for _, name := range fields[1:] {
			lower := strings.ToLower(name)
			if lower == "localhost" || strings.HasSuffix(lower, ".localhost") || !validHostName(name) {
				continue
			}
			if _, ok := byName[lower]; !ok {
				order = append(order, lower)
			}
			byName[lower] = append(byName[lower], ip.Unmap())
		}
	}
	if len(order) == 0 {
		return "", nil
	}
	return order[0], byName[order[0]]
}

func TestSystemResolverHostsFileLookup(t *testing.T) {
	name, ips := hostsName(t)
	if name == "" {
		t.Skip("no usable name in /etc/hosts besides localhost")
	}
	h := newHarness(t)
	q, nl, rv, c := h.start(name, 8080)
	if rv != net.IOPending {
		t.Fatalf("Start(%q) = %v, want IOPending (a real lookup)", name, net.Error(rv))
	}
	select {
	case rv = <-c:
	case <-time.After(nettest.HangGuard):
		t.Fatalf("lookup of %q never completed", name)
	}
	if rv != net.OK {
		t.Fatalf("lookup of %q = %v", name, net.Error(rv))
	}
	nettest.OnLoop(t, h.l, func() {
		got := q.Addresses()
		if len(got) == 0 {
			t.Fatalf("no addresses for %q", name)
		}
		for _, a := range got {
			if a.Port() != 8080 {
				t.Errorf("address %v lacks the port", a)
			}
		}
		found := false
		for _, a := range got {
			for _, ip := range ips {
				if a.Addr() == ip {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("Addresses(%q) = %v, none of /etc/hosts' %v", name, got, ips)
		}
	})
	nettest.ExpectNone(t, c, "a second callback")

	// NetLog: the request's span, the job it created and the system task.
	begin := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseBegin, nl.Source().ID)
	if begin.Params["host"] != "http://"+name+":8080" {
		t.Errorf("HOST_RESOLVER_MANAGER_REQUEST begin = %v", begin.Params)
	}
	end := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseEnd, nl.Source().ID)
	results, _ := end.Params["results"].(netlog.Params)
	if eps, _ := results["ip_endpoints"].([]netlog.Params); len(eps) == 0 {
		t.Errorf("HOST_RESOLVER_MANAGER_REQUEST end = %v", end.Params)
	}
	create := h.col.One(t, netlog.EventHostResolverManagerCreateJob, netlog.PhaseNone, nl.Source().ID)
	dep, _ := create.Params["source_dependency"].(netlog.Params)
	jobID, _ := dep["id"].(uint32)
	if jobID == 0 {
		t.Fatalf("CREATE_JOB params = %v", create.Params)
	}
	h.col.One(t, netlog.EventHostResolverManagerJob, netlog.PhaseBegin, jobID)
	h.col.One(t, netlog.EventHostResolverManagerJob, netlog.PhaseEnd, jobID)
	h.col.One(t, netlog.EventHostResolverSystemTask, netlog.PhaseBegin, jobID)
	h.col.One(t, netlog.EventHostResolverSystemTask, netlog.PhaseEnd, jobID)
}

func TestSystemResolverCancel(t *testing.T) {
	name, _ := hostsName(t)
	if name == "" {
		name = "example.com" // any name that needs a lookup will do
	}
	h := newHarness(t)
	c := make(chan int, 1)
	nl := netlog.NewSource(h.log, netlog.SourceURLRequest)
	nettest.OnLoop(t, h.l, func() {
		q := h.r.CreateRequest(name, 80, ResolveParams{}, nl)
		if rv := q.Start(func(rv int) { c <- rv }); rv != net.IOPending {
			t.Errorf("Start(%q) = %d, want IOPending", name, rv)
		}
		q.Cancel()
		q.Cancel()
	})
	nettest.ExpectNone(t, c, "callback after Cancel")
	// Let the lookup finish for sure, then check again.
	time.Sleep(100 * time.Millisecond)
	nettest.OnLoop(t, h.l, func() {})
	nettest.ExpectNone(t, c, "callback after Cancel")
	end := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseEnd, nl.Source().ID)
	if end.Params["net_error"] != int(net.ErrAborted) {
		t.Errorf("HOST_RESOLVER_MANAGER_REQUEST end after Cancel = %v", end.Params)
	}
}

func TestSystemResolverNetLogLiteral(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct{ host, want string }{
		{"127.0.0.1", "http://127.0.0.1:80"},
		{"::1", "http://[::1]:80"},
		{"[::1]", "http://[::1]:80"},
	} {
		_, nl, rv, _ := h.start(tc.host, 80)
		if rv != net.OK {
			t.Fatalf("Start(%q) = %d", tc.host, rv)
		}
		begin := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseBegin, nl.Source().ID)
		if begin.Params["host"] != tc.want {
			t.Errorf("host param for %q = %v, want %q", tc.host, begin.Params["host"], tc.want)
		}
		end := h.col.One(t, netlog.EventHostResolverManagerRequest, netlog.PhaseEnd, nl.Source().ID)
		results, _ := end.Params["results"].(netlog.Params)
		eps, _ := results["ip_endpoints"].([]netlog.Params)
		if len(eps) != 1 || eps[0]["port"] != 80 {
			t.Errorf("results for %q = %v", tc.host, end.Params)
		}
	}
}
