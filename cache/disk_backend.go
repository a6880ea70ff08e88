package cache

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DefaultDiskCacheSize is the disk backend's size when none is given,
// Chromium's kDefaultCacheSize (cache_util.cc).
const DefaultDiskCacheSize = 80 << 20

// diskMinMaxEntrySize is the floor of the simple cache's max entry size
// (simple_backend_impl.cc).
const diskMinMaxEntrySize = 5 << 20

// DiskBackend is a Backend that keeps each entry in its own file in a
// directory, with an index of sizes and last-used times, after Chromium's
// simple cache. Writes are atomic (a temp file renamed over the entry), so
// a process killed at any moment leaves each entry old, new or absent; what
// the disk corrupts anyway fails a checksum and is dropped. A flock on the
// directory keeps other processes out for the backend's life. It is safe
// for concurrent use.
type DiskBackend struct {
	dir          string
	maxSize      int64
	maxEntrySize int64
	// keyHash names entry files; tests replace it to force collisions.
	keyHash func(string) uint64

	// mu guards the fields below and the directory's contents: a temp
	// file is written without it, but renaming, removing and the index
	// are done under it, so the index always matches the files.
	mu         sync.Mutex
	lock       *os.File                 // the flocked lock file; nil once closed
	lru        *list.List               // of *diskIndexRecord, most recently used first
	entries    map[uint64]*list.Element // by key hash
	size       int64
	clock      int64 // the last lastUsed handed out
	indexDirty bool  // the index file is behind lru
	flushTimer *time.Timer
	hits       int64
	misses     int64
	writes     int64
	evicted    int64
	corrupt    int64
}

var _ Backend = (*DiskBackend)(nil)

// OpenDiskBackend opens, or creates (mode 0700), the cache directory dir
// holding at most maxSize bytes of entry files; maxSize <= 0 means
// DefaultDiskCacheSize. It fails if dir cannot be created or written (the
// error names dir and wraps the os error) or if another backend holds it
// (the error wraps ErrLocked); the caller then runs without a disk cache.
// Temp files left by a crash are removed, and a missing, damaged or stale
// index is rebuilt from the entry files: a bad index never fails the open.
func OpenDiskBackend(dir string, maxSize int64) (*DiskBackend, error) {
	if maxSize <= 0 {
		maxSize = DefaultDiskCacheSize
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: cannot create disk cache directory %s: %w", dir, err)
	}
	lock, err := diskLockDir(dir)
	if err != nil {
		return nil, err
	}
	b := &DiskBackend{
		dir:          dir,
		maxSize:      maxSize,
		maxEntrySize: min(max(maxSize/8, diskMinMaxEntrySize), maxSize),
		keyHash:      diskKeyHash,
		lock:         lock,
		lru:          list.New(),
		entries:      make(map[uint64]*list.Element),
	}
	// Held because evictions in load may start the flush timer.
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.load(); err != nil {
		if b.flushTimer != nil {
			b.flushTimer.Stop()
		}
		b.lock = nil
		lock.Close()
		return nil, err
	}
	return b, nil
}

// load fills the index from the directory, then writes it back, which also
// proves the directory writable and marks the index unclean until Close.
// Called with mu held.
func (b *DiskBackend) load() error {
	des, err := os.ReadDir(b.dir)
	if err != nil {
		return fmt.Errorf("cache: cannot read disk cache directory %s: %w", b.dir, err)
	}
	files := make(map[uint64]bool)
	for _, de := range des {
		name := de.Name()
		if hash, ok := diskParseEntryName(name); ok {
			files[hash] = true
		} else if diskIsTempName(name) {
			// A write cut short by a crash; its entry, if any, is
			// still the old one.
			os.Remove(filepath.Join(b.dir, name))
		}
	}
	// A sound index lists at most the files present plus those removed
	// since it was written, which fit in the size limit; the bound keeps
	// a garbage index from costing a huge read.
	loaded, clean, err := diskReadIndex(b.dir, int64(len(files))+b.maxSize/diskEntryOverhead+1)
	if err != nil {
		loaded, clean = nil, false
	}
	for _, r := range diskReconcileIndex(b.dir, files, loaded, clean) {
		b.entries[r.hash] = b.lru.PushBack(r)
		b.size += r.size
		b.clock = max(b.clock, r.lastUsed)
	}
	// The size limit may have shrunk since the last run.
	b.evictFor(0, nil)
	if err := b.writeIndex(false); err != nil {
		return fmt.Errorf("cache: disk cache directory %s is not writable: %w", b.dir, err)
	}
	return nil
}

