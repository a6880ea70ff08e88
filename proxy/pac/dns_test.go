package pac

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDNSHelpers(t *testing.T) {
	host := newFakeHost().
		set("mixed.test", "2001:db8::1", "10.0.0.1", "10.0.0.2").
		set("v6.test", "2001:db8::2").
		set("mapped.test", "::ffff:192.0.2.7").
		set("zoned.test", "fe80::1%eth0")
	host.my = []netip.Addr{netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("192.168.1.5")}
	host.myEx = []netip.Addr{netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("192.168.1.5")}
	evalCases(t, Options{Host: host}, map[string]string{
		`dnsResolve("mixed.test")`:        "10.0.0.1", // the first IPv4 answer
		`dnsResolve("v6.test")`:           "null",     // IPv4 only
		`dnsResolve("mapped.test")`:       "192.0.2.7",
		`dnsResolve("missing.test")`:      "null",
		`dnsResolve()`:                    "null",
		`dnsResolve(5)`:                   "null",
		`dnsResolve(new String("x"))`:     "null",
		`dnsResolveEx("mixed.test")`:      "2001:db8::1;10.0.0.1;10.0.0.2",
		`dnsResolveEx("v6.test")`:         "2001:db8::2",
		`dnsResolveEx("zoned.test")`:      "fe80::1",
		`dnsResolveEx("missing.test")`:    "",
		`dnsResolveEx()`:                  "undefined",
		`dnsResolveEx(5)`:                 "undefined",
		`myIpAddress()`:                   "192.168.1.5",
		`myIpAddressEx()`:                 "2001:db8::5;192.168.1.5",
		`typeof dnsResolve("mixed.test")`: "string",
	})

	failing := newFakeHost()
	for _, opts := range []Options{{}, {Host: failing}} {
		evalCases(t, opts, map[string]string{
			`dnsResolve("mixed.test")`:   "null",
			`dnsResolveEx("mixed.test")`: "",
			`myIpAddress()`:              "127.0.0.1",
			`myIpAddressEx()`:            "",
		})
	}

	v6 := newFakeHost()
	v6.my = []netip.Addr{netip.MustParseAddr("2001:db8::9")}
	evalCases(t, Options{Host: v6}, map[string]string{
		`myIpAddress()`: "2001:db8::9",
	})
}

func TestDNSPunycode(t *testing.T) {
	host := newFakeHost().set("xn--bcher-kva.example", "192.0.2.1")
	evalCases(t, Options{Host: host}, map[string]string{
		`dnsResolve("bücher.example")`:                            "192.0.2.1",
		`dnsResolve("BÜCHER.example")`:                            "192.0.2.1", // mapped to lower case
		`dnsResolveEx("bücher.example")`:                          "192.0.2.1",
		`isInNet("bücher.example", "192.0.2.0", "255.255.255.0")`: "true",
		`dnsResolve("a\u200db.example")`:                          "null", // invalid IDN: no lookup
	})
	for _, c := range host.callLog() {
		if strings.ContainsFunc(c, func(r rune) bool { return r >= 0x80 }) {
			t.Errorf("Host saw a non-ASCII name: %q", c)
		}
	}
	if n := host.countCalls("xn--bcher-kva.example/false"); n == 0 {
		t.Errorf("Host never saw the punycode name; calls %v", host.callLog())
	}
}

// One run asks Host once per (name, family), however often the script asks.
func TestDNSPerCallCache(t *testing.T) {
	host := newFakeHost().set("a.test", "192.0.2.1")
	host.my = []netip.Addr{netip.MustParseAddr("192.0.2.9")}
	src := `function FindProxyForURL(url, host) {
  var r = [];
  for (var i = 0; i < 5; i++) {
    r.push(dnsResolve("missing.test"), dnsResolveEx("missing.test"), isResolvable("a.test"),
      isInNet("a.test", "192.0.2.0", "255.255.255.0"), myIpAddress(), myIpAddressEx());
  }
  return r.join(",");
}`
	s := mustCompile(t, src, Options{Host: host})
	if _, err := s.FindProxyForURL(t.Context(), "http://x/", "x"); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"missing.test/false": 1, "missing.test/true": 1, "a.test/false": 1, "my/false": 1, "my/true": 1}
	for q, n := range want {
		if got := host.countCalls(q); got != n {
			t.Errorf("%s asked %d times, want %d (calls %v)", q, got, n, host.callLog())
		}
	}
	// A second run asks again for what failed (failures are not shared
	// between calls) but not for what succeeded (the Script's cache).
	if _, err := s.FindProxyForURL(t.Context(), "http://x/", "x"); err != nil {
		t.Fatal(err)
	}
	if got := host.countCalls("missing.test/false"); got != 2 {
		t.Errorf("missing.test asked %d times after two calls, want 2", got)
	}
	if got := host.countCalls("a.test/false"); got != 1 {
		t.Errorf("a.test asked %d times after two calls, want 1", got)
	}
}

