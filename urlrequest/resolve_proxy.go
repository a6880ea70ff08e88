package urlrequest

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// ResolveProxy returns the routes a request for rawURL would try, in
// order, as the stack would use them: the configuration's rules or PAC
// script applied, bypass rules honoured and proxies known to be bad moved
// last. Nothing is fetched but the PAC file. It may be called from any
// goroutine; the error is a net.Error, wrapping ctx.Err() when ctx ends
// first.
func (c *Context) ResolveProxy(ctx context.Context, rawURL string) (proxy.List, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, net.ErrInvalidURL
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss":
	default:
		return nil, net.ErrDisallowedURLScheme
	}
	type result struct {
		list proxy.List
		rv   int
	}
	done := make(chan result, 1)
	var req proxy.ResolveRequest
	var info proxy.Info
	complete := func(rv int) { done <- result{info.List(), rv} }
	if !c.loop.Post(func() {
		nl := netlog.NewSource(c.netLog, netlog.SourceNone)
		var rv int
		req, rv = c.session.ProxyService().ResolveProxy(u, &info, complete, nl)
		if rv != net.IOPending {
			complete(rv)
		}
	}) {
		return nil, net.ErrAborted
	}
	select {
	case r := <-done:
		if r.rv != net.OK {
			return nil, net.Error(r.rv)
		}
		return r.list, nil
	case <-ctx.Done():
		c.loop.Post(func() {
			if req != nil {
				req.Cancel()
			}
		})
		return nil, fmt.Errorf("%w: %w", net.ErrAborted, ctx.Err())
	}
}
