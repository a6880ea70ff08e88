package http

import (
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// maxRetryAttempts is how often a request is resent after a reused
// keep-alive connection turned out to be dead (Chromium's kMaxRetryAttempts).
const maxRetryAttempts = 2

type txState int

const (
	txStateNone txState = iota
	txStateCreateStream
	txStateCreateStreamComplete
	txStateBuildRequest
	txStateSendRequest
	txStateSendRequestComplete
	txStateReadHeaders
	txStateReadHeadersComplete
	txStateReadBody
	txStateReadBodyComplete
	txStateDrainBodyForAuthRestart
	txStateDrainBodyForAuthRestartComplete
)

// NetworkTransaction sends a request over the network and reads its
// response: Chromium's HttpNetworkTransaction as a DoLoop state machine.
type NetworkTransaction struct {
	session  *Session
	priority net.RequestPriority
	info     *RequestInfo
	nl       netlog.WithSource

	next  txState
	cb    net.CompletionCallback
	state net.LoadState

	streamRequest *StreamRequest
	stream        Stream
	requestLine   string
	headers       RequestHeaders
	response      ResponseInfo
	readBuf       []byte
	retries       int
	closed        bool

	// proxyInfo is the route of the current stream, from its
	// StreamRequest. proxyAuth answers the 407s of an HTTP proxy spoken to
	// without a tunnel; drainBuf takes the 407 body it discards.
	proxyInfo proxy.Info
	proxyAuth *proxyAuth
	drainBuf  []byte
}

// NewNetworkTransaction returns a transaction on session.
func NewNetworkTransaction(priority net.RequestPriority, session *Session) *NetworkTransaction {
	return &NetworkTransaction{session: session, priority: priority}
}

// Start implements Transaction.
func (t *NetworkTransaction) Start(info *RequestInfo, cb net.CompletionCallback, nl netlog.WithSource) int {
	t.info, t.nl = info, nl
	t.next = txStateCreateStream
	rv := t.doLoop(net.OK)
	if rv == net.IOPending {
		t.cb = cb
	}
	return rv
}

// Read implements Transaction.
func (t *NetworkTransaction) Read(buf []byte, cb net.CompletionCallback) int {
	if t.stream == nil {
		return 0
	}
	t.readBuf = buf
	t.next = txStateReadBody
	rv := t.doLoop(net.OK)
	if rv == net.IOPending {
		t.cb = cb
	}
	return rv
}

// Response implements Transaction.
func (t *NetworkTransaction) Response() *ResponseInfo {
	if t.response.Headers == nil {
		return nil
	}
	return &t.response
}

// LoadState implements Transaction.
func (t *NetworkTransaction) LoadState() net.LoadState {
	if t.next == txStateCreateStreamComplete && t.streamRequest != nil {
		return t.streamRequest.LoadState()
	}
	return t.state
}

// SetPriority implements Transaction.
func (t *NetworkTransaction) SetPriority(p net.RequestPriority) {
	t.priority = p
	if t.streamRequest != nil {
		t.streamRequest.SetPriority(p)
	}
}

// Close implements Transaction. The connection goes back to the pool for
// reuse once the body is read to the end; a small unread body is drained.
func (t *NetworkTransaction) Close() {
	if t.closed {
		return
	}
	t.closed = true
	t.cb = nil
	if t.streamRequest != nil {
		t.streamRequest.Cancel()
		t.streamRequest = nil
	}
	if t.stream != nil {
		// A stream with an operation in flight (a body read waiting for
		// bytes) cannot be drained: a second read would race the first,
		// and on a TCP socket it blocks the loop on the fd's read lock
		// that the waiting read holds. Close it, as Chromium does when
		// next_state_ != STATE_NONE. An HTTP/2 stream is simply reset: the
		// connection is never at stake.
		_, h2 := t.stream.(*H2Stream)
		switch {
		case h2:
			t.stream.Close(false)
		case t.response.Headers != nil && t.next == txStateNone:
			drainAndClose(t.session, t.stream)
		default:
			t.stream.Close(true)
		}
		t.stream = nil
	}
}

func (t *NetworkTransaction) onIOComplete(rv int) {
	rv = t.doLoop(rv)
	if rv != net.IOPending {
		if cb := t.cb; cb != nil {
			t.cb = nil
			cb(rv)
		}
	}
}

func (t *NetworkTransaction) doLoop(rv int) int {
	for {
		state := t.next
		t.next = txStateNone
		switch state {
		case txStateCreateStream:
			rv = t.doCreateStream()
		case txStateCreateStreamComplete:
			rv = t.doCreateStreamComplete(rv)
		case txStateBuildRequest:
			rv = t.doBuildRequest()
		case txStateSendRequest:
			rv = t.doSendRequest()
		case txStateSendRequestComplete:
			rv = t.doSendRequestComplete(rv)
		case txStateReadHeaders:
			rv = t.doReadHeaders()
		case txStateReadHeadersComplete:
			rv = t.doReadHeadersComplete(rv)
		case txStateReadBody:
			rv = t.doReadBody()
		case txStateReadBodyComplete:
			rv = t.doReadBodyComplete(rv)
		case txStateDrainBodyForAuthRestart:
			rv = t.doDrainBodyForAuthRestart()
		case txStateDrainBodyForAuthRestartComplete:
			rv = t.doDrainBodyForAuthRestartComplete(rv)
		default:
			panic("http: bad NetworkTransaction state")
		}
		if rv == net.IOPending || t.next == txStateNone {
			return rv
		}
	}
}

func (t *NetworkTransaction) doCreateStream() int {
	t.next = txStateCreateStreamComplete
	t.state = net.LoadStateConnecting
	req, rv := t.session.factory.RequestStream(t.info, t.priority, t.nl, t.onIOComplete)
	t.streamRequest = req
	return rv
}

func (t *NetworkTransaction) doCreateStreamComplete(rv int) int {
	req := t.streamRequest
	t.streamRequest = nil
	t.proxyInfo = req.ProxyInfo()
	if rv != net.OK {
		return rv
	}
	t.stream = req.Stream()
	t.next = txStateBuildRequest
	return net.OK
}

func (t *NetworkTransaction) doBuildRequest() int {
	t.next = txStateSendRequest
	server, viaProxy := t.usingHTTPProxy()
	authorization := ""
	if viaProxy {
		// Credentials go only to the proxy they are for: a new stream may
		// have fallen back to another one.
		if t.proxyAuth == nil || t.proxyAuth.server != server {
			t.proxyAuth = newProxyAuth(server, t.session.proxyAuthCache())
		}
		authorization = t.proxyAuth.authorization()
	}
	t.requestLine, t.headers = buildRequestHeaders(t.info, viaProxy, authorization)
	return net.OK
}

// buildRequestHeaders makes the request line and headers of info, as
// Chromium's BuildRequestHeaders. viaProxy means the request goes to an
// HTTP proxy without a tunnel: the request line then carries the absolute
// URI, and Proxy-Connection replaces Connection (for HTTP/1.0 proxies);
// proxyAuthorization, when set, answers the proxy's challenge.
func buildRequestHeaders(info *RequestInfo, viaProxy bool, proxyAuthorization string) (string, RequestHeaders) {
	u := info.URL
	host := u.Host
	if g, ok := GroupIDForURL(u, false); ok && defaultPort(g.Scheme) == int(g.Port) {
		host = u.Hostname()
		if len(host) > 0 && host[0] != '[' && containsColon(host) {
			host = "[" + host + "]"
		}
	}
	target := u.RequestURI()
	if viaProxy {
		// Chromium's SpecForRequest: no user info, no fragment, no
		// default port.
		target = strings.ToLower(u.Scheme) + "://" + host + target
	}
	line := info.Method + " " + target + " HTTP/1.1\r\n"
	h := RequestHeaders{}
	h.Set("Host", host)
	if viaProxy {
		h.Set("Proxy-Connection", "keep-alive")
	} else {
		h.Set("Connection", "keep-alive")
	}
	if up := info.Upload; up != nil {
		if up.Size() >= 0 {
			h.Set("Content-Length", strconv.FormatInt(up.Size(), 10))
		} else {
			h.Set("Transfer-Encoding", "chunked")
		}
	} else if info.Method == "POST" || info.Method == "PUT" {
		// Chromium sends an explicit zero length for bodiless uploads.
		h.Set("Content-Length", "0")
	}
	if proxyAuthorization != "" {
		h.Set("Proxy-Authorization", proxyAuthorization)
	}
	// The request's headers replace the defaults above (in place), but
	// repeated fields of the request (RequestHeaders.Add) are all sent.
	seen := make(map[string]bool, info.Headers.Len())
	for _, f := range info.Headers.Fields() {
		if key := strings.ToLower(f.Name); !seen[key] {
			seen[key] = true
			h.Set(f.Name, f.Value)
		} else {
			h.Add(f.Name, f.Value)
		}
	}
	return line, h
}

func defaultPort(scheme string) int {
	switch scheme {
	case "http", "ws":
		return 80
	case "https", "wss":
		return 443
	}
	return 0
}

func containsColon(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return true
		}
	}
	return false
}

