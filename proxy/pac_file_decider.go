package proxy

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy/pac"
)

// WPADURL is where auto-detection looks for a PAC file (WPAD by DNS,
// without devolution).
const WPADURL = "http://wpad/wpad.dat"

// wpadQuickCheckTimeout bounds the lookup of "wpad" before its PAC file is
// fetched, so a network without WPAD costs little (Chromium's quick check).
const wpadQuickCheckTimeout = time.Second

// pacSource is one place a PAC script may come from.
type pacSource struct {
	url  *url.URL
	wpad bool
}

// netLogString is how Chromium's PacSource describes itself in
// PAC_FILE_DECIDER_FETCH_PAC_SCRIPT.
func (s pacSource) netLogString() string {
	if s.wpad {
		return "WPAD DNS: " + s.url.String()
	}
	return "Custom PAC URL: " + s.url.String()
}

type deciderState int

const (
	deciderNone deciderState = iota
	deciderQuickCheck
	deciderQuickCheckComplete
	deciderFetch
	deciderFetchComplete
	deciderVerify
	deciderVerifyComplete
)

// pacFileDecider finds a working PAC script: WPAD by DNS first when
// auto-detection is on, then the configured PAC URL, each fetched and
// compiled in turn until one works (Chromium's PacFileDecider). It lives
// on the loop; compiling runs off it.
type pacFileDecider struct {
	svc     *Service
	sources []pacSource
	current int
	nl      netlog.WithSource
	next    deciderState
	done    func(script *pac.Script, rv int)

	text        string
	script      *pac.Script
	lookup      dns.ResolveHostRequest
	quickTimer  *net.DelayedTask
	cancelFetch func()
	compile     net.Op
	finished    bool
}

func newPACFileDecider(svc *Service, cfg Config, done func(*pac.Script, int)) *pacFileDecider {
	d := &pacFileDecider{svc: svc, done: done}
	if cfg.AutoDetect {
		u, _ := url.Parse(WPADURL)
		d.sources = append(d.sources, pacSource{url: u, wpad: true})
	}
	if cfg.PACURL != nil {
		d.sources = append(d.sources, pacSource{url: cfg.PACURL})
	}
	d.nl = netlog.NewSource(svc.params.NetLog, netlog.SourcePACFileDecider)
	return d
}

// start begins deciding; done runs on the loop later (never from start).
func (d *pacFileDecider) start() {
	d.nl.BeginEvent(netlog.EventPACFileDecider, nil)
	d.svc.params.Loop.Post(func() {
		if d.finished {
			return
		}
		if len(d.sources) == 0 {
			d.finish(nil, int(net.ErrUnexpected))
			return
		}
		d.startSource()
	})
}

func (d *pacFileDecider) startSource() {
	if d.sources[d.current].wpad {
		d.next = deciderQuickCheck
	} else {
		d.next = deciderFetch
	}
	d.onIOComplete(net.OK)
}

func (d *pacFileDecider) onIOComplete(rv int) {
	rv = d.doLoop(rv)
	if rv == net.IOPending {
		return
	}
	if rv != net.OK && d.current+1 < len(d.sources) {
		d.nl.AddEvent(netlog.EventPACFileDeciderFallingBackToNextPACSource, nil)
		d.current++
		d.startSource()
		return
	}
	d.finish(d.script, rv)
}

func (d *pacFileDecider) doLoop(rv int) int {
	for {
		state := d.next
		d.next = deciderNone
		switch state {
		case deciderQuickCheck:
			rv = d.doQuickCheck()
		case deciderQuickCheckComplete:
			rv = d.doQuickCheckComplete(rv)
		case deciderFetch:
			rv = d.doFetch()
		case deciderFetchComplete:
			rv = d.doFetchComplete(rv)
		case deciderVerify:
			rv = d.doVerify()
		case deciderVerifyComplete:
			rv = d.doVerifyComplete(rv)
		default:
			panic("proxy: bad PAC decider state")
		}
		if rv == net.IOPending || d.next == deciderNone {
			return rv
		}
	}
}

