package pac

import (
	"context"
	"net/netip"
	"strings"
)

// EventKind tells an alert from an error.
type EventKind int

const (
	// EventAlert is a call of alert(msg) (NetLog PAC_JAVASCRIPT_ALERT).
	EventAlert EventKind = iota
	// EventError is the error that ended a run (PAC_JAVASCRIPT_ERROR).
	EventError
)

// String names the kind for logs.
func (k EventKind) String() string {
	if k == EventAlert {
		return "alert"
	}
	return "error"
}

// Event is an alert or error raised while the script ran.
type Event struct {
	Kind    EventKind
	Message string
	// Line is the script line of an error, 0 when unknown (always for alerts).
	Line int
}

// Result is the outcome of one FindProxyForURL call.
type Result struct {
	// PAC is the string FindProxyForURL returned (ASCII), e.g.
	// "PROXY p:8080; DIRECT".
	PAC string
	// Events are the alert() calls and the error, in order; also filled
	// when FindProxyForURL returns an error.
	Events []Event
}

// Per-run limits from Chromium's proxy_resolver_v8_tracing.cc.
const (
	maxResolvesPerCall = 20   // kMaxUniqueResolveDnsPerExec
	maxEventBytes      = 2048 // kMaxAlertsAndErrorsBytes
)

// dnsOp is the helper asking for an answer; each has its own failure value
// and its own entries in the per-run cache.
type dnsOp int

const (
	opDNSResolve dnsOp = iota
	opDNSResolveEx
	opMyIPAddress
	opMyIPAddressEx
)

type dnsKey struct {
	op   dnsOp
	host string
}

type dnsAnswer struct {
	text string
	ok   bool
}

// call is the state of one run of the script (the initial run or one
// FindProxyForURL): the context the DNS helpers pass to Host, the run's DNS
// answers and its events. Only the goroutine running the script touches it.
type call struct {
	ctx        context.Context
	script     *Script
	dns        map[dnsKey]dnsAnswer
	events     []Event
	eventBytes int
}

// addEvent buffers e unless the run's events would pass maxEventBytes; a
// script alerting in a loop must not grow memory without bound.
func (c *call) addEvent(e Event) {
	if c.eventBytes+len(e.Message) > maxEventBytes {
		return
	}
	c.eventBytes += len(e.Message)
	c.events = append(c.events, e)
}

// resolve answers a DNS helper: the same question is asked of Host once per
// run, and at most maxResolvesPerCall distinct questions are asked; beyond
// that every new one fails, as in Chromium.
func (c *call) resolve(op dnsOp, host string) (string, bool) {
	k := dnsKey{op, host}
	if a, ok := c.dns[k]; ok {
		return a.text, a.ok
	}
	if len(c.dns) >= maxResolvesPerCall {
		return "", false
	}
	if c.dns == nil {
		c.dns = make(map[dnsKey]dnsAnswer)
	}
	text, ok := c.script.answer(c.ctx, op, host)
	c.dns[k] = dnsAnswer{text, ok}
	return text, ok
}

// answer asks Host (or the cross-call cache) and formats the addresses the
// way the helper returns them.
func (s *Script) answer(ctx context.Context, op dnsOp, host string) (string, bool) {
	h := s.opts.Host
	if h == nil || ctx.Err() != nil {
		return "", false
	}
	var addrs []netip.Addr
	var err error
	switch op {
	case opDNSResolve, opDNSResolveEx:
		addrs, err = s.lookup(ctx, host, op == opDNSResolveEx)
	default:
		addrs, err = h.MyIPAddresses(ctx, op == opMyIPAddressEx)
	}
	if err != nil {
		return "", false
	}
	return formatAddrs(op, addrs)
}

// lookup resolves host through the cross-call cache.
func (s *Script) lookup(ctx context.Context, host string, ex bool) ([]netip.Addr, error) {
	if addrs, ok := s.dnsCache.get(host, ex); ok {
		return addrs, nil
	}
	addrs, err := s.opts.Host.Resolve(ctx, host, ex)
	if err != nil {
		return nil, err
	}
	if len(addrs) > 0 {
		s.dnsCache.put(host, ex, addrs)
	}
	return addrs, nil
}

// formatAddrs renders addrs for op: dnsResolve takes the first IPv4 address
// (it is IPv4-only), myIpAddress one address favouring IPv4, the Ex forms all
// of them joined by ";". No usable address is a failure.
func formatAddrs(op dnsOp, addrs []netip.Addr) (string, bool) {
	var list []string
	var first4, first string
	for _, a := range addrs {
		if !a.IsValid() {
			continue
		}
		a = a.Unmap().WithZone("")
		s := a.String()
		if first == "" {
			first = s
		}
		if first4 == "" && a.Is4() {
			first4 = s
		}
		list = append(list, s)
	}
	switch op {
	case opDNSResolve:
		return first4, first4 != ""
	case opMyIPAddress:
		if first4 != "" {
			return first4, true
		}
		return first, first != ""
	default:
		return strings.Join(list, ";"), len(list) > 0
	}
}
