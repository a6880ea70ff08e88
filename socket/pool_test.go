package socket

import (
	"math/rand"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

func TestPoolIdleSocketReuse(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	var a, b *poolReq
	h.do(func() {
		a = h.request("a", groupA, net.Lowest, 0)
		if a.rv != net.IOPending || len(h.f.jobs) != 1 {
			t.Errorf("first request = %d with %d jobs, want IOPending and one job", a.rv, len(h.f.jobs))
			return
		}
		if got := a.handle.LoadState(); got != net.LoadStateConnecting {
			t.Errorf("LoadState while its job connects = %v", got)
		}
		h.complete(0, net.OK)
	})
	h.wantResult(a, net.OK)
	var s *fakeSocket
	h.do(func() {
		s = a.socket()
		if s == nil || a.handle.ReuseType() != Unused || a.handle.IsReused() {
			t.Errorf("fresh socket: %v reuse %v", s, a.handle.ReuseType())
			return
		}
		s.used = true
		h.release(a)
		if h.pool.IdleSocketCount() != 1 || s.disconnects != 0 {
			t.Errorf("after release: %d idle, %d disconnects", h.pool.IdleSocketCount(), s.disconnects)
			return
		}
		h.advance(3 * time.Second)
		b = h.request("b", groupA, net.Lowest, 0)
		if b.rv != net.OK {
			t.Errorf("request with an idle socket = %d, want a synchronous OK", b.rv)
			return
		}
		if b.socket() != s || b.handle.ReuseType() != ReusedIdle || !b.handle.IsReused() || b.handle.IdleTime() != 3*time.Second {
			t.Errorf("reused: %v reuse %v idle %v", b.socket(), b.handle.ReuseType(), b.handle.IdleTime())
		}
		if h.pool.IdleSocketCount() != 0 || len(h.f.jobs) != 1 {
			t.Errorf("after reuse: %d idle, %d jobs", h.pool.IdleSocketCount(), len(h.f.jobs))
		}
	})
	h.wantWaiting(b) // a synchronous result never runs the callback
	e := h.col.One(t, netlog.EventSocketPoolReusedAnExistingSocket, netlog.PhaseNone, b.nl.Source().ID)
	if e.Params["idle_ms"] != int64(3000) {
		t.Errorf("REUSED_AN_EXISTING_SOCKET params = %v", e.Params)
	}
	h.col.One(t, netlog.EventSocketPool, netlog.PhaseBegin, b.nl.Source().ID)
	end := h.col.One(t, netlog.EventSocketPool, netlog.PhaseEnd, b.nl.Source().ID)
	if dep, _ := end.Params["source_dependency"].(netlog.Params); dep == nil || dep["id"] != s.nl.Source().ID {
		t.Errorf("SOCKET_POOL end = %v, want a dependency on the socket", end.Params)
	}
	if h.col.Find(netlog.EventSocketInUse, netlog.PhaseBegin, s.nl.Source().ID) == nil {
		t.Error("no SOCKET_IN_USE on the socket")
	}
}

// threeSockets connects three sockets for group A and returns the requests
// holding them, in order.
func threeSockets(t *testing.T, h *poolHarness) []*poolReq {
	var qs []*poolReq
	h.do(func() {
		for i := 0; i < 3; i++ {
			qs = append(qs, h.request("q"+strconv.Itoa(i), groupA, net.Lowest, 0))
		}
		for i := 0; i < 3; i++ {
			h.complete(i, net.OK)
		}
	})
	for _, q := range qs {
		h.wantResult(q, net.OK)
	}
	return qs
}

func TestPoolIdleMostRecentlyUsedFirst(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	qs := threeSockets(t, h)
	var socks []*fakeSocket
	h.do(func() {
		for _, q := range qs {
			s := q.socket()
			s.used = true
			socks = append(socks, s)
			h.release(q)
			h.advance(time.Second)
		}
		for i, want := range []*fakeSocket{socks[2], socks[1], socks[0]} {
			q := h.request("r", groupA, net.Lowest, 0)
			if q.rv != net.OK || q.socket() != want || q.handle.ReuseType() != ReusedIdle {
				t.Errorf("request %d got %v (rv %d), want the most recently used %v", i, q.socket(), q.rv, want)
			}
		}
	})
}

func TestPoolIdleUnusedOldestFirst(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	qs := threeSockets(t, h)
	var socks []*fakeSocket
	h.do(func() {
		for _, q := range qs {
			socks = append(socks, q.socket())
			h.release(q) // never used
			h.advance(time.Second)
		}
		for i, want := range socks {
			q := h.request("r", groupA, net.Lowest, 0)
			if q.rv != net.OK || q.socket() != want || q.handle.ReuseType() != UnusedIdle {
				t.Errorf("request %d got %v (rv %d, reuse %v), want the oldest unused %v", i, q.socket(), q.rv, q.handle.ReuseType(), want)
			}
		}
	})
}

func TestPoolIdleUsedBeforeUnused(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	qs := threeSockets(t, h)
	var socks []*fakeSocket
	h.do(func() {
		for i, q := range qs {
			s := q.socket()
			s.used = i == 1
			socks = append(socks, s)
			h.release(q)
			h.advance(time.Second)
		}
		for i, want := range []*fakeSocket{socks[1], socks[0], socks[2]} {
			q := h.request("r", groupA, net.Lowest, 0)
			if q.rv != net.OK || q.socket() != want {
				t.Errorf("request %d got %v, want %v", i, q.socket(), want)
			}
		}
	})
}

func TestPoolPerGroupLimit(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	var qs []*poolReq
	h.do(func() {
		for i := 0; i < 7; i++ {
			qs = append(qs, h.request("q"+strconv.Itoa(i), groupA, net.Lowest, 0))
			if qs[i].rv != net.IOPending {
				t.Errorf("request %d = %d", i, qs[i].rv)
				return
			}
		}
		if len(h.f.jobs) != DefaultMaxSocketsPerGroup {
			t.Errorf("%d jobs for 7 requests, want %d", len(h.f.jobs), DefaultMaxSocketsPerGroup)
			return
		}
		if got := qs[6].handle.LoadState(); got != net.LoadStateWaitingForAvailableSocket {
			t.Errorf("7th request LoadState = %v", got)
		}
		if got := qs[0].handle.LoadState(); got != net.LoadStateConnecting {
			t.Errorf("1st request LoadState = %v", got)
		}
		// Another group is not affected.
		b := h.request("b", groupB, net.Lowest, 0)
		if b.rv != net.IOPending || len(h.f.jobs) != 7 {
			t.Errorf("other group: rv %d, %d jobs", b.rv, len(h.f.jobs))
		}
	})
	h.col.One(t, netlog.EventSocketPoolStalledMaxSocketsPerGroup, netlog.PhaseNone, qs[6].nl.Source().ID)
	if n := len(h.col.Find(netlog.EventSocketPoolStalledMaxSocketsPerGroup, netlog.PhaseNone, 0)); n != 1 {
		t.Errorf("STALLED_MAX_SOCKETS_PER_GROUP logged %d times, want once", n)
	}

	h.do(func() { h.complete(0, net.OK) })
	h.wantResult(qs[0], net.OK)
	h.do(func() {
		if len(h.f.jobs) != 7 {
			t.Errorf("a new job started while the group is full: %d jobs", len(h.f.jobs))
		}
		qs[0].socket().used = true
		h.release(qs[0]) // goes straight to the best waiting request
	})
	h.wantResult(qs[1], net.OK)
	h.do(func() {
		if qs[1].handle.ReuseType() != ReusedIdle {
			t.Errorf("reuse type of a socket passed on at release = %v", qs[1].handle.ReuseType())
		}
		for i := 1; i < 6; i++ {
			h.complete(i, net.OK)
		}
	})
	for _, q := range qs[2:] {
		h.wantResult(q, net.OK)
	}
	if len(h.f.jobs) != 7 {
		t.Errorf("%d jobs in all, want 7", len(h.f.jobs))
	}
}

func TestPoolMaxSocketsAcrossGroups(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSockets: 4})
	var a, c *poolReq
	var bs []*poolReq
	h.do(func() {
		a = h.request("a", groupA, net.Lowest, 0)
		for i := 0; i < 3; i++ {
			bs = append(bs, h.request("b"+strconv.Itoa(i), groupB, net.Lowest, 0))
		}
		c = h.request("c", groupC, net.Lowest, 0)
		if c.rv != net.IOPending || len(h.f.jobs) != 4 {
			t.Errorf("5th request: rv %d, %d jobs; want it waiting with 4 jobs", c.rv, len(h.f.jobs))
			return
		}
		if got := c.handle.LoadState(); got != net.LoadStateWaitingForStalledSocketPool {
			t.Errorf("stalled request LoadState = %v", got)
		}
	})
	h.col.One(t, netlog.EventSocketPoolStalledMaxSockets, netlog.PhaseNone, c.nl.Source().ID)

	// A's socket comes back idle: the pool closes it to make room for C.
	h.do(func() { h.complete(0, net.OK) })
	h.wantResult(a, net.OK)
	var sa *fakeSocket
	h.do(func() {
		sa = a.socket()
		sa.used = true
		h.release(a)
		if sa.disconnects != 1 || h.pool.IdleSocketCount() != 0 {
			t.Errorf("A's idle socket: %d disconnects, %d idle; want it closed for C", sa.disconnects, h.pool.IdleSocketCount())
		}
		if len(h.f.jobs) != 5 || h.f.jobs[4].group != groupC {
			t.Errorf("no job started for the stalled group: %d jobs", len(h.f.jobs))
			return
		}
		if got := c.handle.LoadState(); got != net.LoadStateConnecting {
			t.Errorf("C's LoadState after its job started = %v", got)
		}
		h.complete(4, net.OK)
	})
	h.wantResult(c, net.OK)
	if r := h.closingReasons(sa); len(r) != 1 || r[0] == "" {
		t.Errorf("closing reasons of A's socket = %q", r)
	}
	for _, b := range bs {
		h.wantWaiting(b)
	}
}

