package dns

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// hcT0 is a fixed clock origin; the cache takes now from its caller, so tests
// drive time by hand as Chromium's tests do with base::TimeTicks.
var hcT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func hcKey(host string) HostCacheKey { return HostCacheKey{Host: host} }

func hcEntry(addrs ...string) HostCacheEntry {
	e := HostCacheEntry{Source: HostCacheSourceDNS}
	for _, a := range addrs {
		e.Addresses = append(e.Addresses, netip.MustParseAddr(a))
	}
	return e
}

// checkHeaps verifies the heap invariants and that every entry is in exactly
// one heap, at the index it records.
func checkHeaps(t *testing.T, c *HostCache) {
	t.Helper()
	for name, h := range map[string]hostCacheHeap{"current": c.current, "older": c.older} {
		for i, r := range h {
			if r.index != i || r.older != (name == "older") {
				t.Fatalf("%s[%d] = %q with index %d older %v", name, i, r.key.Host, r.index, r.older)
			}
			if i > 0 && r.less(h[(i-1)/2]) {
				t.Fatalf("%s heap order broken at %d", name, i)
			}
			if c.entries[r.key] != r {
				t.Fatalf("%s[%d] %q not in the map", name, i, r.key.Host)
			}
			if (r.networkChanges == c.networkChanges) == r.older {
				t.Fatalf("%q generation %d in %s heap at generation %d", r.key.Host, r.networkChanges, name, c.networkChanges)
			}
		}
	}
	if n := len(c.current) + len(c.older); n != len(c.entries) {
		t.Fatalf("heaps hold %d records, map %d", n, len(c.entries))
	}
}

func TestHostCacheHitMiss(t *testing.T) {
	c := NewHostCache(DefaultHostCacheEntries)
	if c.MaxEntries() != 1000 || c.Len() != 0 {
		t.Fatalf("new cache: max %d len %d", c.MaxEntries(), c.Len())
	}
	if _, ok := c.Lookup(hcKey("example.com"), hcT0); ok {
		t.Fatal("hit in an empty cache")
	}
	e := hcEntry("192.0.2.1", "2001:db8::1")
	e.Aliases = []string{"www.example.com", "example.com"}
	e.TTL = time.Hour // replaced by Set's ttl
	c.Set(hcKey("www.example.com"), e, hcT0, 90*time.Second)

	got, ok := c.Lookup(hcKey("www.example.com"), hcT0.Add(time.Second))
	if !ok {
		t.Fatal("miss after Set")
	}
	if !slices.Equal(got.Addresses, e.Addresses) || !slices.Equal(got.Aliases, e.Aliases) ||
		got.Source != "dns" || got.Err != 0 || got.TTL != 90*time.Second {
		t.Errorf("entry = %+v", got)
	}
	if _, ok := c.Lookup(hcKey("example.com"), hcT0); ok {
		t.Error("hit for another name")
	}
	c.Lookup(hcKey("www.example.com"), hcT0)
	if r := c.entries[hcKey("www.example.com")]; r.hits != 2 || r.staleHits != 0 {
		t.Errorf("hits = %d, stale hits %d; want 2, 0", r.hits, r.staleHits)
	}
	checkHeaps(t, c)
}

func TestHostCacheExpiresAtExactlyTTL(t *testing.T) {
	c := NewHostCache(10)
	c.Set(hcKey("a.test"), hcEntry("192.0.2.1"), hcT0, 10*time.Second)
	if _, ok := c.Lookup(hcKey("a.test"), hcT0.Add(10*time.Second-time.Nanosecond)); !ok {
		t.Error("miss 1 ns before the TTL ends")
	}
	if _, ok := c.Lookup(hcKey("a.test"), hcT0.Add(10*time.Second)); ok {
		t.Error("hit at exactly the TTL; Chromium's entry is stale when expired_by >= 0")
	}
	_, s, ok := c.LookupStale(hcKey("a.test"), hcT0.Add(10*time.Second))
	if !ok || !s.IsStale() || s.ExpiredBy != 0 || s.NetworkChanges != 0 || s.StaleHits != 1 {
		t.Errorf("LookupStale at the TTL = %+v, %v", s, ok)
	}
	_, s, _ = c.LookupStale(hcKey("a.test"), hcT0.Add(4*time.Second))
	if s.IsStale() || s.ExpiredBy != -6*time.Second || s.StaleHits != 1 {
		t.Errorf("LookupStale while fresh = %+v", s)
	}
}

