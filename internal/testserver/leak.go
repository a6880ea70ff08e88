package testserver

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// LeakTimeout bounds how long CheckGoroutines waits for goroutines to end.
// It is a hang guard, not a performance expectation.
const LeakTimeout = 10 * time.Second

// GoroutineBaseline records the current number of goroutines. Call it
// before the code under test starts anything, and pass the result to
// CheckGoroutines once everything was closed.
func GoroutineBaseline() int { return runtime.NumGoroutine() }

// CheckGoroutines polls runtime.NumGoroutine until it is back at baseline
// or below, for at most LeakTimeout, and fails the test with a dump of every
// goroutine's stack if it never is. Tests that use it must not run in
// parallel with others.
func CheckGoroutines(tb testing.TB, baseline int) {
	tb.Helper()
	if WaitGoroutines(baseline, LeakTimeout) {
		return
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	tb.Errorf("goroutine leak: %d goroutines, baseline %d\n%s", runtime.NumGoroutine(), baseline, buf)
}

// WaitGoroutines polls until at most baseline goroutines run, for at most
// timeout, and reports whether that happened.
func WaitGoroutines(baseline int, timeout time.Duration) bool {
	return Eventually(timeout, func() bool {
		runtime.Gosched()
		return runtime.NumGoroutine() <= baseline
	})
}

// StackContains reports whether some goroutine's stack mentions s (a
// function name, say); useful to tell which goroutine leaked.
func StackContains(s string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Contains(string(buf), s)
}
