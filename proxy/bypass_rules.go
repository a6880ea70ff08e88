package proxy

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// BypassRules says which destinations skip the proxy (Chromium's
// ProxyBypassRules). The rules are tried in order; when none matches, the
// implicit rules send loopback and link-local destinations direct unless
// "<-loopback>" was given.
type BypassRules struct {
	rules        []bypassRule
	keepLoopback bool
}

// ruleKind is what a bypass rule matches on.
type ruleKind int

const (
	// ruleLocal is "<local>": a host name without a dot.
	ruleLocal ruleKind = iota
	// ruleSubtractImplicit is "<-loopback>": it excludes the implicitly
	// bypassed hosts, so they go through the proxy.
	ruleSubtractImplicit
	// rulePattern is a host name pattern with "*" wildcards.
	rulePattern
	// ruleIP is one IP literal.
	ruleIP
	// ruleCIDR is a block of IP addresses.
	ruleCIDR
)

// bypassRule is one parsed rule. The scheme and port restrictions apply to
// patterns and IP literals; CIDR blocks take a scheme only, as in Chromium.
type bypassRule struct {
	kind    ruleKind
	scheme  string // "" for any URL scheme
	pattern string // lower case, for rulePattern
	addr    netip.Addr
	prefix  netip.Prefix
	port    int // -1 for any port
}

// ParseBypassRules parses a bypass list: rules separated by "," or ";".
// A rule is "<local>", "<-loopback>", or an optional "scheme://" followed
// by a CIDR block ("10.0.0.0/8", "[fe80::]/10"), an IP literal with an
// optional port ("1.2.3.4:80", "[::1]") or a host name pattern with "*"
// wildcards and an optional port ("*.example.com:8080"); a leading "."
// stands for "*.". The error names the first bad rule.
func ParseBypassRules(s string) (BypassRules, error) {
	var r BypassRules
	for _, f := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ';' }) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		rule, err := parseBypassRule(f)
		if err != nil {
			return BypassRules{}, fmt.Errorf("proxy: bad bypass rule %q: %s", f, err)
		}
		r.add(rule)
	}
	return r, nil
}

// add appends a rule, noting "<-loopback>".
func (r *BypassRules) add(rule bypassRule) {
	r.rules = append(r.rules, rule)
	if rule.kind == ruleSubtractImplicit {
		r.keepLoopback = true
	}
}

// parseBypassRule parses one trimmed, non-empty rule.
func parseBypassRule(raw string) (bypassRule, error) {
	switch strings.ToLower(raw) {
	case "<local>":
		return bypassRule{kind: ruleLocal, port: -1}, nil
	case "<-loopback>":
		return bypassRule{kind: ruleSubtractImplicit, port: -1}, nil
	}
	rule := bypassRule{port: -1}
	if scheme, rest, ok := strings.Cut(raw, "://"); ok {
		if !validScheme(scheme) {
			return bypassRule{}, fmt.Errorf("bad scheme %q", scheme)
		}
		rule.scheme, raw = strings.ToLower(scheme), rest
	}
	if raw == "" {
		return bypassRule{}, fmt.Errorf("no host")
	}
	// A slash can only be a CIDR block's.
	if addr, bits, ok := strings.Cut(raw, "/"); ok {
		if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
			addr = addr[1 : len(addr)-1]
		}
		p, err := netip.ParsePrefix(addr + "/" + bits)
		if err != nil {
			return bypassRule{}, fmt.Errorf("bad CIDR block")
		}
		rule.kind, rule.prefix = ruleCIDR, p
		return rule, nil
	}
	// An unbracketed IPv6 literal has colons that are not a port's.
	if a, err := netip.ParseAddr(raw); err == nil && a.Zone() == "" {
		rule.kind, rule.addr = ruleIP, a
		return rule, nil
	}
	host, port, err := splitRuleHostPort(raw)
	if err != nil {
		return bypassRule{}, err
	}
	rule.port = port
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && a.Zone() == "" && (a.Is4() == (host[0] != '[')) {
		rule.kind, rule.addr = ruleIP, a
		return rule, nil
	}
	if strings.HasPrefix(host, ".") {
		host = "*" + host
	}
	// Anything but host name characters and wildcards is a typo rather
	// than a pattern.
	if !validHostChars(host, true) {
		return bypassRule{}, fmt.Errorf("bad host pattern %q", host)
	}
	rule.kind, rule.pattern = rulePattern, strings.ToLower(host)
	return rule, nil
}

// splitRuleHostPort splits "host[:port]" or "[v6]:port"; the port is -1
// when absent.
func splitRuleHostPort(s string) (host string, port int, err error) {
	host, port = s, -1
	i := strings.LastIndexByte(s, ':')
	if i >= 0 && !strings.Contains(s[i:], "]") {
		host = s[:i]
		port, err = parsePort(s[i+1:], 0)
		if err != nil {
			return "", 0, err
		}
	}
	if host == "" {
		return "", 0, fmt.Errorf("no host")
	}
	return host, port, nil
}

// parsePort parses a decimal port no smaller than lowest and no larger
// than 65535.
func parsePort(s string, lowest int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || s[0] == '+' || s[0] == '-' || n < lowest || n > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return n, nil
}