func TestHostCacheNegativeEntries(t *testing.T) {
	c := NewHostCache(10)
	neg := HostCacheEntry{Err: net.ErrNameNotResolved, Source: HostCacheSourceDNS}
	c.Set(hcKey("nx.test"), neg, hcT0, NegativeTTL(300*time.Second, 30*time.Second))
	got, ok := c.Lookup(hcKey("nx.test"), hcT0.Add(29*time.Second))
	if !ok || got.Err != net.ErrNameNotResolved || got.Addresses != nil || got.TTL != 30*time.Second {
		t.Fatalf("negative entry = %+v, %v", got, ok)
	}
	if _, ok := c.Lookup(hcKey("nx.test"), hcT0.Add(30*time.Second)); ok {
		t.Error("negative entry outlived its SOA TTL")
	}

	// A failure without a positive TTL (a system-resolver failure, or an
	// NXDOMAIN without SOA) is not stored, as in HostResolverManager::CacheResult.
	c.Set(hcKey("fail.test"), HostCacheEntry{Err: net.ErrNameNotResolved, Source: HostCacheSourceSystem},
		hcT0, SystemNegativeTTL)
	c.Set(hcKey("nosoa.test"), neg, hcT0, NegativeTTL())
	if _, _, ok := c.LookupStale(hcKey("fail.test"), hcT0); ok {
		t.Error("zero-TTL failure was cached")
	}
	if _, _, ok := c.LookupStale(hcKey("nosoa.test"), hcT0); ok {
		t.Error("NXDOMAIN without SOA was cached")
	}
	// A success with TTL 0 is stored but stale at once.
	c.Set(hcKey("zero.test"), hcEntry("192.0.2.9"), hcT0, 0)
	if _, ok := c.Lookup(hcKey("zero.test"), hcT0); ok {
		t.Error("zero-TTL success is fresh")
	}
	if _, s, ok := c.LookupStale(hcKey("zero.test"), hcT0); !ok || !s.IsStale() {
		t.Error("zero-TTL success not kept as stale")
	}
	// A negative entry replaces a positive one and the reverse.
	c.Set(hcKey("flip.test"), hcEntry("192.0.2.2"), hcT0, time.Minute)
	c.Set(hcKey("flip.test"), neg, hcT0, time.Minute)
	if got, _ := c.Lookup(hcKey("flip.test"), hcT0); got.Err != net.ErrNameNotResolved {
		t.Errorf("replaced by a negative entry: %+v", got)
	}
	if c.Len() != 3 {
		t.Errorf("Len = %d, want 3", c.Len())
	}
	checkHeaps(t, c)
}

// TestHostCacheStale follows Chromium's HostCacheTest.Stale.
func TestHostCacheStale(t *testing.T) {
	c := NewHostCache(DefaultHostCacheEntries)
	key := hcKey("foobar.com")
	now := hcT0
	if _, _, ok := c.LookupStale(key, now); ok {
		t.Fatal("stale hit in an empty cache")
	}
	c.Set(key, hcEntry(), now, 10*time.Second)
	check := func(wantFresh bool, want Staleness) {
		t.Helper()
		if _, ok := c.Lookup(key, now); ok != wantFresh {
			t.Errorf("Lookup ok = %v, want %v", ok, wantFresh)
		}
		_, s, ok := c.LookupStale(key, now)
		if !ok {
			t.Fatal("LookupStale missed")
		}
		if wantFresh {
			if s.IsStale() || s.StaleHits != want.StaleHits {
				t.Errorf("staleness = %+v, want fresh with %d stale hits", s, want.StaleHits)
			}
			return
		}
		if s != want || !s.IsStale() {
			t.Errorf("staleness = %+v, want %+v", s, want)
		}
	}
	check(true, Staleness{})
	now = now.Add(5 * time.Second)
	check(true, Staleness{})
	now = now.Add(10 * time.Second)
	check(false, Staleness{ExpiredBy: 5 * time.Second, StaleHits: 1})
	now = now.Add(5 * time.Second)
	check(false, Staleness{ExpiredBy: 10 * time.Second, StaleHits: 2})
	c.Invalidate()
	check(false, Staleness{ExpiredBy: 10 * time.Second, NetworkChanges: 1, StaleHits: 3})
}

