package interop

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SOCKS servers: microsocks (SOCKS5, optional RFC 1929 user/password) and
// Dante's danted (SOCKS4 and SOCKS5). Both run in the foreground on
// 127.0.0.1 and a free port, as children of the test (see StartProcess).

// MicrosocksOptions configures StartMicrosocks. The zero value is a SOCKS5
// server without authentication.
type MicrosocksOptions struct {
	// Username and Password, when Username is set, make the server require
	// RFC 1929 authentication (microsocks -u/-P): a client that offers
	// only "no authentication" gets method 0xFF.
	Username, Password string
	// StartTimeout bounds the wait for the server to accept connections;
	// default 10 s.
	StartTimeout time.Duration
}

// Microsocks is a running microsocks started by StartMicrosocks.
type Microsocks struct {
	// Port is the SOCKS5 port on 127.0.0.1.
	Port int
	// Username and Password are the credentials it requires ("" if none).
	Username, Password string

	proc *Process
}

// StartMicrosocks starts `microsocks -i 127.0.0.1 -p PORT [-u USER -P
// PASS]`, waits until it accepts connections and registers a t.Cleanup
// that stops it. It skips or fails t as Required does when microsocks is
// not installed.
func StartMicrosocks(t testing.TB, opts MicrosocksOptions) *Microsocks {
	t.Helper()
	path := Binary(t, "microsocks")
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.Password != "" && opts.Username == "" {
		t.Fatalf("interop: StartMicrosocks: a password needs a user name")
	}
	return startWithRetries(t, "microsocks", func() (*Microsocks, error) {
		m := &Microsocks{Port: FreePort(t), Username: opts.Username, Password: opts.Password}
		args := []string{"-i", "127.0.0.1", "-p", strconv.Itoa(m.Port)}
		if opts.Username != "" {
			args = append(args, "-u", opts.Username, "-P", opts.Password)
		}
		p, err := startProcess(t, ProcessOptions{Name: "microsocks", Path: path, Args: args})
		if err != nil {
			return nil, err
		}
		m.proc = p
		// microsocks binds before its accept loop and exits at once when
		// the bind fails, printing "Address already in use".
		err = p.waitTCP(opts.StartTimeout, m.Addr())
		if err == nil && p.Exited() {
			// Another process took the port, and answered our dial.
			err = fmt.Errorf("exited after start-up: %v", p.waitErr)
		}
		if err == nil {
			return m, nil
		}
		p.Stop()
		err = fmt.Errorf("%v\noutput:\n%s", err, tail(p.Output(), 4096))
		if strings.Contains(p.Output(), "Address already in use") {
			err = fmt.Errorf("%w: %v", errAddrInUse, err)
		}
		return nil, err
	})
}

// Addr returns "127.0.0.1:Port".
func (m *Microsocks) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port)) }

// URL returns the proxy URI, "socks5://[user:pass@]127.0.0.1:Port".
func (m *Microsocks) URL() string {
	return socksURL("socks5", m.Addr(), m.Username, m.Password)
}

// Process returns the server process.
func (m *Microsocks) Process() *Process { return m.proc }

// Stop stops the server now rather than at cleanup.
func (m *Microsocks) Stop() { m.proc.Stop() }

func socksURL(scheme, addr, user, pass string) string {
	u := url.URL{Scheme: scheme, Host: addr}
	if user != "" {
		u.User = url.UserPassword(user, pass)
	}
	return u.String()
}

// DanteOptions configures StartDante. The zero value is a SOCKS4 and
// SOCKS5 server without authentication that lets 127.0.0.0/8 connect
// anywhere.
type DanteOptions struct {
	// SOCKSMethod is Dante's socksmethod; default "none". Dante's
	// "username" method checks the system password database (it has no
	// user list of its own), so it needs a real system account with a
	// password and is not usable by tests that must not change the system.
	SOCKSMethod string
	// ExtraConfig is raw configuration appended to the generated file
	// (more rules, say). Dante uses the first rule that matches, and the
	// generated pass rules come last.
	ExtraConfig string
	// ExtraRules is raw configuration placed before the generated pass
	// rules, so that a block rule here wins.
	ExtraRules string
	// StartTimeout bounds the wait for the server to accept connections;
	// default 10 s.
	StartTimeout time.Duration
}

