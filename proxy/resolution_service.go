package proxy

import (
	"net/url"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// ResolutionService resolves the proxy for URLs. It is owned by a loop.
type ResolutionService interface {
	// ResolveProxy fills info with the routes for u. It returns OK or an
	// error at once, or IOPending and later calls cb on the loop (a PAC
	// script may need to be fetched and run first). Events go to nl.
	ResolveProxy(u *url.URL, info *Info, cb net.CompletionCallback, nl netlog.WithSource) int
	// PolledData is the service's state for the NetLog's polledData: the
	// proxySettings and badProxies keys netlog-viewer's Proxy tab reads.
	PolledData() netlog.Params
}
