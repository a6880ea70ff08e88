// Package interop holds helpers for netfetch's interop tests: tests that run
// the stack against real peers users run (nginx, and later SOCKS and HTTP
// proxies, DNS servers, shadowsocks) started by the test itself.
//
// Every server started here listens on loopback only (127.0.0.1, and [::1]
// where asked), on free ports picked at run time, runs in the foreground as a
// child of the test binary, in its own process group, and is stopped by a
// t.Cleanup registered when it starts, so no process outlives its test.
//
// Interop tests are skipped when a binary they need is missing, unless the
// environment variable NETFETCH_INTEROP is set (scripts/test.sh and CI set
// it): then a missing binary fails the test. scripts/install-test-deps.sh
// installs the binaries from Debian's packages.
package interop

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvInterop is the environment variable that makes interop tests mandatory:
// when it is set to anything but "" or "0", a test whose peer binary is
// missing fails instead of being skipped.
const EnvInterop = "NETFETCH_INTEROP"

// Enabled reports whether interop tests are mandatory in this run (see
// EnvInterop).
func Enabled() bool {
	v := os.Getenv(EnvInterop)
	return v != "" && v != "0"
}

// extraBinDirs are searched after $PATH: the sbin directories, where Debian
// puts daemons, are often missing from a non-root user's $PATH.
var extraBinDirs = []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"}

// LookPath finds the executable name in $PATH or, failing that, in the usual
// system binary directories (/usr/sbin, /sbin, ...). A name containing a
// slash is checked as is.
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	if strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("interop: %s: not an executable file", name)
	}
	for _, d := range extraBinDirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("interop: %s not found in $PATH or %s", name, strings.Join(extraBinDirs, ", "))
}

// Required marks t as an interop test that needs the given executables. If
// one of them is missing, t is skipped, or, when interop tests are mandatory
// (Enabled), failed with t.Fatal. With -short and interop tests not
// mandatory, t is skipped too. Every Start function calls it.
func Required(t testing.TB, binaries ...string) {
	t.Helper()
	if testing.Short() && !Enabled() {
		t.Skipf("interop test skipped in -short mode (set %s=1 to force)", EnvInterop)
		return
	}
	var missing []string
	for _, b := range binaries {
		if _, err := LookPath(b); err != nil {
			missing = append(missing, b)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("interop: missing %s (run scripts/install-test-deps.sh)", strings.Join(missing, ", "))
	if Enabled() {
		t.Fatalf("%s; %s is set, so interop tests must run", msg, EnvInterop)
		return
	}
	t.Skipf("%s; skipping (set %s=1 to make this a failure)", msg, EnvInterop)
}

// Binary calls Required for name and returns the executable's absolute path.
func Binary(t testing.TB, name string) string {
	t.Helper()
	Required(t, name)
	p, err := LookPath(name)
	if err != nil {
		// Only reached when Required's Skip/Fatal did not stop the test
		// (a fake testing.TB).
		t.Fatalf("%v", err)
	}
	return p
}

// FreePort returns a TCP port that was free on 127.0.0.1 a moment ago: it
// listens on 127.0.0.1:0, closes the listener and returns its port. Another
// process may take the port before the caller binds it; StartNginx retries
// with new ports when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("interop: FreePort: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("interop: FreePort: %v", err)
	}
	return port
}

// ---------------------------------------------------------------------------
// Processes

// ProcessOptions describes a server process for StartProcess.
type ProcessOptions struct {
	// Name is used in messages and for the output file; default: the base
	// name of Path.
	Name string
	// Path is the executable (see LookPath / Binary).
	Path string
	// Args are the arguments, without the program name. The program must
	// stay in the foreground.
	Args []string
	// Dir is the working directory, and where the output file goes;
	// default: a new t.TempDir().
	Dir string
	// Env is appended to the test's environment.
	Env []string
	// StopSignal asks the process to stop; default SIGTERM.
	StopSignal syscall.Signal
	// StopTimeout is how long Stop waits after StopSignal before it kills
	// the whole process group with SIGKILL; default 5 s.
	StopTimeout time.Duration
	// LogFiles are logged (their last few KiB) with the process's output
	// when the test has failed by the time the process is stopped.
	LogFiles []string
}

