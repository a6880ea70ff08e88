package net

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangGuard bounds every wait in these tests. It is a guard against hangs,
// never a timing assertion.
const hangGuard = 10 * time.Second

// goid returns the current goroutine's id, parsed from runtime.Stack. Tests
// use it to check which goroutine ran a callback.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		panic("goid: cannot parse " + string(buf[:]))
	}
	return id
}

// newTestLoop starts a loop and shuts it down when the test ends.
func newTestLoop(t testing.TB) *Loop {
	t.Helper()
	l := NewLoop()
	t.Cleanup(func() { l.Shutdown() })
	return l
}

// loopGoid returns the id of l's goroutine.
func loopGoid(t testing.TB, l *Loop) uint64 {
	t.Helper()
	var id uint64
	if !l.PostAndWait(func() { id = goid() }) {
		t.Fatal("PostAndWait on a live loop returned false")
	}
	return id
}

func waitChan(t testing.TB, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(hangGuard):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// pendingOps returns how many Go operations the loop still tracks.
func pendingOps(t testing.TB, l *Loop) int {
	t.Helper()
	var n int
	if !l.PostAndWait(func() { n = len(l.pending) }) {
		t.Fatal("loop has shut down")
	}
	return n
}

// waitNoPendingOps waits until every Go completion has been delivered to the
// loop (the completion task removes the op from l.pending).
func waitNoPendingOps(t testing.TB, l *Loop) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for pendingOps(t, l) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Go completions never reached the loop")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLoopPostRunsInOrderOnOneGoroutine(t *testing.T) {
	l := newTestLoop(t)
	loopID := loopGoid(t, l)

	const n = 10000
	// Deliberately not atomic: if two tasks ever ran at once, or off the
	// loop, the race detector would report it.
	var (
		order   []int
		running int
		badGo   int
		overlap int
	)
	for i := range n {
		ok := l.Post(func() {
			running++
			if running != 1 {
				overlap++
			}
			if goid() != loopID {
				badGo++
			}
			order = append(order, i)
			running--
		})
		if !ok {
			t.Fatalf("Post #%d returned false on a live loop", i)
		}
	}
	l.PostAndWait(func() {})

	if overlap != 0 {
		t.Errorf("%d tasks overlapped with another task", overlap)
	}
	if badGo != 0 {
		t.Errorf("%d tasks ran off the loop goroutine", badGo)
	}
	if len(order) != n {
		t.Fatalf("ran %d tasks, want %d", len(order), n)
	}
	for i, v := range order {
		if v != i {
			t.Fatalf("task %d ran at position %d: tasks ran out of order", v, i)
		}
	}
}

