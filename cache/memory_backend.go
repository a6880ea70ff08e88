package cache

import (
	"container/list"
	"sync"
)

// DefaultMemoryCacheSize is the memory backend's size when none is given,
// Chromium's in-memory default (mem_backend_impl.cc).
const DefaultMemoryCacheSize = 10 << 20

// MemoryBackend is a Backend that keeps entries in memory, bounded by size
// and evicting the least recently used entries first (Chromium's
// MemBackendImpl). Store copies the bytes, so callers may reuse their
// slices; Open shares them, read-only. It is safe for concurrent use.
type MemoryBackend struct {
	maxSize int64

	mu      sync.Mutex
	closed  bool
	lru     *list.List // of *memEntry, most recently used at the front
	entries map[string]*list.Element
	size    int64
	hits    int64
	misses  int64
	writes  int64
	evicted int64
}

var _ Backend = (*MemoryBackend)(nil)

// memEntry owns its bytes: info and body share one allocation that no
// caller ever sees, so callers may reuse the slices they pass or get.
type memEntry struct {
	key  string
	info []byte
	body []byte
}

func (e *memEntry) size() int64 {
	return int64(len(e.key)) + int64(len(e.info)) + int64(len(e.body))
}

// memCopy returns copies of info and body backed by one allocation. The
// capacities are clipped so an append to info cannot overwrite body.
func memCopy(info, body []byte) (infoCopy, bodyCopy []byte) {
	buf := make([]byte, len(info)+len(body))
	n := copy(buf, info)
	copy(buf[n:], body)
	return buf[:n:n], buf[n:]
}

// NewMemoryBackend returns an empty memory backend holding at most maxSize
// bytes (key, info and body of every entry); maxSize <= 0 means
// DefaultMemoryCacheSize.
func NewMemoryBackend(maxSize int64) *MemoryBackend {
	if maxSize <= 0 {
		maxSize = DefaultMemoryCacheSize
	}
	return &MemoryBackend{
		maxSize: maxSize,
		lru:     list.New(),
		entries: make(map[string]*list.Element),
	}
}

// Open returns the entry under key, sharing its bytes (read-only), and
// marks it most recently used.
func (m *MemoryBackend) Open(key string) (*Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrBackendClosed
	}
	el, ok := m.entries[key]
	if !ok {
		m.misses++
		return nil, ErrEntryNotFound
	}
	m.hits++
	m.lru.MoveToFront(el)
	e := el.Value.(*memEntry)
	// Stored bytes are never written again (Store and UpdateInfo make new
	// slices), so the entry can share them: a hit costs no copy.
	// Capacities are capped so an append by the caller reallocates instead
	// of running over the bytes that follow.
	return &Entry{Key: key, Info: e.info[:len(e.info):len(e.info)], Body: e.body[:len(e.body):len(e.body)]}, nil
}

// Store copies info and body under key, replacing any entry there, and
// evicts least recently used entries until the new one fits.
func (m *MemoryBackend) Store(key string, info, body []byte) error {
	e := &memEntry{key: key}
	// Checked before copying so a refused entry costs no allocation; the
	// key counts towards the size too, so a huge key alone can be too big.
	if int64(len(info))+int64(len(body)) > m.MaxEntrySize() || int64(len(key))+int64(len(info))+int64(len(body)) > m.maxSize {
		return ErrEntryTooBig
	}
	e.info, e.body = memCopy(info, body)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrBackendClosed
	}
	if old, ok := m.entries[key]; ok {
		m.remove(old)
	}
	m.evictFor(e.size())
	m.entries[key] = m.lru.PushFront(e)
	m.size += e.size()
	m.writes++
	return nil
}

// UpdateInfo replaces the info of the entry under key, keeping its body.
func (m *MemoryBackend) UpdateInfo(key string, info []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrBackendClosed
	}
	el, ok := m.entries[key]
	if !ok {
		return ErrEntryNotFound
	}
	old := el.Value.(*memEntry)
	if int64(len(info))+int64(len(old.body)) > m.MaxEntrySize() || int64(len(key))+int64(len(info))+int64(len(old.body)) > m.maxSize {
		return ErrEntryTooBig
	}
	// The entry is taken out while room is made so eviction cannot pick
	// it, then put back as the most recently used.
	m.remove(el)
	e := &memEntry{key: key}
	e.info, e.body = memCopy(info, old.body)
	m.evictFor(e.size())
	m.entries[key] = m.lru.PushFront(e)
	m.size += e.size()
	m.writes++
	return nil
}

// Doom removes the entry under key, if any.
func (m *MemoryBackend) Doom(key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrBackendClosed
	}
	if el, ok := m.entries[key]; ok {
		m.remove(el)
	}
	return nil
}

// MaxEntrySize is an eighth of the size limit, as in Chromium.
func (m *MemoryBackend) MaxEntrySize() int64 { return m.maxSize / 8 }

// Stats reports the backend's counters.
func (m *MemoryBackend) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{
		Type:      "memory",
		Entries:   len(m.entries),
		Size:      m.size,
		MaxSize:   m.maxSize,
		Hits:      m.hits,
		Misses:    m.misses,
		Writes:    m.writes,
		Evictions: m.evicted,
	}
}

// Close drops every entry; later calls return ErrBackendClosed.
func (m *MemoryBackend) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrBackendClosed
	}
	m.closed = true
	m.lru.Init()
	m.entries = nil
	m.size = 0
	return nil
}

// evictFor drops least recently used entries until need more bytes fit.
func (m *MemoryBackend) evictFor(need int64) {
	for m.size+need > m.maxSize {
		back := m.lru.Back()
		if back == nil {
			return
		}
		m.remove(back)
		m.evicted++
	}
}

func (m *MemoryBackend) remove(el *list.Element) {
	e := m.lru.Remove(el).(*memEntry)
	delete(m.entries, e.key)
	m.size -= e.size()
}
