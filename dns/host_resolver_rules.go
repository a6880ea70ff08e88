package dns

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// This file is Chromium's --host-resolver-rules (net/base/host_mapping_rules.cc
// and net/dns/mapped_host_resolver.cc) with curl's --resolve beside it. Both
// let a user point names somewhere else without touching /etc/hosts: a test
// against a staging server, a name blocked on purpose, a CDN node pinned.
//
// Rules are read once, when the stack is configured, and then only read, so a
// HostResolverRules value may be shared by loops.

// RuleAction says what the rules decided for one host and port.
type RuleAction int

const (
	// RuleUnchanged: no rule applies; resolve the host as asked.
	RuleUnchanged RuleAction = iota
	// RuleMapped: a MAP rule rewrote the name; resolve RuleResult.Host
	// (which may be an IP literal) and connect to RuleResult.Port.
	RuleMapped
	// RuleAddresses: a --resolve entry answers; connect to
	// RuleResult.Addresses at RuleResult.Port without resolving.
	RuleAddresses
	// RuleNotFound: a MAP rule to ~NOTFOUND (or ^NOTFOUND) failed the name;
	// RuleResult.Err is net.ErrNameNotResolved.
	RuleNotFound
)

// String names the action for logs.
func (a RuleAction) String() string {
	switch a {
	case RuleUnchanged:
		return "unchanged"
	case RuleMapped:
		return "mapped"
	case RuleAddresses:
		return "addresses"
	case RuleNotFound:
		return "not_found"
	}
	return "RuleAction(" + strconv.Itoa(int(a)) + ")"
}

// RuleResult is what HostResolverRules.Apply decided.
type RuleResult struct {
	Action RuleAction
	// Host is the name to resolve: the caller's host when unchanged or
	// failed, the replacement when mapped (an IP literal without brackets,
	// or a lower-case name), the resolved name for RuleAddresses.
	Host string
	// Port is the port to connect to: the caller's, or the MAP rule's.
	Port uint16
	// Addresses are the --resolve entry's addresses (RuleAddresses only),
	// in the order given; the slice is the caller's to keep.
	Addresses []netip.Addr
	// Err is net.ErrNameNotResolved for RuleNotFound, else nil.
	Err error
	// Rule is the text of the rule(s) that decided, for the NetLog; for an
	// unchanged name it names the EXCLUDE rule that kept a MAP away.
	Rule string
}

