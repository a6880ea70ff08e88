package main

import (
	"fmt"
	"io"
	gonet "net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// connCounter counts, at the servers, the connections open at once and
// the most ever open.
type connCounter struct {
	open, max atomic.Int64
	// limit, when set, is the count the client must keep to. The client
	// closes an idle socket before it connects a new one to stay under it,
	// but the server may see the new connection before the old one's FIN;
	// so a count over the limit is taken only if it persists for a grace
	// period in which that FIN would have arrived.
	limit int64
}

const finGrace = 200 * time.Millisecond

func (c *connCounter) track(now int64, max *atomic.Int64) {
	for {
		m := max.Load()
		if now <= m || max.CompareAndSwap(m, now) {
			return
		}
	}
}

// slowServer answers after a short pause, so that parallel requests keep
// their connections busy and the limits are what bounds them.
func (c *connCounter) slowServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var open, max atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, r.URL.Path)
	}))
	srv.Config.ConnState = func(_ gonet.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			n := c.open.Add(1)
			for deadline := time.Now().Add(finGrace); c.limit > 0 && n > c.limit && time.Now().Before(deadline); n = c.open.Load() {
				time.Sleep(time.Millisecond)
			}
			c.track(n, &c.max)
			c.track(open.Add(1), &max)
		case http.StateClosed, http.StateHijacked:
			c.open.Add(-1)
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &max
}

// Thirty URLs on one host fetched thirty at a time never open more than
// six connections to it, and all thirty succeed.
func TestParallelFetchesKeepToSixConnectionsPerHost(t *testing.T) {
	var c connCounter
	base, max := c.slowServer(t)
	var urls []string
	for i := 0; i < 30; i++ {
		urls = append(urls, fmt.Sprintf("%s/%d", base, i))
	}
	r := netfetch(t, append([]string{"--parallel", "30"}, urls...)...)
	expectCode(t, r, 0)
	var want strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&want, "/%d", i)
	}
	if r.stdout != want.String() {
		t.Fatalf("output %q", r.stdout)
	}
	if m := max.Load(); m > 6 || m < 2 {
		t.Fatalf("at most %d connections were open at once, want 6 at most (and parallelism)", m)
	}
}

// Three hundred URLs over sixty hosts never have more than 256 connections
// open at once (the pool's limit), and all succeed.
func TestParallelFetchesKeepToThePoolLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 60 servers")
	}
	c := connCounter{limit: 256}
	var urls []string
	for h := 0; h < 60; h++ {
		base, _ := c.slowServer(t)
		for i := 0; i < 5; i++ {
			urls = append(urls, fmt.Sprintf("%s/%d-%d", base, h, i))
		}
	}
	r := netfetch(t, append([]string{"--parallel", "300", "-s"}, urls...)...)
	expectCode(t, r, 0)
	if got := strings.Count(r.stdout, "/"); got != 300 {
		t.Fatalf("%d bodies, want 300", got)
	}
	if m := c.max.Load(); m > 256 {
		t.Fatalf("%d connections were open at once over 60 hosts, want 256 at most", m)
	}
}
