package pac

import (
	"context"
	"net"
	"net/netip"
	"os"
)

// LocalAddresses implements Chromium's myIpAddress algorithm
// (services/network/proxy_auto_config_library.cc), for a Host to answer
// MyIPAddresses with. It tries, in order, until one method finds an address:
//
//  1. the source address the OS would use towards 8.8.8.8 and
//     2001:4860:4860::8888 (a UDP "connect": no packet is sent);
//  2. the addresses of os.Hostname(), through lookup (skipped when nil);
//  3. the source address towards 10.0.0.0, 172.16.0.0, 192.168.0.0 and fc00::.
//
// Loopback addresses are ignored and link-local ones kept only as a last
// resort. With ex=false the search stops at the first IPv4 address and one
// address is returned, IPv4 favoured; with ex=true every candidate of the
// first successful method is returned (but a single link-local one, as in
// Chromium).
func LocalAddresses(ctx context.Context, ex bool, lookup func(ctx context.Context, host string) ([]netip.Addr, error)) ([]netip.Addr, error) {
	probe := func(dst netip.Addr) (netip.Addr, bool) { return routeSource(ctx, dst) }
	hostAddrs := func() []netip.Addr {
		if lookup == nil {
			return nil
		}
		name, err := os.Hostname()
		if err != nil {
			return nil
		}
		addrs, err := lookup(ctx, name)
		if err != nil {
			return nil
		}
		return addrs
	}
	addrs := searchLocalAddresses(ex, probe, hostAddrs)
	if len(addrs) == 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errNoLocalAddress
	}
	return addrs, nil
}

// routeSource returns the local address of a UDP socket connected to dst:
// connecting a datagram socket only asks the kernel for a route.
func routeSource(ctx context.Context, dst netip.Addr) (netip.Addr, bool) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", netip.AddrPortFrom(dst, 80).String())
	if err != nil {
		return netip.Addr{}, false
	}
	defer c.Close()
	ua, ok := c.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	return ua.AddrPort().Addr(), true
}

// Destinations probed by searchLocalAddresses.
var (
	publicProbes  = []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("2001:4860:4860::8888")}
	privateProbes = []netip.Addr{
		netip.MustParseAddr("10.0.0.0"), netip.MustParseAddr("172.16.0.0"),
		netip.MustParseAddr("192.168.0.0"), netip.MustParseAddr("fc00::"),
	}
)

// searchLocalAddresses is LocalAddresses with its two sources of addresses
// injected, so that tests can run the selection rules without the network.
func searchLocalAddresses(ex bool, probe func(netip.Addr) (netip.Addr, bool), hostAddrs func() []netip.Addr) []netip.Addr {
	s := localSearch{ex: ex, seen: make(map[netip.Addr]bool)}
	probeAll := func(dsts []netip.Addr) {
		for _, dst := range dsts {
			if s.done {
				return
			}
			if a, ok := probe(dst); ok {
				s.add(a)
			}
		}
		s.done = s.done || len(s.candidates) > 0
	}
	probeAll(publicProbes)
	if !s.done {
		for _, a := range hostAddrs() {
			s.add(a)
		}
		s.done = len(s.candidates) > 0
	}
	if !s.done {
		probeAll(privateProbes)
	}
	switch {
	case len(s.candidates) > 0 && ex:
		return s.candidates
	case len(s.candidates) > 0:
		return favourIPv4(s.candidates)
	default:
		return favourIPv4(s.linkLocal)
	}
}

// localSearch accumulates the candidates of searchLocalAddresses.
type localSearch struct {
	ex         bool
	done       bool // no later address can change the result
	seen       map[netip.Addr]bool
	candidates []netip.Addr
	linkLocal  []netip.Addr
}

func (s *localSearch) add(a netip.Addr) {
	a = a.Unmap().WithZone("")
	if s.done || !a.IsValid() || a.IsLoopback() || s.seen[a] {
		return
	}
	s.seen[a] = true
	if a.IsLinkLocalUnicast() {
		s.linkLocal = append(s.linkLocal, a)
		return
	}
	// myIpAddress favours IPv4 for legacy reasons (crbug.com/905126), so only
	// an IPv4 address ends its search early.
	if !s.ex && a.Is4() {
		s.done = true
	}
	s.candidates = append(s.candidates, a)
}

// favourIPv4 returns the first IPv4 address of addrs, else its first address.
func favourIPv4(addrs []netip.Addr) []netip.Addr {
	for _, a := range addrs {
		if a.Is4() {
			return []netip.Addr{a}
		}
	}
	if len(addrs) > 0 {
		return addrs[:1]
	}
	return nil
}