// IPLiteral returns the address a MAP rule's replacement names, when the
// replacement is an IP literal rather than a name to look up.
func (r RuleResult) IPLiteral() (netip.Addr, bool) {
	if r.Action != RuleMapped {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(r.Host)
	return a, err == nil
}

// String describes the decision for the NetLog.
func (r RuleResult) String() string {
	var s string
	switch r.Action {
	case RuleMapped:
		s = "mapped to " + joinHostPort(r.Host, r.Port)
	case RuleAddresses:
		addrs := make([]string, len(r.Addresses))
		for i, a := range r.Addresses {
			addrs[i] = a.String()
		}
		s = "resolved " + joinHostPort(r.Host, r.Port) + " to " + strings.Join(addrs, ", ")
	case RuleNotFound:
		s = "not found"
	default:
		s = "unchanged"
	}
	if r.Rule != "" {
		s += " by " + r.Rule
	}
	return s
}

// RulesSyntaxError reports a rule or --resolve entry that could not be read.
// It matches net.ErrInvalidArgument with errors.Is.
type RulesSyntaxError struct {
	// Flag is "host-resolver-rules" or "resolve", the option it came from.
	Flag string
	// Rule is the offending rule's text.
	Rule string
	// Reason says what is wrong with it.
	Reason string
}

func (e *RulesSyntaxError) Error() string {
	return fmt.Sprintf("dns: bad --%s entry %q: %s", e.Flag, e.Rule, e.Reason)
}

// Unwrap lets errors.Is(err, net.ErrInvalidArgument) hold.
func (e *RulesSyntaxError) Unwrap() error { return net.ErrInvalidArgument }

// HostResolverRules are Chromium's --host-resolver-rules plus curl's --resolve
// entries. The zero value has no rules and leaves every name unchanged.
type HostResolverRules struct {
	rules    []hostRule     // MAP and EXCLUDE rules, in the order given
	resolves []resolveEntry // --resolve entries, in the order given
}

// hostRule is one MAP or EXCLUDE rule.
type hostRule struct {
	exclude bool
	pattern hostPattern
	// For MAP: the replacement host (IP literals without brackets), the
	// replacement port or -1 to keep the caller's, and the failing marker.
	host     string
	port     int
	notFound bool
}

func (h hostRule) String() string {
	if h.exclude {
		return "EXCLUDE " + h.pattern.text
	}
	repl := h.host
	if strings.Contains(repl, ":") {
		repl = "[" + repl + "]"
	}
	if h.port >= 0 {
		repl += ":" + strconv.Itoa(h.port)
	}
	return "MAP " + h.pattern.text + " " + repl
}

// resolveEntry is one curl --resolve entry.
type resolveEntry struct {
	host  string // lower case, IPv6 without brackets, or "*"
	port  uint16
	addrs []netip.Addr
}

func (e resolveEntry) String() string {
	addrs := make([]string, len(e.addrs))
	for i, a := range e.addrs {
		if a.Is6() {
			addrs[i] = "[" + a.String() + "]"
		} else {
			addrs[i] = a.String()
		}
	}
	return "resolve " + joinHostPort(e.host, e.port) + ":" + strings.Join(addrs, ",")
}

// notFoundHosts are the replacements that make a name fail. Older Chromium
// spelled it ~NOTFOUND, today's ^NOTFOUND (a '^' is never a valid URL host, so
// its URL-based rewriting treats the rule as an invalid rewrite, which fails
// the name); command lines in the wild use both, so both are accepted.
var notFoundHosts = []string{"~NOTFOUND", "^NOTFOUND"}

// ParseHostResolverRules reads a --host-resolver-rules value: rules separated
// by commas, each one of
//
//	MAP <hostname_pattern> <replacement_host>[:<port>]
//	EXCLUDE <hostname_pattern>
//
// Keywords are case-insensitive. A pattern may use '*' (any run of
// characters) and '?' (zero or one character, as in Chromium's MatchPattern),
// with '\' escaping either; it is matched against the host and, failing that,
// against "host:port" ("[v6]:port" for IPv6), so "*.example.com:443" maps one
// port only. A replacement is a name, an IPv4 literal, a bracketed IPv6
// literal, or ~NOTFOUND / ^NOTFOUND to fail the name.
//
// Unlike Chromium, which logs and skips a rule it cannot read, a bad rule is
// an error here (a *RulesSyntaxError naming it), since a silently dropped rule
// sends traffic where the user said it must not go. Empty rules (a trailing
// comma) are skipped, and any run of blanks separates words.
func ParseHostResolverRules(s string) (HostResolverRules, error) {
	var r HostResolverRules
	for _, text := range strings.Split(s, ",") {
		if strings.TrimSpace(text) == "" {
			continue
		}
		if err := r.AddRule(text); err != nil {
			return HostResolverRules{}, err
		}
	}
	return r, nil
}

// AddRule adds one MAP or EXCLUDE rule (Chromium's AddRuleFromString).
func (r *HostResolverRules) AddRule(text string) error {
	bad := func(reason string) error {
		return &RulesSyntaxError{Flag: "host-resolver-rules", Rule: strings.TrimSpace(text), Reason: reason}
	}
	words := strings.Fields(text)
	if len(words) == 0 {
		return bad("empty rule")
	}
	switch strings.ToUpper(words[0]) {
	case "EXCLUDE":
		if len(words) != 2 {
			return bad("EXCLUDE takes one hostname pattern")
		}
		r.rules = append(r.rules, hostRule{exclude: true, pattern: compilePattern(words[1])})
		return nil
	case "MAP":
		if len(words) != 3 {
			return bad("MAP takes a hostname pattern and a replacement host[:port]")
		}
		rule := hostRule{pattern: compilePattern(words[1])}
		host, port, err := parseReplacement(words[2])
		if err != nil {
			return bad(err.Error())
		}
		rule.host, rule.port = host, port
		if isNotFoundMarker(host) {
			rule.host, rule.notFound = strings.ToUpper(host), true
		}
		r.rules = append(r.rules, rule)
		return nil
	default:
		return bad(fmt.Sprintf("unknown rule type %q (want MAP or EXCLUDE)", words[0]))
	}
}

// parseReplacement reads <replacement_host>[:<port>] as Chromium's
// ParseHostAndPort does: IPv6 literals only in brackets, no "host:" with an
// empty port, no user info. The port is -1 when absent.
func parseReplacement(s string) (host string, port int, err error) {
	port = -1
	rest := ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("missing ']' in %q", s)
		}
		a, perr := netip.ParseAddr(s[1:end])
		if perr != nil || !a.Is6() {
			return "", 0, fmt.Errorf("%q is not an IPv6 literal", s[1:end])
		}
		host, rest = a.String(), s[end+1:]
		if rest != "" && rest[0] != ':' {
			return "", 0, fmt.Errorf("unexpected %q after ']'", rest)
		}
	} else {
		switch strings.Count(s, ":") {
		case 0:
			host = s
		case 1:
			i := strings.IndexByte(s, ':')
			host, rest = s[:i], s[i:]
		default:
			return "", 0, fmt.Errorf("IPv6 literal %q must be in brackets", s)
		}
		if host == "" {
			return "", 0, fmt.Errorf("empty host in %q", s)
		}
		if !isNotFoundMarker(host) {
			if a, perr := netip.ParseAddr(host); perr == nil {
				host = a.String()
			} else if !validHostName(host) {
				return "", 0, fmt.Errorf("%q is not a host name or IP literal", host)
			} else {
				// URL canonicalization lowercases the host in Chromium.
				host = strings.ToLower(host)
			}
		}
	}
	if rest != "" {
		p, ok := parsePort(rest[1:])
		if !ok {
			return "", 0, fmt.Errorf("bad port %q", rest[1:])
		}
		port = int(p)
	}
	return host, port, nil
}

