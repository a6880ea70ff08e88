package socket

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// hangGuard bounds every wait in these tests. It guards against hangs; it is
// never a timing assertion.
const hangGuard = 10 * time.Second

// quiet is how long a test waits to see that something does NOT happen (a
// callback that must never run). It is not a timing assertion either: a
// late wrong callback would still be caught by the checks that follow.
const quiet = 50 * time.Millisecond

// newTestLoop starts a loop that is shut down when the test ends.
func newTestLoop(t testing.TB) *net.Loop {
	t.Helper()
	l := net.NewLoop()
	t.Cleanup(l.Shutdown)
	return l
}

// onLoop runs f on the loop and waits for it.
func onLoop(t testing.TB, l *net.Loop, f func()) {
	t.Helper()
	if !l.PostAndWait(f) {
		t.Fatal("loop has shut down")
	}
}

// drain lets every task already queued on the loop (and the tasks they
// post in turn, a few levels deep) run.
func drain(t testing.TB, l *net.Loop) {
	t.Helper()
	for i := 0; i < 4; i++ {
		onLoop(t, l, func() {})
	}
}

// waitInt waits for one value on c.
func waitInt(t testing.TB, c <-chan int, what string) int {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(hangGuard):
		t.Fatalf("timed out waiting for %s", what)
		return 0
	}
}

// expectNone checks that nothing arrives on c for a while.
func expectNone(t testing.TB, c <-chan int, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("%s: unexpected callback with %d", what, v)
	case <-time.After(quiet):
	}
}

// reentrancy enforces Chromium's rule that a completion callback never runs
// inside the call that started the operation: mark the initiating call with
// enter/leave, and wrap callbacks with cb.
type reentrancy struct {
	t      testing.TB
	inCall bool
}

func (r *reentrancy) call(f func() int) int {
	r.inCall = true
	defer func() { r.inCall = false }()
	return f()
}

// cb returns a callback that sends its result to a fresh channel and fails
// the test if it runs inside an initiating call.
func (r *reentrancy) cb(what string) (net.CompletionCallback, chan int) {
	c := make(chan int, 1)
	return func(rv int) {
		if r.inCall {
			r.t.Errorf("%s: callback ran re-entrantly inside the initiating call", what)
		}
		select {
		case c <- rv:
		default:
			r.t.Errorf("%s: callback ran more than once (second result %d)", what, rv)
		}
	}, c
}

// collector is a tiny NetLog observer that keeps every entry.
type collector struct {
	mu      sync.Mutex
	entries []netlog.Entry
}

func newCollector(log *netlog.NetLog, mode netlog.CaptureMode) *collector {
	c := &collector{}
	log.AddObserver(c, mode)
	return c
}

func (c *collector) OnAddEntry(e *netlog.Entry) {
	c.mu.Lock()
	c.entries = append(c.entries, *e)
	c.mu.Unlock()
}

func (c *collector) all() []netlog.Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]netlog.Entry(nil), c.entries...)
}

// find returns the entries of type t and phase ph, optionally for one source
// (id 0 means any source).
func (c *collector) find(t netlog.EventType, ph netlog.Phase, source uint32) []netlog.Entry {
	var out []netlog.Entry
	for _, e := range c.all() {
		if e.Type == t && e.Phase == ph && (source == 0 || e.Source.ID == source) {
			out = append(out, e)
		}
	}
	return out
}

// one returns the single matching entry, failing the test otherwise.
func (c *collector) one(t testing.TB, et netlog.EventType, ph netlog.Phase, source uint32) netlog.Entry {
	t.Helper()
	es := c.find(et, ph, source)
	if len(es) != 1 {
		t.Fatalf("want exactly one %v (phase %d, source %d), got %d: %v", et, ph, source, len(es), c.describe())
	}
	return es[0]
}

func (c *collector) describe() []string {
	var out []string
	for _, e := range c.all() {
		out = append(out, e.Source.Type.String()+"#"+strconv.Itoa(int(e.Source.ID))+" "+e.Type.String()+"/"+strconv.Itoa(int(e.Phase)))
	}
	return out
}
