package dns

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// DefaultHostCacheEntries is the design card's host cache capacity, which is
// also Chromium's kDefaultCacheSize when the built-in DNS client is compiled
// in [net/dns/resolve_context.cc].
const DefaultHostCacheEntries = 1000

// Cache lifetimes, from Chromium's net/dns/host_resolver_manager_job.cc
// (kCacheEntryTTLSeconds, kNegativeCacheEntryTTLSeconds, kMinimumTTLSeconds).
const (
	// SystemResultTTL is how long a successful system-resolver (getaddrinfo)
	// answer is kept: the OS gives no TTL, so Chromium uses a fixed 60 s
	// (kCacheEntryTTLSeconds = 60).
	SystemResultTTL = 60 * time.Second

	// SystemNegativeTTL is the TTL of a failed system-resolver lookup:
	// zero (kNegativeCacheEntryTTLSeconds = 0), so it is never cached, since
	// Set drops failures without a positive TTL.
	SystemNegativeTTL time.Duration = 0

	// MinTTL is the floor on a successful built-in DNS answer's TTL
	// (kMinimumTTLSeconds = kCacheEntryTTLSeconds, applied as
	// std::max(results.ttl(), kMinimumTTLSeconds) in
	// Job::OnDnsTaskComplete), so a record with TTL 0 or 5 is still reused
	// for a minute instead of being looked up again for every connection.
	MinTTL = SystemResultTTL
)

// ClampTTL returns the cache TTL of a successful built-in DNS answer whose
// smallest record TTL is ttl: at least MinTTL. There is no upper cap:
// Chromium applies none (the record TTL, a 32-bit count of seconds, always
// fits a Duration). Negative answers do not get the floor; use NegativeTTL.
func ClampTTL(ttl time.Duration) time.Duration {
	return max(ttl, MinTTL)
}

// NegativeTTL returns the cache TTL of a built-in DNS NXDOMAIN or NODATA
// answer, given the TTLs of the SOA records in its authority section: the
// smallest of them, with no floor. Chromium takes the SOA record's own TTL,
// not the SOA MINIMUM field [net/dns/dns_response_result_extractor.cc]; a
// server already sends that record with TTL = min(SOA TTL, MINIMUM) (RFC 2308
// §3). Without an SOA record the result is 0, i.e. the failure is not cached.
func NegativeTTL(soaTTLs ...time.Duration) time.Duration {
	if len(soaTTLs) == 0 {
		return 0
	}
	return max(slices.Min(soaTTLs), 0)
}

// QueryType is Chromium's DnsQueryType for address lookups, with the values
// of the NetLog constant dnsQueryType.
type QueryType int

// Query types. UNSPECIFIED asks for both A and AAAA.
const (
	QueryUnspecified QueryType = 0
	QueryA           QueryType = 1
	QueryAAAA        QueryType = 2
)

// String returns Chromium's name for the type ("UNSPECIFIED", "A", "AAAA").
func (q QueryType) String() string {
	switch q {
	case QueryUnspecified:
		return "UNSPECIFIED"
	case QueryA:
		return "A"
	case QueryAAAA:
		return "AAAA"
	}
	return "QueryType(" + strconv.Itoa(int(q)) + ")"
}

// HostCacheKey is Chromium's HostCache::Key, simplified: the name
// (lower-cased, without a trailing dot), the query type, the resolver flags,
// and whether the result came from the system resolver or the built-in
// client, which Chromium keys apart (HostResolverSource) because the two can
// answer differently (hosts files, search lists, platform-only names).
// The cache normalizes Host itself, so callers may pass any case.
type HostCacheKey struct {
	Host           string
	QueryType      QueryType
	Flags          int
	SystemResolver bool
}

// Where an entry came from, as Chromium's HostResolverSource is named in the
// NetLog.
const (
	HostCacheSourceDNS     = "dns"
	HostCacheSourceSystem  = "system"
	HostCacheSourceHosts   = "hosts"
	HostCacheSourceUnknown = "unknown"
)

// HostCacheEntry is one cached result, positive or negative.
//
// Entries returned by Lookup and LookupStale share their slices with the
// cache, so that a hit costs no allocation: callers must not modify
// Addresses or Aliases (copy them first, e.g. when adding ports).
type HostCacheEntry struct {
	// Err is 0 for a positive entry, ErrNameNotResolved for an NXDOMAIN or
	// NODATA answer (a negative entry).
	Err net.Error
	// Addresses are the resolved addresses, without ports.
	Addresses []netip.Addr
	// Aliases are the names of the CNAME chain.
	Aliases []string
	// Source is one of the HostCacheSource names.
	Source string
	// TTL is the lifetime given to Set (after ClampTTL or NegativeTTL).
	TTL time.Duration
}

