package dns

import (
	gonet "net"
	"net/netip"
	"slices"
	"time"

	"github.com/netfetch/netfetch/net"
)

// This file is Chromium's AddressSorterPosix (net/dns/address_sorter_posix.cc):
// RFC 6724 destination address selection for the addresses the built-in DNS
// client returns. getaddrinfo sorts its own answers; a DNS answer arrives in
// the server's order, which knows nothing of this host's routes, so without
// sorting a dual-stack name could put an unroutable IPv6 address first.
//
// It also holds the IPv6 reachability probe of HostResolverManager
// (IsGloballyReachable), because both ask the kernel the same question: which
// source address would you use to reach this destination?

// addressScope is an RFC 4291 / RFC 6724 §3.1 scope. The values are the
// multicast scope nibbles, so an IPv6 multicast address's scope is read
// straight from its second byte, and "smaller scope" is a numeric comparison.
type addressScope int

const (
	scopeUndefined addressScope = 0
	scopeNodeLocal addressScope = 1
	scopeLinkLocal addressScope = 2
	scopeSiteLocal addressScope = 5
	scopeOrgLocal  addressScope = 8
	scopeGlobal    addressScope = 14
)

// policyEntry is one row of a policy table: addresses under prefix get value.
// IPv4 addresses are looked up as IPv4-mapped IPv6 (::ffff:a.b.c.d), as RFC
// 6724 §2.1 and Chromium do, so one IPv6 table covers both families.
type policyEntry struct {
	prefix netip.Prefix
	value  int
}

// policyTable is kept sorted by decreasing prefix length, so the first match is
// the longest one and ::/0 is the fallback that always matches.
type policyTable []policyEntry

func newPolicyTable(rows ...policyEntry) policyTable {
	t := policyTable(slices.Clone(rows))
	slices.SortStableFunc(t, func(a, b policyEntry) int { return b.prefix.Bits() - a.prefix.Bits() })
	return t
}

// lookup returns the value for addr's longest matching prefix.
func (t policyTable) lookup(addr netip.Addr) int {
	// netip.Prefix.Contains refuses zoned addresses (fe80::1%eth0), and an
	// IPv4 address never matches an IPv6 prefix: strip the zone, map IPv4.
	a := addr.WithZone("")
	if a.Is4() {
		a = netip.AddrFrom16(a.As16())
	}
	for _, e := range t {
		if e.prefix.Contains(a) {
			return e.value
		}
	}
	// Unreachable while the table holds ::/0; the last row is the least
	// specific, so it is the best default (Chromium does the same).
	return t[len(t)-1].value
}

func row(prefix string, value int) policyEntry {
	return policyEntry{netip.MustParsePrefix(prefix), value}
}

// The default policy table of RFC 3484 §2.1 as Chromium keeps it (precedence
// and label are separate tables there so that /etc/gai.conf could override
// either). It is the 3484 table, not RFC 6724's: Chromium has not moved to the
// newer one, whose main change is ranking IPv4 above ULAs and 6to4.
var (
	precedenceTable = newPolicyTable(
		row("::1/128", 50),       // loopback
		row("::/0", 40),          // any
		row("::ffff:0:0/96", 35), // IPv4-mapped (and so every IPv4 address)
		row("2002::/16", 30),     // 6to4
		row("2001::/32", 5),      // Teredo
		row("fc00::/7", 3),       // unique local
		row("::/96", 1),          // IPv4-compatible (deprecated)
		row("fec0::/10", 1),      // site-local (deprecated)
		row("3ffe::/16", 1),      // 6bone (returned)
	)
	labelTable = newPolicyTable(
		row("::1/128", 0),
		row("::/0", 1),
		row("::ffff:0:0/96", 4),
		row("2002::/16", 2),
		row("2001::/32", 5),
		row("fc00::/7", 13),
		row("::/96", 3),
		row("fec0::/10", 11),
		row("3ffe::/16", 12),
	)
	// ipv4ScopeTable gives IPv4 addresses a scope (RFC 6724 §3.2): loopback
	// and autoconfiguration (169.254/16) addresses are link-local, the rest
	// global. Private ranges are global, as the RFC says.
	ipv4ScopeTable = newPolicyTable(
		row("::ffff:127.0.0.0/104", int(scopeLinkLocal)),
		row("::ffff:169.254.0.0/112", int(scopeLinkLocal)),
		row("::/0", int(scopeGlobal)),
	)
)

