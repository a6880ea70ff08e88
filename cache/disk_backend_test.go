package cache

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// diskTestOpen opens a disk backend that the test closes at its end.
func diskTestOpen(t *testing.T, dir string, maxSize int64) *DiskBackend {
	t.Helper()
	b, err := OpenDiskBackend(dir, maxSize)
	if err != nil {
		t.Fatalf("OpenDiskBackend: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// diskTestClose closes b, failing the test on error.
func diskTestClose(t *testing.T, b *DiskBackend) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// diskTestBody is a body of n bytes that only key produces.
func diskTestBody(key string, n int) []byte {
	seed := diskKeyHash(key)
	body := make([]byte, n)
	for i := range body {
		body[i] = byte(seed >> (i % 8 * 8))
		if i%8 == 7 {
			seed = seed*6364136223846793005 + 1442695040888963407
		}
	}
	return body
}

// diskTestStore stores key with info "info:"+key and a body of n bytes.
func diskTestStore(t *testing.T, b Backend, key string, n int) {
	t.Helper()
	if err := b.Store(key, []byte("info:"+key), diskTestBody(key, n)); err != nil {
		t.Fatalf("Store(%q) = %v", key, err)
	}
}

// diskTestCheck opens key and checks what diskTestStore stored.
func diskTestCheck(t *testing.T, b Backend, key string, n int) {
	t.Helper()
	e, err := b.Open(key)
	if err != nil {
		t.Fatalf("Open(%q) = %v", key, err)
	}
	if e.Key != key || string(e.Info) != "info:"+key || !bytes.Equal(e.Body, diskTestBody(key, n)) {
		t.Fatalf("Open(%q) returned info %q and a wrong body (%d bytes)", key, e.Info, len(e.Body))
	}
}

// diskTestMiss checks that key is not found.
func diskTestMiss(t *testing.T, b Backend, key string) {
	t.Helper()
	if e, err := b.Open(key); !errors.Is(err, ErrEntryNotFound) {
		t.Fatalf("Open(%q) = %v, %v; want ErrEntryNotFound", key, e, err)
	}
}

// diskTestNames lists the names in dir that end in suffix.
func diskTestNames(t *testing.T, dir, suffix string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if strings.HasSuffix(de.Name(), suffix) {
			names = append(names, de.Name())
		}
	}
	return names
}

// diskTestCheckAccounting checks that Stats agree with the entry files.
func diskTestCheckAccounting(t *testing.T, b *DiskBackend) {
	t.Helper()
	var size int64
	names := diskTestNames(t, b.dir, diskEntrySuffix)
	for _, name := range names {
		fi, err := os.Stat(filepath.Join(b.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		size += fi.Size()
	}
	s := b.Stats()
	if s.Entries != len(names) || s.Size != size || s.Size > s.MaxSize {
		t.Fatalf("Stats %+v, directory has %d entry files of %d bytes", s, len(names), size)
	}
}

// diskTestEntryPath is where b keeps key.
func diskTestEntryPath(b *DiskBackend, key string) string {
	return b.path(b.keyHash(key))
}

// diskTestCrash abandons b as a killed process would: the lock goes, the
// index is not written at Close.
func diskTestCrash(b *DiskBackend) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.flushTimer != nil {
		b.flushTimer.Stop()
	}
	b.lock.Close()
	b.lock = nil
}

func TestDiskBackendRoundTrip(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	if s := b.Stats(); s.Type != "disk" || s.Dir != dir || s.MaxSize != DefaultDiskCacheSize {
		t.Errorf("Stats = %+v", s)
	}
	if b.MaxEntrySize() != DefaultDiskCacheSize/8 {
		t.Errorf("MaxEntrySize = %d", b.MaxEntrySize())
	}
	diskTestStore(t, b, "a", 0)
	diskTestStore(t, b, "b", 1000)
	diskTestStore(t, b, "c", 100_000)
	diskTestMiss(t, b, "d")
	diskTestCheck(t, b, "a", 0)
	diskTestCheck(t, b, "b", 1000)
	diskTestCheck(t, b, "c", 100_000)
	diskTestStore(t, b, "b", 10)
	diskTestCheck(t, b, "b", 10)
	diskTestCheckAccounting(t, b)
	diskTestClose(t, b)

	b = diskTestOpen(t, dir, 0)
	diskTestCheck(t, b, "a", 0)
	diskTestCheck(t, b, "b", 10)
	diskTestCheck(t, b, "c", 100_000)
	diskTestCheckAccounting(t, b)
	if s := b.Stats(); s.Hits != 3 || s.Corruption != 0 {
		t.Errorf("after reopen: %+v", s)
	}
}

func TestDiskBackendCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "cache")
	b := diskTestOpen(t, dir, 0)
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("created dir: %v %v", fi, err)
	}
	diskTestStore(t, b, "k", 10)
	diskTestCheck(t, b, "k", 10)
}

