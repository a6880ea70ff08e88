package proxy

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", s, err)
	}
	return u
}

func mustBypass(t *testing.T, s string) BypassRules {
	t.Helper()
	r, err := ParseBypassRules(s)
	if err != nil {
		t.Fatalf("ParseBypassRules(%q): %v", s, err)
	}
	return r
}

func TestBypassRulesMatches(t *testing.T) {
	for _, tc := range []struct {
		rules string
		yes   []string
		no    []string
	}{
		// Host names and wildcards.
		{"example.com", []string{"http://example.com/", "https://EXAMPLE.com:8443/x", "ftp://example.com"},
			[]string{"http://www.example.com/", "http://example.com.au/", "http://notexample.com/"}},
		{"*.example.com", []string{"http://www.example.com/", "http://a.b.example.com/"},
			[]string{"http://example.com/", "http://wwwexample.com/"}},
		{".example.com", []string{"http://www.example.com/", "http://a.b.example.com/"},
			[]string{"http://example.com/"}},
		{"*example.com", []string{"http://example.com/", "http://www.example.com/", "http://notexample.com/"},
			[]string{"http://example.org/"}},
		{"WWW.Example.COM", []string{"http://www.example.com/"}, []string{"http://example.com/"}},
		{"www.*.com", []string{"http://www.example.com/", "http://www.a.b.com/"}, []string{"http://www.example.org/"}},
		{"a*b*c", []string{"http://abc/", "http://a.x.b.y.c/", "http://abbbc/"}, []string{"http://ab/", "http://abca/"}},
		{"*", []string{"http://anything/", "https://1.2.3.4/", "http://[2001:db8::1]/"}, nil},
		{"192.168.*", []string{"http://192.168.1.1/"}, []string{"http://10.192.168.1/"}},
		// Ports, including the scheme's default.
		{"example.com:8080", []string{"http://example.com:8080/"},
			[]string{"http://example.com/", "https://example.com/"}},
		{"example.com:80", []string{"http://example.com/", "ws://example.com/", "https://example.com:80/"},
			[]string{"https://example.com/", "http://example.com:8080/"}},
		{"*.example.com:443", []string{"https://a.example.com/", "wss://a.example.com/"},
			[]string{"http://a.example.com/"}},
		{"example.com:21", []string{"ftp://example.com/"}, []string{"gopher://example.com/"}},
		// Schemes.
		{"http://example.com", []string{"http://example.com/", "HTTP://example.com:81/"},
			[]string{"https://example.com/", "ws://example.com/"}},
		{"https://*.example.com:8443", []string{"https://a.example.com:8443/"},
			[]string{"https://a.example.com/", "http://a.example.com:8443/"}},
		{"HTTPS://10.0.0.0/8", []string{"https://10.1.2.3/"}, []string{"http://10.1.2.3/"}},
		// IP literals.
		{"1.2.3.4", []string{"http://1.2.3.4/", "https://1.2.3.4:99/"},
			[]string{"http://1.2.3.5/", "http://[::ffff:1.2.3.4]/", "http://1.2.3.4.example/"}},
		{"1.2.3.4:8080", []string{"http://1.2.3.4:8080/"}, []string{"http://1.2.3.4/"}},
		{"[2001:db8::1]", []string{"http://[2001:db8::1]/", "http://[2001:0DB8:0::1]:81/"},
			[]string{"http://[2001:db8::2]/"}},
		{"2001:db8::1", []string{"http://[2001:db8::1]/"}, nil},
		{"[2001:db8::1]:80", []string{"http://[2001:db8::1]/"}, []string{"https://[2001:db8::1]/"}},
		{"http://[2001:db8::1]:8080", []string{"http://[2001:db8::1]:8080/"}, []string{"https://[2001:db8::1]:8080/"}},
		// CIDR blocks, IPv4 ones matching IPv4-mapped literals too.
		{"10.0.0.0/8", []string{"http://10.0.0.1/", "http://10.255.255.255:81/", "http://[::ffff:10.1.2.3]/"},
			[]string{"http://11.0.0.1/", "http://[2001:db8::1]/", "http://10.example/"}},
		{"192.168.1.1/16", []string{"http://192.168.200.3/"}, []string{"http://192.169.0.1/"}},
		{"0.0.0.0/0", []string{"http://8.8.8.8/", "http://[::ffff:8.8.8.8]/"}, []string{"http://[2001:db8::1]/", "http://host/"}},
		{"2001:db8::/32", []string{"http://[2001:db8:1::5]/"}, []string{"http://[2001:db9::1]/", "http://10.0.0.1/"}},
		{"[2001:db8::]/32", []string{"http://[2001:db8:1::5]/"}, nil},
		{"::ffff:10.0.0.0/104", []string{"http://10.2.3.4/", "http://[::ffff:10.2.3.4]/"}, []string{"http://11.2.3.4/"}},
		// <local>: a host without a dot that is not an IP literal.
		{"<local>", []string{"http://intranet/", "https://printer:631/"},
			[]string{"http://intranet.corp/", "http://10.0.0.1/", "http://[2001:db8::1]/", "http://[::ffff:10.0.0.1]/"}},
		{"<LOCAL>", []string{"http://intranet/"}, nil},
		// Several rules, both separators and spaces.
		{" a.com ; b.com,, c.com ;", []string{"http://a.com/", "http://b.com/", "http://c.com/"}, []string{"http://d.com/"}},
		// The implicit rules apply with any list.
		{"", []string{"http://localhost/", "http://LOCALHOST./", "http://a.localhost/", "http://127.0.0.1/",
			"http://127.1.2.3:8080/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://169.254.1.1/",
			"http://[fe80::1]/", "http://[fe80::1%25eth0]/"},
			[]string{"http://localhostx/", "http://10.0.0.1/", "http://[::2]/", "http://[fec0::1]/", "http://example.com/"}},
		// <-loopback> removes them.
		{"<-loopback>", nil, []string{"http://localhost/", "http://a.localhost/", "http://127.0.0.1/", "http://[::1]/",
			"http://169.254.1.1/", "http://[fe80::1]/", "http://example.com/"}},
		{"<-Loopback>; example.com", []string{"http://example.com/"}, []string{"http://localhost/"}},
		// The first rule that matches decides.
		{"localhost; <-loopback>", []string{"http://localhost/"}, []string{"http://127.0.0.1/"}},
		{"<-loopback>; localhost", nil, []string{"http://localhost/"}},
	} {
		r := mustBypass(t, tc.rules)
		for _, s := range tc.yes {
			if !r.Matches(mustURL(t, s), false) {
				t.Errorf("%q: %s does not match", tc.rules, s)
			}
			if !r.Bypasses(mustURL(t, s)) {
				t.Errorf("%q: %s is not bypassed", tc.rules, s)
			}
		}
		for _, s := range tc.no {
			if r.Matches(mustURL(t, s), false) {
				t.Errorf("%q: %s matches", tc.rules, s)
			}
		}
	}
}

