package dns

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/netlog"
)

// The defaults and limits of glibc's resolver (resolv.h), which Chromium's
// DnsConfig copies: a resolv.conf without options behaves as glibc does.
const (
	defaultNdots    = 1               // the ndots option
	defaultTimeout  = 5 * time.Second // RES_TIMEOUT, per attempt
	defaultAttempts = 2               // RES_DFLRETRY, per server

	maxNameservers = 3  // MAXNS: glibc ignores further nameserver lines
	maxNdots       = 15 // RES_MAXNDOTS
	maxTimeoutSecs = 30 // RES_MAXRETRANS
	maxAttempts    = 5  // RES_MAXRETRY
	dnsPort        = 53 // resolv.conf has no port syntax
)

// DNSConfig is what the built-in DNS client needs from the system: the
// nameservers and search rules of resolv.conf and the hosts file (Chromium's
// DnsConfig). A DNSConfig is a value; the client keeps its own copy.
type DNSConfig struct {
	// Nameservers are tried in order (or rotated, see Rotate), at most
	// three as glibc.
	Nameservers []netip.AddrPort
	// Search are the domains appended to names with fewer than Ndots dots,
	// without trailing dots.
	Search []string
	// Ndots is the number of dots from which a name is tried as is first.
	Ndots int
	// Timeout bounds each attempt (one query to one server).
	Timeout time.Duration
	// Attempts is how often each server is tried for one name.
	Attempts int
	// Rotate starts successive transactions at successive servers.
	Rotate bool
	// Hosts maps lower-case names (without a trailing dot) to their
	// addresses from the hosts file, in file order. The DNS client does not
	// use it: the resolver consults it before DNS, as Chromium does.
	Hosts map[string][]netip.Addr
}

// DefaultDNSConfig returns a configuration with glibc's defaults (ndots 1,
// timeout 5 s, attempts 2) and no nameservers.
func DefaultDNSConfig() DNSConfig {
	return DNSConfig{Ndots: defaultNdots, Timeout: defaultTimeout, Attempts: defaultAttempts}
}

// Usable reports whether the built-in client can run with this
// configuration: it needs at least one nameserver. glibc falls back to a
// local server when resolv.conf names none; netfetch rather leaves such a
// system to the system resolver, as Chromium refuses configurations it
// cannot use faithfully.
func (c DNSConfig) Usable() bool { return len(c.Nameservers) > 0 }

// ReadDNSConfig reads a resolv.conf file and a hosts file. A hosts file that
// does not exist (or an empty hostsFile) gives no hosts, as on systems
// without one; a resolv.conf that cannot be read is an error, returned with
// a configuration holding the defaults and the hosts so a caller may still
// use the hosts.
func ReadDNSConfig(resolvConf, hostsFile string) (DNSConfig, error) {
	cfg := DefaultDNSConfig()
	var errs []error
	if hostsFile != "" {
		data, err := os.ReadFile(hostsFile)
		switch {
		case err == nil:
			cfg.Hosts = parseHostsFile(data)
		case errors.Is(err, fs.ErrNotExist):
		default:
			errs = append(errs, err)
		}
	}
	data, err := os.ReadFile(resolvConf)
	if err != nil {
		errs = append(errs, err)
		return cfg, errors.Join(errs...)
	}
	hostname, _ := os.Hostname()
	parseResolvConf(&cfg, data, hostname)
	return cfg, errors.Join(errs...)
}

// parseResolvConf applies resolv.conf's keywords to cfg as glibc's res_init
// reads them: comment lines start with '#' or ';'; "domain" and "search"
// replace each other (the last one wins); unknown keywords and options are
// ignored. Without domain or search, the search list is the domain part of
// hostname, as glibc derives it.
func parseResolvConf(cfg *DNSConfig, data []byte, hostname string) {
	haveSearch := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			if len(fields) < 2 || len(cfg.Nameservers) >= maxNameservers {
				continue
			}
			ip, err := netip.ParseAddr(fields[1])
			if err != nil || ip.IsUnspecified() {
				// Chromium refuses 0.0.0.0; an unparsable line is skipped
				// as glibc does.
				continue
			}
			cfg.Nameservers = append(cfg.Nameservers, netip.AddrPortFrom(ip.Unmap(), dnsPort))
		case "domain":
			haveSearch = true
			cfg.Search = nil
			if len(fields) >= 2 {
				cfg.Search = appendSearchDomain(nil, fields[1])
			}
		case "search":
			haveSearch = true
			cfg.Search = nil
			for _, d := range fields[1:] {
				cfg.Search = appendSearchDomain(cfg.Search, d)
			}
		case "options":
			for _, opt := range fields[1:] {
				applyResolvOption(cfg, opt)
			}
		}
	}
	if !haveSearch {
		if i := strings.IndexByte(hostname, '.'); i >= 0 {
			cfg.Search = appendSearchDomain(nil, hostname[i+1:])
		}
	}
}

