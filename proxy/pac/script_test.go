package pac

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

func asScriptError(t *testing.T, err error) *ScriptError {
	t.Helper()
	var se *ScriptError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want a *ScriptError", err, err)
	}
	return se
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name, src, msg string
		line           int
	}{
		{"syntax", "function FindProxyForURL(url, host) {\n  return \"DIRECT\";\n}}\n", "Uncaught SyntaxError: ", 3},
		{"syntax in body", "function FindProxyForURL(url, host) {\n  return (;\n}\n", "Uncaught SyntaxError: ", 2},
		{"redeclared let", "let a = 1;\nlet a = 2;\nfunction FindProxyForURL() {}\n", "Uncaught SyntaxError: ", 2},
		{"top-level throw", "var x = 1;\nthrow new Error('boom');\nfunction FindProxyForURL() {}\n", "Uncaught Error: boom", 2},
		{"top-level ReferenceError", "\n\nundefinedFunction();\nfunction FindProxyForURL() {}\n", "Uncaught ReferenceError: undefinedFunction is not defined", 3},
		{"missing", "function FindProxyForURLEx(url, host) { return 'DIRECT'; }\n", "FindProxyForURL is undefined or not a function.", 0},
		{"not a function", "var FindProxyForURL = 'DIRECT';\n", "FindProxyForURL is undefined or not a function.", 0},
		{"lexical binding only", "let FindProxyForURL = function () { return 'DIRECT'; };\n", "FindProxyForURL is undefined or not a function.", 0},
		{"empty", "", "FindProxyForURL is undefined or not a function.", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile(c.src, Options{})
			if s != nil {
				t.Fatal("got a Script")
			}
			se := asScriptError(t, err)
			if !strings.HasPrefix(se.Message, c.msg) || se.Line != c.line || se.TimedOut {
				t.Errorf("got %q line %d (timed out %v), want %q line %d", se.Message, se.Line, se.TimedOut, c.msg, c.line)
			}
			if n := len(se.Events); n == 0 || se.Events[n-1].Kind != EventError || se.Events[n-1].Message != se.Message {
				t.Errorf("events %v do not end with the error", se.Events)
			}
		})
	}
}

func TestCompileEvents(t *testing.T) {
	s := mustCompile(t, "alert('loading');\nalert();\nfunction FindProxyForURL() { return 'DIRECT'; }\n", Options{})
	want := []Event{{Kind: EventAlert, Message: "loading"}, {Kind: EventAlert, Message: "undefined"}}
	if got := s.InitEvents(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("InitEvents = %v, want %v", got, want)
	}
	_, err := Compile("alert('before');\nthrow 'oops';\n", Options{})
	se := asScriptError(t, err)
	want = []Event{{Kind: EventAlert, Message: "before"}, {Kind: EventError, Message: "Uncaught oops", Line: 2}}
	if fmt.Sprint(se.Events) != fmt.Sprint(want) {
		t.Errorf("ScriptError.Events = %v, want %v", se.Events, want)
	}
}

