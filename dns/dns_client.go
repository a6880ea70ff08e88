package dns

import (
	"net/netip"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// DNSClient is netfetch's built-in stub resolver (Chromium's DnsClient with
// its HostResolverDnsTask): it asks the configured nameservers directly over
// UDP (TCP when an answer is truncated), applying the search list. It does
// DNS only: IP literals, localhost, the hosts file and the cache are the
// resolver's business before it calls Resolve.
//
// A DNSClient is owned by its loop: create it and call its methods there.
type DNSClient struct {
	loop *net.Loop
	cfg  DNSConfig
	log  *netlog.NetLog
	// nextFirstServer is the server the next transaction starts at when the
	// config says rotate (Chromium's DnsSession::NextFirstServerIndex).
	nextFirstServer int
}

// NewDNSClient returns a client for cfg, owned by loop, logging to log. The
// configuration is copied. A zero Timeout or Attempts, or a negative Ndots,
// takes glibc's default.
func NewDNSClient(loop *net.Loop, cfg DNSConfig, log *netlog.NetLog) *DNSClient {
	cfg.Nameservers = slices.Clone(cfg.Nameservers)
	// Suffixes as resolv.conf parsing leaves them: no dots around, none
	// empty (an empty one would only repeat the name as is).
	search := cfg.Search
	cfg.Search = nil
	for _, s := range search {
		if s = strings.Trim(s, "."); s != "" {
			cfg.Search = append(cfg.Search, s)
		}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = defaultAttempts
	}
	if cfg.Ndots < 0 {
		cfg.Ndots = defaultNdots
	}
	return &DNSClient{loop: loop, cfg: cfg, log: log}
}

// Config returns a copy of the client's configuration, with the defaults
// applied.
func (c *DNSClient) Config() DNSConfig {
	cfg := c.cfg
	cfg.Nameservers = slices.Clone(cfg.Nameservers)
	cfg.Search = slices.Clone(cfg.Search)
	return cfg
}

// DNSResult is the outcome of DNSClient.Resolve.
type DNSResult struct {
	// Addresses are the AAAA answers, then the A answers, each in the order
	// the server gave them (the resolver sorts them afterwards).
	Addresses []netip.Addr
	// Aliases are the CNAME targets the answers went through, without the
	// trailing dot, in order (AAAA's chain first); the last of a chain is
	// the canonical name.
	Aliases []string
	// TTL is the smallest TTL of the records behind Addresses.
	TTL time.Duration
	// Err is 0 on success. ErrNameNotResolved means the name has no
	// addresses (NXDOMAIN or NODATA for every query type; NegativeTTL says
	// whether and how long that may be cached). Other errors (ErrDNSTimedOut,
	// ErrDNSServerFailure, ...) say the servers could not answer.
	Err net.Error
	// NegativeTTL is how long an ErrNameNotResolved result may be cached,
	// from the SOA records of the negative answers (RFC 2308); 0 means do
	// not cache it (some answer came without an SOA).
	NegativeTTL time.Duration
}

// dnsQueryTypeName is Chromium's kDnsQueryTypes name of a wire type.
func dnsQueryTypeName(qtype uint16) string {
	switch qtype {
	case mdns.TypeA:
		return "A"
	case mdns.TypeAAAA:
		return "AAAA"
	}
	return mdns.TypeToString[qtype]
}

// Resolve looks up host's addresses of the types in qtypes (QueryA and/or
// QueryAAAA; none, or QueryUnspecified, means both), one transaction per
// type, in parallel; other types fail with ErrInvalidArgument. It must be
// called on the loop; cb runs later on the loop, never inside Resolve, and
// not at all once cancel was called. cancel (idempotent, on the loop)
// abandons the lookup and stops its I/O.
//
// Invalid names (empty, over 253 bytes, a label over 63 bytes or empty,
// characters DNS host names do not have) fail with ErrNameNotResolved
// before any query, as does a configuration without nameservers; a
// single-label name without a search list (see searchNames) fails with
// ErrDNSSearchEmpty.
//
// Events go to nl: HOST_RESOLVER_DNS_TASK around the lookup and a
// DNS_TRANSACTION event pointing at each transaction's own source.
func (c *DNSClient) Resolve(host string, qtypes []QueryType, nl netlog.WithSource, cb func(DNSResult)) (cancel func()) {
	task := &dnsTask{client: c, host: host, nl: nl, cb: cb}
	both := len(qtypes) == 0 || slices.Contains(qtypes, QueryUnspecified)
	for _, qt := range []QueryType{QueryAAAA, QueryA} {
		// AAAA first, as Chromium gives AAAA a head start.
		if both || slices.Contains(qtypes, qt) {
			task.qtypes = append(task.qtypes, wireType(qt))
		}
	}
	task.start()
	return task.cancel
}

// wireType maps a QueryType to its DNS type.
func wireType(qt QueryType) uint16 {
	if qt == QueryAAAA {
		return mdns.TypeAAAA
	}
	return mdns.TypeA
}

// searchNames returns the names to try for host, fully qualified, in order,
// as Chromium's DnsTransactionImpl::PrepareSearch: a name ending in "." is
// tried as is only; a name with at least Ndots dots is tried as is first;
// then with each search suffix (combinations over 253 bytes are skipped);
// then, if not yet tried and it has a dot, as is. So a single-label name is
// sent as is only with ndots 0, as in Chromium (glibc would try it last):
// without a search list it has no candidate (ErrDNSSearchEmpty).
func (c *DNSClient) searchNames(host string) []string {
	if strings.HasSuffix(host, ".") {
		return []string{host}
	}
	var names []string
	dots := strings.Count(host, ".")
	asIs := false
	if dots >= c.cfg.Ndots {
		names = append(names, host+".")
		asIs = true
	}
	for _, suffix := range c.cfg.Search {
		name := host + "." + suffix
		if !validHostName(name) {
			continue
		}
		names = append(names, name+".")
	}
	if dots > 0 && !asIs {
		names = append(names, host+".")
	}
	return names
}

// dnsTask is one Resolve call (Chromium's HostResolverDnsTask).
type dnsTask struct {
	client  *DNSClient
	host    string
	qtypes  []uint16
	nl      netlog.WithSource
	cb      func(DNSResult)
	txs     []*dnsTransaction
	results []transactionResult
	pending int
	done    bool
}

func (k *dnsTask) start() {
	k.nl.BeginEvent(netlog.EventHostResolverDNSTask, func(netlog.CaptureMode) netlog.Params {
		needed := make([]netlog.Params, len(k.qtypes))
		for i, qt := range k.qtypes {
			needed[i] = netlog.Params{"dns_query_type": dnsQueryTypeName(qt)}
		}
		return netlog.Params{"secure": false, "transactions_needed": needed}
	})
	c := k.client
	if len(k.qtypes) == 0 {
		k.failLater(net.ErrInvalidArgument)
		return
	}
	if !validHostName(k.host) || !c.cfg.Usable() {
		k.failLater(net.ErrNameNotResolved)
		return
	}
	qnames := c.searchNames(k.host)
	if len(qnames) == 0 {
		k.failLater(net.ErrDNSSearchEmpty)
		return
	}
	k.results = make([]transactionResult, len(k.qtypes))
	k.pending = len(k.qtypes)
	for i, qt := range k.qtypes {
		first := 0
		if c.cfg.Rotate {
			first = c.nextFirstServer
			c.nextFirstServer = (c.nextFirstServer + 1) % len(c.cfg.Nameservers)
		}
		tx := newDNSTransaction(c.loop, &c.cfg, c.log, k.host, qnames, qt, first, k.nl, func(r transactionResult) {
			k.onTransactionDone(i, r)
		})
		k.txs = append(k.txs, tx)
	}
	// Start after all are created, so an early failure cannot run the
	// callback with a transaction not yet started.
	for _, tx := range k.txs {
		tx.start()
	}
}

// failLater reports err in a later task: the callback must not run inside
// Resolve.
func (k *dnsTask) failLater(err net.Error) {
	k.client.loop.Post(func() {
		if !k.done {
			k.finish(DNSResult{Err: err})
		}
	})
}

func (k *dnsTask) cancel() {
	if k.done {
		return
	}
	k.done = true
	for _, tx := range k.txs {
		tx.cancel()
	}
	k.nl.EndEventWithNetErrorCode(netlog.EventHostResolverDNSTask, int(net.ErrAborted))
}

func (k *dnsTask) onTransactionDone(i int, r transactionResult) {
	if k.done {
		return
	}
	k.results[i] = r
	k.pending--
	if k.pending == 0 {
		k.finish(mergeDNSResults(k.results))
	}
}

func (k *dnsTask) finish(r DNSResult) {
	k.done = true
	if r.Err != 0 {
		k.nl.EndEventWithNetErrorCode(netlog.EventHostResolverDNSTask, int(r.Err))
	} else {
		k.nl.EndEvent(netlog.EventHostResolverDNSTask, func(netlog.CaptureMode) netlog.Params {
			eps := make([]netlog.Params, len(r.Addresses))
			for i, a := range r.Addresses {
				eps[i] = netlog.Params{"address": a.String(), "port": 0}
			}
			return netlog.Params{"results": netlog.Params{
				"ip_endpoints": eps,
				"aliases":      r.Aliases,
				"ttl":          int(r.TTL / time.Second),
			}}
		})
	}
	k.cb(r)
}

// mergeDNSResults combines the transactions' results (AAAA first), as
// Chromium's DnsTask does: any addresses make a success, whatever the other
// type's outcome; without addresses, negative answers (NXDOMAIN, NODATA)
// for every type are ErrNameNotResolved, cacheable for the smallest
// negative TTL; otherwise the failure of the first type that failed.
func mergeDNSResults(results []transactionResult) DNSResult {
	var out DNSResult
	for _, r := range results {
		if r.kind != kindData {
			continue
		}
		if out.Addresses == nil || r.ttl < out.TTL {
			out.TTL = r.ttl
		}
		out.Addresses = append(out.Addresses, r.addrs...)
		for _, a := range r.aliases {
			if !slices.Contains(out.Aliases, a) {
				out.Aliases = append(out.Aliases, a)
			}
		}
	}
	if len(out.Addresses) > 0 {
		return out
	}
	out = DNSResult{Err: net.ErrNameNotResolved}
	for i, r := range results {
		switch r.kind {
		case kindNoData, kindNXDomain:
			if i == 0 || r.negTTL < out.NegativeTTL {
				out.NegativeTTL = r.negTTL
			}
		default:
			return DNSResult{Err: r.err}
		}
	}
	return out
}
