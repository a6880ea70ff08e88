package cache

import (
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
)

// Mode selects how the cache behaves.
type Mode int

// The cache modes Chromium keeps.
const (
	// Normal reads from and writes to the cache.
	Normal Mode = iota
	// Disable passes every transaction to the network.
	Disable
)

// HttpCache is the TransactionFactory URL requests use. It wraps the
// network layer (or any other factory).
type HttpCache struct {
	network http.TransactionFactory
	mode    Mode
}

// New returns a cache in front of network.
func New(network http.TransactionFactory, mode Mode) *HttpCache {
	return &HttpCache{network: network, mode: mode}
}

// Mode reports the cache's mode.
func (c *HttpCache) Mode() Mode { return c.mode }

// CreateTransaction implements http.TransactionFactory.
func (c *HttpCache) CreateTransaction(priority net.RequestPriority) http.Transaction {
	return &Transaction{network: c.network.CreateTransaction(priority)}
}

// Transaction is the cache's transaction. With no backend yet it is the
// pass-through path of Chromium's HttpCache::Transaction: every call goes
// to the network transaction it wraps.
type Transaction struct {
	network http.Transaction
}

var _ http.Transaction = (*Transaction)(nil)
