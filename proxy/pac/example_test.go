package pac_test

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/netfetch/netfetch/proxy/pac"
)

// staticHost answers DNS from a map; a real Host wraps the host resolver.
type staticHost map[string][]netip.Addr

func (h staticHost) Resolve(_ context.Context, host string, _ bool) ([]netip.Addr, error) {
	if a, ok := h[host]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("%s: not found", host)
}

func (h staticHost) MyIPAddresses(ctx context.Context, ex bool) ([]netip.Addr, error) {
	return h.Resolve(ctx, "localhost", ex)
}

func Example() {
	const script = `
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example"))
    return "DIRECT";
  if (isInNet(host, "10.0.0.0", "255.0.0.0"))
    return "PROXY internal-proxy.corp.example:3128";
  alert("via the default proxy: " + host);
  return "PROXY proxy.corp.example:8080; DIRECT";
}`
	host := staticHost{"build.lab.example": {netip.MustParseAddr("10.20.0.7")}}
	s, err := pac.Compile(script, pac.Options{Host: host})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range []string{"intranet", "wiki.corp.example", "build.lab.example", "www.example.org"} {
		r, err := s.FindProxyForURL(context.Background(), "http://"+h+"/", h)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("%-18s %s\n", h, r.PAC)
		for _, e := range r.Events {
			fmt.Printf("  %s: %s\n", e.Kind, e.Message)
		}
	}
	// Output:
	// intranet           DIRECT
	// wiki.corp.example  DIRECT
	// build.lab.example  PROXY internal-proxy.corp.example:3128
	// www.example.org    PROXY proxy.corp.example:8080; DIRECT
	//   alert: via the default proxy: www.example.org
}