// Process is a server process started by StartProcess. Its stdout and stderr
// go to OutputFile.
type Process struct {
	// Name is the name used in messages.
	Name string
	// OutputFile holds the process's stdout and stderr.
	OutputFile string

	t        testing.TB
	opts     ProcessOptions
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// StartProcess starts a server process in its own process group and registers
// a t.Cleanup that stops it (see Stop). If the test binary dies, the kernel
// sends the process SIGTERM (Linux's parent-death signal). It does not wait
// for the server to be ready: see WaitTCP.
func StartProcess(t testing.TB, opts ProcessOptions) *Process {
	t.Helper()
	p, err := startProcess(t, opts)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	return p
}

func startProcess(t testing.TB, opts ProcessOptions) (*Process, error) {
	if opts.Name == "" {
		opts.Name = filepath.Base(opts.Path)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.StopSignal == 0 {
		opts.StopSignal = syscall.SIGTERM
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 5 * time.Second
	}
	out, err := os.CreateTemp(opts.Dir, opts.Name+"-*.out")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", opts.Name, err)
	}
	defer out.Close() // the child has its own copy

	cmd := exec.Command(opts.Path, opts.Args...)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), opts.Env...)
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGTERM,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start: %v", opts.Name, err)
	}
	p := &Process{
		Name:       opts.Name,
		OutputFile: out.Name(),
		t:          t,
		opts:       opts,
		cmd:        cmd,
		done:       make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.Stop)
	return p, nil
}

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns the process's exit status as returned by exec.Cmd.Wait; only
// meaningful once Done is closed.
func (p *Process) Err() error {
	<-p.done
	return p.waitErr
}

// Output returns what the process has written to stdout and stderr so far.
func (p *Process) Output() string {
	b, _ := os.ReadFile(p.OutputFile)
	return string(b)
}

// Stop stops the process: StopSignal, then, if it has not exited after
// StopTimeout, SIGKILL to its whole process group; then it reaps it and
// SIGKILLs whatever is left of the group (children orphaned by a crash). It
// logs the output and LogFiles if the test has failed. Stop is idempotent and
// runs automatically at cleanup.
func (p *Process) Stop() {
	p.stopOnce.Do(p.stop)
}

func (p *Process) stop() {
	pid := p.Pid()
	if !p.Exited() {
		_ = syscall.Kill(pid, p.opts.StopSignal)
		select {
		case <-p.done:
		case <-time.After(p.opts.StopTimeout):
			// Still unreaped, so the group id is certainly still ours.
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				p.t.Errorf("interop: %s (pid %d) did not exit after SIGKILL", p.Name, pid)
			}
		}
	}
	// Children left behind by a master that crashed or was killed.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if p.t.Failed() {
		p.logFailure()
	}
}

func (p *Process) logFailure() {
	p.t.Logf("interop: %s (pid %d) output:\n%s", p.Name, p.Pid(), tail(p.Output(), 8192))
	for _, f := range p.opts.LogFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		p.t.Logf("interop: %s %s:\n%s", p.Name, filepath.Base(f), tail(string(b), 8192))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...\n" + s[len(s)-n:]
}

// WaitTCP waits until every addr ("host:port") accepts TCP connections, for
// at most timeout. It fails the test if that does not happen in time or if
// the process exits first.
func (p *Process) WaitTCP(t testing.TB, timeout time.Duration, addrs ...string) {
	t.Helper()
	if err := p.waitTCP(timeout, addrs...); err != nil {
		t.Fatalf("interop: %v\n%s output:\n%s", err, p.Name, tail(p.Output(), 4096))
	}
}