// Open reads and verifies the entry under key. The file is opened under mu
// but read outside it, so a big read does not stall other calls; the
// open descriptor keeps reading the same file even if a Store replaces it.
func (b *DiskBackend) Open(key string) (*Entry, error) {
	hash := b.keyHash(key)
	b.mu.Lock()
	if b.lock == nil {
		b.mu.Unlock()
		return nil, ErrBackendClosed
	}
	el, ok := b.entries[hash]
	if !ok {
		b.misses++
		b.mu.Unlock()
		return nil, ErrEntryNotFound
	}
	f, err := os.Open(b.path(hash))
	if err != nil {
		b.misses++
		if errors.Is(err, os.ErrNotExist) {
			// Removed behind our back: forget it.
			b.drop(el)
			b.mu.Unlock()
			return nil, ErrEntryNotFound
		}
		b.mu.Unlock()
		return nil, fmt.Errorf("cache: open entry: %w", err)
	}
	b.touch(el)
	b.mu.Unlock()
	defer f.Close()

	e, err := diskReadEntry(f, key, b.maxSize)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case err == nil:
		b.hits++
		return e, nil
	case errors.Is(err, errDiskEntryOtherKey):
		b.misses++
		return nil, ErrEntryNotFound
	default:
		b.misses++
		b.corrupt++
		b.dropCorrupt(hash, f)
		return nil, ErrEntryNotFound
	}
}

// Store writes the entry to a temp file, then renames it over the entry's
// file, evicting least recently used entries first to make room.
func (b *DiskBackend) Store(key string, info, body []byte) error {
	size := diskEntryFileSize(key, info, body)
	if int64(len(info))+int64(len(body)) > b.maxEntrySize || size > b.maxSize {
		return ErrEntryTooBig
	}
	hash := b.keyHash(key)
	if b.isClosed() {
		return ErrBackendClosed
	}
	// Written outside mu: a temp file has a name of its own.
	tmp, err := diskWriteEntryTemp(b.dir, diskEntryName(hash), key, info, body)
	if err != nil {
		return fmt.Errorf("cache: write entry: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.install(hash, tmp, size)
}

// UpdateInfo rewrites the entry under key with new info and its old body.
// It holds mu throughout, so a concurrent Store of the same key is
// never overwritten with the old body.
func (b *DiskBackend) UpdateInfo(key string, info []byte) error {
	hash := b.keyHash(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		return ErrBackendClosed
	}
	el, ok := b.entries[hash]
	if !ok {
		return ErrEntryNotFound
	}
	f, err := os.Open(b.path(hash))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			b.drop(el)
			return ErrEntryNotFound
		}
		return fmt.Errorf("cache: open entry: %w", err)
	}
	defer f.Close()
	old, err := diskReadEntry(f, key, b.maxSize)
	switch {
	case errors.Is(err, errDiskEntryOtherKey):
		return ErrEntryNotFound
	case err != nil:
		b.corrupt++
		b.dropCorrupt(hash, f)
		return ErrEntryNotFound
	}
	size := diskEntryFileSize(key, info, old.Body)
	if int64(len(info))+int64(len(old.Body)) > b.maxEntrySize || size > b.maxSize {
		return ErrEntryTooBig
	}
	tmp, err := diskWriteEntryTemp(b.dir, diskEntryName(hash), key, info, old.Body)
	if err != nil {
		return fmt.Errorf("cache: write entry: %w", err)
	}
	return b.install(hash, tmp, size)
}

// Doom removes the entry under key. It goes by the key's hash: in the
// (2^-64 per pair) case of a collision it drops the other key's entry,
// which costs a miss, never a wrong body.
func (b *DiskBackend) Doom(key string) error {
	hash := b.keyHash(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		return ErrBackendClosed
	}
	el, ok := b.entries[hash]
	if !ok {
		return nil
	}
	if err := os.Remove(b.path(hash)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cache: doom entry: %w", err)
	}
	b.drop(el)
	return nil
}

// MaxEntrySize is max(maxSize/8, 5 MiB), capped at maxSize, as in
// Chromium's simple cache.
func (b *DiskBackend) MaxEntrySize() int64 { return b.maxEntrySize }

// Stats reports the backend's counters.
func (b *DiskBackend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{
		Type:       "disk",
		Dir:        b.dir,
		Entries:    len(b.entries),
		Size:       b.size,
		MaxSize:    b.maxSize,
		Hits:       b.hits,
		Misses:     b.misses,
		Writes:     b.writes,
		Evictions:  b.evicted,
		Corruption: b.corrupt,
	}
}

// Close writes the index, marked clean, and releases the directory lock.
// Later calls return ErrBackendClosed.
func (b *DiskBackend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lock == nil {
		return ErrBackendClosed
	}
	if b.flushTimer != nil {
		b.flushTimer.Stop()
		b.flushTimer = nil
	}
	err := b.writeIndex(true)
	if cerr := b.lock.Close(); err == nil {
		err = cerr
	}
	b.lock = nil
	if err != nil {
		return fmt.Errorf("cache: close disk cache %s: %w", b.dir, err)
	}
	return nil
}

func (b *DiskBackend) path(hash uint64) string {
	return filepath.Join(b.dir, diskEntryName(hash))
}

func (b *DiskBackend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lock == nil
}

