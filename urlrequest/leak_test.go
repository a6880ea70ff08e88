package urlrequest_test

import (
	"context"
	"io"
	gohttp "net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// These tests must not run in parallel with others: they count goroutines.

func build(t *testing.T) *urlrequest.Context {
	t.Helper()
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLeakFetchesThenClose(t *testing.T) {
	base := testserver.GoroutineBaseline()
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write(pattern(100000))
	}))
	c := build(t)
	for i := 0; i < 10; i++ {
		mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
	}
	done := make(chan struct{})
	for i := 0; i < 10; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{Method: "POST", URL: s.URL, BodyReader: strings.NewReader("x"), ContentLength: -1})
			if err == nil {
				urlrequest.ReadAll(resp)
			}
		}()
	}
	for i := 0; i < 10; i++ {
		<-done
	}
	if s.OpenConns() == 0 {
		t.Fatal("no keep-alive connection was kept")
	}
	within(t, "Close", c.Close)
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("%d connections still open after Context.Close", s.OpenConns())
	}
	s.Close()
	testserver.CheckGoroutines(t, base)
}

func TestLeakAfterFailures(t *testing.T) {
	base := testserver.GoroutineBaseline()
	stalled := make(chan struct{}, 10)
	stall := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab", stalled))
	stallHead := testserver.NewRaw(t, stallHandler("", stalled))
	bad := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	c := build(t)

	get(t, c, "http://nonexistent.invalid/")
	get(t, c, "ftp://x/")
	if resp, err := get(t, c, bad.URL); err == nil {
		urlrequest.ReadAll(resp)
	}
	// Abandoned body on a stalled server.
	if resp, err := get(t, c, stall.URL); err == nil {
		resp.Body.Read(make([]byte, 2))
		resp.Body.Close()
	}
	// Cancelled before headers.
	ctx, cancel := context.WithCancel(guard(t))
	go func() { <-stalled; <-stalled; cancel() }()
	c.Fetch(ctx, &urlrequest.FetchRequest{URL: stallHead.URL})
	// In flight at Close.
	errs := make(chan error, 1)
	go func() {
		_, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: stallHead.URL})
		errs <- err
	}()
	<-stalled
	within(t, "Close", c.Close)
	wantErr(t, "in flight at Close", <-errs, net.ErrAborted)
	for _, s := range []*testserver.RawServer{stall, stallHead, bad} {
		if !s.WaitAllClosed(hangGuard) {
			t.Fatalf("%s: %d connections still open after Context.Close", s.URL, s.Open())
		}
		s.Close()
	}
	testserver.CheckGoroutines(t, base)
}

func TestLeakDrainerAtContextClose(t *testing.T) {
	// A request cancelled with an unread body on a server that stalls
	// leaves the connection to the body drainer; Context.Close must close
	// it rather than leave it (and its reader goroutine) behind forever.
	base := testserver.GoroutineBaseline()
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial body", nil))
	c := build(t)
	d := newRecorder(c)
	d.noRead = true
	u, _ := url.Parse(s.URL)
	var r *urlrequest.Request
	c.Loop().PostAndWait(func() {
		r = c.NewRequest(u, net.DefaultPriority, d)
		r.Start()
	})
	select {
	case <-d.done:
	case <-guard(t).Done():
		t.Fatal("no response")
	}
	// No read is pending: Cancel hands the stream to the drainer.
	c.Loop().PostAndWait(r.Cancel)
	within(t, "Close", c.Close)
	if !s.WaitAllClosed(hangGuard) {
		t.Errorf("the drained connection is still open after Context.Close")
	}
	s.Close()
	testserver.CheckGoroutines(t, base)
}

func TestLeakFetchBodyClosedUnread(t *testing.T) {
	// The same through Fetch: the read-ahead holds two full buffers, so no
	// read is pending when the body is closed and the drainer takes over.
	base := testserver.GoroutineBaseline()
	head := "HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n"
	s := testserver.NewRaw(t, stallHandler(head+string(pattern(2*64<<10+100)), nil))
	c := build(t)
	resp, err := get(t, c, s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	within(t, "Close", c.Close)
	if !s.WaitAllClosed(hangGuard) {
		t.Errorf("connection still open after Body.Close and Context.Close")
	}
	s.Close()
	testserver.CheckGoroutines(t, base)
}

func TestLeakRoundTripper(t *testing.T) {
	base := testserver.GoroutineBaseline()
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	c := build(t)
	client := &gohttp.Client{Transport: c.RoundTripper(), Timeout: hangGuard}
	for i := 0; i < 5; i++ {
		resp, err := client.Post(s.URL, "text/plain", strings.NewReader("abc"))
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	// An unread, unclosed body: Close must still clean up.
	resp, err := client.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	within(t, "Close", c.Close)
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("%d connections open", s.OpenConns())
	}
	// (The body is closed only now, to end http.Client's timeout goroutine.)
	resp.Body.Close()
	s.Close()
	testserver.CheckGoroutines(t, base)
}

func TestLeakManyContexts(t *testing.T) {
	base := testserver.GoroutineBaseline()
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		io.WriteString(w, "x")
	}))
	for i := 0; i < 20; i++ {
		c := build(t)
		mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
		c.Close()
	}
	if !s.WaitAllClosed(hangGuard) {
		t.Fatalf("%d connections open", s.OpenConns())
	}
	s.Close()
	testserver.CheckGoroutines(t, base)
}
