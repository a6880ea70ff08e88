package urlrequest_test

import (
	"fmt"
	gohttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// countingOrigin serves h and counts requests by method and by whether
// they were conditional.
type countingOrigin struct {
	*httptest.Server
	mu          sync.Mutex
	requests    int
	conditional int
	byMethod    map[string]int
}

func newOrigin(t *testing.T, h func(w gohttp.ResponseWriter, r *gohttp.Request)) *countingOrigin {
	t.Helper()
	o := &countingOrigin{byMethod: map[string]int{}}
	o.Server = httptest.NewServer(gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		o.mu.Lock()
		o.requests++
		o.byMethod[r.Method]++
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			o.conditional++
		}
		o.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(o.Close)
	return o
}

func (o *countingOrigin) counts() (requests, conditional int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.requests, o.conditional
}

func cachedContext(t *testing.T) *urlrequest.Context {
	t.Helper()
	c, err := urlrequest.NewBuilder().SetMemoryCache(0).Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { within(t, "Close", c.Close) })
	return c
}

// fetchStatus fetches and returns the body and the cache's part in it.
func fetchStatus(t *testing.T, c *urlrequest.Context, req *urlrequest.FetchRequest) (string, http.CacheEntryStatus, int) {
	t.Helper()
	resp, body := mustFetch(t, c, req)
	return string(body), resp.Info.CacheEntryStatus, resp.StatusCode
}

func TestCacheFreshResponseServedTwiceWithOneOriginRequest(t *testing.T) {
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "fresh %s", r.URL.Path)
	})
	c := cachedContext(t)
	for i, want := range []http.CacheEntryStatus{http.CacheEntryNotInCache, http.CacheEntryUsed, http.CacheEntryUsed} {
		body, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/a#frag" + fmt.Sprint(i)})
		if body != "fresh /a" || st != want {
			t.Fatalf("fetch %d: %q %v, want %v", i, body, st, want)
		}
	}
	if n, _ := o.counts(); n != 1 {
		t.Fatalf("origin saw %d requests, want 1", n)
	}
}

func TestCacheRevalidatesWithETagAnd304(t *testing.T) {
	version := "1"
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Version", version)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("etag body"))
	})
	c := cachedContext(t)
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL})
	version = "2"
	resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: o.URL})
	if string(body) != "etag body" || resp.Info.CacheEntryStatus != http.CacheEntryValidated || resp.StatusCode != 200 {
		t.Fatalf("%q %v %d", body, resp.Info.CacheEntryStatus, resp.StatusCode)
	}
	if v, _ := resp.Headers.Get("X-Version"); v != "2" {
		t.Errorf("the 304's headers were not merged: X-Version %q", v)
	}
	if n, cond := o.counts(); n != 2 || cond != 1 {
		t.Fatalf("origin saw %d requests (%d conditional), want 2 (1)", n, cond)
	}
}

func TestCacheRevalidatesWithLastModified(t *testing.T) {
	lm := time.Now().Add(-time.Hour).UTC().Format(gohttp.TimeFormat)
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Last-Modified", lm)
		w.Header().Set("Cache-Control", "max-age=0")
		if r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("lm body"))
	})
	c := cachedContext(t)
	for range 3 {
		if body, _, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL}); body != "lm body" {
			t.Fatalf("body %q", body)
		}
	}
	if n, cond := o.counts(); n != 3 || cond != 2 {
		t.Fatalf("origin saw %d requests (%d conditional), want 3 (2)", n, cond)
	}
}

