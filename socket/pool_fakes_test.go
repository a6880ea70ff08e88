package socket

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// fakeSocket is a StreamSocket whose state the test sets by hand.
type fakeSocket struct {
	id          int
	nl          netlog.WithSource
	connected   bool
	hasData     bool // unread data waiting: connected but not idle
	used        bool
	disconnects int
}

func newFakeSocket(log *netlog.NetLog, id int) *fakeSocket {
	s := &fakeSocket{id: id, connected: true, nl: netlog.NewSource(log, netlog.SourceSocket)}
	s.nl.BeginEvent(netlog.EventSocketAlive, nil)
	return s
}

func (s *fakeSocket) Connect(net.CompletionCallback) int { return net.OK }
func (s *fakeSocket) Read(buf []byte, _ net.CompletionCallback) int {
	s.used = true
	return len(buf)
}
func (s *fakeSocket) Write(buf []byte, _ net.CompletionCallback) int {
	s.used = true
	return len(buf)
}
func (s *fakeSocket) Disconnect() {
	s.disconnects++
	s.connected = false
}
func (s *fakeSocket) IsConnected() bool            { return s.connected }
func (s *fakeSocket) IsConnectedAndIdle() bool     { return s.connected && !s.hasData }
func (s *fakeSocket) WasEverUsed() bool            { return s.used }
func (s *fakeSocket) PeerAddress() netip.AddrPort  { return netip.AddrPort{} }
func (s *fakeSocket) LocalAddress() netip.AddrPort { return netip.AddrPort{} }
func (s *fakeSocket) NetLog() netlog.WithSource    { return s.nl }
func (s *fakeSocket) NegotiatedProtocol() string   { return "" }
func (s *fakeSocket) String() string               { return "socket#" + strconv.Itoa(s.id) }

var _ StreamSocket = (*fakeSocket)(nil)

// fakeJob is a ConnectJob the test completes by hand.
type fakeJob struct {
	f         *fakeFactory
	id        int
	group     GroupID
	priority  net.RequestPriority
	delegate  ConnectJobDelegate
	nl        netlog.WithSource
	sync      int // what Connect returns
	socket    *fakeSocket
	state     net.LoadState
	cancelled bool
	done      bool
}

func (j *fakeJob) Connect() int {
	if j.sync != net.IOPending {
		j.done = true
		if j.sync == net.OK {
			j.socket = j.f.newSocket()
		}
	}
	return j.sync
}

func (j *fakeJob) TakeSocket() StreamSocket {
	if j.socket == nil {
		return nil
	}
	s := j.socket
	j.socket = nil
	return s
}

func (j *fakeJob) LoadState() net.LoadState  { return j.state }
func (j *fakeJob) NetLog() netlog.WithSource { return j.nl }
func (j *fakeJob) Cancel() {
	if j.cancelled {
		j.f.t.Errorf("job %d cancelled twice", j.id)
	}
	if j.done {
		j.f.t.Errorf("job %d cancelled after it finished", j.id)
	}
	j.cancelled = true
}

// complete finishes the job as its asynchronous completion would. Call it
// on the loop.
func (j *fakeJob) complete(rv int) *fakeSocket {
	if j.done || j.cancelled {
		j.f.t.Errorf("completing job %d, which is done=%v cancelled=%v", j.id, j.done, j.cancelled)
		return nil
	}
	j.done = true
	var s *fakeSocket
	if rv == net.OK {
		s = j.f.newSocket()
		j.socket = s
	}
	j.delegate.OnConnectJobComplete(rv, j)
	return s
}

// fakeFactory makes fakeJobs; by default their Connect is pending.
type fakeFactory struct {
	t       testing.TB
	log     *netlog.NetLog
	jobs    []*fakeJob
	sockets int
	// next lists what the Connect of the next jobs returns; empty means
	// IOPending.
	next  []int
	state net.LoadState
}

func (f *fakeFactory) newSocket() *fakeSocket {
	f.sockets++
	return newFakeSocket(f.log, f.sockets)
}

