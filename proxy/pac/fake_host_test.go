package pac

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeHost answers from a table and records every question.
type fakeHost struct {
	mu       sync.Mutex
	names    map[string][]netip.Addr // answers for both families; the package filters
	my       []netip.Addr            // MyIPAddresses(ex=false)
	myEx     []netip.Addr            // MyIPAddresses(ex=true)
	calls    []string                // "host/ex" or "my/ex"
	deadline []bool                  // whether each Resolve's ctx had a deadline
	// onResolve, when set, runs before answering (and may block).
	onResolve func(ctx context.Context, host string) error
	// myFails counts MyIPAddresses calls to let through before failing; <0
	// never fails.
	myFails int
}

func newFakeHost() *fakeHost {
	return &fakeHost{names: map[string][]netip.Addr{}, myFails: -1}
}

func (h *fakeHost) set(host string, addrs ...string) *fakeHost {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range addrs {
		h.names[host] = append(h.names[host], netip.MustParseAddr(a))
	}
	return h
}

func (h *fakeHost) Resolve(ctx context.Context, host string, ex bool) ([]netip.Addr, error) {
	h.mu.Lock()
	h.calls = append(h.calls, fmt.Sprintf("%s/%v", host, ex))
	_, hasDeadline := ctx.Deadline()
	h.deadline = append(h.deadline, hasDeadline)
	hook := h.onResolve
	addrs, ok := h.names[host]
	h.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, host); err != nil {
			return nil, err
		}
	}
	if !ok {
		return nil, errors.New("NXDOMAIN")
	}
	return addrs, nil
}

func (h *fakeHost) MyIPAddresses(ctx context.Context, ex bool) ([]netip.Addr, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, fmt.Sprintf("my/%v", ex))
	if h.myFails == 0 {
		return nil, errors.New("no address")
	}
	if h.myFails > 0 {
		h.myFails--
	}
	addrs := h.my
	if ex {
		addrs = h.myEx
	}
	if len(addrs) == 0 {
		return nil, errors.New("no address")
	}
	return addrs, nil
}

func (h *fakeHost) callLog() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.calls...)
}

func (h *fakeHost) countCalls(q string) int {
	n := 0
	for _, c := range h.callLog() {
		if c == q {
			n++
		}
	}
	return n
}

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// exprScript is a PAC script whose FindProxyForURL returns String(expr).
func exprScript(expr string) string {
	return "function FindProxyForURL(url, host) {\n  return String(" + expr + ");\n}\n"
}

// mustCompile compiles src or fails the test.
func mustCompile(t testing.TB, src string, opts Options) *Script {
	t.Helper()
	s, err := Compile(src, opts)
	if err != nil {
		t.Fatalf("Compile: %v\n%s", err, src)
	}
	return s
}

// eval runs expr through a compiled script and returns its string value or
// the call's error.
func eval(t testing.TB, opts Options, expr string) (string, error) {
	t.Helper()
	s := mustCompile(t, exprScript(expr), opts)
	r, err := s.FindProxyForURL(context.Background(), "http://www.example.com/", "www.example.com")
	return r.PAC, err
}

// evalCases checks each expression's value under opts.
func evalCases(t *testing.T, opts Options, cases map[string]string) {
	t.Helper()
	for expr, want := range cases {
		got, err := eval(t, opts, expr)
		if err != nil {
			t.Errorf("%s: error %v", expr, err)
			continue
		}
		if got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

// evalThrows checks that each expression makes the call fail with a message
// containing want.
func evalThrows(t *testing.T, opts Options, cases map[string]string) {
	t.Helper()
	for expr, want := range cases {
		got, err := eval(t, opts, expr)
		var se *ScriptError
		if !errors.As(err, &se) {
			t.Errorf("%s = %q, %v; want a ScriptError", expr, got, err)
			continue
		}
		if !strings.Contains(se.Message, want) {
			t.Errorf("%s: message %q, want it to contain %q", expr, se.Message, want)
		}
		if se.Line != 2 {
			t.Errorf("%s: line %d, want 2", expr, se.Line)
		}
	}
}
