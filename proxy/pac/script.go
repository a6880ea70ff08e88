package pac

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
)

// Host answers the script's DNS and local-address helpers. It is called from
// the goroutine running the script, may block, and must honour ctx (which
// carries the call's deadline).
type Host interface {
	// Resolve looks host up. ex=false is for dnsResolve/isResolvable/isInNet
	// (IPv4 answers only are used); ex=true for dnsResolveEx/isResolvableEx
	// (both families). host is ASCII (punycode) already.
	Resolve(ctx context.Context, host string, ex bool) ([]netip.Addr, error)
	// MyIPAddresses returns this machine's addresses for myIpAddress (ex=false)
	// and myIpAddressEx (ex=true); see LocalAddresses.
	MyIPAddresses(ctx context.Context, ex bool) ([]netip.Addr, error)
}

// Options configure a Script. The zero value is usable.
type Options struct {
	// Host answers DNS; nil makes every DNS helper fail (dnsResolve → null,
	// myIpAddress → "127.0.0.1").
	Host Host
	// TimeLimit bounds each FindProxyForURL call and each run of the
	// script's top level; default 5 s.
	TimeLimit time.Duration
	// Now is the clock of weekdayRange, dateRange and timeRange and of the
	// DNS cache; default time.Now. "Local time" is Now().Location(), "GMT"
	// is UTC.
	Now func() time.Time
	// MaxRuntimes is how many goja runtimes the Script keeps, hence how many
	// calls run at once; default 4 (Chromium's kDefaultNumPacThreads).
	MaxRuntimes int
}

const (
	defaultTimeLimit   = 5 * time.Second
	defaultMaxRuntimes = 4
	// maxCallStackSize turns runaway recursion into an error long before
	// memory runs out. It is lower than V8's ~10000 frames because goja
	// unwinds recursion through native functions (e.g. Array.map) with
	// nested Go panics, in time superlinear in the depth that no interrupt
	// can cut short: 3000 frames cost about half a second at worst.
	maxCallStackSize = 3000
	// maxEchoedResult bounds how much of a non-ASCII result an error quotes.
	maxEchoedResult = 256
)

// Script is a compiled PAC script. It is safe for concurrent use by many
// goroutines.
type Script struct {
	prog       *goja.Program
	opts       Options
	dnsCache   *dnsCache
	initEvents []Event

	// idle holds runtimes ready for a call; slots holds one token per live
	// runtime, so that at most MaxRuntimes exist.
	idle  chan *engine
	slots chan struct{}
}

// Compile compiles src and runs it once in a fresh runtime with the library
// installed, under the time limit, to check that it defines FindProxyForURL.
// A syntax error, an exception at top level, a missing FindProxyForURL and
// the time limit return a *ScriptError, whose Events hold what the run
// raised; on success Script.InitEvents does.
func Compile(src string, opts Options) (*Script, error) {
	if opts.TimeLimit <= 0 {
		opts.TimeLimit = defaultTimeLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRuntimes <= 0 {
		opts.MaxRuntimes = defaultMaxRuntimes
	}
	prog, err := compileProgram(src)
	if err != nil {
		return nil, err
	}
	s := &Script{
		prog:     prog,
		opts:     opts,
		dnsCache: newDNSCache(opts.Now),
		idle:     make(chan *engine, opts.MaxRuntimes),
		slots:    make(chan struct{}, opts.MaxRuntimes),
	}
	e, events, err := s.newEngine(context.Background())
	if err != nil {
		return nil, err
	}
	s.initEvents = events
	s.slots <- struct{}{}
	s.idle <- e
	return s, nil
}

// compileProgram parses with source maps disabled: goja would otherwise read
// the file a "//# sourceMappingURL=" comment names.
func compileProgram(src string) (*goja.Program, error) {
	ast, err := parser.ParseFile(nil, scriptName, src, 0, parser.WithDisableSourceMaps)
	if err != nil {
		se := &ScriptError{Message: "Uncaught SyntaxError: " + err.Error()}
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			se.Message = "Uncaught SyntaxError: " + list[0].Message
			se.Line = list[0].Position.Line
		}
		se.Events = []Event{{Kind: EventError, Message: se.Message, Line: se.Line}}
		return nil, se
	}
	prog, err := goja.CompileAST(ast, false)
	if err != nil {
		se := &ScriptError{Message: "Uncaught " + err.Error()}
		var cerr *goja.CompilerSyntaxError
		if errors.As(err, &cerr) {
			se.Message = "Uncaught SyntaxError: " + cerr.Message
			if cerr.File != nil {
				se.Line = cerr.File.Position(cerr.Offset).Line
			}
		}
		se.Events = []Event{{Kind: EventError, Message: se.Message, Line: se.Line}}
		return nil, se
	}
	return prog, nil
}