func TestCallErrors(t *testing.T) {
	cases := []struct {
		name, body, msg string
		line            int
	}{
		{"exception", "if (host == 'x') {\n    throw new TypeError('bad host');\n  }", "Uncaught TypeError: bad host", 3},
		{"thrown string", "throw 'no proxy';", "Uncaught no proxy", 2},
		{"thrown object", "throw {toString: function () { return 'custom'; }};", "Uncaught custom", 2},
		{"throwing toString", "throw {toString: function () { throw 1; }};", "Uncaught exception", 2},
		{"undefined function", "return getClientVersion();", "Uncaught ReferenceError: getClientVersion is not defined", 2},
		{"number", "return 42;", "FindProxyForURL() did not return a string.", 0},
		{"undefined", "return;", "FindProxyForURL() did not return a string.", 0},
		{"String object", "return new String('DIRECT');", "FindProxyForURL() did not return a string.", 0},
		{"non-ASCII", "return 'PROXY prøxy:80';", "FindProxyForURL() returned a non-ASCII string (crbug.com/47234): PROXY prøxy:80", 0},
		{"removes itself", "FindProxyForURL = 1; return 'DIRECT';", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "function FindProxyForURL(url, host) {\n  " + c.body + "\n}\n"
			s := mustCompile(t, src, Options{})
			r, err := s.FindProxyForURL(t.Context(), "http://x/", "x")
			if c.msg == "" {
				// The first call succeeds; the next finds no function.
				if err != nil || r.PAC != "DIRECT" {
					t.Fatalf("first call: %q, %v", r.PAC, err)
				}
				_, err = s.FindProxyForURL(t.Context(), "http://x/", "x")
				c.msg = "FindProxyForURL is undefined or not a function."
			}
			se := asScriptError(t, err)
			if se.Message != c.msg || se.Line != c.line {
				t.Errorf("got %q line %d, want %q line %d", se.Message, se.Line, c.msg, c.line)
			}
			if r.PAC != "" && c.name != "removes itself" {
				t.Errorf("PAC %q returned with an error", r.PAC)
			}
		})
	}
}

// A long non-ASCII result is quoted only in part.
func TestLongNonASCIIResult(t *testing.T) {
	s := mustCompile(t, exprScript(`"x" + new Array(1000).join("é")`), Options{})
	_, err := s.FindProxyForURL(t.Context(), "http://x/", "x")
	se := asScriptError(t, err)
	if len(se.Message) > 400 || !strings.HasSuffix(se.Message, "é...") || !utf8.ValidString(se.Message) {
		t.Errorf("message of %d bytes: %.80q...", len(se.Message), se.Message)
	}
}

func TestAlertEvents(t *testing.T) {
	src := `function FindProxyForURL(url, host) {
  alert("first");
  alert();
  alert(42);
  alert({toString: function () { return "obj"; }}, "ignored");
  if (host == "fail") {
    throw new Error("late");
  }
  return "DIRECT";
}`
	s := mustCompile(t, src, Options{})
	r, err := s.FindProxyForURL(t.Context(), "http://ok/", "ok")
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{EventAlert, "first", 0}, {EventAlert, "undefined", 0}, {EventAlert, "42", 0}, {EventAlert, "obj", 0}}
	if fmt.Sprint(r.Events) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", r.Events, want)
	}
	r, err = s.FindProxyForURL(t.Context(), "http://fail/", "fail")
	se := asScriptError(t, err)
	want = append(want, Event{EventError, "Uncaught Error: late", 7})
	if fmt.Sprint(r.Events) != fmt.Sprint(want) || fmt.Sprint(se.Events) != fmt.Sprint(want) {
		t.Errorf("events %v / %v, want %v", r.Events, se.Events, want)
	}
	// The runtime survives the exception.
	if _, err := s.FindProxyForURL(t.Context(), "http://ok/", "ok"); err != nil {
		t.Errorf("after an exception: %v", err)
	}
	if EventAlert.String() != "alert" || EventError.String() != "error" {
		t.Error("EventKind names")
	}
}

// Alerts and errors are buffered up to 2048 bytes a call; the rest is
// dropped.
func TestAlertCap(t *testing.T) {
	src := `function FindProxyForURL(url, host) {
  var m = new Array(101).join("x");
  for (var i = 0; i < 1000; i++) alert(m);
  alert("short");
  throw "end";
}`
	s := mustCompile(t, src, Options{})
	r, err := s.FindProxyForURL(t.Context(), "http://x/", "x")
	if asScriptError(t, err).Message != "Uncaught end" {
		t.Fatalf("err = %v", err)
	}
	total := 0
	for _, e := range r.Events {
		total += len(e.Message)
	}
	if total > maxEventBytes {
		t.Errorf("%d bytes of events kept", total)
	}
	// 20 long alerts fill 2000 bytes; the short alert and the error still fit.
	if n := len(r.Events); n != maxEventBytes/100+2 || r.Events[n-2].Message != "short" || r.Events[n-1].Kind != EventError {
		t.Errorf("%d events kept, ending %v", n, r.Events[n-2:])
	}
	// A huge single alert is dropped whole.
	s = mustCompile(t, exprScript(`alert(new Array(5000).join("y"))`), Options{})
	if r, _ := s.FindProxyForURL(t.Context(), "http://x/", "x"); len(r.Events) != 0 {
		t.Errorf("a 5 kB alert was kept: %d events", len(r.Events))
	}
}