// Staleness says how stale an entry returned by LookupStale is (Chromium's
// HostCache::EntryStaleness).
type Staleness struct {
	// ExpiredBy is how long ago the entry expired; negative while it is
	// still within its TTL.
	ExpiredBy time.Duration
	// NetworkChanges is how many network changes (Invalidate calls) have
	// happened since the entry was stored.
	NetworkChanges int
	// StaleHits counts the stale lookups of the entry, this one included.
	StaleHits int
}

// IsStale reports whether the entry had expired or outlived a network change.
// An entry is expired from the instant now == store time + TTL, as in
// Chromium (expired_by >= 0).
func (s Staleness) IsStale() bool {
	return s.NetworkChanges > 0 || s.ExpiredBy >= 0
}

// HostCache is Chromium's HostCache: a bounded map from HostCacheKey to
// result, honouring TTLs, holding negative entries, and serving expired or
// pre-network-change ("stale") entries to callers that accept them.
//
// It is owned by a loop and used only from it: there is no locking.
//
// Eviction, when a new key arrives and the cache is full, follows Chromium's
// HostCache::EvictOneEntry and its EvictStale test: one entry goes per
// insertion, the stale entry (expired, or stored before the last network
// change) that expires soonest, or if no entry is stale, the entry that
// expires soonest; ties go to the entry stored first. Expired entries are thus
// always evicted before fresh ones, but not all at once: an expired entry can
// still answer a stale-allowed lookup until its slot is needed (Chromium's
// EvictStale test keeps one so). Chromium finds the victim by a linear scan
// whose stale preference depends on the order of its map; two heaps make
// the preference exact and the eviction O(log n).
type HostCache struct {
	maxEntries     int
	entries        map[HostCacheKey]*hostCacheRecord
	networkChanges int
	seq            uint64

	// current holds the entries stored since the last Invalidate, older
	// those stored before it (stale whatever their expiry). Both are min-heaps
	// on (expires, seq).
	current hostCacheHeap
	older   hostCacheHeap

	// spare is the last evicted record, reused by the insertion that evicted
	// it so that a full cache taking new names does not allocate records.
	spare *hostCacheRecord
}

type hostCacheRecord struct {
	key            HostCacheKey
	entry          HostCacheEntry
	expires        time.Time
	networkChanges int // the cache's counter when the entry was stored
	hits           int
	staleHits      int
	seq            uint64
	index          int  // position in its heap
	older          bool // in HostCache.older rather than HostCache.current
}

// NewHostCache returns a cache of at most maxEntries entries; maxEntries <= 0
// disables caching entirely (Chromium's caching_is_disabled: Set stores
// nothing, every lookup misses). DefaultHostCacheEntries is the usual size.
func NewHostCache(maxEntries int) *HostCache {
	maxEntries = max(maxEntries, 0)
	return &HostCache{
		maxEntries: maxEntries,
		entries:    make(map[HostCacheKey]*hostCacheRecord, min(maxEntries, DefaultHostCacheEntries)),
	}
}

// hostCacheNormalizeHost lower-cases host and drops one trailing dot, without
// allocating when it is already in that form (the usual case on a hit).
func hostCacheNormalizeHost(host string) string {
	host = strings.TrimSuffix(host, ".")
	for i := 0; i < len(host); i++ {
		if c := host[i]; 'A' <= c && c <= 'Z' || c >= 0x80 {
			return strings.ToLower(host)
		}
	}
	return host
}

// Lookup returns the entry for key if it is fresh at now: not yet expired and
// stored since the last network change. A hit is counted on the entry.
// The returned slices belong to the cache and must not be modified.
func (c *HostCache) Lookup(key HostCacheKey, now time.Time) (HostCacheEntry, bool) {
	key.Host = hostCacheNormalizeHost(key.Host)
	r, ok := c.entries[key]
	if !ok || !now.Before(r.expires) || r.networkChanges != c.networkChanges {
		return HostCacheEntry{}, false
	}
	r.hits++
	return r.entry, true
}

// LookupStale returns the entry for key whether fresh or stale, with how
// stale it is; Chromium uses it for requests that accept stale results
// (CacheUsage::STALE_ALLOWED). Stale hits are counted. The returned slices
// belong to the cache and must not be modified.
func (c *HostCache) LookupStale(key HostCacheKey, now time.Time) (HostCacheEntry, Staleness, bool) {
	key.Host = hostCacheNormalizeHost(key.Host)
	r, ok := c.entries[key]
	if !ok {
		return HostCacheEntry{}, Staleness{}, false
	}
	s := Staleness{ExpiredBy: now.Sub(r.expires), NetworkChanges: c.networkChanges - r.networkChanges}
	r.hits++
	if s.IsStale() {
		r.staleHits++
	}
	s.StaleHits = r.staleHits
	return r.entry, s, true
}