// diskTestLRUSize holds three 1000-byte entries of a one-letter key, and
// a fourth evicts one.
const diskTestLRUSize = int64(3*(diskEntryOverhead+1+len("info:k")+1000) + 500)

// diskTestLRUOrder checks that b, holding a, b and c, evicts b, then c,
// then a: a was used after c was stored.
func diskTestLRUOrder(t *testing.T, b *DiskBackend) {
	t.Helper()
	diskTestStore(t, b, "d", 1000)
	diskTestMiss(t, b, "b")
	diskTestStore(t, b, "e", 1000)
	diskTestMiss(t, b, "c")
	diskTestStore(t, b, "f", 1000)
	diskTestMiss(t, b, "a")
	for _, k := range []string{"d", "e", "f"} {
		diskTestCheck(t, b, k, 1000)
	}
	if s := b.Stats(); s.Evictions != 3 {
		t.Errorf("Evictions = %d, want 3", s.Evictions)
	}
	diskTestCheckAccounting(t, b)
}

// diskTestLRUFill stores a, b and c, then uses a.
func diskTestLRUFill(t *testing.T, b *DiskBackend) {
	t.Helper()
	for _, k := range []string{"a", "b", "c"} {
		diskTestStore(t, b, k, 1000)
	}
	diskTestCheck(t, b, "a", 1000)
}

func TestDiskBackendLRUSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, diskTestLRUSize)
	diskTestLRUFill(t, b)
	diskTestClose(t, b)
	diskTestLRUOrder(t, diskTestOpen(t, dir, diskTestLRUSize))
}

// TestDiskBackendLRUSurvivesCrash loses the index written at Close: the
// index written while running, marked unclean, still gives the order.
func TestDiskBackendLRUSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, diskTestLRUSize)
	diskTestLRUFill(t, b)
	b.flushIndex()
	diskTestCrash(b)
	diskTestLRUOrder(t, diskTestOpen(t, dir, diskTestLRUSize))
}

func TestDiskBackendShrunkLimitEvictsAtOpen(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	for _, k := range []string{"a", "b", "c", "d"} {
		diskTestStore(t, b, k, 1000)
	}
	diskTestClose(t, b)
	b = diskTestOpen(t, dir, 2500)
	diskTestMiss(t, b, "a")
	diskTestMiss(t, b, "b")
	diskTestCheck(t, b, "c", 1000)
	diskTestCheck(t, b, "d", 1000)
	diskTestCheckAccounting(t, b)
}

// diskTestRegion names the field of a small entry file at offset i.
func diskTestRegion(i, keyLen, infoLen, bodyLen int) string {
	for _, r := range []struct {
		name string
		size int
	}{
		{"magic", 4}, {"version", 4}, {"key length", 8}, {"key", keyLen},
		{"info length", 8}, {"info", infoLen}, {"body length", 8}, {"body", bodyLen},
	} {
		if i < r.size {
			return r.name
		}
		i -= r.size
	}
	return "checksum"
}

