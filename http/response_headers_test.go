package http_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
)

// rhTestParse parses raw or fails the test.
func rhTestParse(t *testing.T, raw string) *http.ResponseHeaders {
	t.Helper()
	h, err := http.ParseResponseHeaders([]byte(raw))
	if err != nil {
		t.Fatalf("ParseResponseHeaders(%q): %v", raw, err)
	}
	return h
}

func TestResponseHeadersStatusLine(t *testing.T) {
	tests := []struct {
		name         string
		raw          string
		major, minor int
		code         int
		text         string
		line         string
	}{
		{"basic", "HTTP/1.1 200 OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"http10", "HTTP/1.0 404 Not Found\r\n\r\n", 1, 0, 404, "Not Found", "HTTP/1.0 404 Not Found"},
		{"no terminator", "HTTP/1.1 204 No Content", 1, 1, 204, "No Content", "HTTP/1.1 204 No Content"},
		{"bare LF", "HTTP/1.1 200 OK\n\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"lower case", "http/1.1 200 OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"mixed case", "hTtP/1.0 301 Moved\r\n\r\n", 1, 0, 301, "Moved", "HTTP/1.0 301 Moved"},
		{"1.2 is 1.1", "HTTP/1.2 200 OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"3.0 is 1.1", "HTTP/3.0 200 OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"2.0 kept", "HTTP/2.0 200 OK\r\n\r\n", 2, 0, 200, "OK", "HTTP/2.0 200 OK"},
		{"0.9 alone", "HTTP/0.9 200 OK\r\n\r\n", 0, 9, 200, "OK", "HTTP/0.9 200 OK"},
		{"0.9 with headers is 1.0", "HTTP/0.9 200 OK\r\nA: b\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"0.8 is 1.0", "HTTP/0.8 200 OK\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"no slash is 1.0", "HTTP 200 OK\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"HTTPS prefix is 1.0", "HTTPS/1.1 200 OK\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"no dot is 1.0", "HTTP/1 200 OK\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"letters is 1.0", "HTTP/a.b 200 OK\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"trailing dot is 1.0", "HTTP/1. 200 OK\r\n\r\n", 1, 0, 200, "OK", "HTTP/1.0 200 OK"},
		{"no reason", "HTTP/1.1 200\r\n\r\n", 1, 1, 200, "", "HTTP/1.1 200"},
		{"no reason trailing space", "HTTP/1.1 200 \r\n\r\n", 1, 1, 200, "", "HTTP/1.1 200"},
		{"no status is 200 OK", "HTTP/1.1\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"empty status is 200", "HTTP/1.1 \r\n\r\n", 1, 1, 200, "", "HTTP/1.1 200"},
		{"extra spaces", "HTTP/1.1   201   Created   \r\n\r\n", 1, 1, 201, "Created", "HTTP/1.1 201 Created"},
		{"reason with spaces", "HTTP/1.1 418 I'm a teapot\r\n\r\n", 1, 1, 418, "I'm a teapot", "HTTP/1.1 418 I'm a teapot"},
		{"reason glued to code", "HTTP/1.1 200OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"tab kept in reason", "HTTP/1.1 200 O\tK\r\n\r\n", 1, 1, 200, "O\tK", "HTTP/1.1 200 O\tK"},
		{"code 000", "HTTP/1.1 000 Zero\r\n\r\n", 1, 1, 0, "Zero", "HTTP/1.1 000 Zero"},
		{"code 999", "HTTP/1.1 999 Max\r\n\r\n", 1, 1, 999, "Max", "HTTP/1.1 999 Max"},
		{"code 042", "HTTP/1.1 042 X\r\n\r\n", 1, 1, 42, "X", "HTTP/1.1 042 X"},
		{"slop CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"slop 4 bytes", "abcdHTTP/1.1 200 OK\r\n\r\n", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
		{"bare CR", "HTTP/1.1 200 OK\rA: b\r\r", 1, 1, 200, "OK", "HTTP/1.1 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := rhTestParse(t, tt.raw)
			if major, minor := h.Version(); major != tt.major || minor != tt.minor {
				t.Errorf("Version() = %d.%d, want %d.%d", major, minor, tt.major, tt.minor)
			}
			if got := h.StatusCode(); got != tt.code {
				t.Errorf("StatusCode() = %d, want %d", got, tt.code)
			}
			if got := h.StatusText(); got != tt.text {
				t.Errorf("StatusText() = %q, want %q", got, tt.text)
			}
			if got := h.StatusLine(); got != tt.line {
				t.Errorf("StatusLine() = %q, want %q", got, tt.line)
			}
		})
	}
}

func TestResponseHeadersParseErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"empty", "", net.ErrInvalidHTTPResponse},
		{"garbage", "garbage\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"short", "HTT", net.ErrInvalidHTTPResponse},
		{"html body (HTTP/0.9)", "<html><body>hi</body></html>", net.ErrInvalidHTTPResponse},
		{"5 bytes of slop", "abcdeHTTP/1.1 200 OK\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"letters for code", "HTTP/1.1 abc\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"two digits", "HTTP/1.1 20 OK\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"four digits", "HTTP/1.1 2000 OK\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"negative", "HTTP/1.1 -200 OK\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"tab before code", "HTTP/1.1 \t200 OK\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"NUL in status", "HTTP/1.1 200 O\x00K\r\n\r\n", net.ErrInvalidHTTPResponse},
		{"NUL in header", "HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n", net.ErrInvalidHTTPResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := http.ParseResponseHeaders([]byte(tt.raw))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseResponseHeaders(%q) = %v, %v; want error %v", tt.raw, h, err, tt.want)
			}
			if h != nil {
				t.Errorf("got headers %v with an error", h)
			}
		})
	}
}

