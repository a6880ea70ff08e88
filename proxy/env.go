package proxy

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
)

// ConfigFromEnv reads http_proxy, https_proxy, all_proxy and no_proxy, as
// curl and Go's net/http do: lower-case wins over upper-case, and
// HTTP_PROXY in upper case is ignored when REQUEST_METHOD is set, as Go
// does for CGI. ok is false when no proxy variable is set; err names the
// variable whose value is not a proxy.
//
// The result is per-scheme rules: http_proxy serves http URLs, https_proxy
// https URLs and all_proxy every scheme without its own. A value without a
// scheme is an HTTP proxy; socks5h:// is SOCKS5, which always sends host
// names. no_proxy becomes bypass rules as curl and Go read it: "*" for
// everything, "example.com" for it and its subdomains, ".example.com" for
// subdomains only, IP literals and CIDR blocks, each with an optional port;
// entries that are none of these are skipped.
func ConfigFromEnv(getenv func(string) string) (c Config, ok bool, err error) {
	var r Rules
	for _, v := range []struct {
		name string
		dst  *List
	}{
		{"http_proxy", &r.ForHTTP},
		{"https_proxy", &r.ForHTTPS},
		{"all_proxy", &r.Fallback},
	} {
		name, value := lookupEnv(getenv, v.name)
		if value == "" {
			continue
		}
		srv, err := parseEnvProxy(value)
		if err != nil {
			return DirectConfig(), false, fmt.Errorf("proxy: $%s: %s", name, strings.TrimPrefix(err.Error(), "proxy: "))
		}
		*v.dst = List{{srv}}
	}
	if r.ForHTTP == nil && r.ForHTTPS == nil && r.Fallback == nil {
		return DirectConfig(), false, nil
	}
	r.Type = RulesPerScheme
	_, noProxy := lookupEnv(getenv, "no_proxy")
	r.Bypass = bypassFromNoProxy(noProxy)
	return Config{Rules: r}, true, nil
}

// lookupEnv returns the lower-case variable if set, else the upper-case
// one, with the name it came from. Under CGI (REQUEST_METHOD set) the
// HTTP_PROXY variable is the client's "Proxy:" request header, so it is
// not trusted (httpoxy).
func lookupEnv(getenv func(string) string, lower string) (name, value string) {
	if v := getenv(lower); v != "" {
		return lower, v
	}
	upper := strings.ToUpper(lower)
	if upper == "HTTP_PROXY" && getenv("REQUEST_METHOD") != "" {
		return lower, ""
	}
	return upper, getenv(upper)
}

// parseEnvProxy parses a proxy variable's value. Only proxy schemes are
// taken; "direct://" has no meaning there.
func parseEnvProxy(value string) (Server, error) {
	srv, err := ParseServerURI(value, SchemeHTTP)
	if err != nil {
		return Server{}, err
	}
	if srv.IsDirect() {
		return Server{}, fmt.Errorf("unsupported proxy scheme \"direct\"")
	}
	return srv, nil
}

// bypassFromNoProxy converts a no_proxy value to bypass rules.
func bypassFromNoProxy(s string) BypassRules {
	var r BypassRules
	for _, entry := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || unicode.IsSpace(c) }) {
		for _, rule := range noProxyRules(strings.ToLower(entry)) {
			r.add(rule)
		}
	}
	return r
}

// noProxyRules is the bypass rules for one no_proxy entry, none when the
// entry is invalid.
func noProxyRules(entry string) []bypassRule {
	if entry == "*" {
		return []bypassRule{{kind: rulePattern, pattern: "*", port: -1}}
	}
	if p, err := netip.ParsePrefix(entry); err == nil {
		return []bypassRule{{kind: ruleCIDR, prefix: p, port: -1}}
	}
	if a, err := netip.ParseAddr(entry); err == nil && a.Zone() == "" {
		return []bypassRule{{kind: ruleIP, addr: a, port: -1}}
	}
	host, port, err := splitRuleHostPort(entry)
	if err != nil || port == 0 {
		return nil
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return nil
		}
		return []bypassRule{{kind: ruleIP, addr: a, port: port}}
	}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		return []bypassRule{{kind: ruleIP, addr: a, port: port}}
	}
	// "*.example.com" is Go's spelling of ".example.com": subdomains only.
	subdomainsOnly := true
	switch {
	case strings.HasPrefix(host, "*."):
		host = host[2:]
	case strings.HasPrefix(host, "."):
		host = host[1:]
	default:
		subdomainsOnly = false
	}
	if !validHostChars(host, false) || strings.HasPrefix(host, ".") {
		return nil
	}
	subdomains := bypassRule{kind: rulePattern, pattern: "*." + host, port: port}
	if subdomainsOnly {
		return []bypassRule{subdomains}
	}
	return []bypassRule{{kind: rulePattern, pattern: host, port: port}, subdomains}
}
