package dns

import (
	"context"
	gonet "net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// DefaultMaxConcurrentJobs is the design card's limit on resolutions in
// flight at once (Chromium today runs 64).
const DefaultMaxConcurrentJobs = 8

// ManagerOptions configure a HostResolverManager; the zero value resolves
// with the built-in DNS client on the system's DNS configuration, at most
// 8 jobs at once, with a 1000-entry cache.
type ManagerOptions struct {
	// MaxConcurrentJobs bounds the jobs running at once (default 8).
	MaxConcurrentJobs int
	// CacheEntries sizes the HostCache (default 1000); DisableCache turns
	// caching off (the CLI's --no-host-cache).
	CacheEntries int
	DisableCache bool
	// SystemResolver resolves through the operating system (getaddrinfo)
	// instead of the built-in client. It is also the fallback when no
	// usable DNS configuration exists.
	SystemResolver bool
	// Config replaces the system's resolv.conf and hosts file.
	Config *DNSConfig
	// Rules remap or refuse names before anything else (--host-resolver-rules,
	// --resolve).
	Rules HostResolverRules
	// Sorter orders results by RFC 6724; nil uses the system's routes.
	Sorter *AddressSorter
	// IPv6Reachable says whether IPv6 has a global route; without one,
	// lookups ask for A records only, as Chromium does. Nil probes the
	// system's routes (SystemIPv6Reachable) once per IPv6ProbePeriod.
	IPv6Reachable func() bool
}

// HostResolverManager is the stack's HostResolver (Chromium's
// HostResolverManager): requests are answered at once from IP literals,
// rules, the cache or the hosts file; otherwise identical requests share one
// job, at most MaxConcurrentJobs jobs run at once and the rest wait in a
// priority queue. It is owned by a loop.
type HostResolverManager struct {
	loop   *net.Loop
	log    *netlog.NetLog
	opts   ManagerOptions
	config DNSConfig
	client *DNSClient // nil in system mode
	cache  *HostCache
	sorter *AddressSorter
	now    func() time.Time

	// ipv6 caches the reachability probe's answer until ipv6Checked +
	// IPv6ProbePeriod.
	ipv6        bool
	ipv6Checked time.Time

	jobs    map[jobKey]*resolveJob
	queue   []*resolveJob // waiting jobs, highest priority first, FIFO within
	running int
}

type jobKey struct {
	host      string
	queryType QueryType
	flags     int
}

// NewHostResolverManager builds a manager owned by loop.
func NewHostResolverManager(loop *net.Loop, log *netlog.NetLog, opts ManagerOptions) *HostResolverManager {
	if opts.MaxConcurrentJobs <= 0 {
		opts.MaxConcurrentJobs = DefaultMaxConcurrentJobs
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = DefaultHostCacheEntries
	}
	m := &HostResolverManager{loop: loop, log: log, opts: opts, now: time.Now, jobs: make(map[jobKey]*resolveJob)}
	entries := opts.CacheEntries
	if opts.DisableCache {
		entries = 0
	}
	m.cache = NewHostCache(entries)
	if opts.Config != nil {
		m.config = *opts.Config
	} else if cfg, err := ReadDNSConfig("/etc/resolv.conf", "/etc/hosts"); err == nil {
		m.config = cfg
	}
	if !opts.SystemResolver && m.config.Usable() {
		m.client = NewDNSClient(loop, m.config, log)
	}
	if m.opts.IPv6Reachable == nil {
		m.opts.IPv6Reachable = SystemIPv6Reachable
	}
	m.sorter = opts.Sorter
	if m.sorter == nil {
		m.sorter = NewAddressSorter(SystemSourceAddress)
	}
	return m
}

// Cache returns the manager's HostCache.
func (m *HostResolverManager) Cache() *HostCache { return m.cache }

// UsesBuiltInClient reports whether names go to the built-in DNS client
// (false: the system resolver).
func (m *HostResolverManager) UsesBuiltInClient() bool { return m.client != nil }

// NetLogInfo is polledData.hostResolverInfo: the DNS configuration and the
// cache, as netlog-viewer's DNS tab reads them.
func (m *HostResolverManager) NetLogInfo() netlog.Params {
	return netlog.Params{"dns_config": m.config.NetLogParams(), "cache": m.cache.NetLogInfo(m.now())}
}

// CreateRequest implements HostResolver.
func (m *HostResolverManager) CreateRequest(host string, port uint16, params ResolveParams, nl netlog.WithSource) ResolveHostRequest {
	return &managerRequest{m: m, host: host, port: port, params: params, nl: nl, priority: params.Priority}
}

// managerRequest is one ResolveHostRequest of the manager.
type managerRequest struct {
	m        *HostResolverManager
	host     string
	port     uint16
	params   ResolveParams
	nl       netlog.WithSource
	priority net.RequestPriority
	job      *resolveJob
	cb       net.CompletionCallback
	addrs    net.AddressList
	stale    bool
	done     bool
}

func (q *managerRequest) Addresses() net.AddressList { return q.addrs }

// Stale reports whether the answer came from an expired cache entry (only
// for requests that allowed that).
func (q *managerRequest) Stale() bool { return q.stale }

func (q *managerRequest) describe() string {
	hp := gonet.JoinHostPort(strings.Trim(q.host, "[]"), strconv.Itoa(int(q.port)))
	if q.params.Scheme != "" {
		return q.params.Scheme + "://" + hp
	}
	return hp
}

func (q *managerRequest) Start(cb net.CompletionCallback) int {
	m := q.m
	q.nl.BeginEvent(netlog.EventHostResolverManagerRequest, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{
			"host":                      q.describe(),
			"dns_query_type":            int(q.params.QueryType),
			"allow_cached_response":     q.params.CacheUsage != CacheDisallowed,
			"is_speculative":            false,
			"network_anonymization_key": "null",
			"secure_dns_policy":         0,
		}
	})
	host := q.host
	port := q.port
	switch r := m.opts.Rules.Apply(host, port); r.Action {
	case RuleNotFound:
		return q.finishSync(int(net.ErrNameNotResolved), nil)
	case RuleAddresses:
		return q.finishSync(net.OK, r.Addresses)
	case RuleMapped:
		host = r.Host
		if r.Port != 0 {
			port = r.Port
		}
		q.port = port
	}
	if addrs, ok := literalOrLocalhost(host, port); ok {
		ips := make([]netip.Addr, len(addrs))
		for i, a := range addrs {
			ips[i] = a.Addr()
		}
		return q.finishSync(net.OK, ips)
	}
	if !validHostName(host) {
		return q.finishSync(int(net.ErrNameNotResolved), nil)
	}
	key := jobKey{host: canonicalHost(host), queryType: q.params.QueryType}
	if key.queryType == QueryUnspecified && !m.ipv6Reachable(q.nl) {
		key.queryType = QueryA
	}
	if rv, ok := q.fromCache(key); ok {
		return rv
	}
	if ips := m.config.Hosts[key.host]; len(ips) > 0 {
		q.nl.AddEvent(netlog.EventHostResolverManagerHostsHit, nil)
		return q.finishSync(net.OK, filterFamily(ips, q.params.QueryType))
	}
	q.cb = cb
	job := m.jobs[key]
	if job == nil {
		job = m.newJob(key)
		q.nl.AddEventReferencingSource(netlog.EventHostResolverManagerCreateJob, job.nl.Source())
	} else {
		q.nl.AddEventReferencingSource(netlog.EventHostResolverManagerJobAttach, job.nl.Source())
	}
	job.attach(q)
	m.dispatch()
	return net.IOPending
}