func (t *NetworkTransaction) doSendRequest() int {
	t.next = txStateSendRequestComplete
	t.state = net.LoadStateSendingRequest
	t.response = ResponseInfo{RequestTime: time.Now(), ConnectionReused: t.stream.IsConnectionReused(), ALPN: "http/1.1"}
	t.nl.BeginEvent(netlog.EventHTTPTransactionSendRequest, nil)
	if _, ok := t.stream.(*H2Stream); ok {
		t.nl.AddEvent(netlog.EventHTTPTransactionHTTP2SendRequestHeaders, func(m netlog.CaptureMode) netlog.Params {
			return H2RequestHeadersNetLogParams(t.info, &t.headers, m)
		})
	} else {
		t.nl.AddEvent(netlog.EventHTTPTransactionSendRequestHeaders, func(m netlog.CaptureMode) netlog.Params {
			fields := t.headers.Fields()
			lines := make([]string, len(fields))
			for i, f := range fields {
				lines[i] = f.Name + ": " + ElideHeaderValueForNetLog(!m.IncludesSensitive(), f.Name, f.Value)
			}
			return netlog.Params{"line": t.requestLine, "headers": lines}
		})
	}
	if t.info.Upload != nil && !t.info.Upload.Rewind() && t.retries > 0 {
		return int(net.ErrUploadStreamRewindNotSupported)
	}
	return t.stream.SendRequest(t.info, t.requestLine, &t.headers, &t.response, t.onIOComplete)
}

