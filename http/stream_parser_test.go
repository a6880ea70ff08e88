package http_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// These tests drive NetworkTransactions (and so the HTTP/1.1 stream parser)
// through the http package's public API, on a loop, against raw servers.

const hangGuard = 20 * time.Second

type env struct {
	loop    *net.Loop
	nl      *netlog.NetLog
	session *http.Session
	layer   *http.NetworkLayer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	loop := net.NewLoop()
	nl := netlog.New()
	session := http.NewSession(http.SessionParams{Loop: loop, NetLog: nl, Resolver: dns.NewSystemResolver(loop)})
	e := &env{loop: loop, nl: nl, session: session, layer: http.NewNetworkLayer(session)}
	t.Cleanup(func() {
		done := make(chan struct{})
		go func() {
			loop.PostAndWait(session.Close)
			loop.Shutdown()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(hangGuard):
			t.Error("the loop is blocked: closing the session hangs")
		}
	})
	return e
}

type result struct {
	resp *http.ResponseInfo
	body []byte
	err  error // the failure, from Start or from Read
	// readErr is set when the failure came from reading the body.
	readErr bool
}

// fetch runs one transaction to the end of its body on the loop.
func (e *env) fetch(t *testing.T, method, rawURL string, upload http.UploadDataStream) result {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan result, 1)
	e.loop.Post(func() {
		var res result
		info := &http.RequestInfo{Method: method, URL: u, Upload: upload}
		tx := e.layer.CreateTransaction(net.DefaultPriority)
		buf := make([]byte, 1000)
		finish := func(rv int) {
			if rv < 0 {
				res.err = net.Error(rv)
			}
			tx.Close()
			out <- res
		}
		var read func()
		onRead := func(rv int) bool {
			if rv <= 0 {
				res.readErr = rv < 0
				finish(rv)
				return false
			}
			res.body = append(res.body, buf[:rv]...)
			return true
		}
		read = func() {
			for {
				rv := tx.Read(buf, func(rv int) {
					if onRead(rv) {
						read()
					}
				})
				if rv == net.IOPending || !onRead(rv) {
					return
				}
			}
		}
		started := func(rv int) {
			if rv != net.OK {
				finish(rv)
				return
			}
			res.resp = tx.Response()
			read()
		}
		if rv := tx.Start(info, started, netlog.NewSource(e.nl, netlog.SourceURLRequest)); rv != net.IOPending {
			started(rv)
		}
	})
	select {
	case r := <-out:
		return r
	case <-time.After(hangGuard):
		t.Fatalf("%s %s: hangs", method, rawURL)
	}
	return result{}
}

func (e *env) get(t *testing.T, rawURL string) result {
	t.Helper()
	return e.fetch(t, "GET", rawURL, nil)
}

// keepAlive serves every request on a connection with the next of raws
// (the last one repeats).
func keepAlive(raws ...string) func(*testserver.Conn) {
	return func(c *testserver.Conn) {
		for i := 0; ; i++ {
			if _, _, err := c.ReadRequest(); err != nil {
				return
			}
			c.WriteString(raws[min(i, len(raws)-1)])
		}
	}
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want %v", what, err, target)
	}
}

// head builds a response head of exactly size bytes out of ~1 KiB lines.
func head(size int) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
	for i := 0; ; i++ {
		name := fmt.Sprintf("X-F%06d: ", i)
		left := size - b.Len() - 2
		n := 1024
		if left < 2048 {
			n = left
		}
		b.WriteString(name + strings.Repeat("v", n-len(name)-2) + "\r\n")
		if n == left {
			break
		}
	}
	b.WriteString("\r\n")
	if b.Len() != size {
		panic("head size")
	}
	return b.String()
}

func TestParserHeadSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		size int
		ok   bool
	}{
		{4096, true}, // the initial buffer, exactly
		{4097, true}, // one growth
		{http.MaxResponseHeadersSize - 1, true},
		{http.MaxResponseHeadersSize, true},
		{http.MaxResponseHeadersSize + 1, false},
		{http.MaxResponseHeadersSize + 5000, false},
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			s := testserver.NewRaw(t, testserver.Respond(head(tc.size)+"ok"))
			e := newEnv(t)
			r := e.get(t, s.URL)
			if !tc.ok {
				wantErr(t, "oversized head", r.err, net.ErrResponseHeadersTooBig)
				return
			}
			if r.err != nil || string(r.body) != "ok" {
				t.Fatalf("err %v body %q", r.err, r.body)
			}
		})
	}
}

