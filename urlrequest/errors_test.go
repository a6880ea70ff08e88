package urlrequest_test

import (
	"fmt"
	gonet "net"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

func TestFetchConnectionRefused(t *testing.T) {
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newContext(t)
	resp, err := get(t, c, "http://"+addr+"/")
	if resp != nil {
		t.Fatalf("got a response from a closed port")
	}
	wantErr(t, "refused port", err, net.ErrConnectionRefused)
}

func TestFetchNameNotResolved(t *testing.T) {
	c := newContext(t)
	_, err := get(t, c, "http://nonexistent.invalid/")
	wantErr(t, "nonexistent.invalid", err, net.ErrNameNotResolved)
	// A name that cannot be a DNS name fails without a lookup.
	_, err = get(t, c, "http://bad_label-"+strings.Repeat("x", 64)+".example/")
	wantErr(t, "label over 63 bytes", err, net.ErrNameNotResolved)
}

func TestFetchBadURLs(t *testing.T) {
	c := newContext(t)
	for _, tc := range []struct {
		url  string
		want net.Error
	}{
		{"http://", net.ErrInvalidURL},
		{"http:///path", net.ErrInvalidURL},
		{"::", net.ErrInvalidURL},
		{"", net.ErrInvalidURL},
		{"/relative/path", net.ErrInvalidURL},
		{"example.com/no-scheme", net.ErrInvalidURL},
		{"http://[::1", net.ErrInvalidURL},
		{"http://host:port/", net.ErrInvalidURL},
		{"http://a b/", net.ErrInvalidURL},
		{"http://example.com:99999/", net.ErrInvalidURL},
		{"ftp://x/", net.ErrUnknownURLScheme},
		{"gopher://x/", net.ErrUnknownURLScheme},
		{"file://host/etc/passwd", net.ErrUnknownURLScheme},
	} {
		resp, err := get(t, c, tc.url)
		if resp != nil {
			resp.Body.Close()
			t.Errorf("%q: got a response", tc.url)
			continue
		}
		if err == nil {
			t.Errorf("%q: no error", tc.url)
			continue
		}
		wantErr(t, fmt.Sprintf("%q", tc.url), err, tc.want)
	}
}

// rawErr serves raw to every connection and returns Fetch's error.
func rawFetch(t *testing.T, handler func(*testserver.Conn)) (*urlrequest.Response, error) {
	t.Helper()
	s := testserver.NewRaw(t, handler)
	c := newContext(t)
	return get(t, c, s.URL+"/")
}

func TestFetchMalformedStatusLine(t *testing.T) {
	for _, raw := range []string{
		"HELLO\r\n\r\n",
		"HTTP/1.1 abc OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200\x00 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n",
		"SSH-2.0-OpenSSH_9.6\r\n\r\n",
	} {
		t.Run(fmt.Sprintf("%q", raw), func(t *testing.T) {
			resp, err := rawFetch(t, testserver.Respond(raw))
			if resp != nil {
				resp.Body.Close()
			}
			wantErr(t, fmt.Sprintf("%q", raw), err, net.ErrInvalidHTTPResponse)
		})
	}
}

func TestFetchEmptyResponse(t *testing.T) {
	_, err := rawFetch(t, testserver.Respond(""))
	wantErr(t, "server closed without a byte", err, net.ErrEmptyResponse)
}

func TestFetchBadChunkSize(t *testing.T) {
	resp, err := rawFetch(t, testserver.Respond(
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n"))
	if err != nil {
		t.Fatalf("Fetch: %v (the head is fine; the body is not)", err)
	}
	body, err := readBodyErr(resp)
	wantErr(t, "bad chunk size", err, net.ErrInvalidChunkedEncoding)
	if strings.Contains(string(body), "more") {
		t.Fatalf("bytes after the bad chunk size reached the caller: %q", body)
	}
}

func TestFetchBadChunkSizeAlone(t *testing.T) {
	resp, err := rawFetch(t, testserver.RespondAndStall(
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	_, err = readBodyErr(resp)
	wantErr(t, "bad chunk size", err, net.ErrInvalidChunkedEncoding)
}

func TestFetchIncompleteChunked(t *testing.T) {
	for name, raw := range map[string]string{
		"mid-chunk":         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhello",
		"between chunks":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
		"no last CRLF":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
		"in chunk size":     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n1",
		"before any chunk":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		"in trailer fields": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			resp, err := rawFetch(t, testserver.Respond(raw))
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			_, err = readBodyErr(resp)
			wantErr(t, name, err, net.ErrIncompleteChunkedEncoding)
		})
	}
}

func TestFetchContentLengthMismatch(t *testing.T) {
	resp, err := rawFetch(t, testserver.Respond(
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	body, err := readBodyErr(resp)
	wantErr(t, "short body", err, net.ErrContentLengthMismatch)
	if string(body) != "0123456789" {
		t.Fatalf("body before the error = %q", body)
	}
}

func TestFetchContentLengthMismatchWithoutBody(t *testing.T) {
	resp, err := rawFetch(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"))
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	_, err = readBodyErr(resp)
	wantErr(t, "no body", err, net.ErrContentLengthMismatch)
}

// bigHead builds a response head of exactly size bytes, its end included,
// out of header lines of about 1 KiB.
func bigHead(size int) string {
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
	for i := 0; ; i++ {
		name := fmt.Sprintf("X-Fill-%06d: ", i)
		left := size - b.Len() - 2 // room before the final CRLF
		n := 1024
		if left < 2*1024 {
			n = left // the last line takes the rest
		}
		b.WriteString(name)
		b.WriteString(strings.Repeat("v", n-len(name)-2))
		b.WriteString("\r\n")
		if n == left {
			break
		}
	}
	b.WriteString("\r\n")
	if b.Len() != size {
		panic(fmt.Sprintf("bigHead: %d bytes, want %d", b.Len(), size))
	}
	return b.String()
}

func TestFetchResponseHeadersTooBig(t *testing.T) {
	// Header lines of 1 KiB that never end: the stack must give up at
	// 256 KiB, not wait or grow forever.
	handler := func(c *testserver.Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		c.WriteString("HTTP/1.1 200 OK\r\n")
		line := "X-Big: " + strings.Repeat("b", 1024-9) + "\r\n"
		for i := 0; i < 400; i++ {
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
		}
		c.Stall()
	}
	resp, err := rawFetch(t, handler)
	if resp != nil {
		resp.Body.Close()
	}
	wantErr(t, "300+ KiB of headers", err, net.ErrResponseHeadersTooBig)
}

func TestFetchResponseHeadersJustUnderLimit(t *testing.T) {
	for _, size := range []int{256<<10 - 1, 256 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			head := bigHead(size)
			s := testserver.NewRaw(t, testserver.Respond(head+"ok"))
			c := newContext(t)
			resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + "/"})
			if resp.StatusCode != 200 || string(body) != "ok" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if v, _ := resp.Headers.Get("X-Fill-000000"); len(v) == 0 {
				t.Fatalf("fill header missing")
			}
		})
	}
}

func TestFetchResponseHeadersJustOverLimit(t *testing.T) {
	// One byte over 256 KiB, with the end of the head in it: the limit is
	// on the head, so this must fail even though the end arrives.
	head := bigHead(256<<10 + 1)
	resp, err := rawFetch(t, testserver.Respond(head+"ok"))
	if resp != nil {
		resp.Body.Close()
	}
	wantErr(t, "256 KiB + 1 head", err, net.ErrResponseHeadersTooBig)
}

func TestFetchMultipleContentLength(t *testing.T) {
	resp, err := rawFetch(t, testserver.Respond(
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"))
	if resp != nil {
		resp.Body.Close()
	}
	wantErr(t, "differing Content-Length", err, net.ErrResponseHeadersMultipleContentLength)

	// Identical copies are fine.
	s := testserver.NewRaw(t, testserver.Respond(
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"))
	c := newContext(t)
	_, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
	if string(body) != "hello" {
		t.Fatalf("body %q", body)
	}
}

func TestFetchMultipleLocation(t *testing.T) {
	resp, err := rawFetch(t, testserver.Respond(
		"HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"))
	if resp != nil {
		resp.Body.Close()
	}
	wantErr(t, "differing Location", err, net.ErrResponseHeadersMultipleLocation)
}

func TestFetchErrorsDoNotPoisonTheContext(t *testing.T) {
	// After failures of every kind, the same Context still works.
	bad := testserver.NewRaw(t, testserver.Respond("HELLO\r\n\r\n"))
	good := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			if _, _, err := c.ReadRequest(); err != nil {
				return
			}
			c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := newContext(t)
	for i := 0; i < 3; i++ {
		_, err := get(t, c, bad.URL)
		wantErr(t, "bad server", err, net.ErrInvalidHTTPResponse)
		_, err = get(t, c, "ftp://x/")
		wantErr(t, "ftp", err, net.ErrUnknownURLScheme)
		_, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: good.URL})
		if string(body) != "ok" {
			t.Fatalf("body %q", body)
		}
	}
}
