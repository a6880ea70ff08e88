package main

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// The tests in this file guard against two performance problems this
// benchmark found in the stack: fresh 64 KiB body buffers for every Fetch,
// and a system call per idle socket on every request. They count
// allocations, not time, so noisy machines do not make them flaky.

func testServer(t *testing.T) string {
	t.Helper()
	url, stop, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url
}

// urlrequest.Context.Fetch used to allocate two fresh 64 KiB body buffers
// for every request: 128 KiB of zeroed memory to read 1 KiB, a tenth of the
// benchmark's CPU. The buffers now come from a pool.
func TestFetchReusesBodyBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	get, closeClient, err := newNetfetch(testServer(t), 6)
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient()
	ctx := context.Background()
	if err := get(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		if err := get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// The whole process is counted: net/http's server side is about 6 KiB.
	if perFetch := (after.TotalAlloc - before.TotalAlloc) / n; perFetch > 32<<10 {
		t.Errorf("a fetch of a 1 KiB body allocates %d bytes (client and server), want < 32 KiB", perFetch)
	}
}

// socket.ClientSocketPool.RequestSocket used to peek every idle socket of
// the pool with two system calls on every request, so a request's cost grew
// with the number of idle sockets (a fifth of the CPU with 64 connections).
// The lazy sweep now checks idle times only; the socket handed out is
// checked with one peek.
func TestIdleSocketsCostNothingPerRequest(t *testing.T) {
	url := testServer(t)
	allocsWithIdle := func(sockets int) float64 {
		get, closeClient, err := newNetfetch(url, sockets)
		if err != nil {
			t.Fatal(err)
		}
		defer closeClient()
		// Open the sockets; afterwards all but one are idle at any time.
		if _, err := measure(get, sockets, 200*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(200, func() {
			if err := get(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	one, many := allocsWithIdle(1), allocsWithIdle(64)
	t.Logf("allocations per sequential fetch: %.0f with 1 socket, %.0f with 64 sockets open", one, many)
	if many > one+10 {
		t.Errorf("each idle socket in the pool adds to every request's cost")
	}
}