func isNotFoundMarker(host string) bool {
	for _, nf := range notFoundHosts {
		if strings.EqualFold(host, nf) {
			return true
		}
	}
	return false
}

// parsePort accepts 0 to 65535 in decimal digits only (no sign, no blanks).
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// AddCurlResolve adds one curl --resolve entry, "host:port:addr[,addr]...":
// the host at that exact port resolves to the addresses given, in order.
// Addresses may be bracketed ("[::1]") or bare IPv6. As in curl, host "*"
// matches every host at that port but only after the exact entries, a later
// entry for the same host and port replaces the earlier one, "-host:port"
// removes an entry, and a leading '+' is accepted (curl's entry that times out
// after a minute; entries here never expire, the rules being fixed at
// start-up). A bracketed IPv6 host ("[::1]:443:...") is accepted too.
func (r *HostResolverRules) AddCurlResolve(spec string) error {
	spec = strings.TrimSpace(spec)
	bad := func(reason string) error {
		return &RulesSyntaxError{Flag: "resolve", Rule: spec, Reason: reason}
	}
	remove := false
	s := spec
	switch {
	case strings.HasPrefix(s, "-"):
		remove, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	// The host: a bracketed IPv6 literal, or everything up to the first ':'.
	var host string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return bad("missing ']' after the IPv6 host")
		}
		a, err := netip.ParseAddr(s[1:end])
		if err != nil || !a.Is6() {
			return bad(fmt.Sprintf("%q is not an IPv6 literal", s[1:end]))
		}
		host, s = a.String(), s[end+1:]
		if !strings.HasPrefix(s, ":") {
			return bad("want host:port:address[,address]...")
		}
		s = s[1:]
	} else {
		i := strings.IndexByte(s, ':')
		if i < 0 {
			return bad("want host:port:address[,address]...")
		}
		host, s = strings.ToLower(s[:i]), s[i+1:]
		if host == "" {
			return bad("empty host")
		}
		if host != "*" && !validHostName(host) {
			if _, err := netip.ParseAddr(host); err != nil {
				return bad(fmt.Sprintf("%q is not a host name", host))
			}
		}
	}
	// The port, then (unless removing) the addresses.
	portText, addrText, hasAddrs := strings.Cut(s, ":")
	port, ok := parsePort(portText)
	if !ok {
		return bad(fmt.Sprintf("bad port %q", portText))
	}
	if remove {
		if hasAddrs {
			return bad("a removal takes no addresses: -host:port")
		}
		r.resolves = slices.DeleteFunc(r.resolves, func(e resolveEntry) bool { return e.host == host && e.port == port })
		return nil
	}
	if !hasAddrs {
		return bad("no addresses: want host:port:address[,address]...")
	}
	var addrs []netip.Addr
	for _, item := range strings.Split(addrText, ",") {
		item = strings.TrimSpace(item)
		if strings.HasPrefix(item, "[") && strings.HasSuffix(item, "]") {
			item = item[1 : len(item)-1]
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return bad(fmt.Sprintf("%q is not an IP address", item))
		}
		// The endpoint to connect to: an IPv4-mapped address is IPv4, as
		// for the resolver's other answers.
		addrs = append(addrs, a.Unmap())
	}
	entry := resolveEntry{host: host, port: port, addrs: addrs}
	if i := slices.IndexFunc(r.resolves, func(e resolveEntry) bool { return e.host == host && e.port == port }); i >= 0 {
		r.resolves[i] = entry
	} else {
		r.resolves = append(r.resolves, entry)
	}
	return nil
}