func TestDiskBackendFlippedByte(t *testing.T) {
	b := diskTestOpen(t, t.TempDir(), 0)
	const key, n = "key", 16
	path := diskTestEntryPath(b, key)
	diskTestStore(t, b, key, n)
	clean, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	regions := map[string]bool{}
	for i := range clean {
		region := diskTestRegion(i, len(key), len("info:"+key), n)
		regions[region] = true
		damaged := bytes.Clone(clean)
		damaged[i] ^= 0xff
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(key); !errors.Is(err, ErrEntryNotFound) {
			t.Fatalf("byte %d (%s) flipped: Open = %v, want ErrEntryNotFound", i, region, err)
		}
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("byte %d (%s) flipped: file not removed: %v", i, region, err)
		}
		if s := b.Stats(); s.Corruption != int64(i+1) || s.Entries != 0 || s.Size != 0 {
			t.Fatalf("byte %d (%s) flipped: %+v", i, region, s)
		}
		diskTestStore(t, b, key, n)
		diskTestCheck(t, b, key, n)
	}
	if len(regions) != 9 {
		t.Errorf("regions covered: %v", regions)
	}
}

func TestDiskBackendTruncatedEntry(t *testing.T) {
	b := diskTestOpen(t, t.TempDir(), 0)
	const key, n = "key", 100
	path := diskTestEntryPath(b, key)
	diskTestStore(t, b, key, n)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for size := range fi.Size() {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		diskTestMiss(t, b, key)
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("truncated to %d: file not removed", size)
		}
		diskTestStore(t, b, key, n)
	}
	if s := b.Stats(); s.Corruption != fi.Size() {
		t.Errorf("Corruption = %d, want %d", s.Corruption, fi.Size())
	}
	diskTestCheck(t, b, key, n)
}

func TestDiskBackendGarbageEntry(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	const key = "key"
	path := diskTestEntryPath(b, key)
	for i, garbage := range [][]byte{
		nil,
		[]byte("hello"),
		diskTestBody("garbage", diskEntryOverhead),
		diskTestBody("garbage", 100_000),
		bytes.Repeat([]byte{0xff}, 1000),
	} {
		diskTestStore(t, b, key, 10)
		if err := os.WriteFile(path, garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		diskTestMiss(t, b, key)
		if s := b.Stats(); s.Corruption != int64(i+1) {
			t.Fatalf("garbage %d: %+v", i, s)
		}
	}
	diskTestClose(t, b)

	// A garbage file under an entry's name found at open, and files that
	// are not the cache's.
	foreign := []string{"notes.txt", "foo.tmp", "0123456789ABCDEF.entry", "0123.entry", "index.old"}
	for _, name := range foreign {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not yours"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	b = diskTestOpen(t, dir, 0)
	diskTestMiss(t, b, key)
	if s := b.Stats(); s.Corruption != 1 || s.Entries != 0 {
		t.Errorf("garbage found at open: %+v", s)
	}
	diskTestStore(t, b, key, 10)
	diskTestCheck(t, b, key, 10)
	diskTestClose(t, b)
	for _, name := range foreign {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("foreign file %s: %v", name, err)
		}
	}
}

// diskTestCraft builds an entry file with the given length fields around
// real bytes, with a valid checksum, so that only the lengths are wrong.
func diskTestCraft(keyLen, infoLen, bodyLen uint64, key string) []byte {
	buf := binary.LittleEndian.AppendUint32(nil, diskEntryMagic)
	buf = binary.LittleEndian.AppendUint32(buf, diskEntryVersion)
	buf = binary.LittleEndian.AppendUint64(buf, keyLen)
	buf = append(buf, key...)
	buf = binary.LittleEndian.AppendUint64(buf, infoLen)
	buf = append(buf, "info"...)
	buf = binary.LittleEndian.AppendUint64(buf, bodyLen)
	buf = append(buf, "body"...)
	return binary.LittleEndian.AppendUint32(buf, crc32.Checksum(buf, diskCastagnoli))
}

func TestDiskBackendHugeLengths(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	const key = "key"
	path := diskTestEntryPath(b, key)
	if got, err := diskDecodeEntry(diskTestCraft(3, 4, 4, key), key); err != nil || string(got.Body) != "body" {
		t.Fatalf("the crafted file is not sound to begin with: %v", err)
	}
	cases := map[string][]byte{
		"key length 2^62":   diskTestCraft(1<<62, 4, 4, key),
		"key length 2^64-1": diskTestCraft(1<<64-1, 4, 4, key),
		"info length 2^40":  diskTestCraft(3, 1<<40, 4, key),
		"body length 2^63":  diskTestCraft(3, 4, 1<<63, key),
		"body length short": diskTestCraft(3, 4, 3, key),
	}
	for name, file := range cases {
		diskTestStore(t, b, key, 10)
		if err := os.WriteFile(path, file, 0o600); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		diskTestMiss(t, b, key)
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
			t.Errorf("%s: Open allocated %d bytes", name, d)
		}
	}
	// A file bigger than the cache (sparse, so cheap) is refused unread.
	diskTestStore(t, b, key, 10)
	if err := os.Truncate(path, 1<<40); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	diskTestMiss(t, b, key)
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("1 TiB file: Open allocated %d bytes", d)
	}
	if s := b.Stats(); s.Corruption != int64(len(cases)+1) {
		t.Errorf("Corruption = %d", s.Corruption)
	}
}

