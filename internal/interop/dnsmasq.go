package interop

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dnsmasq: a small DNS server, run in the foreground (--keep-in-foreground)
// on 127.0.0.1, UDP and TCP on one free port, with no configuration file,
// no upstream servers and no /etc/hosts: it answers only for the records
// given in DnsmasqOptions, and logs every query to its stderr.
//
// What it does that tests must expect (dnsmasq 2.90):
//   - names under Zone without records get NXDOMAIN, and names with records
//     of another type NOERROR without answers (NODATA); in the default
//     (non-authoritative) mode neither carries an SOA, so they are not
//     cacheable; with Authoritative they carry the zone's SOA, whose TTL
//     and MINIMUM are AuthTTL;
//   - a record's TTL is the one given (0 when none is: --local-ttl's
//     default), except with Authoritative, where every record has AuthTTL;
//   - CNAMEs are followed in the answer in the default mode; an
//     authoritative dnsmasq answers with the CNAME alone;
//   - a UDP answer larger than the client's EDNS0 size (and at most
//     EDNSPacketMax) is cut and sets TC; the full answer comes over TCP.

// DnsmasqOptions configures StartDnsmasq.
type DnsmasqOptions struct {
	// Zone is the domain dnsmasq is the only source for (--local, or
	// --auth-zone with Authoritative); default "test.example".
	Zone string
	// Hosts are A/AAAA records (--host-record).
	Hosts []DnsmasqHost
	// CNAMEs are alias records (--cname).
	CNAMEs []DnsmasqCNAME
	// Addresses answer a domain and every name under it with one address
	// (--address=/domain/ip).
	Addresses map[string]netip.Addr
	// Authoritative makes dnsmasq an authoritative server for Zone (see
	// the notes above) instead of a local resolver.
	Authoritative bool
	// AuthTTL is the TTL of every record, and the SOA's MINIMUM, with
	// Authoritative; default 600 (dnsmasq's).
	AuthTTL int
	// EDNSPacketMax is the largest UDP answer dnsmasq sends
	// (--edns-packet-max); 0 leaves dnsmasq's default, 1232.
	EDNSPacketMax int
	// ExtraArgs are appended to the command line.
	ExtraArgs []string
	// StartTimeout bounds the wait for dnsmasq to accept queries; default
	// 10 s.
	StartTimeout time.Duration
}

// DnsmasqHost is one name's addresses, all with one TTL (0: none given).
type DnsmasqHost struct {
	Name  string
	Addrs []netip.Addr
	TTL   int
}

// DnsmasqCNAME is an alias to Target with a TTL (0: none given).
type DnsmasqCNAME struct {
	Alias, Target string
	TTL           int
}

// Dnsmasq is a running dnsmasq started by StartDnsmasq.
type Dnsmasq struct {
	// Port is the DNS port (UDP and TCP) on 127.0.0.1.
	Port int
	// Args is the command line, without the program name.
	Args []string
	// Dir holds the pid file and the output file.
	Dir string

	proc *Process
}

// DnsmasqQuery is one query from dnsmasq's log.
type DnsmasqQuery struct {
	// Serial is dnsmasq's query number.
	Serial int
	// From is the client's address and port.
	From netip.AddrPort
	// Type is the query type as dnsmasq writes it ("A", "AAAA", ...).
	Type string
	// Name is the queried name, without the trailing dot.
	Name string
}

