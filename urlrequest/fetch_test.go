package urlrequest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	gohttp "net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// pattern returns n bytes that differ at every offset a short cycle would
// not catch.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func chunkedEncode(body []byte, chunk int, ext, trailer string) string {
	var b strings.Builder
	for len(body) > 0 {
		n := min(chunk, len(body))
		fmt.Fprintf(&b, "%x%s\r\n", n, ext)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0" + ext + "\r\n" + trailer + "\r\n")
	return b.String()
}

func TestFetchBodiesByteExact(t *testing.T) {
	big := pattern(300<<10 + 17) // several of the stack's 64 KiB buffers
	for _, tc := range []struct {
		name string
		raw  string
		want []byte
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + string(big), big},
		{"content-length small", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", []byte("hello")},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedEncode(big, 10000, "", ""), big},
		{"chunked with extensions and trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunkedEncode(big, 4097, ";name=value;q=\"x\"", "X-Trailer: one\r\nX-Other: two\r\n"), big},
		{"chunked uppercase hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", []byte("0123456789")},
		{"read to close", "HTTP/1.1 200 OK\r\n\r\n" + string(big), big},
		{"read to close HTTP/1.0", "HTTP/1.0 200 OK\r\n\r\n" + string(big), big},
		{"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", nil},
		{"zero length chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", nil},
		{"zero length close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", nil},
		{"204 no body", "HTTP/1.1 204 No Content\r\n\r\n", nil},
		{"304 no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", nil},
		{"100 continue first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", []byte("abc")},
		{"103 early hints first", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" +
			"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nxyz", []byte("xyz")},
		{"binary with CRLFs", "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n\r\n\r\n\x00\xff\r\n", []byte("\r\n\r\n\x00\xff\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testserver.NewRaw(t, testserver.Respond(tc.raw))
			c := newContext(t)
			resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + "/x"})
			if !bytes.Equal(body, tc.want) {
				t.Fatalf("body: %d bytes, want %d (first difference at %d)", len(body), len(tc.want), firstDiff(body, tc.want))
			}
			code, _ := strconv.Atoi(tc.raw[9:12])
			if code < 200 {
				code = 200
			}
			if resp.StatusCode != code {
				t.Fatalf("status %d, want %d", resp.StatusCode, code)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestFetchInterimHeadersAreNotFinal(t *testing.T) {
	s := testserver.NewRaw(t, testserver.Respond(
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nX-Final: yes\r\nContent-Length: 0\r\n\r\n"))
	c := newContext(t)
	resp, _ := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
	if resp.StatusCode != 201 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if _, ok := resp.Headers.Get("Link"); ok {
		t.Fatalf("a header of the 103 leaked into the final response")
	}
	if v, _ := resp.Headers.Get("X-Final"); v != "yes" {
		t.Fatalf("X-Final = %q", v)
	}
}

func TestFetchHeadHasNoBody(t *testing.T) {
	methods := make(chan string, 10)
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			req, _, err := c.ReadRequest()
			if err != nil {
				return
			}
			methods <- req.Method
			// A HEAD response announces a length but carries no body; the
			// next response follows at once on the same connection.
			if req.Method == "HEAD" {
				c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
			} else {
				c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget")
			}
		}
	})
	c := newContext(t)
	resp, body := mustFetch(t, c, &urlrequest.FetchRequest{Method: "HEAD", URL: s.URL})
	if method := <-methods; method != "HEAD" || len(body) != 0 || resp.StatusCode != 200 {
		t.Fatalf("method %s status %d body %q", method, resp.StatusCode, body)
	}
	if v, _ := resp.Headers.Get("Content-Length"); v != "1000" {
		t.Fatalf("Content-Length %q", v)
	}
	// The connection is still in sync: a GET on it reads its own body.
	resp, body = mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
	if string(body) != "get" {
		t.Fatalf("GET after HEAD: body %q", body)
	}
	if !resp.Info.ConnectionReused || s.Accepted() != 1 {
		t.Fatalf("HEAD response did not leave the connection reusable: reused %v, accepted %d", resp.Info.ConnectionReused, s.Accepted())
	}
}

func TestFetchOneByteAtATime(t *testing.T) {
	body := pattern(700)
	for name, raw := range map[string]string{
		"content-length": "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 700\r\n\r\n" + string(body),
		"chunked": "HTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunkedEncode(body, 100, ";e=1", "X-T: 2\r\n"),
		"interim then chunked": "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\n\r\n" +
			chunkedEncode(body, 64, "", ""),
		"lf only": "HTTP/1.1 200 OK\nX-A: 1\nContent-Length: 700\n\n" + string(body),
	} {
		t.Run(name, func(t *testing.T) {
			s := testserver.NewRaw(t, func(c *testserver.Conn) {
				if _, _, err := c.ReadRequest(); err != nil {
					return
				}
				c.WriteSlowly(raw, 50*time.Microsecond)
			})
			c := newContext(t)
			resp, got := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
			if !bytes.Equal(got, body) {
				t.Fatalf("body: %d bytes, want %d (first difference at %d)", len(got), len(body), firstDiff(got, body))
			}
			if v, _ := resp.Headers.Get("X-A"); v != "1" {
				t.Fatalf("X-A = %q", v)
			}
		})
	}
}

func TestFetchSplitAtHeaderBodyBoundary(t *testing.T) {
	body := pattern(5000)
	for name, raw := range map[string]string{
		"content-length": "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + string(body),
		"chunked":        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunkedEncode(body, 999, "", ""),
		"close":          "HTTP/1.1 200 OK\r\n\r\n" + string(body),
	} {
		for _, cut := range []int{-4, -3, -2, -1, 0, 1, 2} {
			t.Run(fmt.Sprintf("%s/%d", name, cut), func(t *testing.T) {
				end := strings.Index(raw, "\r\n\r\n") + 4 + cut
				s := testserver.NewRaw(t, func(c *testserver.Conn) {
					if _, _, err := c.ReadRequest(); err != nil {
						return
					}
					c.WriteString(raw[:end])
					time.Sleep(20 * time.Millisecond) // two segments, not one
					c.WriteString(raw[end:])
				})
				c := newContext(t)
				_, got := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
				if !bytes.Equal(got, body) {
					t.Fatalf("body: %d bytes, want %d (first difference at %d)", len(got), len(body), firstDiff(got, body))
				}
			})
		}
	}
}

func TestFetchRequestLineAndHeaders(t *testing.T) {
	reqs := make(chan *gohttp.Request, 1)
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		req, _, err := c.ReadRequest()
		if err != nil {
			return
		}
		reqs <- req
		c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	c := newContext(t)
	mustFetch(t, c, &urlrequest.FetchRequest{
		URL:     s.URL + "/p/a%20th?q=1&r=%2F#frag",
		Headers: []urlrequest.Header{{Name: "X-One", Value: "1"}, {Name: "X-Multi", Value: "a"}, {Name: "X-Multi", Value: "b"}},
	})
	got := <-reqs
	if got.RequestURI != "/p/a%20th?q=1&r=%2F" {
		t.Errorf("request target %q (fragments must not be sent)", got.RequestURI)
	}
	if got.Host != s.Addr {
		t.Errorf("Host %q, want %q", got.Host, s.Addr)
	}
	if got.Header.Get("User-Agent") != urlrequest.DefaultUserAgent {
		t.Errorf("User-Agent %q", got.Header.Get("User-Agent"))
	}
	if got.Header.Get("X-One") != "1" || strings.Join(got.Header.Values("X-Multi"), ",") != "a,b" {
		t.Errorf("headers %v", got.Header)
	}
}

func TestKeepAliveOneConnection(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		io.WriteString(w, "body of "+r.URL.Path)
	}))
	c := newContext(t)
	for i := 0; i < 10; i++ {
		path := fmt.Sprintf("/r%d", i)
		resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + path})
		if string(body) != "body of "+path {
			t.Fatalf("request %d: body %q", i, body)
		}
		if reused := resp.Info.ConnectionReused; reused != (i > 0) {
			t.Fatalf("request %d: ConnectionReused = %v", i, reused)
		}
	}
	if n := s.NewConns(); n != 1 {
		t.Fatalf("10 sequential fetches used %d connections, want 1", n)
	}
}