func (t *NetworkTransaction) doSendRequestComplete(rv int) int {
	t.nl.EndEventWithNetErrorCode(netlog.EventHTTPTransactionSendRequest, rv)
	if rv < 0 {
		return t.handleIOError(rv)
	}
	t.next = txStateReadHeaders
	return net.OK
}

func (t *NetworkTransaction) doReadHeaders() int {
	t.next = txStateReadHeadersComplete
	t.state = net.LoadStateWaitingForResponse
	t.nl.BeginEvent(netlog.EventHTTPTransactionReadHeaders, nil)
	return t.stream.ReadResponseHeaders(t.onIOComplete)
}

func (t *NetworkTransaction) doReadHeadersComplete(rv int) int {
	if rv < 0 {
		t.nl.EndEventWithNetErrorCode(netlog.EventHTTPTransactionReadHeaders, rv)
		return t.handleIOError(rv)
	}
	t.response.ResponseTime = time.Now()
	h := t.response.Headers
	t.nl.AddEvent(netlog.EventHTTPTransactionReadResponseHeaders, func(m netlog.CaptureMode) netlog.Params {
		return h.NetLogParams(!m.IncludesSensitive())
	})
	t.nl.EndEvent(netlog.EventHTTPTransactionReadHeaders, nil)
	t.state = net.LoadStateIdle
	if h.StatusCode() == 407 {
		return t.handleProxyAuthChallenge()
	}
	if t.proxyAuth != nil {
		t.proxyAuth.accepted()
	}
	// The route worked: the proxies that failed on the way are now known
	// bad to every request.
	t.session.proxies.ReportSuccess(&t.proxyInfo)
	return net.OK
}

// handleProxyAuthChallenge answers a 407. Only an HTTP proxy spoken to
// without a tunnel may send one; it gets one resend with the Basic
// credentials of its proxy.Server (Chromium's HandleAuthChallenge, with
// no user to ask: where Chromium would prompt, net.ErrProxyAuthRequested).
func (t *NetworkTransaction) handleProxyAuthChallenge() int {
	if _, ok := t.usingHTTPProxy(); !ok {
		// An origin (perhaps behind a tunnel) posing as a proxy.
		return int(net.ErrUnexpectedProxyAuth)
	}
	// doBuildRequest made proxyAuth for this proxy.
	if rv := t.proxyAuth.handleChallenge(t.response.Headers, false); rv != net.OK {
		return rv
	}
	if t.info.Upload != nil && !t.info.Upload.Rewind() {
		return int(net.ErrUploadStreamRewindNotSupported)
	}
	return t.prepareForAuthRestart()
}

// prepareForAuthRestart resends on the same connection when the proxy
// keeps it open and the 407's end can be found, after draining its body;
// otherwise on a new stream.
func (t *NetworkTransaction) prepareForAuthRestart() int {
	if !canReuseStreamForAuth(t.stream) {
		return t.didDrainBodyForAuthRestart(false)
	}
	if !t.stream.IsResponseBodyComplete() {
		t.next = txStateDrainBodyForAuthRestart
		return net.OK
	}
	return t.didDrainBodyForAuthRestart(true)
}

