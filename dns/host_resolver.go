package dns

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// HostResolver creates resolution requests. Implementations are owned by a
// loop and used only from it.
type HostResolver interface {
	// CreateRequest prepares a lookup of host; port is copied into the
	// resulting addresses. Events are logged to nl (the caller's source).
	CreateRequest(host string, port uint16, params ResolveParams, nl netlog.WithSource) ResolveHostRequest
}

// CacheUsage says whether a request may be answered from the HostCache.
type CacheUsage int

// Cache usages (Chromium's ResolveHostParameters::CacheUsage).
const (
	// CacheAllowed answers from fresh cache entries.
	CacheAllowed CacheUsage = iota
	// CacheStaleAllowed also answers from expired entries.
	CacheStaleAllowed
	// CacheDisallowed always resolves.
	CacheDisallowed
)

// ResolveParams tune one request.
type ResolveParams struct {
	Priority net.RequestPriority
	// QueryType asks for one address family; QueryUnspecified for both.
	QueryType QueryType
	// CacheUsage says whether cached answers are acceptable.
	CacheUsage CacheUsage
	// Scheme is used only to describe the request in the NetLog
	// ("http://host:80"), as Chromium logs a scheme-host-port.
	Scheme string
}

// ResolveHostRequest is one lookup. Start it once; after it completes with
// OK, Addresses holds the result.
type ResolveHostRequest interface {
	// Start begins the lookup and returns OK or an error synchronously, or
	// IOPending and later calls cb on the loop.
	Start(cb net.CompletionCallback) int
	// Addresses returns the resolved endpoints after success.
	Addresses() net.AddressList
	// SetPriority changes the request's priority while it waits.
	SetPriority(p net.RequestPriority)
	// Cancel abandons the request; its callback will not run.
	Cancel()
}
