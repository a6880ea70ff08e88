package http

import (
	"net/netip"
	"time"
)

// ResponseInfo is what a transaction learned about its response.
type ResponseInfo struct {
	Headers *ResponseHeaders
	// RequestTime and ResponseTime bracket the exchange, as the cache needs.
	RequestTime  time.Time
	ResponseTime time.Time
	// RemoteEndpoint is the address the response came from.
	RemoteEndpoint netip.AddrPort
	// WasCached is set when the response came from the HTTP cache.
	WasCached bool
	// ConnectionReused is set when the response came over a socket that had
	// carried an earlier request.
	ConnectionReused bool
	// ALPN is the negotiated protocol, "http/1.1" when none was.
	ALPN string
}
