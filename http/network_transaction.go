package http

import (
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
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
		// next_state_ != STATE_NONE.
		if t.response.Headers != nil && t.next == txStateNone {
			drainAndClose(t.session, t.stream)
		} else {
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
	if rv != net.OK {
		return rv
	}
	t.stream = req.Stream()
	t.next = txStateBuildRequest
	return net.OK
}

func (t *NetworkTransaction) doBuildRequest() int {
	t.next = txStateSendRequest
	u := t.info.URL
	target := u.RequestURI()
	t.requestLine = t.info.Method + " " + target + " HTTP/1.1\r\n"
	h := RequestHeaders{}
	host := u.Host
	if g, ok := GroupIDForURL(u, false); ok && defaultPort(g.Scheme) == int(g.Port) {
		host = u.Hostname()
		if len(host) > 0 && host[0] != '[' && containsColon(host) {
			host = "[" + host + "]"
		}
	}
	h.Set("Host", host)
	h.Set("Connection", "keep-alive")
	if up := t.info.Upload; up != nil {
		if up.Size() >= 0 {
			h.Set("Content-Length", strconv.FormatInt(up.Size(), 10))
		} else {
			h.Set("Transfer-Encoding", "chunked")
		}
	} else if t.info.Method == "POST" || t.info.Method == "PUT" {
		// Chromium sends an explicit zero length for bodiless uploads.
		h.Set("Content-Length", "0")
	}
	// The request's headers replace the defaults above (in place), but
	// repeated fields of the request (RequestHeaders.Add) are all sent.
	seen := make(map[string]bool, t.info.Headers.Len())
	for _, f := range t.info.Headers.Fields() {
		if key := strings.ToLower(f.Name); !seen[key] {
			seen[key] = true
			h.Set(f.Name, f.Value)
		} else {
			h.Add(f.Name, f.Value)
		}
	}
	t.headers = h
	return net.OK
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
	t.nl.AddEvent(netlog.EventHTTPTransactionSendRequestHeaders, func(m netlog.CaptureMode) netlog.Params {
		fields := t.headers.Fields()
		lines := make([]string, len(fields))
		for i, f := range fields {
			lines[i] = f.Name + ": " + ElideHeaderValueForNetLog(!m.IncludesSensitive(), f.Name, f.Value)
		}
		return netlog.Params{"line": t.requestLine, "headers": lines}
	})
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
	return net.OK
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
	if t.stream == nil || !t.stream.IsConnectionReused() || t.stream.ReceivedBytes() > 0 || t.retries >= maxRetryAttempts {
		return false
	}
	switch net.Error(rv) {
	case net.ErrConnectionReset, net.ErrConnectionClosed, net.ErrConnectionAborted,
		net.ErrSocketNotConnected, net.ErrEmptyResponse:
		return true
	}
	return false
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