func TestKeepAliveChunkedAndEmptyBodies(t *testing.T) {
	// Every framing that ends cleanly leaves the connection reusable.
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part one "))
			w.(gohttp.Flusher).Flush()
			w.Write([]byte("part two"))
		case "/empty":
			w.Header().Set("Content-Length", "0")
		case "/204":
			w.WriteHeader(204)
		case "/304":
			w.WriteHeader(304)
		default:
			io.WriteString(w, "plain")
		}
	}))
	c := newContext(t)
	paths := []string{"/plain", "/chunked", "/empty", "/204", "/304", "/chunked", "/plain"}
	for _, p := range paths {
		mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + p})
	}
	mustFetch(t, c, &urlrequest.FetchRequest{Method: "HEAD", URL: s.URL + "/plain"})
	if n := s.NewConns(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestKeepAliveConnectionCloseHeader(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	c := newContext(t)
	for i := 0; i < 10; i++ {
		resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
		if string(body) != "bye" || resp.Info.ConnectionReused {
			t.Fatalf("request %d: body %q reused %v", i, body, resp.Info.ConnectionReused)
		}
	}
	if n, r := s.NewConns(), s.Requests(); n != 10 || r != 10 {
		t.Fatalf("%d connections and %d requests, want 10 and 10", n, r)
	}
}

// silentCloser answers one request per connection, as a keep-alive
// response, and then closes the connection without saying so: the next
// request on it meets a closed socket.
func silentCloser(delay time.Duration) func(*testserver.Conn) {
	return func(c *testserver.Conn) {
		req, _, err := c.ReadRequest()
		if err != nil {
			return
		}
		body := "path " + req.URL.Path
		c.WriteString(fmt.Sprintf("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		time.Sleep(delay)
	}
}

func TestKeepAliveServerClosesSilently(t *testing.T) {
	for _, delay := range []time.Duration{0, 2 * time.Millisecond, 20 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			s := testserver.NewRaw(t, silentCloser(delay))
			c := newContext(t)
			for i := 0; i < 10; i++ {
				path := fmt.Sprintf("/%d", i)
				_, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + path})
				if string(body) != "path "+path {
					t.Fatalf("request %d: body %q", i, body)
				}
			}
			if n := s.Accepted(); n < 10 {
				t.Fatalf("only %d connections for 10 requests on a server that closes each", n)
			}
		})
	}
}

