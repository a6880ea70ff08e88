package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/urlrequest"
)

// maxParallelDefault caps the default of --parallel: one goroutine per URL
// is cheap, but a list of thousands of URLs should not open thousands of
// requests at once.
const maxParallelDefault = 50

// unlimitedRedirects stands for curl's "--max-redirs -1". The stack has no
// "unlimited", so we pass a count no real chain reaches.
const unlimitedRedirects = math.MaxInt32

const usageText = `Usage: netfetch [flags] URL [URL...]

Fetches the URLs concurrently through one netfetch Context (shared host
resolver, socket pools and NetLog). Flags may come before or after the URLs.

Output:
  -o, --output FILE      write the body to FILE ("-" is stdout); one URL only
      --output-dir DIR   write the body of the Nth URL to DIR/N (created if missing)
                         Without either, bodies go to stdout in URL order.
  -i, --include          print the status line and headers before the body
  -I, --head             send HEAD and print the status line and headers only
  -v, --verbose          print the request, the response headers and connection
                         details to stderr ("> ", "< " and "* " lines)
  -s, --silent           print nothing on stderr: no failure lines (the exit
                         code still tells); -v still prints when given

Request:
  -X, --request METHOD   use METHOD (default GET, POST with -d, HEAD with -I)
  -d, --data DATA        send DATA as the body; "@FILE" sends FILE's bytes as
                         they are (curl strips newlines from them; netfetch does
                         not). Repeated -d are joined with "&". Adds
                         Content-Type: application/x-www-form-urlencoded
                         unless -H sets a Content-Type.
  -H, --header "K: V"    add a request header (repeatable)
  -L, --location         accepted and ignored: redirects are always followed,
                         as a browser does
      --max-redirs N     follow at most N redirects (default 20; -1 unlimited;
                         0 makes the first redirect fail)

Connections:
  -x, --proxy RULES      proxy rules in Chromium's --proxy-server grammar: one
                         list "URI[,URI...]" for every URL, or per scheme
                         "http=URI;https=URI;socks=URI". URIs are http://,
                         https://, socks4://, socks4a://, socks5:// (socks:// is
                         SOCKS5) or direct://, with user:pass@ for credentials;
                         a bare host:port is an HTTP proxy. Later URIs of a list
                         are fallbacks, tried when a proxy fails
      --proxy-bypass LIST  send matching URLs direct (Chromium's grammar, ","
                         or ";" separated): host patterns with * and a port
                         ("*.corp.example:8080", ".example.com"), scheme://
                         prefixes, IP literals, CIDR blocks ("10.0.0.0/8",
                         "fe80::/10"), <local> (names without a dot) and
                         <-loopback>, which lets loopback and link-local
                         destinations use the proxy (they go direct otherwise)
      --pac-url URL      decide the proxy per URL with the PAC script at URL
                         (http://, https://, file:// or data:); if it cannot be
                         fetched or run, requests go direct
      --pac-mandatory    with --pac-url or --proxy-auto-detect, fail requests
                         (net::ERR_MANDATORY_PROXY_CONFIGURATION_FAILED) instead
                         of going direct when the PAC script cannot be had
      --proxy-auto-detect  look for a PAC script at http://wpad/wpad.dat (WPAD),
                         before --pac-url if both are given
      --no-proxy-env     ignore http_proxy, https_proxy, all_proxy and no_proxy
                         (read, in lower or upper case, when no proxy flag is given)
      --resolve-proxy    fetch nothing; print for each URL one line with the
                         routes it would try, in PAC form ("PROXY h:p; DIRECT")
      --cacert FILE      also trust the CA certificates in FILE (PEM)
  -k, --insecure         do not verify TLS certificates
      --max-sockets-per-host N  at most N connections per host (default 6)
      --connect-timeout S  give each step of making a connection (TCP, TLS,
                         SOCKS, proxy tunnel) at most S seconds
  -m, --max-time S       give each URL at most S seconds in all; past it the
                         URL fails with net::ERR_TIMED_OUT (-7)

Host resolution:
      --dns-server IP[:PORT]  ask this DNS server with the built-in client
                         (repeatable; default: /etc/resolv.conf's servers)
      --system-dns       resolve with the operating system (getaddrinfo)
      --host-resolver-rules RULES  Chromium's rules: "MAP host addr, EXCLUDE host"
                         (* wildcards; MAP host ^NOTFOUND makes it fail)
      --resolve HOST:PORT:ADDR[,ADDR]  curl's fixed answers (repeatable)
      --no-host-cache    do not cache host resolutions

HTTP cache (none unless one of the first two is given):
      --cache-dir DIR    keep an HTTP cache in DIR, shared across runs (RFC 9111
                         rules, as Chromium's cache); if DIR is in use by another
                         netfetch or cannot be written, run without it
      --cache memory     keep an HTTP cache in memory for this run
      --cache-size BYTES limit the cache (default 80 MiB on disk, 10 MiB in memory;
                         K, M and G suffixes allowed)
      --cache-only       answer from the cache only; a URL not in it fails with
                         net::ERR_CACHE_MISS (-400)
      --no-cache         do not read the cache, but store what comes back
      --revalidate       ask the origin whether each cached response is still
                         good (a conditional request) before using it

Running:
      --parallel N       fetch at most N URLs at once (default: the number of
                         URLs, at most 50)
      --urls-from FILE   also fetch the URLs listed in FILE, one a line, after
                         the ones on the command line; blank lines and lines
                         starting with # are skipped
      --fail             make an HTTP status >= 400 a failure: nothing is written
                         for that URL and the exit code is 22
      --netlog FILE      write a NetLog (chrome://net-export format) to FILE
      --netlog-mode MODE HeavilyRedacted, Default (default), IncludeSensitive
                         or Everything (adds the bytes sent and received)
      --version          print the version and exit
  -h, --help             print this help and exit

A URL that fails prints "netfetch: URL: net::ERR_NAME (code)" on stderr.
Exit codes: 0 success; 1 a URL failed with a network error; 2 bad usage;
22 --fail saw an HTTP error; 23 writing the output failed; 130 interrupted.
When several apply, the order of precedence is 130, 1, 23, 22.
`

