package pac

import (
	"testing"
)

func TestIsPlainHostName(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`isPlainHostName("www")`:             "true",
		`isPlainHostName("localhost")`:       "true",
		`isPlainHostName("")`:                "true",
		`isPlainHostName("www.example.com")`: "false",
		`isPlainHostName("www.")`:            "false",
		`isPlainHostName("127.0.0.1")`:       "false",
		// IP literals without a dot are not plain either.
		`isPlainHostName("::1")`:        "false",
		`isPlainHostName("fe80::1")`:    "false",
		`isPlainHostName("2001:db8::")`: "false",
		`isPlainHostName("2130706433")`: "false", // 127.0.0.1 as one number
		`isPlainHostName("0x7f000001")`: "false",
		`isPlainHostName("1")`:          "false",
		`isPlainHostName("4294967296")`: "true", // too large for IPv4
		`isPlainHostName("[::1]")`:      "true", // brackets make it no literal
		`isPlainHostName("foo:bar")`:    "true",
		`isPlainHostName("fe80::1%1")`:  "true", // zones are not literals
		`isPlainHostName("0x")`:         "false",
		`isPlainHostName("09")`:         "true", // not octal, so a name
	})
	evalThrows(t, Options{}, map[string]string{
		`isPlainHostName()`:                   "TypeError: Requires 1 string parameter",
		`isPlainHostName(5)`:                  "TypeError: Requires 1 string parameter",
		`isPlainHostName(new String("host"))`: "TypeError: Requires 1 string parameter",
	})
}

func TestDnsDomainIs(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`dnsDomainIs("www.example.com", ".example.com")`: "true",
		`dnsDomainIs("www.example.com", "example.com")`:  "true",
		`dnsDomainIs("wwwexample.com", "example.com")`:   "true", // a plain suffix test
		`dnsDomainIs("www.example.com", ".EXAMPLE.com")`: "false",
		`dnsDomainIs("example.com", ".example.com")`:     "false",
		`dnsDomainIs("www.example.com", "")`:             "true",
		`dnsDomainIs("www.example.org", ".example.com")`: "false",
		`dnsDomainIs(5, "5")`:                            "false",
	})
	evalThrows(t, Options{}, map[string]string{
		`dnsDomainIs()`: "TypeError",
	})
}

func TestLocalHostOrDomainIs(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`localHostOrDomainIs("www.example.com", "www.example.com")`: "true",
		`localHostOrDomainIs("www", "www.example.com")`:             "true",
		`localHostOrDomainIs("www.example", "www.example.com")`:     "true",
		`localHostOrDomainIs("www.example.org", "www.example.com")`: "false",
		`localHostOrDomainIs("home", "www.example.com")`:            "false",
		`localHostOrDomainIs("ww", "www.example.com")`:              "false",
		`localHostOrDomainIs("", ".example.com")`:                   "true",
	})
}

func TestDnsDomainLevels(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`dnsDomainLevels("www")`:             "0",
		`dnsDomainLevels("www.example.com")`: "2",
		`dnsDomainLevels("")`:                "0",
		`dnsDomainLevels(".")`:               "1",
		`dnsDomainLevels("a.b.c.d.")`:        "4",
	})
}