// scopeOf returns addr's scope. An IPv4-mapped IPv6 address is IPv6 here
// (global), as it is in Chromium, which only consults the IPv4 table for
// 4-byte addresses.
func scopeOf(addr netip.Addr) addressScope {
	if addr.Is4() {
		return addressScope(ipv4ScopeTable.lookup(addr))
	}
	b := addr.As16()
	switch {
	case b[0] == 0xff: // multicast: the scope is written in the address
		return addressScope(b[1] & 0x0f)
	case addr.WithZone("") == netip.IPv6Loopback(), b[0] == 0xfe && b[1]&0xc0 == 0x80:
		return scopeLinkLocal // RFC 6724 §3.1: loopback is link-local
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0:
		return scopeSiteLocal
	default:
		return scopeGlobal
	}
}

// SourceAddressInfo is what the operating system knows about one of this
// host's own addresses beyond the address itself. Rules 3, 4, 7 and 9 need it;
// when it is unknown they compare equal and are skipped, as in Chromium for a
// source it has not seen in its address map.
type SourceAddressInfo struct {
	// PrefixLen is the length of the on-link prefix the address belongs to
	// (e.g. 64 for a SLAAC address). Rule 9 compares at most this many bits:
	// bits past the subnet say nothing about topology (RFC 6724 §2.2).
	// Zero turns rule 9 off for destinations using this source.
	PrefixLen int
	// Deprecated is set for an address past its preferred lifetime (RFC 4862).
	Deprecated bool
	// Home is set for a Mobile IPv6 home address (RFC 6275).
	Home bool
	// Native is set when the address is not reached through an
	// encapsulating transition mechanism. Chromium never learns it on Linux.
	Native bool
}

// AddressSorter orders the addresses a name resolved to by RFC 6724 §6
// destination address selection, as Chromium's AddressSorterPosix does. It is
// owned by a loop and used only from it, like the rest of the stack.
type AddressSorter struct {
	sourceFor func(dst netip.Addr) (src netip.Addr, ok bool)

	// SourceInfo, if set, describes this host's own addresses (prefix length,
	// deprecated, home, native). A nil function, or a source it does not
	// know, leaves rules 3, 4, 7 and 9 without information: they then keep
	// the order, which is what Chromium does for an unknown source.
	SourceInfo func(src netip.Addr) (SourceAddressInfo, bool)

	// KeepUnusable puts destinations with no source address last instead of
	// dropping them. RFC 6724 rule 1 only says "avoid"; Chromium drops them
	// (the kernel just said it has no route), and that is the default.
	KeepUnusable bool

	// systemInfo records that SourceInfo is the interface snapshot taken by
	// NewAddressSorter(nil), so OnIPAddressChanged knows to retake it.
	systemInfo bool
}

// NewAddressSorter returns a sorter that asks sourceFor which source address
// the kernel would use to reach a destination (ok=false: no route, so the
// destination is unusable). A nil sourceFor selects the system:
// SystemSourceAddress, and SourceInfo from a snapshot of the interfaces'
// prefix lengths (SystemSourceInfo), as Chromium loads its address map.
func NewAddressSorter(sourceFor func(dst netip.Addr) (src netip.Addr, ok bool)) *AddressSorter {
	s := &AddressSorter{sourceFor: sourceFor}
	if sourceFor == nil {
		s.sourceFor = SystemSourceAddress
		s.systemInfo = true
		s.SourceInfo, _ = SystemSourceInfo()
	}
	return s
}

// OnIPAddressChanged retakes the interface snapshot of a system sorter, as
// Chromium's sorter rebuilds its source map on an IP address change. It does
// nothing for a sorter built with a custom sourceFor.
func (s *AddressSorter) OnIPAddressChanged() {
	if s.systemInfo {
		s.SourceInfo, _ = SystemSourceInfo()
	}
}

// destination is one address being sorted with what the rules compare.
type destination struct {
	addr       netip.Addr
	usable     bool
	scope      addressScope
	precedence int
	label      int

	srcScope addressScope
	srcLabel int
	srcInfo  SourceAddressInfo
	// commonPrefix is CommonPrefixLen(src, dst) capped at the source's
	// prefix length; zero when they are of different families.
	commonPrefix int
}

