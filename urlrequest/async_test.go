package urlrequest_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// recorder is a Delegate that records every callback, on the loop, and
// checks that none runs while the test is inside a call into the request
// (Start, Read, Cancel, FollowDeferredRedirect): callbacks must never be
// re-entrant.
type recorder struct {
	c *urlrequest.Context

	// Behaviour.
	deferRedirects   bool // hold every redirect, follow it from a later task
	cancelInRedirect bool // Cancel from inside OnReceivedRedirect
	noRead           bool // do not read after OnResponseStarted

	// Loop-owned record.
	events        []string
	violations    []string
	inCall        bool
	ended         bool
	body          []byte
	buf           []byte
	pendingReads  int // Reads that returned IOPending
	readCallbacks int // OnReadCompleted calls
	done          chan struct{}
}

func newRecorder(c *urlrequest.Context) *recorder {
	return &recorder{c: c, buf: make([]byte, 1000), done: make(chan struct{})}
}

// call runs f (a call into the request) with the re-entrancy flag set.
func (d *recorder) call(f func()) {
	if d.inCall {
		d.violations = append(d.violations, "nested call")
	}
	d.inCall = true
	f()
	d.inCall = false
}

func (d *recorder) enter(what string) {
	if d.inCall {
		d.violations = append(d.violations, what+" ran inside a call into the request")
	}
	if d.ended {
		d.violations = append(d.violations, what+" after the end")
	}
}

func (d *recorder) end(event string) {
	d.events = append(d.events, event)
	d.ended = true
	close(d.done)
}

func (d *recorder) OnReceivedRedirect(r *urlrequest.Request, info urlrequest.RedirectInfo, deferRedirect *bool) {
	d.enter("OnReceivedRedirect")
	d.events = append(d.events, fmt.Sprintf("redirect %d %s %s", info.StatusCode, info.NewMethod, info.NewURL.Path))
	switch {
	case d.cancelInRedirect:
		d.call(r.Cancel)
	case d.deferRedirects:
		*deferRedirect = true
		before := r.URL().String()
		d.c.Loop().Post(func() {
			if r.URL().String() != before {
				d.violations = append(d.violations, "a deferred redirect was followed without FollowDeferredRedirect")
			}
			d.events = append(d.events, "follow")
			d.call(r.FollowDeferredRedirect)
		})
	}
}

func (d *recorder) OnResponseStarted(r *urlrequest.Request, result int) {
	d.enter("OnResponseStarted")
	if result != net.OK {
		d.end("started " + net.Error(result).Name())
		return
	}
	d.events = append(d.events, fmt.Sprintf("started %d", r.Response().Headers.StatusCode()))
	if d.noRead {
		close(d.done)
		return
	}
	d.readLoop(r)
}

func (d *recorder) readLoop(r *urlrequest.Request) {
	for {
		var n int
		d.call(func() { n = r.Read(d.buf) })
		if n == net.IOPending {
			d.pendingReads++
			return
		}
		if !d.took(n) {
			return
		}
	}
}

// took records a read result and reports whether to read on.
func (d *recorder) took(n int) bool {
	switch {
	case n > 0:
		d.body = append(d.body, d.buf[:n]...)
		return true
	case n == 0:
		d.end("eof")
	default:
		d.end("read " + net.Error(n).Name())
	}
	return false
}

func (d *recorder) OnReadCompleted(r *urlrequest.Request, n int) {
	d.enter("OnReadCompleted")
	d.readCallbacks++
	if d.took(n) {
		d.readLoop(r)
	}
}

// snapshot is a copy of the record, taken on the loop.
type snapshot struct {
	events, violations          []string
	body                        string
	pendingReads, readCallbacks int
}

func (d *recorder) snapshot(t *testing.T) snapshot {
	t.Helper()
	var s snapshot
	if !d.c.Loop().PostAndWait(func() {
		s = snapshot{
			events: append([]string(nil), d.events...), violations: append([]string(nil), d.violations...),
			body: string(d.body), pendingReads: d.pendingReads, readCallbacks: d.readCallbacks,
		}
	}) {
		t.Fatal("loop gone")
	}
	return s
}

// startOnLoop creates and starts a request on the loop, inside call, and
// returns it once Start has returned.
func startOnLoop(t *testing.T, d *recorder, rawURL string, setup func(*urlrequest.Request)) *urlrequest.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var r *urlrequest.Request
	d.c.Loop().PostAndWait(func() {
		r = d.c.NewRequest(u, net.DefaultPriority, d)
		if setup != nil {
			setup(r)
		}
		d.call(r.Start)
	})
	return r
}