func (p *Process) waitTCP(timeout time.Duration, addrs ...string) error {
	deadline := time.Now().Add(timeout)
	for _, addr := range addrs {
		for {
			if p.Exited() {
				return fmt.Errorf("%s exited before %s accepted connections: %v", p.Name, addr, p.waitErr)
			}
			c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %s not accepting connections after %v: %v", p.Name, addr, timeout, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// nginx

// NginxOptions configures StartNginx. The zero value serves an empty
// temporary document root over plain HTTP.
type NginxOptions struct {
	// Root is the document root; default: a new t.TempDir().
	Root string
	// ExtraServerConfig is raw nginx configuration appended inside the
	// server block, e.g. `location /x { return 302 /y; }`.
	ExtraServerConfig string
	// ExtraHTTPConfig is raw configuration appended inside the http block,
	// before the server block (upstream, map, ...).
	ExtraHTTPConfig string
	// ExtraMainConfig is raw configuration for the main context, before the
	// events block (load_module, ...).
	ExtraMainConfig string
	// TLS, when set, makes the server also listen with TLS on TLSPort.
	TLS *TLSConfig
	// KeepaliveRequests sets keepalive_requests (the maximum number of
	// requests on one connection); 0 leaves nginx's default (1000).
	KeepaliveRequests int
	// KeepaliveTimeout sets keepalive_timeout; 0 leaves nginx's default
	// (75 s); a negative value disables keep-alive (keepalive_timeout 0).
	KeepaliveTimeout time.Duration
	// IPv6 makes the server listen on [::1] too, on the same ports.
	IPv6 bool
	// StartTimeout bounds the wait for nginx to accept connections;
	// default 10 s.
	StartTimeout time.Duration
	// StopTimeout is how long to wait after SIGQUIT (graceful shutdown)
	// before SIGKILL; default 5 s.
	StopTimeout time.Duration
}

// TLSConfig is the TLS part of NginxOptions. TestPKI.TLS and KeyPair.TLS make
// one.
type TLSConfig struct {
	// CertFile is the PEM certificate (chain) file, KeyFile its PEM key.
	CertFile, KeyFile string
	// HTTP2 enables HTTP/2 (offered with ALPN) on the TLS port. nginx
	// before 1.25.1 (Debian 12 has 1.22.1) takes it as `listen ... http2`,
	// later ones as `http2 on;`; StartNginx picks the right form.
	HTTP2 bool
	// Protocols sets ssl_protocols; default TLSv1.2 TLSv1.3.
	Protocols []string
}

// Nginx is a running nginx started by StartNginx.
type Nginx struct {
	// Port is the plain HTTP port on 127.0.0.1 (and [::1] with IPv6).
	Port int
	// TLSPort is the HTTPS port, 0 without TLS.
	TLSPort int
	// Root is the document root.
	Root string
	// Dir is nginx's prefix directory: config, pid file, logs, temp files.
	Dir string
	// ConfFile, AccessLogFile and ErrorLogFile are files in Dir.
	ConfFile, AccessLogFile, ErrorLogFile string
	// Version is nginx's version, e.g. "1.22.1".
	Version string

	proc *Process
}

// nginxStopTimeout is the default StopTimeout.
var nginxStopTimeout = 5 * time.Second

// NginxLogFormat is the access log format StartNginx configures; AccessLog
// parses it. Empty values are logged as "-".
const NginxLogFormat = `$connection $connection_requests $server_port "$ssl_protocol" "$ssl_session_reused" "$request" $status $body_bytes_sent`

type nginxBuild struct {
	version  string
	major    int
	minor    int
	patch    int
	features string // `nginx -V` output
}

var nginxBuilds sync.Map // path -> *nginxBuild

var nginxVersionRE = regexp.MustCompile(`nginx/(\d+)\.(\d+)\.(\d+)`)

func nginxBuildInfo(path string) (*nginxBuild, error) {
	if b, ok := nginxBuilds.Load(path); ok {
		return b.(*nginxBuild), nil
	}
	out, err := exec.Command(path, "-V").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s -V: %v: %s", path, err, out)
	}
	m := nginxVersionRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("%s -V: no version in %q", path, out)
	}
	b := &nginxBuild{version: fmt.Sprintf("%s.%s.%s", m[1], m[2], m[3]), features: string(out)}
	b.major, _ = strconv.Atoi(string(m[1]))
	b.minor, _ = strconv.Atoi(string(m[2]))
	b.patch, _ = strconv.Atoi(string(m[3]))
	nginxBuilds.Store(path, b)
	return b, nil
}

func (b *nginxBuild) atLeast(major, minor, patch int) bool {
	if b.major != major {
		return b.major > major
	}
	if b.minor != minor {
		return b.minor > minor
	}
	return b.patch >= patch
}

// StartNginx starts nginx in the foreground (master and one worker) with a
// generated configuration, listening on 127.0.0.1 on free ports, waits until
// it accepts connections and registers a t.Cleanup that stops it (SIGQUIT,
// then SIGKILL to its process group after StopTimeout) and reaps it.
//
// Everything nginx writes (pid file, error.log, access.log in NginxLogFormat,
// temp files) stays in Dir; running as root, its worker runs as root so it
// can read any document root. It skips or fails t as Required does when
// nginx is not installed.
func StartNginx(t testing.TB, opts NginxOptions) *Nginx {
	t.Helper()
	path := Binary(t, "nginx")
	build, err := nginxBuildInfo(path)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 10 * time.Second
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = nginxStopTimeout
	}
	if opts.TLS != nil && (opts.TLS.CertFile == "" || opts.TLS.KeyFile == "") {
		t.Fatalf("interop: StartNginx: TLS needs CertFile and KeyFile")
	}
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	opts.Root = root

	const attempts = 5
	var lastErr error
	for i := 0; i < attempts; i++ {
		n, err := startNginxOnce(t, path, build, opts)
		if err == nil {
			return n
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
		t.Logf("interop: nginx: port taken, retrying with new ports: %v", err)
	}
	t.Fatalf("interop: nginx: %v", lastErr)
	return nil
}

var errAddrInUse = errors.New("address already in use")

func startNginxOnce(t testing.TB, path string, build *nginxBuild, opts NginxOptions) (*Nginx, error) {
	dir := t.TempDir()
	n := &Nginx{
		Port:          FreePort(t),
		Root:          opts.Root,
		Dir:           dir,
		ConfFile:      filepath.Join(dir, "nginx.conf"),
		AccessLogFile: filepath.Join(dir, "access.log"),
		ErrorLogFile:  filepath.Join(dir, "error.log"),
		Version:       build.version,
	}
	if opts.TLS != nil {
		n.TLSPort = FreePort(t)
		for n.TLSPort == n.Port {
			n.TLSPort = FreePort(t)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	conf := n.config(build, opts)
	if err := os.WriteFile(n.ConfFile, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	pidFile := filepath.Join(dir, "nginx.pid")
	p, err := startProcess(t, ProcessOptions{
		Name:        "nginx",
		Path:        path,
		Args:        []string{"-p", dir + "/", "-c", n.ConfFile, "-e", n.ErrorLogFile, "-g", "daemon off;"},
		Dir:         dir,
		StopSignal:  syscall.SIGQUIT,
		StopTimeout: opts.StopTimeout,
		LogFiles:    []string{n.ErrorLogFile, n.ConfFile},
	})
	if err != nil {
		return nil, err
	}
	n.proc = p

	// nginx writes its pid file only after it has bound every listening
	// socket, so a pid file holding our child's pid means the ports are ours
	// (a dial alone could reach another process that took a port).
	deadline := time.Now().Add(opts.StartTimeout)
	want := strconv.Itoa(p.Pid())
	for {
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == want {
			break
		}
		if p.Exited() {
			return nil, n.startError(fmt.Errorf("exited during start-up: %v", p.waitErr))
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, n.startError(fmt.Errorf("no pid file after %v", opts.StartTimeout))
		}
		time.Sleep(10 * time.Millisecond)
	}
	addrs := []string{n.Addr()}
	if n.TLSPort != 0 {
		addrs = append(addrs, n.TLSAddr())
	}
	if opts.IPv6 {
		addrs = append(addrs, net.JoinHostPort("::1", strconv.Itoa(n.Port)))
		if n.TLSPort != 0 {
			addrs = append(addrs, net.JoinHostPort("::1", strconv.Itoa(n.TLSPort)))
		}
	}
	if err := p.waitTCP(time.Until(deadline), addrs...); err != nil {
		p.Stop()
		return nil, n.startError(err)
	}
	return n, nil
}

// startError wraps err with nginx's error log and output, and marks a bind
// failure with errAddrInUse.
func (n *Nginx) startError(err error) error {
	<-n.proc.Done()
	logs := n.proc.Output()
	if b, rerr := os.ReadFile(n.ErrorLogFile); rerr == nil {
		logs += string(b)
	}
	n.proc.Stop()
	if strings.Contains(logs, "Address already in use") {
		return fmt.Errorf("%w: %v\n%s", errAddrInUse, err, tail(logs, 4096))
	}
	return fmt.Errorf("%v\nerror log and output:\n%s\nconfig:\n%s", err, tail(logs, 4096), readFileString(n.ConfFile))
}

func readFileString(name string) string {
	b, _ := os.ReadFile(name)
	return string(b)
}

// nginxQuote quotes s as an nginx configuration string.
func nginxQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

func (n *Nginx) config(build *nginxBuild, opts NginxOptions) string {
	var b strings.Builder
	q := nginxQuote
	fmt.Fprintf(&b, "# Generated by github.com/netfetch/netfetch/internal/interop.\n")
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot read test
		// temp dirs (mode 0700).
		fmt.Fprintf(&b, "user root;\n")
	}
	fmt.Fprintf(&b, "worker_processes 1;\n")
	fmt.Fprintf(&b, "pid %s;\n", q(filepath.Join(n.Dir, "nginx.pid")))
	fmt.Fprintf(&b, "error_log %s info;\n", q(n.ErrorLogFile))
	fmt.Fprintf(&b, "%s\n", opts.ExtraMainConfig)
	fmt.Fprintf(&b, "events {\n    worker_connections 1024;\n}\n")
	fmt.Fprintf(&b, "http {\n")
	b.WriteString(`    types {
        text/html html htm;
        text/plain txt;
        text/css css;
        application/javascript js;
        application/json json;
        image/png png;
        image/jpeg jpg jpeg;
        image/gif gif;
        image/svg+xml svg;
        application/wasm wasm;
    }
    default_type application/octet-stream;
`)
	fmt.Fprintf(&b, "    log_format netfetch '%s';\n", NginxLogFormat)
	fmt.Fprintf(&b, "    access_log %s netfetch;\n", q(n.AccessLogFile))
	tmp := filepath.Join(n.Dir, "tmp")
	fmt.Fprintf(&b, "    client_body_temp_path %s;\n", q(filepath.Join(tmp, "client_body")))
	for _, m := range []string{"proxy", "fastcgi", "uwsgi", "scgi"} {
		if !strings.Contains(build.features, "--without-http_"+m+"_module") {
			fmt.Fprintf(&b, "    %s_temp_path %s;\n", m, q(filepath.Join(tmp, m)))
		}
	}
	if opts.KeepaliveRequests > 0 {
		fmt.Fprintf(&b, "    keepalive_requests %d;\n", opts.KeepaliveRequests)
	}
	switch {
	case opts.KeepaliveTimeout < 0:
		fmt.Fprintf(&b, "    keepalive_timeout 0;\n")
	case opts.KeepaliveTimeout > 0:
		ms := opts.KeepaliveTimeout.Milliseconds()
		if ms == 0 {
			ms = 1
		}
		fmt.Fprintf(&b, "    keepalive_timeout %dms;\n", ms)
	}
	fmt.Fprintf(&b, "%s\n", opts.ExtraHTTPConfig)
	fmt.Fprintf(&b, "    server {\n")
	hosts := []string{"127.0.0.1"}
	if opts.IPv6 {
		hosts = append(hosts, "[::1]")
	}
	h2Listen := opts.TLS != nil && opts.TLS.HTTP2 && !build.atLeast(1, 25, 1)
	for _, h := range hosts {
		fmt.Fprintf(&b, "        listen %s:%d;\n", h, n.Port)
		if opts.TLS != nil {
			extra := ""
			if h2Listen {
				extra = " http2"
			}
			fmt.Fprintf(&b, "        listen %s:%d ssl%s;\n", h, n.TLSPort, extra)
		}
	}
	fmt.Fprintf(&b, "        server_name localhost;\n")
	fmt.Fprintf(&b, "        root %s;\n", q(n.Root))
	if opts.TLS != nil {
		if opts.TLS.HTTP2 && !h2Listen {
			fmt.Fprintf(&b, "        http2 on;\n")
		}
		fmt.Fprintf(&b, "        ssl_certificate %s;\n", q(opts.TLS.CertFile))
		fmt.Fprintf(&b, "        ssl_certificate_key %s;\n", q(opts.TLS.KeyFile))
		protos := opts.TLS.Protocols
		if len(protos) == 0 {
			protos = []string{"TLSv1.2", "TLSv1.3"}
		}
		fmt.Fprintf(&b, "        ssl_protocols %s;\n", strings.Join(protos, " "))
	}
	fmt.Fprintf(&b, "%s\n", opts.ExtraServerConfig)
	fmt.Fprintf(&b, "    }\n}\n")
	return b.String()
}

// Addr returns the plain HTTP address, "127.0.0.1:Port".
func (n *Nginx) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port)) }

