package proxy

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// BypassRules says which destinations skip the proxy. Only the implicit
// rules exist so far: loopback and link-local destinations never use a
// proxy unless the list holds "<-loopback>" (Chromium's
// "SubtractImplicitlyBypassedRules"). The full grammar comes with proxy
// resolution.
type BypassRules struct {
	// KeepLoopback is set by "<-loopback>": loopback and link-local
	// destinations go through the proxy like any other.
	KeepLoopback bool
}

// ParseBypassRules parses a bypass list ("," or ";" separated). Today it
// knows "<-loopback>" only and refuses anything else with an error.
func ParseBypassRules(s string) (BypassRules, error) {
	var r BypassRules
	for _, f := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ';' }) {
		switch f = strings.TrimSpace(f); strings.ToLower(f) {
		case "":
		case "<-loopback>":
			r.KeepLoopback = true
		default:
			return BypassRules{}, fmt.Errorf("proxy: bypass rule %q is not supported yet (only <-loopback>)", f)
		}
	}
	return r, nil
}

// Bypasses reports whether u goes direct under these rules.
func (r BypassRules) Bypasses(u *url.URL) bool {
	return !r.KeepLoopback && IsImplicitlyBypassed(u.Hostname())
}

// String is the rules in list form.
func (r BypassRules) String() string {
	if r.KeepLoopback {
		return "<-loopback>"
	}
	return ""
}

var implicitPrefixes = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fe80::/10"),
}

// IsImplicitlyBypassed reports whether host is one Chromium never sends
// through a proxy by default: localhost, *.localhost, loopback and
// link-local addresses.
func IsImplicitlyBypassed(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range implicitPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// FixedService is the ResolutionService of a fixed configuration: one
// manual proxy for every URL (or DIRECT), with the bypass rules applied.
type FixedService struct {
	server Server
	bypass BypassRules
}

// NewFixedService returns a service that sends every URL through server,
// except the ones bypass exempts. A DIRECT server makes a direct service.
func NewFixedService(server Server, bypass BypassRules) *FixedService {
	return &FixedService{server: server, bypass: bypass}
}

// NewDirectService returns a service that always answers DIRECT.
func NewDirectService() *FixedService { return NewFixedService(Direct(), BypassRules{}) }

// ResolveProxy implements ResolutionService; it always completes at once.
func (s *FixedService) ResolveProxy(u *url.URL, info *Info, _ net.CompletionCallback, nl netlog.WithSource) int {
	nl.BeginEvent(netlog.EventProxyResolutionService, nil)
	if s.server.IsDirect() || s.bypass.Bypasses(u) {
		*info = DirectInfo()
	} else {
		info.UseChain(Chain{s.server})
	}
	nl.AddEvent(netlog.EventProxyResolutionServiceResolvedProxyList, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"proxy_info": info.String()}
	})
	nl.EndEvent(netlog.EventProxyResolutionService, nil)
	return net.OK
}

// PolledData implements ResolutionService, in the shape of Chromium's
// ProxyConfig dump: {} for direct, {"single_proxy": [...], "bypass_list":
// [...]} for a manual proxy.
func (s *FixedService) PolledData() netlog.Params {
	config := netlog.Params{}
	if !s.server.IsDirect() {
		config["single_proxy"] = []string{s.server.PACString()}
		if b := s.bypass.String(); b != "" {
			config["bypass_list"] = []string{b}
		}
	}
	return netlog.Params{
		"proxySettings": netlog.Params{"original": config, "effective": config},
		"badProxies":    []netlog.Params{},
	}
}
