package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/internal/interop"
)

// The host resolver flags, against a real dnsmasq serving a test zone on
// loopback.

func namedOrigin(t *testing.T) (port string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("host " + r.Host))
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u.Port()
}

func TestResolverThroughDnsmasq(t *testing.T) {
	port := namedOrigin(t)
	d := interop.StartDnsmasq(t, interop.DnsmasqOptions{
		Hosts: []interop.DnsmasqHost{{Name: "www.test.example", Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}}},
	})
	u := "http://www.test.example:" + port + "/"
	path := filepath.Join(t.TempDir(), "log.json")
	r := netfetch(t, "--dns-server", d.Addr(), "--netlog", path, u, u)
	expectCode(t, r, 0)
	if r.stdout != "host www.test.example:"+port+"host www.test.example:"+port {
		t.Fatalf("stdout %q", r.stdout)
	}
	// Two fetches, one lookup: the second is a cache hit (and the socket
	// is reused anyway), one query per address family.
	if n := d.QueryCount("www.test.example", "A"); n != 1 {
		t.Errorf("%d A queries, want 1", n)
	}
	nl := readNetLog(t, path)
	nl.require(t, "HOST_RESOLVER_MANAGER_REQUEST", "HOST_RESOLVER_MANAGER_CREATE_JOB", "HOST_RESOLVER_MANAGER_JOB",
		"HOST_RESOLVER_MANAGER_JOB_STARTED", "HOST_RESOLVER_DNS_TASK", "DNS_TRANSACTION", "DNS_TRANSACTION_ATTEMPT",
		"DNS_TRANSACTION_RESPONSE")
	info, _ := nl.raw["polledData"].(map[string]any)["hostResolverInfo"].(map[string]any)
	cache, _ := info["cache"].(map[string]any)
	if entries, _ := cache["entries"].([]any); len(entries) != 1 || !strings.Contains(toJSON(entries), "www.test.example") {
		t.Errorf("hostResolverInfo.cache %v", cache)
	}
	if cfg, _ := info["dns_config"].(map[string]any); !strings.Contains(toJSON(cfg), d.Addr()) {
		t.Errorf("hostResolverInfo.dns_config %v", cfg)
	}

	// An unknown name of the zone is NXDOMAIN.
	bad := "http://nothere.test.example:" + port + "/"
	r = netfetch(t, "--dns-server", d.Addr(), bad)
	expectCode(t, r, 1)
	if want := "netfetch: " + bad + ": net::ERR_NAME_NOT_RESOLVED (-105)\n"; r.stderr != want {
		t.Fatalf("stderr %q", r.stderr)
	}
}

func TestResolverRulesAndResolveNeedNoDNS(t *testing.T) {
	port := namedOrigin(t)
	// A DNS server that cannot answer: every name must come from the rules.
	dead := strings.TrimSuffix(strings.TrimPrefix(deadURL(t), "http://"), "/")
	for _, args := range [][]string{
		{"--resolve", "fixed.invalid:" + port + ":127.0.0.1"},
		{"--host-resolver-rules", "MAP *.invalid 127.0.0.1"},
	} {
		u := "http://fixed.invalid:" + port + "/"
		r := netfetch(t, append(append([]string{"--dns-server", dead}, args...), u)...)
		expectCode(t, r, 0)
		if r.stdout != "host fixed.invalid:"+port {
			t.Fatalf("%v: stdout %q", args, r.stdout)
		}
	}
	r := netfetch(t, "--host-resolver-rules", "MAP gone.invalid ^NOTFOUND", "http://gone.invalid:"+port+"/")
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_NAME_NOT_RESOLVED (-105)") {
		t.Fatalf("stderr %q", r.stderr)
	}
	for _, args := range [][]string{
		{"--resolve", "nonsense", "http://a/"},
		{"--host-resolver-rules", "FROB x", "http://a/"},
		{"--dns-server", "not-an-ip", "http://a/"},
		{"--system-dns", "--dns-server", "127.0.0.1", "http://a/"},
	} {
		expectCode(t, netfetch(t, args...), 2)
	}
}

func TestResolverSystemDNS(t *testing.T) {
	port := namedOrigin(t)
	r := netfetch(t, "--system-dns", "http://localhost:"+port+"/")
	expectCode(t, r, 0)
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
