package http

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Transaction carries one request and its response (Chromium's
// HttpTransaction): the HTTP cache's transactions and network transactions
// both implement it, so URL requests do not care which they hold.
type Transaction interface {
	// Start sends the request and reads the response headers. It returns
	// OK, an error, or IOPending and later calls cb on the loop.
	Start(info *RequestInfo, cb net.CompletionCallback, nl netlog.WithSource) int
	// Read reads response body bytes: a count, 0 at the end, an error, or
	// IOPending. buf belongs to the transaction until cb runs.
	Read(buf []byte, cb net.CompletionCallback) int
	// Response returns what is known of the response once Start succeeded.
	Response() *ResponseInfo
	// LoadState says what the transaction is waiting for.
	LoadState() net.LoadState
	// SetPriority changes the priority of the request.
	SetPriority(p net.RequestPriority)
	// Close abandons the transaction and releases its connection; pending
	// callbacks will not run.
	Close()
}

// TransactionFactory makes transactions; the HTTP cache is one that wraps
// the network layer.
type TransactionFactory interface {
	CreateTransaction(priority net.RequestPriority) Transaction
}
