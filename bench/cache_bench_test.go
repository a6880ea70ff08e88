package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/gregjones/httpcache"
	"github.com/gregjones/httpcache/diskcache"

	"github.com/netfetch/netfetch/urlrequest"
)

// Cache hits through netfetch's Fetch and through net/http with
// github.com/gregjones/httpcache, on the same fresh (max-age) resource, in
// one run. The origin counts requests: after the first, every request must
// be a hit, or the benchmark fails.

var cacheBodySizes = []struct {
	name string
	size int
}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}}

func cacheOrigin(b *testing.B, size int) (string, *atomic.Int64) {
	b.Helper()
	body := bytes.Repeat([]byte("x"), size)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"b"`)
		w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv.URL + "/cached", &hits
}

func runCacheHits(b *testing.B, size int, get getter, hits *atomic.Int64) {
	b.Helper()
	if err := get(context.Background()); err != nil { // fills the cache
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := get(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if n := hits.Load(); n != 1 {
		b.Fatalf("the origin saw %d requests; the cache missed", n)
	}
}

func netfetchCacheGetter(b *testing.B, url string, size int, disk bool) getter {
	builder := urlrequest.NewBuilder()
	if disk {
		builder.SetDiskCache(b.TempDir(), 0)
	} else {
		builder.SetMemoryCache(64 << 20)
	}
	c, err := builder.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	req := &urlrequest.FetchRequest{URL: url}
	return func(ctx context.Context) error {
		resp, err := c.Fetch(ctx, req)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return checkSize(resp.StatusCode, n, err, int64(size))
	}
}

func httpcacheGetter(url string, size int, cache httpcache.Cache) getter {
	return clientGetter(&http.Client{Transport: httpcache.NewTransport(cache)}, url, int64(size))
}

func BenchmarkCacheHit(b *testing.B) {
	for _, sz := range cacheBodySizes {
		for _, disk := range []bool{false, true} {
			kind := "memory"
			if disk {
				kind = "disk"
			}
			b.Run(kind+"/"+sz.name+"/netfetch", func(b *testing.B) {
				url, hits := cacheOrigin(b, sz.size)
				runCacheHits(b, sz.size, netfetchCacheGetter(b, url, sz.size, disk), hits)
			})
			b.Run(kind+"/"+sz.name+"/httpcache", func(b *testing.B) {
				url, hits := cacheOrigin(b, sz.size)
				var c httpcache.Cache = httpcache.NewMemoryCache()
				if disk {
					c = diskcache.New(b.TempDir())
				}
				runCacheHits(b, sz.size, httpcacheGetter(url, sz.size, c), hits)
			})
		}
	}
}