// options is the parsed command line.
type options struct {
	output     string
	outputDir  string
	include    bool
	head       bool
	verbose    bool
	silent     bool
	location   bool
	fail       bool
	version    bool
	help       bool
	method     string
	data       stringList
	headers    stringList
	maxRedirs  int
	netlogPath string
	netlogMode string
	parallel   int
	urlsFrom   string
	urls       []string

	proxy           string
	proxyBypass     string
	pacURL          string
	pacMandatory    bool
	proxyAutoDetect bool
	noProxyEnv      bool
	resolveProxy    bool
	cacert          string
	insecure        bool
	maxPerHost      int
	connectTimeout  float64
	maxTimeSecs     float64

	dnsServers    stringList
	systemDNS     bool
	resolverRules string
	resolves      stringList
	noHostCache   bool

	cacheDir     string
	cacheKind    string
	cacheSizeArg string
	cacheOnly    bool
	noCache      bool
	revalidate   bool

	// Derived by finish.
	body        []byte // nil when there is no -d
	reqHeaders  []urlrequest.Header
	captureMode netlog.CaptureMode
	proxyConfig proxy.Config
	rootCAs     *x509.CertPool
	maxTime     time.Duration
	nameservers []netip.AddrPort
	rules       dns.HostResolverRules
	cacheSize   int64
	loadFlags   net.LoadFlags
}

// stringList is a flag.Value that collects every occurrence of a repeatable
// flag (-H, -d) in order.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ", ") }

func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// errHelp asks for the help text on stdout and exit code 0.
var errHelp = errors.New("help requested")