func TestDiskBackendIndexDamage(t *testing.T) {
	const n = 20
	key := func(i int) string { return fmt.Sprintf("https://example.com/%d", i) }
	index := func(dir string) string { return filepath.Join(dir, diskIndexName) }
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		gone   int // an entry removed by the damage, or -1
		extra  bool
	}{
		{"missing", func(t *testing.T, dir string) { os.Remove(index(dir)) }, -1, false},
		{"empty", func(t *testing.T, dir string) { os.Truncate(index(dir), 0) }, -1, false},
		{"truncated", func(t *testing.T, dir string) {
			fi, _ := os.Stat(index(dir))
			os.Truncate(index(dir), fi.Size()/2)
		}, -1, false},
		{"truncated by one byte", func(t *testing.T, dir string) {
			fi, _ := os.Stat(index(dir))
			os.Truncate(index(dir), fi.Size()-1)
		}, -1, false},
		{"garbage", func(t *testing.T, dir string) {
			os.WriteFile(index(dir), diskTestBody("garbage", 5000), 0o600)
		}, -1, false},
		{"bad magic", func(t *testing.T, dir string) {
			buf, _ := os.ReadFile(index(dir))
			buf[0] ^= 1
			end := len(buf) - 4
			binary.LittleEndian.PutUint32(buf[end:], crc32.Checksum(buf[:end], diskCastagnoli))
			os.WriteFile(index(dir), buf, 0o600)
		}, -1, false},
		{"bad checksum", func(t *testing.T, dir string) {
			buf, _ := os.ReadFile(index(dir))
			buf[len(buf)/2] ^= 1
			os.WriteFile(index(dir), buf, 0o600)
		}, -1, false},
		{"entry without file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, diskEntryName(diskKeyHash(key(7)))))
		}, 7, false},
		{"file without entry", func(t *testing.T, dir string) {
			// Made by another cache, so the index here does not know it.
			other := t.TempDir()
			ob := diskTestOpen(t, other, 0)
			diskTestStore(t, ob, "extra", 500)
			diskTestClose(t, ob)
			name := diskEntryName(diskKeyHash("extra"))
			buf, _ := os.ReadFile(filepath.Join(other, name))
			os.WriteFile(filepath.Join(dir, name), buf, 0o600)
		}, -1, true},
		{"unclean", func(t *testing.T, dir string) {
			buf, _ := os.ReadFile(index(dir))
			buf[8] = 0
			end := len(buf) - 4
			binary.LittleEndian.PutUint32(buf[end:], crc32.Checksum(buf[:end], diskCastagnoli))
			os.WriteFile(index(dir), buf, 0o600)
		}, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := diskTestOpen(t, dir, 0)
			for i := range n {
				diskTestStore(t, b, key(i), 100*i)
			}
			diskTestClose(t, b)
			tc.damage(t, dir)

			b = diskTestOpen(t, dir, 0)
			diskTestCheckAccounting(t, b)
			want := n
			if tc.gone >= 0 {
				want--
			}
			if tc.extra {
				want++
				diskTestCheck(t, b, "extra", 500)
			}
			if s := b.Stats(); s.Entries != want {
				t.Errorf("Entries = %d, want %d", s.Entries, want)
			}
			for i := range n {
				if i == tc.gone {
					diskTestMiss(t, b, key(i))
				} else {
					diskTestCheck(t, b, key(i), 100*i)
				}
			}
			if s := b.Stats(); s.Corruption != 0 {
				t.Errorf("Corruption = %d", s.Corruption)
			}
			diskTestStore(t, b, "new", 10)
			diskTestClose(t, b)

			// The rebuilt index is clean again.
			records, clean, err := diskReadIndex(dir, 1000)
			if err != nil || !clean || len(records) != want+1 {
				t.Errorf("index after Close: %d records, clean %v, %v", len(records), clean, err)
			}
		})
	}
}

