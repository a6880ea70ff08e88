package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	gonet "net"
	"net/textproto"
	"runtime/pprof"
	"sync"
	"testing"
	"time"
)

// result is what one in-process run produced.
type result struct {
	code           int
	stdout, stderr string
}

// netfetch runs the command in-process with args and a live context.
func netfetch(t *testing.T, args ...string) result {
	t.Helper()
	return netfetchCtx(t, context.Background(), args...)
}

func netfetchCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var stdout bytes.Buffer
	code, stderr := runGuarded(t, ctx, &stdout, args...)
	return result{code, stdout.String(), stderr}
}

// runGuarded runs the command with its stdout going to stdout, and fails
// the test with a goroutine dump if it does not finish within a minute.
func runGuarded(t *testing.T, ctx context.Context, stdout io.Writer, args ...string) (code int, stderr string) {
	t.Helper()
	var errBuf bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, args, stdout, &errBuf) }()
	select {
	case code := <-done:
		return code, errBuf.String()
	case <-time.After(60 * time.Second):
		// Show where it is stuck: the stack, or this command.
		var dump bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&dump, 2)
		t.Fatalf("netfetch %q did not finish; goroutines:\n%s", args, dump.String())
		return 0, ""
	}
}

// rawRequest is the head of a request a raw server read, and its body.
type rawRequest struct {
	line   string
	header textproto.MIMEHeader
	body   []byte
}

// rawServer listens on 127.0.0.1 and, for every connection, reads one
// request and hands the connection to serve, which writes the exact bytes
// of a response. The connection is closed when serve returns, so a
// response that is not read-to-close must say "Connection: close": a client
// that pools the connection may otherwise pick it just as it closes, which
// is a test flake, not a bug. It returns
// the server's base URL ("http://127.0.0.1:port").
func rawServer(t *testing.T, serve func(c gonet.Conn, req *rawRequest)) string {
	t.Helper()
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	conns := make(map[gonet.Conn]struct{})
	var mu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				defer func() {
					c.Close()
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				}()
				// One request per connection: responses that end at the close
				// need it, and the others do not mind.
				req, err := readRawRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				serve(c, req)
			})
		}
	})
	return "http://" + ln.Addr().String()
}

func readRawRequest(br *bufio.Reader) (*rawRequest, error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return nil, err
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, err
	}
	req := &rawRequest{line: line, header: h}
	if n := h.Get("Content-Length"); n != "" {
		var size int
		for _, c := range n {
			size = size*10 + int(c-'0')
		}
		req.body = make([]byte, size)
		if _, err := io.ReadFull(br, req.body); err != nil {
			return nil, err
		}
	}
	return req, nil
}

// deadURL returns a URL on a port nothing listens on: we listen, note the
// port and close the listener.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/"
}

// expectCode fails the test when the run's exit code is not want.
func expectCode(t *testing.T, r result, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("exit code %d, want %d\nstdout: %.500q\nstderr: %s", r.code, want, r.stdout, r.stderr)
	}
}
