package proxy

import (
	"net/url"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// ResolutionService resolves the proxy for URLs. It is owned by a loop.
type ResolutionService interface {
	// ResolveProxy fills info with the routes for u. It returns OK or an
	// error at once, or IOPending with a request that can be cancelled,
	// and later calls cb on the loop (a PAC script may need to be fetched
	// and run first). Events go to nl.
	ResolveProxy(u *url.URL, info *Info, cb net.CompletionCallback, nl netlog.WithSource) (ResolveRequest, int)
	// ReportSuccess tells the service a request reached its destination
	// with info, so the routes it found bad on the way are skipped by
	// later requests.
	ReportSuccess(info *Info)
	// Now is the clock bad-route deadlines are measured by.
	Now() time.Time
	// PolledData is the service's state for the NetLog's polledData: the
	// proxySettings and badProxies keys netlog-viewer's Proxy tab reads.
	PolledData() netlog.Params
	// Close fails the resolutions in flight with ERR_ABORTED and stops
	// the service's background work.
	Close()
}

// ResolveRequest is a resolution in progress.
type ResolveRequest interface {
	// Cancel abandons the resolution; its callback will not run.
	Cancel()
	// LoadState says what the resolution waits for.
	LoadState() net.LoadState
}
