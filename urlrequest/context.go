package urlrequest

import (
	"crypto/x509"
	"net/netip"
	"time"

	"github.com/netfetch/netfetch/cache"
	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
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
	maxSocketsPerProxy int
	timeouts           socket.Timeouts
	userAgent          string
	resolverFactory    func(*net.Loop) dns.HostResolver
	proxyConfig        *proxy.Config
	proxyServer        proxy.Server
	proxyBypass        *proxy.BypassRules
	pacTimeLimit       time.Duration
	cacheKind          cacheKind
	cacheDir           string
	cacheSize          int64
	rootCAs            *x509.CertPool
	insecure           bool
	resolverOptions    dns.ManagerOptions
	dnsServers         []netip.AddrPort
}

// NewBuilder returns a Builder with Chromium's defaults.
func NewBuilder() *Builder { return &Builder{} }

// SetNetLog makes the Context log to nl.
func (b *Builder) SetNetLog(nl *netlog.NetLog) *Builder { b.netLog = nl; return b }

// SetMaxSockets caps the sockets in the pool (default 256).
func (b *Builder) SetMaxSockets(n int) *Builder { b.maxSockets = n; return b }

// SetMaxSocketsPerGroup caps the sockets per host (default 6).
func (b *Builder) SetMaxSocketsPerGroup(n int) *Builder { b.maxSocketsPerGroup = n; return b }

// SetMaxSocketsPerProxy caps the sockets to each proxy (default 32).
func (b *Builder) SetMaxSocketsPerProxy(n int) *Builder { b.maxSocketsPerProxy = n; return b }

// SetConnectTimeout bounds each layer of making a connection: the TCP
// connect (default 4 minutes), the TLS handshake, the SOCKS handshake and
// the CONNECT tunnel (30 s each by default).
func (b *Builder) SetConnectTimeout(d time.Duration) *Builder {
	b.timeouts = socket.Timeouts{TCP: d, TLS: d, SOCKS: d, Tunnel: d}
	return b
}

// SetTimeouts sets the connect job timeouts layer by layer.
func (b *Builder) SetTimeouts(t socket.Timeouts) *Builder { b.timeouts = t; return b }

// SetProxy sends every request through server (see proxy.ParseServerURI),
// except loopback and link-local destinations unless the bypass rules say
// "<-loopback>". proxy.Direct() turns proxies off. SetProxyConfig takes
// precedence.
func (b *Builder) SetProxy(server proxy.Server) *Builder { b.proxyServer = server; return b }

// SetProxyConfig sets the whole proxy configuration: manual rules (see
// proxy.ParseRules), a PAC URL, auto-detection (WPAD), or one read from
// the environment with proxy.ConfigFromEnv. The default is direct.
func (b *Builder) SetProxyConfig(c proxy.Config) *Builder { b.proxyConfig = &c; return b }

// SetProxyBypass sets the proxy bypass rules (see proxy.ParseBypassRules),
// replacing those of the configuration.
func (b *Builder) SetProxyBypass(rules proxy.BypassRules) *Builder { b.proxyBypass = &rules; return b }

// SetPACTimeLimit bounds each run of a PAC script (default 5 s); a script
// that runs longer fails, and the request goes direct unless the PAC is
// mandatory.
func (b *Builder) SetPACTimeLimit(d time.Duration) *Builder { b.pacTimeLimit = d; return b }

type cacheKind int

const (
	noCache cacheKind = iota
	memoryCache
	diskCache
)

// SetMemoryCache turns on an HTTP cache held in memory, at most maxBytes
// (0: 10 MiB). By default a Context has no cache, as net/http has none.
func (b *Builder) SetMemoryCache(maxBytes int64) *Builder {
	b.cacheKind, b.cacheSize = memoryCache, maxBytes
	return b
}

// SetDiskCache turns on an HTTP cache in dir, at most maxBytes (0: 80 MiB),
// shared across runs. If dir cannot be used (another process holds it,
// no permission), the Context runs without a cache and CacheError says
// why.
func (b *Builder) SetDiskCache(dir string, maxBytes int64) *Builder {
	b.cacheKind, b.cacheDir, b.cacheSize = diskCache, dir, maxBytes
	return b
}

