package cache

import (
	"strconv"
	"time"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Mode is the HTTP cache's mode (Chromium's HttpCache::Mode).
type Mode int

// Modes.
const (
	// Normal reads and writes the cache.
	Normal Mode = iota
	// Disable passes every request through, as if each carried
	// LOAD_DISABLE_CACHE.
	Disable
)

// DefaultLockTimeout is how long a transaction waits for another one that
// is fetching the same entry before it gives up on the cache.
const DefaultLockTimeout = 20 * time.Second

// Params configure an HttpCache.
type Params struct {
	Loop    *net.Loop
	NetLog  *netlog.NetLog
	Network http.TransactionFactory
	Mode    Mode
	// Backend stores the entries; nil passes everything through.
	Backend Backend
	// LockTimeout defaults to DefaultLockTimeout.
	LockTimeout time.Duration
	// Now is the clock freshness is judged by; default time.Now.
	Now func() time.Time
}

// HttpCache is the TransactionFactory between URL requests and the
// network layer (Chromium's HttpCache): it answers from stored responses
// when RFC 9111 allows, revalidates them, and stores what the network
// returns. It is owned by its loop.
type HttpCache struct {
	params Params
	// inline says the backend never blocks (memory), so its calls run on
	// the loop rather than in a goroutine.
	inline bool
	// The NetLog source and event of an entry: memory or disk.
	entrySource netlog.SourceType
	entryEvent  netlog.EventType
	active      map[string]*activeEntry
	closed      bool
}

// activeEntry is the per-key lock (Chromium's ActiveEntry, reduced to one
// transaction at a time in the headers phase or writing): while writer
// fetches the entry, other transactions for the key wait, and then read
// what it stored.
type activeEntry struct {
	key     string
	writer  *Transaction
	waiters []*Transaction
}

// inlineBackend marks backends whose calls never block.
type inlineBackend interface{ neverBlocks() }

func (*MemoryBackend) neverBlocks() {}

// NewHttpCache returns a cache over p.Network.
func NewHttpCache(p Params) *HttpCache {
	if p.LockTimeout <= 0 {
		p.LockTimeout = DefaultLockTimeout
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.NetLog == nil {
		p.NetLog = netlog.New()
	}
	c := &HttpCache{params: p, active: map[string]*activeEntry{},
		entrySource: netlog.SourceDiskCacheEntry, entryEvent: netlog.EventDiskCacheEntryImpl}
	if _, c.inline = p.Backend.(inlineBackend); c.inline {
		c.entrySource, c.entryEvent = netlog.SourceMemoryCacheEntry, netlog.EventDiskCacheMemEntryImpl
	}
	return c
}

// New returns a cache without a backend: every request passes through to
// network (Chromium's HttpCache without a disk cache).
func New(network http.TransactionFactory, mode Mode) *HttpCache {
	return NewHttpCache(Params{Network: network, Mode: mode})
}

// SetLockTimeout changes how long a transaction waits for another that is
// fetching the same entry (DefaultLockTimeout).
func (c *HttpCache) SetLockTimeout(d time.Duration) { c.params.LockTimeout = d }

// Mode is the cache's mode.
func (c *HttpCache) Mode() Mode { return c.params.Mode }

// Backend is the store, nil when there is none.
func (c *HttpCache) Backend() Backend { return c.params.Backend }

// CreateTransaction implements http.TransactionFactory.
func (c *HttpCache) CreateTransaction(priority net.RequestPriority) http.Transaction {
	return &Transaction{cache: c, priority: priority}
}

// Close fails waiting transactions' lock waits (they go to the network
// or fail) and closes the backend. Call it on the loop, after the
// transactions have been closed.
func (c *HttpCache) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.params.Backend == nil {
		return nil
	}
	return c.params.Backend.Close()
}

// addToEntry makes t the transaction working on key, or queues it behind
// the one that is. It reports whether t may go on now.
func (c *HttpCache) addToEntry(t *Transaction, key string) bool {
	ae := c.active[key]
	if ae == nil {
		ae = &activeEntry{key: key}
		c.active[key] = ae
	}
	t.active = ae
	if ae.writer == nil {
		ae.writer = t
		return true
	}
	ae.waiters = append(ae.waiters, t)
	return false
}

// removeWaiter takes t out of its entry's queue (it timed out or closed).
func (c *HttpCache) removeWaiter(t *Transaction) {
	ae := t.active
	t.active = nil
	if ae == nil {
		return
	}
	for i, w := range ae.waiters {
		if w == t {
			ae.waiters = append(ae.waiters[:i], ae.waiters[i+1:]...)
			break
		}
	}
	c.dropIfIdle(ae)
}

// doneWithEntry releases t's hold on its entry; the waiters try again in
// the order they came (the first takes the entry, the rest queue behind
// it again).
func (c *HttpCache) doneWithEntry(t *Transaction) {
	ae := t.active
	t.active = nil
	if ae == nil || ae.writer != t {
		return
	}
	ae.writer = nil
	waiters := ae.waiters
	ae.waiters = nil
	c.dropIfIdle(ae)
	for _, w := range waiters {
		w.active = nil
		c.params.Loop.Post(w.retryAddToEntry)
	}
}

func (c *HttpCache) dropIfIdle(ae *activeEntry) {
	if ae.writer == nil && len(ae.waiters) == 0 && c.active[ae.key] == ae {
		delete(c.active, ae.key)
	}
}

// Info is polledData.httpCacheInfo: the backend's counters, as
// netlog-viewer's HTTP Cache tab lists them.
func (c *HttpCache) Info() netlog.Params {
	stats := netlog.Params{}
	b := c.params.Backend
	if b == nil || c.params.Mode == Disable {
		stats["Type"] = "none (pass-through)"
		return netlog.Params{"stats": stats}
	}
	s := b.Stats()
	stats["Type"] = s.Type
	if s.Dir != "" {
		stats["Directory"] = s.Dir
	}
	for _, kv := range []struct {
		name string
		v    int64
	}{
		{"Entries", int64(s.Entries)}, {"Size", s.Size}, {"Max size", s.MaxSize},
		{"Hits", s.Hits}, {"Misses", s.Misses}, {"Writes", s.Writes},
		{"Evictions", s.Evictions}, {"Corrupt entries dropped", s.Corruption},
	} {
		stats[kv.name] = strconv.FormatInt(kv.v, 10)
	}
	return netlog.Params{"stats": stats}
}