// usageError is bad usage: the caller prints it with the usage text and
// exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("netfetch", flag.ContinueOnError)
	// We print our own messages and usage text.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	str := func(p *string, def string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, def, "")
		}
	}
	boolean := func(p *bool, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, "")
		}
	}
	list := func(p *stringList, names ...string) {
		for _, n := range names {
			fs.Var(p, n, "")
		}
	}
	str(&o.output, "", "o", "output")
	str(&o.outputDir, "", "output-dir")
	boolean(&o.include, "i", "include")
	boolean(&o.head, "I", "head")
	boolean(&o.verbose, "v", "verbose")
	boolean(&o.silent, "s", "silent")
	boolean(&o.location, "L", "location")
	boolean(&o.fail, "fail")
	boolean(&o.version, "version")
	boolean(&o.help, "h", "help")
	str(&o.method, "", "X", "request")
	list(&o.data, "d", "data")
	list(&o.headers, "H", "header")
	fs.IntVar(&o.maxRedirs, "max-redirs", urlrequest.DefaultMaxRedirects, "")
	str(&o.netlogPath, "", "netlog")
	str(&o.netlogMode, "Default", "netlog-mode")
	fs.IntVar(&o.parallel, "parallel", 0, "")
	str(&o.urlsFrom, "", "urls-from")
	str(&o.proxy, "", "x", "proxy")
	str(&o.proxyBypass, "", "proxy-bypass", "noproxy")
	str(&o.pacURL, "", "pac-url")
	boolean(&o.pacMandatory, "pac-mandatory")
	boolean(&o.proxyAutoDetect, "proxy-auto-detect")
	boolean(&o.noProxyEnv, "no-proxy-env")
	boolean(&o.resolveProxy, "resolve-proxy")
	str(&o.cacert, "", "cacert")
	boolean(&o.insecure, "k", "insecure")
	fs.IntVar(&o.maxPerHost, "max-sockets-per-host", 0, "")
	fs.Float64Var(&o.connectTimeout, "connect-timeout", 0, "")
	fs.Float64Var(&o.maxTimeSecs, "m", 0, "")
	fs.Float64Var(&o.maxTimeSecs, "max-time", 0, "")
	list(&o.dnsServers, "dns-server")
	boolean(&o.systemDNS, "system-dns")
	str(&o.resolverRules, "", "host-resolver-rules")
	list(&o.resolves, "resolve")
	boolean(&o.noHostCache, "no-host-cache")
	str(&o.cacheDir, "", "cache-dir")
	str(&o.cacheKind, "", "cache")
	str(&o.cacheSizeArg, "", "cache-size")
	boolean(&o.cacheOnly, "cache-only")
	boolean(&o.noCache, "no-cache")
	boolean(&o.revalidate, "revalidate")
	return fs
}

// parseArgs parses the command line. Go's flag package stops at the first
// positional argument, so we parse, take that argument as a URL and parse
// the rest again, which lets flags follow URLs as curl allows.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	fs := newFlagSet(o)
	args = expandShortFlags(fs, args)
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			// "--" ends the flags: everything after it is a URL.
			o.urls = append(o.urls, rest...)
			break
		}
		o.urls = append(o.urls, rest[0])
		args = rest[1:]
	}
	if o.help {
		return nil, errHelp
	}
	if o.version {
		return o, nil
	}
	if err := o.finish(); err != nil {
		return nil, err
	}
	return o, nil
}

