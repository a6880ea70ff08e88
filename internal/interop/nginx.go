package interop

import (
	"fmt"
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

	return startWithRetries(t, "nginx", func() (*Nginx, error) { return startNginxOnce(t, path, build, opts) })
}

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