func TestHostCacheInvalidate(t *testing.T) {
	c := NewHostCache(10)
	c.Set(hcKey("a.test"), hcEntry("192.0.2.1"), hcT0, time.Hour)
	c.Set(hcKey("b.test"), hcEntry("192.0.2.2"), hcT0, time.Hour)
	c.Invalidate()
	c.Invalidate()
	if c.NetworkChanges() != 2 || c.Len() != 2 {
		t.Fatalf("network changes %d, len %d", c.NetworkChanges(), c.Len())
	}
	if _, ok := c.Lookup(hcKey("a.test"), hcT0); ok {
		t.Error("fresh hit after a network change")
	}
	got, s, ok := c.LookupStale(hcKey("a.test"), hcT0.Add(time.Minute))
	if !ok || got.Addresses[0] != netip.MustParseAddr("192.0.2.1") ||
		s.NetworkChanges != 2 || s.ExpiredBy != -59*time.Minute || !s.IsStale() || s.StaleHits != 1 {
		t.Errorf("LookupStale = %+v, %+v, %v", got, s, ok)
	}
	// Storing again under the new generation makes the entry fresh.
	c.Set(hcKey("a.test"), hcEntry("192.0.2.3"), hcT0, time.Hour)
	if got, ok := c.Lookup(hcKey("a.test"), hcT0); !ok || got.Addresses[0] != netip.MustParseAddr("192.0.2.3") {
		t.Errorf("after re-Set: %+v, %v", got, ok)
	}
	checkHeaps(t, c)
}

// TestHostCacheEvict follows Chromium's HostCacheTest.Evict: the entry that
// expires soonest goes.
func TestHostCacheEvict(t *testing.T) {
	c := NewHostCache(2)
	c.Set(hcKey("foobar.com"), hcEntry(), hcT0, 10*time.Second)
	c.Set(hcKey("foobar2.com"), hcEntry(), hcT0, 5*time.Second)
	c.Set(hcKey("foobar3.com"), hcEntry(), hcT0, 10*time.Second)
	if c.Len() != 2 {
		t.Fatalf("Len = %d", c.Len())
	}
	for host, want := range map[string]bool{"foobar.com": true, "foobar2.com": false, "foobar3.com": true} {
		if _, ok := c.Lookup(hcKey(host), hcT0); ok != want {
			t.Errorf("%s present = %v, want %v", host, ok, want)
		}
	}
	checkHeaps(t, c)
}

// TestHostCacheEvictStale follows Chromium's HostCacheTest.EvictStale: an
// entry stale from a network change goes before a fresh one that expires
// sooner, and an expired entry stays for LookupStale until its slot is
// needed.
func TestHostCacheEvictStale(t *testing.T) {
	c := NewHostCache(2)
	k1, k2, k3 := hcKey("foobar.com"), hcKey("foobar2.com"), hcKey("foobar3.com")
	now := hcT0
	c.Set(k1, hcEntry(), now, 10*time.Second)
	c.Invalidate()
	now = now.Add(time.Second)
	c.Set(k2, hcEntry(), now, 5*time.Second) // expires at 6 s, before k1's 10 s
	c.Set(k3, hcEntry(), now, time.Second)   // k1 goes: it is stale
	if _, _, ok := c.LookupStale(k1, now); ok {
		t.Error("stale foobar.com was not evicted")
	}
	if _, ok := c.Lookup(k2, now); !ok {
		t.Error("foobar2.com evicted")
	}
	if _, ok := c.Lookup(k3, now); !ok {
		t.Error("foobar3.com missing")
	}
	now = now.Add(5 * time.Second) // t=6: k2 (expires 6) and k3 (expires 2) are expired
	c.Set(k1, hcEntry(), now, 10*time.Second)
	if _, ok := c.Lookup(k1, now); !ok {
		t.Error("foobar.com missing")
	}
	if _, ok := c.Lookup(k2, now); ok {
		t.Error("expired foobar2.com is fresh")
	}
	if _, _, ok := c.LookupStale(k2, now); !ok {
		t.Error("foobar2.com, expired but not the soonest, was evicted")
	}
	if _, _, ok := c.LookupStale(k3, now); ok {
		t.Error("foobar3.com, the soonest expired, was kept")
	}
	checkHeaps(t, c)
}

