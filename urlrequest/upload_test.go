package urlrequest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	gohttp "net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// uploadServer echoes what it received: method, framing and a digest of
// the body, then the body itself.
func uploadServer(t *testing.T) *testserver.HTTPServer {
	return testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Content-Length", r.Header.Get("Content-Length"))
		w.Header().Set("X-Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
		w.Header().Set("X-Content-Type", r.Header.Get("Content-Type"))
		w.Write(body)
	}))
}

func TestUploads(t *testing.T) {
	s := uploadServer(t)
	c := newContext(t)
	small := []byte("hello upload")
	big := pattern(1<<20 + 3) // many upload buffers
	for _, tc := range []struct {
		name   string
		req    urlrequest.FetchRequest
		want   []byte
		wantCL string
		wantTE string
	}{
		{"bytes small (merged with the head)", urlrequest.FetchRequest{Method: "POST", Body: small}, small, "12", ""},
		{"bytes big", urlrequest.FetchRequest{Method: "POST", Body: big}, big, fmt.Sprint(len(big)), ""},
		{"bytes at the merge limit", urlrequest.FetchRequest{Method: "PUT", Body: pattern(1400)}, pattern(1400), "1400", ""},
		{"bytes just over the merge limit", urlrequest.FetchRequest{Method: "PUT", Body: pattern(1401)}, pattern(1401), "1401", ""},
		{"empty bytes", urlrequest.FetchRequest{Method: "POST", Body: []byte{}}, nil, "0", ""},
		{"POST without body", urlrequest.FetchRequest{Method: "POST"}, nil, "0", ""},
		{"reader known length", urlrequest.FetchRequest{Method: "POST", BodyReader: bytes.NewReader(big), ContentLength: int64(len(big))}, big, fmt.Sprint(len(big)), ""},
		{"reader known length, one byte reads", urlrequest.FetchRequest{Method: "POST", BodyReader: iotest.OneByteReader(bytes.NewReader(small)), ContentLength: int64(len(small))}, small, "12", ""},
		{"reader unknown length", urlrequest.FetchRequest{Method: "POST", BodyReader: bytes.NewReader(big), ContentLength: -1}, big, "", "chunked"},
		{"reader unknown length (0)", urlrequest.FetchRequest{Method: "PUT", BodyReader: iotest.HalfReader(bytes.NewReader(big))}, big, "", "chunked"},
		{"reader unknown length, empty", urlrequest.FetchRequest{Method: "POST", BodyReader: strings.NewReader(""), ContentLength: -1}, nil, "", "chunked"},
		{"reader with data and EOF together", urlrequest.FetchRequest{Method: "POST", BodyReader: iotest.DataErrReader(bytes.NewReader(small)), ContentLength: -1}, small, "", "chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			req.URL = s.URL + "/up"
			req.Headers = []urlrequest.Header{{Name: "Content-Type", Value: "application/x-test"}}
			resp, body := mustFetch(t, c, &req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if !bytes.Equal(body, tc.want) {
				t.Fatalf("server received %d bytes, want %d (first difference at %d)", len(body), len(tc.want), firstDiff(body, tc.want))
			}
			h := func(n string) string { v, _ := resp.Headers.Get(n); return v }
			if h("X-Method") != req.Method || h("X-Content-Length") != tc.wantCL || h("X-Transfer-Encoding") != tc.wantTE {
				t.Fatalf("server saw %s, Content-Length %q, Transfer-Encoding %q", h("X-Method"), h("X-Content-Length"), h("X-Transfer-Encoding"))
			}
			if h("X-Content-Type") != "application/x-test" {
				t.Fatalf("Content-Type %q", h("X-Content-Type"))
			}
		})
	}
	if n := s.NewConns(); n != 1 {
		t.Fatalf("uploads used %d connections, want 1", n)
	}
}

func TestUploadReaderError(t *testing.T) {
	s := uploadServer(t)
	c := newContext(t)
	r := io.MultiReader(strings.NewReader("some bytes"), iotest.ErrReader(errors.New("disk on fire")))
	resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{Method: "POST", URL: s.URL, BodyReader: r, ContentLength: -1})
	if err == nil {
		resp.Body.Close()
		t.Fatal("a failing body reader gave a response")
	}
	// The Context is still fine.
	_, body := mustFetch(t, c, &urlrequest.FetchRequest{Method: "POST", URL: s.URL, Body: []byte("ok")})
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
}

func TestUploadReaderShorterThanContentLength(t *testing.T) {
	// A body that ends before its announced length must fail the request,
	// not leave the server waiting for the rest (and the caller hanging).
	s := uploadServer(t)
	c := newContext(t)
	var err error
	within(t, "short upload", func() {
		var resp *urlrequest.Response
		resp, err = c.Fetch(guard(t), &urlrequest.FetchRequest{Method: "POST", URL: s.URL, BodyReader: strings.NewReader("abc"), ContentLength: 10})
		if err == nil {
			resp.Body.Close()
		}
	})
	// Chromium's upload readers report a source shorter than announced as
	// ERR_UPLOAD_FILE_CHANGED.
	wantErr(t, "3-byte body announced as 10", err, net.ErrUploadFileChanged)
}

func TestUploadReaderLongerThanContentLength(t *testing.T) {
	// Bytes beyond the announced length must never reach the server: they
	// would be read as the next request on the connection.
	requests := make(chan string, 10)
	s := testserver.NewRaw(t, func(c *testserver.Conn) {
		for {
			req, body, err := c.ReadRequest()
			if err != nil {
				return
			}
			requests <- req.Method + " " + req.URL.Path + " " + string(body)
			c.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c := newContext(t)
	smuggled := "abc" + "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
	resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{Method: "POST", URL: s.URL + "/post", BodyReader: strings.NewReader(smuggled), ContentLength: 3})
	if err == nil {
		urlrequest.ReadAll(resp)
	}
	// Another request on the same connection, if it survived.
	if resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: s.URL + "/next"}); err == nil {
		urlrequest.ReadAll(resp)
	}
	s.Close() // waits for the handlers
	close(requests)
	for r := range requests {
		if strings.Contains(r, "smuggled") {
			t.Fatalf("the server saw a request made of body bytes: %q", r)
		}
	}
}

func TestUploadReaderAndRedirects(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	// 302 turns POST into GET: the unreplayable body is simply dropped.
	_, body := mustFetch(t, c, &urlrequest.FetchRequest{Method: "POST", URL: s.URL + "/r/302/echo", BodyReader: strings.NewReader("data"), ContentLength: 4})
	if string(body) != "GET |ct=|cl=|te=[]" {
		t.Fatalf("after 302: %q", body)
	}
	// 307 must resend the body, which a reader cannot do.
	before := len(log.get())
	_, err := c.Fetch(guard(t), &urlrequest.FetchRequest{Method: "POST", URL: s.URL + "/r/307/echo", BodyReader: strings.NewReader("data"), ContentLength: -1})
	wantErr(t, "307 with a reader body", err, net.ErrUploadStreamRewindNotSupported)
	if n := len(log.get()) - before; n != 1 {
		t.Fatalf("server saw %d requests, want only the first", n)
	}
	// A []byte body is replayed.
	_, body = mustFetch(t, c, &urlrequest.FetchRequest{Method: "POST", URL: s.URL + "/r/307/r/308/echo", Body: []byte("data")})
	if string(body) != "POST data|ct=|cl=4|te=[]" {
		t.Fatalf("after 307+308: %q", body)
	}
}
