package proxy

import (
	"context"
	"errors"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy/pac"
)

// DefaultPACTimeLimit bounds one run of a PAC script.
const DefaultPACTimeLimit = 5 * time.Second

// pacRetryDelays is when a PAC configuration that failed is decided again,
// on the next request after the delay (Chromium's poll policy after a
// failure: 8 s, 32 s, 2 min, then every 4 h).
var pacRetryDelays = []time.Duration{8 * time.Second, 32 * time.Second, 2 * time.Minute, 4 * time.Hour}

// ServiceParams configure a Service.
type ServiceParams struct {
	Loop   *net.Loop
	NetLog *netlog.NetLog
	Config Config
	// Fetcher downloads PAC files; without one, PAC and auto-detect
	// configurations fail (and fall back to DIRECT unless mandatory).
	Fetcher PACFetcher
	// Resolver answers PAC scripts' DNS helpers and WPAD's quick check.
	Resolver dns.HostResolver
	// PACTimeLimit bounds each PAC script run (DefaultPACTimeLimit).
	PACTimeLimit time.Duration
	// Now is the clock; PAC scripts' date and time helpers and the bad
	// proxy deadlines read it. Default time.Now.
	Now func() time.Time
}

type pacState int

const (
	pacNotStarted pacState = iota
	pacDeciding
	pacReady  // script set
	pacFailed // no script: DIRECT, or every request fails if mandatory
)

// Service resolves proxies on the loop (Chromium's
// ConfiguredProxyResolutionService): manual rules apply at once; a PAC
// configuration first fetches and compiles its script, queueing requests
// meanwhile, then runs FindProxyForURL off the loop for each URL. Routes
// that failed recently are moved to the end of every list.
type Service struct {
	params ServiceParams
	nl     netlog.WithSource

	state       pacState
	script      *pac.Script
	decider     *pacFileDecider
	failures    int
	retryAfter  time.Time
	pending     map[*resolveRequest]struct{}
	running     map[*resolveRequest]struct{}
	retry       RetryInfoMap
	loggedFirst bool
	closed      bool
}

// NewService returns a service for p.Config. Call it on the loop or before
// the loop runs anything of the service.
func NewService(p ServiceParams) *Service {
	if p.PACTimeLimit <= 0 {
		p.PACTimeLimit = DefaultPACTimeLimit
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.NetLog == nil {
		p.NetLog = netlog.New()
	}
	return &Service{
		params:  p,
		nl:      netlog.NewSource(p.NetLog, netlog.SourceNone),
		pending: map[*resolveRequest]struct{}{},
		running: map[*resolveRequest]struct{}{},
		retry:   RetryInfoMap{},
	}
}

// NewDirectService returns a service that always answers DIRECT.
func NewDirectService() *Service { return NewService(ServiceParams{Config: DirectConfig()}) }

// NewFixedService returns a service that sends every URL through server,
// except those bypass exempts; a DIRECT server makes a direct service.
func NewFixedService(server Server, bypass BypassRules) *Service {
	cfg := DirectConfig()
	if !server.IsDirect() {
		cfg.Rules = Rules{Type: RulesList, Single: List{{server}}}
	}
	cfg.Rules.Bypass = bypass
	return NewService(ServiceParams{Config: cfg})
}

// Config is the configuration the service was made with.
func (s *Service) Config() Config { return s.params.Config }

type resolveRequest struct {
	svc   *Service
	u     *url.URL // sanitised
	info  *Info
	cb    net.CompletionCallback
	nl    netlog.WithSource
	op    net.Op
	state net.LoadState
}

// ResolveProxy implements ResolutionService.
func (s *Service) ResolveProxy(u *url.URL, info *Info, cb net.CompletionCallback, nl netlog.WithSource) (ResolveRequest, int) {
	nl.BeginEvent(netlog.EventProxyResolutionService, nil)
	s.logConfigOnce()
	cfg := s.params.Config
	if s.closed {
		return nil, s.finish(info, int(net.ErrAborted), nl)
	}
	if !cfg.HasAutomaticSettings() {
		list, bypassed := cfg.Rules.Apply(u)
		info.UseList(list)
		if bypassed {
			info.UseDirectWithBypassedProxy()
		}
		return nil, s.finish(info, net.OK, nl)
	}
	// Loopback and link-local destinations never reach a PAC script.
	if !cfg.Rules.Bypass.KeepLoopback() && IsImplicitlyBypassed(u.Hostname()) {
		info.UseDirectWithBypassedProxy()
		return nil, s.finish(info, net.OK, nl)
	}
	r := &resolveRequest{svc: s, u: SanitizeURL(u), info: info, cb: cb, nl: nl}
	if s.state == pacFailed && !s.params.Now().Before(s.retryAfter) {
		s.state = pacNotStarted
	}
	switch s.state {
	case pacNotStarted:
		s.startDecider()
		fallthrough
	case pacDeciding:
		r.state = net.LoadStateDownloadingPACFile
		s.pending[r] = struct{}{}
		nl.BeginEvent(netlog.EventProxyResolutionServiceWaitingForInitPAC, nil)
		return r, net.IOPending
	case pacFailed:
		return nil, s.finishWithoutScript(info, nl)
	}
	s.run(r)
	return r, net.IOPending
}

// finishWithoutScript answers when no PAC script could be had: DIRECT, or
// ERR_MANDATORY_PROXY_CONFIGURATION_FAILED for a mandatory PAC.
func (s *Service) finishWithoutScript(info *Info, nl netlog.WithSource) int {
	if s.params.Config.PACMandatory {
		return s.finish(info, int(net.ErrMandatoryProxyConfigurationFailed), nl)
	}
	*info = DirectInfo()
	return s.finish(info, net.OK, nl)
}

func (s *Service) startDecider() {
	s.state = pacDeciding
	s.decider = newPACFileDecider(s, s.params.Config, s.onDecided)
	s.decider.start()
}

// onDecided runs on the loop when the decider found a script or gave up;
// the queued requests then go on.
func (s *Service) onDecided(script *pac.Script, rv int) {
	s.decider = nil
	if rv == net.OK {
		s.state, s.script, s.failures = pacReady, script, 0
	} else {
		s.state, s.script = pacFailed, nil
		s.retryAfter = s.params.Now().Add(pacRetryDelays[min(s.failures, len(pacRetryDelays)-1)])
		s.failures++
	}
	pending := s.pending
	s.pending = map[*resolveRequest]struct{}{}
	for _, r := range sortedRequests(pending) {
		r.nl.EndEvent(netlog.EventProxyResolutionServiceWaitingForInitPAC, nil)
		if s.state == pacReady {
			s.run(r)
			continue
		}
		rv := s.finishWithoutScript(r.info, r.nl)
		r.complete(rv)
	}
}

// sortedRequests lists requests in the order they arrived (their NetLog
// source ids grow), so queued requests go on first come, first served.
func sortedRequests(m map[*resolveRequest]struct{}) []*resolveRequest {
	out := make([]*resolveRequest, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].nl.Source().ID < out[j].nl.Source().ID })
	return out
}