func TestDiskBackendRemovesLeftoverTempFiles(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	diskTestStore(t, b, "k", 10)
	diskTestClose(t, b)
	ours := []string{diskEntryName(diskKeyHash("k")) + ".123456.tmp", diskEntryName(42) + ".1.tmp", "index.987.tmp"}
	theirs := []string{"foo.tmp", "index.tmp", "download.123.tmp"}
	for _, name := range slices.Concat(ours, theirs) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half a write"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b = diskTestOpen(t, dir, 0)
	for _, name := range ours {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left behind: %v", name, err)
		}
	}
	for _, name := range theirs {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s removed: %v", name, err)
		}
	}
	diskTestCheck(t, b, "k", 10)
}

func TestDiskBackendEviction(t *testing.T) {
	const maxSize = 64 << 10
	b := diskTestOpen(t, t.TempDir(), maxSize)
	key := func(i int) string { return fmt.Sprintf("key-%02d", i) }
	const n = 40
	for i := range n {
		diskTestStore(t, b, key(i), 4000+i*10)
		// key-00 is used all along, so it is never the least recent.
		diskTestCheck(t, b, key(0), 4000)
		diskTestCheckAccounting(t, b)
	}
	s := b.Stats()
	if s.Evictions != int64(n-s.Entries) {
		t.Errorf("%+v", s)
	}
	// What remains is key-00 and the newest others.
	for i := 1; i < n; i++ {
		if i < n-(s.Entries-1) {
			diskTestMiss(t, b, key(i))
		} else {
			diskTestCheck(t, b, key(i), 4000+i*10)
		}
	}
	if names := diskTestNames(t, b.dir, diskEntrySuffix); len(names) != s.Entries {
		t.Errorf("%d entry files for %d entries", len(names), s.Entries)
	}
}

