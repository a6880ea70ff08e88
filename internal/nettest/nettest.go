// Package nettest holds helpers for tests that drive loop-owned objects:
// a loop that shuts down with the test, running code on it, checking that a
// callback does not come, and a NetLog observer that records entries.
package nettest

import (
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
)

// HangGuard bounds every wait in a test, so a bug shows as a failure rather
// than a hung test binary. It is not a timing assertion.
const HangGuard = 10 * time.Second

// Quiet is how long a test waits to see that something does NOT happen (a
// callback that must never run). A late wrong callback would still be
// caught by the checks that follow.
const Quiet = 50 * time.Millisecond

// NewLoop starts a loop that is shut down when the test ends.
func NewLoop(t testing.TB) *net.Loop {
	t.Helper()
	l := net.NewLoop()
	t.Cleanup(l.Shutdown)
	return l
}

// OnLoop runs f on l and waits for it.
func OnLoop(t testing.TB, l *net.Loop, f func()) {
	t.Helper()
	if !l.PostAndWait(f) {
		t.Fatal("loop has shut down")
	}
}

// ExpectNone checks that nothing arrives on c for Quiet.
func ExpectNone(t testing.TB, c <-chan int, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("%s: unexpected callback with %d", what, v)
	case <-time.After(Quiet):
	}
}