// appendSearchDomain adds d without its trailing dot; the root (".") adds
// nothing, since appending it would only repeat the name as is.
func appendSearchDomain(list []string, d string) []string {
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return list
	}
	return append(list, d)
}

// applyResolvOption handles one "options" word. Values are clamped to
// glibc's limits; malformed values are ignored.
func applyResolvOption(cfg *DNSConfig, opt string) {
	name, value, hasValue := strings.Cut(opt, ":")
	n, err := strconv.Atoi(value)
	numeric := hasValue && err == nil && n >= 0
	switch name {
	case "ndots":
		if numeric {
			cfg.Ndots = min(n, maxNdots)
		}
	case "timeout":
		if numeric {
			// glibc takes 0 as 1 second rather than "never wait".
			cfg.Timeout = time.Duration(max(1, min(n, maxTimeoutSecs))) * time.Second
		}
	case "attempts":
		if numeric {
			cfg.Attempts = max(1, min(n, maxAttempts))
		}
	case "rotate":
		cfg.Rotate = true
	}
}

// parseHostsFile reads a hosts file: "address name [aliases...]" per line, '#'
// starts a comment anywhere. Names are case-insensitive (kept lower-case)
// and lose a trailing dot; a name's addresses keep the file's order, and a
// repeated address is kept once. Lines whose address does not parse are
// skipped, as glibc and Chromium skip them.
func parseHostsFile(data []byte) map[string][]netip.Addr {
	hosts := make(map[string][]netip.Addr)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		ip, err := netip.ParseAddr(fields[0])
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		for _, name := range fields[1:] {
			name = strings.TrimSuffix(strings.ToLower(name), ".")
			if name == "" {
				continue
			}
			addrs := hosts[name]
			dup := false
			for _, a := range addrs {
				if a == ip {
					dup = true
					break
				}
			}
			if !dup {
				hosts[name] = append(addrs, ip)
			}
		}
	}
	return hosts
}

// NetLogParams returns the configuration in the shape of Chromium's
// DnsConfig::ToDict, which netlog-viewer's DNS tab lists under
// polledData.hostResolverInfo.dns_config. Fields netfetch does not have
// (DNS over TLS/HTTPS, secure DNS mode) hold Chromium's "off" values.
func (c DNSConfig) NetLogParams() netlog.Params {
	nameservers := make([]string, len(c.Nameservers))
	for i, ns := range c.Nameservers {
		nameservers[i] = ns.String()
	}
	search := make([]string, len(c.Search))
	copy(search, c.Search)
	return netlog.Params{
		"nameservers":           nameservers,
		"dns_over_tls_active":   false,
		"dns_over_tls_hostname": "",
		"search":                search,
		"unhandled_options":     false,
		// A multi-label name is tried with the search suffixes too.
		"append_to_multi_label_name": true,
		"ndots":                      c.Ndots,
		// Chromium logs its fallback period here, in seconds; ours is the
		// per-attempt timeout.
		"timeout":                      c.Timeout.Seconds(),
		"attempts":                     c.Attempts,
		"doh_attempts":                 1,
		"rotate":                       c.Rotate,
		"use_local_ipv6":               false,
		"num_hosts":                    c.numHosts(),
		"doh_config":                   netlog.Params{"servers": []any{}},
		"secure_dns_mode":              0, // SecureDnsMode::kOff
		"allow_dns_over_https_upgrade": false,
	}
}

// numHosts counts entries as Chromium's DnsHosts does: one per name and
// address family.
func (c DNSConfig) numHosts() int {
	n := 0
	for _, addrs := range c.Hosts {
		var v4, v6 bool
		for _, a := range addrs {
			if a.Is4() {
				v4 = true
			} else {
				v6 = true
			}
		}
		if v4 {
			n++
		}
		if v6 {
			n++
		}
	}
	return n
}
