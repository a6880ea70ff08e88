package net

import (
	"context"
	"sync"
	"time"
)

// Loop runs posted tasks one at a time on its own goroutine. Every object of
// the stack is owned by one Loop and touched only from its tasks, so none of
// them needs a lock: this is Chromium's network thread.
//
// Post may be called from any goroutine. Everything else that changes loop
// state (PostDelayed's cancel, Go's Op.Cancel) must be called on the loop.
type Loop struct {
	mu      sync.Mutex
	queue   []func()
	spare   []func()
	wake    chan struct{}
	closing bool // set under mu by run when it exits after Shutdown
	exited  chan struct{}

	// Loop-owned: blocking operations in flight, failed at shutdown.
	pending map[*opState]struct{}
	stopped bool
}

// NewLoop starts a loop goroutine.
func NewLoop() *Loop {
	l := &Loop{
		wake:    make(chan struct{}, 1),
		exited:  make(chan struct{}),
		pending: make(map[*opState]struct{}),
	}
	go l.run()
	return l
}

// Post queues task to run on the loop. It reports false, and drops the task,
// once the loop has shut down.
func (l *Loop) Post(task func()) bool {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return false
	}
	l.queue = append(l.queue, task)
	n := len(l.queue)
	l.mu.Unlock()
	if n == 1 {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// PostAndWait runs task on the loop and waits for it to finish. It must not
// be called from the loop itself. It reports false if the loop has shut down.
func (l *Loop) PostAndWait(task func()) bool {
	done := make(chan struct{})
	if !l.Post(func() { task(); close(done) }) {
		return false
	}
	select {
	case <-done:
		return true
	case <-l.exited:
		// The loop may have run the task just before exiting.
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
}

func (l *Loop) run() {
	defer close(l.exited)
	for {
		l.mu.Lock()
		tasks := l.queue
		l.queue = l.spare[:0]
		if len(tasks) == 0 && l.stopped {
			// Shutdown has aborted the operations in flight and every task
			// that followed from that has run: refuse new tasks and exit.
			// Checking the queue and setting closing under one lock means no
			// accepted task is ever dropped.
			l.closing = true
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
		for i, t := range tasks {
			t()
			tasks[i] = nil
		}
		l.spare = tasks
		if len(tasks) > 0 {
			continue
		}
		<-l.wake
	}
}

// DelayedTask is a task posted with PostDelayed.
type DelayedTask struct {
	timer     *time.Timer
	cancelled bool // loop-owned
}

// Cancel stops the task from running if it has not run yet. Call it on the
// loop. It is safe to call more than once.
func (d *DelayedTask) Cancel() {
	if d == nil {
		return
	}
	d.cancelled = true
	d.timer.Stop()
}

// PostDelayed runs task on the loop after delay, unless cancelled first.
// Call it on the loop.
func (l *Loop) PostDelayed(delay time.Duration, task func()) *DelayedTask {
	d := &DelayedTask{}
	d.timer = time.AfterFunc(delay, func() {
		l.Post(func() {
			if !d.cancelled && !l.stopped {
				d.cancelled = true
				task()
			}
		})
	})
	return d
}

// Op is blocking work started with Go.
type Op struct{ s *opState }

type opState struct {
	cancel context.CancelFunc
	abort  func() // runs done with ErrAborted
	done   bool
}

// Cancel stops the operation: its done callback will not run and its
// context is cancelled. Call it on the loop.
func (o Op) Cancel() {
	if o.s == nil || o.s.done {
		return
	}
	o.s.done = true
	o.s.cancel()
}

// Go runs work in its own goroutine, off the loop, and then runs done on the
// loop with work's result — the way a layer does anything that blocks (a
// dial, a system DNS lookup, a disk read). If the loop shuts down first,
// done runs with ErrAborted instead and work's context is cancelled; if the
// Op is cancelled, done never runs. Call Go on the loop.
func Go[T any](l *Loop, work func(ctx context.Context) (T, error), done func(T, error)) Op {
	ctx, cancel := context.WithCancel(context.Background())
	s := &opState{cancel: cancel}
	if l.stopped {
		s.done = true
		cancel()
		l.Post(func() { var zero T; done(zero, ErrAborted) })
		return Op{s}
	}
	s.abort = func() {
		var zero T
		done(zero, ErrAborted)
	}
	l.pending[s] = struct{}{}
	go func() {
		v, err := work(ctx)
		l.Post(func() {
			delete(l.pending, s)
			if s.done {
				return
			}
			s.done = true
			cancel()
			done(v, err)
		})
	}()
	return Op{s}
}

// Shutdown fails every blocking operation still in flight with ErrAborted,
// runs the tasks that follows from that, refuses new tasks and waits for the
// loop goroutine to exit. It must not be called from the loop. Owners of
// loop objects should close them (in a task) before calling Shutdown.
func (l *Loop) Shutdown() {
	l.Post(func() {
		l.stopped = true
		for len(l.pending) > 0 {
			for s := range l.pending {
				delete(l.pending, s)
				if !s.done {
					s.done = true
					s.cancel()
					s.abort()
				}
			}
		}
		// run exits once the queue is empty; until then tasks (and the
		// ErrAborted completions of Go calls they make) still run.
	})
	<-l.exited
}

// Done is closed when the loop goroutine has exited.
func (l *Loop) Done() <-chan struct{} { return l.exited }