// waitDone waits for the recorder's end, with the hang guard, and returns
// the record after a few more loop turns (to catch stray callbacks).
func waitDone(t *testing.T, d *recorder) snapshot {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(hangGuard):
		t.Fatalf("no final callback; events so far %q", d.snapshot(t).events)
	}
	for i := 0; i < 3; i++ {
		d.snapshot(t)
	}
	s := d.snapshot(t)
	if len(s.violations) > 0 {
		t.Fatalf("violations: %q (events %q)", s.violations, s.events)
	}
	return s
}

func wantEvents(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestAsyncCallbackOrder(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	d := newRecorder(c)
	startOnLoop(t, d, s.URL+"/r/302/r/301/r/307/echo", nil)
	got := waitDone(t, d)
	wantEvents(t, got.events,
		"redirect 302 GET /r/301/r/307/echo",
		"redirect 301 GET /r/307/echo",
		"redirect 307 GET /echo",
		"started 200",
		"eof")
	if got.body != "GET |ct=|cl=|te=[]" {
		t.Fatalf("body %q", got.body)
	}
	if got.pendingReads != got.readCallbacks {
		t.Fatalf("%d reads returned IOPending but OnReadCompleted ran %d times", got.pendingReads, got.readCallbacks)
	}
	if n := len(log.get()); n != 4 {
		t.Fatalf("server saw %d requests", n)
	}
}

func TestAsyncLargeBodyMixesSyncAndAsyncReads(t *testing.T) {
	body := string(pattern(50000))
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		raw := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedEncode([]byte(body), 3000, "", "")
		// Pieces with pauses: some reads find bytes waiting, some wait.
		for len(raw) > 0 {
			n := min(7000, len(raw))
			c.WriteString(raw[:n])
			raw = raw[n:]
			time.Sleep(time.Millisecond)
		}
	})
	c := newContext(t)
	d := newRecorder(c)
	startOnLoop(t, d, s.URL, nil)
	got := waitDone(t, d)
	wantEvents(t, got.events, "started 200", "eof")
	if got.body != body {
		t.Fatalf("body: %d bytes, want %d", len(got.body), len(body))
	}
	if got.pendingReads != got.readCallbacks || got.pendingReads == 0 {
		t.Fatalf("%d pending reads, %d OnReadCompleted", got.pendingReads, got.readCallbacks)
	}
}

func TestAsyncDeferredRedirect(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	d := newRecorder(c)
	d.deferRedirects = true
	r := startOnLoop(t, d, s.URL+"/r/303/r/308/echo", func(r *urlrequest.Request) { r.SetMethod("PUT") })
	got := waitDone(t, d)
	wantEvents(t, got.events,
		"redirect 303 GET /r/308/echo",
		"follow",
		"redirect 308 GET /echo",
		"follow",
		"started 200",
		"eof")
	var chain []string
	c.Loop().PostAndWait(func() {
		for _, u := range r.URLChain() {
			chain = append(chain, u.Path)
		}
	})
	if strings.Join(chain, " ") != "/r/303/r/308/echo /r/308/echo /echo" {
		t.Fatalf("URLChain %q", chain)
	}
	if seen := log.get(); strings.Join(seen, ",") != "PUT /r/303/r/308/echo,GET /r/308/echo,GET /echo" {
		t.Fatalf("server saw %q", seen)
	}
}

func TestAsyncDeferredRedirectThenCancel(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	d := newRecorder(c)
	held := make(chan *urlrequest.Request, 1)
	u, _ := url.Parse(s.URL + "/r/302/echo")
	c.Loop().PostAndWait(func() {
		r := c.NewRequest(u, net.DefaultPriority, &holdDelegate{recorder: d, held: held})
		d.call(r.Start)
	})
	var r *urlrequest.Request
	select {
	case r = <-held:
	case <-time.After(hangGuard):
		t.Fatal("no redirect")
	}
	c.Loop().PostAndWait(func() { d.call(r.Cancel) })
	got := waitDone(t, d)
	wantEvents(t, got.events, "redirect 302 GET /echo", "started ERR_ABORTED")
	if n := len(log.get()); n != 1 {
		t.Fatalf("server saw %d requests after a cancelled deferred redirect", n)
	}
}

// holdDelegate defers the redirect and hands the request to the test.
type holdDelegate struct {
	*recorder
	held chan *urlrequest.Request
}

func (h *holdDelegate) OnReceivedRedirect(r *urlrequest.Request, info urlrequest.RedirectInfo, deferRedirect *bool) {
	h.recorder.OnReceivedRedirect(r, info, deferRedirect)
	*deferRedirect = true
	h.held <- r
}

func TestAsyncCancelInsideRedirect(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	d := newRecorder(c)
	d.cancelInRedirect = true
	startOnLoop(t, d, s.URL+"/r/301/echo", nil)
	got := waitDone(t, d)
	wantEvents(t, got.events, "redirect 301 GET /echo", "started ERR_ABORTED")
	if n := len(log.get()); n != 1 {
		t.Fatalf("server saw %d requests", n)
	}
}