func TestLoopPostFromManyGoroutines(t *testing.T) {
	l := newTestLoop(t)
	const producers, perProducer = 16, 500

	var (
		count int            // loop-owned, not atomic on purpose
		last  [producers]int // last sequence number seen per producer
		bad   int
	)
	for i := range last {
		last[i] = -1
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for seq := range perProducer {
				if !l.Post(func() {
					count++
					// Tasks posted by one goroutine run in the order it posted them.
					if seq != last[p]+1 {
						bad++
					}
					last[p] = seq
				}) {
					t.Errorf("producer %d: Post returned false", p)
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	l.PostAndWait(func() {})

	var gotCount, gotBad int
	l.PostAndWait(func() { gotCount, gotBad = count, bad })
	if gotCount != producers*perProducer {
		t.Errorf("ran %d tasks, want %d", gotCount, producers*perProducer)
	}
	if gotBad != 0 {
		t.Errorf("%d tasks ran out of their producer's order", gotBad)
	}
}

func TestLoopTasksPostTasks(t *testing.T) {
	l := newTestLoop(t)
	const depth = 1000
	var (
		ran       int
		inside    bool // true while a task body runs
		reentrant int
	)
	done := make(chan struct{})
	var step func()
	step = func() {
		if inside {
			reentrant++
		}
		inside = true
		ran++
		if ran < depth {
			// Had Post run step re-entrantly, step would see inside == true.
			if !l.Post(step) {
				t.Error("Post from a task returned false")
			}
		} else {
			close(done)
		}
		inside = false
	}
	l.Post(step)
	waitChan(t, done, "the chain of self-posting tasks")

	// A task posted from a task runs after the posting task finishes, and
	// after tasks that were already queued.
	var seq []string
	l.PostAndWait(func() {
		l.Post(func() { seq = append(seq, "child") })
		seq = append(seq, "parent-end")
	})
	l.PostAndWait(func() {})
	var got []string
	l.PostAndWait(func() { got = append(got, seq...) })
	if len(got) != 2 || got[0] != "parent-end" || got[1] != "child" {
		t.Errorf("order = %v, want [parent-end child]", got)
	}
	var gotRan, gotRe int
	l.PostAndWait(func() { gotRan, gotRe = ran, reentrant })
	if gotRan != depth || gotRe != 0 {
		t.Errorf("ran=%d reentrant=%d, want %d and 0", gotRan, gotRe, depth)
	}
}

func TestLoopPostAndWait(t *testing.T) {
	l := NewLoop()
	loopID := loopGoid(t, l)
	var v, where uint64
	if !l.PostAndWait(func() { v = 42; where = goid() }) {
		t.Fatal("PostAndWait returned false on a live loop")
	}
	// PostAndWait returned, so the write is visible without further sync.
	if v != 42 {
		t.Errorf("task result not visible after PostAndWait: %d", v)
	}
	if where != loopID {
		t.Error("PostAndWait ran the task off the loop")
	}

	l.Shutdown()
	ran := false
	if l.PostAndWait(func() { ran = true }) {
		t.Error("PostAndWait after Shutdown returned true")
	}
	if ran {
		t.Error("PostAndWait after Shutdown ran the task")
	}
}

func TestLoopPostDelayedRunsAfterDelay(t *testing.T) {
	l := newTestLoop(t)
	loopID := loopGoid(t, l)
	const delay = 20 * time.Millisecond

	ran := make(chan struct{})
	var (
		start   time.Time
		elapsed time.Duration
		where   uint64
	)
	l.PostAndWait(func() {
		start = time.Now()
		l.PostDelayed(delay, func() {
			elapsed = time.Since(start)
			where = goid()
			close(ran)
		})
	})
	waitChan(t, ran, "the delayed task")
	// A lower bound only: a timer never fires early.
	if elapsed < delay {
		t.Errorf("delayed task ran after %v, before its %v delay", elapsed, delay)
	}
	if where != loopID {
		t.Error("delayed task ran off the loop")
	}
}

func TestLoopPostDelayedCancel(t *testing.T) {
	l := newTestLoop(t)
	var ran atomic.Bool
	var d *DelayedTask
	l.PostAndWait(func() {
		d = l.PostDelayed(time.Millisecond, func() { ran.Store(true) })
		d.Cancel()
		d.Cancel() // twice is fine
	})
	// Give the timer ample time to have fired had it not been stopped; the
	// assertion does not depend on this wait being long enough, since a
	// cancelled task is skipped whether or not its timer fired.
	sentinel := make(chan struct{})
	l.PostAndWait(func() { l.PostDelayed(50*time.Millisecond, func() { close(sentinel) }) })
	waitChan(t, sentinel, "the sentinel delayed task")
	l.PostAndWait(func() {})
	if ran.Load() {
		t.Error("cancelled delayed task ran")
	}

	var nilTask *DelayedTask
	nilTask.Cancel() // must not panic
}

// TestLoopPostDelayedCancelAfterTimerFired covers the case where the timer has
// already fired and queued the task, but the loop has not run it yet: the
// loop is kept busy by a task that waits until the timer's task is queued,
// then cancels.
func TestLoopPostDelayedCancelAfterTimerFired(t *testing.T) {
	for _, cancel := range []bool{true, false} {
		t.Run("cancel="+strconv.FormatBool(cancel), func(t *testing.T) {
			l := newTestLoop(t)
			ran := false // loop-owned
			l.PostAndWait(func() {
				d := l.PostDelayed(time.Millisecond, func() { ran = true })
				// Block the loop until the timer has fired and posted its task.
				deadline := time.Now().Add(hangGuard)
				for {
					l.mu.Lock()
					queued := len(l.queue)
					l.mu.Unlock()
					if queued == 1 {
						break
					}
					if time.Now().After(deadline) {
						t.Error("timer never posted its task")
						return
					}
					time.Sleep(100 * time.Microsecond)
				}
				if cancel {
					d.Cancel()
				}
			})
			var got bool
			l.PostAndWait(func() { got = ran })
			if got == cancel {
				t.Errorf("task ran = %v, want %v", got, !cancel)
			}
		})
	}
}

func TestLoopPostDelayedAfterShutdownNeverRuns(t *testing.T) {
	l := NewLoop()
	var ran atomic.Bool
	l.PostAndWait(func() { l.PostDelayed(time.Millisecond, func() { ran.Store(true) }) })
	l.Shutdown()
	time.Sleep(20 * time.Millisecond)
	if ran.Load() {
		t.Error("delayed task ran after Shutdown")
	}
}

func TestGoRunsWorkOffLoopAndDoneOnLoop(t *testing.T) {
	l := newTestLoop(t)
	loopID := loopGoid(t, l)

	release := make(chan struct{})
	workStarted := make(chan struct{})
	doneCh := make(chan struct{})
	var (
		workGo, doneGo uint64
		gotV           string
		gotErr         error
	)
	l.PostAndWait(func() {
		Go(l, func(ctx context.Context) (string, error) {
			workGo = goid()
			close(workStarted)
			<-release // blocks; the loop must stay free meanwhile
			return "result", ErrConnectionRefused
		}, func(v string, err error) {
			doneGo = goid()
			gotV, gotErr = v, err
			close(doneCh)
		})
	})
	waitChan(t, workStarted, "work to start")
	// The loop is not blocked by the work.
	if !l.PostAndWait(func() {}) {
		t.Fatal("loop dead")
	}
	select {
	case <-doneCh:
		t.Fatal("done ran before work returned")
	default:
	}
	close(release)
	waitChan(t, doneCh, "done")
	if workGo == loopID {
		t.Error("work ran on the loop goroutine")
	}
	if doneGo != loopID {
		t.Error("done ran off the loop goroutine")
	}
	if gotV != "result" || !errors.Is(gotErr, ErrConnectionRefused) {
		t.Errorf("done(%q, %v), want (\"result\", ErrConnectionRefused)", gotV, gotErr)
	}
	waitNoPendingOps(t, l)
}

func TestGoDoneNotCalledSynchronously(t *testing.T) {
	l := newTestLoop(t)
	doneRan := false
	l.PostAndWait(func() {
		Go(l, func(context.Context) (int, error) { return 1, nil }, func(int, error) { doneRan = true })
		// Even if work finished instantly, done is posted, never run inside Go.
		time.Sleep(5 * time.Millisecond)
		if doneRan {
			t.Error("done ran inside the task that called Go")
		}
	})
}

func TestOpCancelPreventsDoneAndCancelsContext(t *testing.T) {
	l := newTestLoop(t)
	workReturned := make(chan struct{})
	var (
		doneCalls int // loop-owned
		ctxErr    error
		op        Op
	)
	started := make(chan struct{})
	l.PostAndWait(func() {
		op = Go(l, func(ctx context.Context) (int, error) {
			close(started)
			<-ctx.Done()
			ctxErr = ctx.Err()
			close(workReturned)
			return 0, ctx.Err()
		}, func(int, error) { doneCalls++ })
	})
	waitChan(t, started, "work to start")
	l.PostAndWait(func() {
		op.Cancel()
		op.Cancel() // idempotent
	})
	waitChan(t, workReturned, "work to see its context cancelled")
	if !errors.Is(ctxErr, context.Canceled) {
		t.Errorf("work ctx.Err() = %v, want context.Canceled", ctxErr)
	}
	waitNoPendingOps(t, l) // the completion has been delivered (and dropped)
	var calls int
	l.PostAndWait(func() { calls = doneCalls })
	if calls != 0 {
		t.Errorf("done ran %d times after Op.Cancel, want 0", calls)
	}

	// Cancelling after done ran is a no-op.
	doneCh := make(chan struct{})
	l.PostAndWait(func() {
		op = Go(l, func(context.Context) (int, error) { return 7, nil }, func(int, error) { close(doneCh) })
	})
	waitChan(t, doneCh, "done")
	l.PostAndWait(func() { op.Cancel() })
	Op{}.Cancel() // the zero Op is safe
}

func TestShutdownAbortsInFlightGo(t *testing.T) {
	l := NewLoop()
	const n = 8
	var (
		doneCalls [n]int
		doneErrs  [n]error
	)
	workCtxDone := make(chan int, n)
	started := make(chan struct{}, n)
	l.PostAndWait(func() {
		for i := range n {
			Go(l, func(ctx context.Context) (int, error) {
				started <- struct{}{}
				<-ctx.Done()
				workCtxDone <- i
				return i, nil // a success that arrives too late to count
			}, func(_ int, err error) {
				doneCalls[i]++
				doneErrs[i] = err
			})
		}
	})
	for range n {
		select {
		case <-started:
		case <-time.After(hangGuard):
			t.Fatal("work never started")
		}
	}

	l.Shutdown()

	// Shutdown has returned, so the loop goroutine has exited and its writes
	// are visible.
	for i := range n {
		if doneCalls[i] != 1 {
			t.Errorf("op %d: done called %d times, want 1", i, doneCalls[i])
		}
		if !errors.Is(doneErrs[i], ErrAborted) {
			t.Errorf("op %d: done err = %v, want ErrAborted", i, doneErrs[i])
		}
	}
	for range n {
		select {
		case <-workCtxDone:
		case <-time.After(hangGuard):
			t.Fatal("a work's context was not cancelled by Shutdown")
		}
	}
	select {
	case <-l.Done():
	default:
		t.Error("Done() not closed after Shutdown")
	}
	if l.Post(func() {}) {
		t.Error("Post after Shutdown returned true")
	}
	// A second Shutdown returns at once.
	l.Shutdown()
}

// TestShutdownLateCompletionNotDelivered: work that ignores its context
// finishes after Shutdown; done must still have run exactly once, with
// ErrAborted.
func TestShutdownLateCompletionNotDelivered(t *testing.T) {
	l := NewLoop()
	release := make(chan struct{})
	workDone := make(chan struct{})
	var calls int
	var gotErr error
	started := make(chan struct{})
	l.PostAndWait(func() {
		Go(l, func(context.Context) (int, error) {
			close(started)
			<-release // ignores ctx
			close(workDone)
			return 1, nil
		}, func(_ int, err error) { calls++; gotErr = err })
	})
	<-started
	l.Shutdown()
	close(release)
	waitChan(t, workDone, "work to return")
	// The late completion's Post is refused; give it a moment to try.
	time.Sleep(10 * time.Millisecond)
	if calls != 1 || !errors.Is(gotErr, ErrAborted) {
		t.Errorf("done called %d times with %v, want once with ErrAborted", calls, gotErr)
	}
}

// TestShutdownCascade: what the aborted callbacks do (post tasks, start new
// Go operations, from those tasks start more) still runs, and every Go
// started while shutting down completes with ErrAborted. This was a bug: a
// Go started from a task that ran after the shutdown task never had its
// done called.
func TestShutdownCascade(t *testing.T) {
	l := NewLoop()
	var (
		log   []string
		errB  error
		errC  error
		callB int
		callC int
	)
	l.PostAndWait(func() {
		Go(l, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
			func(_ int, err error) {
				log = append(log, "A:"+err.Error())
				// First generation: Go straight from the aborted callback.
				Go(l, func(context.Context) (int, error) { return 1, nil },
					func(_ int, err error) { callB++; errB = err })
				// Second generation: Go from a task posted by the callback.
				l.Post(func() {
					log = append(log, "task")
					Go(l, func(context.Context) (int, error) { return 2, nil },
						func(_ int, err error) { callC++; errC = err })
				})
			})
	})
	l.Shutdown()
	if len(log) != 2 || log[0] != "A:net::ERR_ABORTED" || log[1] != "task" {
		t.Errorf("log = %q", log)
	}
	if callB != 1 || !errors.Is(errB, ErrAborted) {
		t.Errorf("B: done called %d times with %v, want once with ErrAborted", callB, errB)
	}
	if callC != 1 || !errors.Is(errC, ErrAborted) {
		t.Errorf("C: done called %d times with %v, want once with ErrAborted", callC, errC)
	}
}

// TestShutdownRunsEveryAcceptedTask: a Post that returned true always runs,
// even when it races with Shutdown.
func TestShutdownRunsEveryAcceptedTask(t *testing.T) {
	for round := range 20 {
		l := NewLoop()
		var accepted atomic.Int64
		ran := 0 // loop-owned; read after the loop exits
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 2000 {
					if l.Post(func() { ran++ }) {
						accepted.Add(1)
					} else {
						return
					}
				}
			}()
		}
		l.Shutdown()
		wg.Wait()
		<-l.Done()
		if int64(ran) != accepted.Load() {
			t.Fatalf("round %d: %d tasks accepted but %d ran", round, accepted.Load(), ran)
		}
	}
}

func TestShutdownConcurrentCallers(t *testing.T) {
	l := NewLoop()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); l.Shutdown() }()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	waitChan(t, finished, "concurrent Shutdowns")
	waitChan(t, l.Done(), "Done")
}

