package http

import (
	"time"

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
	Pool         socket.PoolOptions
	// ConnectTimeout overrides the TCP connect job's 4 minute timeout.
	ConnectTimeout time.Duration
}

// Session holds what network transactions share: the socket pool and the
// stream factory (Chromium's HttpNetworkSession).
type Session struct {
	loop    *net.Loop
	nl      *netlog.NetLog
	pool    *socket.ClientSocketPool
	factory *StreamFactory
	proxies proxy.ResolutionService
	// drainers are the bodies being read to the end so that their
	// connections can be reused; Close stops them.
	drainers map[*bodyDrainer]struct{}
}

// NewSession builds a session on p.Loop.
func NewSession(p SessionParams) *Session {
	s := &Session{loop: p.Loop, nl: p.NetLog, drainers: make(map[*bodyDrainer]struct{})}
	jobs := &socket.TransportConnectJobFactory{
		Loop: p.Loop, NetLog: p.NetLog, Resolver: p.Resolver, Timeout: p.ConnectTimeout,
	}
	s.proxies = p.ProxyService
	if s.proxies == nil {
		s.proxies = proxy.NewDirectService()
	}
	s.pool = socket.NewClientSocketPool(p.Loop, p.NetLog, "[direct://]", jobs, p.Pool)
	s.factory = &StreamFactory{session: s}
	return s
}

// Loop returns the session's loop.
func (s *Session) Loop() *net.Loop { return s.loop }

// NetLog returns the session's NetLog.
func (s *Session) NetLog() *netlog.NetLog { return s.nl }

// StreamFactory returns the factory that finds streams for transactions.
func (s *Session) StreamFactory() *StreamFactory { return s.factory }

// SocketPool returns the direct socket pool.
func (s *Session) SocketPool() *socket.ClientSocketPool { return s.pool }

// ProxyService returns the service that resolves proxies for requests.
func (s *Session) ProxyService() proxy.ResolutionService { return s.proxies }

// SocketPoolInfo is polledData.socketPoolInfo: one entry per pool.
func (s *Session) SocketPoolInfo() []netlog.Params {
	return []netlog.Params{s.pool.Info()}
}

// Close closes idle sockets, the connections of bodies being drained, and
// fails requests waiting in the pool.
func (s *Session) Close() {
	for d := range s.drainers {
		d.finish(false)
	}
	s.pool.Close()
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