// A request that finds its reused keep-alive connection dead before any
// response byte is resent on a fresh one when it is idempotent or has no
// body; a POST with a body is not, since the server may have acted on it.
func TestDeadKeepAliveResendsOnlySafeRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		body   []byte
		resend bool
	}{
		{"GET", "GET", nil, true},
		{"PUT with body", "PUT", []byte("x"), true},
		{"POST without body", "POST", nil, true},
		{"POST with body", "POST", []byte("payload"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each connection answers its first request and drops the
			// second without a byte of response.
			s := testserver.NewRaw(t, func(c *testserver.Conn) {
				if _, _, err := c.ReadRequest(); err != nil {
					return
				}
				c.WriteString("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nfirst")
				c.ReadRequest()
			})
			c := newContext(t)
			if _, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL}); string(body) != "first" {
				t.Fatalf("first body %q", body)
			}
			resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{Method: tc.method, URL: s.URL, Body: tc.body})
			if tc.resend {
				if err != nil {
					t.Fatalf("not resent: %v", err)
				}
				resp.Body.Close()
				if n := s.Accepted(); n != 2 {
					t.Fatalf("%d connections, want the resend on a second one", n)
				}
				return
			}
			if !errors.Is(err, net.ErrEmptyResponse) {
				t.Fatalf("err %v, want ErrEmptyResponse without a resend", err)
			}
			if n := s.Accepted(); n != 1 {
				t.Fatalf("%d connections: the POST was resent", n)
			}
		})
	}
}

func TestFetchConcurrent(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Write(pattern(20000))
	}))
	c := newContext(t)
	errs := make(chan error, 30)
	for i := 0; i < 30; i++ {
		go func() {
			resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: s.URL})
			if err != nil {
				errs <- err
				return
			}
			b, err := urlrequest.ReadAll(resp)
			if err == nil && !bytes.Equal(b, pattern(20000)) {
				err = fmt.Errorf("body differs")
			}
			errs <- err
		}()
	}
	for i := 0; i < 30; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := s.NewConns(); n > 6 {
		t.Fatalf("%d connections to one host, the per-group limit is 6", n)
	}
}