// Sort returns addrs in the order a connection should try them. Addresses the
// kernel has no route for are dropped (or put last with KeepUnusable); the
// rest are ordered by RFC 6724 rules 2 to 9, ties keeping their input order
// (rule 10). addrs is not modified. An empty result with a nil error means
// every destination was unusable: the caller's name did not resolve to
// anything it can reach (Chromium answers ERR_NAME_NOT_RESOLVED then).
//
// The error is net.ErrDNSSortError, and the result nil, only on an internal
// failure that makes the order meaningless: an invalid (zero) netip.Addr in
// addrs, or a source lookup that reported success without an address.
//
// Sort calls sourceFor once per address; with SystemSourceAddress that is a
// few system calls each, no packet and no blocking, so it is fit for the loop.
func (s *AddressSorter) Sort(addrs []netip.Addr) ([]netip.Addr, error) {
	dsts := make([]destination, 0, len(addrs))
	for _, a := range addrs {
		if !a.IsValid() {
			return nil, net.ErrDNSSortError
		}
		d := destination{
			addr:       a,
			scope:      scopeOf(a),
			precedence: precedenceTable.lookup(a),
			label:      labelTable.lookup(a),
		}
		src, ok := s.sourceFor(a)
		if ok {
			if !src.IsValid() {
				return nil, net.ErrDNSSortError
			}
			d.usable = true
			d.srcScope = scopeOf(src)
			d.srcLabel = labelTable.lookup(src)
			if s.SourceInfo != nil {
				if info, known := s.SourceInfo(src); known {
					d.srcInfo = info
				}
			}
			// An IPv4 source shares no meaningful prefix with an IPv6
			// destination: commonPrefixLen is zero across families.
			d.commonPrefix = min(commonPrefixLen(a, src), d.srcInfo.PrefixLen)
		} else if !s.KeepUnusable {
			continue // rule 1, Chromium's way: the kernel has no route
		}
		dsts = append(dsts, d)
	}
	// A stable sort is rule 10: equal destinations keep the resolver's order.
	slices.SortStableFunc(dsts, compareDestinations)
	out := make([]netip.Addr, len(dsts))
	for i, d := range dsts {
		out[i] = d.addr
	}
	return out, nil
}

// compareDestinations orders a before b (negative) when RFC 6724 §6 prefers
// it, rule by rule, the first rule that tells them apart deciding.
func compareDestinations(a, b destination) int {
	// prefer returns -1 when the condition favours a, 1 when it favours b.
	prefer := func(aWins bool) int {
		if aWins {
			return -1
		}
		return 1
	}
	// Rule 1: avoid unusable destinations (only present with KeepUnusable).
	if a.usable != b.usable {
		return prefer(a.usable)
	}
	if !a.usable {
		return 0 // no source to compare by: keep their order
	}
	// Rule 2: prefer matching scope.
	if am, bm := a.scope == a.srcScope, b.scope == b.srcScope; am != bm {
		return prefer(am)
	}
	// Rule 3: avoid deprecated source addresses.
	if a.srcInfo.Deprecated != b.srcInfo.Deprecated {
		return prefer(!a.srcInfo.Deprecated)
	}
	// Rule 4: prefer home addresses.
	if a.srcInfo.Home != b.srcInfo.Home {
		return prefer(a.srcInfo.Home)
	}
	// Rule 5: prefer matching label (the source is of the same kind, e.g.
	// an IPv4 source for an IPv4 destination, not a 6to4 one for Teredo).
	if am, bm := a.label == a.srcLabel, b.label == b.srcLabel; am != bm {
		return prefer(am)
	}
	// Rule 6: prefer higher precedence.
	if a.precedence != b.precedence {
		return prefer(a.precedence > b.precedence)
	}
	// Rule 7: prefer native transport.
	if a.srcInfo.Native != b.srcInfo.Native {
		return prefer(a.srcInfo.Native)
	}
	// Rule 8: prefer smaller scope.
	if a.scope != b.scope {
		return prefer(a.scope < b.scope)
	}
	// Rule 9: longest matching prefix, only between two addresses of one
	// family, as Chromium and glibc restrict it (RFC 6724 says "when DA and
	// DB belong to the same address family"). An IPv4-mapped IPv6 address is
	// of the IPv6 family here, as it is 16 bytes long in Chromium.
	if a.addr.Is4() == b.addr.Is4() && a.commonPrefix != b.commonPrefix {
		return prefer(a.commonPrefix > b.commonPrefix)
	}
	// Rule 10: otherwise leave the order unchanged (the sort is stable).
	return 0
}

// commonPrefixLen counts the leading bits a and b share; zero when one is 4
// bytes long and the other 16 (IPv4-mapped counts as 16). Zones are ignored.
func commonPrefixLen(a, b netip.Addr) int {
	x, y := a.AsSlice(), b.AsSlice()
	if len(x) != len(y) {
		return 0
	}
	n := 0
	for i := range x {
		d := x[i] ^ y[i]
		if d == 0 {
			n += 8
			continue
		}
		for d&0x80 == 0 {
			n++
			d <<= 1
		}
		break
	}
	return n
}