func TestAsyncFailuresAreNeverSynchronous(t *testing.T) {
	// Failures that are known inside Start still reach the delegate later,
	// from the loop, never from inside Start.
	ln := testserver.NewRaw(t, func(*testserver.Conn) {})
	refused := ln.URL
	ln.Close()
	for _, tc := range []struct {
		url  string
		want net.Error
	}{
		{"ftp://x/", net.ErrUnknownURLScheme},
		{"http:///nohost", net.ErrInvalidURL},
		{"http://x:99999/", net.ErrInvalidURL},
		{"http://nonexistent.invalid/", net.ErrNameNotResolved},
		{refused + "/", net.ErrConnectionRefused},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c := newContext(t)
			d := newRecorder(c)
			startOnLoop(t, d, tc.url, nil)
			got := waitDone(t, d)
			wantEvents(t, got.events, "started "+tc.want.Name())
		})
	}
}

func TestAsyncCancelWhileReadPending(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", started))
	c := newContext(t)
	d := newRecorder(c)
	r := startOnLoop(t, d, s.URL, nil)
	// Wait until the read of the rest is pending.
	if !testserver.Eventually(hangGuard, func() bool { return d.snapshot(t).pendingReads > 0 }) {
		t.Fatal("no pending read")
	}
	c.Loop().PostAndWait(func() { d.call(r.Cancel) })
	got := waitDone(t, d)
	wantEvents(t, got.events, "started 200", "read ERR_ABORTED")
	if got.body != "abc" {
		t.Fatalf("body %q", got.body)
	}
	if !s.WaitAllClosed(hangGuard) {
		t.Fatal("connection open after Cancel")
	}
	// The request reports what ended it.
	var status int
	c.Loop().PostAndWait(func() { status = r.Status(); d.call(func() { r.Read(d.buf) }) })
	if status != int(net.ErrAborted) {
		t.Fatalf("Status %d", status)
	}
}

func TestAsyncCancelWithoutPendingReadIsSilent(t *testing.T) {
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	c := newContext(t)
	d := newRecorder(c)
	d.noRead = true
	r := startOnLoop(t, d, s.URL, nil)
	<-d.done
	c.Loop().PostAndWait(func() {
		d.call(r.Cancel)
		d.call(r.Cancel) // twice is harmless
		if n := r.Read(d.buf); n != int(net.ErrAborted) {
			d.violations = append(d.violations, fmt.Sprintf("Read after Cancel = %d", n))
		}
	})
	for i := 0; i < 5; i++ {
		d.snapshot(t)
	}
	got := d.snapshot(t)
	wantEvents(t, got.events, "started 200")
	if len(got.violations) > 0 {
		t.Fatal(got.violations)
	}
}

func TestAsyncReadBeforeStartedFails(t *testing.T) {
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))
	c := newContext(t)
	d := newRecorder(c)
	u, _ := url.Parse(s.URL)
	c.Loop().PostAndWait(func() {
		r := c.NewRequest(u, net.DefaultPriority, d)
		if n := r.Read(d.buf); n >= 0 || n == net.IOPending {
			d.violations = append(d.violations, fmt.Sprintf("Read before Start = %d", n))
		}
		d.call(r.Start)
		d.call(r.Start) // a second Start does nothing
		if n := r.Read(d.buf); n >= 0 || n == net.IOPending {
			d.violations = append(d.violations, fmt.Sprintf("Read before OnResponseStarted = %d", n))
		}
	})
	got := waitDone(t, d)
	wantEvents(t, got.events, "started 200", "eof")
	if got.body != "abc" {
		t.Fatalf("body %q", got.body)
	}
}

func TestAsyncManualRedirectMode(t *testing.T) {
	s, _ := newEchoServer(t)
	c := newContext(t)
	d := newRecorder(c)
	startOnLoop(t, d, s.URL+"/r/302/echo", func(r *urlrequest.Request) { r.SetFollowRedirects(false) })
	got := waitDone(t, d)
	wantEvents(t, got.events, "started 302", "eof")
	if got.body != "redirect body" {
		t.Fatalf("body %q", got.body)
	}
}

func TestAsyncContextCloseNotifies(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("", started))
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	d := newRecorder(c)
	startOnLoop(t, d, s.URL, nil)
	<-started
	within(t, "Close", c.Close)
	select {
	case <-d.done:
	default:
		t.Fatal("Close returned before the delegate heard")
	}
	// The loop is gone; the record is final.
	wantEvents(t, d.events, "started ERR_ABORTED")
	if len(d.violations) > 0 {
		t.Fatal(d.violations)
	}
}