func TestBypassRulesMatchesReverse(t *testing.T) {
	for _, tc := range []struct {
		rules, url string
		want       bool
	}{
		// An explicit match gives !reverse, no match gives reverse.
		{"example.com", "http://example.com/", false},
		{"example.com", "http://other.com/", true},
		{"", "http://other.com/", true},
		// The implicit rules bypass even when reversed...
		{"example.com", "http://localhost/", true},
		{"example.com", "http://[::1]/", true},
		// ...unless <-loopback> says otherwise: then reverse decides.
		{"<-loopback>", "http://localhost/", true},
		{"<-loopback>", "http://127.0.0.1/", true},
		{"<-loopback>", "http://example.com/", true},
		{"<-loopback>; example.com", "http://example.com/", false},
		// An explicit rule that names an implicit host comes first.
		{"127.0.0.1", "http://127.0.0.1/", false},
	} {
		if got := mustBypass(t, tc.rules).Matches(mustURL(t, tc.url), true); got != tc.want {
			t.Errorf("%q reversed on %s = %v, want %v", tc.rules, tc.url, got, tc.want)
		}
	}
}

func TestBypassRulesStrings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"<Local>;<-LOOPBACK>", []string{"<local>", "<-loopback>"}},
		{".Example.com", []string{"*.example.com"}},
		{"HTTP://*.Example.com:8080", []string{"http://*.example.com:8080"}},
		{"10.0.0.0/8, 192.168.1.1/16", []string{"10.0.0.0/8", "192.168.1.1/16"}},
		{"[FE80::]/10; fe80::/10", []string{"fe80::/10", "fe80::/10"}},
		{"https://10.0.0.0/8", []string{"https://10.0.0.0/8"}},
		{"1.2.3.4;1.2.3.4:8080", []string{"1.2.3.4", "1.2.3.4:8080"}},
		{"[::1]:80; [0::1]; 2001:DB8::1", []string{"[::1]:80", "[::1]", "[2001:db8::1]"}},
		{"ws://[::1]:80", []string{"ws://[::1]:80"}},
		{"*", []string{"*"}},
	} {
		r := mustBypass(t, tc.in)
		got := r.Strings()
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: Strings() = %q, want %q", tc.in, got, tc.want)
		}
		if s := r.String(); s != strings.Join(tc.want, ";") {
			t.Errorf("%q: String() = %q", tc.in, s)
		}
		// The canonical form reads back as the same rules.
		if again := mustBypass(t, r.String()); !reflect.DeepEqual(again, r) {
			t.Errorf("%q: %q reads back as %q", tc.in, r.String(), again.String())
		}
	}
}

