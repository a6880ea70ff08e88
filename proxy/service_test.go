package proxy

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// mapResolver answers from a map, asynchronously like a real resolver.
type mapResolver struct {
	loop    *net.Loop
	answers map[string][]netip.Addr
	asked   []string
}

type mapRequest struct {
	r         *mapResolver
	host      string
	port      uint16
	addrs     net.AddressList
	cancelled bool
}

func (r *mapResolver) CreateRequest(host string, port uint16, _ dns.ResolveParams, _ netlog.WithSource) dns.ResolveHostRequest {
	return &mapRequest{r: r, host: host, port: port}
}

func (q *mapRequest) Start(cb net.CompletionCallback) int {
	q.r.asked = append(q.r.asked, q.host)
	q.r.loop.Post(func() {
		if q.cancelled {
			return
		}
		addrs, ok := q.r.answers[q.host]
		if !ok {
			cb(int(net.ErrNameNotResolved))
			return
		}
		for _, a := range addrs {
			q.addrs = append(q.addrs, netip.AddrPortFrom(a, q.port))
		}
		cb(net.OK)
	})
	return net.IOPending
}

func (q *mapRequest) Addresses() net.AddressList      { return q.addrs }
func (q *mapRequest) SetPriority(net.RequestPriority) {}
func (q *mapRequest) Cancel()                         { q.cancelled = true }

// fakeFetcher serves PAC scripts by URL; a fetch completes when release is
// called, or at once when auto is set.
type fakeFetcher struct {
	loop    *net.Loop
	scripts map[string]string
	auto    bool
	fetched []string
	held    []func()
}

func (f *fakeFetcher) Fetch(u *url.URL, _ netlog.WithSource, done func(string, int)) func() {
	f.fetched = append(f.fetched, u.String())
	canceled := false
	deliver := func() {
		if canceled {
			return
		}
		text, ok := f.scripts[u.String()]
		if !ok {
			done("", int(net.ErrConnectionRefused))
			return
		}
		done(text, net.OK)
	}
	if f.auto {
		f.loop.Post(deliver)
	} else {
		f.held = append(f.held, deliver)
	}
	return func() { canceled = true }
}

func (f *fakeFetcher) release() {
	held := f.held
	f.held = nil
	for _, d := range held {
		d()
	}
}

type serviceHarness struct {
	t       *testing.T
	loop    *net.Loop
	log     *netlog.NetLog
	rec     *nettest.Recorder
	fetcher *fakeFetcher
	dns     *mapResolver
	svc     *Service
	now     time.Time
}