func TestGoAfterShutdownStartedFromDrain(t *testing.T) {
	// Go called on the loop after it has stopped (from a task accepted
	// before it stopped accepting) runs done with ErrAborted and never runs
	// work.
	l := NewLoop()
	var workRan atomic.Bool
	var gotErr error
	calls := 0
	block := make(chan struct{})
	blocking := make(chan struct{})
	l.Post(func() { close(blocking); <-block })
	waitChan(t, blocking, "the blocking task")
	shutdownDone := make(chan struct{})
	go func() { l.Shutdown(); close(shutdownDone) }()
	// Wait until Shutdown's task is queued behind the blocking task, then
	// queue a task after it; it runs after the loop has stopped.
	deadline := time.Now().Add(hangGuard)
	for {
		l.mu.Lock()
		n := len(l.queue)
		l.mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Shutdown never posted its task")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if !l.Post(func() {
		Go(l, func(context.Context) (int, error) { workRan.Store(true); return 0, nil },
			func(_ int, err error) { calls++; gotErr = err })
	}) {
		t.Fatal("Post before the loop stopped returned false")
	}
	close(block)
	waitChan(t, shutdownDone, "Shutdown")
	if calls != 1 || !errors.Is(gotErr, ErrAborted) {
		t.Errorf("done called %d times with %v, want once with ErrAborted", calls, gotErr)
	}
	if workRan.Load() {
		t.Error("work ran although the loop had stopped")
	}
}

