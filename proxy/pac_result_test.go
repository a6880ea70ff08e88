package proxy

import (
	"reflect"
	"testing"
)

func TestParsePACElement(t *testing.T) {
	one := func(s Scheme, host string, port uint16) Chain { return Chain{{Scheme: s, Host: host, Port: port}} }
	for _, tc := range []struct {
		in   string
		want Chain // nil: invalid
	}{
		{"DIRECT", DirectChain()},
		{"  direct\t", DirectChain()},
		{"Direct", DirectChain()},
		{"PROXY proxy:8080", one(SchemeHTTP, "proxy", 8080)},
		{"proxy proxy", one(SchemeHTTP, "proxy", 80)},
		{"HTTPS secure.example", one(SchemeHTTPS, "secure.example", 443)},
		{"https secure.example:8443", one(SchemeHTTPS, "secure.example", 8443)},
		{"SOCKS s", one(SchemeSOCKS4, "s", 1080)},
		{"socks s:9", one(SchemeSOCKS4, "s", 9)},
		{"SOCKS4 s", one(SchemeSOCKS4, "s", 1080)},
		{"SOCKS5 s", one(SchemeSOCKS5, "s", 1080)},
		{"Socks5 s:1081", one(SchemeSOCKS5, "s", 1081)},
		{"PROXY Proxy.Example.COM:3128", one(SchemeHTTP, "proxy.example.com", 3128)},
		{"PROXY 10.1.2.3", one(SchemeHTTP, "10.1.2.3", 80)},
		{"PROXY [::1]:8080", one(SchemeHTTP, "::1", 8080)},
		{"SOCKS5 [2001:DB8::1]", one(SchemeSOCKS5, "2001:db8::1", 1080)},
		{"PROXY my_proxy:65535", one(SchemeHTTP, "my_proxy", 65535)},
		{"\t PROXY \t\t p:1 \t", one(SchemeHTTP, "p", 1)},
		{"PROXY\tp", one(SchemeHTTP, "p", 80)},

		{"", nil},
		{"   ", nil},
		{"DIRECT x", nil},
		{"DIRECT:80", nil},
		{"PROXY", nil},
		{"PROXY ", nil},
		{"PROXY :80", nil},
		{"PROXY p:0", nil},
		{"PROXY p:65536", nil},
		{"PROXY p:http", nil},
		{"PROXY p:", nil},
		{"PROXY p:+80", nil},
		{"PROXY p q", nil},
		{"PROXY p:80 q", nil},
		{"PROXY http://p", nil},
		{"PROXY user@p", nil},
		{"PROXY p/x", nil},
		{"PROXY ::1", nil},
		{"PROXY [::1", nil},
		{"PROXY [1.2.3.4]", nil},
		{"PROXY [fe80::1%eth0]", nil},
		{"QUIC q:443", nil},
		{"SOCKS4A s", nil},
		{"HTTP p", nil},
		{"FOO p", nil},
		{"PROXYp:80", nil},
	} {
		got, ok := ParsePACElement(tc.in)
		if ok != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePACElement(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}

func TestParsePACString(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"PROXY a:80; SOCKS b; SOCKS5 c; HTTPS d; DIRECT", "PROXY a:80; SOCKS b:1080; SOCKS5 c:1080; HTTPS d:443; DIRECT"},
		{"proxy A;socks4 b:1;direct", "PROXY a:80; SOCKS b:1; DIRECT"},
		{"PROXY a:80;;  ;PROXY b:81;", "PROXY a:80; PROXY b:81"},
		{"QUIC q:443; PROXY a; bogus; PROXY b:99999; SOCKS5 [::1]:1", "PROXY a:80; SOCKS5 [::1]:1"},
		{"PROXY a; PROXY a", "PROXY a:80; PROXY a:80"},
		{"", "DIRECT"},
		{";;", "DIRECT"},
		{"QUIC q:443", "DIRECT"},
		{"PROXY; SOCKS; DIRECT x", "DIRECT"},
	} {
		l := ParsePACString(tc.in)
		if got := l.PACString(); got != tc.want {
			t.Errorf("ParsePACString(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Chromium's canonical form reads back as the same list.
		if again := ParsePACString(l.PACString()); !reflect.DeepEqual(again, l) {
			t.Errorf("%q does not round-trip: %v", l.PACString(), again)
		}
	}
	if l := ParsePACString("garbage"); !reflect.DeepEqual(l, List{DirectChain()}) {
		t.Errorf("all invalid: %v, want a single DIRECT", l)
	}
}