// Set stores e for key, to expire at now+ttl, replacing any entry for key
// (its hit counts start again, as in Chromium). e.TTL is set to ttl. The
// cache keeps copies of e's slices.
//
// A failure (e.Err != 0) is stored only with a positive ttl: Chromium's
// HostResolverManager::CacheResult drops the others ("Don't cache an error
// unless it has a positive TTL"), which is what keeps a failed
// system-resolver lookup (SystemNegativeTTL) out of the cache; applying the
// rule here gives it to every caller. A success with ttl 0 is stored but is
// stale at once, so only LookupStale returns it.
func (c *HostCache) Set(key HostCacheKey, e HostCacheEntry, now time.Time, ttl time.Duration) {
	if c.maxEntries == 0 || (e.Err != 0 && ttl <= 0) {
		return
	}
	ttl = max(ttl, 0)
	key.Host = hostCacheNormalizeHost(key.Host)
	e.TTL = ttl
	e.Addresses = slices.Clone(e.Addresses)
	e.Aliases = slices.Clone(e.Aliases)
	c.seq++

	if r, ok := c.entries[key]; ok {
		// An update takes no new slot, so nothing is evicted (as in
		// Chromium). The record moves to the current generation's heap.
		c.heapOf(r).remove(r.index)
		c.fill(r, key, e, now.Add(ttl))
		c.current.push(r)
		return
	}
	for len(c.entries) >= c.maxEntries {
		c.evictOne(now)
	}
	r := c.spare
	if r == nil {
		r = new(hostCacheRecord)
	}
	c.spare = nil
	c.fill(r, key, e, now.Add(ttl))
	c.entries[key] = r
	c.current.push(r)
}

func (c *HostCache) fill(r *hostCacheRecord, key HostCacheKey, e HostCacheEntry, expires time.Time) {
	*r = hostCacheRecord{
		key:            key,
		entry:          e,
		expires:        expires,
		networkChanges: c.networkChanges,
		seq:            c.seq,
	}
}

func (c *HostCache) heapOf(r *hostCacheRecord) *hostCacheHeap {
	if r.older {
		return &c.older
	}
	return &c.current
}

// evictOne removes one entry: the stale one expiring soonest, else the one
// expiring soonest (see HostCache).
func (c *HostCache) evictOne(now time.Time) {
	var victim *hostCacheRecord
	if len(c.older) > 0 {
		// Every entry from before a network change is stale.
		victim = c.older[0]
	}
	if len(c.current) > 0 {
		top := c.current[0]
		expired := !now.Before(top.expires)
		// With no stale entry from an older generation, the soonest to
		// expire goes, expired or not; otherwise the current generation
		// competes only with an entry that is stale too.
		if victim == nil || (expired && top.less(victim)) {
			victim = top
		}
	}
	c.heapOf(victim).remove(victim.index)
	delete(c.entries, victim.key)
	*victim = hostCacheRecord{} // drop the slices for the collector
	c.spare = victim
}

// Invalidate records a network change: every entry stored so far becomes
// stale (LookupStale still returns it, Lookup no longer does). Chromium bumps
// its network_changes counter; entries remember the counter they were
// stored under.
func (c *HostCache) Invalidate() {
	c.networkChanges++
	// All current entries join the older ones; re-establishing the heap
	// order is O(n), paid once per network change.
	for _, r := range c.current {
		r.older = true
		c.older = append(c.older, r)
	}
	clear(c.current)
	c.current = c.current[:0]
	c.older.init()
}

// Clear removes every entry. The network-change count is kept, as in
// Chromium.
func (c *HostCache) Clear() {
	clear(c.entries)
	clear(c.current)
	clear(c.older)
	c.current = c.current[:0]
	c.older = c.older[:0]
	c.spare = nil
}

// Len returns the number of entries, stale ones included.
func (c *HostCache) Len() int { return len(c.entries) }

// MaxEntries returns the capacity; 0 means caching is disabled.
func (c *HostCache) MaxEntries() int { return c.maxEntries }

// NetworkChanges returns how many times Invalidate has been called.
func (c *HostCache) NetworkChanges() int { return c.networkChanges }

// NetLogInfo returns the cache as Chromium dumps it into NetLog polled data
// under hostResolverInfo.cache [net/log/net_log_util.cc]: capacity,
// network_changes and entries.
func (c *HostCache) NetLogInfo(now time.Time) netlog.Params {
	return netlog.Params{
		"capacity":        c.maxEntries,
		"network_changes": c.networkChanges,
		"entries":         c.NetLogEntries(now),
	}
}

