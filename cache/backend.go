package cache

import "errors"

// Errors a Backend reports.
var (
	// ErrEntryNotFound is a miss: nothing is stored under the key, or what
	// was stored failed its checksum and has been dropped.
	ErrEntryNotFound = errors.New("cache: entry not found")
	// ErrEntryTooBig refuses an entry larger than MaxEntrySize.
	ErrEntryTooBig = errors.New("cache: entry too big")
	// ErrLocked means another process holds the cache directory.
	ErrLocked = errors.New("cache: directory in use by another process")
	// ErrBackendClosed is returned by every call on a backend after Close.
	ErrBackendClosed = errors.New("cache: backend closed")
)

// Entry is one stored response: the info stream (the serialized response
// headers and metadata, Chromium's stream 0) and the body (stream 1). The
// slices of an Entry returned by Open are read-only: a backend may share
// them between callers.
type Entry struct {
	Key  string
	Info []byte
	Body []byte
}

// Stats describe a backend for the NetLog's httpCacheInfo.
type Stats struct {
	// Type is "memory" or "disk".
	Type string
	// Dir is the disk backend's directory.
	Dir        string
	Entries    int
	Size       int64 // bytes used by the entries
	MaxSize    int64
	Hits       int64 // Open calls that found an entry
	Misses     int64 // Open calls that did not
	Writes     int64 // Store and UpdateInfo calls that landed
	Evictions  int64 // entries dropped to stay under MaxSize
	Corruption int64 // entries dropped because they failed their checksum
}

// Backend stores entries by key (Chromium's disk_cache::Backend, reduced
// to whole-entry operations). Implementations are safe for concurrent use
// and may block on the disk, so the HTTP cache calls them off its loop.
type Backend interface {
	// Open returns the entry stored under key, verified: an entry that
	// fails its checksum is removed and reported as ErrEntryNotFound, so
	// corrupt data is never returned. Open counts as a use for LRU.
	Open(key string) (*Entry, error)
	// Store writes an entry, replacing any under the same key. It is
	// atomic: after a crash at any point the key holds the old entry, the
	// new one, or nothing, never a mix. Entries bigger than MaxEntrySize
	// (info plus body) fail with ErrEntryTooBig. Older entries are evicted
	// (least recently used first) to stay within the size limit.
	Store(key string, info, body []byte) error
	// UpdateInfo replaces the info stream of an existing entry and keeps
	// its body (a 304 refreshing stored headers); ErrEntryNotFound if the
	// entry is gone. Atomic like Store.
	UpdateInfo(key string, info []byte) error
	// Doom removes the entry under key; removing a missing entry is not an
	// error.
	Doom(key string) error
	// MaxEntrySize is the largest entry Store accepts.
	MaxEntrySize() int64
	// Stats reports the backend's counters.
	Stats() Stats
	// Close flushes what the backend keeps in memory (the disk index) and
	// releases its resources (the directory lock). Later calls fail.
	Close() error
}
