package pac

import (
	"context"
	"testing"
)

// corporatePAC is a corporate-style PAC file of about 100 rules: plain
// names, internal domains and literal private addresses go direct, partner
// and SaaS hosts through dedicated proxies, the rest through a proxy pair.
// No rule resolves a name, so the benchmark measures the engine, not DNS.
const corporatePAC = `
var directDomains = [
  ".corp.example", ".intranet.example", ".lab.example", ".dev.example", ".test.example",
  ".hr.example", ".finance.example", ".build.example", ".ci.example", ".git.example",
  ".wiki.example", ".jira.example", ".vpn.example", ".mail.example", ".print.example",
  ".sso.example", ".ldap.example", ".backup.example", ".monitor.example", ".docs.example"
];
var bypassHosts = [
  "login.partner.example", "api.partner.example", "status.vendor.example",
  "update.av-vendor.example", "time.vendor.example", "crl.ca.example",
  "ocsp.ca.example", "license.tools.example", "telemetry.tools.example", "sync.tools.example"
];

function inList(host, list) {
  for (var i = 0; i < list.length; i++) {
    if (host == list[i]) return true;
  }
  return false;
}

function FindProxyForURL(url, host) {
  host = host.toLowerCase();

  // 1-5: local names and loopback
  if (isPlainHostName(host)) return "DIRECT";
  if (host == "localhost" || shExpMatch(host, "*.localhost")) return "DIRECT";
  if (shExpMatch(host, "*.local")) return "DIRECT";
  if (shExpMatch(host, "127.*")) return "DIRECT";
  if (shExpMatch(url, "ftp:*")) return "DIRECT";

  // 6-15: literal private addresses
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "DIRECT";
    if (isInNet(host, "172.16.0.0", "255.240.0.0")) return "DIRECT";
    if (isInNet(host, "192.168.0.0", "255.255.0.0")) return "DIRECT";
    if (isInNet(host, "169.254.0.0", "255.255.0.0")) return "DIRECT";
    if (isInNet(host, "100.64.0.0", "255.192.0.0")) return "DIRECT";
    if (isInNet(host, "198.18.0.0", "255.254.0.0")) return "PROXY lab-proxy.corp.example:3128";
    if (isInNet(host, "203.0.113.0", "255.255.255.0")) return "PROXY dmz-proxy.corp.example:3128";
    if (isInNet(host, "198.51.100.0", "255.255.255.0")) return "PROXY dmz-proxy.corp.example:3128";
    if (isInNet(host, "192.0.2.0", "255.255.255.0")) return "PROXY dmz-proxy.corp.example:3128";
    return "PROXY proxy1.corp.example:8080; DIRECT";
  }

  // 16-35: internal domains
  for (var i = 0; i < directDomains.length; i++) {
    if (dnsDomainIs(host, directDomains[i])) return "DIRECT";
  }

  // 36-45: hosts that must not be proxied
  if (inList(host, bypassHosts)) return "DIRECT";

  // 46-60: SaaS through the cloud proxy
  if (dnsDomainIs(host, ".office.example") || dnsDomainIs(host, ".office365.example")) return "PROXY cloud-proxy.corp.example:8080";
  if (dnsDomainIs(host, ".sharepoint.example") || dnsDomainIs(host, ".onedrive.example")) return "PROXY cloud-proxy.corp.example:8080";
  if (dnsDomainIs(host, ".salesforce.example") || dnsDomainIs(host, ".force.example")) return "PROXY cloud-proxy.corp.example:8080";
  if (dnsDomainIs(host, ".zoom.example") || dnsDomainIs(host, ".webex.example")) return "PROXY media-proxy.corp.example:8080";
  if (dnsDomainIs(host, ".slack.example") || dnsDomainIs(host, ".teams.example")) return "PROXY media-proxy.corp.example:8080";
  if (shExpMatch(host, "*.s3.*.amazonaws.example")) return "PROXY cloud-proxy.corp.example:8080";
  if (shExpMatch(host, "*.blob.core.windows.example")) return "PROXY cloud-proxy.corp.example:8080";
  if (shExpMatch(host, "storage.*.cloud.example")) return "PROXY cloud-proxy.corp.example:8080";

  // 61-75: partners over the partner proxy
  if (shExpMatch(host, "*.partner-a.example")) return "PROXY partner-proxy.corp.example:8081";
  if (shExpMatch(host, "*.partner-b.example")) return "PROXY partner-proxy.corp.example:8081";
  if (shExpMatch(host, "*.partner-c.example")) return "PROXY partner-proxy.corp.example:8081";
  if (shExpMatch(host, "portal?.supplier.example")) return "PROXY partner-proxy.corp.example:8081";
  if (shExpMatch(host, "edi.*.supplier.example")) return "PROXY partner-proxy.corp.example:8081";
  if (localHostOrDomainIs(host, "extranet.partner-d.example")) return "PROXY partner-proxy.corp.example:8081";
  if (dnsDomainLevels(host) > 6) return "PROXY strict-proxy.corp.example:8080";

  // 76-90: URL based rules
  if (shExpMatch(url, "https://*/api/v?/internal/*")) return "DIRECT";
  if (shExpMatch(url, "http://*/downloads/*.iso")) return "PROXY bulk-proxy.corp.example:8080";
  if (shExpMatch(url, "http://*/updates/*")) return "PROXY bulk-proxy.corp.example:8080";
  if (shExpMatch(url, "*://*.cdn.example/*")) return "PROXY cdn-proxy.corp.example:8080";
  if (shExpMatch(url, "*://video.*")) return "PROXY media-proxy.corp.example:8080";
  if (shExpMatch(url, "*.mp4") || shExpMatch(url, "*.webm")) return "PROXY media-proxy.corp.example:8080";
  if (url.substring(0, 5) == "ws://" || url.substring(0, 6) == "wss://") return "PROXY ws-proxy.corp.example:8080";

  // 91-100: blocked and default
  if (dnsDomainIs(host, ".ads.example") || dnsDomainIs(host, ".tracker.example")) return "PROXY 0.0.0.0:9";
  if (shExpMatch(host, "*malware*") || shExpMatch(host, "*phish*")) return "PROXY 0.0.0.0:9";
  return "PROXY proxy1.corp.example:8080; PROXY proxy2.corp.example:8080; DIRECT";
}
`

