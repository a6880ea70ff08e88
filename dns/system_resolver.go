package dns

import (
	"context"
	"errors"
	gonet "net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// SystemResolver resolves names with the operating system's resolver
// (Go's net.Resolver), running each lookup off the loop.
type SystemResolver struct {
	loop     *net.Loop
	resolver *gonet.Resolver
}

// NewSystemResolver returns a resolver owned by loop.
func NewSystemResolver(loop *net.Loop) *SystemResolver {
	return &SystemResolver{loop: loop, resolver: gonet.DefaultResolver}
}

// CreateRequest implements HostResolver.
func (r *SystemResolver) CreateRequest(host string, port uint16, params ResolveParams, nl netlog.WithSource) ResolveHostRequest {
	return &systemRequest{r: r, host: host, port: port, params: params, nl: nl}
}

type systemRequest struct {
	r      *SystemResolver
	host   string
	port   uint16
	params ResolveParams
	nl     netlog.WithSource
	job    netlog.WithSource
	addrs  net.AddressList
	op     net.Op
	cb     net.CompletionCallback
	done   bool
}

func (q *systemRequest) Addresses() net.AddressList        { return q.addrs }
func (q *systemRequest) SetPriority(p net.RequestPriority) { q.params.Priority = p }

func (q *systemRequest) Cancel() {
	if q.done {
		return
	}
	q.done = true
	q.op.Cancel()
	q.job.EndEventWithNetErrorCode(netlog.EventHostResolverSystemTask, int(net.ErrAborted))
	q.job.EndEvent(netlog.EventHostResolverManagerJob, nil)
	q.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerRequest, int(net.ErrAborted))
}

func (q *systemRequest) describe() string {
	// JoinHostPort adds the brackets of an IPv6 literal itself.
	host := q.host
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	hp := gonet.JoinHostPort(host, strconv.Itoa(int(q.port)))
	if q.params.Scheme != "" {
		return q.params.Scheme + "://" + hp
	}
	return hp
}

// literalOrLocalhost answers without a lookup, as Chromium does for IP
// literals and the localhost names.
func literalOrLocalhost(host string, port uint16) (net.AddressList, bool) {
	h := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "]"), "["), "]")
	if ip, err := netip.ParseAddr(h); err == nil {
		return net.AddressList{netip.AddrPortFrom(ip.Unmap(), port)}, true
	}
	lower := strings.TrimSuffix(strings.ToLower(host), ".")
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") {
		return net.AddressList{
			netip.AddrPortFrom(netip.IPv6Loopback(), port),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port),
		}, true
	}
	return nil, false
}

func (q *systemRequest) Start(cb net.CompletionCallback) int {
	q.nl.BeginEvent(netlog.EventHostResolverManagerRequest, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{
			"host":                      q.describe(),
			"dns_query_type":            0,
			"allow_cached_response":     true,
			"is_speculative":            false,
			"network_anonymization_key": "null",
			"secure_dns_policy":         0,
		}
	})
	if addrs, ok := literalOrLocalhost(q.host, q.port); ok {
		q.addrs = addrs
		q.done = true
		q.nl.EndEvent(netlog.EventHostResolverManagerRequest, q.resultParams)
		return net.OK
	}
	if !validHostName(q.host) {
		q.done = true
		q.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerRequest, int(net.ErrNameNotResolved))
		return int(net.ErrNameNotResolved)
	}
	q.cb = cb
	q.job = netlog.NewSource(q.nl.NetLog(), netlog.SourceHostResolverImplJob)
	q.job.BeginEvent(netlog.EventHostResolverManagerJob, func(netlog.CaptureMode) netlog.Params {
		p := q.nl.Source().DependencyParams()
		p["host"] = q.describe()
		p["dns_query_types"] = []int{1, 2}
		return p
	})
	q.nl.AddEventReferencingSource(netlog.EventHostResolverManagerCreateJob, q.job.Source())
	q.job.AddEvent(netlog.EventHostResolverManagerJobStarted, nil)
	q.job.BeginEvent(netlog.EventHostResolverSystemTask, nil)
	host := q.host
	q.op = net.Go(q.r.loop, func(ctx context.Context) ([]netip.Addr, error) {
		return q.r.resolver.LookupNetIP(ctx, "ip", host)
	}, q.onLookup)
	return net.IOPending
}

func (q *systemRequest) onLookup(ips []netip.Addr, err error) {
	if q.done {
		return
	}
	q.done = true
	rv := net.OK
	if err != nil {
		rv = int(mapLookupError(err))
	} else if len(ips) == 0 {
		rv = int(net.ErrNameNotResolved)
	}
	for _, ip := range ips {
		q.addrs = append(q.addrs, netip.AddrPortFrom(ip.Unmap(), q.port))
	}
	q.job.EndEventWithNetErrorCode(netlog.EventHostResolverSystemTask, rv)
	q.job.EndEventWithNetErrorCode(netlog.EventHostResolverManagerJob, rv)
	if rv == net.OK {
		q.nl.EndEvent(netlog.EventHostResolverManagerRequest, q.resultParams)
	} else {
		q.nl.EndEventWithNetErrorCode(netlog.EventHostResolverManagerRequest, rv)
	}
	q.cb(rv)
}

func (q *systemRequest) resultParams(netlog.CaptureMode) netlog.Params {
	return netlog.Params{"results": netlog.Params{"ip_endpoints": endpointParams(q.addrs)}}
}

func endpointParams(addrs net.AddressList) []netlog.Params {
	out := make([]netlog.Params, len(addrs))
	for i, a := range addrs {
		out[i] = netlog.Params{"address": a.Addr().String(), "port": int(a.Port())}
	}
	return out
}

func mapLookupError(err error) net.Error {
	var dnsErr *gonet.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return net.ErrDNSTimedOut
		}
		return net.ErrNameNotResolved
	}
	if errors.Is(err, context.Canceled) {
		return net.ErrAborted
	}
	return net.ErrNameNotResolved
}

// validHostName refuses names that cannot be looked up: empty, over 253
// bytes, labels over 63 bytes, or characters outside what DNS carries.
func validHostName(host string) bool {
	h := strings.TrimSuffix(host, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
