package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	gonet "net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// binaryBody has every byte value, CRLFs and a NUL-heavy tail, so that any
// text handling on the way shows.
var binaryBody = func() []byte {
	b := make([]byte, 0, 1024)
	for i := range 256 {
		b = append(b, byte(i))
	}
	b = append(b, "\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"...)
	return append(b, make([]byte, 300)...)
}()

func TestDownloadContentLength(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", len(binaryBody))
		c.Write(binaryBody)
	})
	r := netfetch(t, base+"/x")
	expectCode(t, r, 0)
	if r.stdout != string(binaryBody) || r.stderr != "" {
		t.Fatalf("stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

func TestDownloadChunked(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n")
		// Uneven chunk sizes, a chunk extension and a trailer.
		rest := binaryBody
		for i, n := 0, 1; len(rest) > 0; i, n = i+1, n*3 {
			n = min(n, len(rest))
			ext := ""
			if i == 1 {
				ext = ";name=value"
			}
			fmt.Fprintf(c, "%x%s\r\n", n, ext)
			c.Write(rest[:n])
			io.WriteString(c, "\r\n")
			rest = rest[n:]
		}
		io.WriteString(c, "0\r\nX-Trailer: t\r\n\r\n")
	})
	r := netfetch(t, base+"/")
	expectCode(t, r, 0)
	if r.stdout != string(binaryBody) {
		t.Fatalf("got %q", r.stdout)
	}
}

func TestDownloadReadToClose(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		// No Content-Length, not chunked: the body ends when the server closes.
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
		c.Write(binaryBody[:100])
		time.Sleep(20 * time.Millisecond) // two reads on the client side
		c.Write(binaryBody[100:])
	})
	r := netfetch(t, base+"/")
	expectCode(t, r, 0)
	if r.stdout != string(binaryBody) {
		t.Fatalf("got %q", r.stdout)
	}
}

func TestDownloadEmpty(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, req *rawRequest) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
	})
	r := netfetch(t, base+"/")
	expectCode(t, r, 0)
	if r.stdout != "" || r.stderr != "" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// With -o the file exists, empty.
	out := filepath.Join(t.TempDir(), "empty")
	expectCode(t, netfetch(t, "-o", out, base+"/"), 0)
	if fi, err := os.Stat(out); err != nil || fi.Size() != 0 {
		t.Fatalf("stat %v, %v", fi, err)
	}
}

// A 100 MiB body is streamed: the server repeats one pseudo-random MiB, and
// the test hashes what netfetch writes as it arrives, so neither side holds
// the body.
func TestDownload100MiB(t *testing.T) {
	t.Parallel()
	const blocks = 100
	block := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(block); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			block[i+j] = byte(v >> (8 * j))
		}
	}
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", blocks*len(block))
		for i := range blocks {
			// Shift the block a little each time so that a chunk dropped or
			// repeated by the client changes the hash.
			if _, err := c.Write(block[i:]); err != nil {
				return
			}
			if _, err := c.Write(block[:i]); err != nil {
				return
			}
		}
	})
	// The server shifts each block, so hash the same way here.
	want := sha256.New()
	for i := range blocks {
		want.Write(block[i:])
		want.Write(block[:i])
	}

	got := sha256.New()
	counter := &countingWriter{w: got}
	start := time.Now()
	if code, stderr := runGuarded(t, t.Context(), counter, base+"/big"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if counter.n != blocks<<20 {
		t.Fatalf("got %d bytes, want %d", counter.n, blocks<<20)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("SHA-256 differs")
	}
	t.Logf("100 MiB in %v", time.Since(start))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.w.Write(p)
}

func TestOutputFile(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", len(binaryBody))
		c.Write(binaryBody)
	})
	out := filepath.Join(t.TempDir(), "body")
	r := netfetch(t, base+"/", "-o", out) // a flag after the URL
	expectCode(t, r, 0)
	if r.stdout != "" {
		t.Fatalf("stdout %q", r.stdout)
	}
	got, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(got, binaryBody) {
		t.Fatalf("file %q, %v", got, err)
	}

	// -i puts the headers in the file too, as curl does.
	expectCode(t, netfetch(t, "-i", "--output", out, base+"/"), 0)
	got, _ = os.ReadFile(out)
	want := fmt.Sprintf("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(binaryBody), binaryBody)
	if string(got) != want {
		t.Fatalf("file %q", got)
	}
}

func TestOutputDir(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, req *rawRequest) {
		body := req.line // "GET /n HTTP/1.1"
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	dir := filepath.Join(t.TempDir(), "new", "dir") // created by netfetch
	r := netfetch(t, "--output-dir", dir, base+"/a", base+"/b", deadURL(t), base+"/d")
	expectCode(t, r, 1)
	for i, want := range []string{"GET /a HTTP/1.1", "GET /b HTTP/1.1", "", "GET /d HTTP/1.1"} {
		got, err := os.ReadFile(filepath.Join(dir, strconv.Itoa(i+1)))
		if want == "" {
			if !os.IsNotExist(err) {
				t.Errorf("file %d of a failed URL: %q, %v", i+1, got, err)
			}
			continue
		}
		if string(got) != want {
			t.Errorf("file %d: %q, %v", i+1, got, err)
		}
	}
	if r.stdout != "" {
		t.Fatalf("stdout %q", r.stdout)
	}
}

// Outputs to stdout come out whole and in URL order, although the later
// URLs finish first; large ones spill to temporary files while they wait.
func TestParallelOutputOrder(t *testing.T) {
	t.Parallel()
	const n = 12
	bodyOf := func(i int) []byte {
		size := 100 + i
		if i%4 == 1 {
			size = 3<<20 + i // over spoolMemory
		}
		b := bytes.Repeat([]byte{byte('a' + i)}, size)
		return append(b, fmt.Sprintf("<end %d>\n", i)...)
	}
	base := rawServer(t, func(c gonet.Conn, req *rawRequest) {
		var i int
		fmt.Sscanf(req.line, "GET /%d", &i)
		// Earlier URLs answer later.
		time.Sleep(time.Duration(n-i) * 5 * time.Millisecond)
		b := bodyOf(i)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", len(b))
		c.Write(b)
	})
	var want bytes.Buffer
	var args []string
	for i := range n {
		want.Write(bodyOf(i))
		args = append(args, fmt.Sprintf("%s/%d", base, i))
	}
	for _, parallel := range []string{"1", "4", "0"} {
		r := netfetch(t, append([]string{"--parallel", parallel}, args...)...)
		expectCode(t, r, 0)
		if r.stdout != want.String() {
			t.Fatalf("--parallel %s: output out of order or damaged (%d bytes, want %d)", parallel, len(r.stdout), want.Len())
		}
	}
}

func TestSpool(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 10, spoolMemory, spoolMemory + 1, 3 * spoolMemory} {
		s := &spool{}
		data := bytes.Repeat([]byte("0123456789"), size/10+1)[:size]
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 100_000)
			if _, err := s.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		var out bytes.Buffer
		if _, err := s.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("size %d: got %d bytes, %v", size, out.Len(), err)
		}
		name := ""
		if s.f != nil {
			name = s.f.Name()
		}
		s.Close()
		if name != "" {
			if _, err := os.Stat(name); !os.IsNotExist(err) {
				t.Fatalf("spool file %s left behind", name)
			}
		}
	}
}