// SystemSourceAddress returns the source address the kernel would pick to
// reach dst, or ok=false when it has no route. It connects a UDP socket to
// dst port 53 and reads the socket's local address: a UDP connect only
// consults the routing table and sends nothing, which is the trick Chromium's
// sorter and its IPv6 probe use. Call it only for addresses the caller is
// about to connect to anyway.
func SystemSourceAddress(dst netip.Addr) (netip.Addr, bool) {
	if !dst.IsValid() {
		return netip.Addr{}, false
	}
	conn, err := gonet.DialUDP("udp", nil, gonet.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, 53)))
	if err != nil {
		return netip.Addr{}, false
	}
	defer conn.Close()
	local, ok := conn.LocalAddr().(*gonet.UDPAddr)
	if !ok {
		return netip.Addr{}, false
	}
	src, ok := netip.AddrFromSlice(local.IP)
	if !ok || src.IsUnspecified() {
		return netip.Addr{}, false
	}
	// Go may hand back an IPv4 source in 16-byte form. Give the source the
	// destination's form, so that rule 9 compares like with like: a
	// 4-byte IPv4 source for an IPv4 destination, the mapped form for an
	// IPv4-mapped destination.
	src = src.Unmap()
	if dst.Is4In6() && src.Is4() {
		src = netip.AddrFrom16(src.As16())
	}
	return src.WithZone(local.Zone), true
}

// SystemSourceInfo snapshots this host's interface addresses with their
// prefix lengths, for AddressSorter.SourceInfo. The portable interface list
// does not carry the deprecated or home flags, so those stay false (rules 3
// and 4 skipped), and "native" is unknown, as it is to Chromium on Linux.
func SystemSourceInfo() (func(src netip.Addr) (SourceAddressInfo, bool), error) {
	ifaddrs, err := gonet.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	infos := make(map[netip.Addr]SourceAddressInfo, len(ifaddrs))
	for _, ia := range ifaddrs {
		ipnet, ok := ia.(*gonet.IPNet)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(ipnet.IP)
		if !ok {
			continue
		}
		ones, _ := ipnet.Mask.Size()
		infos[a.Unmap()] = SourceAddressInfo{PrefixLen: ones}
	}
	return func(src netip.Addr) (SourceAddressInfo, bool) {
		// The kernel names a link-local source with its zone; the
		// interface list does not.
		info, ok := infos[src.Unmap().WithZone("")]
		return info, ok
	}, nil
}

// IPv6ProbeAddress is the destination of the IPv6 reachability probe, one of
// Google Public DNS's addresses, as in Chromium (kIPv6ProbeAddress).
var IPv6ProbeAddress = netip.MustParseAddr("2001:4860:4860::8888")

// IPv6ProbePeriod is how long a probe result stays valid before the host
// resolver asks again (Chromium's kIPv6ProbePeriodMs). Keeping it is the
// caller's business: the probe itself is cheap but not free.
const IPv6ProbePeriod = 1000 * time.Millisecond

// teredoPrefix is 2001::/32: a Teredo address tunnels IPv6 over IPv4 UDP,
// which Chromium does not count as IPv6 connectivity.
var teredoPrefix = netip.MustParsePrefix("2001::/32")

// IPv6Reachable reports whether this host has a global IPv6 route, the check
// Chromium's HostResolverManager makes before asking for AAAA records.
// probe returns the source address the kernel would use to reach
// IPv6ProbeAddress (ok=false: no route). The route counts only when that
// source is a real IPv6 address that is neither link-local (no router has
// given us a global prefix) nor Teredo (a tunnel of last resort).
func IPv6Reachable(probe func() (src netip.Addr, ok bool)) bool {
	src, ok := probe()
	if !ok || !src.Is6() || src.Is4In6() {
		return false
	}
	src = src.WithZone("")
	if src.IsLinkLocalUnicast() || teredoPrefix.Contains(src) {
		return false
	}
	return true
}

// SystemIPv6Reachable runs IPv6Reachable against the kernel's routing table
// with the UDP-connect trick: no packet is sent.
func SystemIPv6Reachable() bool {
	return IPv6Reachable(func() (netip.Addr, bool) { return SystemSourceAddress(IPv6ProbeAddress) })
}
