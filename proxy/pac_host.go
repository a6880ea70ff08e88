package proxy

import (
	"context"
	"net/netip"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy/pac"
)

// pacHost answers a PAC script's DNS helpers with the stack's own host
// resolver. The script runs off the loop and may block, so each lookup is
// posted to the loop and its answer waited for (Chromium's blocking mode of
// the tracing resolver; the script's deadline bounds the wait).
type pacHost struct {
	loop     *net.Loop
	resolver dns.HostResolver
}

type pacNetLogKey struct{}

// withPACNetLog carries the request's NetLog source to the lookups its
// script makes.
func withPACNetLog(ctx context.Context, nl netlog.WithSource) context.Context {
	return context.WithValue(ctx, pacNetLogKey{}, nl)
}

type lookupResult struct {
	addrs []netip.Addr
	err   error
}

// Resolve implements pac.Host.
func (h *pacHost) Resolve(ctx context.Context, host string, ex bool) ([]netip.Addr, error) {
	if h.resolver == nil {
		return nil, net.ErrNameNotResolved
	}
	nl, _ := ctx.Value(pacNetLogKey{}).(netlog.WithSource)
	ch := make(chan lookupResult, 1)
	var req dns.ResolveHostRequest
	params := dns.ResolveParams{Priority: net.Highest, Scheme: "http"}
	if !ex {
		params.QueryType = dns.QueryA
	}
	posted := h.loop.Post(func() {
		if ctx.Err() != nil {
			ch <- lookupResult{err: ctx.Err()}
			return
		}
		req = h.resolver.CreateRequest(host, 0, params, nl)
		complete := func(rv int) {
			if rv != net.OK {
				ch <- lookupResult{err: net.Error(rv)}
				return
			}
			addrs := make([]netip.Addr, 0, len(req.Addresses()))
			for _, a := range req.Addresses() {
				addrs = append(addrs, a.Addr())
			}
			ch <- lookupResult{addrs: addrs}
		}
		if rv := req.Start(complete); rv != net.IOPending {
			complete(rv)
		}
	})
	if !posted {
		return nil, net.ErrAborted
	}
	select {
	case r := <-ch:
		return r.addrs, r.err
	case <-ctx.Done():
		// The cancel task runs after the start task; a request that has
		// completed meanwhile ignores it.
		h.loop.Post(func() {
			if req != nil {
				req.Cancel()
			}
		})
		return nil, ctx.Err()
	case <-h.loop.Done():
		return nil, net.ErrAborted
	}
}

// MyIPAddresses implements pac.Host with Chromium's myIpAddress algorithm.
func (h *pacHost) MyIPAddresses(ctx context.Context, ex bool) ([]netip.Addr, error) {
	return pac.LocalAddresses(ctx, ex, func(ctx context.Context, host string) ([]netip.Addr, error) {
		return h.Resolve(ctx, host, true)
	})
}