func TestCacheVaryStoresVariants(t *testing.T) {
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		fmt.Fprintf(w, "encoding=%s", r.Header.Get("Accept-Encoding"))
	})
	c := cachedContext(t)
	for _, enc := range []string{"gzip", "br", "gzip", "br", "gzip"} {
		body, _, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL, Headers: []urlrequest.Header{{Name: "Accept-Encoding", Value: enc}}})
		if body != "encoding="+enc {
			t.Fatalf("Accept-Encoding %s: %q", enc, body)
		}
	}
	if n, _ := o.counts(); n != 2 {
		t.Fatalf("origin saw %d requests, want 2 (one per variant)", n)
	}
	o2 := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "*")
		w.Write([]byte("star"))
	})
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o2.URL})
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o2.URL})
	if n, _ := o2.counts(); n != 2 {
		t.Fatalf("Vary: * was served from the cache (%d origin requests)", n)
	}
}

func TestCacheUnsafeMethodsInvalidate(t *testing.T) {
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		switch r.Method {
		case "GET":
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "get %s", r.URL.Path)
		default:
			w.Header().Set("Location", "/other")
			w.WriteHeader(201)
		}
	})
	c := cachedContext(t)
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, p := range []string{"/doc", "/other"} {
			fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + p})
			fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + p})
		}
		before := o.byMethod["GET"]
		fetchStatus(t, c, &urlrequest.FetchRequest{Method: method, URL: o.URL + "/doc", Body: []byte("x")})
		for _, p := range []string{"/doc", "/other"} {
			if _, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + p}); st == http.CacheEntryUsed {
				t.Errorf("%s did not invalidate %s", method, p)
			}
		}
		if got := o.byMethod["GET"] - before; got != 2 {
			t.Errorf("%s: %d GETs reached the origin after it, want 2", method, got)
		}
	}
}

func TestCacheConcurrentRequestsFetchOnce(t *testing.T) {
	var inFlight, maxInFlight atomic.Int64
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
		}
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte(strings.Repeat("x", 100000)))
	})
	c := cachedContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: o.URL})
			if err != nil {
				errs <- err
				return
			}
			body, err := urlrequest.ReadAll(resp)
			if err != nil || len(body) != 100000 {
				errs <- fmt.Errorf("body %d bytes, %v", len(body), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, _ := o.counts(); n != 1 {
		t.Fatalf("20 concurrent GETs reached the origin %d times, want 1", n)
	}
}

func TestCacheNoStoreAndUncacheable(t *testing.T) {
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		switch r.URL.Path {
		case "/no-store":
			w.Header().Set("Cache-Control", "no-store, max-age=60")
		case "/plain":
			// No freshness and no validator: nothing to reuse.
		case "/fresh":
			w.Header().Set("Cache-Control", "max-age=60")
		}
		w.Write([]byte(r.URL.Path))
	})
	c := cachedContext(t)
	for _, p := range []string{"/no-store", "/plain"} {
		fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + p})
		if _, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + p}); st == http.CacheEntryUsed {
			t.Errorf("%s was served from the cache", p)
		}
	}
	// A request with no-store neither reads nor writes.
	noStore := []urlrequest.Header{{Name: "Cache-Control", Value: "no-store"}}
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/fresh", Headers: noStore})
	if _, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/fresh"}); st == http.CacheEntryUsed {
		t.Error("a request with Cache-Control: no-store stored its response")
	}
	if _, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/fresh", Headers: noStore}); st == http.CacheEntryUsed {
		t.Error("a request with Cache-Control: no-store read the cache")
	}
}