func TestPoolMaxSocketsClosesIdleOfOtherGroupOnRequest(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSockets: 2})
	var qs []*poolReq
	h.do(func() {
		qs = append(qs, h.request("a0", groupA, net.Lowest, 0), h.request("a1", groupA, net.Lowest, 0))
		h.complete(0, net.OK)
		h.complete(1, net.OK)
	})
	h.wantResult(qs[0], net.OK)
	h.wantResult(qs[1], net.OK)
	var s0, s1 *fakeSocket
	h.do(func() {
		s0, s1 = qs[0].socket(), qs[1].socket()
		h.release(qs[0])
		h.advance(time.Second)
		h.release(qs[1])
		b := h.request("b", groupB, net.Lowest, 0)
		if b.rv != net.IOPending || len(h.f.jobs) != 3 {
			t.Errorf("request in B: rv %d, %d jobs; want a job started at once", b.rv, len(h.f.jobs))
			return
		}
		if s0.disconnects != 1 || s1.disconnects != 0 {
			t.Errorf("disconnects: oldest %d, newest %d; want the oldest idle socket closed", s0.disconnects, s1.disconnects)
		}
		if len(h.col.Find(netlog.EventSocketPoolStalledMaxSockets, netlog.PhaseNone, 0)) != 0 {
			t.Error("stalled although an idle socket could be closed")
		}
	})
}

func TestPoolPriorityOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(qs map[string]*poolReq)
		want   []string
	}{
		{"fifo within priority", nil, []string{"r0", "r2", "r5", "r1", "r3", "r4"}},
		{"SetPriority reorders", func(qs map[string]*poolReq) {
			qs["r4"].handle.SetPriority(net.Highest) // after r5: last in its new bucket
			qs["r2"].handle.SetPriority(net.Throttled)
		}, []string{"r0", "r5", "r4", "r1", "r3", "r2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
			qs := map[string]*poolReq{}
			pris := []net.RequestPriority{net.Lowest, net.Low, net.Highest, net.Low, net.Idle, net.Highest}
			h.do(func() {
				// r0 takes the group's only socket; the others queue
				// behind it.
				qs["r0"] = h.request("r0", groupA, pris[0], 0)
				h.complete(0, net.OK)
				for i, p := range pris[1:] {
					name := "r" + strconv.Itoa(i+1)
					qs[name] = h.request(name, groupA, p, 0)
				}
				if len(h.f.jobs) != 1 {
					t.Errorf("%d jobs, want 1", len(h.f.jobs))
					return
				}
			})
			h.wantResult(qs["r0"], net.OK)
			h.do(func() {
				if tc.change != nil {
					tc.change(qs)
				}
				h.order = h.order[:0]
				h.order = append(h.order, "r0")
				h.release(qs["r0"])
			})
			// Each request releases its socket in turn; the next is
			// served from the released socket.
			for i := 1; i < len(tc.want); i++ {
				q := qs[tc.want[i]]
				h.wantResult(q, net.OK)
				h.do(func() { h.release(q) })
			}
			var order []string
			h.do(func() { order = append(order, h.order...) })
			if !reflect.DeepEqual(order, tc.want) {
				t.Errorf("order = %v, want %v", order, tc.want)
			}
		})
	}
}