// validScheme reports whether s has URL scheme syntax (RFC 3986).
func validScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validHostChars reports whether s is a non-empty run of letters, digits,
// '-', '_', '.' and, when wildcards is set, '*'.
func validHostChars(s string, wildcards bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && !isDigit(c) && c != '-' && c != '_' && c != '.' && (c != '*' || !wildcards) {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// Matches is Chromium's ProxyBypassRules::Matches: the first explicit rule
// that matches u decides (a bypass gives !reverse, "<-loopback>" on an
// implicitly bypassed host gives reverse); when none does, implicitly
// bypassed hosts match even when reversed, and other hosts give reverse.
func (r BypassRules) Matches(u *url.URL, reverse bool) bool {
	host := strings.ToLower(u.Hostname())
	addr, err := netip.ParseAddr(host)
	isIP := err == nil
	scheme, port := strings.ToLower(u.Scheme), effectivePort(u)
	for _, rule := range r.rules {
		switch rule.evaluate(scheme, host, addr, isIP, port) {
		case ruleInclude:
			return !reverse
		case ruleExclude:
			return reverse
		}
	}
	if IsImplicitlyBypassed(host) {
		return true
	}
	return reverse
}

// ruleResult is a rule's verdict on a URL.
type ruleResult int

const (
	ruleNoMatch ruleResult = iota
	ruleInclude
	ruleExclude
)

// evaluate applies one rule to a URL's lower-case scheme and host, its
// parsed address when the host is an IP literal, and its effective port.
func (rule bypassRule) evaluate(scheme, host string, addr netip.Addr, isIP bool, port int) ruleResult {
	if rule.scheme != "" && rule.scheme != scheme {
		return ruleNoMatch
	}
	if rule.port != -1 && rule.port != port {
		return ruleNoMatch
	}
	var match bool
	switch rule.kind {
	case ruleLocal:
		match = !isIP && !strings.Contains(host, ".")
	case ruleSubtractImplicit:
		if IsImplicitlyBypassed(host) {
			return ruleExclude
		}
	case rulePattern:
		match = matchWildcard(rule.pattern, host)
	case ruleIP:
		match = isIP && addr.WithZone("") == rule.addr
	case ruleCIDR:
		match = isIP && as16Prefix(rule.prefix).Contains(netip.AddrFrom16(addr.WithZone("").As16()))
	}
	if match {
		return ruleInclude
	}
	return ruleNoMatch
}

// as16Prefix turns an IPv4 prefix into the IPv4-mapped IPv6 one, so that
// IPv4 blocks also match mapped literals and IPv6 blocks over ::ffff:0:0/96
// match IPv4 hosts, as Chromium's IPAddressMatchesPrefix does.
func as16Prefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4() {
		return netip.PrefixFrom(netip.AddrFrom16(p.Addr().As16()), p.Bits()+96).Masked()
	}
	return p.Masked()
}

// matchWildcard reports whether s matches pattern, where "*" matches any
// run of characters (dots included).
func matchWildcard(pattern, s string) bool {
	// Greedy matching that backtracks to the last star is enough when "*"
	// is the only metacharacter.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// effectivePort is u's port, or its scheme's default, or -1 when neither
// is known.
func effectivePort(u *url.URL) int {
	if p := u.Port(); p != "" {
		n, err := parsePort(p, 0)
		if err != nil {
			return -1
		}
		return n
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	case "ftp":
		return 21
	}
	return -1
}

// Bypasses reports whether u goes direct under these rules.
func (r BypassRules) Bypasses(u *url.URL) bool { return r.Matches(u, false) }

// KeepLoopback reports whether "<-loopback>" was given: loopback and
// link-local destinations then go through the proxy like any other.
func (r BypassRules) KeepLoopback() bool { return r.keepLoopback }

// IsEmpty reports whether there is no rule at all, "<-loopback>" included.
func (r BypassRules) IsEmpty() bool { return len(r.rules) == 0 }

// Strings is each rule in canonical text form, in order, as Chromium logs
// the "bypass_list".
func (r BypassRules) Strings() []string {
	out := make([]string, len(r.rules))
	for i, rule := range r.rules {
		out[i] = rule.String()
	}
	return out
}

// String is the rules in list form, separated by ";".
func (r BypassRules) String() string { return strings.Join(r.Strings(), ";") }

// String is the rule in canonical form; ParseBypassRules reads it back.
func (rule bypassRule) String() string {
	var host string
	switch rule.kind {
	case ruleLocal:
		return "<local>"
	case ruleSubtractImplicit:
		return "<-loopback>"
	case rulePattern:
		host = rule.pattern
	case ruleIP:
		host = rule.addr.String()
		if rule.addr.Is6() {
			host = "[" + host + "]"
		}
	case ruleCIDR:
		host = rule.prefix.String()
	}
	if rule.scheme != "" {
		host = rule.scheme + "://" + host
	}
	if rule.port != -1 {
		host += ":" + strconv.Itoa(rule.port)
	}
	return host
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
	// A zone ("fe80::1%eth0") does not make a link-local address less so.
	ip = ip.WithZone("").Unmap()
	for _, p := range implicitPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