func (t *NetworkTransaction) doDrainBodyForAuthRestart() int {
	t.next = txStateDrainBodyForAuthRestartComplete
	t.state = net.LoadStateReadingResponse
	t.nl.BeginEvent(netlog.EventHTTPTransactionDrainBodyForAuthRestart, nil)
	if t.drainBuf == nil {
		t.drainBuf = make([]byte, drainBodyBufferSize)
	}
	return t.stream.ReadResponseBody(t.drainBuf, t.onIOComplete)
}

func (t *NetworkTransaction) doDrainBodyForAuthRestartComplete(rv int) int {
	t.nl.EndEventWithNetErrorCode(netlog.EventHTTPTransactionDrainBodyForAuthRestart, rv)
	switch {
	case rv < 0:
		// We cannot tell whether the proxy meant to keep the connection.
		return t.didDrainBodyForAuthRestart(false)
	case t.stream.IsResponseBodyComplete():
		return t.didDrainBodyForAuthRestart(true)
	}
	t.next = txStateDrainBodyForAuthRestart
	return net.OK
}

// didDrainBodyForAuthRestart starts the request over: on a stream renewed
// on the same connection when keepAlive allows, else on a new stream.
func (t *NetworkTransaction) didDrainBodyForAuthRestart(keepAlive bool) int {
	var renewed Stream
	if keepAlive {
		renewed = renewStreamForAuth(t.stream)
	}
	if renewed != nil {
		t.next = txStateBuildRequest
	} else {
		t.stream.Close(true)
		t.next = txStateCreateStream
	}
	t.stream = renewed
	t.response = ResponseInfo{}
	t.drainBuf = nil
	return net.OK
}

// usingHTTPProxy reports whether the request goes to an HTTP(S) proxy as
// an absolute-URI request rather than through a tunnel, and which proxy:
// Chromium does that for http:// URLs through a single HTTP or HTTPS
// proxy; https://, ws:// and multi-proxy chains always tunnel.
func (t *NetworkTransaction) usingHTTPProxy() (proxy.Server, bool) {
	if t.proxyInfo.IsEmpty() || t.proxyInfo.IsDirect() {
		return proxy.Server{}, false
	}
	chain := t.proxyInfo.Chain()
	if len(chain) != 1 || !chain.Last().Scheme.IsHTTPLike() || !strings.EqualFold(t.info.URL.Scheme, "http") {
		return proxy.Server{}, false
	}
	return chain.Last(), true
}

// handleIOError resends the request on a fresh connection when a reused
// keep-alive connection died before any response byte (the server closed
// it while we were picking it), as Chromium does; otherwise it returns rv.
func (t *NetworkTransaction) handleIOError(rv int) int {
	if t.shouldResend(rv) {
		t.retries++
		t.nl.AddEventWithNetErrorCode(netlog.EventHTTPTransactionRestartAfterError, rv)
		t.stream.Close(true)
		t.stream = nil
		if t.info.Upload != nil && !t.info.Upload.Rewind() {
			return rv
		}
		t.next = txStateCreateStream
		return net.OK
	}
	return rv
}

func (t *NetworkTransaction) shouldResend(rv int) bool {
	if t.stream == nil || t.stream.ReceivedBytes() > 0 || t.retries >= maxRetryAttempts {
		return false
	}
	// A server refusing an HTTP/2 stream processed nothing of it: Chromium
	// resends it, on a fresh connection too.
	if net.Error(rv) == net.ErrHTTP2ServerRefusedStream {
		return true
	}
	if !t.stream.IsConnectionReused() || !t.resendable() {
		return false
	}
	switch net.Error(rv) {
	case net.ErrConnectionReset, net.ErrConnectionClosed, net.ErrConnectionAborted,
		net.ErrSocketNotConnected, net.ErrEmptyResponse:
		return true
	}
	return false
}

// resendable reports whether the request may go out twice: idempotent
// methods, and requests without a body, since a server may have acted on a
// POST whose connection died before the answer.
func (t *NetworkTransaction) resendable() bool {
	switch t.info.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return t.info.Upload == nil || t.info.Upload.Size() == 0
}

func (t *NetworkTransaction) doReadBody() int {
	t.next = txStateReadBodyComplete
	t.state = net.LoadStateReadingResponse
	t.nl.BeginEvent(netlog.EventHTTPTransactionReadBody, nil)
	return t.stream.ReadResponseBody(t.readBuf, t.onIOComplete)
}

func (t *NetworkTransaction) doReadBodyComplete(rv int) int {
	t.nl.EndEventWithNetErrorCode(netlog.EventHTTPTransactionReadBody, rv)
	t.state = net.LoadStateIdle
	t.readBuf = nil
	if rv <= 0 {
		// The body ended (or failed): give the connection back now, so the
		// next request can reuse it.
		t.stream.Close(rv < 0)
		t.stream = nil
	}
	return rv
}
