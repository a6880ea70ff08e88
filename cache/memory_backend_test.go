package cache

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// memOpenBody opens key and returns its body, failing the test on error.
func memOpenBody(t *testing.T, b Backend, key string) string {
	t.Helper()
	e, err := b.Open(key)
	if err != nil {
		t.Fatalf("Open(%q) = %v", key, err)
	}
	return string(e.Body)
}

func TestMemoryBackendRoundTrip(t *testing.T) {
	m := NewMemoryBackend(0)
	if err := m.Store("k", []byte("info"), []byte("body")); err != nil {
		t.Fatal(err)
	}
	e, err := m.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	if e.Key != "k" || string(e.Info) != "info" || string(e.Body) != "body" {
		t.Errorf("Open = %q %q %q", e.Key, e.Info, e.Body)
	}
	if _, err := m.Open("missing"); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("Open(missing) = %v, want ErrEntryNotFound", err)
	}
	if err := m.Store("k", []byte("info2"), nil); err != nil {
		t.Fatal(err)
	}
	e, _ = m.Open("k")
	if string(e.Info) != "info2" || len(e.Body) != 0 {
		t.Errorf("after replace: %q %q", e.Info, e.Body)
	}
	if got, want := m.MaxEntrySize(), int64(DefaultMemoryCacheSize/8); got != want {
		t.Errorf("MaxEntrySize = %d, want %d", got, want)
	}
}

func TestMemoryBackendCopiesOnStore(t *testing.T) {
	m := NewMemoryBackend(0)
	info, body := []byte("info"), []byte("body")
	if err := m.Store("k", info, body); err != nil {
		t.Fatal(err)
	}
	copy(info, "XXXX")
	copy(body, "YYYY")
	e, _ := m.Open("k")
	if string(e.Info) != "info" || string(e.Body) != "body" {
		t.Fatalf("Store did not copy: %q %q", e.Info, e.Body)
	}
	// Open shares the stored bytes (read-only), but appending to the
	// returned info must not run into the body.
	e.Info = append(e.Info, "!!!!"...)
	e2, _ := m.Open("k")
	if string(e2.Info) != "info" || string(e2.Body) != "body" {
		t.Errorf("append to a returned Info reached the store: %q %q", e2.Info, e2.Body)
	}
}

func TestMemoryBackendLRUEviction(t *testing.T) {
	// Each entry is 1 (key) + 0 (info) + 99 (body) = 100 bytes.
	m := NewMemoryBackend(800)
	body := bytes.Repeat([]byte("x"), 99)
	for _, k := range "abcdefgh" {
		if err := m.Store(string(k), nil, body); err != nil {
			t.Fatal(err)
		}
	}
	if s := m.Stats(); s.Size != 800 || s.Entries != 8 || s.Evictions != 0 {
		t.Fatalf("full: %+v", s)
	}
	// Use a and c, so b and d are the least recently used.
	memOpenBody(t, m, "a")
	memOpenBody(t, m, "c")
	for _, k := range "ij" {
		if err := m.Store(string(k), nil, body); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range "bd" {
		if _, err := m.Open(string(k)); !errors.Is(err, ErrEntryNotFound) {
			t.Errorf("Open(%c) = %v, want evicted", k, err)
		}
	}
	for _, k := range "acefghij" {
		memOpenBody(t, m, string(k))
	}
	// The opens left the order a c e f g h i j, oldest first. Storing over
	// e is a use too, so three more entries then evict a, c and f.
	if err := m.Store("e", []byte("new"), body[:96]); err != nil {
		t.Fatal(err)
	}
	for _, k := range "xyz" {
		if err := m.Store(string(k), nil, body); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range "acf" {
		if _, err := m.Open(string(k)); !errors.Is(err, ErrEntryNotFound) {
			t.Errorf("Open(%c) = %v, want evicted", k, err)
		}
	}
	s := m.Stats()
	if s.Size > 800 || s.Evictions != 5 || s.Entries != 8 {
		t.Errorf("after evictions: %+v", s)
	}
}

func TestMemoryBackendTooBig(t *testing.T) {
	m := NewMemoryBackend(800)
	if m.MaxEntrySize() != 100 {
		t.Fatalf("MaxEntrySize = %d", m.MaxEntrySize())
	}
	if err := m.Store("k", []byte("12345"), make([]byte, 96)); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("Store(101 bytes) = %v, want ErrEntryTooBig", err)
	}
	if err := m.Store("k", []byte("1234"), make([]byte, 96)); err != nil {
		t.Errorf("Store(100 bytes) = %v", err)
	}
	if err := m.Store(strings.Repeat("k", 801), nil, nil); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("Store(801-byte key) = %v, want ErrEntryTooBig", err)
	}
	if err := m.UpdateInfo("k", make([]byte, 5)); !errors.Is(err, ErrEntryTooBig) {
		t.Errorf("UpdateInfo to 101 bytes = %v, want ErrEntryTooBig", err)
	}
	if s := m.Stats(); s.Entries != 1 || s.Writes != 1 {
		t.Errorf("refused entries landed: %+v", s)
	}
}