// TestHostCacheEvictionOrder shows the whole order: expired entries first
// (soonest expiry first), then the soonest to expire, ties by age.
func TestHostCacheEvictionOrder(t *testing.T) {
	c := NewHostCache(4)
	c.Set(hcKey("a"), hcEntry(), hcT0, 30*time.Second)
	c.Set(hcKey("b"), hcEntry(), hcT0, 5*time.Second)
	c.Set(hcKey("c"), hcEntry(), hcT0, 20*time.Second)
	c.Set(hcKey("d"), hcEntry(), hcT0, 20*time.Second) // same expiry as c, stored later
	present := func(now time.Time) (out []string) {
		for _, h := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
			if _, _, ok := c.LookupStale(hcKey(h), now); ok {
				out = append(out, h)
			}
		}
		return out
	}
	now := hcT0.Add(10 * time.Second) // b expired
	c.Set(hcKey("e"), hcEntry(), now, time.Hour)
	if got := present(now); !slices.Equal(got, []string{"a", "c", "d", "e"}) {
		t.Errorf("after e: %v, want the expired b gone", got)
	}
	c.Set(hcKey("f"), hcEntry(), now, time.Hour) // none expired: c and d tie, c is older
	if got := present(now); !slices.Equal(got, []string{"a", "d", "e", "f"}) {
		t.Errorf("after f: %v, want c (soonest, older of the tie) gone", got)
	}
	c.Set(hcKey("g"), hcEntry(), now, 25*time.Second) // d (20 s) goes, not g (35 s) nor a (30 s)
	if got := present(now); !slices.Equal(got, []string{"a", "e", "f", "g"}) {
		t.Errorf("after g: %v, want d gone", got)
	}
	// Replacing an entry in a full cache evicts nothing, and the update
	// moves its expiry: a, refreshed, now outlives g.
	c.Set(hcKey("a"), hcEntry(), now, time.Hour)
	c.Set(hcKey("h"), hcEntry(), now, time.Hour)
	if got := present(now); !slices.Equal(got, []string{"a", "e", "f", "h"}) {
		t.Errorf("after refreshing a and adding h: %v, want g gone", got)
	}
	checkHeaps(t, c)
}

