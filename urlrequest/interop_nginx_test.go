package urlrequest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
	"github.com/netfetch/netfetch/urlrequest"
)

// Interop tests against a real nginx that the test starts on loopback.

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newTestContext(t *testing.T) *urlrequest.Context {
	t.Helper()
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func fetchAll(t *testing.T, c *urlrequest.Context, req *urlrequest.FetchRequest) (*urlrequest.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.Fetch(ctx, req)
	if err != nil {
		t.Fatalf("Fetch %s: %v", req.URL, err)
	}
	body, err := urlrequest.ReadAll(resp)
	if err != nil {
		t.Fatalf("reading %s: %v", req.URL, err)
	}
	return resp, body
}

func TestNginxStaticBodiesAreByteExact(t *testing.T) {
	n := interop.StartNginx(t, interop.NginxOptions{
		ExtraServerConfig: "location /ssi/ { ssi on; ssi_types *; }",
	})
	files := map[string][]byte{
		"empty":     {},
		"1k":        randomBytes(1<<10, 1),
		"1m":        randomBytes(1<<20, 2),
		"ssi/chunk": randomBytes(300<<10, 3),
	}
	for name, data := range files {
		n.WriteFile(t, name, data)
	}
	c := newTestContext(t)
	for name, want := range files {
		resp, got := fetchAll(t, c, &urlrequest.FetchRequest{URL: n.URL(name)})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", name, resp.StatusCode)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: body differs: got %d bytes (sha %x), want %d (sha %x)", name, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
		}
		if name == "ssi/chunk" {
			if _, ok := resp.Headers.Get("Content-Length"); ok || !resp.Headers.IsChunkedEncoding() {
				t.Errorf("expected nginx to send %s chunked; headers: %q", name, resp.Headers.Raw())
			}
		}
	}
}

func TestNginxKeepAliveReusesOneConnection(t *testing.T) {
	n := interop.StartNginx(t, interop.NginxOptions{KeepaliveRequests: 1000})
	n.WriteFile(t, "a", []byte("hello"))
	c := newTestContext(t)
	const count = 8
	for i := 0; i < count; i++ {
		resp, body := fetchAll(t, c, &urlrequest.FetchRequest{URL: n.URL("a")})
		if string(body) != "hello" {
			t.Fatalf("body %q", body)
		}
		if reused := resp.Info.ConnectionReused; reused != (i > 0) {
			t.Errorf("request %d: ConnectionReused = %v", i, reused)
		}
	}
	entries := n.WaitAccessLog(t, count)
	for i, e := range entries {
		if e.Connection != entries[0].Connection || e.ConnectionRequests != i+1 {
			t.Fatalf("entry %d: connection %d request %d; want one connection carrying all requests: %+v", i, e.Connection, e.ConnectionRequests, entries)
		}
	}
}

func TestNginxClosingKeepAliveCostsNoRequest(t *testing.T) {
	// nginx closes the connection after every second request; the client
	// must notice from the Connection header or retry on a fresh socket.
	n := interop.StartNginx(t, interop.NginxOptions{KeepaliveRequests: 2})
	n.WriteFile(t, "a", []byte("hello"))
	c := newTestContext(t)
	for i := 0; i < 10; i++ {
		if _, body := fetchAll(t, c, &urlrequest.FetchRequest{URL: n.URL("a")}); string(body) != "hello" {
			t.Fatalf("request %d: body %q", i, body)
		}
	}
	entries := n.WaitAccessLog(t, 10)
	conns := map[int64]bool{}
	for _, e := range entries {
		conns[e.Connection] = true
	}
	if len(conns) != 5 {
		t.Errorf("used %d connections for 10 requests with keepalive_requests 2, want 5", len(conns))
	}
}

func TestNginxHeadRedirectAndNotFound(t *testing.T) {
	n := interop.StartNginx(t, interop.NginxOptions{
		ExtraServerConfig: "location = /moved { return 302 /a; }",
	})
	n.WriteFile(t, "a", []byte("target"))
	c := newTestContext(t)

	resp, body := fetchAll(t, c, &urlrequest.FetchRequest{URL: n.URL("moved")})
	if resp.StatusCode != 200 || string(body) != "target" || len(resp.URLChain) != 2 {
		t.Fatalf("redirect: status %d body %q chain %v", resp.StatusCode, body, resp.URLChain)
	}
	resp, body = fetchAll(t, c, &urlrequest.FetchRequest{URL: n.URL("a"), Method: "HEAD"})
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("HEAD: status %d body %q", resp.StatusCode, body)
	}
	if cl, _ := resp.Headers.Get("Content-Length"); cl != "6" {
		t.Errorf("HEAD Content-Length %q", cl)
	}
	resp, _ = fetchAll(t, c, &urlrequest.FetchRequest{URL: n.URL("missing")})
	if resp.StatusCode != 404 {
		t.Fatalf("missing: status %d", resp.StatusCode)
	}
	// All of it over one connection: the redirect's body was drained, the
	// 404's body read.
	entries := n.WaitAccessLog(t, 4)
	for _, e := range entries {
		if e.Connection != entries[0].Connection {
			t.Errorf("requests spread over connections: %+v", entries)
			break
		}
	}
}

func TestNginxLargeBodyStreams(t *testing.T) {
	n := interop.StartNginx(t, interop.NginxOptions{})
	data := randomBytes(32<<20, 4)
	n.WriteFile(t, "big", data)
	c := newTestContext(t)
	resp, err := c.Fetch(context.Background(), &urlrequest.FetchRequest{URL: n.URL("big")})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	got, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || got != int64(len(data)) {
		t.Fatalf("copied %d, err %v", got, err)
	}
	if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("digest differs")
	}
}