func TestMemoryBackendUpdateInfoAndDoom(t *testing.T) {
	m := NewMemoryBackend(0)
	if err := m.UpdateInfo("k", []byte("i")); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("UpdateInfo(missing) = %v", err)
	}
	m.Store("k", []byte("old info"), []byte("body"))
	if err := m.UpdateInfo("k", []byte("new")); err != nil {
		t.Fatal(err)
	}
	e, _ := m.Open("k")
	if string(e.Info) != "new" || string(e.Body) != "body" {
		t.Errorf("after UpdateInfo: %q %q", e.Info, e.Body)
	}
	if s := m.Stats(); s.Size != int64(len("k")+len("new")+len("body")) {
		t.Errorf("Size = %d after UpdateInfo", s.Size)
	}
	if err := m.Doom("k"); err != nil {
		t.Fatal(err)
	}
	if err := m.Doom("k"); err != nil {
		t.Errorf("second Doom = %v", err)
	}
	if _, err := m.Open("k"); !errors.Is(err, ErrEntryNotFound) {
		t.Errorf("Open after Doom = %v", err)
	}
	if s := m.Stats(); s.Size != 0 || s.Entries != 0 {
		t.Errorf("after Doom: %+v", s)
	}
}

func TestMemoryBackendStats(t *testing.T) {
	m := NewMemoryBackend(1000)
	m.Store("a", []byte("ii"), []byte("bbb"))
	m.Store("b", nil, []byte("b"))
	m.UpdateInfo("b", []byte("i"))
	m.Open("a")
	m.Open("a")
	m.Open("x")
	want := Stats{Type: "memory", Entries: 2, Size: 6 + 3, MaxSize: 1000, Hits: 2, Misses: 1, Writes: 3}
	if got := m.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

func TestMemoryBackendClose(t *testing.T) {
	m := NewMemoryBackend(0)
	m.Store("k", nil, []byte("body"))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open("k"); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("Open after Close = %v", err)
	}
	if err := m.Store("k", nil, nil); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("Store after Close = %v", err)
	}
	if err := m.UpdateInfo("k", nil); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("UpdateInfo after Close = %v", err)
	}
	if err := m.Doom("k"); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("Doom after Close = %v", err)
	}
	if err := m.Close(); !errors.Is(err, ErrBackendClosed) {
		t.Errorf("second Close = %v", err)
	}
}

// TestMemoryBackendConcurrent runs under -race: every body read back must
// be the one its key was stored with.
func TestMemoryBackendConcurrent(t *testing.T) {
	backendConcurrencyTest(t, NewMemoryBackend(64<<10))
}

// backendConcurrencyTest hammers b from several goroutines with Store,
// Open, UpdateInfo and Doom on a few shared keys, checking each hit.
func backendConcurrencyTest(t *testing.T, b Backend) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				key := fmt.Sprintf("key-%d", (g+i)%5)
				want := bytes.Repeat([]byte(key), 100+i%7*100)
				switch i % 4 {
				case 0:
					if err := b.Store(key, []byte("info"), want); err != nil {
						t.Errorf("Store(%q) = %v", key, err)
					}
				case 1:
					if err := b.UpdateInfo(key, []byte("updated")); err != nil && !errors.Is(err, ErrEntryNotFound) {
						t.Errorf("UpdateInfo(%q) = %v", key, err)
					}
				case 2:
					e, err := b.Open(key)
					if errors.Is(err, ErrEntryNotFound) {
						continue
					}
					if err != nil {
						t.Errorf("Open(%q) = %v", key, err)
						continue
					}
					if len(e.Body)%len(key) != 0 || !bytes.Equal(e.Body, bytes.Repeat([]byte(key), len(e.Body)/len(key))) {
						t.Errorf("Open(%q) returned a body of another key", key)
					}
				case 3:
					if i%8 == 3 {
						if err := b.Doom(key); err != nil {
							t.Errorf("Doom(%q) = %v", key, err)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	if s := b.Stats(); s.Size > s.MaxSize || s.Corruption != 0 {
		t.Errorf("after the run: %+v", s)
	}
}