// expandShortFlags splits curl-style bundles of one-letter boolean flags
// ("-sv", "-sIL") into separate flags, which Go's flag package does not do.
// A registered flag name, a flag's value, or a bundle with a letter that is
// not a boolean short flag is left alone.
func expandShortFlags(fs *flag.FlagSet, args []string) []string {
	isBool := func(f *flag.Flag) bool {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		return ok && b.IsBoolFlag()
	}
	out := make([]string, 0, len(args))
	takesValue := false // args[i] is the value of the flag before it
	for i, a := range args {
		if takesValue {
			takesValue = false
			out = append(out, a)
			continue
		}
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
			out = append(out, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if f := fs.Lookup(name); f != nil {
			takesValue = !isBool(f)
			out = append(out, a)
			continue
		}
		bundle := len(a) > 2 && a[1] != '-'
		for j := 0; bundle && j < len(name); j++ {
			f := fs.Lookup(name[j : j+1])
			bundle = f != nil && isBool(f)
		}
		if !bundle {
			out = append(out, a)
			continue
		}
		for j := 0; j < len(name); j++ {
			out = append(out, "-"+name[j:j+1])
		}
	}
	return out
}

// finish validates the options and derives what the fetches need.
func (o *options) finish() error {
	if o.urlsFrom != "" {
		urls, err := readURLList(o.urlsFrom)
		if err != nil {
			return usagef("--urls-from: %v", err)
		}
		o.urls = append(o.urls, urls...)
	}
	switch {
	case len(o.urls) == 0:
		return usagef("no URL given")
	case o.output != "" && o.outputDir != "":
		return usagef("-o and --output-dir cannot be combined")
	case o.output != "" && len(o.urls) != 1:
		return usagef("-o takes exactly one URL (got %d); use --output-dir for several", len(o.urls))
	case o.head && len(o.data) > 0:
		return usagef("-I and -d cannot be combined")
	case o.maxRedirs < -1:
		return usagef("--max-redirs must be -1 or more, not %d", o.maxRedirs)
	case o.parallel < 0:
		return usagef("--parallel must be positive, not %d", o.parallel)
	}
	if o.parallel == 0 {
		o.parallel = min(len(o.urls), maxParallelDefault)
	}
	if err := o.finishConnectionOptions(); err != nil {
		return err
	}
	if err := o.finishResolverOptions(); err != nil {
		return err
	}
	mode, ok := netlog.ParseCaptureMode(o.netlogMode)
	if !ok {
		return usagef("--netlog-mode: unknown mode %q (HeavilyRedacted, Default, IncludeSensitive, Everything)", o.netlogMode)
	}
	o.captureMode = mode

	for _, h := range o.headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
			return usagef("-H %q: want \"Name: value\"", h)
		}
		o.reqHeaders = append(o.reqHeaders, urlrequest.Header{Name: name, Value: strings.TrimLeft(value, " \t")})
	}
	if len(o.data) > 0 {
		parts := make([][]byte, 0, len(o.data))
		for _, d := range o.data {
			if file, ok := strings.CutPrefix(d, "@"); ok {
				b, err := os.ReadFile(file)
				if err != nil {
					return usagef("-d: %v", err)
				}
				parts = append(parts, b)
				continue
			}
			parts = append(parts, []byte(d))
		}
		// Not nil even when empty: an empty -d still sends "Content-Length: 0".
		o.body = append([]byte{}, joinBytes(parts, '&')...)
		if !o.hasHeader("Content-Type") {
			o.reqHeaders = append(o.reqHeaders, urlrequest.Header{Name: "Content-Type", Value: "application/x-www-form-urlencoded"})
		}
	}
	return nil
}

// requestMethod is the method sent: -X wins, then -I, then -d.
func (o *options) requestMethod() string {
	switch {
	case o.method != "":
		return o.method
	case o.head:
		return "HEAD"
	case o.body != nil:
		return "POST"
	}
	return "GET"
}

// maxRedirects maps curl's --max-redirs onto FetchRequest.MaxRedirects,
// where 0 means the default and a negative count means none.
func (o *options) maxRedirects() int {
	switch {
	case o.maxRedirs == 0:
		return -1
	case o.maxRedirs < 0:
		return unlimitedRedirects
	}
	return o.maxRedirs
}

func (o *options) hasHeader(name string) bool {
	for _, h := range o.reqHeaders {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

func joinBytes(parts [][]byte, sep byte) []byte {
	var out []byte
	for i, p := range parts {
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, p...)
	}
	return out
}

// readURLList reads a --urls-from file.
func readURLList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var urls []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		urls = append(urls, line)
	}
	return urls, nil
}

// finishConnectionOptions checks and converts the proxy, TLS, socket limit
// and timeout flags.
func (o *options) finishConnectionOptions() error {
	switch {
	case o.maxPerHost < 0:
		return usagef("--max-sockets-per-host must be positive, not %d", o.maxPerHost)
	case o.connectTimeout < 0 || o.maxTimeSecs < 0:
		return usagef("timeouts must not be negative")
	}
	o.maxTime = time.Duration(o.maxTimeSecs * float64(time.Second))
	if err := o.finishProxyOptions(os.Getenv); err != nil {
		return err
	}
	if err := o.finishCacheOptions(); err != nil {
		return err
	}
	if o.cacert != "" {
		pem, err := os.ReadFile(o.cacert)
		if err != nil {
			return usagef("--cacert: %v", err)
		}
		// The file's CAs are added to the system's, as curl does with a
		// system store.
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return usagef("--cacert: no PEM certificate in %s", o.cacert)
		}
		o.rootCAs = pool
	}
	return nil
}