// benchURLs reach the script's rules at every depth, the fall-through
// default (all rules evaluated) most often, as on the open web.
var benchURLs = []struct{ url, host, want string }{
	{"http://intranet/", "intranet", "DIRECT"},
	{"http://10.1.2.3/", "10.1.2.3", "DIRECT"},
	{"https://build.ci.example/", "build.ci.example", "DIRECT"},
	{"https://www.office.example/", "www.office.example", "PROXY cloud-proxy.corp.example:8080"},
	{"https://x.partner-c.example/", "x.partner-c.example", "PROXY partner-proxy.corp.example:8081"},
	{"http://files.example.org/downloads/a.iso", "files.example.org", "PROXY bulk-proxy.corp.example:8080"},
	{"https://www.example.org/", "www.example.org", "PROXY proxy1.corp.example:8080; PROXY proxy2.corp.example:8080; DIRECT"},
	{"https://news.example.net/", "news.example.net", "PROXY proxy1.corp.example:8080; PROXY proxy2.corp.example:8080; DIRECT"},
}

func benchScript(b *testing.B) *Script {
	s := mustCompile(b, corporatePAC, Options{})
	for _, u := range benchURLs {
		r, err := s.FindProxyForURL(context.Background(), u.url, u.host)
		if err != nil || r.PAC != u.want {
			b.Fatalf("%s: %q, %v; want %q", u.url, r.PAC, err, u.want)
		}
	}
	return s
}

func BenchmarkFindProxyForURL(b *testing.B) {
	s := benchScript(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		u := benchURLs[i%len(benchURLs)]
		i++
		if _, err := s.FindProxyForURL(ctx, u.url, u.host); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func BenchmarkFindProxyForURLParallel(b *testing.B) {
	s := benchScript(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			u := benchURLs[i%len(benchURLs)]
			i++
			if _, err := s.FindProxyForURL(ctx, u.url, u.host); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}