// NetLogEntries returns one dictionary per entry, sorted by key, in the shape
// of Chromium's HostCache::GetList(include_staleness=true, kDebug) plus the
// older keys that netlog-viewer's DNS tab (dns_view.js) still reads:
//
//   - hostname, dns_query_type, flags, host_resolver_source (SYSTEM 1 or
//     DNS 2), secure (false), network_anonymization_key ("null"): the key,
//     as Chromium writes it;
//   - address_family: dns_view.js shows this, not dns_query_type; the
//     query type's value is the matching AddressFamily (0 UNSPECIFIED,
//     1 IPV4, 2 IPV6). network_isolation_key likewise is the old name of
//     the NAK column it shows;
//   - expiration (tick-count string), ttl (ms), network_changes: the viewer
//     marks an entry expired when expiration is before the log's date or
//     network_changes is below the cache's;
//   - negative entries: net_error (Chromium's key) and error, because
//     dns_view.js copies error into net_error but then prints e.error;
//   - positive entries: addresses (the list of strings the viewer shows)
//     and aliases. Chromium's newer ip_endpoints key is left out: the
//     viewer prints it beside addresses as raw JSON, so every address
//     would show twice;
//   - source: where the entry came from (not in Chromium's dump; extra).
//
// now is the time of the dump; expirations are written as now's tick plus
// the time each entry has left, which is the entry's expiry tick.
func (c *HostCache) NetLogEntries(now time.Time) []netlog.Params {
	recs := make([]*hostCacheRecord, 0, len(c.entries))
	for _, r := range c.entries {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b *hostCacheRecord) int {
		return hostCacheCompareKeys(a.key, b.key)
	})
	nowTick := netlog.TickMillis(now)
	out := make([]netlog.Params, 0, len(recs))
	for _, r := range recs {
		source := 2 // HostResolverSource::DNS
		if r.key.SystemResolver {
			source = 1 // HostResolverSource::SYSTEM
		}
		p := netlog.Params{
			"hostname":                  r.key.Host,
			"dns_query_type":            int(r.key.QueryType),
			"address_family":            int(r.key.QueryType),
			"flags":                     r.key.Flags,
			"host_resolver_source":      source,
			"secure":                    false,
			"network_anonymization_key": "null",
			"network_isolation_key":     "null",
			"expiration":                strconv.FormatInt(nowTick+r.expires.Sub(now).Milliseconds(), 10),
			"ttl":                       r.entry.TTL.Milliseconds(),
			"network_changes":           r.networkChanges,
			"source":                    r.entry.Source,
		}
		if r.entry.Err != 0 {
			p["net_error"] = int(r.entry.Err)
			p["error"] = int(r.entry.Err)
		} else {
			addrs := make([]string, len(r.entry.Addresses))
			for i, a := range r.entry.Addresses {
				addrs[i] = a.String()
			}
			aliases := r.entry.Aliases
			if aliases == nil {
				aliases = []string{} // JSON [] rather than null
			}
			p["addresses"] = addrs
			p["aliases"] = aliases
		}
		out = append(out, p)
	}
	return out
}

func hostCacheCompareKeys(a, b HostCacheKey) int {
	if c := strings.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if c := cmp.Compare(a.QueryType, b.QueryType); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Flags, b.Flags); c != 0 {
		return c
	}
	if a.SystemResolver == b.SystemResolver {
		return 0
	}
	if !a.SystemResolver {
		return -1
	}
	return 1
}

// less orders records by expiry, then by when they were stored.
func (r *hostCacheRecord) less(o *hostCacheRecord) bool {
	if !r.expires.Equal(o.expires) {
		return r.expires.Before(o.expires)
	}
	return r.seq < o.seq
}

// hostCacheHeap is a min-heap of records that keeps each record's index, so
// that a replaced or evicted entry is removed in O(log n). It is written out
// rather than using container/heap to avoid the interface calls on the
// eviction path.
type hostCacheHeap []*hostCacheRecord

func (h *hostCacheHeap) push(r *hostCacheRecord) {
	r.index = len(*h)
	*h = append(*h, r)
	h.up(r.index)
}

func (h *hostCacheHeap) remove(i int) {
	s := *h
	n := len(s) - 1
	if i != n {
		s.swap(i, n)
	}
	s[n] = nil
	*h = s[:n]
	if i != n {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h *hostCacheHeap) init() {
	s := *h
	for i, r := range s {
		r.index = i
	}
	for i := len(s)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h hostCacheHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h hostCacheHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts h[i] down and reports whether it moved.
func (h hostCacheHeap) down(i int) bool {
	start := i
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h[r].less(h[l]) {
			m = r
		}
		if !h[m].less(h[i]) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