// install renames the temp file tmp over the entry file of hash and
// records it as the most recently used entry. Called with mu held.
func (b *DiskBackend) install(hash uint64, tmp string, size int64) error {
	if b.lock == nil {
		os.Remove(tmp)
		return ErrBackendClosed
	}
	old := b.entries[hash]
	var oldSize int64
	if old != nil {
		oldSize = old.Value.(*diskIndexRecord).size
	}
	// Room is made first so the directory never holds more than maxSize
	// of entries; the entry being replaced is not a candidate.
	b.evictFor(size-oldSize, old)
	if err := os.Rename(tmp, b.path(hash)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache: write entry: %w", err)
	}
	if old != nil {
		b.lru.Remove(old)
		b.size -= oldSize
	}
	r := &diskIndexRecord{hash: hash, size: size, lastUsed: b.now()}
	b.entries[hash] = b.lru.PushFront(r)
	b.size += size
	b.writes++
	b.indexChanged()
	return nil
}

// evictFor removes least recently used entries, other than keep, until
// need more bytes fit under maxSize. Called with mu held.
func (b *DiskBackend) evictFor(need int64, keep *list.Element) {
	for el := b.lru.Back(); el != nil && b.size+need > b.maxSize; {
		prev := el.Prev()
		if el != keep {
			// A file that cannot be removed is forgotten anyway; the
			// next open finds it again and accounts for it.
			os.Remove(b.path(el.Value.(*diskIndexRecord).hash))
			b.drop(el)
			b.evicted++
		}
		el = prev
	}
}

// dropCorrupt removes the corrupt entry file f was opened from, unless a
// Store has replaced it since, or the backend closed and no longer owns
// the directory. Called with mu held.
func (b *DiskBackend) dropCorrupt(hash uint64, f *os.File) {
	el, ok := b.entries[hash]
	if b.lock == nil || !ok {
		return
	}
	opened, err1 := f.Stat()
	current, err2 := os.Stat(b.path(hash))
	if err1 == nil && err2 == nil && !os.SameFile(opened, current) {
		return
	}
	os.Remove(b.path(hash))
	b.drop(el)
}

// drop forgets an entry whose file is gone. Called with mu held.
func (b *DiskBackend) drop(el *list.Element) {
	r := b.lru.Remove(el).(*diskIndexRecord)
	delete(b.entries, r.hash)
	b.size -= r.size
	b.indexChanged()
}

// touch marks an entry most recently used. Called with mu held.
func (b *DiskBackend) touch(el *list.Element) {
	el.Value.(*diskIndexRecord).lastUsed = b.now()
	b.lru.MoveToFront(el)
	b.indexChanged()
}

// now returns a last-used time later than any handed out before, so the
// times order the entries exactly even on a coarse clock.
func (b *DiskBackend) now() int64 {
	b.clock = max(b.clock+1, time.Now().UnixNano())
	return b.clock
}

// indexChanged schedules an index write (see diskIndexFlushDelay).
// Called with mu held.
func (b *DiskBackend) indexChanged() {
	b.indexDirty = true
	if b.flushTimer == nil {
		b.flushTimer = time.AfterFunc(diskIndexFlushDelay, b.flushIndex)
	}
}

func (b *DiskBackend) flushIndex() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flushTimer = nil
	if b.lock == nil || !b.indexDirty {
		return
	}
	// A failed write is not reported anywhere: the old index stays,
	// marked unclean, and is rebuilt at the next open.
	b.writeIndex(false)
}

// writeIndex replaces the index file atomically. clean is only set by
// Close: an index written while the backend runs may be overtaken by
// entry writes before a crash, so the next open must check it against the
// files. Called with mu held.
func (b *DiskBackend) writeIndex(clean bool) error {
	records := make([]*diskIndexRecord, 0, b.lru.Len())
	for el := b.lru.Front(); el != nil; el = el.Next() {
		records = append(records, el.Value.(*diskIndexRecord))
	}
	tmp, err := diskWriteTemp(b.dir, diskIndexName, diskEncodeIndex(records, clean))
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(b.dir, diskIndexName)); err != nil {
		os.Remove(tmp)
		return err
	}
	b.indexDirty = false
	return nil
}

// diskWriteTemp writes parts to a new file in dir named after final, which
// the caller then renames over final: rename is atomic, so a reader or a
// crash sees the old file or the new one, never part of one.
//
// The file is not fsync'ed. The cache needs atomicity across a killed
// process, which the page cache gives (it outlives the process), not
// durability across power loss, which would cost a disk flush per entry.
// Should power fail, the checksums turn torn entries into misses.
func diskWriteTemp(dir, final string, parts ...[]byte) (string, error) {
	f, err := os.CreateTemp(dir, final+".*.tmp")
	if err != nil {
		return "", err
	}
	for _, p := range parts {
		if _, err = f.Write(p); err != nil {
			break
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// diskIsTempName reports whether name is a temp file diskWriteTemp made
// (final + "." + random + ".tmp") for the index or an entry. Other files
// in the directory are not ours and are left alone.
func diskIsTempName(name string) bool {
	base, ok := strings.CutSuffix(name, ".tmp")
	if !ok {
		return false
	}
	i := strings.LastIndexByte(base, '.')
	if i < 0 {
		return false
	}
	final := base[:i]
	_, isEntry := diskParseEntryName(final)
	return isEntry || final == diskIndexName
}
