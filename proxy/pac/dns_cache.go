package pac

import (
	"net/netip"
	"sync"
	"time"
)

// The cross-call DNS cache of a Script, after Chromium's
// ProxyHostResolverCache: PAC scripts resolve the same few names on every
// call, and one page load makes dozens of calls.
const (
	dnsCacheTTL  = 5 * time.Second
	dnsCacheSize = 500
)

type dnsCacheKey struct {
	host string
	ex   bool
}

type dnsCacheEntry struct {
	addrs   []netip.Addr
	expires time.Time
}

// dnsCache holds successful answers only: a failure may be the call's own
// deadline, which must not poison the next call. Goroutines running scripts
// share it, hence the mutex.
type dnsCache struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[dnsCacheKey]dnsCacheEntry
}

func newDNSCache(now func() time.Time) *dnsCache {
	return &dnsCache{now: now, entries: make(map[dnsCacheKey]dnsCacheEntry)}
}

// get returns a live entry's addresses; callers must not modify them.
func (c *dnsCache) get(host string, ex bool) ([]netip.Addr, bool) {
	k := dnsCacheKey{host, ex}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(c.entries, k)
		return nil, false
	}
	return e.addrs, true
}

// put stores addrs for dnsCacheTTL. When full it drops expired entries and,
// if that freed nothing, the entry closest to expiry (the oldest).
func (c *dnsCache) put(host string, ex bool, addrs []netip.Addr) {
	k := dnsCacheKey{host, ex}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= dnsCacheSize {
		var oldest dnsCacheKey
		var oldestExpiry time.Time
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
				continue
			}
			if oldestExpiry.IsZero() || e.expires.Before(oldestExpiry) {
				oldest, oldestExpiry = key, e.expires
			}
		}
		if len(c.entries) >= dnsCacheSize {
			delete(c.entries, oldest)
		}
	}
	c.entries[k] = dnsCacheEntry{addrs: addrs, expires: now.Add(dnsCacheTTL)}
}