// Freshness from Expires and Date, Age, and the Last-Modified heuristic.
func TestCacheFreshnessSources(t *testing.T) {
	now := time.Now().UTC()
	date := now.Format(gohttp.TimeFormat)
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Date", date)
		switch r.URL.Path {
		case "/expires-future":
			w.Header().Set("Expires", now.Add(time.Hour).Format(gohttp.TimeFormat))
		case "/expires-past":
			w.Header().Set("Expires", now.Add(-time.Hour).Format(gohttp.TimeFormat))
		case "/aged":
			w.Header().Set("Cache-Control", "max-age=100")
			w.Header().Set("Age", "200")
		case "/heuristic":
			w.Header().Set("Last-Modified", now.Add(-100*24*time.Hour).Format(gohttp.TimeFormat))
		case "/heuristic-404":
			w.Header().Set("Last-Modified", now.Add(-100*24*time.Hour).Format(gohttp.TimeFormat))
			w.WriteHeader(404)
		case "/max-age-beats-expires":
			w.Header().Set("Cache-Control", "max-age=0")
			w.Header().Set("Expires", now.Add(time.Hour).Format(gohttp.TimeFormat))
		}
		w.Write([]byte("x"))
	})
	c := cachedContext(t)
	for _, tc := range []struct {
		path  string
		fresh bool
	}{
		{"/expires-future", true},
		{"/expires-past", false},
		{"/aged", false},
		{"/heuristic", true},
		{"/heuristic-404", false},
		{"/max-age-beats-expires", false},
	} {
		fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + tc.path})
		_, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + tc.path})
		if (st == http.CacheEntryUsed) != tc.fresh {
			t.Errorf("%s: second fetch %v, want fresh=%v", tc.path, st, tc.fresh)
		}
	}
}

