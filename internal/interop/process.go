package interop

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// startAttempts bounds the retries when a free port is taken between
// FreePort and the server's bind.
const startAttempts = 5

// errAddrInUse marks a start-up that failed because its port was taken;
// startWithRetries then tries again with new ports.
var errAddrInUse = errors.New("address already in use")

// startWithRetries runs start until it succeeds or fails for another
// reason than a taken port, and fails t with the last error.
func startWithRetries[T any](t testing.TB, name string, start func() (T, error)) T {
	t.Helper()
	var lastErr error
	for i := 0; i < startAttempts; i++ {
		v, err := start()
		if err == nil {
			return v
		}
		lastErr = err
		if !errors.Is(err, errAddrInUse) {
			break
		}
		t.Logf("interop: %s: port taken, retrying with a new port: %v", name, err)
	}
	t.Fatalf("interop: %s: %v", name, lastErr)
	var zero T
	return zero
}
