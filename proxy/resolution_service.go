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

// DirectService is the ResolutionService of a direct configuration: every
// URL is reached without a proxy.
type DirectService struct{}

// NewDirectService returns a service that always answers DIRECT.
func NewDirectService() *DirectService { return &DirectService{} }

// ResolveProxy implements ResolutionService; it always completes at once.
func (s *DirectService) ResolveProxy(u *url.URL, info *Info, _ net.CompletionCallback, nl netlog.WithSource) int {
	nl.BeginEvent(netlog.EventProxyResolutionService, nil)
	*info = DirectInfo()
	nl.AddEvent(netlog.EventProxyResolutionServiceResolvedProxyList, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"proxy_info": info.String()}
	})
	nl.EndEvent(netlog.EventProxyResolutionService, nil)
	return net.OK
}

// PolledData implements ResolutionService. A direct configuration is an
// empty ProxyConfig in Chromium's dump.
func (s *DirectService) PolledData() netlog.Params {
	return netlog.Params{
		"proxySettings": netlog.Params{"original": netlog.Params{}, "effective": netlog.Params{}},
		"badProxies":    []netlog.Params{},
	}
}
