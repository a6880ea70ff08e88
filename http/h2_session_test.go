package http_test

import (
	"io"
	nethttp "net/http"
	"testing"
	"time"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/socket"
)

func okHandler(w nethttp.ResponseWriter, r *nethttp.Request) {
	io.WriteString(w, "ok "+r.URL.Path)
}

func TestH2SessionRefusesNonH2Socket(t *testing.T) {
	e := newH2EnvWith(t, nethttp.HandlerFunc(okHandler), h2EnvOptions{http1: true})
	h := e.socketHandle()
	nettest.OnLoop(t, e.loop, func() {
		if p := h.Socket().NegotiatedProtocol(); p == "h2" {
			t.Fatalf("the server negotiated %q", p)
		}
		s, err := http.NewH2Session(e.loop, e.key, h, e.nl)
		if s != nil || err != net.ErrALPNNegotiationFailed {
			t.Errorf("NewH2Session = %v, %v", s, err)
		}
		if !h.IsInitialized() {
			t.Error("a refused handle must keep its socket")
		}
		if _, err := http.NewH2Session(e.loop, e.key, &socket.ClientSocketHandle{}, e.nl); err != net.ErrInvalidArgument {
			t.Errorf("empty handle: %v", err)
		}
		h.Reset()
	})
}

// Streams started in the same task that made the session wait for its
// set-up, then run.
func TestH2StreamsBeforeSetUp(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(okHandler))
	h := e.socketHandle()
	out := make(chan h2Result, 3)
	var s *http.H2Session
	nettest.OnLoop(t, e.loop, func() {
		var err error
		s, err = http.NewH2Session(e.loop, e.key, h, e.nl)
		if err != nil {
			t.Fatal(err)
		}
		if h.IsInitialized() {
			t.Error("the session must take the socket out of the handle")
		}
		e.h2pool.Add(s, netlog.WithSource{})
		if !s.CanTakeNewRequest() || e.h2pool.Find(e.key, netlog.WithSource{}) != s {
			t.Error("a session being set up must be offered")
		}
		for range 3 {
			e.exchange(s, h2Request{path: "/early"}, out)
		}
	})
	for range 3 {
		if r := e.wait(out); r.rv != net.OK || string(r.body) != "ok /early" {
			t.Errorf("%v at %s: %q", net.Error(r.rv), r.stage, r.body)
		}
	}
}

// Closing a session that is still being set up fails its waiting streams
// (later, never inside Close) and hands the socket back.
func TestH2SessionClosedDuringSetUp(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(okHandler))
	h := e.socketHandle()
	out := make(chan h2Result, 1)
	nettest.OnLoop(t, e.loop, func() {
		s, err := http.NewH2Session(e.loop, e.key, h, e.nl)
		if err != nil {
			t.Fatal(err)
		}
		e.h2pool.Add(s, netlog.WithSource{})
		e.exchange(s, h2Request{}, out)
		s.Close()
		if len(out) != 0 {
			t.Error("a callback ran inside Close")
		}
		if !s.IsClosed() || s.CanTakeNewRequest() || e.h2pool.Len() != 0 {
			t.Error("the closed session is still usable")
		}
		if got := e.pool.Info()["handed_out_socket_count"]; got != 0 {
			t.Errorf("handed out %v", got)
		}
	})
	if r := e.wait(out); r.rv != int(net.ErrAborted) || r.stage != "send" {
		t.Errorf("waiting stream: %v at %s", net.Error(r.rv), r.stage)
	}
}

