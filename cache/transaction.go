package cache

import (
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Start implements http.Transaction.
func (t *Transaction) Start(info *http.RequestInfo, cb net.CompletionCallback, nl netlog.WithSource) int {
	return t.network.Start(info, cb, nl)
}

// Read implements http.Transaction.
func (t *Transaction) Read(buf []byte, cb net.CompletionCallback) int { return t.network.Read(buf, cb) }

// Response implements http.Transaction.
func (t *Transaction) Response() *http.ResponseInfo { return t.network.Response() }

// LoadState implements http.Transaction.
func (t *Transaction) LoadState() net.LoadState { return t.network.LoadState() }

// SetPriority implements http.Transaction.
func (t *Transaction) SetPriority(p net.RequestPriority) { t.network.SetPriority(p) }

// Close implements http.Transaction.
func (t *Transaction) Close() { t.network.Close() }
