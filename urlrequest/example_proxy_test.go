package urlrequest_test

import (
	"context"
	"fmt"
	"log"
	"net/url"

	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/urlrequest"
)

func ExampleContext_ResolveProxy() {
	script := `function FindProxyForURL(url, host) {
  if (dnsDomainIs(host, ".corp.example")) return "PROXY proxy.corp.example:3128; DIRECT";
  return "DIRECT";
}`
	pacURL, err := proxy.ParsePACURL("data:," + url.PathEscape(script))
	if err != nil {
		log.Fatal(err)
	}
	c, err := urlrequest.NewBuilder().SetProxyConfig(proxy.Config{PACURL: pacURL}).Build()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{"https://wiki.corp.example/page", "https://example.com/"} {
		routes, err := c.ResolveProxy(context.Background(), u)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(routes.PACString())
	}
	// Output:
	// PROXY proxy.corp.example:3128; DIRECT
	// DIRECT
}

func ExampleBuilder_SetProxyConfig() {
	rules, err := proxy.ParseRules("http=a.example:3128,direct://;https=socks5://b.example")
	if err != nil {
		log.Fatal(err)
	}
	rules.Bypass, _ = proxy.ParseBypassRules("*.internal.example, 10.0.0.0/8")
	c, err := urlrequest.NewBuilder().SetProxyConfig(proxy.Config{Rules: rules}).Build()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{"http://example.com/", "https://example.com/", "http://db.internal.example/"} {
		routes, _ := c.ResolveProxy(context.Background(), u)
		fmt.Println(routes.PACString())
	}
	// Output:
	// PROXY a.example:3128; DIRECT
	// SOCKS5 b.example:1080
	// DIRECT
}