func TestH2SessionPool(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(okHandler))
	s := e.newSession()
	job := netlog.NewSource(e.nl, netlog.SourceHTTPStreamJob)
	nettest.OnLoop(t, e.loop, func() {
		other := e.key
		other.ProxyChain = "[https://proxy.test:443]"
		if e.h2pool.Find(other, job) != nil {
			t.Error("a session was found for another proxy chain")
		}
		other = e.key
		other.Group.PrivacyMode = true
		if e.h2pool.Find(other, job) != nil {
			t.Error("a session was found for another group")
		}
		if e.h2pool.Find(e.key, job) != s {
			t.Error("the session was not found")
		}
		e.h2pool.Add(s, job) // again: no duplicate
		if e.h2pool.Len() != 1 || len(e.h2pool.Info()) != 1 {
			t.Errorf("%d sessions", e.h2pool.Len())
		}
		if s.Key() != e.key {
			t.Errorf("key %v", s.Key())
		}
	})
	found := e.rec.One(t, netlog.EventHTTP2SessionPoolFoundExistingSession, netlog.PhaseNone, job.Source().ID)
	if dep := found.Params["source_dependency"].(netlog.Params); dep["id"] != s.NetLog().Source().ID {
		t.Errorf("FOUND_EXISTING_SESSION %v", found.Params)
	}

	// A second session for the same key: Find offers the first until it
	// goes.
	s2 := e.newSession()
	nettest.OnLoop(t, e.loop, func() {
		if e.h2pool.Len() != 2 || e.h2pool.Find(e.key, netlog.WithSource{}) != s {
			t.Error("want two sessions, the first offered")
		}
		s.Close()
		if e.h2pool.Find(e.key, netlog.WithSource{}) != s2 {
			t.Error("the second session is not offered after the first closed")
		}
		e.h2pool.CloseAll()
		if e.h2pool.Len() != 0 || len(e.h2pool.Info()) != 0 || !s2.IsClosed() {
			t.Error("CloseAll left sessions")
		}
		if got := e.pool.Info()["handed_out_socket_count"]; got != 0 {
			t.Errorf("handed out %v", got)
		}
	})
}

func TestH2HeadAndNoContent(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/204" {
			w.WriteHeader(204)
			return
		}
		w.Header().Set("Content-Length", "5")
		io.WriteString(w, "hello")
	}))
	s := e.newSession()
	for _, c := range []struct {
		method, path string
		status       int
	}{{"HEAD", "/", 200}, {"GET", "/204", 204}} {
		r := e.fetch(s, h2Request{method: c.method, path: c.path})
		if r.rv != net.OK || r.resp.Headers.StatusCode() != c.status || len(r.body) != 0 {
			t.Errorf("%s %s: %v, %d bytes", c.method, c.path, net.Error(r.rv), len(r.body))
		}
	}
}

// A stream closed while it waits for its response headers never calls
// back, and the server sees the stream cancelled.
func TestH2CloseWhileWaitingForHeaders(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-r.Context().Done():
				cancelled <- struct{}{}
			case <-time.After(nettest.HangGuard):
			}
			return
		}
		okHandler(w, r)
	}))
	s := e.newSession()
	cbs := make(chan int, 2)
	var st *http.H2Stream
	nettest.OnLoop(t, e.loop, func() {
		st = s.NewStream(netlog.WithSource{})
		var hdrs http.RequestHeaders
		info := &http.RequestInfo{Method: "GET", URL: h2MustURL(t, e.srv.URL+"/hang")}
		rv := st.SendRequest(info, "", &hdrs, &http.ResponseInfo{}, func(rv int) {
			cbs <- rv
			if rv == net.OK && st.ReadResponseHeaders(func(rv int) { cbs <- rv }) != net.IOPending {
				t.Error("headers cannot be there yet")
			}
		})
		if rv != net.IOPending {
			t.Errorf("SendRequest = %v", net.Error(rv))
		}
	})
	if rv := h2WaitRV(t, cbs); rv != net.OK {
		t.Fatalf("send: %v", net.Error(rv))
	}
	nettest.OnLoop(t, e.loop, func() { st.Close(false) })
	nettest.ExpectNone(t, cbs, "ReadResponseHeaders after Close")
	select {
	case <-cancelled:
	case <-time.After(nettest.HangGuard):
		t.Fatal("the server never saw the stream cancelled")
	}
	if r := e.fetch(s, h2Request{}); r.rv != net.OK {
		t.Errorf("after a cancelled stream: %v", net.Error(r.rv))
	}
}

func BenchmarkH2Get(b *testing.B) {
	e := newH2Env(b, nethttp.HandlerFunc(okHandler))
	s := e.newSession()
	b.ReportAllocs()
	for b.Loop() {
		if r := e.fetch(s, h2Request{}); r.rv != net.OK {
			b.Fatal(net.Error(r.rv))
		}
	}
}