// TLSAddr returns the HTTPS address, "127.0.0.1:TLSPort".
func (n *Nginx) TLSAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.TLSPort)) }

// URL returns "http://127.0.0.1:Port" + path (a missing leading "/" is
// added).
func (n *Nginx) URL(path string) string {
	return "http://" + n.Addr() + withSlash(path)
}

// TLSURL returns "https://127.0.0.1:TLSPort" + path. GenerateCA's leaf
// certificates cover 127.0.0.1 by default. For a URL with a host name, use
// TLSURLHost.
func (n *Nginx) TLSURL(path string) string {
	return "https://" + n.TLSAddr() + withSlash(path)
}

// TLSURLHost returns "https://host:TLSPort" + path, e.g. with host
// "localhost" (which must then resolve to 127.0.0.1, or the server must have
// been started with IPv6).
func (n *Nginx) TLSURLHost(host, path string) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(n.TLSPort)) + withSlash(path)
}

func withSlash(path string) string {
	if !strings.HasPrefix(path, "/") {
		return "/" + path
	}
	return path
}

// Pid returns the nginx master's pid (and process group id).
func (n *Nginx) Pid() int { return n.proc.Pid() }

// Process returns the nginx master process.
func (n *Nginx) Process() *Process { return n.proc }

// Stop stops nginx now (gracefully, as at cleanup); later requests are
// refused. It is idempotent.
func (n *Nginx) Stop() { n.proc.Stop() }