// Beyond 20 distinct questions in one run, every new one fails without
// asking Host; earlier answers still come from the run's cache.
func TestDNSResolveCap(t *testing.T) {
	host := newFakeHost()
	for i := range 30 {
		host.set(fmt.Sprintf("h%d.test", i), fmt.Sprintf("192.0.2.%d", i))
	}
	src := `function FindProxyForURL(url, host) {
  var r = [];
  for (var i = 0; i < 25; i++) r.push(dnsResolve("h" + i + ".test"));
  r.push(dnsResolve("h0.test"), myIpAddress());
  return r.join(",");
}`
	s := mustCompile(t, src, Options{Host: host})
	r, err := s.FindProxyForURL(t.Context(), "http://x/", "x")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(r.PAC, ",")
	for i := range 25 {
		want := ""
		if i < maxResolvesPerCall {
			want = fmt.Sprintf("192.0.2.%d", i)
		}
		if got[i] != want {
			t.Errorf("dnsResolve(h%d) = %q, want %q", i, got[i], want)
		}
	}
	if got[25] != "192.0.2.0" || got[26] != "127.0.0.1" {
		t.Errorf("after the cap: %q, %q", got[25], got[26])
	}
	if n := len(host.callLog()); n != maxResolvesPerCall {
		t.Errorf("Host asked %d times, want %d", n, maxResolvesPerCall)
	}
}

// The Script shares successful answers between calls for 5 seconds of
// Options.Now.
func TestDNSCrossCallCache(t *testing.T) {
	clock := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	host := newFakeHost().set("a.test", "192.0.2.1", "2001:db8::1")
	s := mustCompile(t, exprScript(`dnsResolve("a.test") + dnsResolveEx("a.test")`), Options{Host: host, Now: clock.Now})
	call := func() {
		t.Helper()
		r, err := s.FindProxyForURL(t.Context(), "http://x/", "x")
		if err != nil || r.PAC != "192.0.2.1192.0.2.1;2001:db8::1" {
			t.Fatalf("got %q, %v", r.PAC, err)
		}
	}
	call()
	call()
	clock.advance(dnsCacheTTL - time.Millisecond)
	call()
	if got := host.callLog(); !slices.Equal(got, []string{"a.test/false", "a.test/true"}) {
		t.Fatalf("calls within the TTL: %v", got)
	}
	clock.advance(time.Millisecond)
	call()
	if got := len(host.callLog()); got != 4 {
		t.Fatalf("after the TTL Host was asked %d times in all, want 4", got)
	}
}

func TestDNSCacheEviction(t *testing.T) {
	clock := &fakeClock{t: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c := newDNSCache(clock.Now)
	addr := []netip.Addr{netip.MustParseAddr("192.0.2.1")}
	for i := range dnsCacheSize {
		c.put(fmt.Sprintf("h%d", i), false, addr)
		clock.advance(time.Microsecond)
	}
	c.put("h0", false, addr) // refreshing an entry evicts nothing
	c.put("new", false, addr)
	if len(c.entries) != dnsCacheSize {
		t.Fatalf("%d entries, want %d", len(c.entries), dnsCacheSize)
	}
	if _, ok := c.get("h1", false); ok {
		t.Error("the oldest entry survived")
	}
	for _, h := range []string{"h0", "h2", "new"} {
		if _, ok := c.get(h, false); !ok {
			t.Errorf("%s was evicted", h)
		}
	}
	if _, ok := c.get("h2", true); ok {
		t.Error("families share entries")
	}
	clock.advance(dnsCacheTTL)
	c.put("later", false, addr) // expired entries make room first
	if len(c.entries) > 3 {
		t.Errorf("%d entries after expiry, want the fresh ones only", len(c.entries))
	}
}

// A lookup blocked in Host is cut by the call's time limit, and the call
// fails as timed out.
func TestDNSBlockedByTimeLimit(t *testing.T) {
	host := newFakeHost()
	host.onResolve = func(ctx context.Context, _ string) error {
		<-ctx.Done()
		return ctx.Err()
	}
	s := mustCompile(t, exprScript(`dnsResolve("slow.test")`), Options{Host: host, TimeLimit: 100 * time.Millisecond})
	done := make(chan error, 1)
	go func() {
		_, err := s.FindProxyForURL(context.Background(), "http://x/", "x")
		done <- err
	}()
	select {
	case err := <-done:
		se, ok := err.(*ScriptError)
		if !ok || !se.TimedOut {
			t.Fatalf("err = %v, want a timed-out ScriptError", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked lookup outlived the time limit")
	}
	host.mu.Lock()
	defer host.mu.Unlock()
	if len(host.deadline) == 0 || !host.deadline[0] {
		t.Error("Host's ctx carried no deadline")
	}
}