func TestCacheRequestDirectivesAndLoadFlags(t *testing.T) {
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("ETag", `"e"`)
		switch r.URL.Path {
		case "/stale":
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("Age", "20")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
		}
		if r.Header.Get("If-None-Match") == `"e"` {
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("body"))
	})
	c := cachedContext(t)
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/fresh"})
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/stale"})
	hdr := func(v string) []urlrequest.Header { return []urlrequest.Header{{Name: "Cache-Control", Value: v}} }
	for _, tc := range []struct {
		name  string
		req   urlrequest.FetchRequest
		want  http.CacheEntryStatus
		wantE error
	}{
		{"fresh", urlrequest.FetchRequest{URL: "/fresh"}, http.CacheEntryUsed, nil},
		{"request max-age=0", urlrequest.FetchRequest{URL: "/fresh", Headers: hdr("max-age=0")}, http.CacheEntryValidated, nil},
		{"request max-age=5 on a fresh entry", urlrequest.FetchRequest{URL: "/fresh", Headers: hdr("max-age=5")}, http.CacheEntryUsed, nil},
		{"min-fresh beyond the lifetime", urlrequest.FetchRequest{URL: "/fresh", Headers: hdr("min-fresh=3600")}, http.CacheEntryValidated, nil},
		{"request no-cache (bypass, store)", urlrequest.FetchRequest{URL: "/fresh", Headers: hdr("no-cache")}, http.CacheEntryNotInCache, nil},
		{"max-stale serves stale", urlrequest.FetchRequest{URL: "/stale", Headers: hdr("max-stale=60")}, http.CacheEntryUsed, nil},
		{"max-stale too small", urlrequest.FetchRequest{URL: "/stale", Headers: hdr("max-stale=1")}, http.CacheEntryValidated, nil},
		{"VALIDATE_CACHE", urlrequest.FetchRequest{URL: "/fresh", LoadFlags: net.LoadValidateCache}, http.CacheEntryValidated, nil},
		{"BYPASS_CACHE", urlrequest.FetchRequest{URL: "/fresh", LoadFlags: net.LoadBypassCache}, http.CacheEntryNotInCache, nil},
		{"SKIP_CACHE_VALIDATION on stale", urlrequest.FetchRequest{URL: "/stale", LoadFlags: net.LoadSkipCacheValidation}, http.CacheEntryUsed, nil},
		{"ONLY_FROM_CACHE on stale", urlrequest.FetchRequest{URL: "/stale", LoadFlags: net.LoadOnlyFromCache}, http.CacheEntryUsed, nil},
		{"ONLY_FROM_CACHE miss", urlrequest.FetchRequest{URL: "/missing", LoadFlags: net.LoadOnlyFromCache}, 0, net.ErrCacheMiss},
		{"only-if-cached miss", urlrequest.FetchRequest{URL: "/missing2", Headers: hdr("only-if-cached")}, 0, net.ErrCacheMiss},
		{"DISABLE_CACHE", urlrequest.FetchRequest{URL: "/fresh", LoadFlags: net.LoadDisableCache}, http.CacheEntryUnknown, nil},
	} {
		req := tc.req
		req.URL = o.URL + req.URL
		n0, _ := o.counts()
		resp, err := c.Fetch(guard(t), &req)
		if tc.wantE != nil {
			wantErr(t, tc.name, err, tc.wantE)
			if n, _ := o.counts(); n != n0 {
				t.Errorf("%s: the origin was asked", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		body, _ := urlrequest.ReadAll(resp)
		if string(body) != "body" || resp.Info.CacheEntryStatus != tc.want {
			t.Errorf("%s: %q %v, want %v", tc.name, body, resp.Info.CacheEntryStatus, tc.want)
		}
	}
	// Through the RoundTripper, only-if-cached with nothing stored is 504.
	req, _ := gohttp.NewRequest("GET", o.URL+"/never", nil)
	req.Header.Set("Cache-Control", "only-if-cached")
	resp, err := c.RoundTripper().RoundTrip(req)
	if err != nil || resp.StatusCode != 504 {
		t.Fatalf("only-if-cached through the RoundTripper: %v %v", resp, err)
	}
}

func TestCacheHeadAndRange(t *testing.T) {
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		gohttp.ServeContent(w, r, "f", time.Time{}, strings.NewReader("0123456789"))
	})
	c := cachedContext(t)
	// HEAD is never stored.
	fetchStatus(t, c, &urlrequest.FetchRequest{Method: "HEAD", URL: o.URL + "/h"})
	if _, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/h"}); st != http.CacheEntryNotInCache {
		t.Errorf("GET after HEAD: %v", st)
	}
	// A stored GET answers HEAD.
	n0, _ := o.counts()
	resp, body := mustFetch(t, c, &urlrequest.FetchRequest{Method: "HEAD", URL: o.URL + "/h"})
	if len(body) != 0 || resp.Info.CacheEntryStatus != http.CacheEntryUsed {
		t.Errorf("HEAD: %q %v", body, resp.Info.CacheEntryStatus)
	}
	if n, _ := o.counts(); n != n0 {
		t.Error("HEAD of a stored GET reached the origin")
	}
	// A range passes through; its 206 is never served as the whole body.
	rng := []urlrequest.Header{{Name: "Range", Value: "bytes=2-4"}}
	if body, _, code := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/r", Headers: rng}); code != 206 || body != "234" {
		t.Fatalf("range: %d %q", code, body)
	}
	if body, st, code := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/r"}); code != 200 || body != "0123456789" || st == http.CacheEntryUsed {
		t.Fatalf("full GET after a range: %d %q %v", code, body, st)
	}
	if body, _, code := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL + "/r", Headers: rng}); code != 206 || body != "234" {
		t.Fatalf("range after a stored GET: %d %q", code, body)
	}
}

func TestCacheStaleWhileRevalidate(t *testing.T) {
	var version atomic.Int64
	o := newOrigin(t, func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Cache-Control", "max-age=1, stale-while-revalidate=600")
		w.Header().Set("Age", "5")
		fmt.Fprintf(w, "v%d", version.Add(1))
	})
	c := cachedContext(t)
	fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL})
	// Served stale at once; the revalidation happens behind it.
	body, st, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL, LoadFlags: net.LoadSupportAsyncRevalidation})
	if body != "v1" || st != http.CacheEntryUsed {
		t.Fatalf("stale-while-revalidate: %q %v", body, st)
	}
	within(t, "the background revalidation", func() {
		for n, _ := o.counts(); n < 2; n, _ = o.counts() {
			time.Sleep(time.Millisecond)
		}
	})
	// Without the flag the stale entry is validated first.
	if body, _, _ := fetchStatus(t, c, &urlrequest.FetchRequest{URL: o.URL}); body != "v3" {
		t.Fatalf("without async revalidation: %q", body)
	}
}