// WriteFile writes data to name (slash-separated, relative to Root),
// creating directories as needed.
func (n *Nginx) WriteFile(t testing.TB, name string, data []byte) {
	t.Helper()
	p := filepath.Join(n.Root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatalf("interop: %v", err)
	}
}

// AccessLogEntry is one request in nginx's access log (NginxLogFormat).
type AccessLogEntry struct {
	// Connection is nginx's connection serial number ($connection):
	// requests with the same value came on the same connection.
	Connection int64
	// ConnectionRequests is the request's number on its connection
	// ($connection_requests), from 1.
	ConnectionRequests int
	// ServerPort is the port the request came in on ($server_port).
	ServerPort int
	// TLSProtocol is e.g. "TLSv1.3"; "" on plain HTTP ($ssl_protocol).
	TLSProtocol string
	// SessionReused reports a resumed TLS session ($ssl_session_reused).
	SessionReused bool
	// Request is the request line, e.g. "GET /a.txt HTTP/1.1" ($request).
	Request string
	// Method, Path and Proto are Request's three parts ("" if malformed).
	Method, Path, Proto string
	// Status is the response status code ($status).
	Status int
	// Bytes is the response body size sent ($body_bytes_sent).
	Bytes int64
}

// AccessLog returns the access log's entries so far. nginx logs a request
// when it has finished it, which may be a moment after the client has read
// the response: use WaitAccessLog to wait for entries.
func (n *Nginx) AccessLog(t testing.TB) []AccessLogEntry {
	t.Helper()
	entries, err := readAccessLog(n.AccessLogFile)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	return entries
}