// TestPoolLateBinding checks that a job's socket goes to the highest-priority
// waiting request, not to the one that started the job.
func TestPoolLateBinding(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	var a, b *poolReq
	var s1, s2 *fakeSocket
	h.do(func() {
		a = h.request("a", groupA, net.Lowest, 0)
		b = h.request("b", groupA, net.Highest, 0)
		if len(h.f.jobs) != 2 {
			t.Errorf("%d jobs, want 2", len(h.f.jobs))
			return
		}
		s1 = h.complete(0, net.OK) // A's job
	})
	h.wantResult(b, net.OK)
	h.wantWaiting(a)
	h.do(func() {
		if b.socket() != s1 {
			t.Errorf("B got %v, want job 1's socket %v", b.socket(), s1)
		}
		if got := a.handle.LoadState(); got != net.LoadStateConnecting {
			t.Errorf("A's LoadState = %v", got)
		}
		s2 = h.complete(1, net.OK)
	})
	h.wantResult(a, net.OK)
	h.do(func() {
		if a.socket() != s2 {
			t.Errorf("A got %v, want %v", a.socket(), s2)
		}
	})
}

func TestPoolJobFailureFailsFirstRequestOnly(t *testing.T) {
	t.Run("two jobs", func(t *testing.T) {
		h := newPoolHarness(t, PoolOptions{})
		var a, b *poolReq
		h.do(func() {
			a = h.request("a", groupA, net.Lowest, 0)
			b = h.request("b", groupA, net.Lowest, 0)
			h.complete(0, int(net.ErrConnectionRefused))
		})
		h.wantResult(a, int(net.ErrConnectionRefused))
		h.wantWaiting(b)
		end := h.col.One(t, netlog.EventSocketPool, netlog.PhaseEnd, a.nl.Source().ID)
		if end.Params["net_error"] != int(net.ErrConnectionRefused) {
			t.Errorf("SOCKET_POOL end of the failed request = %v", end.Params)
		}
		h.do(func() {
			if len(h.f.jobs) != 2 {
				t.Errorf("%d jobs; B still has job 2, none should start", len(h.f.jobs))
			}
			if a.handle.IsInitialized() {
				t.Error("the failed request holds a socket")
			}
			h.complete(1, net.OK)
		})
		h.wantResult(b, net.OK)
	})
	t.Run("group limit 1", func(t *testing.T) {
		h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
		var a, b *poolReq
		h.do(func() {
			a = h.request("a", groupA, net.Lowest, 0)
			b = h.request("b", groupA, net.Lowest, 0)
			h.complete(0, int(net.ErrConnectionRefused))
			if len(h.f.jobs) != 2 {
				t.Errorf("%d jobs; the failure frees a slot for B", len(h.f.jobs))
			}
		})
		h.wantResult(a, int(net.ErrConnectionRefused))
		h.wantWaiting(b)
		h.do(func() { h.complete(1, net.OK) })
		h.wantResult(b, net.OK)
	})
}

func TestPoolCancelRequest(t *testing.T) {
	t.Run("with an excess job", func(t *testing.T) {
		h := newPoolHarness(t, PoolOptions{})
		var a, b *poolReq
		h.do(func() {
			a = h.request("a", groupA, net.Lowest, 0)
			b = h.request("b", groupA, net.Lowest, 0)
			h.release(b) // Reset of a pending handle cancels it
			if live := h.f.live(); len(live) != 1 {
				t.Errorf("%d live jobs after cancelling one of two requests, want 1", len(live))
			}
			if b.handle.LoadState() != net.LoadStateIdle {
				t.Errorf("cancelled handle LoadState = %v", b.handle.LoadState())
			}
			h.complete(0, net.OK)
		})
		h.wantResult(a, net.OK)
		h.wantWaiting(b)
		end := h.col.One(t, netlog.EventSocketPool, netlog.PhaseEnd, b.nl.Source().ID)
		if end.Params["net_error"] != int(net.ErrAborted) {
			t.Errorf("SOCKET_POOL end of a cancelled request = %v", end.Params)
		}
	})
	t.Run("stalled request", func(t *testing.T) {
		h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
		var a, b *poolReq
		h.do(func() {
			a = h.request("a", groupA, net.Lowest, 0)
			b = h.request("b", groupA, net.Lowest, 0)
			h.release(b)
			if live := h.f.live(); len(live) != 1 {
				t.Errorf("cancelling a request with no job of its own cancelled a job: %d live", len(live))
			}
			h.complete(0, net.OK)
		})
		h.wantResult(a, net.OK)
		h.wantWaiting(b)
	})
	t.Run("result already posted", func(t *testing.T) {
		h := newPoolHarness(t, PoolOptions{})
		var a *poolReq
		var s *fakeSocket
		h.do(func() {
			a = h.request("a", groupA, net.Lowest, 0)
			s = h.complete(0, net.OK) // the callback is posted...
			h.release(a)              // ...and the handle reset before it runs
			if h.pool.IdleSocketCount() != 1 || s.disconnects != 0 {
				t.Errorf("the socket of a reset handle: %d idle, %d disconnects", h.pool.IdleSocketCount(), s.disconnects)
			}
		})
		h.wantWaiting(a)
	})
}