// TestShutdownNoGoroutineLeak counts goroutines by hand (no goleak: no new
// dependencies): after Shutdown, the loop goroutine and every Go goroutine
// whose work honours its context must be gone.
func TestShutdownNoGoroutineLeak(t *testing.T) {
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	before := settle()

	for range 10 {
		l := NewLoop()
		l.PostAndWait(func() {
			for range 5 {
				Go(l, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() },
					func(int, error) {})
			}
			op := Go(l, func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, nil },
				func(int, error) {})
			op.Cancel()
			Go(l, func(context.Context) (int, error) { return 0, nil }, func(int, error) {})
			l.PostDelayed(time.Hour, func() {})
			d := l.PostDelayed(time.Hour, func() {})
			d.Cancel()
		})
		for range 100 {
			l.Post(func() {})
		}
		l.Shutdown()
	}

	deadline := time.Now().Add(hangGuard)
	var after int
	for {
		after = settle()
		if after <= before {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Fatalf("goroutine leak: %d before, %d after Shutdown\n%s", before, after, buf)
}

func BenchmarkLoopPost(b *testing.B) {
	l := NewLoop()
	defer l.Shutdown()
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		l.Post(func() { n++ })
	}
	l.PostAndWait(func() {})
}

func BenchmarkLoopPostAndWait(b *testing.B) {
	l := NewLoop()
	defer l.Shutdown()
	b.ReportAllocs()
	for b.Loop() {
		l.PostAndWait(func() {})
	}
}