// TestHostCacheEvictionMatchesModel drives the cache at random (inserts,
// replacements, network changes, time passing) against a brute-force model
// of the eviction rule.
func TestHostCacheEvictionMatchesModel(t *testing.T) {
	type modelEntry struct {
		expires time.Time
		gen     int
		seq     int
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const capacity = 50
	c := NewHostCache(capacity)
	model := map[string]modelEntry{}
	gen, seq := 0, 0
	now := hcT0
	for step := 0; step < 20000; step++ {
		switch op := rng.IntN(100); {
		case op < 2:
			c.Invalidate()
			gen++
		case op < 10:
			now = now.Add(time.Duration(rng.IntN(10)) * time.Second)
		default:
			host := "h" + strconv.Itoa(rng.IntN(200))
			ttl := time.Duration(rng.IntN(30)) * time.Second
			seq++
			if _, ok := model[host]; !ok && len(model) >= capacity {
				// The victim: the stale entry expiring soonest, else the
				// entry expiring soonest; ties by insertion order.
				victim, victimStale := "", false
				var best modelEntry
				for h, m := range model {
					stale := m.gen != gen || !now.Before(m.expires)
					better := victim == "" ||
						(stale && !victimStale) ||
						(stale == victimStale && (m.expires.Before(best.expires) ||
							m.expires.Equal(best.expires) && m.seq < best.seq))
					if better {
						victim, victimStale, best = h, stale, m
					}
				}
				delete(model, victim)
			}
			model[host] = modelEntry{expires: now.Add(ttl), gen: gen, seq: seq}
			c.Set(hcKey(host), hcEntry("192.0.2.1"), now, ttl)
		}
		if c.Len() != len(model) {
			t.Fatalf("step %d: Len %d, model %d", step, c.Len(), len(model))
		}
		if step%97 == 0 {
			checkHeaps(t, c)
			for h := range model {
				if _, ok := c.entries[hcKey(h)]; !ok {
					t.Fatalf("step %d: %s missing from the cache", step, h)
				}
			}
		}
	}
	checkHeaps(t, c)
}

func TestHostCacheNeverExceedsMax(t *testing.T) {
	c := NewHostCache(DefaultHostCacheEntries)
	now := hcT0
	for i := 0; i < 5000; i++ {
		now = now.Add(time.Millisecond)
		c.Set(hcKey(fmt.Sprintf("host%d.test", i)), hcEntry("192.0.2.1"), now, time.Minute)
		if c.Len() > DefaultHostCacheEntries {
			t.Fatalf("Len = %d after %d names", c.Len(), i+1)
		}
	}
	if c.Len() != DefaultHostCacheEntries {
		t.Fatalf("Len = %d, want %d", c.Len(), DefaultHostCacheEntries)
	}
	// Equal TTLs: the oldest names, which expire first, were the ones evicted.
	for _, i := range []int{0, 3999} {
		if _, ok := c.Lookup(hcKey(fmt.Sprintf("host%d.test", i)), now); ok {
			t.Errorf("host%d.test still cached", i)
		}
	}
	for _, i := range []int{4000, 4999} {
		if _, ok := c.Lookup(hcKey(fmt.Sprintf("host%d.test", i)), now); !ok {
			t.Errorf("host%d.test evicted", i)
		}
	}
	checkHeaps(t, c)
}

func TestHostCacheDisabled(t *testing.T) {
	for _, n := range []int{0, -1} {
		c := NewHostCache(n)
		c.Set(hcKey("a.test"), hcEntry("192.0.2.1"), hcT0, time.Hour)
		if c.Len() != 0 || c.MaxEntries() != 0 {
			t.Errorf("NewHostCache(%d): Len %d, MaxEntries %d", n, c.Len(), c.MaxEntries())
		}
		if _, ok := c.Lookup(hcKey("a.test"), hcT0); ok {
			t.Errorf("NewHostCache(%d): hit", n)
		}
		if _, _, ok := c.LookupStale(hcKey("a.test"), hcT0); ok {
			t.Errorf("NewHostCache(%d): stale hit", n)
		}
		c.Invalidate()
		c.Clear()
		info := c.NetLogInfo(hcT0)
		if info["capacity"] != 0 || len(info["entries"].([]netlog.Params)) != 0 {
			t.Errorf("NewHostCache(%d): NetLogInfo = %v", n, info)
		}
	}
}

func TestHostCacheKeyDistinctions(t *testing.T) {
	c := NewHostCache(100)
	base := HostCacheKey{Host: "example.com"}
	variants := []HostCacheKey{
		base,
		{Host: "example.com", QueryType: QueryA},
		{Host: "example.com", QueryType: QueryAAAA},
		{Host: "example.com", Flags: 1},
		{Host: "example.com", SystemResolver: true},
		{Host: "example.net"},
	}
	for i, k := range variants {
		c.Set(k, hcEntry(fmt.Sprintf("192.0.2.%d", i+1)), hcT0, time.Minute)
	}
	if c.Len() != len(variants) {
		t.Fatalf("Len = %d, want %d distinct keys", c.Len(), len(variants))
	}
	for i, k := range variants {
		got, ok := c.Lookup(k, hcT0)
		if !ok || got.Addresses[0] != netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", i+1)) {
			t.Errorf("%+v: %+v, %v", k, got, ok)
		}
	}
	// Host names are case-insensitive and a trailing dot is ignored, in
	// Set as in Lookup.
	for _, h := range []string{"EXAMPLE.com", "Example.Com.", "example.com."} {
		got, ok := c.Lookup(HostCacheKey{Host: h}, hcT0)
		if !ok || got.Addresses[0] != netip.MustParseAddr("192.0.2.1") {
			t.Errorf("Lookup(%q) = %+v, %v", h, got, ok)
		}
	}
	c.Set(HostCacheKey{Host: "EXAMPLE.NET."}, hcEntry("198.51.100.1"), hcT0, time.Minute)
	if c.Len() != len(variants) {
		t.Errorf("upper-case Set added a key: Len %d", c.Len())
	}
	if got, _ := c.Lookup(HostCacheKey{Host: "example.net"}, hcT0); got.Addresses[0] != netip.MustParseAddr("198.51.100.1") {
		t.Errorf("upper-case Set did not replace: %+v", got)
	}
	checkHeaps(t, c)
}