func TestPoolReleaseClosesUnusableSockets(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	qs := threeSockets(t, h)
	var closed, dirty *fakeSocket
	h.do(func() {
		closed, dirty = qs[0].socket(), qs[1].socket()
		closed.connected = false
		dirty.used, dirty.hasData = true, true
		h.release(qs[0])
		h.release(qs[1])
		if h.pool.IdleSocketCount() != 0 {
			t.Errorf("%d idle sockets, want the unusable ones closed", h.pool.IdleSocketCount())
		}
		if closed.disconnects != 1 || dirty.disconnects != 1 {
			t.Errorf("disconnects: %d, %d", closed.disconnects, dirty.disconnects)
		}
	})
	if r := h.closingReasons(closed); !reflect.DeepEqual(r, []string{"Connection was closed when it was returned to the pool"}) {
		t.Errorf("reason for a closed socket = %q", r)
	}
	if r := h.closingReasons(dirty); !reflect.DeepEqual(r, []string{"Data received unexpectedly"}) {
		t.Errorf("reason for a socket with unread data = %q", r)
	}

	// An idle socket that went bad while idle is closed when next examined.
	h.do(func() {
		s := qs[2].socket()
		h.release(qs[2])
		s.connected = false
		q := h.request("again", groupA, net.Lowest, 0)
		if q.rv != net.IOPending || s.disconnects != 1 {
			t.Errorf("request after the idle socket closed: rv %d, disconnects %d", q.rv, s.disconnects)
		}
		if r := h.closingReasons(s); !reflect.DeepEqual(r, []string{"Remote side closed connection"}) {
			t.Errorf("reason for an idle socket the peer closed = %q", r)
		}
	})
}

func TestPoolIdleTimeouts(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	qs := threeSockets(t, h)
	var unused, used *fakeSocket
	h.do(func() {
		unused, used = qs[0].socket(), qs[1].socket()
		used.used = true
		h.release(qs[0])
		h.release(qs[1])
		// qs[2] stays handed out.
	})
	// Each request in another group runs the lazy cleanup.
	poke := func() { h.request("poke", groupB, net.Lowest, 0) }
	h.do(func() {
		h.advance(DefaultUnusedIdleTimeout - time.Second)
		poke()
		if unused.disconnects != 0 || used.disconnects != 0 || h.pool.IdleSocketCount() != 2 {
			t.Errorf("closed before 60 s")
		}
		h.advance(time.Second)
		poke()
		if unused.disconnects != 1 || used.disconnects != 0 || h.pool.IdleSocketCount() != 1 {
			t.Errorf("at 60 s: unused %d, used %d disconnects; want only the unused one closed", unused.disconnects, used.disconnects)
		}
		h.advance(DefaultUsedIdleTimeout - DefaultUnusedIdleTimeout - time.Second)
		poke()
		if used.disconnects != 0 {
			t.Error("used socket closed before 300 s")
		}
		h.advance(time.Second)
		h.release(qs[2])
		poke()
		if used.disconnects != 1 {
			t.Error("used socket not closed at 300 s")
		}
	})
	for _, s := range []*fakeSocket{unused, used} {
		if r := h.closingReasons(s); !reflect.DeepEqual(r, []string{"Idle time limit expired"}) {
			t.Errorf("closing reasons = %q", r)
		}
	}
}

