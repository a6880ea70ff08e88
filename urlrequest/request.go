package urlrequest

import (
	"net/url"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// DefaultMaxRedirects is Chromium's redirect limit.
const DefaultMaxRedirects = 20

// Delegate hears a Request's progress, on the loop. A callback may call
// back into the request (Read, Cancel, FollowDeferredRedirect).
type Delegate interface {
	// OnReceivedRedirect is called before a redirect is followed. Set
	// *deferRedirect to hold it; then call FollowDeferredRedirect or Cancel.
	OnReceivedRedirect(r *Request, info RedirectInfo, deferRedirect *bool)
	// OnResponseStarted is called once the final response headers are in
	// (result OK) or the request failed before that.
	OnResponseStarted(r *Request, result int)
	// OnReadCompleted completes a Read that returned IOPending: a byte
	// count, 0 at the end of the body, or an error.
	OnReadCompleted(r *Request, bytesRead int)
}

// RedirectInfo describes a redirect about to be followed.
type RedirectInfo struct {
	StatusCode int
	NewMethod  string
	NewURL     *url.URL
}

// Request is one URL load, redirects included (Chromium's URLRequest). It
// is owned by its Context's loop: create it with Context.NewRequest and call
// its methods on the loop only.
type Request struct {
	ctx      *Context
	delegate Delegate
	nl       netlog.WithSource

	urlChain        []*url.URL
	method          string
	headers         http.RequestHeaders
	upload          http.UploadDataStream
	loadFlags       net.LoadFlags
	priority        net.RequestPriority
	redirectLimit   int
	followRedirects bool

	job             *httpJob
	pendingRedirect *RedirectInfo
	response        *http.ResponseInfo
	started         bool
	responseStarted bool
	readPending     bool
	done            bool
	status          int
}

// NewRequest creates a GET request for u. Call it on the loop.
func (c *Context) NewRequest(u *url.URL, priority net.RequestPriority, d Delegate) *Request {
	r := &Request{
		ctx: c, delegate: d, urlChain: []*url.URL{u}, method: "GET",
		priority: priority, redirectLimit: DefaultMaxRedirects, followRedirects: true,
	}
	r.nl = netlog.NewSource(c.netLog, netlog.SourceURLRequest)
	return r
}

// URL is the current URL (the last of the redirect chain).
func (r *Request) URL() *url.URL { return r.urlChain[len(r.urlChain)-1] }

// URLChain lists the original URL and every redirect target, in order.
func (r *Request) URLChain() []*url.URL { return r.urlChain }

// Method is the current method (redirects may change it).
func (r *Request) Method() string { return r.method }

// SetMethod sets the method; call before Start.
func (r *Request) SetMethod(m string) { r.method = m }

// SetHeader sets a request header; call before Start.
func (r *Request) SetHeader(name, value string) { r.headers.Set(name, value) }

// AddHeader adds a request header, keeping others of the same name.
func (r *Request) AddHeader(name, value string) { r.headers.Add(name, value) }

// SetUpload sets the request body; call before Start.
func (r *Request) SetUpload(u http.UploadDataStream) { r.upload = u }

// SetLoadFlags sets Chromium load flags; call before Start.
func (r *Request) SetLoadFlags(f net.LoadFlags) { r.loadFlags = f }

// SetMaxRedirects sets how many redirects are followed before
// ErrTooManyRedirects (default 20).
func (r *Request) SetMaxRedirects(n int) { r.redirectLimit = n }

// SetFollowRedirects(false) makes a redirect response the final response,
// as a fetch with redirect mode "manual" (and net/http's Transport) sees it.
func (r *Request) SetFollowRedirects(follow bool) { r.followRedirects = follow }

// SetPriority changes the request's priority, also while it waits.
func (r *Request) SetPriority(p net.RequestPriority) {
	if r.priority == p {
		return
	}
	r.priority = p
	r.nl.AddEventWithParams(netlog.EventURLRequestSetPriority, netlog.Params{"priority": p.String()})
	if r.job != nil && r.job.tx != nil {
		r.job.tx.SetPriority(p)
	}
}

// Priority returns the request's priority.
func (r *Request) Priority() net.RequestPriority { return r.priority }

// NetLog returns the request's NetLog source.
func (r *Request) NetLog() netlog.WithSource { return r.nl }

// Response returns the response once OnResponseStarted reported OK.
func (r *Request) Response() *http.ResponseInfo { return r.response }

// Status is the request's error once it failed (0 while fine).
func (r *Request) Status() int { return r.status }

// LoadState says what the request is waiting for.
func (r *Request) LoadState() net.LoadState {
	if r.job != nil && r.job.tx != nil {
		return r.job.tx.LoadState()
	}
	return net.LoadStateIdle
}

// Start begins the load. Results arrive through the Delegate.
func (r *Request) Start() {
	if r.started {
		return
	}
	r.started = true
	r.ctx.requests[r] = struct{}{}
	u := r.URL()
	r.nl.BeginEvent(netlog.EventRequestAlive, func(m netlog.CaptureMode) netlog.Params {
		return netlog.Params{"url": netlog.URLString(u, m), "priority": r.priority.String(), "traffic_annotation": 0}
	})
	if r.ctx.closed {
		r.fail(int(net.ErrContextShutDown))
		return
	}
	r.startJob()
}

func (r *Request) startJob() {
	r.job = newHTTPJob(r)
	r.job.start()
}

// Read reads body bytes into buf after OnResponseStarted(OK): a count, 0 at
// the end, an error, or IOPending (then OnReadCompleted follows and buf
// belongs to the request until it does).
func (r *Request) Read(buf []byte) int {
	if r.done {
		if r.status < 0 {
			return r.status
		}
		return 0
	}
	if !r.responseStarted || r.readPending {
		return int(net.ErrUnexpected)
	}
	rv := r.job.read(buf)
	if rv == net.IOPending {
		r.readPending = true
		return rv
	}
	return r.readResult(buf, rv)
}

func (r *Request) onReadCompleted(buf []byte, rv int) {
	r.readPending = false
	rv = r.readResult(buf, rv)
	r.delegate.OnReadCompleted(r, rv)
}

func (r *Request) readResult(buf []byte, rv int) int {
	switch {
	case rv > 0:
		r.nl.AddByteTransferEvent(netlog.EventURLRequestJobFilteredBytesRead, buf[:rv])
	case rv == 0:
		r.finish(net.OK)
	default:
		r.finish(rv)
	}
	return rv
}

// FollowDeferredRedirect follows a redirect held in OnReceivedRedirect.
func (r *Request) FollowDeferredRedirect() {
	if r.pendingRedirect == nil || r.done {
		return
	}
	info := *r.pendingRedirect
	r.pendingRedirect = nil
	r.followRedirect(info)
}

// Cancel stops the request. A delegate waiting for OnResponseStarted or
// OnReadCompleted hears ErrAborted (posted, never from inside Cancel).
func (r *Request) Cancel() { r.fail(int(net.ErrAborted)) }

// fail ends the request with err and tells the delegate, asynchronously,
// if it is waiting for something.
func (r *Request) fail(err int) {
	if r.done {
		return
	}
	notifyStart := r.started && !r.responseStarted
	notifyRead := r.readPending
	r.readPending = false
	r.finish(err)
	if notifyStart || notifyRead {
		r.ctx.loop.Post(func() {
			if notifyStart {
				r.notifyResponseStarted(err)
			} else {
				r.delegate.OnReadCompleted(r, err)
			}
		})
	}
}

// finish releases the job and ends the request's NetLog span.
func (r *Request) finish(result int) {
	if r.done {
		return
	}
	r.done = true
	if result < 0 {
		r.status = result
	}
	if r.job != nil {
		r.job.close(result)
		r.job = nil
	}
	delete(r.ctx.requests, r)
	if r.started {
		r.nl.EndEventWithNetErrorCode(netlog.EventRequestAlive, result)
	}
}

func (r *Request) notifyResponseStarted(result int) {
	r.responseStarted = true
	if r.done {
		// A failed request's log already ended; the delegate still hears.
		r.delegate.OnResponseStarted(r, result)
		return
	}
	r.nl.BeginEvent(netlog.EventURLRequestDelegateResponseStarted, nil)
	r.delegate.OnResponseStarted(r, result)
	r.nl.EndEvent(netlog.EventURLRequestDelegateResponseStarted, nil)
}