func TestHostCacheReplaceAndCopies(t *testing.T) {
	c := NewHostCache(2)
	e := hcEntry("192.0.2.1")
	e.Aliases = []string{"alias.test"}
	c.Set(hcKey("a.test"), e, hcT0, time.Minute)
	e.Addresses[0] = netip.MustParseAddr("203.0.113.1") // the caller reuses its slices
	e.Aliases[0] = "changed"
	got, _ := c.Lookup(hcKey("a.test"), hcT0)
	if got.Addresses[0] != netip.MustParseAddr("192.0.2.1") || got.Aliases[0] != "alias.test" {
		t.Errorf("cache shares the caller's slices: %+v", got)
	}
	c.LookupStale(hcKey("a.test"), hcT0.Add(2*time.Minute))
	c.Set(hcKey("b.test"), hcEntry("192.0.2.2"), hcT0, time.Minute)
	c.Set(hcKey("a.test"), hcEntry("192.0.2.3"), hcT0.Add(time.Second), 2*time.Minute)
	if c.Len() != 2 {
		t.Fatalf("Len = %d", c.Len())
	}
	if _, ok := c.Lookup(hcKey("b.test"), hcT0); !ok {
		t.Error("replacing a.test in a full cache evicted b.test")
	}
	r := c.entries[hcKey("a.test")]
	if r.hits != 0 || r.staleHits != 0 || !r.expires.Equal(hcT0.Add(121*time.Second)) {
		t.Errorf("replaced record: hits %d stale %d expires %v", r.hits, r.staleHits, r.expires)
	}
	checkHeaps(t, c)
}

func TestHostCacheClear(t *testing.T) {
	c := NewHostCache(10)
	c.Set(hcKey("a.test"), hcEntry("192.0.2.1"), hcT0, time.Minute)
	c.Invalidate()
	c.Set(hcKey("b.test"), hcEntry("192.0.2.2"), hcT0, time.Minute)
	c.Clear()
	if c.Len() != 0 || c.NetworkChanges() != 1 {
		t.Errorf("after Clear: Len %d, network changes %d", c.Len(), c.NetworkChanges())
	}
	if _, _, ok := c.LookupStale(hcKey("a.test"), hcT0); ok {
		t.Error("entry survived Clear")
	}
	c.Set(hcKey("c.test"), hcEntry("192.0.2.3"), hcT0, time.Minute)
	if _, ok := c.Lookup(hcKey("c.test"), hcT0); !ok {
		t.Error("cache unusable after Clear")
	}
	checkHeaps(t, c)
}