func TestDiskBackendTooBig(t *testing.T) {
	for _, tc := range []struct{ maxSize, want int64 }{
		{0, DefaultDiskCacheSize / 8},
		{400 << 20, 50 << 20},
		{16 << 20, 5 << 20},
		{1 << 20, 1 << 20},
	} {
		b := diskTestOpen(t, t.TempDir(), tc.maxSize)
		if got := b.MaxEntrySize(); got != tc.want {
			t.Errorf("maxSize %d: MaxEntrySize = %d, want %d", tc.maxSize, got, tc.want)
		}
	}
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 1<<20)
	if err := b.Store("k", []byte("i"), make([]byte, 1<<20)); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("Store over MaxEntrySize = %v", err)
	}
	// Within MaxEntrySize, but the file with key and header is not.
	if err := b.Store("k", nil, make([]byte, 1<<20)); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("Store of a file over maxSize = %v", err)
	}
	body := make([]byte, 1<<20-diskEntryOverhead-1)
	if err := b.Store("k", nil, body); err != nil {
		t.Errorf("Store of a file of exactly maxSize = %v", err)
	}
	if err := b.UpdateInfo("k", []byte("i")); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("UpdateInfo over the limit = %v", err)
	}
	if s := b.Stats(); s.Entries != 1 || s.Writes != 1 || s.Size != 1<<20 {
		t.Errorf("%+v", s)
	}
	if names := diskTestNames(t, dir, ".tmp"); len(names) != 0 {
		t.Errorf("temp files left: %v", names)
	}
}

func TestDiskBackendDoom(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	diskTestStore(t, b, "a", 10)
	diskTestStore(t, b, "b", 10)
	if err := b.Doom("a"); err != nil {
		t.Fatal(err)
	}
	if err := b.Doom("a"); err != nil {
		t.Errorf("second Doom = %v", err)
	}
	if err := b.Doom("never"); err != nil {
		t.Errorf("Doom(missing) = %v", err)
	}
	diskTestMiss(t, b, "a")
	if _, err := os.Stat(diskTestEntryPath(b, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("doomed file remains: %v", err)
	}
	diskTestCheckAccounting(t, b)
	diskTestClose(t, b)
	b = diskTestOpen(t, dir, 0)
	diskTestMiss(t, b, "a")
	diskTestCheck(t, b, "b", 10)
}

func TestDiskBackendUpdateInfo(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	if err := b.UpdateInfo("k", []byte("x")); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("UpdateInfo(missing) = %v", err)
	}
	body := diskTestBody("k", 5000)
	if err := b.Store("k", []byte("old headers"), body); err != nil {
		t.Fatal(err)
	}
	if err := b.UpdateInfo("k", []byte("new, longer headers")); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		e, err := b.Open("k")
		if err != nil || string(e.Info) != "new, longer headers" || !bytes.Equal(e.Body, body) {
			t.Fatalf("after UpdateInfo: %v", err)
		}
	}
	check()
	diskTestCheckAccounting(t, b)
	if s := b.Stats(); s.Writes != 2 {
		t.Errorf("Writes = %d", s.Writes)
	}
	diskTestClose(t, b)
	b = diskTestOpen(t, dir, 0)
	check()

	// A corrupt entry is dropped, not updated.
	path := diskTestEntryPath(b, "k")
	buf, _ := os.ReadFile(path)
	buf[len(buf)-10] ^= 1
	os.WriteFile(path, buf, 0o600)
	if err := b.UpdateInfo("k", []byte("x")); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("UpdateInfo(corrupt) = %v", err)
	}
	if s := b.Stats(); s.Corruption != 1 || s.Entries != 0 {
		t.Errorf("%+v", s)
	}
}

func TestDiskBackendHashCollision(t *testing.T) {
	b := diskTestOpen(t, t.TempDir(), 0)
	b.keyHash = func(string) uint64 { return 42 }
	diskTestStore(t, b, "a", 100)
	diskTestMiss(t, b, "b")
	if err := b.UpdateInfo("b", []byte("x")); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("UpdateInfo(b) = %v", err)
	}
	diskTestCheck(t, b, "a", 100)
	diskTestStore(t, b, "b", 200)
	diskTestMiss(t, b, "a")
	diskTestCheck(t, b, "b", 200)
	if s := b.Stats(); s.Entries != 1 || s.Corruption != 0 {
		t.Errorf("%+v", s)
	}
	if names := diskTestNames(t, b.dir, diskEntrySuffix); !slices.Equal(names, []string{"000000000000002a.entry"}) {
		t.Errorf("entry files: %v", names)
	}
	diskTestCheckAccounting(t, b)
}