// InitEvents returns the alerts raised by the script's top level when
// Compile ran it.
func (s *Script) InitEvents() []Event { return s.initEvents }

// FindProxyForURL calls the script's FindProxyForURL(url, host): url as the
// proxy service sanitised it, host without IPv6 brackets. It waits for a free
// runtime if all are busy. Every failure is a *ScriptError; Result.Events is
// filled in either case.
func (s *Script) FindProxyForURL(ctx context.Context, url, host string) (Result, error) {
	e, err := s.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	res, reusable, err := e.findProxy(ctx, url, host)
	if reusable {
		s.idle <- e
	} else {
		<-s.slots
	}
	return res, err
}

// acquire takes an idle runtime, or creates one while fewer than MaxRuntimes
// exist, or waits for either.
func (s *Script) acquire(ctx context.Context) (*engine, error) {
	if err := ctx.Err(); err != nil {
		return nil, cancelled(ctx)
	}
	select {
	case e := <-s.idle:
		return e, nil
	default:
	}
	select {
	case e := <-s.idle:
		return e, nil
	case s.slots <- struct{}{}:
		// A new runtime's top-level alerts were already reported by Compile.
		e, _, err := s.newEngine(ctx)
		if err != nil {
			<-s.slots
			return nil, err
		}
		return e, nil
	case <-ctx.Done():
		return nil, cancelled(ctx)
	}
}

func cancelled(ctx context.Context) *ScriptError {
	return &ScriptError{Message: "FindProxyForURL() aborted: " + context.Cause(ctx).Error(), cause: ctxCause(ctx)}
}

// ctxCause is what a ScriptError for a cancelled ctx unwraps to: ctx.Err()
// and, when the canceller gave one, its own cause too.
func ctxCause(ctx context.Context) error {
	err, cause := ctx.Err(), context.Cause(ctx)
	if cause == nil || cause == err {
		return err
	}
	return errors.Join(err, cause)
}

// engine is one goja runtime with the library installed and the script run;
// it serves one call at a time.
type engine struct {
	script *Script
	rt     *goja.Runtime
	cur    *call // the running call, read by the natives
	broken bool  // a Go panic went through the runtime: never reuse it

	notFunction goja.Value
	defined     goja.Callable
	invoke      goja.Callable
	describe    goja.Callable
}

// newEngine builds a runtime and runs the library and the script in it
// under the time limit.
func (s *Script) newEngine(ctx context.Context) (*engine, []Event, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallStackSize)
	rt.SetParserOptions(parser.WithDisableSourceMaps) // eval and Function read no files either
	rt.SetTimeSource(s.opts.Now)
	e := &engine{script: s, rt: rt}
	c, done := e.begin(ctx)
	var se *ScriptError
	if err := e.protect(e.init); err != nil {
		se = e.scriptError(err, "PAC script")
	}
	if clean := done(); se == nil && !clean {
		// The run ended as its time ran out: an interrupt may be on its way
		// and would hit the first call, so the runtime cannot be kept.
		se = e.interrupted("PAC script", c.ctx)
	}
	if se != nil {
		c.addEvent(Event{Kind: EventError, Message: se.Message, Line: se.Line})
		se.Events = c.events
		return nil, nil, se
	}
	return e, c.events, nil
}

// msgNotDefined is Chromium's message for a script without FindProxyForURL.
const msgNotDefined = "FindProxyForURL is undefined or not a function."

func (e *engine) init() error {
	if err := e.installNatives(); err != nil {
		return err
	}
	v, err := e.rt.RunProgram(libraryProgram())
	if err != nil {
		return err
	}
	installer, ok := goja.AssertFunction(v)
	if !ok {
		return errors.New("pac: library installer is not a function")
	}
	v, err = installer(goja.Undefined(), e.rt.ToValue(e.clock))
	if err != nil {
		return err
	}
	hidden := v.ToObject(e.rt)
	e.notFunction = hidden.Get("notFunction")
	for _, f := range []struct {
		name string
		dst  *goja.Callable
	}{{"defined", &e.defined}, {"invoke", &e.invoke}, {"describe", &e.describe}} {
		if *f.dst, ok = goja.AssertFunction(hidden.Get(f.name)); !ok {
			return fmt.Errorf("pac: library lacks %s", f.name)
		}
	}
	if _, err := e.rt.RunProgram(e.script.prog); err != nil {
		return err
	}
	v, err = e.defined(goja.Undefined())
	if err != nil {
		return err
	}
	if !v.ToBoolean() {
		return &ScriptError{Message: msgNotDefined}
	}
	return nil
}

