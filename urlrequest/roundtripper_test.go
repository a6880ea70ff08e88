package urlrequest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	gohttp "net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

func newClient(t *testing.T) (*gohttp.Client, *urlrequest.Context) {
	c := newContext(t)
	return &gohttp.Client{Transport: c.RoundTripper(), Timeout: hangGuard}, c
}

func rtEchoServer(t *testing.T) *testserver.HTTPServer {
	return testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Got-Length", r.Header.Get("Content-Length"))
		w.Header().Set("X-Got-TE", strings.Join(r.TransferEncoding, ","))
		w.Header()["X-Multi"] = r.Header.Values("X-Multi")
		w.Header().Set("X-Host", r.Host)
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		if r.URL.Path == "/chunked" {
			w.Write(body)
			w.(gohttp.Flusher).Flush()
			w.Write([]byte("!"))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)+len(r.Method)+1))
		io.WriteString(w, r.Method+" ")
		w.Write(body)
	}))
}

func TestRoundTripperGET(t *testing.T) {
	s := rtEchoServer(t)
	client, _ := newClient(t)
	req, _ := gohttp.NewRequestWithContext(guard(t), "GET", s.URL+"/path?q=1", nil)
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "GET " {
		t.Fatalf("body %q err %v", body, err)
	}
	if resp.StatusCode != 200 || resp.Status != "200 OK" || resp.Proto != "HTTP/1.1" || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Fatalf("status %q code %d proto %q", resp.Status, resp.StatusCode, resp.Proto)
	}
	if resp.ContentLength != 4 {
		t.Fatalf("ContentLength %d", resp.ContentLength)
	}
	if got := resp.Header.Values("X-Multi"); strings.Join(got, ",") != "one,two" {
		t.Fatalf("repeated request header arrived as %q", got)
	}
	if got := resp.Header.Values("Set-Cookie"); strings.Join(got, ",") != "a=1,b=2" {
		t.Fatalf("Set-Cookie %q", got)
	}
	if resp.Request == nil || resp.Request.URL.String() != req.URL.String() {
		t.Fatalf("Response.Request %v", resp.Request)
	}
}

func TestRoundTripperChunkedResponse(t *testing.T) {
	s := rtEchoServer(t)
	client, _ := newClient(t)
	resp, err := client.Post(s.URL+"/chunked", "text/plain", strings.NewReader("data"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "data!" {
		t.Fatalf("body %q", body)
	}
	if resp.ContentLength != -1 || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("ContentLength %d TransferEncoding %q", resp.ContentLength, resp.TransferEncoding)
	}
	if resp.Header.Get("Transfer-Encoding") != "" {
		t.Fatalf("Transfer-Encoding left in Header, unlike net/http")
	}
}

func TestRoundTripperPOST(t *testing.T) {
	s := rtEchoServer(t)
	client, _ := newClient(t)
	payload := bytes.Repeat([]byte("0123456789"), 20000) // over one upload buffer
	for _, tc := range []struct {
		name   string
		body   io.Reader
		wantCL string
		wantTE string
	}{
		{"bytes.Reader (known length)", bytes.NewReader(payload), strconv.Itoa(len(payload)), ""},
		{"unknown length (chunked)", io.MultiReader(bytes.NewReader(payload[:100]), bytes.NewReader(payload[100:])), "", "chunked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := gohttp.NewRequestWithContext(guard(t), "POST", s.URL+"/", tc.body)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(body, append([]byte("POST "), payload...)) {
				t.Fatalf("echo: %d bytes", len(body))
			}
			if resp.Header.Get("X-Got-Length") != tc.wantCL || resp.Header.Get("X-Got-TE") != tc.wantTE {
				t.Fatalf("server saw Content-Length %q Transfer-Encoding %q", resp.Header.Get("X-Got-Length"), resp.Header.Get("X-Got-TE"))
			}
		})
	}
}