// doQuickCheck resolves "wpad" with a short deadline before any fetch.
func (d *pacFileDecider) doQuickCheck() int {
	d.next = deciderQuickCheckComplete
	r := d.svc.params.Resolver
	if r == nil {
		return int(net.ErrNameNotResolved)
	}
	u := d.sources[d.current].url
	d.lookup = r.CreateRequest(u.Hostname(), 80, dns.ResolveParams{Priority: net.Highest, Scheme: "http"}, d.nl)
	rv := d.lookup.Start(func(rv int) {
		d.quickTimer.Cancel()
		d.lookup = nil
		d.onIOComplete(rv)
	})
	if rv != net.IOPending {
		d.lookup = nil
		return rv
	}
	d.quickTimer = d.svc.params.Loop.PostDelayed(wpadQuickCheckTimeout, func() {
		d.lookup.Cancel()
		d.lookup = nil
		d.onIOComplete(int(net.ErrNameNotResolved))
	})
	return net.IOPending
}

func (d *pacFileDecider) doQuickCheckComplete(rv int) int {
	if rv == net.OK {
		d.next = deciderFetch
	}
	return rv
}

func (d *pacFileDecider) doFetch() int {
	src := d.sources[d.current]
	d.next = deciderFetchComplete
	d.nl.BeginEvent(netlog.EventPACFileDeciderFetchPACScript, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"source": src.netLogString()}
	})
	f := d.svc.params.Fetcher
	if f == nil {
		d.nl.AddEvent(netlog.EventPACFileDeciderHasNoFetcher, nil)
		return int(net.ErrUnexpected)
	}
	d.cancelFetch = f.Fetch(src.url, d.nl, func(text string, rv int) {
		d.cancelFetch = nil
		d.text = text
		d.onIOComplete(rv)
	})
	return net.IOPending
}

func (d *pacFileDecider) doFetchComplete(rv int) int {
	d.nl.EndEventWithNetErrorCode(netlog.EventPACFileDeciderFetchPACScript, rv)
	if rv != net.OK {
		return rv
	}
	d.next = deciderVerify
	return net.OK
}

// doVerify compiles the script off the loop and checks it defines
// FindProxyForURL.
func (d *pacFileDecider) doVerify() int {
	d.next = deciderVerifyComplete
	if !strings.Contains(d.text, "FindProxyForURL") {
		return int(net.ErrPACScriptFailed)
	}
	text, opts := d.text, d.svc.pacOptions()
	nl := d.nl
	d.compile = net.Go(d.svc.params.Loop, func(context.Context) (*pac.Script, error) {
		return pac.Compile(text, opts)
	}, func(s *pac.Script, err error) {
		d.compile = net.Op{}
		if err != nil {
			logScriptError(nl, err)
			d.onIOComplete(int(net.ErrPACScriptFailed))
			return
		}
		logScriptEvents(nl, s.InitEvents())
		d.script = s
		d.onIOComplete(net.OK)
	})
	return net.IOPending
}

func (d *pacFileDecider) doVerifyComplete(rv int) int { return rv }

func (d *pacFileDecider) finish(s *pac.Script, rv int) {
	if d.finished {
		return
	}
	d.finished = true
	d.nl.EndEventWithNetErrorCode(netlog.EventPACFileDecider, rv)
	d.done(s, rv)
}

// cancel stops the decider; done never runs.
func (d *pacFileDecider) cancel() {
	if d.finished {
		return
	}
	d.finished = true
	if d.lookup != nil {
		d.lookup.Cancel()
	}
	d.quickTimer.Cancel()
	if d.cancelFetch != nil {
		d.cancelFetch()
	}
	d.compile.Cancel()
	d.nl.AddEvent(netlog.EventCancelled, nil)
	d.nl.EndEvent(netlog.EventPACFileDecider, nil)
}