func TestPoolClose(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
	var a, b, c *poolReq
	var idle *fakeSocket
	h.do(func() {
		c = h.request("c", groupC, net.Lowest, 0)
		h.complete(0, net.OK)
	})
	h.wantResult(c, net.OK)
	h.do(func() {
		idle = c.socket()
		h.release(c)
		a = h.request("a", groupA, net.Lowest, 0) // job 2
		b = h.request("b", groupA, net.Lowest, 0) // stalled on the group
		h.r.call(func() int { h.pool.Close(); return 0 })
		if !h.f.jobs[1].cancelled {
			t.Error("Close did not cancel the connect job")
		}
		if idle.disconnects != 1 || h.pool.IdleSocketCount() != 0 {
			t.Errorf("idle socket after Close: %d disconnects, %d idle", idle.disconnects, h.pool.IdleSocketCount())
		}
		if len(h.pool.groups) != 0 {
			t.Errorf("%d groups left after Close", len(h.pool.groups))
		}
	})
	h.wantResult(a, int(net.ErrAborted))
	h.wantResult(b, int(net.ErrAborted))
	if r := h.closingReasons(idle); !reflect.DeepEqual(r, []string{"Socket pool destroyed"}) {
		t.Errorf("closing reason = %q", r)
	}
}

func TestPoolCloseKeepsHandedOutSockets(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	var a *poolReq
	h.do(func() {
		a = h.request("a", groupA, net.Lowest, 0)
		h.complete(0, net.OK)
	})
	h.wantResult(a, net.OK)
	h.do(func() {
		h.pool.Close()
		if a.socket().disconnects != 0 {
			t.Error("Close disconnected a handed-out socket")
		}
		h.release(a) // still accepted after Close
	})
}

func TestPoolInfo(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 3, MaxSockets: 10})
	var qs []*poolReq
	h.do(func() {
		for i := 0; i < 5; i++ {
			qs = append(qs, h.request("q"+strconv.Itoa(i), groupA, net.Lowest, 0))
		}
		h.complete(0, net.OK)
		h.complete(1, net.OK)
	})
	h.wantResult(qs[0], net.OK)
	h.wantResult(qs[1], net.OK)
	var info netlog.Params
	var jobID uint32
	h.do(func() {
		qs[0].socket().used = true
		h.release(qs[0]) // goes to q2, the best waiting request
		info = h.pool.Info()
		jobID = h.f.jobs[2].nl.Source().ID
	})
	want := netlog.Params{
		"name":                    "transport_socket_pool",
		"type":                    "TransportClientSocketPool",
		"handed_out_socket_count": 2,
		"connecting_socket_count": 1,
		"idle_socket_count":       0,
		"max_socket_count":        10,
		"max_sockets_per_group":   3,
		"pool_generation_number":  0,
		"groups": netlog.Params{
			groupA.String(): netlog.Params{
				"pending_request_count":       2,
				"active_socket_count":         2,
				"idle_sockets":                []int{},
				"connect_jobs":                []int{int(jobID)},
				"is_stalled":                  true,
				"backup_job_timer_is_running": false,
				"top_pending_priority":        "LOWEST",
			},
		},
	}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("Info() =\n%v\nwant\n%v", info, want)
	}
	// An idle socket shows up by its source id.
	h.do(func() {
		h.complete(2, net.OK)
		info = h.pool.Info()
	})
	g := info["groups"].(netlog.Params)[groupA.String()].(netlog.Params)
	if g["pending_request_count"] != 1 || len(g["connect_jobs"].([]int)) != 0 || g["is_stalled"] != true {
		t.Errorf("group after job 3 = %v", g)
	}
	h.do(func() {
		for _, q := range qs[1:4] {
			h.release(q) // q4 takes the first, the others go idle
		}
		info = h.pool.Info()
	})
	g = info["groups"].(netlog.Params)[groupA.String()].(netlog.Params)
	if len(g["idle_sockets"].([]int)) != 2 || info["idle_socket_count"] != 2 || g["is_stalled"] != false {
		t.Errorf("Info with idle sockets = %v", info)
	}
}

