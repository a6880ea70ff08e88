// Package testserver holds servers for the stack's tests: a raw TCP server
// whose handler writes scripted bytes (malformed heads, bodies cut short,
// one byte at a time) and an httptest wrapper that counts the connections it
// sees, plus a goroutine-leak check.
//
// Nothing here is specific to netfetch: the servers speak plain TCP and
// net/http, so the stack under test is only ever a client of them.
package testserver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// RawServer is a TCP server on 127.0.0.1 that runs a handler for each
// connection it accepts. It closes each connection when its handler returns.
type RawServer struct {
	// Addr is "127.0.0.1:port"; URL is "http://127.0.0.1:port".
	Addr string
	URL  string

	ln       net.Listener
	handler  func(*Conn)
	accepted atomic.Int64
	open     atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   chan struct{}
	once     sync.Once
}

// NewRaw starts a RawServer; it is closed when the test ends.
func NewRaw(tb testing.TB, handler func(*Conn)) *RawServer {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("testserver: listen: %v", err)
	}
	s := &RawServer{
		Addr:    ln.Addr().String(),
		URL:     "http://" + ln.Addr().String(),
		ln:      ln,
		handler: handler,
		conns:   make(map[net.Conn]struct{}),
		closed:  make(chan struct{}),
	}
	s.wg.Add(1)
	go s.serve()
	tb.Cleanup(s.Close)
	return s
}

func (s *RawServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.open.Add(1)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				c.Close()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				s.open.Add(-1)
			}()
			s.handler(&Conn{Conn: c, R: bufio.NewReader(c), srv: s})
		}()
	}
}

// Accepted is the number of connections accepted so far.
func (s *RawServer) Accepted() int { return int(s.accepted.Load()) }

// Open is the number of connections whose handler is still running.
func (s *RawServer) Open() int { return int(s.open.Load()) }

// Done is closed when the server is closed; handlers that stall should
// wait on it so that they end with the test.
func (s *RawServer) Done() <-chan struct{} { return s.closed }

// Close stops the listener, closes every connection and waits for the
// handlers to return. It is safe to call more than once.
func (s *RawServer) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

// Conn is one accepted connection, with a buffered reader for requests.
type Conn struct {
	net.Conn
	R   *bufio.Reader
	srv *RawServer
}

// Server returns the server the connection belongs to.
func (c *Conn) Server() *RawServer { return c.srv }

// ReadRequest reads one request and its whole body (Content-Length or
// chunked), so that closing the connection afterwards sends a FIN and not a
// reset for unread bytes.
func (c *Conn) ReadRequest() (*http.Request, []byte, error) {
	req, err := http.ReadRequest(c.R)
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		return req, body, err
	}
	return req, body, nil
}

// WriteString writes s in one write; errors are ignored (the client may
// have gone away, which is what some tests want).
func (c *Conn) WriteString(s string) { _, _ = io.WriteString(c.Conn, s) }

// WriteSlowly writes s one byte per write, sleeping delay between bytes. It
// stops early if the server closes or a write fails.
func (c *Conn) WriteSlowly(s string, delay time.Duration) error {
	for i := 0; i < len(s); i++ {
		if _, err := c.Conn.Write([]byte{s[i]}); err != nil {
			return err
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-c.srv.closed:
				return errors.New("testserver: closed")
			}
		}
	}
	return nil
}

// Stall blocks until the client closes the connection or the server is
// closed, discarding anything the client sends.
func (c *Conn) Stall() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(io.Discard, c.R)
	}()
	select {
	case <-done:
	case <-c.srv.closed:
		c.Conn.Close()
		<-done
	}
}

// Respond returns a handler that reads one request, writes raw and closes
// the connection.
func Respond(raw string) func(*Conn) {
	return func(c *Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		c.WriteString(raw)
	}
}

// RespondAndStall returns a handler that reads one request, writes raw and
// then keeps the connection open until the client or the server closes it.
func RespondAndStall(raw string) func(*Conn) {
	return func(c *Conn) {
		if _, _, err := c.ReadRequest(); err != nil {
			return
		}
		c.WriteString(raw)
		c.Stall()
	}
}

// HTTPServer is an httptest.Server that counts connections through
// ConnState.
type HTTPServer struct {
	*httptest.Server

	newConns    atomic.Int64
	closedConns atomic.Int64
	requests    atomic.Int64
}

// NewHTTP starts an HTTPServer running h; it is closed when the test ends.
func NewHTTP(tb testing.TB, h http.Handler) *HTTPServer {
	tb.Helper()
	s := &HTTPServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		h.ServeHTTP(w, r)
	}))
	s.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.newConns.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.closedConns.Add(1)
		}
	}
	s.Server.Start()
	tb.Cleanup(s.Server.Close)
	return s
}

// NewConns is the number of connections the server accepted.
func (s *HTTPServer) NewConns() int { return int(s.newConns.Load()) }

// OpenConns is the number of accepted connections not yet closed.
func (s *HTTPServer) OpenConns() int { return int(s.newConns.Load() - s.closedConns.Load()) }

// Requests is the number of requests the handler has seen.
func (s *HTTPServer) Requests() int { return int(s.requests.Load()) }

// WaitAllClosed polls until the server has seen every connection close, for
// at most timeout. It reports whether they all closed.
func (s *HTTPServer) WaitAllClosed(timeout time.Duration) bool {
	return Eventually(timeout, func() bool { return s.OpenConns() == 0 })
}

// WaitAllClosed polls until no handler of the raw server is running (every
// connection was closed by the client or the handler), for at most timeout.
func (s *RawServer) WaitAllClosed(timeout time.Duration) bool {
	return Eventually(timeout, func() bool { return s.Open() == 0 })
}

// Eventually polls cond every few milliseconds until it holds or timeout
// passes, and reports whether it held.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