func TestShExpMatch(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`shExpMatch("www.example.com", "*.example.com")`:                  "true",
		`shExpMatch("example.com", "*.example.com")`:                      "false",
		`shExpMatch("http://host/path/x.html", "*/path/*")`:               "true",
		`shExpMatch("wwwXexample.com", "www.example.com")`:                "false", // "." is literal
		`shExpMatch("abc", "a?c")`:                                        "true",
		`shExpMatch("ac", "a?c")`:                                         "false",
		`shExpMatch("abbc", "a?c")`:                                       "false",
		`shExpMatch("anything at all", "*")`:                              "true",
		`shExpMatch("", "")`:                                              "true",
		`shExpMatch("x", "")`:                                             "false",
		`shExpMatch("xwww.example.com", "www.example.com")`:               "false", // anchored
		`shExpMatch("www.example.comx", "www.example.com")`:               "false",
		`shExpMatch("ab", "a[bc]")`:                                       "true", // other metacharacters stay regex
		`shExpMatch("a[bc]", "a[bc]")`:                                    "false",
		`shExpMatch("aab", "a+b")`:                                        "true",
		`shExpMatch("a+b", "a+b")`:                                        "false",
		`shExpMatch("host", "host|other")`:                                "true",
		`shExpMatch("http://www.example.com:8080/", "*.example.com:80*")`: "true",
	})
	evalThrows(t, Options{}, map[string]string{
		`shExpMatch("a[b", "a[b")`: "SyntaxError",
		`shExpMatch("x", 5)`:       "TypeError",
	})
}

func TestIsValidIpAddressAndConvertAddr(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`isValidIpAddress("1.2.3.4")`:         "true",
		`isValidIpAddress("255.255.255.255")`: "true",
		`isValidIpAddress("01.2.3.4")`:        "true",
		`isValidIpAddress("256.1.1.1")`:       "false",
		`isValidIpAddress("1.2.3")`:           "false",
		`isValidIpAddress("1.2.3.4.5")`:       "false",
		`isValidIpAddress("1234.1.1.1")`:      "false",
		`isValidIpAddress("1.2.3.4 ")`:        "false",
		`isValidIpAddress("::1")`:             "false",
		`isValidIpAddress()`:                  "false",
		`convert_addr("1.2.3.4")`:             "16909060",
		`convert_addr("255.255.255.255")`:     "-1",
		`convert_addr("0.0.0.0")`:             "0",
	})
}

func TestIsInNet(t *testing.T) {
	host := newFakeHost().
		set("intranet.corp", "10.5.5.5").
		set("mixed.corp", "2001:db8::1", "10.6.6.6").
		set("v6only.corp", "2001:db8::2")
	opts := Options{Host: host}
	evalCases(t, opts, map[string]string{
		`isInNet("10.1.2.3", "10.0.0.0", "255.0.0.0")`:           "true",
		`isInNet("11.1.2.3", "10.0.0.0", "255.0.0.0")`:           "false",
		`isInNet("10.1.2.3", "10.1.2.3", "255.255.255.255")`:     "true",
		`isInNet("10.1.2.4", "10.1.2.3", "255.255.255.255")`:     "false",
		`isInNet("192.168.1.1", "0.0.0.0", "0.0.0.0")`:           "true",
		`isInNet("172.20.1.1", "172.16.0.0", "255.240.0.0")`:     "true",
		`isInNet("172.32.1.1", "172.16.0.0", "255.240.0.0")`:     "false",
		`isInNet("intranet.corp", "10.0.0.0", "255.0.0.0")`:      "true",
		`isInNet("intranet.corp", "192.168.0.0", "255.255.0.0")`: "false",
		`isInNet("mixed.corp", "10.6.0.0", "255.255.0.0")`:       "true", // the IPv4 answer is used
		`isInNet("v6only.corp", "0.0.0.0", "0.0.0.0")`:           "false",
		`isInNet("unknown.corp", "0.0.0.0", "0.0.0.0")`:          "false",
		// A bad pattern or mask is false without any lookup.
		`isInNet("10.1.2.3", "10.0.0", "255.0.0.0")`:      "false",
		`isInNet("10.1.2.3", "10.0.0.0", "255.0.0")`:      "false",
		`isInNet("10.1.2.3", "10.0.0.0", "256.0.0.0")`:    "false",
		`isInNet("10.1.2.3", "10.0.0.0/8", "255.0.0.0")`:  "false",
		`isInNet("10.1.2.3")`:                             "false",
		`isInNet("10.1.2.3", "10.0.0.0", "255.0.0.0", 1)`: "true",
	})
	if n := host.countCalls("10.1.2.3/false"); n != 0 {
		t.Errorf("a dotted quad was resolved %d times", n)
	}
}