func TestPoolIgnoreLimits(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSockets: 6})
	h.do(func() {
		for i := 0; i < 6; i++ {
			h.request("q", groupA, net.Lowest, 0)
		}
		q := h.request("ignore", groupA, net.MaximumPriority, net.LoadIgnoreLimits)
		if q.rv != net.IOPending || len(h.f.jobs) != 7 {
			t.Errorf("IGNORE_LIMITS at MAXIMUM_PRIORITY: rv %d, %d jobs; want a job beyond the group limit", q.rv, len(h.f.jobs))
		}
		h.request("ignore-other-group", groupB, net.MaximumPriority, net.LoadIgnoreLimits)
		if len(h.f.jobs) != 8 {
			t.Errorf("IGNORE_LIMITS did not bypass the pool limit: %d jobs", len(h.f.jobs))
		}
		q = h.request("flag-only", groupA, net.Medium, net.LoadIgnoreLimits)
		if q.rv != net.IOPending || len(h.f.jobs) != 8 {
			t.Errorf("IGNORE_LIMITS without MAXIMUM_PRIORITY bypassed the limit: %d jobs", len(h.f.jobs))
		}
		h.request("max-only", groupA, net.MaximumPriority, 0)
		if len(h.f.jobs) != 8 {
			t.Errorf("MAXIMUM_PRIORITY without IGNORE_LIMITS bypassed the limit: %d jobs", len(h.f.jobs))
		}
	})
	if len(h.col.Find(netlog.EventSocketPoolStalledMaxSocketsPerGroup, netlog.PhaseNone, 0)) != 2 {
		t.Errorf("stall events: %v", h.col.Describe())
	}
}

func TestPoolSynchronousResultsNeverRunCallbacks(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
	var ok, bad, a, b *poolReq
	h.do(func() {
		h.f.next = []int{net.OK, int(net.ErrConnectionRefused)}
		ok = h.request("sync-ok", groupA, net.Lowest, 0)
		if ok.rv != net.OK || ok.socket() == nil || ok.handle.ReuseType() != Unused {
			t.Errorf("synchronous job success: rv %d, socket %v", ok.rv, ok.socket())
		}
		bad = h.request("sync-err", groupB, net.Lowest, 0)
		if bad.rv != int(net.ErrConnectionRefused) || bad.handle.IsInitialized() {
			t.Errorf("synchronous job failure: rv %d", bad.rv)
		}
		if _, ok := h.pool.groups[groupB]; ok {
			t.Error("a group with nothing left is kept after a synchronous failure")
		}
		// A job that completes synchronously inside the pool's own
		// processing (a waiting request's job starts on release): the
		// result is posted, not run inside ReleaseSocket.
		a = h.request("a", groupA, net.Lowest, 0) // waits: the group is full
		ok.socket().connected = false
		h.f.next = []int{net.OK}
		h.release(ok) // closes the dead socket, starts a's job, which finishes at once
		if !a.handle.IsInitialized() {
			t.Error("a was not served")
		}
		// Failure of an asynchronous job, then the next job synchronous.
		b = h.request("b", groupC, net.Lowest, 0)
	})
	h.wantWaiting(ok)
	h.wantWaiting(bad)
	h.wantResult(a, net.OK)
	var c *poolReq
	h.do(func() {
		c = h.request("c", groupC, net.Lowest, 0)
		h.f.next = []int{net.OK}
		h.complete(len(h.f.jobs)-1, int(net.ErrConnectionRefused))
	})
	h.wantResult(b, int(net.ErrConnectionRefused))
	h.wantResult(c, net.OK)
	end := h.col.One(t, netlog.EventSocketPool, netlog.PhaseEnd, bad.nl.Source().ID)
	if end.Params["net_error"] != int(net.ErrConnectionRefused) {
		t.Errorf("SOCKET_POOL end = %v", end.Params)
	}
}

// expectedDrainOrder is the order in which requests of the given
// priorities must be served: highest first, FIFO within a priority.
func expectedDrainOrder(pris []net.RequestPriority) []int {
	idx := make([]int, len(pris))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return pris[idx[a]] > pris[idx[b]] })
	return idx
}

func TestPoolPriorityQueueDrainOrder(t *testing.T) {
	const n = 10000
	h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
	rng := rand.New(rand.NewSource(1))
	pris := make([]net.RequestPriority, n)
	for i := range pris {
		pris[i] = net.RequestPriority(rng.Intn(net.NumPriorities))
	}
	var served []int
	done := make(chan int, 1)
	var first *poolReq
	h.do(func() {
		// The first request takes the group's only socket; the rest queue
		// behind it.
		first = h.request("first", groupA, net.Lowest, 0)
		h.complete(0, net.OK)
		for i := 0; i < n; i++ {
			i := i
			hd := &ClientSocketHandle{}
			rv := hd.Init(groupA, pris[i], 0, h.pool, func(rv int) {
				if rv != net.OK {
					t.Errorf("request %d: %v", i, net.Error(rv))
				}
				served = append(served, i)
				hd.Reset() // hand the socket to the next request
				if len(served) == n {
					done <- 0
				}
			}, netlog.WithSource{})
			if rv != net.IOPending {
				t.Errorf("request %d = %d", i, rv)
				return
			}
		}
	})
	h.wantResult(first, net.OK)
	h.do(func() { first.handle.Reset() })
	waitInt(t, done, "all requests served")
	want := expectedDrainOrder(pris)
	h.do(func() {
		if !reflect.DeepEqual(served, want) {
			for i := range served {
				if served[i] != want[i] {
					t.Errorf("served[%d] = request %d (priority %v), want request %d (priority %v)", i, served[i], pris[served[i]], want[i], pris[want[i]])
					return
				}
			}
		}
		if len(h.f.jobs) != 1 {
			t.Errorf("%d jobs, want 1", len(h.f.jobs))
		}
	})
}