// StartDnsmasq starts dnsmasq with the options as command-line flags,
// waits until it accepts queries and registers a t.Cleanup that stops it.
// It skips or fails t as Required does when dnsmasq is not installed
// (Debian package dnsmasq-base).
func StartDnsmasq(t testing.TB, opts DnsmasqOptions) *Dnsmasq {
	t.Helper()
	path := Binary(t, "dnsmasq")
	if opts.Zone == "" {
		opts.Zone = "test.example"
	}
	if opts.AuthTTL <= 0 {
		opts.AuthTTL = 600
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	return startWithRetries(t, "dnsmasq", func() (*Dnsmasq, error) { return startDnsmasqOnce(t, path, opts) })
}

// dnsmasqArgs builds the command line. Every value is its own argument, so
// nothing needs quoting; dnsmasq's own separators (',' and '/') are not
// allowed in names, which DNS names never hold anyway.
func dnsmasqArgs(port int, pidFile string, opts DnsmasqOptions) ([]string, error) {
	args := []string{
		"--keep-in-foreground",
		"--port=" + strconv.Itoa(port),
		"--listen-address=127.0.0.1",
		"--bind-interfaces",
		"--no-resolv",
		"--no-hosts",
		"--conf-file=/dev/null",
		"--log-queries=extra",
		"--log-facility=-",
		"--pid-file=" + pidFile,
	}
	if os.Geteuid() == 0 {
		// dnsmasq drops root for "nobody"; keeping the test's user avoids
		// depending on that account.
		args = append(args, "--user=root", "--group=root")
	}
	bad := func(s string) bool { return s == "" || strings.ContainsAny(s, ",/ \t\n") }
	if bad(opts.Zone) {
		return nil, fmt.Errorf("bad zone %q", opts.Zone)
	}
	if opts.Authoritative {
		args = append(args,
			"--auth-server=ns."+opts.Zone+",127.0.0.1",
			"--auth-zone="+opts.Zone,
			"--auth-ttl="+strconv.Itoa(opts.AuthTTL),
			"--auth-soa=1,hostmaster."+opts.Zone)
	} else {
		args = append(args, "--local=/"+opts.Zone+"/")
	}
	if opts.EDNSPacketMax > 0 {
		args = append(args, "--edns-packet-max="+strconv.Itoa(opts.EDNSPacketMax))
	}
	for _, h := range opts.Hosts {
		if bad(h.Name) || len(h.Addrs) == 0 {
			return nil, fmt.Errorf("bad host record %+v", h)
		}
		// One --host-record takes one IPv4 and one IPv6 address; more
		// addresses take more records for the same name.
		var v4, v6 []netip.Addr
		for _, a := range h.Addrs {
			if a.Unmap().Is4() {
				v4 = append(v4, a.Unmap())
			} else {
				v6 = append(v6, a)
			}
		}
		for i := 0; i < max(len(v4), len(v6)); i++ {
			rec := "--host-record=" + h.Name
			if i < len(v4) {
				rec += "," + v4[i].String()
			}
			if i < len(v6) {
				rec += "," + v6[i].String()
			}
			if h.TTL > 0 {
				rec += "," + strconv.Itoa(h.TTL)
			}
			args = append(args, rec)
		}
	}
	for _, c := range opts.CNAMEs {
		if bad(c.Alias) || bad(c.Target) {
			return nil, fmt.Errorf("bad CNAME %+v", c)
		}
		rec := "--cname=" + c.Alias + "," + c.Target
		if c.TTL > 0 {
			rec += "," + strconv.Itoa(c.TTL)
		}
		args = append(args, rec)
	}
	for domain, ip := range opts.Addresses {
		if bad(domain) {
			return nil, fmt.Errorf("bad address domain %q", domain)
		}
		args = append(args, "--address=/"+domain+"/"+ip.String())
	}
	return append(args, opts.ExtraArgs...), nil
}

func startDnsmasqOnce(t testing.TB, path string, opts DnsmasqOptions) (*Dnsmasq, error) {
	dir := t.TempDir()
	d := &Dnsmasq{Port: FreePort(t), Dir: dir}
	pidFile := filepath.Join(dir, "dnsmasq.pid")
	args, err := dnsmasqArgs(d.Port, pidFile, opts)
	if err != nil {
		t.Fatalf("interop: StartDnsmasq: %v", err)
	}
	d.Args = args
	p, err := startProcess(t, ProcessOptions{Name: "dnsmasq", Path: path, Args: args, Dir: dir})
	if err != nil {
		return nil, err
	}
	d.proc = p
	// dnsmasq binds its sockets before it writes the pid file, so a pid
	// file with our child's pid means the port is ours (a dial alone could
	// reach another process that took it).
	deadline := time.Now().Add(opts.StartTimeout)
	want := strconv.Itoa(p.Pid())
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == want {
			break
		}
		if p.Exited() {
			return nil, d.startError(fmt.Errorf("exited during start-up: %v", p.waitErr))
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, d.startError(fmt.Errorf("no pid file after %v", opts.StartTimeout))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.waitTCP(time.Until(deadline), d.Addr()); err != nil {
		p.Stop()
		return nil, d.startError(err)
	}
	return d, nil
}

// startError adds dnsmasq's output to err and marks a taken port with
// errAddrInUse (dnsmasq exits with "failed to create listening socket ...:
// Address already in use" when its UDP or TCP port is taken).
func (d *Dnsmasq) startError(err error) error {
	<-d.proc.Done()
	out := d.proc.Output()
	d.proc.Stop()
	if strings.Contains(out, "Address already in use") {
		return fmt.Errorf("%w: %v", errAddrInUse, err)
	}
	return fmt.Errorf("%v\noutput:\n%s\nargs: %q", err, tail(out, 4096), d.Args)
}

// Addr returns "127.0.0.1:Port".
func (d *Dnsmasq) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port)) }