// openCacheBackend makes the configured backend; a disk cache that cannot
// be opened leaves none, and the reason.
func (b *Builder) openCacheBackend() (cache.Backend, error) {
	switch b.cacheKind {
	case memoryCache:
		return cache.NewMemoryBackend(b.cacheSize), nil
	case diskCache:
		d, err := cache.OpenDiskBackend(b.cacheDir, b.cacheSize)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, nil
}

// proxyConfigToUse merges SetProxyConfig, SetProxy and SetProxyBypass.
func (b *Builder) proxyConfigToUse() proxy.Config {
	cfg := proxy.DirectConfig()
	switch {
	case b.proxyConfig != nil:
		cfg = *b.proxyConfig
	case b.proxyServer.Scheme != proxy.SchemeInvalid && !b.proxyServer.IsDirect():
		cfg.Rules = proxy.Rules{Type: proxy.RulesList, Single: proxy.List{{b.proxyServer}}}
	}
	if b.proxyBypass != nil {
		cfg.Rules.Bypass = *b.proxyBypass
	}
	return cfg
}

// SetRootCAs sets the certificate authorities TLS trusts; nil means the
// system's.
func (b *Builder) SetRootCAs(pool *x509.CertPool) *Builder { b.rootCAs = pool; return b }

// SetInsecureSkipVerify turns certificate verification off (curl's -k).
func (b *Builder) SetInsecureSkipVerify(insecure bool) *Builder { b.insecure = insecure; return b }

// SetUserAgent sets the User-Agent sent when a request has none.
func (b *Builder) SetUserAgent(ua string) *Builder { b.userAgent = ua; return b }

// SetDNSServers makes the built-in DNS client ask these servers instead of
// the ones in /etc/resolv.conf (whose search list and options still apply).
func (b *Builder) SetDNSServers(servers []netip.AddrPort) *Builder { b.dnsServers = servers; return b }

// SetSystemDNS resolves names with the operating system (getaddrinfo)
// instead of the built-in DNS client.
func (b *Builder) SetSystemDNS(system bool) *Builder {
	b.resolverOptions.SystemResolver = system
	return b
}

// SetHostResolverRules remaps or refuses names before they are resolved
// (Chromium's --host-resolver-rules, curl's --resolve).
func (b *Builder) SetHostResolverRules(rules dns.HostResolverRules) *Builder {
	b.resolverOptions.Rules = rules
	return b
}

// SetHostCache sizes the host cache (default 1000 entries); 0 turns it off.
func (b *Builder) SetHostCache(entries int) *Builder {
	b.resolverOptions.CacheEntries = entries
	b.resolverOptions.DisableCache = entries == 0
	return b
}

// SetMaxConcurrentResolves bounds the host resolutions in flight (default 8).
func (b *Builder) SetMaxConcurrentResolves(n int) *Builder {
	b.resolverOptions.MaxConcurrentJobs = n
	return b
}

// SetHostResolverFactory replaces the host resolver; the factory is called
// with the Context's loop.
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
	var manager *dns.HostResolverManager
	if b.resolverFactory != nil {
		resolver = b.resolverFactory(loop)
	} else {
		opts := b.resolverOptions
		if len(b.dnsServers) > 0 {
			cfg, _ := dns.ReadDNSConfig("/etc/resolv.conf", "/etc/hosts")
			cfg.Nameservers = b.dnsServers
			opts.Config = &cfg
		}
		loop.PostAndWait(func() { manager = dns.NewHostResolverManager(loop, nl, opts) })
		resolver = manager
	}
	ua := b.userAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	pacFetcher := &pacFetcher{timeout: proxy.PACFetchTimeout}
	proxyService := proxy.NewService(proxy.ServiceParams{
		Loop: loop, NetLog: nl, Config: b.proxyConfigToUse(), Fetcher: pacFetcher,
		Resolver: resolver, PACTimeLimit: b.pacTimeLimit,
	})
	session := http.NewSession(http.SessionParams{
		Loop: loop, NetLog: nl, Resolver: resolver,
		ProxyService: proxyService,
		Pools: socket.PoolManagerOptions{
			MaxSockets: b.maxSockets, MaxSocketsPerGroup: b.maxSocketsPerGroup, MaxSocketsPerProxy: b.maxSocketsPerProxy,
		},
		Timeouts:  b.timeouts,
		SSL:       &socket.SSLConfig{RootCAs: b.rootCAs, Insecure: b.insecure},
		UserAgent: ua,
	})
	backend, cacheErr := b.openCacheBackend()
	c := &Context{
		cacheErr: cacheErr,
		loop:     loop,
		netLog:   nl,
		resolver: resolver,
		manager:  manager,
		session:  session,
		httpCache: cache.NewHttpCache(cache.Params{
			Loop: loop, NetLog: nl, Network: http.NewNetworkLayer(session), Mode: cache.Normal, Backend: backend,
		}),
		userAgent: ua,
		requests:  make(map[*Request]struct{}),
	}
	pacFetcher.ctx = c
	c.pacFetcher = pacFetcher
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
	manager   *dns.HostResolverManager // nil with a custom resolver
	session   *http.Session
	httpCache *cache.HttpCache
	// cacheErr says why the configured disk cache is not in use.
	cacheErr  error
	userAgent string
	// pacFetcher downloads PAC files for the proxy service.
	pacFetcher *pacFetcher

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
func (c *Context) TransactionFactory() http.TransactionFactory { return c.httpCache }

// CacheError is why the disk cache asked for with SetDiskCache is not in
// use (the directory is locked by another process, or cannot be written),
// or nil.
func (c *Context) CacheError() error { return c.cacheErr }

// PolledData collects the state netlog-viewer shows beside the events
// (proxy settings, socket pools, HTTP/2 sessions), for
// netlog.FileWriter.Close.
func (c *Context) PolledData() netlog.Params {
	var p netlog.Params
	if !c.loop.PostAndWait(func() {
		p = c.session.ProxyService().PolledData()
		p["socketPoolInfo"] = c.session.SocketPoolInfo()
		p["spdySessionInfo"] = c.session.H2SessionPool().Info()
		p["httpCacheInfo"] = c.httpCache.Info()
		if c.manager != nil {
			p["hostResolverInfo"] = c.manager.NetLogInfo()
		}
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
		c.httpCache.Close()
	})
	c.loop.Shutdown()
}
