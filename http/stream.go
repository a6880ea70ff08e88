package http

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Stream is one request/response exchange on a connection (Chromium's
// HttpStream). BasicStream speaks HTTP/1.1; HTTP/2 streams come later.
type Stream interface {
	// SendRequest writes the request line, headers and body.
	SendRequest(info *RequestInfo, requestLine string, headers *RequestHeaders, response *ResponseInfo, cb net.CompletionCallback) int
	// ReadResponseHeaders reads until the final (non-1xx) response head.
	ReadResponseHeaders(cb net.CompletionCallback) int
	// ReadResponseBody reads body bytes: a count, 0 at the end, or an error.
	ReadResponseBody(buf []byte, cb net.CompletionCallback) int
	// Close releases the connection, back to the pool if it can carry
	// another request and notReusable is false.
	Close(notReusable bool)
	// IsResponseBodyComplete reports whether the whole body was read.
	IsResponseBodyComplete() bool
	// IsConnectionReused reports whether the connection carried earlier
	// requests (so a failure may be a keep-alive race worth one retry).
	IsConnectionReused() bool
	// ReceivedBytes counts response bytes read from the connection.
	ReceivedBytes() int64
	// SocketSource is the NetLog source of the underlying socket.
	SocketSource() netlog.Source
}
