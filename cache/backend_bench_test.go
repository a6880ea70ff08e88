package cache

import (
	"fmt"
	"testing"
)

// backendBenchSizes are the body sizes benchmarked: a small resource and
// an image-sized one.
var backendBenchSizes = []struct {
	name string
	size int
}{
	{"1KiB", 1 << 10},
	{"1MiB", 1 << 20},
}

// backendBenchInfo stands in for serialized response headers.
var backendBenchInfo = make([]byte, 512)

// backendBenchOpen measures Open hits on a backend holding one entry.
func backendBenchOpen(b *testing.B, be Backend, size int) {
	const key = "https://example.com/bench"
	if err := be.Store(key, backendBenchInfo, make([]byte, size)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := be.Open(key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMemoryBackendOpen(b *testing.B) {
	for _, s := range backendBenchSizes {
		b.Run(s.name, func(b *testing.B) {
			backendBenchOpen(b, NewMemoryBackend(0), s.size)
		})
	}
}

func BenchmarkDiskBackendOpen(b *testing.B) {
	for _, s := range backendBenchSizes {
		b.Run(s.name, func(b *testing.B) {
			be, err := OpenDiskBackend(b.TempDir(), 0)
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			backendBenchOpen(b, be, s.size)
		})
	}
}

// BenchmarkDiskBackendStore writes new entries under rotating keys, so
// once the cache is full each Store also evicts.
func BenchmarkDiskBackendStore(b *testing.B) {
	for _, s := range backendBenchSizes {
		b.Run(s.name, func(b *testing.B) {
			be, err := OpenDiskBackend(b.TempDir(), 0)
			if err != nil {
				b.Fatal(err)
			}
			defer be.Close()
			body := make([]byte, s.size)
			b.SetBytes(int64(s.size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := be.Store(fmt.Sprintf("https://example.com/%d", i%1000), backendBenchInfo, body); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
