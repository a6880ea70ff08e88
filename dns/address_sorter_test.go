package dns

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/netfetch/netfetch/net"
)

// fakeRoutes stands in for the kernel: dst → the source it would pick. A
// destination missing from the map has no route.
type fakeRoutes map[string]string

func (f fakeRoutes) sourceFor(dst netip.Addr) (netip.Addr, bool) {
	// Keys are compared parsed: "::ffff:1234:1" prints as
	// "::ffff:18.52.0.1".
	for d, src := range f {
		if netip.MustParseAddr(d) == dst {
			return netip.MustParseAddr(src), true
		}
	}
	return netip.Addr{}, false
}

// sourceInfo turns a table of source attributes into a SourceInfo function.
func sourceInfo(m map[string]SourceAddressInfo) func(netip.Addr) (SourceAddressInfo, bool) {
	if m == nil {
		return nil
	}
	return func(src netip.Addr) (SourceAddressInfo, bool) {
		for a, info := range m {
			if netip.MustParseAddr(a) == src {
				return info, true
			}
		}
		return SourceAddressInfo{}, false
	}
}

func parseAddrs(t *testing.T, ss []string) []netip.Addr {
	t.Helper()
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// The cases of Chromium's address_sorter_posix_unittest.cc, one per rule,
// with the same routes, source attributes, inputs and expected orders.
func TestAddressSorterChromiumRules(t *testing.T) {
	type tc struct {
		name   string
		routes fakeRoutes
		info   map[string]SourceAddressInfo
		in     []string
		want   []string
	}
	rule2 := fakeRoutes{
		"3002::1": "4000::10",     // matching global
		"ff32::1": "fe81::10",     // matching link-local
		"fec1::1": "fec1::10",     // matching site-local
		"3002::2": "::1",          // global vs. link-local
		"fec1::2": "fe81::10",     // site-local vs. link-local
		"8.0.0.1": "169.254.0.10", // global vs. link-local
	}
	rule5 := fakeRoutes{
		"::1":           "::1",            // matching loopback
		"::ffff:1234:1": "::ffff:1234:10", // matching IPv4-mapped
		"2001::1":       "::ffff:1234:10", // Teredo vs. IPv4-mapped
		"2002::1":       "2001::10",       // 6to4 vs. Teredo
	}
	cases := []tc{
		{
			name:   "Rule1 unusable destinations are dropped",
			routes: fakeRoutes{"10.0.0.231": "10.0.0.1"},
			in:     []string{"::1", "10.0.0.231", "127.0.0.1"},
			want:   []string{"10.0.0.231"},
		},
		{name: "Rule2 matching scope, global", routes: rule2,
			in: []string{"3002::2", "3002::1"}, want: []string{"3002::1", "3002::2"}},
		{name: "Rule2 matching scope, link-local multicast", routes: rule2,
			in: []string{"fec1::2", "ff32::1"}, want: []string{"ff32::1", "fec1::2"}},
		{name: "Rule2 matching scope, IPv4 with a link-local source", routes: rule2,
			in: []string{"8.0.0.1", "fec1::1"}, want: []string{"fec1::1", "8.0.0.1"}},
		{
			name:   "Rule3 avoid deprecated",
			routes: fakeRoutes{"3002::1": "4000::10", "3002::2": "4000::20"},
			info:   map[string]SourceAddressInfo{"4000::10": {Deprecated: true}},
			in:     []string{"3002::1", "3002::2"},
			want:   []string{"3002::2", "3002::1"},
		},
		{
			name:   "Rule4 prefer home",
			routes: fakeRoutes{"3002::1": "4000::10", "3002::2": "4000::20"},
			info:   map[string]SourceAddressInfo{"4000::20": {Home: true}},
			in:     []string{"3002::1", "3002::2"},
			want:   []string{"3002::2", "3002::1"},
		},
		{name: "Rule5 matching label, loopback", routes: rule5,
			in: []string{"2001::1", "::1"}, want: []string{"::1", "2001::1"}},
		{name: "Rule5 matching label, IPv4-mapped", routes: rule5,
			in: []string{"2002::1", "::ffff:1234:1"}, want: []string{"::ffff:1234:1", "2002::1"}},
		{
			name: "Rule6 higher precedence",
			routes: fakeRoutes{
				"::1":           "::1",            // loopback
				"ff32::1":       "fe81::10",       // multicast
				"::ffff:1234:1": "::ffff:1234:10", // IPv4-mapped
				"2001::1":       "2001::10",       // Teredo
			},
			in:   []string{"2001::1", "::ffff:1234:1", "ff32::1", "::1"},
			want: []string{"::1", "ff32::1", "::ffff:1234:1", "2001::1"},
		},
		{
			name:   "Rule7 prefer native",
			routes: fakeRoutes{"3002::1": "4000::10", "3002::2": "4000::20"},
			info:   map[string]SourceAddressInfo{"4000::20": {Native: true}},
			in:     []string{"3002::1", "3002::2"},
			want:   []string{"3002::2", "3002::1"},
		},
		{
			name: "Rule8 smaller scope",
			routes: fakeRoutes{
				"fe81::1": "fe81::10", // link-local, matching: first by rule 2
				"3000::1": "4000::10", // global, matching
				"ff32::1": "4000::10", // link-local multicast, mismatched
				"ff35::1": "4000::10", // site-local multicast, mismatched
				"ff38::1": "4000::10", // org-local multicast, mismatched
			},
			in:   []string{"ff38::1", "3000::1", "ff35::1", "ff32::1", "fe81::1"},
			want: []string{"fe81::1", "3000::1", "ff32::1", "ff35::1", "ff38::1"},
		},
		{
			name: "Rule9 longest matching prefix",
			routes: fakeRoutes{
				"3000::1": "3000:ffff::10", // 16 bits in common
				"4000::1": "4000::10",      // 123 bits, capped at the prefix length 15
				"4002::1": "4000::10",      // 14 bits
				"4080::1": "4000::10",      // 8 bits
			},
			info: map[string]SourceAddressInfo{
				"3000:ffff::10": {PrefixLen: 16},
				"4000::10":      {PrefixLen: 15},
			},
			in:   []string{"4080::1", "4002::1", "4000::1", "3000::1"},
			want: []string{"3000::1", "4000::1", "4002::1", "4080::1"},
		},
		{
			name:   "Rule10 keep the order",
			routes: fakeRoutes{"4000::1": "4000::10", "4000::2": "4000::10", "4000::3": "4000::10"},
			in:     []string{"4000::1", "4000::2", "4000::3"},
			want:   []string{"4000::1", "4000::2", "4000::3"},
		},
		{
			name: "MultipleRules",
			routes: fakeRoutes{
				"::1":     "::1",      // loopback
				"ff32::1": "fe81::10", // link-local multicast
				"ff3e::1": "4000::10", // global multicast
				"4000::1": "4000::10", // global unicast
				"ff32::2": "fe81::20", // deprecated link-local multicast
			},
			info: map[string]SourceAddressInfo{"fe81::20": {Deprecated: true}},
			in:   []string{"ff3e::1", "ff32::2", "4000::1", "ff32::1", "::1", "8.0.0.1"},
			want: []string{"::1", "ff32::1", "ff3e::1", "4000::1", "ff32::2"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewAddressSorter(c.routes.sourceFor)
			s.SourceInfo = sourceInfo(c.info)
			in := parseAddrs(t, c.in)
			orig := slices.Clone(in)
			got, err := s.Sort(in)
			if err != nil {
				t.Fatalf("Sort: %v", err)
			}
			if !slices.Equal(got, parseAddrs(t, c.want)) {
				t.Errorf("Sort(%v) = %v, want %v", c.in, addrStrings(got), c.want)
			}
			if !slices.Equal(in, orig) {
				t.Errorf("Sort modified its input: %v", in)
			}
		})
	}
}

// Situations a browser meets, beyond Chromium's unit cases.
func TestAddressSorterDualStack(t *testing.T) {
	cases := []struct {
		name   string
		routes fakeRoutes
		info   map[string]SourceAddressInfo
		in     []string
		want   []string
	}{
		{
			// Precedence 40 for global IPv6 against 35 for IPv4.
			name:   "working dual stack puts IPv6 first",
			routes: fakeRoutes{"93.184.215.14": "192.168.1.20", "2606:2800:21f:cb07:6820:80da:af6b:8b2c": "2a01:e0a:1:2::20"},
			in:     []string{"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
			want:   []string{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", "93.184.215.14"},
		},
		{
			// Only a link-local IPv6 source: rule 2 demotes the IPv6 address.
			name:   "link-local-only IPv6 puts IPv4 first",
			routes: fakeRoutes{"93.184.215.14": "192.168.1.20", "2606:2800::1": "fe80::1"},
			in:     []string{"2606:2800::1", "93.184.215.14"},
			want:   []string{"93.184.215.14", "2606:2800::1"},
		},
		{
			name:   "no IPv6 route drops IPv6",
			routes: fakeRoutes{"93.184.215.14": "192.168.1.20"},
			in:     []string{"2606:2800::1", "93.184.215.14", "2606:2800::2"},
			want:   []string{"93.184.215.14"},
		},
		{
			// A Teredo source for a native destination: labels mismatch.
			name:   "Teredo source loses to IPv4",
			routes: fakeRoutes{"2606:2800::1": "2001:0:4136:e378::1", "93.184.215.14": "192.168.1.20"},
			in:     []string{"2606:2800::1", "93.184.215.14"},
			want:   []string{"93.184.215.14", "2606:2800::1"},
		},
		{
			// 127.0.0.1 has link-local scope, so loopback wins rule 8 over
			// a LAN address, after ::1's precedence 50 wins rule 6.
			name:   "loopbacks first",
			routes: fakeRoutes{"10.0.0.5": "10.0.0.1", "127.0.0.1": "127.0.0.1", "::1": "::1"},
			in:     []string{"10.0.0.5", "127.0.0.1", "::1"},
			want:   []string{"::1", "127.0.0.1", "10.0.0.5"},
		},
		{
			name:   "ULA below IPv4 by precedence",
			routes: fakeRoutes{"fd00::5": "fd00::1", "10.0.0.5": "10.0.0.1"},
			in:     []string{"fd00::5", "10.0.0.5"},
			want:   []string{"10.0.0.5", "fd00::5"},
		},
		{
			// Rule 9 within IPv4: the address on our /24 first.
			name:   "IPv4 longest prefix",
			routes: fakeRoutes{"198.51.100.7": "192.0.2.10", "192.0.2.77": "192.0.2.10"},
			info:   map[string]SourceAddressInfo{"192.0.2.10": {PrefixLen: 24}},
			in:     []string{"198.51.100.7", "192.0.2.77"},
			want:   []string{"192.0.2.77", "198.51.100.7"},
		},
		{
			// Without prefix information rule 9 is off, as in Chromium for
			// a source missing from its address map.
			name:   "IPv4 longest prefix needs the prefix length",
			routes: fakeRoutes{"198.51.100.7": "192.0.2.10", "192.0.2.77": "192.0.2.10"},
			in:     []string{"198.51.100.7", "192.0.2.77"},
			want:   []string{"198.51.100.7", "192.0.2.77"},
		},
		{
			// Rule 9 never compares across families. An IPv4-mapped
			// destination ties with an IPv4 one up to rule 8 (same
			// precedence, label and scope) and shares 101 bits with its
			// source against the IPv4 one's 25; were rule 9 applied
			// across families it would move ahead.
			name: "rule 9 only within a family",
			routes: fakeRoutes{
				"::ffff:198.51.100.7": "::ffff:192.0.2.10",
				"192.0.2.77":          "192.0.2.10",
			},
			info: map[string]SourceAddressInfo{
				"::ffff:192.0.2.10": {PrefixLen: 128},
				"192.0.2.10":        {PrefixLen: 32},
			},
			in:   []string{"192.0.2.77", "::ffff:198.51.100.7"},
			want: []string{"192.0.2.77", "::ffff:198.51.100.7"},
		},
		{
			name:   "zoned link-local destination keeps its zone",
			routes: fakeRoutes{"fe80::2%eth0": "fe80::1%eth0", "10.0.0.5": "10.0.0.1"},
			in:     []string{"10.0.0.5", "fe80::2%eth0"},
			// fe80::2 matches scope (link-local), and so does 10.0.0.5
			// (global/global); precedence 40 beats 35.
			want: []string{"fe80::2%eth0", "10.0.0.5"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewAddressSorter(c.routes.sourceFor)
			s.SourceInfo = sourceInfo(c.info)
			got, err := s.Sort(parseAddrs(t, c.in))
			if err != nil {
				t.Fatalf("Sort: %v", err)
			}
			if !slices.Equal(got, parseAddrs(t, c.want)) {
				t.Errorf("Sort(%v) = %v, want %v", c.in, addrStrings(got), c.want)
			}
		})
	}
}

func TestAddressSorterKeepUnusable(t *testing.T) {
	s := NewAddressSorter(fakeRoutes{"10.0.0.231": "10.0.0.1"}.sourceFor)
	s.KeepUnusable = true
	got, err := s.Sort(parseAddrs(t, []string{"::1", "10.0.0.231", "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	// Usable first; the unusable ones keep their relative order.
	want := []string{"10.0.0.231", "::1", "127.0.0.1"}
	if !slices.Equal(addrStrings(got), want) {
		t.Errorf("got %v, want %v", addrStrings(got), want)
	}
}

func TestAddressSorterEmptyAndUnusable(t *testing.T) {
	s := NewAddressSorter(fakeRoutes{}.sourceFor)
	for _, in := range [][]string{nil, {"192.0.2.1", "2001:db8::1"}} {
		got, err := s.Sort(parseAddrs(t, in))
		if err != nil || len(got) != 0 {
			t.Errorf("Sort(%v) = %v, %v; want empty, nil", in, got, err)
		}
	}
}

func TestAddressSorterSortError(t *testing.T) {
	// An invalid address in the input is an internal failure.
	s := NewAddressSorter(fakeRoutes{"192.0.2.1": "192.0.2.10"}.sourceFor)
	got, err := s.Sort([]netip.Addr{netip.MustParseAddr("192.0.2.1"), {}})
	if !errors.Is(err, net.ErrDNSSortError) || got != nil {
		t.Errorf("invalid input: got %v, %v; want nil, ErrDNSSortError", got, err)
	}
	// So is a source lookup that says ok without an address.
	broken := NewAddressSorter(func(netip.Addr) (netip.Addr, bool) { return netip.Addr{}, true })
	got, err = broken.Sort(parseAddrs(t, []string{"192.0.2.1"}))
	if !errors.Is(err, net.ErrDNSSortError) || got != nil {
		t.Errorf("broken lookup: got %v, %v; want nil, ErrDNSSortError", got, err)
	}
}

func TestAddressSorterPolicyTable(t *testing.T) {
	cases := []struct {
		addr              string
		precedence, label int
	}{
		{"::1", 50, 0},
		{"2a00:1450::1", 40, 1},
		{"ff02::1", 40, 1},
		{"::ffff:192.0.2.1", 35, 4},
		{"192.0.2.1", 35, 4}, // IPv4 is looked up as IPv4-mapped
		{"127.0.0.1", 35, 4},
		{"2002:c000:201::1", 30, 2},
		{"2001:0:4136:e378::1", 5, 5},
		{"2001:db8::1", 40, 1}, // 2001:db8::/32 is not Teredo's 2001::/32
		{"fc00::1", 3, 13},
		{"fd12:3456::1", 3, 13},
		{"::192.0.2.1", 1, 3},
		{"fec0::1", 1, 11},
		{"3ffe::1", 1, 12},
		{"fe80::1%eth0", 40, 1}, // zones do not hide the address
	}
	for _, c := range cases {
		a := netip.MustParseAddr(c.addr)
		if p, l := precedenceTable.lookup(a), labelTable.lookup(a); p != c.precedence || l != c.label {
			t.Errorf("%s: precedence %d label %d, want %d %d", c.addr, p, l, c.precedence, c.label)
		}
	}
}

func TestAddressSorterScope(t *testing.T) {
	cases := []struct {
		addr string
		want addressScope
	}{
		{"127.0.0.1", scopeLinkLocal},
		{"127.255.0.9", scopeLinkLocal},
		{"169.254.10.1", scopeLinkLocal},
		{"10.1.2.3", scopeGlobal},
		{"192.0.2.1", scopeGlobal},
		{"::1", scopeLinkLocal},
		{"fe80::1", scopeLinkLocal},
		{"fe80::1%eth0", scopeLinkLocal},
		{"febf::1", scopeLinkLocal},
		{"fec0::1", scopeSiteLocal},
		{"ff01::1", scopeNodeLocal},
		{"ff02::1", scopeLinkLocal},
		{"ff05::1", scopeSiteLocal},
		{"ff08::1", scopeOrgLocal},
		{"ff0e::1", scopeGlobal},
		{"2a00:1450::1", scopeGlobal},
		{"fd00::1", scopeGlobal},
		{"::ffff:127.0.0.1", scopeGlobal}, // IPv6 here, as in Chromium
	}
	for _, c := range cases {
		if got := scopeOf(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("scopeOf(%s) = %d, want %d", c.addr, got, c.want)
		}
	}
}

func TestAddressSorterCommonPrefixLen(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"4000::1", "4000::10", 123},
		{"4002::1", "4000::10", 14},
		{"4080::1", "4000::10", 8},
		{"3000::1", "3000:ffff::10", 16},
		{"::1", "::1", 128},
		{"192.0.2.1", "192.0.2.1", 32},
		{"192.0.2.1", "192.0.3.1", 23},
		{"128.0.0.0", "0.0.0.0", 0},
		{"192.0.2.1", "::ffff:192.0.2.1", 0}, // different families
	}
	for _, c := range cases {
		if got := commonPrefixLen(netip.MustParseAddr(c.a), netip.MustParseAddr(c.b)); got != c.want {
			t.Errorf("commonPrefixLen(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// The system lookup, on loopback only: connecting a UDP socket to 127.0.0.1
// sends nothing, and loopback exists everywhere the tests run.
func TestSortSystemSourceAddressLoopback(t *testing.T) {
	src, ok := SystemSourceAddress(netip.MustParseAddr("127.0.0.1"))
	if !ok || src != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("SystemSourceAddress(127.0.0.1) = %v, %v; want 127.0.0.1, true", src, ok)
	}
	if _, ok := SystemSourceAddress(netip.Addr{}); ok {
		t.Error("SystemSourceAddress(invalid) succeeded")
	}
	// A mapped destination gets a mapped source, so rule 9 compares them.
	if src, ok := SystemSourceAddress(netip.MustParseAddr("::ffff:127.0.0.1")); ok && !src.Is4In6() {
		t.Errorf("source for ::ffff:127.0.0.1 = %v, want the mapped form", src)
	}

	s := NewAddressSorter(nil)
	got, err := s.Sort(parseAddrs(t, []string{"127.0.0.1", "::1"}))
	if err != nil {
		t.Fatal(err)
	}
	// ::1 may be missing (a container without IPv6); when present it comes
	// first by precedence.
	switch {
	case slices.Equal(addrStrings(got), []string{"::1", "127.0.0.1"}):
	case slices.Equal(addrStrings(got), []string{"127.0.0.1"}):
		t.Log("no IPv6 loopback on this host")
	default:
		t.Errorf("system sort of loopbacks = %v", addrStrings(got))
	}
	s.OnIPAddressChanged() // retakes the snapshot; must not disturb sorting
	if got, err := s.Sort(parseAddrs(t, []string{"127.0.0.1"})); err != nil || len(got) != 1 {
		t.Errorf("after OnIPAddressChanged: %v, %v", got, err)
	}
}

func TestSortSystemSourceInfo(t *testing.T) {
	info, err := SystemSourceInfo()
	if err != nil {
		t.Skipf("no interface list: %v", err)
	}
	if li, ok := info(netip.MustParseAddr("127.0.0.1")); ok && li.PrefixLen != 8 {
		t.Errorf("127.0.0.1 prefix length %d, want 8", li.PrefixLen)
	}
	if _, ok := info(netip.MustParseAddr("192.0.2.254")); ok {
		t.Error("a documentation address is one of ours?")
	}
}

func TestIPv6Reachable(t *testing.T) {
	cases := []struct {
		name string
		src  string // "" for no route
		want bool
	}{
		{"no route", "", false},
		{"global source", "2a01:e0a:1:2::20", true},
		{"documentation prefix is not Teredo", "2001:db8::20", true},
		{"ULA source counts, as in Chromium", "fd00::20", true},
		{"6to4 source counts", "2002:c000:201::1", true},
		{"link-local source", "fe80::1%eth0", false},
		{"link-local source without zone", "fe80::1", false},
		{"Teredo source", "2001:0:4136:e378:8000:63bf:3fff:fdd2", false},
		{"an IPv4 source is no IPv6 route", "192.0.2.10", false},
		{"an IPv4-mapped source is no IPv6 route", "::ffff:192.0.2.10", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			probe := func() (netip.Addr, bool) {
				calls++
				if c.src == "" {
					return netip.Addr{}, false
				}
				return netip.MustParseAddr(c.src), true
			}
			if got := IPv6Reachable(probe); got != c.want {
				t.Errorf("IPv6Reachable with source %q = %v, want %v", c.src, got, c.want)
			}
			if calls != 1 {
				t.Errorf("probe called %d times, want 1", calls)
			}
		})
	}
}

func TestIPv6ReachableSystem(t *testing.T) {
	// Whatever this host's network, the check must answer without sending
	// anything; log what it found.
	t.Logf("SystemIPv6Reachable() = %v (probe %v, period %v)", SystemIPv6Reachable(), IPv6ProbeAddress, IPv6ProbePeriod)
	if IPv6ProbeAddress != netip.MustParseAddr("2001:4860:4860::8888") {
		t.Errorf("probe address %v", IPv6ProbeAddress)
	}
}