// run calls FindProxyForURL off the loop.
func (s *Service) run(r *resolveRequest) {
	r.state = net.LoadStateResolvingProxyForURL
	s.running[r] = struct{}{}
	script, nl := s.script, r.nl
	spec, host := r.u.String(), pacHostArgument(r.u)
	r.op = net.Go(s.params.Loop, func(ctx context.Context) (pac.Result, error) {
		return script.FindProxyForURL(withPACNetLog(ctx, nl), spec, host)
	}, func(res pac.Result, err error) {
		delete(s.running, r)
		logScriptEvents(nl, res.Events)
		if err != nil {
			if errors.Is(err, net.ErrAborted) {
				r.complete(s.finish(r.info, int(net.ErrAborted), nl))
				return
			}
			// The failure is logged; the request goes DIRECT unless the
			// configuration is mandatory.
			nl.AddEventWithNetErrorCode(netlog.EventProxyResolutionServiceResolvedProxyList, int(net.ErrPACScriptFailed))
			r.complete(s.finishWithoutScript(r.info, nl))
			return
		}
		r.info.UseList(ParsePACString(res.PAC))
		r.complete(s.finish(r.info, net.OK, nl))
	})
}

// pacHostArgument is FindProxyForURL's host: without IPv6 brackets, in
// punycode.
func pacHostArgument(u *url.URL) string {
	h := u.Hostname()
	if a, err := idna.Lookup.ToASCII(h); err == nil {
		return a
	}
	return h
}

// finish logs the outcome and moves bad routes to the end.
func (s *Service) finish(info *Info, rv int, nl netlog.WithSource) int {
	if rv == net.OK {
		nl.AddEvent(netlog.EventProxyResolutionServiceResolvedProxyList, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"proxy_info": info.String()}
		})
		now := s.params.Now()
		s.retry.Expire(now)
		if info.DeprioritizeBadProxies(s.retry, now) {
			nl.AddEvent(netlog.EventProxyResolutionServiceDeprioritizedBadProxies, func(netlog.CaptureMode) netlog.Params {
				return netlog.Params{"proxy_info": info.String()}
			})
		}
	}
	nl.EndEventWithNetErrorCode(netlog.EventProxyResolutionService, rv)
	return rv
}

func (r *resolveRequest) complete(rv int) {
	if cb := r.cb; cb != nil {
		r.cb = nil
		cb(rv)
	}
}