func TestRoundTripperHEAD(t *testing.T) {
	s := rtEchoServer(t)
	client, _ := newClient(t)
	resp, err := client.Head(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(body) != 0 {
		t.Fatalf("HEAD body %q err %v", body, err)
	}
	if resp.Header.Get("X-Method") != "HEAD" || resp.ContentLength != 5 {
		t.Fatalf("method %q ContentLength %d", resp.Header.Get("X-Method"), resp.ContentLength)
	}
	// The connection is still good.
	resp, err = client.Get(s.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "GET " {
		t.Fatalf("GET after HEAD: %q", body)
	}
	if s.NewConns() != 1 {
		t.Fatalf("%d connections", s.NewConns())
	}
}

func TestRoundTripperHostHeader(t *testing.T) {
	s := rtEchoServer(t)
	client, _ := newClient(t)
	req, _ := gohttp.NewRequestWithContext(guard(t), "GET", s.URL+"/", nil)
	req.Host = "virtual.example:8080"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Host"); got != "virtual.example:8080" {
		t.Fatalf("server saw Host %q", got)
	}
}

func TestRoundTripperDoesNotFollowRedirects(t *testing.T) {
	var hits atomic.Int64
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/start":
			gohttp.Redirect(w, r, "/middle", gohttp.StatusFound)
		case "/middle":
			gohttp.Redirect(w, r, "/end", gohttp.StatusTemporaryRedirect)
		default:
			body, _ := io.ReadAll(r.Body)
			io.WriteString(w, r.Method+" "+string(body))
		}
	}))
	c := newContext(t)
	// The RoundTripper alone returns the redirect.
	req, _ := gohttp.NewRequestWithContext(guard(t), "GET", s.URL+"/start", nil)
	resp, err := c.RoundTripper().RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/middle" || hits.Load() != 1 {
		t.Fatalf("RoundTrip followed a redirect: status %d, %d hits", resp.StatusCode, hits.Load())
	}
	// The client follows, applying its own rules (302 POST -> GET).
	client := &gohttp.Client{Transport: c.RoundTripper()}
	var via []string
	client.CheckRedirect = func(r *gohttp.Request, v []*gohttp.Request) error {
		via = append(via, r.Method+" "+r.URL.Path)
		return nil
	}
	req, _ = gohttp.NewRequestWithContext(guard(t), "POST", s.URL+"/start", strings.NewReader("x"))
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "GET " || strings.Join(via, ",") != "GET /middle,GET /end" {
		t.Fatalf("body %q via %q", body, via)
	}
	// And client.CheckRedirect can stop it.
	client.CheckRedirect = func(*gohttp.Request, []*gohttp.Request) error { return gohttp.ErrUseLastResponse }
	resp, err = client.Get(s.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 302 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestRoundTripperErrors(t *testing.T) {
	client, _ := newClient(t)
	_, err := client.Get("http://nonexistent.invalid/")
	wantErr(t, "unresolvable", err, net.ErrNameNotResolved)

	s := testserver.NewRaw(t, testserver.Respond("HELLO\r\n\r\n"))
	_, err = client.Get(s.URL)
	wantErr(t, "garbage", err, net.ErrInvalidHTTPResponse)

	s2 := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
	resp, err := client.Get(s2.URL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	wantErr(t, "short body", err, net.ErrContentLengthMismatch)

	_, err = client.Get("ftp://x/")
	if err == nil {
		t.Fatal("ftp:// succeeded")
	}
}

func TestRoundTripperContextCancel(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("", started))
	client, _ := newClient(t)
	ctx, cancel := context.WithCancel(guard(t))
	go func() {
		<-started
		cancel()
	}()
	req, _ := gohttp.NewRequestWithContext(ctx, "GET", s.URL, nil)
	var err error
	within(t, "cancelled round trip", func() { _, err = client.Do(req) })
	wantErr(t, "cancelled", err, context.Canceled)
	wantErr(t, "cancelled", err, net.ErrAborted)
	if !s.WaitAllClosed(hangGuard) {
		t.Fatal("connection left open")
	}
}

func TestRoundTripperContextCancelDuringBody(t *testing.T) {
	started := make(chan struct{}, 1)
	s := testserver.NewRaw(t, stallHandler("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nab", started))
	client, _ := newClient(t)
	ctx, cancel := context.WithCancel(guard(t))
	req, _ := gohttp.NewRequestWithContext(ctx, "GET", s.URL, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 2)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(resp.Body)
	wantErr(t, "body after cancel", err, context.Canceled)
}

// closeTracker records whether Close was called on a request body.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestRoundTripperClosesRequestBody(t *testing.T) {
	// http.RoundTripper: "RoundTrip must always close the body, including on
	// errors" (possibly after RoundTrip returns).
	s := rtEchoServer(t)
	client, _ := newClient(t)
	for _, url := range []string{s.URL + "/", "http://nonexistent.invalid/"} {
		body := &closeTracker{Reader: strings.NewReader("payload")}
		req, _ := gohttp.NewRequestWithContext(guard(t), "POST", url, body)
		resp, err := client.Do(req)
		if err == nil {
			io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if !testserver.Eventually(hangGuard, body.closed.Load) {
			t.Fatalf("%s: request body never closed (err %v)", url, err)
		}
	}
}

func TestRoundTripperConcurrent(t *testing.T) {
	s := rtEchoServer(t)
	client, _ := newClient(t)
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		go func() {
			resp, err := client.Post(s.URL+"/", "text/plain", strings.NewReader(strings.Repeat("z", 5000)))
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && string(b) != "POST "+strings.Repeat("z", 5000) {
				err = errors.New("bad echo")
			}
			errs <- err
		}()
	}
	for i := 0; i < 20; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
