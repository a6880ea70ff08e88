package dns

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/net"
)

// ruleCase is one Apply call and what it must decide.
type ruleCase struct {
	host     string
	port     uint16
	action   RuleAction
	wantHost string
	wantPort uint16
	addrs    []string
}

func checkApply(t *testing.T, r HostResolverRules, cases []ruleCase) {
	t.Helper()
	for _, c := range cases {
		got := r.Apply(c.host, c.port)
		if got.Action != c.action || got.Host != c.wantHost || got.Port != c.wantPort {
			t.Errorf("Apply(%q, %d) = %v %q:%d (%s), want %v %q:%d",
				c.host, c.port, got.Action, got.Host, got.Port, got, c.action, c.wantHost, c.wantPort)
		}
		var addrs []string
		for _, a := range got.Addresses {
			addrs = append(addrs, a.String())
		}
		if !slices.Equal(addrs, c.addrs) {
			t.Errorf("Apply(%q, %d) addresses %v, want %v", c.host, c.port, addrs, c.addrs)
		}
		wantErr := error(nil)
		if c.action == RuleNotFound {
			wantErr = net.ErrNameNotResolved
		}
		if got.Err != wantErr {
			t.Errorf("Apply(%q, %d) error %v, want %v", c.host, c.port, got.Err, wantErr)
		}
	}
}

func mustRules(t *testing.T, s string) HostResolverRules {
	t.Helper()
	r, err := ParseHostResolverRules(s)
	if err != nil {
		t.Fatalf("ParseHostResolverRules(%q): %v", s, err)
	}
	return r
}

// Chromium's HostMappingRulesTest.SetRulesFromString.
func TestRulesChromiumSetRulesFromString(t *testing.T) {
	r := mustRules(t, "map *.com baz , map *.net bar:60, EXCLUDE *.foo.com")
	checkApply(t, r, []ruleCase{
		{"test", 1234, RuleUnchanged, "test", 1234, nil},
		{"chrome.net", 80, RuleMapped, "bar", 60, nil},
		{"crack.com", 80, RuleMapped, "baz", 80, nil},
		{"wtf.foo.com", 666, RuleUnchanged, "wtf.foo.com", 666, nil},
	})
}

// Chromium's HostMappingRulesTest.PortSpecificMatching.
func TestRulesChromiumPortSpecificMatching(t *testing.T) {
	r := mustRules(t, "map *.com:80 baz:111 , map *.com:443 blat:333, EXCLUDE *.foo.com")
	checkApply(t, r, []ruleCase{
		{"test.com", 1234, RuleUnchanged, "test.com", 1234, nil},
		{"crack.com", 80, RuleMapped, "baz", 111, nil},
		{"wtf.com", 443, RuleMapped, "blat", 333, nil},
		{"wtf.foo.com", 443, RuleUnchanged, "wtf.foo.com", 443, nil}, // excluded
	})
}

