package http

import (
	"crypto/tls"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/socket"
)

// SessionParams configure a Session.
type SessionParams struct {
	Loop     *net.Loop
	NetLog   *netlog.NetLog
	Resolver dns.HostResolver
	// ProxyService picks the route for each request; nil means direct.
	ProxyService proxy.ResolutionService
	// Pools sets the socket limits (6 per group, 256 direct, 32 per proxy)
	// and idle timeouts; zero fields keep Chromium's values.
	Pools socket.PoolManagerOptions
	// Timeouts override the per-layer connect job timeouts.
	Timeouts socket.Timeouts
	// SSL is the TLS configuration; nil means system roots, verification
	// on, and a session cache of the session's own.
	SSL *socket.SSLConfig
	// UserAgent is sent with CONNECT requests to proxies.
	UserAgent string
}

// Session holds what network transactions share: the socket pool and the
// stream factory (Chromium's HttpNetworkSession).
type Session struct {
	loop    *net.Loop
	nl      *netlog.NetLog
	pools   *socket.PoolManager
	h2pool  *H2SessionPool
	common  *socket.CommonConnectJobParams
	factory *StreamFactory
	proxies proxy.ResolutionService
	// drainers are the bodies being read to the end so that their
	// connections can be reused; Close stops them.
	drainers map[*bodyDrainer]struct{}
}

// NewSession builds a session on p.Loop.
func NewSession(p SessionParams) *Session {
	s := &Session{loop: p.Loop, nl: p.NetLog, drainers: make(map[*bodyDrainer]struct{})}
	s.proxies = p.ProxyService
	if s.proxies == nil {
		s.proxies = proxy.NewDirectService()
	}
	ssl := p.SSL
	if ssl == nil {
		ssl = &socket.SSLConfig{}
	}
	if ssl.SessionCache == nil {
		copied := *ssl
		copied.SessionCache = tls.NewLRUClientSessionCache(0)
		ssl = &copied
	}
	s.common = &socket.CommonConnectJobParams{
		Loop: p.Loop, NetLog: p.NetLog, Resolver: p.Resolver,
		Timeouts: p.Timeouts, SSL: ssl,
		Tunnels: &TunnelJobFactory{UserAgent: p.UserAgent, AuthCache: NewProxyAuthCache()},
	}
	s.pools = socket.NewPoolManager(p.Loop, p.NetLog, p.Pools, func(chain proxy.Chain) socket.ConnectJobFactory {
		return socket.NewChainJobFactory(s.common, chain)
	})
	s.h2pool = NewH2SessionPool()
	s.factory = &StreamFactory{session: s}
	return s
}

// Loop returns the session's loop.
func (s *Session) Loop() *net.Loop { return s.loop }

// NetLog returns the session's NetLog.
func (s *Session) NetLog() *netlog.NetLog { return s.nl }

// StreamFactory returns the factory that finds streams for transactions.
func (s *Session) StreamFactory() *StreamFactory { return s.factory }

// SocketPools returns the pool manager: one socket pool per proxy chain.
func (s *Session) SocketPools() *socket.PoolManager { return s.pools }

// ProxyService returns the service that resolves proxies for requests.
func (s *Session) ProxyService() proxy.ResolutionService { return s.proxies }

// H2SessionPool returns the pool of HTTP/2 sessions.
func (s *Session) H2SessionPool() *H2SessionPool { return s.h2pool }

// SocketPoolInfo is polledData.socketPoolInfo: one entry per pool.
func (s *Session) SocketPoolInfo() []netlog.Params {
	return s.pools.Info()
}

// Close stops proxy resolutions in flight, closes idle sockets and the
// connections of bodies being drained, and fails requests waiting in the
// pool.
func (s *Session) Close() {
	s.proxies.Close()
	s.h2pool.CloseAll()
	for d := range s.drainers {
		d.finish(false)
	}
	s.pools.Close()
}

// NetworkLayer is the TransactionFactory that makes network transactions.
type NetworkLayer struct{ session *Session }

// NewNetworkLayer returns a factory of transactions on session.
func NewNetworkLayer(session *Session) *NetworkLayer { return &NetworkLayer{session: session} }

// CreateTransaction implements TransactionFactory.
func (l *NetworkLayer) CreateTransaction(priority net.RequestPriority) Transaction {
	return NewNetworkTransaction(priority, l.session)
}

// Session returns the layer's session.
func (l *NetworkLayer) Session() *Session { return l.session }