func TestHostCacheTTLConstants(t *testing.T) {
	if SystemResultTTL != 60*time.Second || SystemNegativeTTL != 0 || MinTTL != 60*time.Second {
		t.Errorf("TTLs: system %v, system negative %v, min %v", SystemResultTTL, SystemNegativeTTL, MinTTL)
	}
	for in, want := range map[time.Duration]time.Duration{
		-time.Second:             MinTTL,
		0:                        MinTTL,
		5 * time.Second:          MinTTL,
		60 * time.Second:         60 * time.Second,
		86400 * 30 * time.Second: 86400 * 30 * time.Second, // no cap
	} {
		if got := ClampTTL(in); got != want {
			t.Errorf("ClampTTL(%v) = %v, want %v", in, got, want)
		}
	}
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{5 * time.Second}, 5 * time.Second}, // no floor for negatives
		{[]time.Duration{900 * time.Second, 300 * time.Second}, 300 * time.Second},
		{[]time.Duration{-time.Second}, 0},
	} {
		if got := NegativeTTL(tc.in...); got != tc.want {
			t.Errorf("NegativeTTL(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for q, want := range map[QueryType]string{QueryUnspecified: "UNSPECIFIED", QueryA: "A", QueryAAAA: "AAAA", 7: "QueryType(7)"} {
		if q.String() != want {
			t.Errorf("QueryType(%d).String() = %q", int(q), q.String())
		}
	}
}

func TestHostCacheNetLogEntries(t *testing.T) {
	c := NewHostCache(DefaultHostCacheEntries)
	now := time.Now() // a real clock, so expiration ticks are meaningful
	pos := hcEntry("2001:db8::1", "192.0.2.1")
	pos.Aliases = []string{"cdn.example.net"}
	c.Set(HostCacheKey{Host: "www.example.com", QueryType: QueryUnspecified}, pos, now, 120*time.Second)
	c.Invalidate()
	c.Set(HostCacheKey{Host: "nx.example.com", QueryType: QueryA, Flags: 2, SystemResolver: true},
		HostCacheEntry{Err: net.ErrNameNotResolved, Source: HostCacheSourceSystem}, now, 30*time.Second)
	c.Set(HostCacheKey{Host: "bare.example.com", QueryType: QueryAAAA}, HostCacheEntry{Source: HostCacheSourceHosts}, now, time.Minute)

	info := c.NetLogInfo(now)
	// Round-trip through JSON, as the FileWriter writes polled data.
	b, err := json.Marshal(netlog.Params{"hostResolverInfo": netlog.Params{"cache": info}})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		HostResolverInfo struct {
			Cache struct {
				Capacity       int              `json:"capacity"`
				NetworkChanges int              `json:"network_changes"`
				Entries        []map[string]any `json:"entries"`
			} `json:"cache"`
		} `json:"hostResolverInfo"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	cache := doc.HostResolverInfo.Cache
	if cache.Capacity != 1000 || cache.NetworkChanges != 1 || len(cache.Entries) != 3 {
		t.Fatalf("cache = %s", b)
	}
	// Sorted by host name.
	bare, nx, www := cache.Entries[0], cache.Entries[1], cache.Entries[2]
	if bare["hostname"] != "bare.example.com" || nx["hostname"] != "nx.example.com" || www["hostname"] != "www.example.com" {
		t.Fatalf("order: %v %v %v", bare["hostname"], nx["hostname"], www["hostname"])
	}
	// What dns_view.js reads for every entry.
	for _, e := range cache.Entries {
		for _, k := range []string{"hostname", "address_family", "ttl", "expiration", "network_isolation_key", "network_changes"} {
			if _, ok := e[k]; !ok {
				t.Errorf("%v: no %q", e["hostname"], k)
			}
		}
		// And the rest of Chromium's HostCache::GetList key fields.
		for _, k := range []string{"dns_query_type", "flags", "host_resolver_source", "secure", "network_anonymization_key"} {
			if _, ok := e[k]; !ok {
				t.Errorf("%v: no %q", e["hostname"], k)
			}
		}
		if _, ok := e["expiration"].(string); !ok {
			t.Errorf("%v: expiration %T, want a tick-count string", e["hostname"], e["expiration"])
		}
	}
	want := map[string]any{
		"dns_query_type": 0.0, "address_family": 0.0, "flags": 0.0, "host_resolver_source": 2.0,
		"ttl": 120000.0, "network_changes": 0.0, "secure": false, "source": "dns",
		"addresses": []any{"2001:db8::1", "192.0.2.1"},
		"aliases":   []any{"cdn.example.net"},
	}
	for k, v := range want {
		if g, _ := json.Marshal(www[k]); string(g) != mustJSON(t, v) {
			t.Errorf("www %s = %s, want %s", k, g, mustJSON(t, v))
		}
	}
	if _, has := www["net_error"]; has {
		t.Error("positive entry has net_error")
	}
	exp, _ := strconv.ParseInt(www["expiration"].(string), 10, 64)
	if d := exp - netlog.TickMillis(now.Add(120*time.Second)); d < -1 || d > 1 {
		t.Errorf("expiration %d is %d ms off the expiry tick", exp, d)
	}
	wantNX := map[string]any{
		"dns_query_type": 1.0, "address_family": 1.0, "flags": 2.0, "host_resolver_source": 1.0,
		"net_error": -105.0, "error": -105.0, "ttl": 30000.0, "network_changes": 1.0,
	}
	for k, v := range wantNX {
		if nx[k] != v {
			t.Errorf("nx %s = %v, want %v", k, nx[k], v)
		}
	}
	if _, has := nx["addresses"]; has {
		t.Error("negative entry has addresses")
	}
	// An entry without addresses still writes lists, never null: the viewer
	// iterates them.
	if g, _ := json.Marshal(bare["addresses"]); string(g) != "[]" {
		t.Errorf("bare addresses = %s", g)
	}
	if g, _ := json.Marshal(bare["aliases"]); string(g) != "[]" {
		t.Errorf("bare aliases = %s", g)
	}
	if bare["address_family"] != 2.0 {
		t.Errorf("AAAA address_family = %v, want 2 (ADDRESS_FAMILY_IPV6)", bare["address_family"])
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHostCacheLookupDoesNotAllocate(t *testing.T) {
	c := NewHostCache(DefaultHostCacheEntries)
	key := HostCacheKey{Host: "www.example.com", QueryType: QueryUnspecified}
	c.Set(key, hcEntry("192.0.2.1", "2001:db8::1"), hcT0, time.Hour)
	now := hcT0.Add(time.Second)
	if n := testing.AllocsPerRun(1000, func() {
		if _, ok := c.Lookup(key, now); !ok {
			t.Fatal("miss")
		}
	}); n != 0 {
		t.Errorf("Lookup hit allocates %v times", n)
	}
	if n := testing.AllocsPerRun(1000, func() { c.LookupStale(key, now) }); n != 0 {
		t.Errorf("LookupStale hit allocates %v times", n)
	}
	trailing := HostCacheKey{Host: "www.example.com."}
	if n := testing.AllocsPerRun(1000, func() { c.Lookup(trailing, now) }); n != 0 {
		t.Errorf("Lookup with a trailing dot allocates %v times", n)
	}
}

func BenchmarkHostCacheHit(b *testing.B) {
	c := NewHostCache(DefaultHostCacheEntries)
	for i := 0; i < DefaultHostCacheEntries; i++ {
		c.Set(hcKey(fmt.Sprintf("host%d.example.com", i)), hcEntry("192.0.2.1", "2001:db8::1"), hcT0, time.Hour)
	}
	key := hcKey("host500.example.com")
	now := hcT0.Add(time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, ok := c.Lookup(key, now); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkHostCacheSetEvict(b *testing.B) {
	c := NewHostCache(DefaultHostCacheEntries)
	names := make([]HostCacheKey, 1<<16)
	for i := range names {
		names[i] = hcKey(fmt.Sprintf("host%d.example.com", i))
	}
	e := hcEntry("192.0.2.1", "2001:db8::1")
	now := hcT0
	for i := 0; i < DefaultHostCacheEntries; i++ {
		now = now.Add(time.Millisecond)
		c.Set(names[i], e, now, time.Minute)
	}
	i := DefaultHostCacheEntries
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(time.Millisecond)
		c.Set(names[i%len(names)], e, now, time.Minute)
		i++
	}
	if c.Len() != DefaultHostCacheEntries {
		b.Fatalf("Len = %d", c.Len())
	}
}