func TestIsResolvable(t *testing.T) {
	host := newFakeHost().set("v4.test", "192.0.2.1").set("v6.test", "2001:db8::1")
	opts := Options{Host: host}
	evalCases(t, opts, map[string]string{
		`isResolvable("v4.test")`:        "true",
		`isResolvable("v6.test")`:        "false", // dnsResolve is IPv4-only
		`isResolvable("missing.test")`:   "false",
		`isResolvable(5)`:                "false",
		`isResolvableEx("v4.test")`:      "true",
		`isResolvableEx("v6.test")`:      "true",
		`isResolvableEx("missing.test")`: "false",
		// Chromium's dnsResolveEx returns undefined for a non-string, which
		// is != "", so isResolvableEx says true.
		`isResolvableEx(5)`: "true",
	})
	evalCases(t, Options{}, map[string]string{
		`isResolvable("v4.test")`:   "false",
		`isResolvableEx("v4.test")`: "false",
	})
}

func TestSortIpAddressList(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`sortIpAddressList("10.2.3.9;2001:4860:4860::8844;2001:4860:4860::8888;8.8.8.8")`: "2001:4860:4860::8844;2001:4860:4860::8888;8.8.8.8;10.2.3.9",
		`sortIpAddressList("2001:db8::2;10.0.0.1;2001:db8::1")`:                           "2001:db8::1;2001:db8::2;10.0.0.1",
		`sortIpAddressList("::ffff:1.2.3.4;1.2.3.4;::1")`:                                 "::1;::ffff:1.2.3.4;1.2.3.4",
		`sortIpAddressList("127.0.0.1")`:                                                  "127.0.0.1",
		// Stable: equal addresses keep their order and their spelling.
		`sortIpAddressList("1.2.3.4;01.2.3.4")`:   "1.2.3.4;01.2.3.4",
		`sortIpAddressList("01.2.3.4;1.2.3.4")`:   "01.2.3.4;1.2.3.4",
		`sortIpAddressList("::1;0:0::1;1.1.1.1")`: "::1;0:0::1;1.1.1.1",
		// Spaces and tabs anywhere are removed; empty items are skipped.
		"sortIpAddressList(' 10.0.0.1 ;\\t:: 1 ')": "::1;10.0.0.1",
		`sortIpAddressList(";;1.2.3.4;")`:          "1.2.3.4",
		`sortIpAddressList("1 0.0.0.1")`:           "10.0.0.1",
		// Anything unparsable or empty is false.
		`sortIpAddressList("")`:                "false",
		`sortIpAddressList(";")`:               "false",
		`sortIpAddressList("; ;")`:             "false",
		`sortIpAddressList("1.2.3.4;x")`:       "false",
		`sortIpAddressList("1.2.3.4,5.6.7.8")`: "false",
		`sortIpAddressList("fe80::1%eth0")`:    "false",
		`sortIpAddressList("[::1]")`:           "false",
		`sortIpAddressList("1.2.3.4\n")`:       "false",
		// A non-string, or non-ASCII, is null.
		`sortIpAddressList()`:                      "null",
		`sortIpAddressList(5)`:                     "null",
		`sortIpAddressList(new String("1.2.3.4"))`: "null",
		`sortIpAddressList("1.2.3.4;é")`:           "null",
	})
}