func (q *managerRequest) fromCache(key jobKey) (int, bool) {
	m := q.m
	ck := m.cacheKey(key)
	switch q.params.CacheUsage {
	case CacheDisallowed:
		return 0, false
	case CacheStaleAllowed:
		if e, _, ok := m.cache.LookupStale(ck, m.now()); ok {
			q.stale = true
			q.nl.AddEvent(netlog.EventHostResolverManagerCacheHit, nil)
			return q.finishSync(int(e.Err), e.Addresses), true
		}
		return 0, false
	}
	if e, ok := m.cache.Lookup(ck, m.now()); ok {
		q.nl.AddEvent(netlog.EventHostResolverManagerCacheHit, nil)
		return q.finishSync(int(e.Err), e.Addresses), true
	}
	return 0, false
}

// ipv6Reachable runs the reachability probe at most once per
// IPv6ProbePeriod and logs its answer on the asking request.
func (m *HostResolverManager) ipv6Reachable(nl netlog.WithSource) bool {
	now := m.now()
	cached := !m.ipv6Checked.IsZero() && now.Sub(m.ipv6Checked) < IPv6ProbePeriod
	if !cached {
		m.ipv6, m.ipv6Checked = m.opts.IPv6Reachable(), now
	}
	nl.AddEventWithParams(netlog.EventHostResolverManagerIPV6ReachabilityCheck, netlog.Params{"cached": cached, "ipv6_available": m.ipv6})
	return m.ipv6
}

