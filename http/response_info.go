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
	// WasCached is set when the response came from the HTTP cache, fresh
	// or revalidated; CacheEntryStatus says which.
	WasCached        bool
	CacheEntryStatus CacheEntryStatus
	// ConnectionReused is set when the response came over a socket that had
	// carried an earlier request.
	ConnectionReused bool
	// ALPN is the negotiated protocol, "http/1.1" when none was.
	ALPN string
}

// CacheEntryStatus says how the HTTP cache took part in a response
// (Chromium's HttpResponseInfo::CacheEntryStatus).
type CacheEntryStatus int

// Cache entry statuses.
const (
	// CacheEntryUnknown: no cache was involved.
	CacheEntryUnknown CacheEntryStatus = iota
	// CacheEntryUsed: served from the cache without asking the origin.
	CacheEntryUsed
	// CacheEntryValidated: the origin answered 304 to a conditional
	// request and the stored body was served.
	CacheEntryValidated
	// CacheEntryUpdated: a stored entry was replaced by the response.
	CacheEntryUpdated
	// CacheEntryNotInCache: nothing was stored; the response came from the
	// network.
	CacheEntryNotInCache
	// CacheEntryCantConditionalize: a stored entry had no validators, so
	// the response came from the network unconditionally.
	CacheEntryCantConditionalize
)

var cacheEntryStatusNames = [...]string{"unknown", "used", "validated", "updated", "not in cache", "cant conditionalize"}

// String names the status for -v output and logs.
func (s CacheEntryStatus) String() string {
	if s >= 0 && int(s) < len(cacheEntryStatusNames) {
		return cacheEntryStatusNames[s]
	}
	return "unknown"
}
