package urlrequest

import (
	"time"

	"github.com/netfetch/netfetch/cache"
	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/socket"
)

// DefaultUserAgent is sent when a request sets no User-Agent.
const DefaultUserAgent = "netfetch/0.1"

// Builder configures a Context. The zero value is usable; NewBuilder
// returns one.
type Builder struct {
	netLog             *netlog.NetLog
	maxSockets         int
	maxSocketsPerGroup int
	connectTimeout     time.Duration
	userAgent          string
	resolverFactory    func(*net.Loop) dns.HostResolver
}

// NewBuilder returns a Builder with Chromium's defaults.
func NewBuilder() *Builder { return &Builder{} }

// SetNetLog makes the Context log to nl.
func (b *Builder) SetNetLog(nl *netlog.NetLog) *Builder { b.netLog = nl; return b }

// SetMaxSockets caps the sockets in the pool (default 256).
func (b *Builder) SetMaxSockets(n int) *Builder { b.maxSockets = n; return b }

// SetMaxSocketsPerGroup caps the sockets per host (default 6).
func (b *Builder) SetMaxSocketsPerGroup(n int) *Builder { b.maxSocketsPerGroup = n; return b }

// SetConnectTimeout bounds each TCP connect job (default 4 minutes).
func (b *Builder) SetConnectTimeout(d time.Duration) *Builder { b.connectTimeout = d; return b }

// SetUserAgent sets the User-Agent sent when a request has none.
func (b *Builder) SetUserAgent(ua string) *Builder { b.userAgent = ua; return b }

// SetHostResolverFactory replaces the system resolver; the factory is
// called with the Context's loop.
func (b *Builder) SetHostResolverFactory(f func(*net.Loop) dns.HostResolver) *Builder {
	b.resolverFactory = f
	return b
}

// Build starts the Context's loop and builds its services.
func (b *Builder) Build() (*Context, error) {
	loop := net.NewLoop()
	nl := b.netLog
	if nl == nil {
		nl = netlog.New()
	}
	var resolver dns.HostResolver
	if b.resolverFactory != nil {
		resolver = b.resolverFactory(loop)
	} else {
		resolver = dns.NewSystemResolver(loop)
	}
	session := http.NewSession(http.SessionParams{
		Loop: loop, NetLog: nl, Resolver: resolver, ConnectTimeout: b.connectTimeout,
		Pool: socket.PoolOptions{MaxSockets: b.maxSockets, MaxSocketsPerGroup: b.maxSocketsPerGroup},
	})
	ua := b.userAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	c := &Context{
		loop:      loop,
		netLog:    nl,
		resolver:  resolver,
		session:   session,
		factory:   cache.New(http.NewNetworkLayer(session), cache.Normal),
		userAgent: ua,
		requests:  make(map[*Request]struct{}),
	}
	return c, nil
}

// Context owns the loop and the services requests share: the host
// resolver, the socket pools, the HTTP cache and the NetLog (Chromium's
// URLRequestContext). Fetch, RoundTripper, Close and PolledData may be
// called from any goroutine; everything else belongs to the loop.
type Context struct {
	loop      *net.Loop
	netLog    *netlog.NetLog
	resolver  dns.HostResolver
	session   *http.Session
	factory   http.TransactionFactory
	userAgent string

	// Loop-owned.
	requests map[*Request]struct{}
	closed   bool
}

// Loop returns the loop that owns the Context.
func (c *Context) Loop() *net.Loop { return c.loop }

// NetLog returns the Context's NetLog.
func (c *Context) NetLog() *netlog.NetLog { return c.netLog }

// TransactionFactory returns the factory requests take transactions from
// (the HTTP cache).
func (c *Context) TransactionFactory() http.TransactionFactory { return c.factory }

// PolledData collects the state netlog-viewer shows beside the events
// (proxy settings and socket pools today), for netlog.FileWriter.Close.
func (c *Context) PolledData() netlog.Params {
	var p netlog.Params
	if !c.loop.PostAndWait(func() {
		p = c.session.ProxyService().PolledData()
		p["socketPoolInfo"] = c.session.SocketPoolInfo()
	}) {
		return netlog.Params{}
	}
	return p
}

// Close cancels every live request with ErrAborted, closes idle sockets and
// stops the loop. It waits for the loop to finish.
func (c *Context) Close() {
	c.loop.PostAndWait(func() {
		if c.closed {
			return
		}
		c.closed = true
		for r := range c.requests {
			r.fail(int(net.ErrAborted))
		}
		c.session.Close()
	})
	c.loop.Shutdown()
}