func TestResponseHeadersBodyAndSizeNotParsed(t *testing.T) {
	// Bytes after the blank line are not the head's business, NUL included.
	raw := "HTTP/1.1 200 OK\r\nA: b\r\n\r\n\x00" + strings.Repeat("x", 100)
	h := rhTestParse(t, raw)
	if got := h.Headers(); !reflect.DeepEqual(got, []http.HeaderField{{"A", "b"}}) {
		t.Errorf("Headers() = %q", got)
	}
	// The size limit is the reader's: a head above it still parses, so that
	// a stored Raw form (longer than what was received) parses again.
	var sb strings.Builder
	sb.WriteString("HTTP/1.1 200 OK\n")
	for sb.Len() <= http.MaxResponseHeadersSize {
		sb.WriteString("A:b\n")
	}
	h = rhTestParse(t, sb.String())
	if len(h.Raw()) <= http.MaxResponseHeadersSize {
		t.Fatalf("Raw() is only %d bytes", len(h.Raw()))
	}
	if h2 := rhTestParse(t, h.Raw()); len(h2.Headers()) != len(h.Headers()) {
		t.Errorf("re-parsed %d headers, want %d", len(h2.Headers()), len(h.Headers()))
	}
}

func TestResponseHeadersHeaderLines(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want []http.HeaderField
	}{
		{"none", "HTTP/1.1 200 OK\r\n\r\n", []http.HeaderField{}},
		{"order and case kept", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-B: 2\r\nx-a: 1\r\n\r\n",
			[]http.HeaderField{{"Content-Type", "text/html"}, {"X-B", "2"}, {"x-a", "1"}}},
		{"value trimmed", "HTTP/1.1 200 OK\r\nA:   spaced \t \r\nB:tight\r\n\r\n",
			[]http.HeaderField{{"A", "spaced"}, {"B", "tight"}}},
		{"inner whitespace kept", "HTTP/1.1 200 OK\r\nA: x  \t y\r\n\r\n",
			[]http.HeaderField{{"A", "x  \t y"}}},
		{"space before colon", "HTTP/1.1 200 OK\r\nName : value\r\n\r\n",
			[]http.HeaderField{{"Name", "value"}}},
		{"empty value", "HTTP/1.1 200 OK\r\nEmpty:\r\nB: 1\r\n\r\n",
			[]http.HeaderField{{"Empty", ""}, {"B", "1"}}},
		{"colon in value", "HTTP/1.1 200 OK\r\nLocation: http://a:80/b\r\n\r\n",
			[]http.HeaderField{{"Location", "http://a:80/b"}}},
		{"bare LF", "HTTP/1.1 200 OK\nA: 1\nB: 2\n\n",
			[]http.HeaderField{{"A", "1"}, {"B", "2"}}},
		{"mixed endings", "HTTP/1.1 200 OK\r\nA: 1\nB: 2\r\n\n",
			[]http.HeaderField{{"A", "1"}, {"B", "2"}}},
		{"folded", "HTTP/1.1 200 OK\r\nA: one\r\n two\r\n\tthree\r\nB: 2\r\n\r\n",
			[]http.HeaderField{{"A", "one two three"}, {"B", "2"}}},
		{"folded whitespace-only line", "HTTP/1.1 200 OK\r\nA: one\r\n  \r\nB: 2\r\n\r\n",
			[]http.HeaderField{{"A", "one"}, {"B", "2"}}},
		{"fold onto empty value", "HTTP/1.1 200 OK\r\nA:\r\n more\r\n\r\n",
			[]http.HeaderField{{"A", "more"}}},
		{"no colon dropped", "HTTP/1.1 200 OK\r\nnot a header\r\nA: 1\r\n\r\n",
			[]http.HeaderField{{"A", "1"}}},
		{"fold after no-colon line dropped", "HTTP/1.1 200 OK\r\nbogus\r\n continued: x\r\nA: 1\r\n\r\n",
			[]http.HeaderField{{"A", "1"}}},
		{"leading whitespace line dropped", "HTTP/1.1 200 OK\r\n A: 1\r\nB: 2\r\n\r\n",
			[]http.HeaderField{{"B", "2"}}},
		{"empty name dropped", "HTTP/1.1 200 OK\r\n: x\r\nB: 2\r\n\r\n",
			[]http.HeaderField{{"B", "2"}}},
		{"non-token name dropped", "HTTP/1.1 200 OK\r\nBad Name: x\r\nBad(): y\r\nB: 2\r\n\r\n",
			[]http.HeaderField{{"B", "2"}}},
		{"duplicates kept", "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n",
			[]http.HeaderField{{"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}}},
		{"last line unterminated", "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2",
			[]http.HeaderField{{"A", "1"}, {"B", "2"}}},
		{"body ignored", "HTTP/1.1 200 OK\r\nA: 1\r\n\r\nB: 2\r\n\r\n",
			[]http.HeaderField{{"A", "1"}}},
		{"blank line LF CRLF", "HTTP/1.1 200 OK\nA: 1\n\r\nB: 2\r\n",
			[]http.HeaderField{{"A", "1"}}},
		{"CR CR is not the end", "HTTP/1.1 200 OK\r\rA: 1\r\n\r\n",
			[]http.HeaderField{{"A", "1"}}},
		{"non-ASCII value kept", "HTTP/1.1 200 OK\r\nX: caf\xc3\xa9 \xff\r\n\r\n",
			[]http.HeaderField{{"X", "caf\xc3\xa9 \xff"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := rhTestParse(t, tt.raw)
			if got := h.Headers(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Headers() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResponseHeadersGetValuesHas(t *testing.T) {
	h := rhTestParse(t, "HTTP/1.1 200 OK\r\n"+
		"Cache-Control: private\r\n"+
		"X-Empty:\r\n"+
		"cache-control: max-age=0, no-cache\r\n"+
		"Set-Cookie: a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT\r\n"+
		"Set-Cookie: b=2\r\n\r\n")

	if got, ok := h.Get("CACHE-CONTROL"); !ok || got != "private, max-age=0, no-cache" {
		t.Errorf("Get(CACHE-CONTROL) = %q, %v", got, ok)
	}
	if got, ok := h.Get("X-Empty"); !ok || got != "" {
		t.Errorf("Get(X-Empty) = %q, %v; want empty, true", got, ok)
	}
	if got, ok := h.Get("Missing"); ok || got != "" {
		t.Errorf("Get(Missing) = %q, %v", got, ok)
	}
	if got := h.Values("set-cookie"); !reflect.DeepEqual(got,
		[]string{"a=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT", "b=2"}) {
		t.Errorf("Values(set-cookie) = %q", got)
	}
	if got := h.Values("Missing"); got != nil {
		t.Errorf("Values(Missing) = %q, want nil", got)
	}
	for _, name := range []string{"cache-control", "X-EMPTY", "Set-Cookie"} {
		if !h.Has(name) {
			t.Errorf("Has(%q) = false", name)
		}
	}
	if h.Has("Cache") || h.Has("") {
		t.Error("Has matched a prefix or the empty name")
	}
	// Unicode folding must not apply: U+212A KELVIN SIGN is not "k".
	k := rhTestParse(t, "HTTP/1.1 200 OK\r\nLink: x\r\n\r\n")
	if k.Has("Lin\u212a") {
		t.Error("Has used Unicode case folding")
	}
	// Headers returns a copy.
	fields := h.Headers()
	fields[0].Value = "changed"
	if got, _ := h.Get("Cache-Control"); strings.Contains(got, "changed") {
		t.Error("Headers() exposed internal storage")
	}
}

func TestResponseHeadersHasHeaderValue(t *testing.T) {
	h := rhTestParse(t, "HTTP/1.1 200 OK\r\n"+
		"Cache-Control: private, No-Cache\r\n"+
		"Cache-Control: no-store=\"a, b\"\r\n"+
		"Location: http://x/a, b\r\n"+
		"X-Escaped: a=\"x\\\", y\", b\r\n"+
		"X-Unterminated: \"a, b\r\n\r\n")
	tests := []struct {
		name, value string
		want        bool
	}{
		{"cache-control", "no-cache", true},
		{"cache-control", "private", true},
		{"cache-control", "no-store", false},
		{"cache-control", "no-store=\"a, b\"", true},
		{"cache-control", "b\"", false},
		{"x-escaped", `a="x\", y"`, true},
		{"x-escaped", "b", true},
		{"x-escaped", `y"`, false},
		{"x-unterminated", `"a, b`, true},
		{"cache-control", "priv", false},
		// Location is not split on commas.
		{"location", "http://x/a", false},
		{"location", "http://x/a, b", true},
		{"missing", "", false},
	}
	for _, tt := range tests {
		if got := h.HasHeaderValue(tt.name, tt.value); got != tt.want {
			t.Errorf("HasHeaderValue(%q, %q) = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}

func TestResponseHeadersContentLength(t *testing.T) {
	tests := []struct {
		headers string
		want    int64
	}{
		{"", -1},
		{"Content-Length: 0\r\n", 0},
		{"Content-Length: 10\r\n", 10},
		{"content-length:   42  \r\n", 42},
		{"Content-Length: 9223372036854775807\r\n", 9223372036854775807},
		{"Content-Length: 9223372036854775808\r\n", -1},
		{"Content-Length: 99999999999999999999\r\n", -1},
		{"Content-Length: -1\r\n", -1},
		{"Content-Length: -0\r\n", 0},
		{"Content-Length: +5\r\n", -1},
		{"Content-Length: 5x\r\n", -1},
		{"Content-Length: 0x10\r\n", -1},
		{"Content-Length: 1 2\r\n", -1},
		{"Content-Length: 1.5\r\n", -1},
		{"Content-Length:\r\n", -1},
		{"Content-Length: 007\r\n", 7},
		// Only the first value counts; Validate judges duplicates.
		{"Content-Length: 5\r\nContent-Length: 6\r\n", 5},
		{"Content-Length: 5, 6\r\n", 5},
		{"Content-Length: , 5\r\n", -1},
	}
	for _, tt := range tests {
		h := rhTestParse(t, "HTTP/1.1 200 OK\r\n"+tt.headers+"\r\n")
		if got := h.ContentLength(); got != tt.want {
			t.Errorf("ContentLength() with %q = %d, want %d", tt.headers, got, tt.want)
		}
	}
}

func TestResponseHeadersIsChunkedEncoding(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		// Chromium checks every value, not only the last coding.
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedx\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false},
		{"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false},
		{"HTTP/2.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true},
		{"HTTP/1.5 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true},
	}
	for _, tt := range tests {
		if got := rhTestParse(t, tt.raw).IsChunkedEncoding(); got != tt.want {
			t.Errorf("IsChunkedEncoding(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestResponseHeadersIsKeepAlive(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{"HTTP/1.1 200 OK\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\n\r\n", false},
		{"HTTP/2.0 200 OK\r\n\r\n", true},
		{"HTTP/0.9 200 OK\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nConnection: Close\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nProxy-Connection: close\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nConnection: close, keep-alive\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nConnection: Upgrade\r\n\r\n", true},
		{"HTTP/1.1 200 OK\r\nConnection: closed\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nConnection: KEEP-ALIVE\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nProxy-Connection: keep-alive\r\n\r\n", true},
		{"HTTP/1.0 200 OK\r\nKeep-Alive: timeout=5\r\n\r\n", false},
		// Connection is consulted before Proxy-Connection.
		{"HTTP/1.0 200 OK\r\nProxy-Connection: keep-alive\r\nConnection: close\r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nConnection: keep-alive\r\n\r\n", true},
		// An unknown Connection token falls through to Proxy-Connection.
		{"HTTP/1.1 200 OK\r\nConnection: foo\r\nProxy-Connection: close\r\n\r\n", false},
		// A garbage version is 1.0.
		{"HTTP 200 OK\r\n\r\n", false},
	}
	for _, tt := range tests {
		if got := rhTestParse(t, tt.raw).IsKeepAlive(); got != tt.want {
			t.Errorf("IsKeepAlive(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestResponseHeadersIsRedirect(t *testing.T) {
	tests := []struct {
		raw      string
		location string
		ok       bool
	}{
		{"HTTP/1.1 301 Moved\r\nLocation: http://a/\r\n\r\n", "http://a/", true},
		{"HTTP/1.1 302 Found\r\nlocation: /b\r\n\r\n", "/b", true},
		{"HTTP/1.1 303 See Other\r\nLocation: /c\r\n\r\n", "/c", true},
		{"HTTP/1.1 307 Temporary\r\nLocation: /d\r\n\r\n", "/d", true},
		{"HTTP/1.1 308 Permanent\r\nLocation: /e\r\n\r\n", "/e", true},
		{"HTTP/1.1 300 Multiple\r\nLocation: /f\r\n\r\n", "", false},
		{"HTTP/1.1 304 Not Modified\r\nLocation: /g\r\n\r\n", "", false},
		{"HTTP/1.1 200 OK\r\nLocation: /h\r\n\r\n", "", false},
		{"HTTP/1.1 302 Found\r\n\r\n", "", false},
		{"HTTP/1.1 302 Found\r\nLocation:\r\n\r\n", "", false},
		{"HTTP/1.1 302 Found\r\nLocation:   \r\nLocation: /second\r\n\r\n", "/second", true},
		{"HTTP/1.1 302 Found\r\nLocation: /a,b\r\n\r\n", "/a,b", true},
		{"HTTP/1.1 302 Found\r\nLocation: /caf\xc3\xa9?q=\xff\r\n\r\n", "/caf%C3%A9?q=%FF", true},
	}
	for _, tt := range tests {
		loc, ok := rhTestParse(t, tt.raw).IsRedirect()
		if loc != tt.location || ok != tt.ok {
			t.Errorf("IsRedirect(%q) = %q, %v; want %q, %v", tt.raw, loc, ok, tt.location, tt.ok)
		}
	}
}

func TestResponseHeadersAddRemoveSet(t *testing.T) {
	h := rhTestParse(t, "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\na: 3\r\nC: 4\r\n\r\n")

	h.AddHeader("D", "  5 ")
	want := []http.HeaderField{{"A", "1"}, {"B", "2"}, {"a", "3"}, {"C", "4"}, {"D", "5"}}
	if got := h.Headers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after AddHeader: %q", got)
	}

	h.RemoveHeader("A")
	want = []http.HeaderField{{"B", "2"}, {"C", "4"}, {"D", "5"}}
	if got := h.Headers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after RemoveHeader: %q", got)
	}
	h.RemoveHeader("missing")
	if got := h.Headers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after RemoveHeader(missing): %q", got)
	}

	// SetHeader replaces and appends, as Chromium's Remove+Add.
	h.SetHeader("b", "new")
	want = []http.HeaderField{{"C", "4"}, {"D", "5"}, {"b", "new"}}
	if got := h.Headers(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after SetHeader: %q", got)
	}
	h.SetHeader("E", "")
	if got, ok := h.Get("e"); !ok || got != "" {
		t.Errorf("Get(e) = %q, %v", got, ok)
	}
	if h.StatusLine() != "HTTP/1.1 200 OK" {
		t.Errorf("status line changed: %q", h.StatusLine())
	}
}

func TestResponseHeadersAddHeaderPanics(t *testing.T) {
	tests := []struct{ name, value string }{
		{"", "v"},
		{"Bad Name", "v"},
		{"Bad:Name", "v"},
		{"X", "a\r\nInjected: 1"},
		{"X", "a\nb"},
		{"X", "a\x00b"},
	}
	for _, tt := range tests {
		for _, op := range []string{"AddHeader", "SetHeader"} {
			h := rhTestParse(t, "HTTP/1.1 200 OK\r\nX: keep\r\n\r\n")
			func() {
				defer func() {
					if recover() == nil {
						t.Errorf("%s(%q, %q) did not panic", op, tt.name, tt.value)
					}
				}()
				if op == "AddHeader" {
					h.AddHeader(tt.name, tt.value)
				} else {
					h.SetHeader(tt.name, tt.value)
				}
			}()
			// A rejected call leaves the headers as they were.
			if got := h.Headers(); !reflect.DeepEqual(got, []http.HeaderField{{"X", "keep"}}) {
				t.Errorf("%s(%q, %q) changed headers to %q", op, tt.name, tt.value, got)
			}
		}
	}
}

func TestResponseHeadersRaw(t *testing.T) {
	h := rhTestParse(t, "xHTTP/1.2   200   OK  \nContent-Type:text/html\n"+
		"X-Fold: a\n  b\nbogus line\nSet-Cookie: a=1\n\n")
	want := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Fold: a b\r\nSet-Cookie: a=1\r\n\r\n"
	if got := h.Raw(); got != want {
		t.Fatalf("Raw() = %q, want %q", got, want)
	}
	// Raw re-parses to the same thing.
	h2 := rhTestParse(t, h.Raw())
	if !reflect.DeepEqual(h, h2) || h2.Raw() != want {
		t.Errorf("round trip differs: %q", h2.Raw())
	}
	// Without reason phrase and without headers.
	if got := rhTestParse(t, "HTTP/1.0 204\r\n\r\n").Raw(); got != "HTTP/1.0 204\r\n\r\n" {
		t.Errorf("Raw() = %q", got)
	}
	// An HTTP/0.9 head survives a round trip only without headers, as parsing
	// defines it.
	if got := rhTestParse(t, "HTTP/0.9 200 OK").Raw(); got != "HTTP/0.9 200 OK\r\n\r\n" {
		t.Errorf("Raw() = %q", got)
	}
}

func TestResponseHeadersValidate(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		wantErr error
	}{
		{"plain", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", nil},
		{"identical content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", nil},
		{"identical in one line", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n", nil},
		{"three identical", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", nil},
		{"differing content-length", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 5\r\n\r\n",
			net.ErrResponseHeadersMultipleContentLength},
		{"differing in one line", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
			net.ErrResponseHeadersMultipleContentLength},
		{"third differs", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
			net.ErrResponseHeadersMultipleContentLength},
		{"textually different", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n",
			net.ErrResponseHeadersMultipleContentLength},
		{"chunked ignores content-length", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n" +
			"Content-Length: 10\r\nContent-Length: 5\r\n\r\n", nil},
		{"chunked on 1.0 does not count", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n" +
			"Content-Length: 10\r\nContent-Length: 5\r\n\r\n", net.ErrResponseHeadersMultipleContentLength},
		{"identical disposition", "HTTP/1.1 200 OK\r\nContent-Disposition: attachment\r\n" +
			"Content-Disposition: attachment\r\n\r\n", nil},
		{"differing disposition", "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=a\r\n" +
			"Content-Disposition: attachment; filename=b\r\n\r\n", net.ErrResponseHeadersMultipleContentDisposition},
		{"quoted comma in disposition", "HTTP/1.1 200 OK\r\n" +
			"Content-Disposition: attachment; filename=\"a,b.txt\"\r\n\r\n", nil},
		// Chromium splits Content-Disposition on commas too.
		{"unquoted comma in disposition", "HTTP/1.1 200 OK\r\n" +
			"Content-Disposition: attachment; filename=a,b.txt\r\n\r\n", net.ErrResponseHeadersMultipleContentDisposition},
		{"identical location", "HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /a\r\n\r\n", nil},
		{"location with comma", "HTTP/1.1 302 Found\r\nLocation: /a,b\r\n\r\n", nil},
		{"differing location", "HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\n\r\n",
			net.ErrResponseHeadersMultipleLocation},
		{"differing location on 200", "HTTP/1.1 200 OK\r\nLocation: /a\r\nLocation: /b\r\n\r\n",
			net.ErrResponseHeadersMultipleLocation},
		{"content-length checked first", "HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\n" +
			"Content-Length: 1\r\nContent-Length: 2\r\n\r\n", net.ErrResponseHeadersMultipleContentLength},
		{"disposition before location", "HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\n" +
			"Content-Disposition: a\r\nContent-Disposition: b\r\n\r\n", net.ErrResponseHeadersMultipleContentDisposition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := rhTestParse(t, tt.raw).Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Validate() = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestResponseHeadersNetLogParams(t *testing.T) {
	h := rhTestParse(t, "HTTP/1.1 401 Unauthorized\r\n"+
		"Content-Type: text/html\r\n"+
		"Set-Cookie: session=secret\r\n"+
		"WWW-Authenticate: Negotiate abcdef==\r\n"+
		"WWW-Authenticate: Basic realm=\"x\"\r\n\r\n")

	got := h.NetLogParams(true)
	want := map[string]any{"headers": []any{
		"HTTP/1.1 401 Unauthorized",
		"Content-Type: text/html",
		"Set-Cookie: [14 bytes were stripped]",
		"WWW-Authenticate: Negotiate [8 bytes were stripped]",
		"WWW-Authenticate: Basic realm=\"x\"",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NetLogParams(true) = %q\nwant %q", got, want)
	}

	got = h.NetLogParams(false)
	want = map[string]any{"headers": []any{
		"HTTP/1.1 401 Unauthorized",
		"Content-Type: text/html",
		"Set-Cookie: session=secret",
		"WWW-Authenticate: Negotiate abcdef==",
		"WWW-Authenticate: Basic realm=\"x\"",
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NetLogParams(false) = %q\nwant %q", got, want)
	}
}

func FuzzResponseHeaders(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.0 301 Moved\nLocation: /x\n  folded\nbogus\n\n",
		"http/0.9 000\r\r\n",
		"xxHTTP/2.0 404\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nSet-Cookie: a=\"x,y\"\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		h, err := http.ParseResponseHeaders(raw)
		if err != nil {
			return
		}
		// Every accessor must cope with whatever parsed.
		_ = h.Validate()
		_ = h.ContentLength()
		_ = h.IsChunkedEncoding()
		_ = h.IsKeepAlive()
		_, _ = h.IsRedirect()
		_ = h.NetLogParams(true)
		// The normalised form is a fixed point.
		h2, err := http.ParseResponseHeaders([]byte(h.Raw()))
		if err != nil {
			t.Fatalf("Raw() %q does not parse: %v", h.Raw(), err)
		}
		if !reflect.DeepEqual(h.Headers(), h2.Headers()) || h.StatusLine() != h2.StatusLine() ||
			h2.Raw() != h.Raw() {
			t.Fatalf("round trip changed %q into %q", h.Raw(), h2.Raw())
		}
	})
}

func BenchmarkResponseHeadersParse(b *testing.B) {
	raw := []byte("HTTP/1.1 200 OK\r\n" +
		"Date: Mon, 27 Jul 2009 12:28:53 GMT\r\n" +
		"Server: Apache/2.2.14 (Win32)\r\n" +
		"Last-Modified: Wed, 22 Jul 2009 19:15:56 GMT\r\n" +
		"Content-Length: 88\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"Cache-Control: private, max-age=0\r\n" +
		"Set-Cookie: a=b; Path=/; HttpOnly\r\n" +
		"Connection: keep-alive\r\n\r\n")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		h, err := http.ParseResponseHeaders(raw)
		if err != nil || h.ContentLength() != 88 || !h.IsKeepAlive() {
			b.Fatal("bad parse")
		}
	}
}