// Empty reports whether there are no rules and no --resolve entries, so the
// caller can skip Apply altogether.
func (r HostResolverRules) Empty() bool { return len(r.rules) == 0 && len(r.resolves) == 0 }

// Apply decides what to do with a request for host at port.
//
// MAP and EXCLUDE follow Chromium's HostMappingRules::RewriteHost: the first
// MAP rule whose pattern matches wins, unless any EXCLUDE rule, wherever it
// stands in the list, matches the host (the host alone, not host:port), in
// which case the name is left alone. A MAP to ~NOTFOUND fails the name.
//
// The --resolve entries then answer for the resulting host and port, exact
// entries before "*" ones. They act as curl's DNS cache does, below the
// mapping (as curl's --connect-to is applied before --resolve), so a MAP to a
// name that has a --resolve entry ends at that entry's addresses. EXCLUDE does
// not apply to them: an entry is an explicit answer, not a pattern.
//
// host is matched case-insensitively; an IPv6 literal may come with or
// without brackets.
func (r HostResolverRules) Apply(host string, port uint16) (result RuleResult) {
	result = RuleResult{Action: RuleUnchanged, Host: host, Port: port}
	h := normalizeRuleHost(host)
	hp := joinHostPort(h, port)
	for _, m := range r.rules {
		if m.exclude || !(m.pattern.match(h) || m.pattern.match(hp)) {
			continue
		}
		if i := slices.IndexFunc(r.rules, func(e hostRule) bool { return e.exclude && e.pattern.match(h) }); i >= 0 {
			result.Rule = r.rules[i].String()
			break
		}
		if m.notFound {
			return RuleResult{Action: RuleNotFound, Host: host, Port: port, Err: net.ErrNameNotResolved, Rule: m.String()}
		}
		result = RuleResult{Action: RuleMapped, Host: m.host, Port: port, Rule: m.String()}
		if m.port >= 0 {
			result.Port = uint16(m.port)
		}
		h = m.host
		break
	}
	if e, ok := r.lookupResolve(h, result.Port); ok {
		result.Host = h
		result.Addresses = slices.Clone(e.addrs)
		if result.Action == RuleMapped {
			result.Rule += "; " + e.String()
		} else {
			// An EXCLUDE that kept a MAP away did not decide this.
			result.Rule = e.String()
		}
		result.Action = RuleAddresses
	}
	return result
}