// Dante is a running danted started by StartDante.
type Dante struct {
	// Port is the SOCKS port on 127.0.0.1 (SOCKS4 and SOCKS5 on one port).
	Port int
	// Dir holds the configuration and the pid file.
	Dir string
	// ConfFile is the generated configuration.
	ConfFile string

	proc *Process
}

// StartDante starts `danted -f CONF -p PIDFILE -N 1` in the foreground
// with a generated configuration (see DanteOptions and Dante.config),
// waits until it accepts connections and registers a t.Cleanup that stops
// it. Dante speaks SOCKS4 and SOCKS5 but not SOCKS4a: a 4a request (IP
// 0.0.0.1 and a host name) is answered 0x5B after Dante tries to connect
// to 0.0.0.1. It skips or fails t as Required does when danted is not
// installed.
func StartDante(t testing.TB, opts DanteOptions) *Dante {
	t.Helper()
	path := Binary(t, "danted")
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.SOCKSMethod == "" {
		opts.SOCKSMethod = "none"
	}
	return startWithRetries(t, "danted", func() (*Dante, error) { return startDanteOnce(t, path, opts) })
}

func startDanteOnce(t testing.TB, path string, opts DanteOptions) (*Dante, error) {
	dir := t.TempDir()
	d := &Dante{Port: FreePort(t), Dir: dir, ConfFile: filepath.Join(dir, "danted.conf")}
	if err := os.WriteFile(d.ConfFile, []byte(d.config(opts)), 0o644); err != nil {
		return nil, err
	}
	p, err := startProcess(t, ProcessOptions{
		Name: "danted",
		Path: path,
		// -N 1: one mother process (Dante's default, said explicitly);
		// -p keeps the pid file out of /var/run. Without -D Dante stays
		// in the foreground.
		Args:     []string{"-f", d.ConfFile, "-p", filepath.Join(dir, "danted.pid"), "-N", "1"},
		Dir:      dir,
		LogFiles: []string{d.ConfFile},
	})
	if err != nil {
		return nil, err
	}
	d.proc = p
	err = p.waitTCP(opts.StartTimeout, d.Addr())
	if err == nil && p.Exited() {
		// Another process took the port, and answered our dial.
		err = fmt.Errorf("exited after start-up: %v", p.waitErr)
	}
	if err != nil {
		p.Stop()
		out := p.Output()
		if strings.Contains(out, "Address already in use") {
			return nil, fmt.Errorf("%w: %v\n%s", errAddrInUse, err, tail(out, 4096))
		}
		return nil, fmt.Errorf("%v\noutput:\n%s\nconfig:\n%s", err, tail(out, 4096), readFileString(d.ConfFile))
	}
	return d, nil
}

// config is Dante 1.4's configuration: log to stderr (the process's
// output file), listen on 127.0.0.1:Port, connect out from 127.0.0.1,
// and pass clients and SOCKS requests from 127.0.0.0/8. Running as root,
// Dante wants user.privileged and user.unprivileged: root and nobody
// (Debian's default is the "proxy" user, which may be missing).
func (d *Dante) config(opts DanteOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by github.com/netfetch/netfetch/internal/interop.\n")
	fmt.Fprintf(&b, "logoutput: stderr\n")
	fmt.Fprintf(&b, "internal: 127.0.0.1 port = %d\n", d.Port)
	fmt.Fprintf(&b, "external: 127.0.0.1\n")
	fmt.Fprintf(&b, "clientmethod: none\n")
	fmt.Fprintf(&b, "socksmethod: %s\n", opts.SOCKSMethod)
	if os.Geteuid() == 0 {
		fmt.Fprintf(&b, "user.privileged: root\n")
		fmt.Fprintf(&b, "user.unprivileged: nobody\n")
	}
	fmt.Fprintf(&b, "%s\n", opts.ExtraRules)
	b.WriteString(`client pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
	log: error
}
socks pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
	command: connect
	log: error connect
}
`)
	fmt.Fprintf(&b, "%s\n", opts.ExtraConfig)
	return b.String()
}

// Addr returns "127.0.0.1:Port".
func (d *Dante) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(d.Port)) }

// URL returns the proxy URI for scheme ("socks4", "socks5"), e.g.
// "socks4://127.0.0.1:Port".
func (d *Dante) URL(scheme string) string { return socksURL(scheme, d.Addr(), "", "") }

// Process returns the server process.
func (d *Dante) Process() *Process { return d.proc }

// Stop stops the server now rather than at cleanup.
func (d *Dante) Stop() { d.proc.Stop() }
