package socket

import (
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
)

// nettest.HangGuard bounds every wait in these tests. It guards against hangs; it is
// never a timing assertion.
// drain lets every task already queued on the loop (and the tasks they
// post in turn, a few levels deep) run.
func drain(t testing.TB, l *net.Loop) {
	t.Helper()
	for i := 0; i < 4; i++ {
		nettest.OnLoop(t, l, func() {})
	}
}

// waitInt waits for one value on c.
func waitInt(t testing.TB, c <-chan int, what string) int {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(nettest.HangGuard):
		t.Fatalf("timed out waiting for %s", what)
		return 0
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