func (r HostResolverRules) lookupResolve(host string, port uint16) (resolveEntry, bool) {
	for _, want := range []string{host, "*"} {
		for _, e := range r.resolves {
			if e.host == want && e.port == port {
				return e, true
			}
		}
	}
	return resolveEntry{}, false
}

// String writes the rules back in their canonical form for the NetLog:
// "MAP *.example.com 127.0.0.1:8080, EXCLUDE www.example.com", then each
// --resolve entry as "; resolve example.com:443:127.0.0.1,[::1]". The rules
// part reads back with ParseHostResolverRules; the whole is for display.
func (r HostResolverRules) String() string {
	parts := make([]string, len(r.rules))
	for i, rule := range r.rules {
		parts[i] = rule.String()
	}
	s := strings.Join(parts, ", ")
	for _, e := range r.resolves {
		if s != "" {
			s += "; "
		}
		s += e.String()
	}
	return s
}

// normalizeRuleHost lowercases host and strips an IPv6 literal's brackets:
// Chromium matches the canonical URL host, which is both.
func normalizeRuleHost(host string) string {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return strings.ToLower(host)
}

// joinHostPort writes host:port with IPv6 literals in brackets, as
// HostPortPair::ToString does.
func joinHostPort(host string, port uint16) string {
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// hostPattern is a compiled wildcard pattern with the semantics of Chromium's
// base::MatchPattern: '*' matches any run of characters (possibly empty), '?'
// matches zero or one character, and '\' makes the '*' or '?' after it
// literal. Patterns are lowercased, as Chromium lowercases them.
type hostPattern struct {
	text    string // as written (lowercased), for String
	toks    []patternToken
	plain   bool   // no wildcard: matching is string equality...
	literal string // ...with this (escapes resolved, brackets stripped)
}

type patternToken struct {
	kind byte // 0 literal, '*' or '?'
	r    rune
}

func compilePattern(text string) hostPattern {
	text = strings.ToLower(text)
	p := hostPattern{text: text, plain: true}
	// A bracketed IPv6 pattern ("[::1]") is matched against the bare host,
	// which is what Chromium's hosts look like; Chromium itself would never
	// match it, which is surely not what its writer meant.
	body := text
	if len(body) > 1 && body[0] == '[' && body[len(body)-1] == ']' {
		body = body[1 : len(body)-1]
	}
	rs := []rune(body)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == '\\' && i+1 < len(rs) && (rs[i+1] == '*' || rs[i+1] == '?'):
			i++
			p.toks = append(p.toks, patternToken{r: rs[i]})
		case c == '*':
			p.plain = false
			// Consecutive stars match what one star matches.
			if n := len(p.toks); n == 0 || p.toks[n-1].kind != '*' {
				p.toks = append(p.toks, patternToken{kind: '*'})
			}
		case c == '?':
			p.plain = false
			p.toks = append(p.toks, patternToken{kind: '?'})
		default:
			p.toks = append(p.toks, patternToken{r: c})
		}
	}
	if p.plain {
		var b strings.Builder
		for _, t := range p.toks {
			b.WriteRune(t.r)
		}
		p.literal = b.String()
	}
	return p
}

// match reports whether the whole of s matches the pattern. s must already be
// lowercase.
func (p hostPattern) match(s string) bool {
	if p.plain {
		return s == p.literal
	}
	// Dynamic programming from the end: next[j] says whether the tokens
	// after the current one match rs[j:]. Quadratic in the worst case, on
	// strings of at most a few hundred characters, with no backtracking
	// blow-up whatever the pattern.
	rs := []rune(s)
	n := len(rs)
	next := make([]bool, n+1)
	cur := make([]bool, n+1)
	next[n] = true
	for i := len(p.toks) - 1; i >= 0; i-- {
		t := p.toks[i]
		for j := n; j >= 0; j-- {
			switch t.kind {
			case '*':
				cur[j] = next[j] || (j < n && cur[j+1])
			case '?':
				cur[j] = next[j] || (j < n && next[j+1])
			default:
				cur[j] = j < n && rs[j] == t.r && next[j+1]
			}
		}
		cur, next = next, cur
	}
	return next[0]
}