// TestPoolReleaseToWaitingRequestReuseType: a socket released while a
// request waits goes straight to it; its reuse type follows WasEverUsed, as
// for any idle socket (Chromium's AssignIdleSocketToRequest).
func TestPoolReleaseToWaitingRequestReuseType(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSocketsPerGroup: 1})
	var a, b *poolReq
	h.do(func() {
		a = h.request("a", groupA, net.Lowest, 0)
		h.complete(0, net.OK)
		b = h.request("b", groupA, net.Lowest, 0)
	})
	h.wantResult(a, net.OK)
	h.do(func() { h.release(a) }) // never used
	h.wantResult(b, net.OK)
	h.do(func() {
		if b.handle.ReuseType() != UnusedIdle || b.handle.IsReused() {
			t.Errorf("a never-used socket passed on at release has reuse type %v, want UnusedIdle", b.handle.ReuseType())
		}
	})
}

// TestPoolStalledGroupsServedByPriority: when a slot frees in a full pool,
// the group whose best waiting request has the highest priority is served
// first.
func TestPoolStalledGroupsServedByPriority(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{MaxSockets: 2})
	var a0, a1, b, c *poolReq
	h.do(func() {
		a0 = h.request("a0", groupA, net.Lowest, 0)
		a1 = h.request("a1", groupA, net.Lowest, 0)
		h.complete(0, net.OK)
		h.complete(1, net.OK)
		b = h.request("b", groupB, net.Low, 0)
		c = h.request("c", groupC, net.Highest, 0)
		if len(h.f.jobs) != 2 {
			t.Errorf("%d jobs in a full pool", len(h.f.jobs))
			return
		}
	})
	h.wantResult(a0, net.OK)
	h.wantResult(a1, net.OK)
	h.do(func() {
		a0.socket().connected = false
		h.release(a0) // closed: one slot frees
		if len(h.f.jobs) != 3 || h.f.jobs[2].group != groupC {
			t.Errorf("after one slot freed: %d jobs, want one new job for the HIGHEST group C", len(h.f.jobs))
			return
		}
		s1 := a1.socket()
		h.release(a1) // idle: closed to make room for B
		if len(h.f.jobs) != 4 || h.f.jobs[3].group != groupB {
			t.Errorf("after the second release: %d jobs, want one for B", len(h.f.jobs))
			return
		}
		if s1.disconnects != 1 || h.pool.IdleSocketCount() != 0 {
			t.Errorf("A's idle socket was not closed for B")
		}
		h.complete(2, net.OK)
		h.complete(3, net.OK)
	})
	h.wantResult(c, net.OK)
	h.wantResult(b, net.OK)
}

// A socket that never carried a request may hold bytes the server sent
// first (a TLS 1.3 session ticket): it stays usable, as in Chromium's
// IdleSocket::IsUsable; a used one with unread data does not.
func TestPoolKeepsUnusedSocketsWithServerData(t *testing.T) {
	h := newPoolHarness(t, PoolOptions{})
	var a, b *poolReq
	h.do(func() {
		a = h.request("a", groupA, net.Lowest, 0)
		s := h.complete(0, net.OK)
		s.hasData = true // the ticket
	})
	h.wantResult(a, net.OK)
	h.do(func() {
		h.release(a)
		if h.pool.IdleSocketCount() != 1 {
			t.Errorf("%d idle sockets: an unused socket with server data was closed", h.pool.IdleSocketCount())
		}
		b = h.request("b", groupA, net.Lowest, 0)
	})
	if b.rv != net.OK {
		t.Fatalf("the unused idle socket was not reused: rv %d", b.rv)
	}
}