func newServiceHarness(t *testing.T, cfg Config, tune func(*ServiceParams)) *serviceHarness {
	h := &serviceHarness{t: t, loop: nettest.NewLoop(t), log: netlog.New(), now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	h.rec = nettest.NewRecorder(h.log, netlog.Everything)
	h.fetcher = &fakeFetcher{loop: h.loop, scripts: map[string]string{}, auto: true}
	h.dns = &mapResolver{loop: h.loop, answers: map[string][]netip.Addr{}}
	p := ServiceParams{Loop: h.loop, NetLog: h.log, Config: cfg, Fetcher: h.fetcher, Resolver: h.dns, Now: func() time.Time { return h.now }}
	if tune != nil {
		tune(&p)
	}
	nettest.OnLoop(t, h.loop, func() { h.svc = NewService(p) })
	t.Cleanup(func() { h.loop.PostAndWait(h.svc.Close) })
	return h
}

type resolution struct {
	rv   int
	info Info
	nl   netlog.WithSource
}

// resolve runs one resolution to its end.
func (h *serviceHarness) resolve(raw string) resolution {
	h.t.Helper()
	done := make(chan int, 1)
	res := &resolution{}
	nettest.OnLoop(h.t, h.loop, func() {
		res.nl = netlog.NewSource(h.log, netlog.SourceURLRequest)
		u, err := url.Parse(raw)
		if err != nil {
			h.t.Fatal(err)
		}
		_, rv := h.svc.ResolveProxy(u, &res.info, func(rv int) { done <- rv }, res.nl)
		if rv != net.IOPending {
			done <- rv
		}
	})
	select {
	case res.rv = <-done:
	case <-time.After(nettest.HangGuard):
		h.t.Fatalf("resolving %s hung", raw)
	}
	return *res
}

func mustPACURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := ParsePACURL(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestServiceManualRulesAnswerAtOnce(t *testing.T) {
	rules, err := ParseRules("http=a:8080;https=b:8443,direct://")
	if err != nil {
		t.Fatal(err)
	}
	rules.Bypass, _ = ParseBypassRules("*.internal")
	h := newServiceHarness(t, Config{Rules: rules}, nil)
	for _, tc := range []struct{ url, want string }{
		{"http://example.com/", "PROXY a:8080"},
		{"https://example.com/", "PROXY b:8443; DIRECT"},
		{"http://x.internal/", "DIRECT"},
		{"http://localhost:99/", "DIRECT"},
	} {
		var info Info
		var rv int
		nettest.OnLoop(t, h.loop, func() {
			u, _ := url.Parse(tc.url)
			var req ResolveRequest
			req, rv = h.svc.ResolveProxy(u, &info, func(int) { t.Error("callback for a manual config") }, netlog.NewSource(h.log, netlog.SourceURLRequest))
			if req != nil {
				t.Error("a request handle for a synchronous answer")
			}
		})
		if rv != net.OK || info.String() != tc.want {
			t.Errorf("%s: rv %d, %q, want %q", tc.url, rv, info, tc.want)
		}
	}
	if len(h.fetcher.fetched) != 0 {
		t.Errorf("a manual config fetched %v", h.fetcher.fetched)
	}
}

const routingPAC = `
function FindProxyForURL(url, host) {
  alert("url=" + url + " host=" + host);
  if (dnsDomainIs(host, ".proxied.test")) return "PROXY proxy.test:3128; DIRECT";
  if (host == "socks.test") return "SOCKS5 127.0.0.2:1080";
  if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "HTTPS secure.test";
  return "DIRECT";
}`

func TestServicePACRoutesAndQueuesWhileFetching(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/proxy.pac")}, nil)
	h.fetcher.auto = false
	h.fetcher.scripts["http://pac.test/proxy.pac"] = routingPAC
	h.dns.answers["ten.test"] = []netip.Addr{netip.MustParseAddr("10.1.2.3")}

	// Two requests arrive while the script is being fetched: both wait,
	// and one fetch serves them.
	type pending struct {
		done chan int
		info Info
	}
	ps := []*pending{{done: make(chan int, 1)}, {done: make(chan int, 1)}}
	urls := []string{"http://www.proxied.test/a", "http://ten.test/"}
	nettest.OnLoop(t, h.loop, func() {
		for i, p := range ps {
			u, _ := url.Parse(urls[i])
			req, rv := h.svc.ResolveProxy(u, &p.info, func(rv int) { p.done <- rv }, netlog.NewSource(h.log, netlog.SourceURLRequest))
			if rv != net.IOPending || req.LoadState() != net.LoadStateDownloadingPACFile {
				t.Errorf("rv %d while fetching", rv)
			}
		}
	})
	nettest.OnLoop(t, h.loop, h.fetcher.release)
	want := []string{"PROXY proxy.test:3128; DIRECT", "HTTPS secure.test:443"}
	for i, p := range ps {
		select {
		case rv := <-p.done:
			if rv != net.OK || p.info.String() != want[i] {
				t.Errorf("%s: %d %q, want %q", urls[i], rv, p.info, want[i])
			}
		case <-time.After(nettest.HangGuard):
			t.Fatal("hung")
		}
	}
	if r := h.resolve("http://socks.test/"); r.info.String() != "SOCKS5 127.0.0.2:1080" {
		t.Errorf("socks.test: %q", r.info)
	}
	if len(h.fetcher.fetched) != 1 {
		t.Errorf("fetched %v, want one fetch", h.fetcher.fetched)
	}
	if len(h.rec.Find(netlog.EventProxyResolutionServiceWaitingForInitPAC, netlog.PhaseBegin, 0)) != 2 {
		t.Error("the queued requests did not log WAITING_FOR_INIT_PAC")
	}
	if len(h.rec.Find(netlog.EventPACFileDeciderFetchPACScript, netlog.PhaseEnd, 0)) != 1 {
		t.Error("no PAC_FILE_DECIDER_FETCH_PAC_SCRIPT")
	}
}

func TestServicePACSeesSanitisedURL(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	h.fetcher.scripts["http://pac.test/p"] = routingPAC
	for _, tc := range []struct{ url, want string }{
		{"https://user:pw@secure.test:8443/path?q=1#frag", "url=https://secure.test:8443/ host=secure.test"},
		{"http://user:pw@plain.test/path?q=1#frag", "url=http://plain.test/path?q=1 host=plain.test"},
		{"http://[2001:db8::1]:81/x", "url=http://[2001:db8::1]:81/x host=2001:db8::1"},
		{"http://bücher.test/", "host=xn--bcher-kva.test"},
	} {
		r := h.resolve(tc.url)
		var alerts []string
		for _, e := range h.rec.Find(netlog.EventPACJavascriptAlert, netlog.PhaseNone, r.nl.Source().ID) {
			alerts = append(alerts, e.Params["message"].(string))
		}
		if len(alerts) != 1 || !strings.Contains(alerts[0], tc.want) {
			t.Errorf("%s: alerts %q, want %q", tc.url, alerts, tc.want)
		}
	}
}

func TestServiceImplicitBypassBeforePAC(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	h.fetcher.scripts["http://pac.test/p"] = `function FindProxyForURL(u, h) { return "PROXY p.test:1"; }`
	for _, u := range []string{"http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/", "http://169.254.1.1/"} {
		if r := h.resolve(u); r.rv != net.OK || r.info.String() != "DIRECT" || !r.info.DidBypassProxy() {
			t.Errorf("%s: %d %q", u, r.rv, r.info)
		}
	}
	if len(h.fetcher.fetched) != 0 {
		t.Errorf("loopback URLs fetched the PAC file: %v", h.fetcher.fetched)
	}

	bypass, _ := ParseBypassRules("<-loopback>")
	h2 := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p"), Rules: Rules{Bypass: bypass}}, nil)
	h2.fetcher.scripts["http://pac.test/p"] = h.fetcher.scripts["http://pac.test/p"]
	if r := h2.resolve("http://127.0.0.1/"); r.info.String() != "PROXY p.test:1" {
		t.Errorf("with <-loopback>: %q", r.info)
	}
}

func TestServicePACFailureFallsBackUnlessMandatory(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		fetchFails   bool
	}{
		{name: "fetch fails", fetchFails: true},
		{name: "throws", script: "function FindProxyForURL(u, h) { throw new Error('boom'); }"},
		{name: "non-string", script: "function FindProxyForURL(u, h) { return 42; }"},
		{name: "no FindProxyForURL", script: "function FindProxyForUrl(u, h) { return 'DIRECT'; } // FindProxyForURL"},
		{name: "syntax error", script: "function FindProxyForURL(u, h) { return 'DIRECT' "},
	} {
		for _, mandatory := range []bool{false, true} {
			h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p"), PACMandatory: mandatory}, nil)
			if !tc.fetchFails {
				h.fetcher.scripts["http://pac.test/p"] = tc.script
			}
			r := h.resolve("http://example.com/")
			switch {
			case mandatory && r.rv != int(net.ErrMandatoryProxyConfigurationFailed):
				t.Errorf("%s, mandatory: rv %d", tc.name, r.rv)
			case !mandatory && (r.rv != net.OK || r.info.String() != "DIRECT"):
				t.Errorf("%s: rv %d %q, want DIRECT", tc.name, r.rv, r.info)
			}
		}
	}
}

func TestServiceScriptErrorIsLogged(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	h.fetcher.scripts["http://pac.test/p"] = "function FindProxyForURL(u, h) {\n  alert('about to fail');\n  return undefinedFunction();\n}"
	r := h.resolve("http://example.com/")
	if r.rv != net.OK || r.info.String() != "DIRECT" {
		t.Fatalf("rv %d %q", r.rv, r.info)
	}
	errs := h.rec.Find(netlog.EventPACJavascriptError, netlog.PhaseNone, r.nl.Source().ID)
	if len(errs) != 1 || errs[0].Params["line_number"] != 3 || !strings.Contains(errs[0].Params["message"].(string), "undefinedFunction") {
		t.Errorf("PAC_JAVASCRIPT_ERROR %v", errs)
	}
	if len(h.rec.Find(netlog.EventPACJavascriptAlert, netlog.PhaseNone, r.nl.Source().ID)) != 1 {
		t.Error("the alert before the error was not logged")
	}
	got := h.rec.Find(netlog.EventProxyResolutionServiceResolvedProxyList, netlog.PhaseNone, r.nl.Source().ID)
	if len(got) == 0 || got[0].Params["net_error"] != int(net.ErrPACScriptFailed) {
		t.Errorf("RESOLVED_PROXY_LIST %v, want net_error %d", got, net.ErrPACScriptFailed)
	}
}

func TestServiceEndlessLoopTimesOutWhileOthersFlow(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, func(p *ServiceParams) { p.PACTimeLimit = 300 * time.Millisecond })
	h.fetcher.scripts["http://pac.test/p"] = `function FindProxyForURL(u, h) {
  if (h == "loop.test") { while (true) {} }
  return "PROXY fast.test:80";
}`
	h.resolve("http://warm.test/")
	slow := make(chan resolution, 1)
	go func() { slow <- h.resolve("http://loop.test/") }()
	for range 20 {
		if r := h.resolve("http://other.test/"); r.info.String() != "PROXY fast.test:80" {
			t.Fatalf("other request: %q", r.info)
		}
	}
	r := <-slow
	if r.rv != net.OK || r.info.String() != "DIRECT" {
		t.Errorf("endless loop: rv %d %q, want DIRECT after the time limit", r.rv, r.info)
	}
	if len(h.rec.Find(netlog.EventPACJavascriptError, netlog.PhaseNone, r.nl.Source().ID)) != 1 {
		t.Error("the time limit was not logged as a PAC_JAVASCRIPT_ERROR")
	}
}

