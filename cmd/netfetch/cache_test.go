package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netfetch/netfetch/urlrequest"
)

// cacheableOrigin serves a fresh, ETagged resource and counts requests
// and conditional ones.
func cacheableOrigin(t *testing.T) (string, *atomic.Int64, *atomic.Int64) {
	t.Helper()
	var all, conditional atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("cached:" + r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &all, &conditional
}

// The same --cache-dir across two runs: the second is served from disk,
// which -v and the NetLog show.
func TestCacheDirAcrossRuns(t *testing.T) {
	base, all, _ := cacheableOrigin(t)
	dir := filepath.Join(t.TempDir(), "cache")
	r := netfetch(t, "--cache-dir", dir, "-v", base+"/doc")
	expectCode(t, r, 0)
	if !strings.Contains(r.stderr, "* Cache: not in the cache; from the network") {
		t.Errorf("first run -v:\n%s", r.stderr)
	}
	logPath := filepath.Join(t.TempDir(), "cache.json")
	r = netfetch(t, "--cache-dir", dir, "-v", "--netlog", logPath, base+"/doc")
	expectCode(t, r, 0)
	if r.stdout != "cached:/doc" || all.Load() != 1 {
		t.Fatalf("second run: %q, origin saw %d", r.stdout, all.Load())
	}
	if !strings.Contains(r.stderr, "* Cache: served from the cache") {
		t.Errorf("second run -v:\n%s", r.stderr)
	}
	nl := readNetLog(t, logPath)
	nl.require(t, "HTTP_CACHE_GET_BACKEND", "HTTP_CACHE_ADD_TO_ENTRY", "HTTP_CACHE_OPEN_OR_CREATE_ENTRY",
		"HTTP_CACHE_READ_INFO", "HTTP_CACHE_READ_DATA", "DISK_CACHE_ENTRY_IMPL", "ENTRY_READ_DATA")
	stats := nl.raw["polledData"].(map[string]any)["httpCacheInfo"].(map[string]any)["stats"].(map[string]any)
	if stats["Type"] != "disk" || stats["Entries"] != "1" || stats["Hits"] != "1" {
		t.Errorf("httpCacheInfo.stats %v", stats)
	}
}

func TestCacheFlags(t *testing.T) {
	base, all, conditional := cacheableOrigin(t)
	dir := t.TempDir()
	r := netfetch(t, "--cache-dir", dir, "--cache-only", base+"/missing")
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_CACHE_MISS (-400)") || all.Load() != 0 {
		t.Fatalf("--cache-only miss: %q (origin saw %d)", r.stderr, all.Load())
	}
	expectCode(t, netfetch(t, "--cache-dir", dir, base+"/x"), 0)
	r = netfetch(t, "--cache-dir", dir, "--cache-only", base+"/x")
	expectCode(t, r, 0)
	if r.stdout != "cached:/x" || all.Load() != 1 {
		t.Fatalf("--cache-only hit: %q (origin saw %d)", r.stdout, all.Load())
	}
	logPath := filepath.Join(t.TempDir(), "revalidate.json")
	r = netfetch(t, "--cache-dir", dir, "--revalidate", "-v", "--netlog", logPath, base+"/x")
	expectCode(t, r, 0)
	if r.stdout != "cached:/x" || conditional.Load() != 1 || !strings.Contains(r.stderr, "revalidated with the origin (304") {
		t.Fatalf("--revalidate: %q, %d conditional\n%s", r.stdout, conditional.Load(), r.stderr)
	}
	readNetLog(t, logPath).require(t, "HTTP_CACHE_OPEN_OR_CREATE_ENTRY", "HTTP_CACHE_WRITE_INFO", "HTTP_CACHE_READ_DATA")
	logPath = filepath.Join(t.TempDir(), "no-cache.json")
	expectCode(t, netfetch(t, "--cache-dir", dir, "--no-cache", "--netlog", logPath, base+"/x"), 0)
	readNetLog(t, logPath).require(t, "HTTP_CACHE_CREATE_ENTRY", "HTTP_CACHE_WRITE_DATA", "ENTRY_WRITE_DATA")
	// A POST invalidates the stored GET.
	logPath = filepath.Join(t.TempDir(), "post.json")
	expectCode(t, netfetch(t, "--cache-dir", dir, "-d", "x", "--netlog", logPath, base+"/x"), 0)
	readNetLog(t, logPath).require(t, "HTTP_CACHE_DOOM_ENTRY")
	expectCode(t, netfetch(t, "--cache-dir", dir, "--cache-only", base+"/x"), 1)
	expectCode(t, netfetch(t, "--cache-dir", dir, base+"/x"), 0)
	if all.Load() != 5 || conditional.Load() != 1 {
		t.Fatalf("origin saw %d (%d conditional), want 5 (1)", all.Load(), conditional.Load())
	}
	// An in-memory cache serves repeats within one run.
	r = netfetch(t, "--cache", "memory", "--parallel", "1", base+"/m", base+"/m", base+"/m")
	expectCode(t, r, 0)
	if r.stdout != "cached:/mcached:/mcached:/m" || all.Load() != 6 {
		t.Fatalf("--cache memory: %q, origin saw %d", r.stdout, all.Load())
	}
	for _, args := range [][]string{
		{"--cache", "disk", base},
		{"--cache-size", "lots", "--cache", "memory", base},
		{"--cache-only", "--no-cache", "--cache", "memory", base},
		{"--cache", "memory", "--cache-dir", dir, base},
	} {
		expectCode(t, netfetch(t, args...), 2)
	}
}

// A cache directory another process holds: the run says so and goes on
// without the disk cache.
func TestCacheDirLocked(t *testing.T) {
	base, all, _ := cacheableOrigin(t)
	dir := t.TempDir()
	holder, err := urlrequest.NewBuilder().SetDiskCache(dir, 0).Build()
	if err != nil || holder.CacheError() != nil {
		t.Fatal(err, holder.CacheError())
	}
	defer holder.Close()
	r := netfetch(t, "--cache-dir", dir, base+"/l", base+"/l")
	expectCode(t, r, 0)
	if !strings.Contains(r.stderr, "running without the disk cache") || !strings.Contains(r.stderr, dir) {
		t.Errorf("stderr %q", r.stderr)
	}
	if r.stdout != "cached:/lcached:/l" || all.Load() != 2 {
		t.Errorf("stdout %q, origin saw %d", r.stdout, all.Load())
	}
}