func (m *HostResolverManager) cacheKey(k jobKey) HostCacheKey {
	return HostCacheKey{Host: k.host, QueryType: k.queryType, Flags: k.flags, SystemResolver: m.client == nil}
}

// finishSync answers without a job; the caller returns the result.
func (q *managerRequest) finishSync(rv int, ips []netip.Addr) int {
	q.complete(rv, ips)
	return rv
}

func (q *managerRequest) complete(rv int, ips []netip.Addr) {
	q.done = true
	q.job = nil
	if rv == net.OK {
		q.addrs = make(net.AddressList, len(ips))
		for i, ip := range ips {
			q.addrs[i] = netip.AddrPortFrom(ip, q.port)
		}
		q.nl.EndEvent(netlog.EventHostResolverManagerRequest, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"results": netlog.Params{"ip_endpoints": endpointParams(q.addrs)}}
		})
		return
	}
	q.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerRequest, rv)
}

func (q *managerRequest) SetPriority(p net.RequestPriority) {
	q.priority = p
	if q.job != nil && !q.done {
		q.m.reprioritize(q.job)
	}
}

func (q *managerRequest) Cancel() {
	if q.done {
		return
	}
	q.done = true
	q.cb = nil
	if job := q.job; job != nil {
		q.job = nil
		job.detach(q)
	}
	q.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerRequest, int(net.ErrAborted))
}

// resolveJob resolves one key for every request attached to it
// (Chromium's HostResolverManager::Job).
type resolveJob struct {
	m        *HostResolverManager
	key      jobKey
	nl       netlog.WithSource
	requests []*managerRequest
	started  bool
	cancel   func()
}

func (m *HostResolverManager) newJob(key jobKey) *resolveJob {
	j := &resolveJob{m: m, key: key}
	j.nl = netlog.NewSource(m.log, netlog.SourceHostResolverImplJob)
	j.nl.BeginEvent(netlog.EventHostResolverManagerJob, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"host": key.host, "dns_query_types": key.queryType.netLogTypes(), "secure_dns_mode": 0}
	})
	m.jobs[key] = j
	m.enqueue(j)
	return j
}

func (t QueryType) netLogTypes() []int {
	if t == QueryUnspecified {
		return []int{int(QueryA), int(QueryAAAA)}
	}
	return []int{int(t)}
}

// priority is the highest priority of the job's requests.
func (j *resolveJob) priority() net.RequestPriority {
	p := net.MinimumPriority
	for _, q := range j.requests {
		p = max(p, q.priority)
	}
	return p
}

func (j *resolveJob) attach(q *managerRequest) {
	q.job = j
	j.requests = append(j.requests, q)
	j.nl.AddEvent(netlog.EventHostResolverManagerJobRequestAttach, func(netlog.CaptureMode) netlog.Params {
		p := q.nl.Source().DependencyParams()
		p["priority"] = q.priority.String()
		return p
	})
	j.m.reprioritize(j)
}

// detach removes a cancelled request; the last one takes the job with it.
func (j *resolveJob) detach(q *managerRequest) {
	for i, r := range j.requests {
		if r == q {
			j.requests = append(j.requests[:i], j.requests[i+1:]...)
			break
		}
	}
	j.nl.AddEvent(netlog.EventHostResolverManagerJobRequestDetach, func(netlog.CaptureMode) netlog.Params {
		return q.nl.Source().DependencyParams()
	})
	if len(j.requests) > 0 {
		j.m.reprioritize(j)
		return
	}
	j.abort()
}

// abort ends a job nobody waits for.
func (j *resolveJob) abort() {
	m := j.m
	delete(m.jobs, j.key)
	if j.started {
		if j.cancel != nil {
			j.cancel()
		}
		m.running--
		m.dispatch()
	} else {
		m.dequeue(j)
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerJob, int(net.ErrAborted))
}

func (m *HostResolverManager) enqueue(j *resolveJob) {
	p := j.priority()
	i := len(m.queue)
	for i > 0 && m.queue[i-1].priority() < p {
		i--
	}
	m.queue = append(m.queue, nil)
	copy(m.queue[i+1:], m.queue[i:])
	m.queue[i] = j
}

