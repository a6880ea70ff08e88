package pac

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestSearchLocalAddresses(t *testing.T) {
	cases := []struct {
		name      string
		routes    map[string]string // probe destination → source address
		hostAddrs []string
		want      []string // ex=false
		wantEx    []string
		probedEx  bool // whether the ex=false search probed the IPv6 public route
	}{
		{
			name:   "public routes",
			routes: map[string]string{"8.8.8.8": "192.168.1.10", "2001:4860:4860::8888": "2001:db8::10"},
			want:   []string{"192.168.1.10"}, wantEx: []string{"192.168.1.10", "2001:db8::10"},
		},
		{
			name:   "public IPv6 only",
			routes: map[string]string{"2001:4860:4860::8888": "2001:db8::10", "10.0.0.0": "10.1.1.1"},
			want:   []string{"2001:db8::10"}, wantEx: []string{"2001:db8::10"},
		},
		{
			name:      "hostname after loopback routes",
			routes:    map[string]string{"8.8.8.8": "127.0.0.1", "10.0.0.0": "10.1.1.1"},
			hostAddrs: []string{"127.0.1.1", "fe80::1", "2001:db8::2", "192.168.1.2", "192.168.1.3"},
			want:      []string{"192.168.1.2"}, wantEx: []string{"2001:db8::2", "192.168.1.2", "192.168.1.3"},
		},
		{
			name:   "private routes",
			routes: map[string]string{"172.16.0.0": "172.16.5.5", "fc00::": "fd00::5"},
			want:   []string{"172.16.5.5"}, wantEx: []string{"172.16.5.5", "fd00::5"},
		},
		{
			name:      "link-local as last resort",
			routes:    map[string]string{"fc00::": "fe80::9"},
			hostAddrs: []string{"fe80::1", "169.254.3.3", "::1"},
			want:      []string{"169.254.3.3"}, wantEx: []string{"169.254.3.3"},
		},
		{
			name:   "mapped and duplicate addresses",
			routes: map[string]string{"8.8.8.8": "::ffff:192.168.7.7", "2001:4860:4860::8888": "192.168.7.7"},
			want:   []string{"192.168.7.7"}, wantEx: []string{"192.168.7.7"},
		},
		{name: "nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, ex := range []bool{false, true} {
				probe := func(dst netip.Addr) (netip.Addr, bool) {
					src, ok := c.routes[dst.String()]
					if !ok {
						return netip.Addr{}, false
					}
					return netip.MustParseAddr(src), true
				}
				got := searchLocalAddresses(ex, probe, func() []netip.Addr { return addrs(c.hostAddrs...) })
				want := c.want
				if ex {
					want = c.wantEx
				}
				if fmt.Sprint(got) != fmt.Sprint(addrs(want...)) {
					t.Errorf("ex=%v: got %v, want %v", ex, got, want)
				}
			}
		})
	}
}

// myIpAddress stops probing at the first IPv4 address.
func TestSearchLocalAddressesStopsEarly(t *testing.T) {
	var probed []string
	probe := func(dst netip.Addr) (netip.Addr, bool) {
		probed = append(probed, dst.String())
		return netip.MustParseAddr("192.168.1.10"), true
	}
	hostCalled := false
	searchLocalAddresses(false, probe, func() []netip.Addr { hostCalled = true; return nil })
	if fmt.Sprint(probed) != "[8.8.8.8]" || hostCalled {
		t.Errorf("probed %v, hostname looked up %v", probed, hostCalled)
	}
}

func TestLocalAddresses(t *testing.T) {
	lookup := func(context.Context, string) ([]netip.Addr, error) { return nil, errors.New("no") }
	for _, ex := range []bool{false, true} {
		got, err := LocalAddresses(t.Context(), ex, lookup)
		if err != nil {
			if !errors.Is(err, errNoLocalAddress) {
				t.Errorf("ex=%v: %v", ex, err)
			}
			continue
		}
		if len(got) == 0 || (!ex && len(got) != 1) {
			t.Errorf("ex=%v: %v", ex, got)
		}
		for _, a := range got {
			if a.IsLoopback() || !a.IsValid() || a.Zone() != "" {
				t.Errorf("ex=%v: returned %v", ex, a)
			}
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := LocalAddresses(ctx, false, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