// Chromium's MappedHostResolverTest cases: Inclusion, Exclusion,
// SetRulesFromString, MapToError and the IP-literal and non-canonical
// replacements.
func TestRulesChromiumMappedHostResolver(t *testing.T) {
	t.Run("Inclusion", func(t *testing.T) {
		var r HostResolverRules
		checkApply(t, r, []ruleCase{{"www.google.com", 80, RuleUnchanged, "www.google.com", 80, nil}})
		if err := r.AddRule("map *.google.com baz.com"); err != nil {
			t.Fatal(err)
		}
		checkApply(t, r, []ruleCase{
			{"www.google.com", 80, RuleMapped, "baz.com", 80, nil},
			{"foo.com", 77, RuleUnchanged, "foo.com", 77, nil},
		})
		if err := r.AddRule("Map *.org proxy:99"); err != nil {
			t.Fatal(err)
		}
		checkApply(t, r, []ruleCase{{"chromium.org", 61, RuleMapped, "proxy", 99, nil}})
	})
	t.Run("Exclusion", func(t *testing.T) {
		r := mustRules(t, "map *.com baz, EXCLUDE *.google.com")
		checkApply(t, r, []ruleCase{
			{"www.google.com", 80, RuleUnchanged, "www.google.com", 80, nil},
			{"chrome.com", 80, RuleMapped, "baz", 80, nil},
		})
	})
	t.Run("MapToError", func(t *testing.T) {
		for _, marker := range []string{"~NOTFOUND", "^NOTFOUND"} {
			r := mustRules(t, "MAP *.google.com "+marker)
			checkApply(t, r, []ruleCase{
				{"www.google.com", 80, RuleNotFound, "www.google.com", 80, nil},
				{"www.foo.com", 80, RuleUnchanged, "www.foo.com", 80, nil},
			})
		}
	})
	t.Run("MapsToIPv6Literal", func(t *testing.T) {
		r := mustRules(t, "MAP host.test [1234:5678::000A]")
		got := r.Apply("host.test", 156)
		a, ok := got.IPLiteral()
		if got.Action != RuleMapped || !ok || a != netip.MustParseAddr("1234:5678::a") || got.Port != 156 {
			t.Errorf("got %v (literal %v %v)", got, a, ok)
		}
		r = mustRules(t, "MAP initial.test [2345:6789::0abc]:1112")
		checkApply(t, r, []ruleCase{{"initial.test", 111, RuleMapped, "2345:6789::abc", 1112, nil}})
	})
	t.Run("NonCanonicalReplacement", func(t *testing.T) {
		r := mustRules(t, "MAP host.test reMapped.TEST")
		checkApply(t, r, []ruleCase{{"host.test", 157, RuleMapped, "remapped.test", 157, nil}})
	})
	t.Run("NameWithPort", func(t *testing.T) {
		r := mustRules(t, "MAP host.test remapped.test:258")
		checkApply(t, r, []ruleCase{{"host.test", 158, RuleMapped, "remapped.test", 258, nil}})
	})
}

func TestRulesWildcards(t *testing.T) {
	r := mustRules(t, "MAP *.example.com 127.0.0.1, MAP exact.test 10.0.0.1, MAP a?c.test 10.0.0.2, MAP *zz* 10.0.0.3, MAP lit\\*.test 10.0.0.4")
	checkApply(t, r, []ruleCase{
		{"www.example.com", 443, RuleMapped, "127.0.0.1", 443, nil},
		{"a.b.example.com", 443, RuleMapped, "127.0.0.1", 443, nil},
		// "*." needs the dot: the apex is not a subdomain.
		{"example.com", 443, RuleUnchanged, "example.com", 443, nil},
		{"notexample.com", 443, RuleUnchanged, "notexample.com", 443, nil},
		{"exact.test", 80, RuleMapped, "10.0.0.1", 80, nil},
		{"sub.exact.test", 80, RuleUnchanged, "sub.exact.test", 80, nil},
		// '?' matches zero or one character, as Chromium's MatchPattern.
		{"abc.test", 80, RuleMapped, "10.0.0.2", 80, nil},
		{"ac.test", 80, RuleMapped, "10.0.0.2", 80, nil},
		{"abbc.test", 80, RuleUnchanged, "abbc.test", 80, nil},
		{"zz", 80, RuleMapped, "10.0.0.3", 80, nil},
		{"buzz.io", 80, RuleMapped, "10.0.0.3", 80, nil},
		// An escaped star is a literal star.
		{"lit*.test", 80, RuleMapped, "10.0.0.4", 80, nil},
		{"lita.test", 80, RuleUnchanged, "lita.test", 80, nil},
	})
}

func TestRulesPatternMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"**a**b**", "xaxb", true},
		{"a?", "a", true},
		{"a?", "ab", true},
		{"a?", "abc", false},
		{"?", "", true},
		{"??", "abc", false},
		{"a\\?", "a?", true},
		{"a\\?", "a", false},
		{"a\\b", "a\\b", true}, // a backslash before anything else is literal
		{"ünï*", "ünïcode", true},
		{"*.example.com:443", "www.example.com:443", true},
		{"*.example.com:443", "www.example.com:4430", false},
		{"[::1]", "::1", true},
		{"[::1]:*", "[::1]:80", true},
		{"EXAMPLE.com", "example.com", true}, // patterns are lowercased
		// A pattern that would make a backtracking matcher crawl.
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 200), false},
	}
	for _, c := range cases {
		if got := compilePattern(c.pattern).match(c.s); got != c.want {
			t.Errorf("%q matching %q = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

// EXCLUDE keeps a name away from every MAP rule, whether it comes before or
// after them, and looks at the host only, never host:port.
func TestRulesExcludeOrdering(t *testing.T) {
	for _, s := range []string{
		"EXCLUDE www.example.com, MAP *.example.com 127.0.0.1",
		"MAP *.example.com 127.0.0.1, EXCLUDE www.example.com",
		"MAP *.example.com 127.0.0.1, MAP * 10.9.9.9, EXCLUDE www.example.com",
	} {
		r := mustRules(t, s)
		checkApply(t, r, []ruleCase{
			{"www.example.com", 443, RuleUnchanged, "www.example.com", 443, nil},
			{"api.example.com", 443, RuleMapped, "127.0.0.1", 443, nil},
		})
		if got := r.Apply("www.example.com", 443).Rule; got != "EXCLUDE www.example.com" {
			t.Errorf("%s: excluded by %q", s, got)
		}
	}
	// An excluded name is not handed to a later MAP either (Chromium stops
	// at the first matching MAP).
	r := mustRules(t, "MAP *.example.com 127.0.0.1, MAP www.example.com 10.0.0.1, EXCLUDE www.*")
	checkApply(t, r, []ruleCase{{"www.example.com", 80, RuleUnchanged, "www.example.com", 80, nil}})
	// EXCLUDE with a port never matches: exclusions see the host only.
	r = mustRules(t, "MAP *.example.com 127.0.0.1, EXCLUDE www.example.com:443")
	checkApply(t, r, []ruleCase{{"www.example.com", 443, RuleMapped, "127.0.0.1", 443, nil}})
	// EXCLUDE alone changes nothing.
	r = mustRules(t, "EXCLUDE *")
	checkApply(t, r, []ruleCase{{"a.test", 80, RuleUnchanged, "a.test", 80, nil}})
	// First MAP wins.
	r = mustRules(t, "MAP a.test 10.0.0.1, MAP a.test 10.0.0.2")
	checkApply(t, r, []ruleCase{{"a.test", 80, RuleMapped, "10.0.0.1", 80, nil}})
}

func TestRulesCaseAndIPv6Hosts(t *testing.T) {
	r := mustRules(t, "MAP WWW.Example.COM 127.0.0.1:8443, MAP ::1 10.0.0.1, MAP [::2] 10.0.0.2, MAP [::3]:443 10.0.0.3, MAP *.test:8080 [::1]")
	checkApply(t, r, []ruleCase{
		{"www.example.com", 443, RuleMapped, "127.0.0.1", 8443, nil},
		{"WWW.EXAMPLE.com", 443, RuleMapped, "127.0.0.1", 8443, nil},
		{"::1", 80, RuleMapped, "10.0.0.1", 80, nil},
		{"[::1]", 80, RuleMapped, "10.0.0.1", 80, nil},
		{"[::2]", 80, RuleMapped, "10.0.0.2", 80, nil},
		{"::3", 443, RuleMapped, "10.0.0.3", 443, nil},
		{"::3", 80, RuleUnchanged, "::3", 80, nil},
		{"A.TEST", 8080, RuleMapped, "::1", 8080, nil},
		{"a.test", 8081, RuleUnchanged, "a.test", 8081, nil},
	})
}

func TestRulesParseErrors(t *testing.T) {
	bad := []string{
		// Chromium's ParseInvalidRules.
		"xyz",
		"EXCLUDE",
		"EXCLUDE foo bar",
		"INCLUDE",
		"INCLUDE x",
		"INCLUDE x :10",
		// Replacements.
		"MAP a.test",
		"MAP a.test b c",
		"MAP a.test b.test:",
		"MAP a.test b.test:99999",
		"MAP a.test b.test:-1",
		"MAP a.test b.test:8o",
		"MAP a.test ::1",
		"MAP a.test [::1",
		"MAP a.test [::1]x",
		"MAP a.test [1.2.3.4]",
		"MAP a.test [nothex]",
		"MAP a.test :80",
		"MAP a.test user@b.test",
		"MAP a.test invalid/url",
		"MAP a.test *.b.test",
		// One bad rule spoils the list.
		"MAP a.test 10.0.0.1, MAP b.test",
	}
	for _, s := range bad {
		_, err := ParseHostResolverRules(s)
		var se *RulesSyntaxError
		if !errors.As(err, &se) || !errors.Is(err, net.ErrInvalidArgument) {
			t.Errorf("ParseHostResolverRules(%q) = %v, want a RulesSyntaxError", s, err)
			continue
		}
		if se.Flag != "host-resolver-rules" || se.Reason == "" || !strings.Contains(err.Error(), se.Rule) {
			t.Errorf("%q: unhelpful error %v", s, err)
		}
	}
	var r HostResolverRules
	for _, s := range []string{"", " ", "\t"} {
		if err := r.AddRule(s); err == nil {
			t.Errorf("AddRule(%q) accepted", s)
		}
	}
	// Empty lists and empty items between commas are fine.
	for _, s := range []string{"", " ", ",", "MAP a.test 10.0.0.1,", " , MAP a.test 10.0.0.1 , ,"} {
		if _, err := ParseHostResolverRules(s); err != nil {
			t.Errorf("ParseHostResolverRules(%q): %v", s, err)
		}
	}
	// Blanks of any kind and number separate words.
	r = mustRules(t, "  MAP\t*.a.test   10.0.0.1:81  ")
	checkApply(t, r, []ruleCase{{"x.a.test", 80, RuleMapped, "10.0.0.1", 81, nil}})
}

func TestRulesCurlResolve(t *testing.T) {
	var r HostResolverRules
	for _, spec := range []string{
		"example.com:443:127.0.0.1",
		"example.com:80:[::1],127.0.0.2",
		"v6.test:443:::1, 2001:db8::5",
		"[::1]:8080:127.0.0.9",
		"+plus.test:443:192.0.2.1",
		"UPPER.test:443:::ffff:192.0.2.7",
		"*:8443:192.0.2.99",
		"exact.test:8443:192.0.2.98",
	} {
		if err := r.AddCurlResolve(spec); err != nil {
			t.Fatalf("AddCurlResolve(%q): %v", spec, err)
		}
	}
	checkApply(t, r, []ruleCase{
		{"example.com", 443, RuleAddresses, "example.com", 443, []string{"127.0.0.1"}},
		{"EXAMPLE.COM", 443, RuleAddresses, "example.com", 443, []string{"127.0.0.1"}},
		{"example.com", 80, RuleAddresses, "example.com", 80, []string{"::1", "127.0.0.2"}},
		// Exact port only.
		{"example.com", 8080, RuleUnchanged, "example.com", 8080, nil},
		{"www.example.com", 443, RuleUnchanged, "www.example.com", 443, nil},
		{"v6.test", 443, RuleAddresses, "v6.test", 443, []string{"::1", "2001:db8::5"}},
		{"[::1]", 8080, RuleAddresses, "::1", 8080, []string{"127.0.0.9"}},
		{"plus.test", 443, RuleAddresses, "plus.test", 443, []string{"192.0.2.1"}},
		// A mapped address is given as the IPv4 address it is.
		{"upper.test", 443, RuleAddresses, "upper.test", 443, []string{"192.0.2.7"}},
		// '*' answers any host at its port, after the exact entries.
		{"anything.test", 8443, RuleAddresses, "anything.test", 8443, []string{"192.0.2.99"}},
		{"exact.test", 8443, RuleAddresses, "exact.test", 8443, []string{"192.0.2.98"}},
		{"anything.test", 443, RuleUnchanged, "anything.test", 443, nil},
	})

	// A later entry replaces an earlier one; '-' removes.
	if err := r.AddCurlResolve("example.com:443:10.1.1.1"); err != nil {
		t.Fatal(err)
	}
	checkApply(t, r, []ruleCase{{"example.com", 443, RuleAddresses, "example.com", 443, []string{"10.1.1.1"}}})
	for _, spec := range []string{"-example.com:443", "-nothing.test:1"} {
		if err := r.AddCurlResolve(spec); err != nil {
			t.Fatal(err)
		}
	}
	checkApply(t, r, []ruleCase{
		{"example.com", 443, RuleUnchanged, "example.com", 443, nil},
		{"example.com", 80, RuleAddresses, "example.com", 80, []string{"::1", "127.0.0.2"}},
	})

	// The caller may keep and change the addresses it was given.
	got := r.Apply("example.com", 80)
	got.Addresses[0] = netip.MustParseAddr("192.0.2.200")
	if again := r.Apply("example.com", 80); again.Addresses[0] != netip.MustParseAddr("::1") {
		t.Errorf("Apply handed out the rules' own slice: %v", again.Addresses)
	}
}

func TestRulesCurlResolveErrors(t *testing.T) {
	for _, spec := range []string{
		"",
		"example.com",
		"example.com:443",
		"example.com:443:",
		"example.com:443:not-an-ip",
		"example.com:443:127.0.0.1,",
		"example.com:443:[::1",
		":443:127.0.0.1",
		"example.com::127.0.0.1",
		"example.com:http:127.0.0.1",
		"example.com:65536:127.0.0.1",
		"bad host:443:127.0.0.1",
		"[::1:443:127.0.0.1",
		"[example]:443:127.0.0.1",
		"[::1]443:127.0.0.1",
		"-example.com:443:127.0.0.1",
		"-example.com",
	} {
		var r HostResolverRules
		err := r.AddCurlResolve(spec)
		var se *RulesSyntaxError
		if !errors.As(err, &se) || se.Flag != "resolve" || !errors.Is(err, net.ErrInvalidArgument) {
			t.Errorf("AddCurlResolve(%q) = %v, want a RulesSyntaxError", spec, err)
		}
		if !r.Empty() {
			t.Errorf("AddCurlResolve(%q) failed but added an entry", spec)
		}
	}
}

// The --resolve entries answer for the name a MAP rule produced, as curl's
// DNS cache answers after --connect-to; a ~NOTFOUND rule still fails.
func TestRulesMapThenCurlResolve(t *testing.T) {
	r := mustRules(t, "MAP a.test b.test:8443, MAP gone.test ~NOTFOUND, MAP *.ex.test 10.0.0.1, EXCLUDE keep.ex.test")
	for _, spec := range []string{"b.test:8443:192.0.2.1", "gone.test:443:192.0.2.2", "keep.ex.test:443:192.0.2.3"} {
		if err := r.AddCurlResolve(spec); err != nil {
			t.Fatal(err)
		}
	}
	checkApply(t, r, []ruleCase{
		{"a.test", 443, RuleAddresses, "b.test", 8443, []string{"192.0.2.1"}},
		{"gone.test", 443, RuleNotFound, "gone.test", 443, nil},
		// EXCLUDE holds MAP rules back, not --resolve entries.
		{"keep.ex.test", 443, RuleAddresses, "keep.ex.test", 443, []string{"192.0.2.3"}},
		{"other.ex.test", 443, RuleMapped, "10.0.0.1", 443, nil},
	})
	if got := r.Apply("a.test", 443).Rule; got != "MAP a.test b.test:8443; resolve b.test:8443:192.0.2.1" {
		t.Errorf("rule for a.test = %q", got)
	}
	if got := r.Apply("keep.ex.test", 443).Rule; got != "resolve keep.ex.test:443:192.0.2.3" {
		t.Errorf("rule for keep.ex.test = %q", got)
	}
}

func TestRulesString(t *testing.T) {
	r := mustRules(t, "map *.Example.com 127.0.0.1 ,  EXCLUDE www.example.com,MAP a.test [::1]:8080, MAP b.test ~notfound")
	want := "MAP *.example.com 127.0.0.1, EXCLUDE www.example.com, MAP a.test [::1]:8080, MAP b.test ~NOTFOUND"
	if got := r.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	// The rules part reads back to the same rules.
	if again := mustRules(t, r.String()); again.String() != want {
		t.Errorf("round trip = %q", again.String())
	}
	if err := r.AddCurlResolve("example.com:443:127.0.0.1,::1"); err != nil {
		t.Fatal(err)
	}
	if got, suffix := r.String(), "; resolve example.com:443:127.0.0.1,[::1]"; !strings.HasSuffix(got, suffix) {
		t.Errorf("String() = %q, want it to end with %q", got, suffix)
	}
	var empty HostResolverRules
	if empty.String() != "" || !empty.Empty() {
		t.Errorf("zero rules: %q, empty %v", empty.String(), empty.Empty())
	}

	results := []struct {
		res  RuleResult
		want string
	}{
		{r.Apply("x.example.com", 443), "mapped to 127.0.0.1:443 by MAP *.example.com 127.0.0.1"},
		{r.Apply("www.example.com", 443), "unchanged by EXCLUDE www.example.com"},
		{r.Apply("a.test", 80), "mapped to [::1]:8080 by MAP a.test [::1]:8080"},
		{r.Apply("b.test", 80), "not found by MAP b.test ~NOTFOUND"},
		{r.Apply("example.com", 443), "resolved example.com:443 to 127.0.0.1, ::1 by resolve example.com:443:127.0.0.1,[::1]"},
		{r.Apply("c.test", 80), "unchanged"},
	}
	for _, c := range results {
		if got := c.res.String(); got != c.want {
			t.Errorf("RuleResult.String() = %q, want %q", got, c.want)
		}
	}
	for a, want := range map[RuleAction]string{RuleUnchanged: "unchanged", RuleMapped: "mapped", RuleAddresses: "addresses", RuleNotFound: "not_found", 9: "RuleAction(9)"} {
		if a.String() != want {
			t.Errorf("RuleAction %d = %q, want %q", int(a), a.String(), want)
		}
	}
	if _, ok := r.Apply("c.test", 80).IPLiteral(); ok {
		t.Error("IPLiteral of an unchanged result")
	}
	if _, ok := mustRules(t, "MAP c.test d.test").Apply("c.test", 80).IPLiteral(); ok {
		t.Error("IPLiteral of a name")
	}
}

func BenchmarkRulesApply(b *testing.B) {
	r, err := ParseHostResolverRules("MAP *.cdn.example.com 192.0.2.1, MAP *.ads.* ~NOTFOUND, EXCLUDE static.cdn.example.com, MAP api.example.com:443 10.0.0.1:8443")
	if err != nil {
		b.Fatal(err)
	}
	_ = r.AddCurlResolve("db.example.com:5432:10.0.0.9")
	b.ReportAllocs()
	for b.Loop() {
		r.Apply("img.cdn.example.com", 443)
		r.Apply("www.example.org", 443)
	}
}

func BenchmarkAddressSorterSort(b *testing.B) {
	routes := map[netip.Addr]netip.Addr{}
	for dst, src := range map[string]string{"2a00:1450::1": "2a01:e0a::20", "2a00:1450::2": "2a01:e0a::20", "192.0.2.1": "192.168.1.20", "192.0.2.2": "192.168.1.20"} {
		routes[netip.MustParseAddr(dst)] = netip.MustParseAddr(src)
	}
	s := NewAddressSorter(func(dst netip.Addr) (netip.Addr, bool) { src, ok := routes[dst]; return src, ok })
	in := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2a00:1450::1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2a00:1450::2")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sort(in); err != nil {
			b.Fatal(err)
		}
	}
}