// WaitAccessLog waits (at most 5 s) until the access log has at least count
// entries and returns them all; it fails the test otherwise.
func (n *Nginx) WaitAccessLog(t testing.TB, count int) []AccessLogEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := readAccessLog(n.AccessLogFile)
		if err != nil {
			t.Fatalf("interop: %v", err)
		}
		if len(entries) >= count {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: nginx access log has %d entries, want at least %d: %+v", len(entries), count, entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readAccessLog(name string) ([]AccessLogEntry, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// nginx writes each entry with one write(2); a last line without its
	// newline is still being written: leave it for the next read.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var entries []AccessLogEntry
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		e, err := ParseAccessLogLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// ParseAccessLogLine parses one access log line in NginxLogFormat.
func ParseAccessLogLine(line string) (AccessLogEntry, error) {
	var e AccessLogEntry
	fields, err := splitLogFields(line)
	if err != nil {
		return e, fmt.Errorf("access log line %q: %v", line, err)
	}
	if len(fields) != 8 {
		return e, fmt.Errorf("access log line %q: %d fields, want 8", line, len(fields))
	}
	dash := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	bad := func(what string, err error) (AccessLogEntry, error) {
		return AccessLogEntry{}, fmt.Errorf("access log line %q: %s: %v", line, what, err)
	}
	if e.Connection, err = strconv.ParseInt(fields[0], 10, 64); err != nil {
		return bad("connection", err)
	}
	if e.ConnectionRequests, err = strconv.Atoi(fields[1]); err != nil {
		return bad("connection_requests", err)
	}
	if e.ServerPort, err = strconv.Atoi(fields[2]); err != nil {
		return bad("server_port", err)
	}
	e.TLSProtocol = dash(fields[3])
	e.SessionReused = fields[4] == "r"
	e.Request = dash(fields[5])
	if parts := strings.Split(e.Request, " "); len(parts) == 3 {
		e.Method, e.Path, e.Proto = parts[0], parts[1], parts[2]
	}
	if e.Status, err = strconv.Atoi(fields[6]); err != nil {
		return bad("status", err)
	}
	if e.Bytes, err = strconv.ParseInt(fields[7], 10, 64); err != nil {
		return bad("body_bytes_sent", err)
	}
	return e, nil
}

// splitLogFields splits a log line at spaces, keeping "quoted fields" (in
// which nginx escapes '"' as \x22) whole, without their quotes.
func splitLogFields(line string) ([]string, error) {
	var fields []string
	for line != "" {
		if line[0] == ' ' {
			line = line[1:]
			continue
		}
		if line[0] == '"' {
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			fields = append(fields, line[1:1+end])
			line = line[2+end:]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		fields = append(fields, line[:end])
		line = line[end:]
	}
	return fields, nil
}

// ---------------------------------------------------------------------------
// Test PKI

// TestPKI is a test certificate authority and server certificates signed by
// it, as PEM files, made by GenerateCA.
type TestPKI struct {
	// Dir holds the PEM files.
	Dir string
	// Hosts are the names and IP addresses the valid and expired leaves
	// are for.
	Hosts []string
	// CA is the CA certificate; CACertFile and CAKeyFile its PEM files.
	CA                    *x509.Certificate
	CACertFile, CAKeyFile string
	// CertFile and KeyFile are a valid leaf certificate for Hosts and its
	// key (Leaf holds the same).
	CertFile, KeyFile string
	// Leaf is the valid leaf for Hosts.
	Leaf KeyPair
	// Expired is a leaf for Hosts that expired a day ago (Chromium:
	// ERR_CERT_DATE_INVALID).
	Expired KeyPair
	// WrongHost is a valid leaf for WrongHostName only (Chromium:
	// ERR_CERT_COMMON_NAME_INVALID).
	WrongHost KeyPair

	caKey crypto.Signer
}

// WrongHostName is the only name in TestPKI.WrongHost's certificate.
const WrongHostName = "wrong-host.invalid"

// KeyPair is a certificate and its key as PEM files.
type KeyPair struct {
	// CertFile is the PEM certificate; KeyFile the PEM (PKCS #8) key.
	CertFile, KeyFile string
	// Cert is the parsed certificate.
	Cert *x509.Certificate
}

// TLS returns a TLSConfig for nginx with this key pair.
func (k KeyPair) TLS(http2 bool) *TLSConfig {
	return &TLSConfig{CertFile: k.CertFile, KeyFile: k.KeyFile, HTTP2: http2}
}

// TLS returns a TLSConfig for nginx with the valid leaf.
func (p *TestPKI) TLS(http2 bool) *TLSConfig { return p.Leaf.TLS(http2) }

// CertPool returns a pool holding only the CA certificate.
func (p *TestPKI) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

// LeafOptions configures TestPKI.IssueLeaf.
type LeafOptions struct {
	// Name is the files' base name: Name.pem and Name-key.pem; required.
	Name string
	// Hosts are DNS names and IP addresses for the subjectAltName; the
	// first is also the subject common name.
	Hosts []string
	// NotBefore and NotAfter default to an hour ago and 30 days on.
	NotBefore, NotAfter time.Time
	// RSABits, if non-zero, makes an RSA key of that size instead of an
	// ECDSA P-256 one.
	RSABits int
	// SelfSigned makes the leaf sign itself instead of being signed by the
	// CA (Chromium: ERR_CERT_AUTHORITY_INVALID).
	SelfSigned bool
}

// GenerateCA creates, with crypto/x509, a CA and leaf certificates signed by
// it for hosts (default "localhost", "127.0.0.1", "::1"): a valid one, an
// expired one and one for WrongHostName, each as PEM files in dir (default: a
// new t.TempDir()): ca.pem, ca-key.pem, leaf.pem, leaf-key.pem, expired.pem,
// expired-key.pem, wrong-host.pem, wrong-host-key.pem. Keys are ECDSA P-256.
func GenerateCA(t testing.TB, dir string, hosts ...string) *TestPKI {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: "netfetch interop test CA", Organization: []string{"netfetch tests"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID(t, key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	p := &TestPKI{
		Dir:        dir,
		Hosts:      append([]string(nil), hosts...),
		CA:         ca,
		CACertFile: filepath.Join(dir, "ca.pem"),
		CAKeyFile:  filepath.Join(dir, "ca-key.pem"),
		caKey:      key,
	}
	writePEM(t, p.CACertFile, "CERTIFICATE", der)
	writeKey(t, p.CAKeyFile, key)

	p.Leaf = p.IssueLeaf(t, LeafOptions{Name: "leaf", Hosts: hosts})
	p.CertFile, p.KeyFile = p.Leaf.CertFile, p.Leaf.KeyFile
	p.Expired = p.IssueLeaf(t, LeafOptions{
		Name:      "expired",
		Hosts:     hosts,
		NotBefore: now.Add(-30 * 24 * time.Hour),
		NotAfter:  now.Add(-24 * time.Hour),
	})
	p.WrongHost = p.IssueLeaf(t, LeafOptions{Name: "wrong-host", Hosts: []string{WrongHostName}})
	return p
}

// IssueLeaf makes a server certificate (signed by the CA unless
// opts.SelfSigned) and writes it to Dir as opts.Name.pem and
// opts.Name-key.pem.
func (p *TestPKI) IssueLeaf(t testing.TB, opts LeafOptions) KeyPair {
	t.Helper()
	if opts.Name == "" {
		t.Fatalf("interop: IssueLeaf: Name is required")
	}
	now := time.Now()
	if opts.NotBefore.IsZero() {
		opts.NotBefore = now.Add(-time.Hour)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = now.Add(30 * 24 * time.Hour)
	}
	var (
		key   crypto.Signer
		usage = x509.KeyUsageDigitalSignature
		err   error
	)
	if opts.RSABits != 0 {
		key, err = rsa.GenerateKey(rand.Reader, opts.RSABits)
		usage |= x509.KeyUsageKeyEncipherment
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		NotBefore:             opts.NotBefore,
		NotAfter:              opts.NotAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(t, key.Public()),
	}
	if len(opts.Hosts) > 0 {
		tmpl.Subject.CommonName = opts.Hosts[0]
	}
	for _, h := range opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, signer := p.CA, p.caKey
	if opts.SelfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	k := KeyPair{
		CertFile: filepath.Join(p.Dir, opts.Name+".pem"),
		KeyFile:  filepath.Join(p.Dir, opts.Name+"-key.pem"),
		Cert:     cert,
	}
	writePEM(t, k.CertFile, "CERTIFICATE", der)
	writeKey(t, k.KeyFile, key)
	return k
}

func randomSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	return n.Add(n, big.NewInt(1))
}

func keyID(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	sum := sha1.Sum(der)
	return sum[:]
}

func writePEM(t testing.TB, name, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatalf("interop: %v", err)
	}
}

func writeKey(t testing.TB, name string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatalf("interop: %v", err)
	}
}