// finishResolverOptions checks and converts the host resolver flags.
func (o *options) finishResolverOptions() error {
	for _, d := range o.dnsServers {
		ap, err := netip.ParseAddrPort(d)
		if err != nil {
			// A bare address means port 53.
			ip, ierr := netip.ParseAddr(strings.Trim(d, "[]"))
			if ierr != nil {
				return usagef("--dns-server %q: want IP:PORT or IP", d)
			}
			ap = netip.AddrPortFrom(ip, 53)
		}
		o.nameservers = append(o.nameservers, ap)
	}
	if o.systemDNS && len(o.nameservers) > 0 {
		return usagef("--system-dns and --dns-server cannot be combined")
	}
	rules, err := dns.ParseHostResolverRules(o.resolverRules)
	if err != nil {
		return usagef("--host-resolver-rules: %v", err)
	}
	for _, r := range o.resolves {
		if err := rules.AddCurlResolve(r); err != nil {
			return usagef("--resolve: %v", err)
		}
	}
	o.rules = rules
	return nil
}

// finishProxyOptions builds the proxy configuration: the proxy flags when
// any is given, else the environment's variables (unless --no-proxy-env),
// else direct. --proxy-bypass replaces any other bypass list.
func (o *options) finishProxyOptions(getenv func(string) string) error {
	cfg := proxy.DirectConfig()
	explicit := o.proxy != "" || o.pacURL != "" || o.proxyAutoDetect
	if o.proxy != "" {
		rules, err := proxy.ParseRules(o.proxy)
		if err != nil {
			return usagef("--proxy: %v", err)
		}
		cfg.Rules = rules
	}
	if o.pacURL != "" {
		u, err := proxy.ParsePACURL(o.pacURL)
		if err != nil {
			return usagef("--pac-url: %v", err)
		}
		cfg.PACURL = u
	}
	cfg.AutoDetect = o.proxyAutoDetect
	if o.pacMandatory && !cfg.HasAutomaticSettings() {
		return usagef("--pac-mandatory needs --pac-url or --proxy-auto-detect")
	}
	cfg.PACMandatory = o.pacMandatory
	if !explicit && !o.noProxyEnv {
		env, ok, err := proxy.ConfigFromEnv(getenv)
		if err != nil {
			return usagef("%v", err)
		}
		if ok {
			cfg = env
		}
	}
	if o.proxyBypass != "" {
		bypass, err := proxy.ParseBypassRules(o.proxyBypass)
		if err != nil {
			return usagef("--proxy-bypass: %v", err)
		}
		cfg.Rules.Bypass = bypass
	}
	o.proxyConfig = cfg
	return nil
}

// finishCacheOptions checks the cache flags and turns them into a size and
// load flags.
func (o *options) finishCacheOptions() error {
	switch {
	case o.cacheKind != "" && o.cacheKind != "memory":
		return usagef("--cache takes \"memory\", not %q (use --cache-dir DIR for a disk cache)", o.cacheKind)
	case o.cacheKind != "" && o.cacheDir != "":
		return usagef("--cache memory and --cache-dir cannot be combined")
	case o.cacheOnly && o.noCache:
		return usagef("--cache-only and --no-cache cannot be combined")
	}
	if o.cacheSizeArg != "" {
		n, err := parseByteSize(o.cacheSizeArg)
		if err != nil {
			return usagef("--cache-size: %v", err)
		}
		o.cacheSize = n
	}
	if o.cacheOnly {
		o.loadFlags |= net.LoadOnlyFromCache
	}
	if o.noCache {
		o.loadFlags |= net.LoadBypassCache
	}
	if o.revalidate {
		o.loadFlags |= net.LoadValidateCache
	}
	return nil
}

// parseByteSize reads "1048576", "512K", "80M" or "1G" (powers of 1024).
func parseByteSize(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a positive size in bytes", s)
	}
	return n * mult, nil
}
