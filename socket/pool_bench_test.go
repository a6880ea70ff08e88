package socket

import (
	"math/rand"
	"testing"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// BenchmarkPoolRequestReleaseIdle measures the keep-alive fast path: a
// request served synchronously from an idle socket, then released. The
// whole run happens inside one loop task, so Post is not measured.
func BenchmarkPoolRequestReleaseIdle(b *testing.B) {
	l := nettest.NewLoop(b)
	f := &fakeFactory{t: b, state: net.LoadStateConnecting}
	nettest.OnLoop(b, l, func() {
		pool := NewClientSocketPool(l, nil, "bench", f, PoolOptions{})
		h := &ClientSocketHandle{}
		cb := func(int) {}
		f.next = []int{net.OK}
		if rv := h.Init(groupA, net.Lowest, 0, pool, cb, netlog.WithSource{}); rv != net.OK {
			b.Errorf("first request = %d", rv)
			return
		}
		h.Socket().(*fakeSocket).used = true
		h.Reset()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if rv := h.Init(groupA, net.Lowest, 0, pool, cb, netlog.WithSource{}); rv != net.OK {
				b.Errorf("request %d = %d, want a synchronous OK from the idle socket", i, rv)
				return
			}
			h.Reset()
		}
		b.StopTimer()
		if len(f.jobs) != 1 {
			b.Errorf("%d connect jobs, want 1", len(f.jobs))
		}
	})
}

// BenchmarkPoolPriorityQueue10000 queues 10,000 requests of mixed priorities
// on a group limited to one socket, then drains the queue by releasing the
// socket from each request to the next, checking the order. One op is the
// whole queue-and-drain of 10,000 requests.
func BenchmarkPoolPriorityQueue10000(b *testing.B) {
	const n = 10000
	l := nettest.NewLoop(b)
	rng := rand.New(rand.NewSource(1))
	pris := make([]net.RequestPriority, n)
	for i := range pris {
		pris[i] = net.RequestPriority(rng.Intn(net.NumPriorities))
	}
	want := expectedDrainOrder(pris)
	handles := make([]ClientSocketHandle, n)
	cb := func(int) {}
	b.ReportAllocs()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		nettest.OnLoop(b, l, func() {
			f := &fakeFactory{t: b, next: []int{net.OK}}
			pool := NewClientSocketPool(l, nil, "bench", f, PoolOptions{MaxSocketsPerGroup: 1})
			var first ClientSocketHandle
			if rv := first.Init(groupA, net.Lowest, 0, pool, cb, netlog.WithSource{}); rv != net.OK {
				b.Errorf("first request = %d", rv)
				return
			}
			for i := range handles {
				if rv := handles[i].Init(groupA, pris[i], 0, pool, cb, netlog.WithSource{}); rv != net.IOPending {
					b.Errorf("request %d = %d, want IOPending", i, rv)
					return
				}
			}
			first.Reset()
			for k, i := range want {
				if !handles[i].IsInitialized() {
					b.Errorf("drain step %d: request %d (priority %v) does not hold the socket", k, i, pris[i])
					return
				}
				handles[i].Reset()
			}
		})
		if b.Failed() {
			b.FailNow()
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/request")
}