func (f *fakeFactory) NewConnectJob(group GroupID, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob {
	j := &fakeJob{f: f, id: len(f.jobs) + 1, group: group, priority: priority, delegate: delegate,
		nl: netlog.NewSource(f.log, netlog.SourceTransportConnectJob), sync: net.IOPending, state: f.state}
	if len(f.next) > 0 {
		j.sync, f.next = f.next[0], f.next[1:]
	}
	f.jobs = append(f.jobs, j)
	return j
}

// live returns the jobs that are neither done nor cancelled.
func (f *fakeFactory) live() []*fakeJob {
	var out []*fakeJob
	for _, j := range f.jobs {
		if !j.done && !j.cancelled {
			out = append(out, j)
		}
	}
	return out
}

// poolHarness drives a ClientSocketPool with a fake factory and a fake clock.
type poolHarness struct {
	t     testing.TB
	l     *net.Loop
	log   *netlog.NetLog
	col   *nettest.Recorder
	f     *fakeFactory
	pool  *ClientSocketPool
	r     *reentrancy
	clock time.Time
	// order records, on the loop, the names of requests whose callback ran.
	order []string
}

func newPoolHarness(t testing.TB, opts PoolOptions) *poolHarness {
	if backupJobDelay == 250*time.Millisecond {
		// Tests that are not about backup jobs must not see one start on a
		// slow machine.
		backupJobDelay = time.Hour
		t.Cleanup(func() { backupJobDelay = 250 * time.Millisecond })
	}
	l := nettest.NewLoop(t)
	log := netlog.New()
	h := &poolHarness{t: t, l: l, log: log, col: nettest.NewRecorder(log, netlog.Default),
		r: &reentrancy{t: t}, clock: time.Unix(1_000_000, 0)}
	h.f = &fakeFactory{t: t, log: log, state: net.LoadStateConnecting}
	nettest.OnLoop(t, l, func() {
		h.pool = NewClientSocketPool(l, log, "transport_socket_pool", h.f, opts)
		h.pool.now = func() time.Time { return h.clock }
	})
	return h
}

// do runs f on the loop. f reports failures with Errorf and returns (FailNow
// must not run on the loop goroutine); do then stops the test.
func (h *poolHarness) do(f func()) {
	h.t.Helper()
	nettest.OnLoop(h.t, h.l, f)
	if h.t.Failed() {
		h.t.FailNow()
	}
}

// advance moves the fake clock; call it on the loop or between tasks.
func (h *poolHarness) advance(d time.Duration) { h.clock = h.clock.Add(d) }

// poolReq is one ClientSocketHandle.Init and its outcome.
type poolReq struct {
	name   string
	group  GroupID
	handle *ClientSocketHandle
	nl     netlog.WithSource
	rv     int      // what Init returned
	c      chan int // the callback's result
}

// request calls Init on the loop (call it inside h.do).
func (h *poolHarness) request(name string, g GroupID, pri net.RequestPriority, flags net.LoadFlags) *poolReq {
	q := &poolReq{name: name, group: g, handle: &ClientSocketHandle{}, nl: netlog.NewSource(h.log, netlog.SourceHTTPStreamJob)}
	cb, c := h.r.cb("request " + name)
	q.c = c
	q.rv = h.r.call(func() int {
		return q.handle.Init(g, pri, flags, h.pool, func(rv int) {
			h.order = append(h.order, name)
			cb(rv)
		}, q.nl)
	})
	return q
}

// complete finishes job i (0-based) inside a marked call.
func (h *poolHarness) complete(i int, rv int) *fakeSocket {
	var s *fakeSocket
	h.r.call(func() int { s = h.f.jobs[i].complete(rv); return 0 })
	return s
}

// release gives q's socket back inside a marked call.
func (h *poolHarness) release(q *poolReq) {
	h.r.call(func() int { q.handle.Reset(); return 0 })
}

// result returns the callback's result if it ran.
func (q *poolReq) result() (int, bool) {
	select {
	case v := <-q.c:
		return v, true
	default:
		return 0, false
	}
}

func (h *poolHarness) wantResult(q *poolReq, want int) {
	h.t.Helper()
	drain(h.t, h.l)
	rv, ok := q.result()
	if !ok {
		h.t.Fatalf("request %s: no callback, want %v", q.name, net.Error(want))
	}
	if rv != want {
		h.t.Fatalf("request %s: callback with %v, want %v", q.name, net.Error(rv), net.Error(want))
	}
}

func (h *poolHarness) wantWaiting(q *poolReq) {
	h.t.Helper()
	drain(h.t, h.l)
	if rv, ok := q.result(); ok {
		h.t.Fatalf("request %s: callback with %v, want it still waiting", q.name, net.Error(rv))
	}
}

func (q *poolReq) socket() *fakeSocket {
	s, _ := q.handle.Socket().(*fakeSocket)
	return s
}

// closingReasons returns the SOCKET_POOL_CLOSING_SOCKET reasons logged on s.
func (h *poolHarness) closingReasons(s *fakeSocket) []string {
	var out []string
	for _, e := range h.col.Find(netlog.EventSocketPoolClosingSocket, netlog.PhaseNone, s.nl.Source().ID) {
		r, _ := e.Params["reason"].(string)
		out = append(out, r)
	}
	return out
}

var (
	groupA = GroupID{Scheme: "http", Host: "a.test", Port: 80}
	groupB = GroupID{Scheme: "http", Host: "b.test", Port: 80}
	groupC = GroupID{Scheme: "https", Host: "c.test", Port: 443}
)
