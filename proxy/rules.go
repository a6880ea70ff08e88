package proxy

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/netlog"
)

// RulesType is the shape of manual proxy rules.
type RulesType int

// The kinds of manual rules (Chromium's ProxyRules::Type).
const (
	// RulesEmpty is no proxy: every URL goes direct.
	RulesEmpty RulesType = iota
	// RulesList sends every URL through Single.
	RulesList
	// RulesPerScheme picks a list by URL scheme, then Fallback.
	RulesPerScheme
)

// Rules are manual proxy settings (Chromium's ProxyConfig::ProxyRules):
// one list for every URL, or lists per URL scheme, with bypass rules that
// send some destinations direct (or, with ReverseBypass, only those
// through the proxy).
type Rules struct {
	Type RulesType
	// Single is the list of a RulesList.
	Single List
	// ForHTTP, ForHTTPS and ForFTP are the lists of a RulesPerScheme for
	// those URL schemes; Fallback serves the schemes without one.
	ForHTTP, ForHTTPS, ForFTP, Fallback List
	// Bypass says which destinations go direct.
	Bypass BypassRules
	// ReverseBypass makes Bypass name the only destinations that use the
	// proxy.
	ReverseBypass bool
}

// ParseRules parses Chromium's --proxy-server grammar: either one list of
// proxies for every URL ("proxy:8080,socks5://b,direct://") or
// ";"-separated "scheme=list" entries for http, https and ftp, where
// "socks=list" is the fallback for every other scheme and its proxies
// default to SOCKS4. A proxy without a scheme is HTTP. The first entry
// without "=" makes the whole config a single list and ends parsing, unless
// per-scheme entries came first (then it is ignored, as in Chromium).
// Unknown scheme keys are ignored. An empty string gives RulesEmpty.
func ParseRules(s string) (Rules, error) {
	var r Rules
	for _, entry := range strings.Split(s, ";") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		key, value, perScheme := strings.Cut(entry, "=")
		if !perScheme {
			if r.Type == RulesPerScheme {
				continue
			}
			l, err := parseProxyList(entry, SchemeHTTP)
			if err != nil {
				return Rules{}, err
			}
			if len(l) == 0 {
				return Rules{}, fmt.Errorf("proxy: no proxy in %q", entry)
			}
			return Rules{Type: RulesList, Single: l}, nil
		}
		r.Type = RulesPerScheme
		var dst *List
		def := SchemeHTTP
		switch key = strings.ToLower(strings.TrimSpace(key)); key {
		case "http":
			dst = &r.ForHTTP
		case "https":
			dst = &r.ForHTTPS
		case "ftp":
			dst = &r.ForFTP
		case "socks":
			// Not a URL scheme: "everything else through this SOCKS
			// server", and SOCKS4 there although socks:// is SOCKS5.
			dst, def = &r.Fallback, SchemeSOCKS4
		default:
			continue
		}
		l, err := parseProxyList(value, def)
		if err != nil {
			return Rules{}, err
		}
		if len(l) == 0 {
			return Rules{}, fmt.Errorf("proxy: no proxy for %s= in %q", key, entry)
		}
		*dst = append(*dst, l...)
	}
	return r, nil
}

// parseProxyList parses ","-separated proxy URIs into one-hop chains,
// skipping empty elements.
func parseProxyList(s string, def Scheme) (List, error) {
	var l List
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		srv, err := ParseServerURI(p, def)
		if err != nil {
			return nil, fmt.Errorf("proxy: invalid proxy %q: %s", p, strings.TrimPrefix(err.Error(), "proxy: "))
		}
		l = append(l, Chain{srv})
	}
	return l, nil
}

// Apply is the list of routes for u (Chromium's ProxyRules::Apply), never
// empty: DIRECT when the rules are empty or name no list for u's scheme,
// and DIRECT with bypassed set when the bypass rules exempt u. The list is
// a copy the caller may keep.
func (r Rules) Apply(u *url.URL) (l List, bypassed bool) {
	if r.Type == RulesEmpty {
		return List{DirectChain()}, false
	}
	if r.Bypass.Matches(u, r.ReverseBypass) {
		return List{DirectChain()}, true
	}
	l = r.Single
	if r.Type == RulesPerScheme {
		l = r.listForScheme(strings.ToLower(u.Scheme))
	}
	if len(l) == 0 {
		return List{DirectChain()}, false
	}
	return l.clone(), false
}

// listForScheme is the per-scheme list serving a URL scheme, or nil.
// WebSockets prefer the fallback, then the HTTPS list, then the HTTP one,
// as Chromium does: their proxy connections are always CONNECT tunnels.
func (r Rules) listForScheme(scheme string) List {
	switch scheme {
	case "http":
		if len(r.ForHTTP) > 0 {
			return r.ForHTTP
		}
	case "https":
		if len(r.ForHTTPS) > 0 {
			return r.ForHTTPS
		}
	case "ftp":
		if len(r.ForFTP) > 0 {
			return r.ForFTP
		}
	case "ws", "wss":
		for _, l := range []List{r.Fallback, r.ForHTTPS, r.ForHTTP} {
			if len(l) > 0 {
				return l
			}
		}
	}
	return r.Fallback
}

// clone copies the list and its chains.
func (l List) clone() List {
	out := make(List, len(l))
	for i, c := range l {
		out[i] = append(Chain(nil), c...)
	}
	return out
}

// ToValue is the manual part of Chromium's ProxyConfig::ToValue, the shape
// netlog-viewer's Proxy tab reads: "single_proxy" or "proxy_per_scheme",
// then "bypass_list" and "reverse_bypass". Empty rules give {}.
func (r Rules) ToValue() netlog.Params {
	v := netlog.Params{}
	switch r.Type {
	case RulesEmpty:
		return v
	case RulesList:
		addListValue(v, "single_proxy", r.Single)
	case RulesPerScheme:
		perScheme := netlog.Params{}
		addListValue(perScheme, "http", r.ForHTTP)
		addListValue(perScheme, "https", r.ForHTTPS)
		addListValue(perScheme, "ftp", r.ForFTP)
		addListValue(perScheme, "fallback", r.Fallback)
		v["proxy_per_scheme"] = perScheme
	}
	if !r.Bypass.IsEmpty() {
		v["bypass_list"] = r.Bypass.Strings()
		if r.ReverseBypass {
			v["reverse_bypass"] = true
		}
	}
	return v
}

// addListValue sets v[key] to the chains of a non-empty list.
func addListValue(v netlog.Params, key string, l List) {
	if len(l) == 0 {
		return
	}
	chains := make([]string, len(l))
	for i, c := range l {
		chains[i] = c.String()
	}
	v[key] = chains
}