func TestBypassRulesFlags(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		keepLoopback, empty bool
	}{
		{"", false, true},
		{" ; , ", false, true},
		{"<-loopback>", true, false},
		{"a.com", false, false},
		{"a.com;<-loopback>", true, false},
	} {
		r := mustBypass(t, tc.in)
		if r.KeepLoopback() != tc.keepLoopback || r.IsEmpty() != tc.empty {
			t.Errorf("%q: KeepLoopback %v IsEmpty %v, want %v %v", tc.in, r.KeepLoopback(), r.IsEmpty(), tc.keepLoopback, tc.empty)
		}
	}
	var zero BypassRules
	if !zero.IsEmpty() || zero.KeepLoopback() || zero.String() != "" {
		t.Error("the zero BypassRules is not empty")
	}
}

func TestParseBypassRulesErrors(t *testing.T) {
	for _, tc := range []struct{ in, bad string }{
		{"10.0.0.0/33", "10.0.0.0/33"},
		{"::/129", "::/129"},
		{"10.0.0.0/x", "10.0.0.0/x"},
		{"example.com/8", "example.com/8"},
		{"[::1", "[::1"},
		{"::1]", "::1]"},
		{"[1.2.3.4]", "[1.2.3.4]"},
		{"host:99999", "host:99999"},
		{"host:-1", "host:-1"},
		{"host:", "host:"},
		{"host:http", "host:http"},
		{"[::1]:65536", "[::1]:65536"},
		{"http://", "http://"},
		{"://host", "://host"},
		{"1http://host", "1http://host"},
		{"a.com; bad host; b.com", "bad host"},
		{"http://<local>", "http://<local>"},
		{"user@host", "user@host"},
		{"host?", "host?"},
	} {
		_, err := ParseBypassRules(tc.in)
		if err == nil {
			t.Errorf("ParseBypassRules(%q) succeeded", tc.in)
			continue
		}
		if !strings.Contains(err.Error(), "\""+tc.bad+"\"") {
			t.Errorf("ParseBypassRules(%q) error %q does not name %q", tc.in, err, tc.bad)
		}
	}
}

func TestIsImplicitlyBypassed(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost.": true, "foo.localhost": true, "foo.localhost.": true,
		"127.0.0.1": true, "127.255.0.9": true, "::1": true, "[::1]": true, "::ffff:127.0.0.1": true,
		"169.254.3.4": true, "fe80::1": true, "fe80::1%eth0": true, "[fe80::abcd]": true, "::ffff:169.254.0.1": true,
		"localhost.com": false, "10.0.0.1": false, "::2": false, "128.0.0.1": false, "": false,
	} {
		if got := IsImplicitlyBypassed(host); got != want {
			t.Errorf("IsImplicitlyBypassed(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestMatchWildcard(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"**", "abc", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"*.a.*", "x.a.y", true},
		{"*.a.*", "x.ay", false},
		{"*ab*ab", "abxabab", true},
		{"a*b*c*d", "abcbcbd", true},
		{"a*b*c*d", "abcbcb", false},
	} {
		if got := matchWildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("matchWildcard(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}