// begin starts a run: a call state whose context ends at the time limit or
// with ctx, and an interrupt of the runtime when it ends. done disarms both
// and reports whether the interrupt never fired, i.e. whether the runtime is
// still fit for reuse.
func (e *engine) begin(ctx context.Context) (c *call, done func() (clean bool)) {
	runCtx, cancel := context.WithTimeoutCause(ctx, e.script.opts.TimeLimit, errTimeLimit)
	c = &call{ctx: runCtx, script: e.script}
	e.cur = c
	stop := context.AfterFunc(runCtx, func() { e.rt.Interrupt(context.Cause(runCtx)) })
	return c, func() bool {
		clean := stop()
		cancel()
		e.cur = nil
		return clean
	}
}

// panicError carries a Go panic out of goja (a bug in a Host or here); the
// runtime is then in doubt.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("internal error: ", p.v) }

// protect runs f, turning a panic into a panicError so that nothing panics
// out of the package, and marks the runtime broken.
func (e *engine) protect(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			e.broken = true
			err = panicError{v}
		}
	}()
	return f()
}

// findProxy runs one FindProxyForURL call on e. reusable is false when the
// runtime must be discarded.
func (e *engine) findProxy(ctx context.Context, url, host string) (res Result, reusable bool, err error) {
	c, done := e.begin(ctx)
	var v goja.Value
	runErr := e.protect(func() (err error) {
		v, err = e.invoke(goja.Undefined(), e.rt.ToValue(url), e.rt.ToValue(host))
		return err
	})
	var se *ScriptError
	switch {
	case runErr != nil:
		se = e.scriptError(runErr, "FindProxyForURL()")
	case v.SameAs(e.notFunction):
		se = &ScriptError{Message: msgNotDefined}
	case !goja.IsString(v):
		se = &ScriptError{Message: "FindProxyForURL() did not return a string."}
	default:
		res.PAC = v.String()
		if !isASCII(res.PAC) {
			quoted := res.PAC
			if len(quoted) > maxEchoedResult {
				cut := maxEchoedResult
				for !utf8.RuneStart(quoted[cut]) {
					cut--
				}
				quoted = quoted[:cut] + "..."
			}
			se = &ScriptError{Message: "FindProxyForURL() returned a non-ASCII string (crbug.com/47234): " + quoted}
			res.PAC = ""
		}
	}
	clean := done()
	reusable = clean && !e.broken && reusableAfter(runErr)
	if se != nil {
		c.addEvent(Event{Kind: EventError, Message: se.Message, Line: se.Line})
		se.Events = c.events
		res.Events = c.events
		return res, reusable, se
	}
	res.Events = c.events
	return res, reusable, nil
}

// reusableAfter tells whether a runtime may serve another call after err: a
// script exception leaves it intact, an interrupt, a stack overflow or a Go
// panic does not.
func reusableAfter(err error) bool {
	if err == nil {
		return true
	}
	var ex *goja.Exception
	return errors.As(err, &ex)
}

// scriptError converts a run's error; what names the run in time-limit
// and cancellation messages. It may call into the runtime (describe), so it
// runs before the interrupt is disarmed.
func (e *engine) scriptError(err error, what string) *ScriptError {
	var (
		se *ScriptError
		ie *goja.InterruptedError
		so *goja.StackOverflowError
		ex *goja.Exception
	)
	switch {
	case errors.As(err, &se):
		return se
	case errors.As(err, &ie):
		return e.interrupted(what, e.cur.ctx)
	case errors.As(err, &so):
		return &ScriptError{Message: "Uncaught RangeError: Maximum call stack size exceeded", Line: scriptLine(so.Stack())}
	case errors.As(err, &ex):
		msg := "Uncaught exception"
		var v goja.Value
		derr := e.protect(func() (err error) {
			v, err = e.describe(goja.Undefined(), ex.Value())
			return err
		})
		if derr == nil {
			msg = v.String()
		}
		return &ScriptError{Message: msg, Line: scriptLine(ex.Stack())}
	default:
		return &ScriptError{Message: err.Error()}
	}
}

// interrupted is the error of a run cut short by the time limit or by the
// caller's context; runCtx is the run's context, already done. It has no
// line: where goja noticed the interrupt is no error's place.
func (e *engine) interrupted(what string, runCtx context.Context) *ScriptError {
	cause := context.Cause(runCtx)
	if errors.Is(cause, errTimeLimit) {
		return &ScriptError{Message: fmt.Sprintf("%s timed out after %v", what, e.script.opts.TimeLimit), TimedOut: true}
	}
	return &ScriptError{Message: fmt.Sprintf("%s aborted: %v", what, cause), cause: ctxCause(runCtx)}
}

// scriptLine is the line of the innermost frame in the PAC script itself,
// skipping library and native frames, 0 if none.
func scriptLine(stack []goja.StackFrame) int {
	for i := range stack {
		if stack[i].SrcName() == scriptName {
			return stack[i].Position().Line
		}
	}
	return 0
}
