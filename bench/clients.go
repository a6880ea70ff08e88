package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	gonet "net"
	"net/http"
	"strconv"

	"github.com/netfetch/netfetch/urlrequest"
)

// bodySize is the size of the response body every scenario fetches.
const bodySize = 1 << 10

// startServer starts a plain net/http HTTP/1.1 server on 127.0.0.1 (keep-alive
// on, as by default) that answers every request with bodySize bytes. It
// returns the URL to fetch and a function that stops the server.
func startServer() (string, func(), error) {
	body := bytes.Repeat([]byte("0123456789abcdef"), bodySize/16)
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	})}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/1k", func() { srv.Close() }, nil
}

// getter performs one GET, reads the body to its end and closes it.
type getter func(ctx context.Context) error

// newNetfetch returns a getter on a fresh netfetch Context allowing
// socketsPerHost connections to the server, and the Context's Close.
func newNetfetch(url string, socketsPerHost int) (getter, func(), error) {
	c, err := urlrequest.NewBuilder().
		SetMaxSocketsPerGroup(socketsPerHost).
		SetMaxSockets(max(256, socketsPerHost)).
		Build()
	if err != nil {
		return nil, nil, err
	}
	// Fetch only reads the request, so one is shared by every goroutine.
	req := &urlrequest.FetchRequest{URL: url}
	get := func(ctx context.Context) error {
		resp, err := c.Fetch(ctx, req)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return checkBody(resp.StatusCode, n, err)
	}
	return get, c.Close, nil
}

// newNetHTTP returns a getter on a net/http Client with its own copy of the
// default Transport, allowed to keep idleConns idle connections to the
// server (the default of 2 would make it reconnect under concurrency, which
// no real program that cares would accept).
func newNetHTTP(url string, idleConns int) (getter, func(), error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = idleConns
	tr.MaxIdleConns = max(tr.MaxIdleConns, idleConns)
	return clientGetter(&http.Client{Transport: tr}, url, bodySize), tr.CloseIdleConnections, nil
}

// clientGetter GETs url with client and checks for a size-byte body.
func clientGetter(client *http.Client, url string, size int64) getter {
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return checkSize(resp.StatusCode, n, err, size)
	}
}

// checkBody makes sure a client really fetched the whole body: a benchmark
// of failures would be fast and meaningless.
func checkBody(status int, n int64, err error) error { return checkSize(status, n, err, bodySize) }

// checkSize is checkBody for a body of size bytes.
func checkSize(status int, n int64, err error, size int64) error {
	switch {
	case err != nil:
		return err
	case status != http.StatusOK:
		return fmt.Errorf("status %d", status)
	case n != size:
		return fmt.Errorf("body of %d bytes, want %d", n, size)
	}
	return nil
}
