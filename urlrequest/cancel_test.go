package urlrequest_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// stallHandler reads a request, writes prefix, signals started and keeps the
// connection open until the client closes it.
func stallHandler(prefix string, started chan<- struct{}) func(*testserver.Conn) {
	return func(c *testserver.Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		c.WriteString(prefix)
		select {
		case started <- struct{}{}:
		default:
		}
		c.Stall()
	}
}

func TestCancelBeforeHeaders(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("", started))
	c := newContext(t)
	ctx, cancel := context.WithCancel(guard(t))
	go func() {
		<-started
		cancel()
	}()
	var err error
	within(t, "Fetch after cancel", func() {
		_, err = c.Fetch(ctx, &urlrequest.FetchRequest{URL: s.URL})
	})
	wantErr(t, "cancelled fetch", err, net.ErrAborted)
	wantErr(t, "cancelled fetch", err, context.Canceled)
	// The connection is closed, not left to the stalled server.
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("the cancelled request's connection is still open")
	}
}

func TestCancelMidHeaders(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Le", started))
	c := newContext(t)
	ctx, cancel := context.WithCancel(guard(t))
	go func() {
		<-started
		cancel()
	}()
	_, err := c.Fetch(ctx, &urlrequest.FetchRequest{URL: s.URL})
	wantErr(t, "cancelled fetch", err, net.ErrAborted)
	wantErr(t, "cancelled fetch", err, context.Canceled)
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("connection still open")
	}
}

func TestCancelBeforeStart(t *testing.T) {
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	c := newContext(t)
	ctx, cancel := context.WithCancel(guard(t))
	cancel()
	resp, err := c.Fetch(ctx, &urlrequest.FetchRequest{URL: s.URL})
	if err == nil {
		// The response may have won the race; it must still be usable.
		urlrequest.ReadAll(resp)
		return
	}
	wantErr(t, "pre-cancelled fetch", err, net.ErrAborted)
	wantErr(t, "pre-cancelled fetch", err, context.Canceled)
}

func TestDeadlineBeforeHeaders(t *testing.T) {
	s := testserver.NewRaw(t, stallHandler("", nil))
	c := newContext(t)
	ctx, cancel := context.WithTimeout(guard(t), 50*time.Millisecond)
	defer cancel()
	_, err := c.Fetch(ctx, &urlrequest.FetchRequest{URL: s.URL})
	wantErr(t, "deadline", err, net.ErrAborted)
	wantErr(t, "deadline", err, context.DeadlineExceeded)
}

func TestCancelWhileReadingBody(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial", started))
	c := newContext(t)
	ctx, cancel := context.WithCancel(guard(t))
	resp, err := c.Fetch(ctx, &urlrequest.FetchRequest{URL: s.URL})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 100)
	n, err := io.ReadFull(resp.Body, buf[:7])
	if err != nil || string(buf[:n]) != "partial" {
		t.Fatalf("first read %q %v", buf[:n], err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	within(t, "Body.Read after cancel", func() {
		_, err = resp.Body.Read(buf)
	})
	wantErr(t, "read after cancel", err, net.ErrAborted)
	wantErr(t, "read after cancel", err, context.Canceled)
	// Later reads keep failing.
	if _, err := resp.Body.Read(buf); err == nil {
		t.Fatalf("a read after the failure succeeded")
	}
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("connection still open after the cancelled read")
	}
}

func TestBodyCloseEarlyClosesConnection(t *testing.T) {
	// A body the caller abandons, on a server that never finishes it, must
	// not keep the connection forever (nor reuse it).
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nxx", started))
	c := newContext(t)
	resp, err := get(t, c, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read after Close succeeded")
	}
	// The drainer gives up after its timeout at the latest.
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("connection still open")
	}
}

func TestBodyCloseEarlyThenReuse(t *testing.T) {
	// A small unread body is drained so the connection is reused.
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			if _, _, err := c.ReadRequest(); err != nil {
				return
			}
			c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + string(pattern(2000)))
		}
	})
	c := newContext(t)
	for i := 0; i < 5; i++ {
		resp, err := get(t, c, s.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Read(make([]byte, 10))
		resp.Body.Close()
	}
	_, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
	if len(body) != 2000 {
		t.Fatalf("body %d bytes", len(body))
	}
	if n := s.Accepted(); n > 2 {
		// The drainer runs on the loop, racing the next request; at most
		// one more connection is fair, one per request is not.
		t.Fatalf("%d connections for 6 requests with small drained bodies", n)
	}
}

func TestContextCloseWhileFetching(t *testing.T) {
	started := make(chan struct{}, 8)
	s := testserver.NewRaw(t, stallHandler("", started))
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: s.URL})
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		<-started
	}
	within(t, "Context.Close", c.Close)
	for i := 0; i < n; i++ {
		var err error
		within(t, "Fetch after Close", func() { err = <-errs })
		// Close cancels live requests with ErrAborted.
		wantErr(t, "fetch during Close", err, net.ErrAborted)
	}
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("%d connections still open after Close", s.Open())
	}
	// After Close, Fetch fails at once.
	_, err = c.Fetch(guard(t), &urlrequest.FetchRequest{URL: s.URL})
	wantErr(t, "fetch after Close", err, net.ErrContextShutDown)
	c.Close() // twice is fine
}

func TestContextCloseWhileReadingBody(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc", started))
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := get(t, c, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	within(t, "Context.Close", c.Close)
	var rerr error
	within(t, "Body.Read after Close", func() { _, rerr = resp.Body.Read(make([]byte, 10)) })
	if !errors.Is(rerr, net.ErrAborted) {
		t.Fatalf("read after Close: %v, want ErrAborted", rerr)
	}
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("connection still open after Context.Close")
	}
}

func TestContextCloseKeepsBufferedBody(t *testing.T) {
	// A body the stack has completely read ahead before Close belongs to
	// the caller: reading it after Close gives the bytes (or, if Close came
	// before the read-ahead, ErrAborted), never a random
	// ErrContextShutDown.
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			if _, _, err := c.ReadRequest(); err != nil {
				return
			}
			c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		}
	})
	full := 0
	for i := 0; i < 30; i++ {
		c, err := urlrequest.NewBuilder().Build()
		if err != nil {
			t.Fatal(err)
		}
		resp, err := get(t, c, s.URL)
		if err != nil {
			c.Close()
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // usually enough for the read-ahead
		within(t, "Close", c.Close)
		body, err := urlrequest.ReadAll(resp)
		switch {
		case err == nil && string(body) == "hello":
			full++
		case errors.Is(err, net.ErrAborted):
		default:
			t.Fatalf("round %d: body %q err %v", i, body, err)
		}
	}
	if full == 0 {
		t.Logf("the read-ahead never finished before Close; nothing was checked")
	}
}

func TestContextCloseConcurrentWithFetches(t *testing.T) {
	// Close racing with Fetch calls from many goroutines: every call ends,
	// with a response or an error, and nothing panics.
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			if _, _, err := c.ReadRequest(); err != nil {
				return
			}
			c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	for round := 0; round < 5; round++ {
		c, err := urlrequest.NewBuilder().Build()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: s.URL})
				if err != nil {
					if !errors.Is(err, net.ErrAborted) && !errors.Is(err, net.ErrContextShutDown) {
						t.Errorf("unexpected error %v", err)
					}
					return
				}
				urlrequest.ReadAll(resp)
			}()
		}
		time.Sleep(time.Duration(round) * time.Millisecond)
		within(t, "Close", c.Close)
		within(t, "fetches after Close", wg.Wait)
	}
}
