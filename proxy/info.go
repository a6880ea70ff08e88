package proxy

import (
	"strings"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// List is the routes to try in order (Chromium's ProxyList).
type List []Chain

// PACString is the list in PAC result form, "PROXY a:80; DIRECT".
func (l List) PACString() string {
	parts := make([]string, len(l))
	for i, c := range l {
		parts[i] = c.PACString()
	}
	return strings.Join(parts, "; ")
}

// Strings is each chain in Chromium's debug form ("[http://a:80]"), the
// way the NetLog lists proxies.
func (l List) Strings() []string {
	out := make([]string, len(l))
	for i, c := range l {
		out[i] = c.String()
	}
	return out
}

// Info is the outcome of proxy resolution for one URL (Chromium's
// ProxyInfo): the list of routes, which one is being tried, and the routes
// found bad on the way, which the service learns of when the request
// succeeds (ReportSuccess).
type Info struct {
	list     List
	idx      int
	retry    RetryInfoMap
	bypassed bool
}

// DirectInfo is the Info that connects straight to the origin.
func DirectInfo() Info { return Info{list: List{DirectChain()}} }

// UseList makes the Info try l in order.
func (i *Info) UseList(l List) { i.list, i.idx, i.bypassed = l, 0, false }

// UseChain makes the Info try c alone.
func (i *Info) UseChain(c Chain) { i.UseList(List{c}) }

// UseDirectWithBypassedProxy goes direct because a bypass rule exempted
// the URL from the configured proxies.
func (i *Info) UseDirectWithBypassedProxy() {
	i.UseList(List{DirectChain()})
	i.bypassed = true
}

// DidBypassProxy reports whether a bypass rule sent the URL direct.
func (i Info) DidBypassProxy() bool { return i.bypassed }

// IsEmpty reports whether nothing is left to try.
func (i Info) IsEmpty() bool { return i.idx >= len(i.list) }

// Chain is the route being tried.
func (i Info) Chain() Chain {
	if i.IsEmpty() {
		return nil
	}
	return i.list[i.idx]
}

// IsDirect reports whether the route being tried is direct.
func (i Info) IsDirect() bool { return !i.IsEmpty() && i.Chain().IsDirect() }

// List returns the routes left to try, the current one first.
func (i Info) List() List { return i.list[i.idx:] }

// RetryInfo is the routes this request found bad, for ReportSuccess.
func (i Info) RetryInfo() RetryInfoMap { return i.retry }

// Fallback gives up on the current route after it failed with netError and
// moves to the next, reporting false when none is left (Chromium's
// ProxyList::Fallback). A proxy route is logged as PROXY_LIST_FALLBACK and
// remembered as bad for RetryDelay; DIRECT is never marked bad.
func (i *Info) Fallback(netError int, now time.Time, nl netlog.WithSource) bool {
	if i.IsEmpty() {
		return false
	}
	if c := i.Chain(); !c.IsDirect() {
		nl.AddEventWithParams(netlog.EventProxyListFallback, netlog.Params{"bad_proxy_chain": c.String()})
		if i.retry == nil {
			i.retry = RetryInfoMap{}
		}
		i.retry.markBad(c, now.Add(RetryDelay), net.Error(netError))
	}
	i.idx++
	return !i.IsEmpty()
}

// DeprioritizeBadProxies moves the routes still marked bad in m to the end
// of the list, keeping the order within the good and the bad ones
// (Chromium's DeprioritizeBadProxyChains). It reports whether anything
// moved.
func (i *Info) DeprioritizeBadProxies(m RetryInfoMap, now time.Time) bool {
	if len(m) == 0 {
		return false
	}
	rest := i.List()
	good := make(List, 0, len(rest))
	var bad List
	for _, c := range rest {
		if m.IsBad(c, now) {
			bad = append(bad, c)
		} else {
			good = append(good, c)
		}
	}
	if len(bad) == 0 {
		return false
	}
	i.list, i.idx = append(good, bad...), 0
	return true
}

// String is the PAC form Chromium logs as proxy_info, e.g.
// "PROXY proxy:8080; DIRECT".
func (i Info) String() string { return i.List().PACString() }

// ChainString is the current chain as Chromium's NetLog prints it,
// "[direct://]" for a direct connection.
func (i Info) ChainString() string {
	if i.IsEmpty() {
		return "[]"
	}
	return i.Chain().String()
}