func TestParserHeadSizeLimitSlowServer(t *testing.T) {
	// The limit holds however the head is split into reads.
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		h := head(http.MaxResponseHeadersSize + 1)
		for len(h) > 0 {
			n := min(333, len(h))
			if _, err := c.Write([]byte(h[:n])); err != nil {
				return
			}
			h = h[n:]
		}
		c.Stall()
	})
	e := newEnv(t)
	wantErr(t, "oversized head in small pieces", e.get(t, s.URL).err, net.ErrResponseHeadersTooBig)
}

func TestParserEveryChunkedSplit(t *testing.T) {
	// The response arrives in two writes, split at every offset: the
	// decoded body must not depend on where.
	raw := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"3;ext=1\r\nabc\r\n1\r\nd\r\n0\r\nTrailer: x\r\n\r\n"
	for cut := 1; cut < len(raw); cut++ {
		s := testserver.NewRaw(t, func(c *testserver.Conn) {
			if _, _, err := c.ReadRequest(); err != nil {
				return
			}
			c.WriteString(raw[:cut])
			time.Sleep(time.Millisecond)
			c.WriteString(raw[cut:])
			c.Stall() // keep-alive: the body must end by its framing
		})
		e := newEnv(t)
		r := e.get(t, s.URL)
		if r.err != nil || string(r.body) != "abcd" {
			t.Fatalf("cut at %d: err %v body %q", cut, r.err, r.body)
		}
	}
}

func TestParserConnectionReuse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		raw    string
		reused bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", true},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", true},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", true},
		{"HTTP/1.0 default", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false},
		{"Connection: close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false},
		{"Proxy-Connection: close", "HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 2\r\n\r\nok", false},
		{"bytes beyond the body", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", false},
		{"bytes beyond the chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nEXTRA", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testserver.NewRaw(t, keepAlive(tc.raw))
			e := newEnv(t)
			first := e.get(t, s.URL)
			if first.err != nil {
				t.Fatal(first.err)
			}
			if tc.name != "204" && !bytes.Equal(first.body, []byte("ok")) {
				t.Fatalf("body %q", first.body)
			}
			second := e.get(t, s.URL)
			if second.err != nil {
				t.Fatal(second.err)
			}
			if second.resp.ConnectionReused != tc.reused {
				t.Fatalf("ConnectionReused = %v, want %v", second.resp.ConnectionReused, tc.reused)
			}
			want := 2
			if tc.reused {
				want = 1
			}
			if s.Accepted() != want {
				t.Fatalf("%d connections, want %d", s.Accepted(), want)
			}
		})
	}
}

func TestParserHeadTruncatedByClose(t *testing.T) {
	// A head cut by the connection's end is taken as it is (as Chromium
	// does for http://), and the body it announces is then short.
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"))
	e := newEnv(t)
	r := e.get(t, s.URL)
	if !r.readErr {
		t.Fatalf("err %v from Start, want a body error", r.err)
	}
	wantErr(t, "truncated head", r.err, net.ErrContentLengthMismatch)

	s = testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nX-A: 1"))
	r = e.get(t, s.URL)
	if r.err != nil || r.resp.Headers.StatusCode() != 200 || len(r.body) != 0 {
		t.Fatalf("err %v", r.err)
	}
	if v, _ := r.resp.Headers.Get("X-A"); v != "1" {
		t.Fatalf("X-A %q", v)
	}

	s = testserver.NewRaw(t, testserver.Respond("HTTP/1.1 2"))
	wantErr(t, "cut status line", e.get(t, s.URL).err, net.ErrInvalidHTTPResponse)
}

func TestParserManyInterimResponses(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 50; i++ {
		b.WriteString("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n")
	}
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody")
	s := testserver.NewRaw(t, testserver.Respond(b.String()))
	e := newEnv(t)
	r := e.get(t, s.URL)
	if r.err != nil || string(r.body) != "body" || r.resp.Headers.StatusCode() != 200 {
		t.Fatalf("err %v body %q", r.err, r.body)
	}
}