// AddrPort returns the server's address as a netip.AddrPort.
func (d *Dnsmasq) AddrPort() netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(d.Port))
}

// Process returns the dnsmasq process.
func (d *Dnsmasq) Process() *Process { return d.proc }

// Stop stops dnsmasq now rather than at cleanup.
func (d *Dnsmasq) Stop() { d.proc.Stop() }

// Log returns what dnsmasq has written so far.
func (d *Dnsmasq) Log() string { return d.proc.Output() }

// dnsmasqQueryRE matches a --log-queries=extra line for a query:
// "dnsmasq[PID]: SERIAL ADDR/PORT query[TYPE] NAME from ADDR" ("auth[TYPE]"
// when authoritative).
var dnsmasqQueryRE = regexp.MustCompile(`^dnsmasq\[\d+\]: (\d+) (\S+)/(\d+) (?:query|auth)\[(\w+)\] (\S+) from `)

// Queries parses the queries dnsmasq has logged so far, in order.
func (d *Dnsmasq) Queries() []DnsmasqQuery {
	return parseDnsmasqQueries(d.Log())
}

func parseDnsmasqQueries(log string) []DnsmasqQuery {
	var out []DnsmasqQuery
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		m := dnsmasqQueryRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		serial, _ := strconv.Atoi(m[1])
		ip, _ := netip.ParseAddr(m[2])
		port, _ := strconv.Atoi(m[3])
		out = append(out, DnsmasqQuery{
			Serial: serial,
			From:   netip.AddrPortFrom(ip, uint16(port)),
			Type:   m[4],
			Name:   strings.TrimSuffix(m[5], "."),
		})
	}
	return out
}

// QueryCount returns how many queries of type qtype ("A", "AAAA"; "" for
// any) dnsmasq has logged for name (case-insensitive, without the trailing
// dot).
func (d *Dnsmasq) QueryCount(name, qtype string) int {
	n := 0
	for _, q := range d.Queries() {
		if strings.EqualFold(q.Name, strings.TrimSuffix(name, ".")) && (qtype == "" || q.Type == qtype) {
			n++
		}
	}
	return n
}

// WaitQueryCount waits until dnsmasq has logged at least want queries for
// name and qtype (its log may trail its answers a little) and returns the
// count then, or the count after timeout.
func (d *Dnsmasq) WaitQueryCount(name, qtype string, want int, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := d.QueryCount(name, qtype)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