func (m *HostResolverManager) dequeue(j *resolveJob) bool {
	for i, w := range m.queue {
		if w == j {
			m.queue = append(m.queue[:i], m.queue[i+1:]...)
			return true
		}
	}
	return false
}

// reprioritize moves a waiting job to the place its priority gives it.
func (m *HostResolverManager) reprioritize(j *resolveJob) {
	if !j.started && m.dequeue(j) {
		m.enqueue(j)
	}
}

// dispatch starts waiting jobs while fewer than MaxConcurrentJobs run.
func (m *HostResolverManager) dispatch() {
	for m.running < m.opts.MaxConcurrentJobs && len(m.queue) > 0 {
		j := m.queue[0]
		m.queue = m.queue[1:]
		m.running++
		j.start()
	}
}

func (j *resolveJob) start() {
	j.started = true
	j.nl.AddEvent(netlog.EventHostResolverManagerJobStarted, nil)
	m := j.m
	if m.client != nil {
		// The client logs HOST_RESOLVER_DNS_TASK on the job's source.
		j.cancel = m.client.Resolve(j.key.host, j.key.queryType.netLogTypesQuery(), j.nl, j.onDNSResult)
		return
	}
	j.nl.BeginEvent(netlog.EventHostResolverSystemTask, nil)
	host := j.key.host
	network := "ip"
	switch j.key.queryType {
	case QueryA:
		network = "ip4"
	case QueryAAAA:
		network = "ip6"
	}
	op := net.Go(m.loop, func(ctx context.Context) ([]netip.Addr, error) {
		return gonet.DefaultResolver.LookupNetIP(ctx, network, host)
	}, j.onSystemResult)
	j.cancel = op.Cancel
}

func (t QueryType) netLogTypesQuery() []QueryType {
	if t == QueryUnspecified {
		return []QueryType{QueryA, QueryAAAA}
	}
	return []QueryType{t}
}

func (j *resolveJob) onDNSResult(r DNSResult) {
	rv := int(r.Err)
	ttl := ClampTTL(r.TTL)
	if rv != net.OK {
		ttl = r.NegativeTTL
	}
	j.finish(rv, r.Addresses, r.Aliases, "dns", ttl)
}

func (j *resolveJob) onSystemResult(ips []netip.Addr, err error) {
	rv := net.OK
	if err != nil {
		rv = int(mapLookupError(err))
	} else if len(ips) == 0 {
		rv = int(net.ErrNameNotResolved)
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventHostResolverSystemTask, rv)
	ttl := SystemResultTTL
	if rv == int(net.ErrNameNotResolved) {
		ttl = 0
	}
	j.finish(rv, ips, nil, "system", ttl)
}

// finish caches the result and answers every request of the job.
func (j *resolveJob) finish(rv int, ips []netip.Addr, aliases []string, source string, ttl time.Duration) {
	m := j.m
	delete(m.jobs, j.key)
	m.running--
	if rv == net.OK {
		// RFC 6724 order; addresses with no route are dropped, as Chromium
		// does, and none left is a failure.
		sorted, err := m.sorter.Sort(ips)
		switch {
		case err != nil:
			rv = int(net.ErrDNSSortError)
		case len(sorted) == 0:
			rv = int(net.ErrNameNotResolved)
		default:
			ips = sorted
		}
	}
	if ttl > 0 && (rv == net.OK || rv == int(net.ErrNameNotResolved)) {
		m.cache.Set(m.cacheKey(j.key), HostCacheEntry{Err: net.Error(rv), Addresses: ips, Aliases: aliases, Source: source, TTL: ttl}, m.now(), ttl)
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerJob, rv)
	requests := j.requests
	j.requests = nil
	for _, q := range requests {
		if q.done {
			continue
		}
		cb := q.cb
		q.complete(rv, ips)
		cb(rv)
	}
	m.dispatch()
}

// filterFamily keeps the addresses a typed query asked for.
func filterFamily(ips []netip.Addr, t QueryType) []netip.Addr {
	if t == QueryUnspecified {
		return ips
	}
	var out []netip.Addr
	for _, ip := range ips {
		if ip.Is4() == (t == QueryA) {
			out = append(out, ip)
		}
	}
	return out
}

func canonicalHost(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }
