package main

import (
	"context"
	"runtime"
	"sync"
	"testing"
)

// One server for every benchmark of the package; it lives as long as the
// test binary.
var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error
)

func benchServer(b *testing.B) string {
	serverOnce.Do(func() { serverURL, _, serverErr = startServer() })
	if serverErr != nil {
		b.Fatal(serverErr)
	}
	return serverURL
}

// parallelGoroutines is the concurrency of the parallel benchmarks, as the
// default of go run ./bench.
const parallelGoroutines = 64

func benchSequential(b *testing.B, newGetter func(string, int) (getter, func(), error)) {
	get, closeClient, err := newGetter(benchServer(b), parallelGoroutines)
	if err != nil {
		b.Fatal(err)
	}
	defer closeClient()
	ctx := context.Background()
	if err := get(ctx); err != nil { // connect outside the timed loop
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchParallel(b *testing.B, newGetter func(string, int) (getter, func(), error)) {
	get, closeClient, err := newGetter(benchServer(b), parallelGoroutines)
	if err != nil {
		b.Fatal(err)
	}
	defer closeClient()
	ctx := context.Background()
	b.ReportAllocs()
	// RunParallel starts GOMAXPROCS×p goroutines.
	b.SetParallelism(max(1, parallelGoroutines/runtime.GOMAXPROCS(0)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := get(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkFetch1KiBSequential is one keep-alive GET at a time through
// Context.Fetch.
func BenchmarkFetch1KiBSequential(b *testing.B) { benchSequential(b, newNetfetch) }

// BenchmarkNetHTTP1KiBSequential is the same through net/http's Client.
func BenchmarkNetHTTP1KiBSequential(b *testing.B) { benchSequential(b, newNetHTTP) }

// BenchmarkFetch1KiBParallel is 64 goroutines GETting through one Context
// (64 sockets per host).
func BenchmarkFetch1KiBParallel(b *testing.B) { benchParallel(b, newNetfetch) }

// BenchmarkNetHTTP1KiBParallel is the same through one net/http Client
// (64 idle connections per host).
func BenchmarkNetHTTP1KiBParallel(b *testing.B) { benchParallel(b, newNetHTTP) }
