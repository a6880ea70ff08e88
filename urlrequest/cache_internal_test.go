package urlrequest

import (
	"context"
	gohttp "net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"
)

// A request that waits longer than the lock timeout for another one
// fetching the same entry gives up on the cache and goes to the origin
// itself (Chromium's cache lock timeout; 20 s by default, 100 ms here).
func TestCacheLockTimeoutBypassesTheCache(t *testing.T) {
	release := make(chan struct{})
	var seen atomic.Int64
	srv := httptest.NewServer(gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		if seen.Add(1) == 1 {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte("slow"))
	}))
	defer srv.Close()
	defer close(release)
	c, err := NewBuilder().SetMemoryCache(0).Build()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	nettest.OnLoop(t, c.loop, func() { c.httpCache.SetLockTimeout(100 * time.Millisecond) })
	ctx, cancel := context.WithTimeout(context.Background(), nettest.HangGuard)
	defer cancel()
	first := make(chan error, 1)
	go func() {
		resp, err := c.Fetch(ctx, &FetchRequest{URL: srv.URL})
		if err == nil {
			_, err = ReadAll(resp)
		}
		first <- err
	}()
	for seen.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	resp, err := c.Fetch(ctx, &FetchRequest{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if body, err := ReadAll(resp); err != nil || string(body) != "slow" || resp.Info.WasCached {
		t.Fatalf("%q %v cached=%v", body, err, resp.Info.WasCached)
	}
	if seen.Load() != 2 {
		t.Fatalf("origin saw %d requests, want 2 (the waiter bypassed the cache)", seen.Load())
	}
	release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
