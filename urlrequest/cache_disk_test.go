package urlrequest_test

import (
	"errors"
	gohttp "net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/cache"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/urlrequest"
)

func diskContext(t *testing.T, dir string) *urlrequest.Context {
	t.Helper()
	c, err := urlrequest.NewBuilder().SetDiskCache(dir, 0).Build()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var diskBody = strings.Repeat("disk cached body ", 4096)

func diskOrigin(t *testing.T) *countingOrigin {
	return newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte(diskBody))
	})
}

// The disk cache outlives its Context: a second one on the same directory
// answers from it.
func TestDiskCacheAcrossContexts(t *testing.T) {
	o := diskOrigin(t)
	dir := t.TempDir()
	c1 := diskContext(t, dir)
	if body, st, _ := fetchStatus(t, c1, &urlrequest.FetchRequest{URL: o.URL}); body != diskBody || st != http.CacheEntryNotInCache {
		t.Fatalf("first: %d bytes, %v", len(body), st)
	}
	within(t, "Close", c1.Close)
	c2 := diskContext(t, dir)
	defer c2.Close()
	if body, st, _ := fetchStatus(t, c2, &urlrequest.FetchRequest{URL: o.URL}); body != diskBody || st != http.CacheEntryUsed {
		t.Fatalf("second Context: %d bytes, %v", len(body), st)
	}
	if n, _ := o.counts(); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
}

// Flipped bytes in an entry are caught by its checksum: the entry is
// dropped and fetched again, and the body is never wrong.
func TestDiskCacheCorruptEntryIsRefetched(t *testing.T) {
	o := diskOrigin(t)
	dir := t.TempDir()
	c1 := diskContext(t, dir)
	fetchStatus(t, c1, &urlrequest.FetchRequest{URL: o.URL})
	within(t, "Close", c1.Close)
	files, _ := filepath.Glob(filepath.Join(dir, "*.entry"))
	if len(files) == 0 {
		t.Fatal("no entry files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		os.WriteFile(f, b, 0o600)
	}
	c2 := diskContext(t, dir)
	defer c2.Close()
	for i := range 2 {
		body, _, _ := fetchStatus(t, c2, &urlrequest.FetchRequest{URL: o.URL})
		if body != diskBody {
			t.Fatalf("fetch %d: a wrong body (%d bytes)", i, len(body))
		}
	}
	if n, _ := o.counts(); n != 2 {
		t.Fatalf("origin saw %d requests, want 2 (the corrupt entry refetched, then served)", n)
	}
}

// A second Context on a directory in use runs without the disk cache and
// says why; so does one whose directory cannot be created.
func TestDiskCacheUnavailableDegrades(t *testing.T) {
	o := diskOrigin(t)
	dir := t.TempDir()
	c1 := diskContext(t, dir)
	defer c1.Close()
	c2 := diskContext(t, dir)
	defer c2.Close()
	if err := c2.CacheError(); !errors.Is(err, cache.ErrLocked) {
		t.Fatalf("CacheError %v, want ErrLocked", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	c3 := diskContext(t, filepath.Join(file, "cache"))
	defer c3.Close()
	if c3.CacheError() == nil {
		t.Fatal("a cache directory under a file did not fail")
	}
	for _, c := range []*urlrequest.Context{c2, c3} {
		for range 2 {
			if body, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL}); body != diskBody || st == http.CacheEntryUsed {
				t.Fatalf("%d bytes, %v", len(body), st)
			}
		}
	}
}
