package socket

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// DefaultMaxSocketsPerProxy is the socket limit of each proxied pool: the
// design card's 32 (Chromium's kDefaultMaxSocketsPerProxyServer; Chrome
// raises it to 128 by a default-on feature).
const DefaultMaxSocketsPerProxy = 32

// PoolManagerOptions configure a PoolManager; zero fields take the
// defaults (256 sockets in the direct pool, 6 per group, 32 per proxy).
type PoolManagerOptions struct {
	MaxSockets         int
	MaxSocketsPerGroup int
	MaxSocketsPerProxy int
	Pool               PoolOptions // idle timeouts
}

// PoolManager keeps one ClientSocketPool per proxy chain, made on first
// use (Chromium's ClientSocketPoolManager). The direct pool holds at most
// MaxSockets sockets; each proxied pool at most MaxSocketsPerProxy, and at
// most min(MaxSocketsPerProxy, MaxSocketsPerGroup) per group.
type PoolManager struct {
	loop       *net.Loop
	nl         *netlog.NetLog
	opts       PoolManagerOptions
	factoryFor func(proxy.Chain) ConnectJobFactory
	pools      map[string]*ClientSocketPool
	order      []string // chain keys in creation order, for stable dumps
}

// NewPoolManager returns a manager whose pools get their connect jobs from
// factoryFor(chain).
func NewPoolManager(loop *net.Loop, nl *netlog.NetLog, opts PoolManagerOptions, factoryFor func(proxy.Chain) ConnectJobFactory) *PoolManager {
	if opts.MaxSockets <= 0 {
		opts.MaxSockets = DefaultMaxSockets
	}
	if opts.MaxSocketsPerGroup <= 0 {
		opts.MaxSocketsPerGroup = DefaultMaxSocketsPerGroup
	}
	if opts.MaxSocketsPerProxy <= 0 {
		opts.MaxSocketsPerProxy = DefaultMaxSocketsPerProxy
	}
	return &PoolManager{loop: loop, nl: nl, opts: opts, factoryFor: factoryFor, pools: make(map[string]*ClientSocketPool)}
}

// Options returns the limits in force.
func (m *PoolManager) Options() PoolManagerOptions { return m.opts }

// GetSocketPool returns the pool for chain, creating it on first use.
func (m *PoolManager) GetSocketPool(chain proxy.Chain) *ClientSocketPool {
	key := chain.Key()
	if p := m.pools[key]; p != nil {
		return p
	}
	opts := m.opts.Pool
	if chain.IsDirect() {
		opts.MaxSockets = m.opts.MaxSockets
		opts.MaxSocketsPerGroup = m.opts.MaxSocketsPerGroup
	} else {
		opts.MaxSockets = m.opts.MaxSocketsPerProxy
		opts.MaxSocketsPerGroup = min(m.opts.MaxSocketsPerProxy, m.opts.MaxSocketsPerGroup)
	}
	p := NewClientSocketPool(m.loop, m.nl, chain.String(), m.factoryFor(chain), opts)
	m.pools[key] = p
	m.order = append(m.order, key)
	return p
}

// Close closes every pool (see ClientSocketPool.Close).
func (m *PoolManager) Close() {
	for _, key := range m.order {
		m.pools[key].Close()
	}
}

// Info is polledData.socketPoolInfo: one entry per pool.
func (m *PoolManager) Info() []netlog.Params {
	out := make([]netlog.Params, 0, len(m.order))
	for _, key := range m.order {
		out = append(out, m.pools[key].Info())
	}
	return out
}