func TestIsInNetEx(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`isInNetEx("198.95.249.79", "198.95.249.79/32")`:                             "true",
		`isInNetEx("198.95.6.8", "198.95.0.0/16")`:                                   "true",
		`isInNetEx("198.96.6.8", "198.95.0.0/16")`:                                   "false",
		`isInNetEx("10.1.2.3", "0.0.0.0/0")`:                                         "true",
		`isInNetEx("10.1.2.3", "10.1.2.2/31")`:                                       "true",
		`isInNetEx("10.1.2.4", "10.1.2.2/31")`:                                       "false",
		`isInNetEx("3ffe:8311:ffff:abcd:1234:dead:beef:101", "3ffe:8311:ffff::/48")`: "true",
		`isInNetEx("3ffe:8311:fffe:abcd::1", "3ffe:8311:ffff::/48")`:                 "false",
		`isInNetEx("::1", "::/0")`:                                                   "true",
		`isInNetEx("::1", "::1/128")`:                                                "true",
		// Mixed families go through the IPv4-mapped form.
		`isInNetEx("::ffff:10.1.2.3", "10.0.0.0/8")`:   "true",
		`isInNetEx("::ffff:11.1.2.3", "10.0.0.0/8")`:   "false",
		`isInNetEx("10.1.2.3", "::ffff:10.0.0.0/104")`: "true",
		`isInNetEx("10.1.2.3", "::ffff:0:0/96")`:       "true",
		`isInNetEx("10.1.2.3", "2001:db8::/32")`:       "false",
		`isInNetEx("2001:db8::1", "10.0.0.0/8")`:       "false",
		`isInNetEx("10.1.2.3", " 10.0.0.0 / 8 ")`:      "true",
		`isInNetEx("0x0a.1.2.3", "10.0.0.0/8")`:        "true",
		// Bad input is false.
		`isInNetEx("x", "10.0.0.0/8")`:          "false",
		`isInNetEx("10.1.2.3", "10.0.0.0")`:     "false",
		`isInNetEx("10.1.2.3", "10.0.0.0/33")`:  "false",
		`isInNetEx("::1", "::/129")`:            "false",
		`isInNetEx("10.1.2.3", "10.0.0.0/-1")`:  "false",
		`isInNetEx("10.1.2.3", "10.0.0.0/+8")`:  "false",
		`isInNetEx("10.1.2.3", "10.0.0.0/8/8")`: "false",
		`isInNetEx("10.1.2.3", "10.0.0.0/")`:    "false",
		`isInNetEx("10.1.2.3", "/8")`:           "false",
		`isInNetEx("10.1.2.3 ", "10.0.0.0/8")`:  "false",
		`isInNetEx("[::1]", "::/0")`:            "false",
		`isInNetEx("10.1.2.3", "10.0.0.0/８")`:   "false",
		// Missing or non-string arguments are null.
		`isInNetEx()`:                          "null",
		`isInNetEx("10.1.2.3")`:                "null",
		`isInNetEx(5, "10.0.0.0/8")`:           "null",
		`isInNetEx("10.1.2.3", null)`:          "null",
		`isInNetEx(new String("::1"), "::/0")`: "null",
	})
}

func TestAlertDefinedAndUndefinedHelpers(t *testing.T) {
	evalCases(t, Options{}, map[string]string{
		`typeof alert`:             "function",
		`alert("x")`:               "undefined",
		`typeof getClientVersion`:  "undefined",
		`typeof FindProxyForURLEx`: "undefined",
		`typeof isResolvableEx`:    "function",
		`typeof convert_addr`:      "function",
	})
	evalThrows(t, Options{}, map[string]string{
		`getClientVersion()`: "ReferenceError: getClientVersion is not defined",
	})
}

// The library calls its helpers through the global object, as Chromium's
// does, so a script can replace dnsResolve under isInNet.
func TestLibraryUsesGlobalHelpers(t *testing.T) {
	src := `function dnsResolve(h) { return h == "fake" ? "10.9.9.9" : null; }
function FindProxyForURL(url, host) {
  return String(isInNet("fake", "10.9.0.0", "255.255.0.0")) + String(isResolvable("fake"));
}`
	s := mustCompile(t, src, Options{})
	r, err := s.FindProxyForURL(t.Context(), "http://fake/", "fake")
	if err != nil || r.PAC != "truetrue" {
		t.Fatalf("got %q, %v", r.PAC, err)
	}
}