// Cancel implements ResolveRequest.
func (r *resolveRequest) Cancel() {
	if r.cb == nil {
		return
	}
	r.cb = nil
	s := r.svc
	if _, ok := s.pending[r]; ok {
		delete(s.pending, r)
		r.nl.EndEvent(netlog.EventProxyResolutionServiceWaitingForInitPAC, nil)
	}
	if _, ok := s.running[r]; ok {
		delete(s.running, r)
		r.op.Cancel()
	}
	r.nl.AddEvent(netlog.EventCancelled, nil)
	r.nl.EndEvent(netlog.EventProxyResolutionService, nil)
}

// LoadState implements ResolveRequest.
func (r *resolveRequest) LoadState() net.LoadState { return r.state }

// ReportSuccess learns the routes a request found bad on its way to a
// route that worked (Chromium's ReportSuccess); they are skipped by later
// requests until their deadlines pass.
func (s *Service) ReportSuccess(info *Info) {
	m := info.RetryInfo()
	if len(m) == 0 {
		return
	}
	s.retry.Merge(m)
	s.nl.AddEvent(netlog.EventBadProxyListReported, func(netlog.CaptureMode) netlog.Params {
		var bad []string
		for _, e := range m {
			bad = append(bad, e.Chain.String())
		}
		sort.Strings(bad)
		return netlog.Params{"bad_proxy_list": bad}
	})
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.params.Now() }

// Close cancels PAC work in flight and fails waiting requests with
// ERR_ABORTED. Call it on the loop.
func (s *Service) Close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.decider != nil {
		s.decider.cancel()
		s.decider = nil
	}
	for _, r := range sortedRequests(s.pending) {
		delete(s.pending, r)
		r.nl.EndEvent(netlog.EventProxyResolutionServiceWaitingForInitPAC, nil)
		r.complete(s.finish(r.info, int(net.ErrAborted), r.nl))
	}
	for _, r := range sortedRequests(s.running) {
		delete(s.running, r)
		r.op.Cancel()
		r.complete(s.finish(r.info, int(net.ErrAborted), r.nl))
	}
}

func (s *Service) logConfigOnce() {
	if s.loggedFirst {
		return
	}
	s.loggedFirst = true
	cfg := s.params.Config
	s.nl.AddEvent(netlog.EventProxyConfigChanged, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"new_config": cfg.ToValue()}
	})
}

// PolledData implements ResolutionService: the original and effective
// configuration (direct while a failed PAC configuration falls back) and
// the proxies currently marked bad.
func (s *Service) PolledData() netlog.Params {
	original := s.params.Config.ToValue()
	effective := original
	if s.state == pacFailed && !s.params.Config.PACMandatory {
		effective = DirectConfig().ToValue()
	}
	now := s.params.Now()
	bad := []netlog.Params{}
	keys := make([]string, 0, len(s.retry))
	for k := range s.retry {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := s.retry[k]
		if !now.Before(e.BadUntil) {
			continue
		}
		bad = append(bad, netlog.Params{"proxy_chain_uri": e.Chain.String(), "bad_until": netlog.TickString(e.BadUntil)})
	}
	return netlog.Params{
		"proxySettings": netlog.Params{"original": original, "effective": effective},
		"badProxies":    bad,
	}
}

func (s *Service) pacOptions() pac.Options {
	return pac.Options{
		Host:      &pacHost{loop: s.params.Loop, resolver: s.params.Resolver},
		TimeLimit: s.params.PACTimeLimit,
		Now:       s.params.Now,
	}
}

// SanitizeURL is the URL a PAC script or rule sees: never credentials or
// a fragment, and for https:// and wss:// only the scheme, host and port,
// since the path of an encrypted request is not the proxy's business.
func SanitizeURL(u *url.URL) *url.URL {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	switch strings.ToLower(c.Scheme) {
	case "https", "wss":
		c.Path, c.RawPath, c.RawQuery, c.ForceQuery = "/", "", "", false
	}
	return &c
}

// logScriptEvents puts a script's alerts and errors in the request's log.
func logScriptEvents(nl netlog.WithSource, events []pac.Event) {
	for _, e := range events {
		switch e.Kind {
		case pac.EventAlert:
			nl.AddEventWithParams(netlog.EventPACJavascriptAlert, netlog.Params{"message": e.Message})
		case pac.EventError:
			nl.AddEventWithParams(netlog.EventPACJavascriptError, netlog.Params{"line_number": e.Line, "message": e.Message})
		}
	}
}

// logScriptError logs a script that failed to load: its alerts and the
// error.
func logScriptError(nl netlog.WithSource, err error) {
	var se *pac.ScriptError
	switch {
	case !errors.As(err, &se):
	case len(se.Events) > 0:
		logScriptEvents(nl, se.Events)
	default:
		nl.AddEventWithParams(netlog.EventPACJavascriptError, netlog.Params{"line_number": se.Line, "message": se.Message})
	}
}
