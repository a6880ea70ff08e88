package urlrequest

import (
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// httpJob loads one URL of a request's chain through a transaction from the
// Context's factory (Chromium's URLRequestHttpJob).
type httpJob struct {
	r       *Request
	tx      http.Transaction
	info    http.RequestInfo
	readBuf []byte
	open    bool // URL_REQUEST_START_JOB is open
	closed  bool
}

func newHTTPJob(r *Request) *httpJob { return &httpJob{r: r} }

func (j *httpJob) start() {
	r := j.r
	u := r.URL()
	j.open = true
	r.nl.BeginEvent(netlog.EventURLRequestStartJob, func(m netlog.CaptureMode) netlog.Params {
		return netlog.Params{"url": netlog.URLString(u, m), "method": r.method, "load_flags": int(r.loadFlags), "priority": r.priority.String(), "request_type": "other"}
	})
	if u.Scheme != "http" && u.Scheme != "https" {
		j.post(int(net.ErrUnknownURLScheme))
		return
	}
	if u.Hostname() == "" {
		j.post(int(net.ErrInvalidURL))
		return
	}
	j.info = http.RequestInfo{
		Method:    r.method,
		URL:       u,
		Headers:   r.headers.Clone(),
		Upload:    r.upload,
		LoadFlags: r.loadFlags,
	}
	j.info.Headers.SetIfMissing("User-Agent", r.ctx.userAgent)
	j.info.Headers.SetIfMissing("Accept", "*/*")
	j.tx = r.ctx.httpCache.CreateTransaction(r.priority)
	rv := j.tx.Start(&j.info, j.onStartCompleted, r.nl)
	if rv != net.IOPending {
		// Delegates never hear from inside the call that started them.
		j.post(rv)
	}
}

func (j *httpJob) post(rv int) {
	j.r.ctx.loop.Post(func() {
		if !j.closed {
			j.onStartCompleted(rv)
		}
	})
}

func (j *httpJob) onStartCompleted(rv int) {
	r := j.r
	if rv != net.OK {
		r.fail(rv)
		return
	}
	resp := j.tx.Response()
	if loc, ok := resp.Headers.IsRedirect(); ok && r.followRedirects {
		j.handleRedirect(resp, loc)
		return
	}
	r.response = resp
	j.endStartJob(net.OK)
	r.notifyResponseStarted(net.OK)
}

func (j *httpJob) handleRedirect(resp *http.ResponseInfo, location string) {
	r := j.r
	code := resp.Headers.StatusCode()
	target, err := r.URL().Parse(location)
	if err != nil {
		r.fail(int(net.ErrInvalidRedirect))
		return
	}
	if target.Scheme != "http" && target.Scheme != "https" {
		r.fail(int(net.ErrUnsafeRedirect))
		return
	}
	// A fragment-less Location keeps the original fragment (RFC 9110 §10.2.2).
	if target.Fragment == "" && r.URL().Fragment != "" {
		target.Fragment = r.URL().Fragment
	}
	if r.redirectLimit <= 0 {
		r.fail(int(net.ErrTooManyRedirects))
		return
	}
	r.redirectLimit--
	info := RedirectInfo{StatusCode: code, NewMethod: redirectMethod(code, r.method), NewURL: target}
	deferRedirect := false
	r.nl.BeginEvent(netlog.EventURLRequestDelegateReceivedRedirect, nil)
	r.delegate.OnReceivedRedirect(r, info, &deferRedirect)
	r.nl.EndEvent(netlog.EventURLRequestDelegateReceivedRedirect, nil)
	if r.done {
		return
	}
	if deferRedirect {
		r.pendingRedirect = &info
		return
	}
	r.followRedirect(info)
}

// redirectMethod is the method after a redirect: 303 turns everything but
// HEAD into GET, and 301/302 turn POST into GET, as browsers do.
func redirectMethod(code int, method string) string {
	switch {
	case code == 303 && method != "HEAD":
		return "GET"
	case (code == 301 || code == 302) && method == "POST":
		return "GET"
	}
	return method
}

func (r *Request) followRedirect(info RedirectInfo) {
	r.nl.AddEvent(netlog.EventURLRequestRedirected, func(m netlog.CaptureMode) netlog.Params {
		return netlog.Params{"location": netlog.URLString(info.NewURL, m)}
	})
	r.job.close(net.OK)
	r.job = nil
	if info.NewMethod != r.method {
		// The body is dropped along with the headers that described it.
		r.upload = nil
		for _, h := range []string{"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Location", "Origin"} {
			r.headers.Remove(h)
		}
	} else if r.upload != nil && !r.upload.Rewind() {
		r.fail(int(net.ErrUploadStreamRewindNotSupported))
		return
	}
	if !sameOrigin(r.URL(), info.NewURL) {
		// Credentials must not follow a redirect to another origin.
		r.headers.Remove("Authorization")
		r.headers.Remove("Cookie")
	}
	r.method = info.NewMethod
	r.urlChain = append(r.urlChain, info.NewURL)
	r.startJob()
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

func (j *httpJob) read(buf []byte) int {
	j.readBuf = buf
	return j.tx.Read(buf, func(rv int) {
		j.r.onReadCompleted(j.readBuf, rv)
	})
}

func (j *httpJob) endStartJob(result int) {
	if j.open {
		j.open = false
		j.r.nl.EndEventWithNetErrorCode(netlog.EventURLRequestStartJob, result)
	}
}

// close ends the job, giving its connection back to the pool when the body
// was read to the end.
func (j *httpJob) close(result int) {
	if j.closed {
		return
	}
	j.closed = true
	j.endStartJob(result)
	if j.tx != nil {
		j.tx.Close()
		j.tx = nil
	}
}
