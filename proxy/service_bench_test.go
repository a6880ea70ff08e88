package proxy

import (
	"net/url"
	"testing"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// BenchmarkResolveManualConfig is the cost a request pays for proxy
// resolution under manual rules: per-scheme lists, a bypass list of ten
// patterns, and the NetLog events (not captured).
func BenchmarkResolveManualConfig(b *testing.B) {
	rules, err := ParseRules("http=proxy.example:3128,direct://;https=secure.example:443;socks=socks.example")
	if err != nil {
		b.Fatal(err)
	}
	rules.Bypass, err = ParseBypassRules("<local>;*.corp.example;10.0.0.0/8;192.168.0.0/16;.internal;*.lan:8080;https://*.bank.example;[fe80::]/10;*.test;intranet.example")
	if err != nil {
		b.Fatal(err)
	}
	svc := NewService(ServiceParams{Config: Config{Rules: rules}})
	nl := netlog.NewSource(netlog.New(), netlog.SourceURLRequest)
	urls := []*url.URL{}
	for _, s := range []string{"http://www.example.com/a/b?c", "https://shop.example.org/", "http://wiki.corp.example/", "http://10.1.2.3/"} {
		u, _ := url.Parse(s)
		urls = append(urls, u)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		var info Info
		if _, rv := svc.ResolveProxy(urls[i%len(urls)], &info, nil, nl); rv != net.OK {
			b.Fatal(rv)
		}
	}
}