func TestParserCloseWithReadPendingDoesNotBlockTheLoop(t *testing.T) {
	// Closing a transaction whose body read waits for bytes must close the
	// connection at once: draining it would issue a second read on the
	// socket and block the loop.
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab")
		started <- struct{}{}
		c.Stall()
	})
	e := newEnv(t)
	u, _ := url.Parse(s.URL)
	pending := make(chan http.Transaction, 1)
	e.loop.Post(func() {
		tx := e.layer.CreateTransaction(net.DefaultPriority)
		buf := make([]byte, 100)
		total := 0
		// Read "ab", then leave a read waiting for the rest.
		var readMore func()
		readMore = func() {
			for {
				rv := tx.Read(buf, func(rv int) {
					if rv <= 0 {
						t.Errorf("read: %d", rv)
						return
					}
					total += rv
					readMore()
				})
				switch {
				case rv == net.IOPending:
					if total == 2 {
						pending <- tx
					}
					return
				case rv <= 0:
					t.Errorf("read: %d", rv)
					return
				}
				total += rv
			}
		}
		onStarted := func(rv int) {
			if rv != net.OK {
				t.Errorf("start: %v", net.Error(rv))
				return
			}
			readMore()
		}
		if rv := tx.Start(&http.RequestInfo{Method: "GET", URL: u}, onStarted, netlog.NewSource(e.nl, netlog.SourceURLRequest)); rv != net.IOPending {
			onStarted(rv)
		}
	})
	var tx http.Transaction
	select {
	case tx = <-pending:
	case <-time.After(hangGuard):
		t.Fatal("no response")
	}
	<-started
	done := make(chan struct{})
	go func() {
		e.loop.PostAndWait(tx.Close)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatal("Close with a read in flight blocks the loop")
	}
	if !s.WaitAllClosed(hangGuard) {
		t.Fatal("connection left open")
	}
}

func TestParserRepeatedRequestHeaders(t *testing.T) {
	got := make(chan []string, 1)
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		req, _, err := c.ReadRequest()
		if err != nil {
			return
		}
		got <- append(req.Header.Values("X-Rep"), req.Host, req.Header.Get("Connection"))
		c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	e := newEnv(t)
	u, _ := url.Parse(s.URL)
	out := make(chan int, 1)
	e.loop.Post(func() {
		info := &http.RequestInfo{Method: "GET", URL: u}
		info.Headers.Add("X-Rep", "1")
		info.Headers.Add("Host", "override.example")
		info.Headers.Add("X-Rep", "2")
		tx := e.layer.CreateTransaction(net.DefaultPriority)
		cb := func(rv int) { tx.Close(); out <- rv }
		if rv := tx.Start(info, cb, netlog.NewSource(e.nl, netlog.SourceURLRequest)); rv != net.IOPending {
			cb(rv)
		}
	})
	select {
	case rv := <-out:
		if rv != net.OK {
			t.Fatal(net.Error(rv))
		}
	case <-time.After(hangGuard):
		t.Fatal("hang")
	}
	v := <-got
	if strings.Join(v, ",") != "1,2,override.example,keep-alive" {
		t.Fatalf("server saw X-Rep, Host, Connection = %q", v)
	}
}

func TestParserReaderUploadLengths(t *testing.T) {
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			req, body, err := c.ReadRequest()
			if err != nil {
				return
			}
			msg := fmt.Sprintf("%s %d %q", req.Method, req.ContentLength, body)
			c.WriteString(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(msg), msg))
		}
	})
	e := newEnv(t)
	for _, tc := range []struct {
		data string
		size int64
		want string
		err  error
	}{
		{"exact", 5, `POST 5 "exact"`, nil},
		{"longer than announced", 6, `POST 6 "longer"`, nil},
		{"short", 10, "", net.ErrUploadFileChanged},
		{"chunked", -1, `POST -1 "chunked"`, nil},
		{"", 0, `POST 0 ""`, nil},
	} {
		r := e.fetch(t, "POST", s.URL, http.NewReaderUpload(e.loop, strings.NewReader(tc.data), tc.size))
		if tc.err != nil {
			wantErr(t, tc.data, r.err, tc.err)
			continue
		}
		if r.err != nil || string(r.body) != tc.want {
			t.Fatalf("%q/%d: err %v body %q, want %q", tc.data, tc.size, r.err, r.body, tc.want)
		}
	}
}