// An endless loop fails with TimedOut within the limit; the Script keeps
// working afterwards.
func TestEndlessLoopTimesOut(t *testing.T) {
	src := `var runs = 0;
function FindProxyForURL(url, host) {
  runs++;
  if (host == "loop") {
    while (true) {}
  }
  return "PROXY p:" + runs;
}`
	s := mustCompile(t, src, Options{TimeLimit: 100 * time.Millisecond, MaxRuntimes: 1})
	for _, want := range []string{"PROXY p:1", "PROXY p:2"} {
		if r, err := s.FindProxyForURL(t.Context(), "http://a/", "a"); err != nil || r.PAC != want {
			t.Fatalf("got %q, %v; want %q", r.PAC, err, want)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.FindProxyForURL(context.Background(), "http://loop/", "loop")
		done <- err
	}()
	select {
	case err := <-done:
		se := asScriptError(t, err)
		if !se.TimedOut || !strings.Contains(se.Message, "timed out") {
			t.Errorf("got %+v, want a timeout", se)
		}
		if errors.Is(err, context.Canceled) {
			t.Error("a timeout reads as a cancellation")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the endless loop was not stopped")
	}
	// The interrupted runtime was discarded: the next call runs in a fresh
	// one, whose counter starts again.
	if r, err := s.FindProxyForURL(t.Context(), "http://a/", "a"); err != nil || r.PAC != "PROXY p:1" {
		t.Fatalf("after the timeout: %q, %v", r.PAC, err)
	}
}

func TestEndlessTopLevelTimesOut(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		_, err := Compile("function FindProxyForURL() { return 'DIRECT'; }\nfor (;;) {}\n", Options{TimeLimit: 100 * time.Millisecond})
		done <- err
	}()
	select {
	case err := <-done:
		if se := asScriptError(t, err); !se.TimedOut {
			t.Errorf("got %+v", se)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Compile did not stop the endless top level")
	}
}

// Calls on other runtimes keep flowing while one is stuck; cancelling the
// stuck call's context ends it.
func TestStuckCallDoesNotBlockOthers(t *testing.T) {
	entered := make(chan struct{})
	host := newFakeHost().set("start", "192.0.2.1")
	host.onResolve = func(context.Context, string) error {
		close(entered)
		return nil
	}
	src := `function FindProxyForURL(url, host) {
  if (host == "stuck") {
    dnsResolve("start");
    for (;;) {}
  }
  return "DIRECT";
}`
	s := mustCompile(t, src, Options{Host: host, TimeLimit: time.Minute, MaxRuntimes: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.FindProxyForURL(ctx, "http://stuck/", "stuck")
		done <- err
	}()
	<-entered
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if r, err := s.FindProxyForURL(t.Context(), "http://a/", "a"); err != nil || r.PAC != "DIRECT" {
					t.Errorf("got %q, %v", r.PAC, err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-done:
		t.Fatalf("the stuck call ended early: %v", err)
	default:
	}
	cancel()
	err := <-done
	se := asScriptError(t, err)
	if se.TimedOut || !errors.Is(err, context.Canceled) || !strings.Contains(se.Message, "aborted") {
		t.Errorf("got %+v (%v), want a cancellation", se, err)
	}
}

func TestContextCancellation(t *testing.T) {
	s := mustCompile(t, exprScript(`"DIRECT"`), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.FindProxyForURL(ctx, "http://x/", "x")
	if se := asScriptError(t, err); se.TimedOut || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %+v", se)
	}
	// A cancellation cause is seen through the error too.
	errStop := errors.New("stop")
	cctx, ccancel := context.WithCancelCause(context.Background())
	ccancel(errStop)
	_, err = s.FindProxyForURL(cctx, "http://x/", "x")
	if !errors.Is(err, errStop) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled with a cause: %v", err)
	}
	// A caller's deadline shorter than the time limit is not TimedOut.
	loop := mustCompile(t, exprScript(`(function () { for (;;) {} })()`), Options{TimeLimit: time.Minute})
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = loop.FindProxyForURL(ctx, "http://x/", "x")
	if se := asScriptError(t, err); se.TimedOut || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller deadline: %+v (%v)", se, err)
	}
	// Waiting for a busy runtime honours ctx too.
	entered, release := make(chan struct{}), make(chan struct{})
	host := newFakeHost().set("wait", "192.0.2.1")
	host.onResolve = func(context.Context, string) error {
		close(entered)
		<-release
		return nil
	}
	busy := mustCompile(t, exprScript(`dnsResolve(host)`), Options{Host: host, MaxRuntimes: 1})
	go busy.FindProxyForURL(context.Background(), "http://wait/", "wait")
	<-entered
	ctx, cancel = context.WithCancel(context.Background())
	go cancel()
	_, err = busy.FindProxyForURL(ctx, "http://x/", "x")
	close(release)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("waiting for a runtime: %v", err)
	}
}

func TestDeepRecursion(t *testing.T) {
	src := `function down(n) { return down(n + 1) + 1; }
function viaNative() { return [1].map(viaNative); }
function FindProxyForURL(url, host) {
  if (host == "plain") return String(down(0));
  if (host == "native") return String(viaNative());
  return "DIRECT";
}`
	s := mustCompile(t, src, Options{MaxRuntimes: 1})
	for _, h := range []string{"plain", "native"} {
		_, err := s.FindProxyForURL(t.Context(), "http://"+h+"/", h)
		se := asScriptError(t, err)
		if se.Message != "Uncaught RangeError: Maximum call stack size exceeded" || se.Line == 0 || se.TimedOut {
			t.Errorf("%s: got %+v", h, se)
		}
		if r, err := s.FindProxyForURL(t.Context(), "http://ok/", "ok"); err != nil || r.PAC != "DIRECT" {
			t.Fatalf("after %s recursion: %q, %v", h, r.PAC, err)
		}
	}
}

// A panic in Host must not escape; the call fails and the Script goes on.
func TestHostPanic(t *testing.T) {
	host := newFakeHost()
	host.onResolve = func(_ context.Context, h string) error {
		if h == "boom" {
			panic("host bug")
		}
		return nil
	}
	s := mustCompile(t, exprScript(`dnsResolve(host)`), Options{Host: host, MaxRuntimes: 1})
	_, err := s.FindProxyForURL(t.Context(), "http://boom/", "boom")
	if se := asScriptError(t, err); !strings.Contains(se.Message, "host bug") {
		t.Errorf("got %+v", se)
	}
	if r, err := s.FindProxyForURL(t.Context(), "http://ok/", "ok"); err != nil || r.PAC != "null" {
		t.Fatalf("after the panic: %q, %v", r.PAC, err)
	}
}

// The script reaches nothing but the ECMAScript built-ins and the library.
func TestSandbox(t *testing.T) {
	cases := map[string]string{}
	for _, name := range []string{"require", "console", "process", "module", "exports", "fetch",
		"XMLHttpRequest", "setTimeout", "setInterval", "importScripts", "load", "print", "read",
		"readFile", "Deno", "Bun", "java", "Packages", "WebAssembly", "os", "fs", "__dirname"} {
		cases["typeof "+name] = "undefined"
	}
	cases[`(function () { try { return eval("require('fs')"); } catch (e) { return e.name; } })()`] = "ReferenceError"
	evalCases(t, Options{}, cases)
	if _, err := Compile("import('/etc/passwd');\nfunction FindProxyForURL() { return 'DIRECT'; }", Options{}); err == nil {
		t.Error("dynamic import compiled")
	}
}

// Runtimes are reused: with one runtime, top-level state carries over.
func TestRuntimeReuse(t *testing.T) {
	s := mustCompile(t, "var n = 0;\nfunction FindProxyForURL() { return String(++n); }\n", Options{MaxRuntimes: 1})
	for i := 1; i <= 3; i++ {
		if r, err := s.FindProxyForURL(t.Context(), "http://x/", "x"); err != nil || r.PAC != fmt.Sprint(i) {
			t.Fatalf("call %d: %q, %v", i, r.PAC, err)
		}
	}
}

// A runtime created later runs the top level again; when that fails the
// call that needed it fails.
func TestLazyRuntimeFailure(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	host := newFakeHost().set("hold", "192.0.2.1")
	host.my = []netip.Addr{netip.MustParseAddr("192.0.2.5")}
	host.myFails = 1 // only Compile's run gets an address
	host.onResolve = func(context.Context, string) error {
		close(entered)
		<-release
		return nil
	}
	src := `if (myIpAddress() == "127.0.0.1") throw "no address";
function FindProxyForURL(url, host) { return String(dnsResolve(host)); }`
	s := mustCompile(t, src, Options{Host: host, MaxRuntimes: 2})
	held := make(chan error, 1)
	go func() {
		_, err := s.FindProxyForURL(context.Background(), "http://hold/", "hold")
		held <- err
	}()
	<-entered
	_, err := s.FindProxyForURL(t.Context(), "http://x/", "x")
	if se := asScriptError(t, err); se.Message != "Uncaught no address" || se.Line != 1 {
		t.Errorf("got %+v", se)
	}
	close(release)
	if err := <-held; err != nil {
		t.Errorf("held call: %v", err)
	}
}

func TestConcurrentCalls(t *testing.T) {
	host := newFakeHost()
	for i := range 16 {
		host.set(fmt.Sprintf("h%d.corp", i), fmt.Sprintf("10.0.0.%d", i))
	}
	src := `function FindProxyForURL(url, host) {
  alert(host);
  if (isInNet(host, "10.0.0.0", "255.255.255.248")) return "PROXY low:" + dnsResolve(host).split(".")[3];
  if (shExpMatch(host, "h*.corp")) return "PROXY high:" + dnsResolve(host).split(".")[3];
  return "DIRECT";
}`
	s := mustCompile(t, src, Options{Host: host})
	var wg sync.WaitGroup
	var calls atomic.Int64
	for g := range 32 {
		wg.Go(func() {
			for i := range 100 {
				n := (g + i) % 16
				h := fmt.Sprintf("h%d.corp", n)
				want := fmt.Sprintf("PROXY high:%d", n)
				if n < 8 {
					want = fmt.Sprintf("PROXY low:%d", n)
				}
				r, err := s.FindProxyForURL(t.Context(), "http://"+h+"/", h)
				if err != nil || r.PAC != want || len(r.Events) != 1 || r.Events[0].Message != h {
					t.Errorf("%s: %q %v %v, want %q", h, r.PAC, r.Events, err, want)
					return
				}
				calls.Add(1)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 3200 {
		t.Errorf("%d calls succeeded", calls.Load())
	}
	if got := len(s.slots); got > defaultMaxRuntimes {
		t.Errorf("%d runtimes alive, limit %d", got, defaultMaxRuntimes)
	}
}

func TestScriptErrorFormat(t *testing.T) {
	e := &ScriptError{Message: "Uncaught x", Line: 3}
	if e.Error() != "pac: line 3: Uncaught x" {
		t.Error(e.Error())
	}
	e.Line = 0
	if e.Error() != "pac: Uncaught x" || e.Unwrap() != nil {
		t.Error(e.Error())
	}
}