func TestServiceDNSHelpersUseTheResolver(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	h.fetcher.scripts["http://pac.test/p"] = `function FindProxyForURL(u, h) {
  var a = dnsResolve(h);
  return a ? "PROXY " + a + ":3128" : "DIRECT";
}`
	h.dns.answers["known.test"] = []netip.Addr{netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("192.0.2.7")}
	if r := h.resolve("http://known.test/"); r.info.String() != "PROXY 192.0.2.7:3128" {
		t.Errorf("known.test: %q", r.info)
	}
	if r := h.resolve("http://unknown.test/"); r.info.String() != "DIRECT" {
		t.Errorf("unknown.test: %q", r.info)
	}
}

func TestServiceAutoDetectFallsBackToPACURL(t *testing.T) {
	h := newServiceHarness(t, Config{AutoDetect: true, PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	h.fetcher.scripts[WPADURL] = `function FindProxyForURL(u, h) { return "PROXY wpad-proxy.test:80"; }`
	h.fetcher.scripts["http://pac.test/p"] = `function FindProxyForURL(u, h) { return "PROXY custom.test:80"; }`
	// "wpad" does not resolve: the quick check fails and the custom URL
	// is used without fetching wpad.dat.
	if r := h.resolve("http://example.com/"); r.info.String() != "PROXY custom.test:80" {
		t.Errorf("%q", r.info)
	}
	if len(h.fetcher.fetched) != 1 || h.fetcher.fetched[0] != "http://pac.test/p" {
		t.Errorf("fetched %v", h.fetcher.fetched)
	}
	if len(h.rec.Find(netlog.EventPACFileDeciderFallingBackToNextPACSource, netlog.PhaseNone, 0)) != 1 {
		t.Error("no FALLING_BACK_TO_NEXT_PAC_SOURCE")
	}

	h2 := newServiceHarness(t, Config{AutoDetect: true}, nil)
	h2.dns.answers["wpad"] = []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	h2.fetcher.scripts[WPADURL] = h.fetcher.scripts[WPADURL]
	if r := h2.resolve("http://example.com/"); r.info.String() != "PROXY wpad-proxy.test:80" {
		t.Errorf("WPAD: %q", r.info)
	}
}

func TestServiceRetriesFailedPACLater(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	if r := h.resolve("http://example.com/"); r.info.String() != "DIRECT" {
		t.Fatalf("%q", r.info)
	}
	h.fetcher.scripts["http://pac.test/p"] = `function FindProxyForURL(u, h) { return "PROXY back.test:80"; }`
	if r := h.resolve("http://example.com/"); r.info.String() != "DIRECT" || len(h.fetcher.fetched) != 1 {
		t.Fatalf("refetched before the retry delay: %q %v", r.info, h.fetcher.fetched)
	}
	nettest.OnLoop(t, h.loop, func() { h.now = h.now.Add(9 * time.Second) })
	if r := h.resolve("http://example.com/"); r.info.String() != "PROXY back.test:80" {
		t.Errorf("after the retry delay: %q", r.info)
	}
}

func TestServiceBadProxiesGoLastUntilTheyExpire(t *testing.T) {
	rules, _ := ParseRules("a.test:1,b.test:2,direct://")
	h := newServiceHarness(t, Config{Rules: rules}, nil)
	r := h.resolve("http://example.com/")
	nettest.OnLoop(t, h.loop, func() {
		if !r.info.Fallback(int(net.ErrProxyConnectionFailed), h.now, r.nl) {
			t.Error("nothing left after the first proxy")
		}
		h.svc.ReportSuccess(&r.info)
	})
	if len(h.rec.Find(netlog.EventProxyListFallback, netlog.PhaseNone, r.nl.Source().ID)) != 1 {
		t.Error("no PROXY_LIST_FALLBACK")
	}
	if len(h.rec.Find(netlog.EventBadProxyListReported, netlog.PhaseNone, 0)) != 1 {
		t.Error("no BAD_PROXY_LIST_REPORTED")
	}
	r2 := h.resolve("http://example.com/")
	if got := r2.info.String(); got != "PROXY b.test:2; DIRECT; PROXY a.test:1" {
		t.Errorf("after a.test failed: %q", got)
	}
	if len(h.rec.Find(netlog.EventProxyResolutionServiceDeprioritizedBadProxies, netlog.PhaseNone, r2.nl.Source().ID)) != 1 {
		t.Error("no DEPRIORITIZED_BAD_PROXIES")
	}
	var polled netlog.Params
	nettest.OnLoop(t, h.loop, func() { polled = h.svc.PolledData() })
	bad := polled["badProxies"].([]netlog.Params)
	if len(bad) != 1 || bad[0]["proxy_chain_uri"] != "[http://a.test:1]" {
		t.Errorf("badProxies %v", bad)
	}
	nettest.OnLoop(t, h.loop, func() { h.now = h.now.Add(RetryDelay) })
	if got := h.resolve("http://example.com/").info.String(); got != "PROXY a.test:1; PROXY b.test:2; DIRECT" {
		t.Errorf("after the retry delay: %q", got)
	}
}

func TestServiceCancelAndClose(t *testing.T) {
	h := newServiceHarness(t, Config{PACURL: mustPACURL(t, "http://pac.test/p")}, nil)
	h.fetcher.auto = false
	h.fetcher.scripts["http://pac.test/p"] = routingPAC
	cancelled := make(chan int, 1)
	closed := make(chan int, 1)
	var infoA, infoB Info
	nettest.OnLoop(t, h.loop, func() {
		u, _ := url.Parse("http://example.com/")
		req, _ := h.svc.ResolveProxy(u, &infoA, func(rv int) { cancelled <- rv }, netlog.NewSource(h.log, netlog.SourceURLRequest))
		req.Cancel()
		h.svc.ResolveProxy(u, &infoB, func(rv int) { closed <- rv }, netlog.NewSource(h.log, netlog.SourceURLRequest))
	})
	nettest.OnLoop(t, h.loop, h.svc.Close)
	if rv := <-closed; rv != int(net.ErrAborted) {
		t.Errorf("close: %d", rv)
	}
	nettest.ExpectNone(t, cancelled, "cancelled resolution")
}