func TestDiskBackendLock(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	diskTestStore(t, b, "k", 10)
	b2, err := OpenDiskBackend(dir, 0)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second OpenDiskBackend = %v, %v; want ErrLocked naming %s", b2, err, dir)
	}
	t.Logf("second open: %v", err)
	diskTestCheck(t, b, "k", 10)
	diskTestClose(t, b)
	b2 = diskTestOpen(t, dir, 0)
	diskTestCheck(t, b2, "k", 10)
}

func TestDiskBackendReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions; TestDiskBackendDirectoryIsAFile covers root")
	}
	for _, used := range []bool{false, true} {
		t.Run(fmt.Sprintf("used=%v", used), func(t *testing.T) {
			dir := t.TempDir()
			if used {
				b := diskTestOpen(t, dir, 0)
				diskTestStore(t, b, "k", 10)
				diskTestClose(t, b)
			}
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			b, err := OpenDiskBackend(dir, 0)
			if err == nil {
				b.Close()
				t.Fatal("OpenDiskBackend on a read-only directory succeeded")
			}
			if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "not writable") {
				t.Errorf("error %q should name %s, say it is not writable and wrap EACCES", err, dir)
			}
			t.Logf("read-only: %v", err)
			// The lock went with the failed open.
			os.Chmod(dir, 0o700)
			diskTestOpen(t, dir, 0)
		})
	}
}

func TestDiskBackendDirectoryIsAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "cache")} {
		b, err := OpenDiskBackend(dir, 0)
		if err == nil {
			b.Close()
			t.Fatalf("OpenDiskBackend(%s) succeeded", dir)
		}
		if !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), dir) {
			t.Errorf("error %q should name %s and wrap ENOTDIR", err, dir)
		}
		t.Logf("%v", err)
	}
}

func TestDiskBackendClosed(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 0)
	diskTestStore(t, b, "k", 10)
	diskTestClose(t, b)
	if _, err := b.Open("k"); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("Open = %v", err)
	}
	if err := b.Store("k", nil, nil); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("Store = %v", err)
	}
	if err := b.UpdateInfo("k", nil); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("UpdateInfo = %v", err)
	}
	if err := b.Doom("k"); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("Doom = %v", err)
	}
	if err := b.Close(); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("second Close = %v", err)
	}
	if s := b.Stats(); s.Entries != 1 || s.Writes != 1 {
		t.Errorf("Stats after Close = %+v", s)
	}
	b.flushIndex() // a flush that lost the race with Close does nothing
	if names := diskTestNames(t, dir, ".tmp"); len(names) != 0 {
		t.Errorf("temp files: %v", names)
	}
}

func TestDiskBackendStats(t *testing.T) {
	dir := t.TempDir()
	b := diskTestOpen(t, dir, 1<<20)
	diskTestStore(t, b, "a", 10)
	diskTestStore(t, b, "b", 20)
	b.UpdateInfo("b", []byte("i"))
	b.Open("a")
	b.Open("zz")
	size := int64(diskEntryOverhead+1+len("info:a")+10) + int64(diskEntryOverhead+1+len("i")+20)
	want := Stats{Type: "disk", Dir: dir, Entries: 2, Size: size, MaxSize: 1 << 20, Hits: 1, Misses: 1, Writes: 3}
	if got := b.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// TestDiskBackendConcurrent runs under -race: every body read back must be
// the one its key was stored with, and the files match the accounting.
func TestDiskBackendConcurrent(t *testing.T) {
	b := diskTestOpen(t, t.TempDir(), 64<<10)
	backendConcurrencyTest(t, b)
	diskTestCheckAccounting(t, b)
}
