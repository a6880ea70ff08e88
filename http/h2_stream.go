//lint:file-ignore SA1019 x/net/http2's ClientConn is the HTTP/2 engine the design chose; net/http's replacement would bring its own dialing and pooling, a second HTTP stack.

package http

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// h2BodyBufSize is the private buffer a stream reads its response body
// into, off the loop.
const h2BodyBufSize = 64 << 10

type h2StreamOp int

const (
	h2OpNone h2StreamOp = iota
	h2OpSend
	h2OpHeaders
	h2OpBody
)

// H2Stream is one request on an H2Session (Chromium's SpdyHttpStream). It
// implements Stream: the request goes to ClientConn.RoundTrip in a
// goroutine, the response body is read by one goroutine at a time into a
// private buffer, and everything the transaction sees happens on the loop.
type H2Stream struct {
	session *H2Session
	nl      netlog.WithSource
	// reused: the session carried a stream before this one, so a failure
	// before any response byte may be the connection dying under us,
	// worth a retry on a new one.
	reused bool

	response *ResponseInfo
	req      *http.Request
	cancel   context.CancelFunc
	upload   *h2UploadBody

	// The operation in flight and its callback; one at a time.
	op      h2StreamOp
	cb      net.CompletionCallback
	userBuf []byte

	started  bool
	streamID uint32
	// rtDone: RoundTrip returned, with resp and headers, or rtResult < 0.
	rtDone   bool
	rtResult int
	resp     *http.Response
	headers  *ResponseHeaders

	// Body: buf[bufOff:bufEnd] is read and not yet handed over. While a
	// reader goroutine runs (reading), buf is its and holds nothing.
	buf           []byte
	bufOff        int
	bufEnd        int
	reading       bool
	eof           bool
	bodyErr       int
	receivedBytes int64

	closed bool
}

var _ Stream = (*H2Stream)(nil)

// IsConnectionReused implements Stream: true when the session carried an
// earlier stream.
func (st *H2Stream) IsConnectionReused() bool { return st.reused }

// ReceivedBytes implements Stream: the response body bytes read so far.
func (st *H2Stream) ReceivedBytes() int64 { return st.receivedBytes }

// SocketSource implements Stream: the session's socket.
func (st *H2Stream) SocketSource() netlog.Source { return st.session.sockSource }

// Session returns the session the stream runs on.
func (st *H2Stream) Session() *H2Session { return st.session }

// StreamID is the HTTP/2 stream id once the request's HEADERS were
// written. It is known only while a NetLog captures (0 otherwise): the
// ClientConn does not tell, the frame observer does.
func (st *H2Stream) StreamID() uint32 { return st.streamID }

// SendRequest implements Stream. requestLine is unused: HTTP/2 carries the
// method and path as pseudo-headers built from info. Hop-by-hop headers are
// dropped and Host becomes :authority. It completes when the request
// (headers and body) was written, or earlier if the response came first.
func (st *H2Stream) SendRequest(info *RequestInfo, requestLine string, headers *RequestHeaders, response *ResponseInfo, cb net.CompletionCallback) int {
	if st.closed || st.started {
		return int(net.ErrUnexpected)
	}
	st.response = response
	response.ALPN = "h2"
	response.RemoteEndpoint = st.session.peer
	req, rv := buildH2Request(info, headers)
	if rv != net.OK {
		return rv
	}
	if up := info.Upload; up != nil && up.Size() != 0 {
		st.upload = newH2UploadBody(st, up)
		req.Body = st.upload
		req.ContentLength = up.Size() // -1: unknown, sent without a length
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	trace := &httptrace.ClientTrace{WroteRequest: st.traceWroteRequest}
	if st.session.nl.IsCapturing() {
		// The fields as the ClientConn encodes them, for
		// HTTP2_SESSION_SEND_HEADERS; see h2FrameObserver.expect.
		sent := &h2SentHeaders{stream: st}
		obs := st.session.conn.sent
		trace.WroteHeaderField = func(name string, values []string) {
			if !sent.registered {
				sent.registered = true
				obs.expectHeaders(sent)
			}
			for _, v := range values {
				sent.fields = append(sent.fields, HeaderField{name, v})
			}
		}
	}
	st.req = req.WithContext(httptrace.WithClientTrace(ctx, trace))
	st.started = true
	rv = st.session.startStream(st)
	if rv != net.IOPending {
		cancel()
		return rv
	}
	st.op, st.cb = h2OpSend, cb
	return net.IOPending
}

// startRoundTrip hands the request to the ClientConn, in a goroutine since
// RoundTrip blocks until the response headers arrive.
func (st *H2Stream) startRoundTrip() {
	s := st.session
	cc, req, loop := s.cc, st.req, s.loop
	go func() {
		resp, err := cc.RoundTrip(req)
		if !loop.Post(func() { st.onRoundTrip(resp, err) }) && resp != nil {
			resp.Body.Close()
		}
	}()
}

// traceWroteRequest runs on a ClientConn goroutine when the request body
// is written. Errors are left to RoundTrip, which returns them too (the
// ClientConn also reports here, as an error, a body cut short because the
// response came first).
func (st *H2Stream) traceWroteRequest(info httptrace.WroteRequestInfo) {
	if info.Err != nil {
		return
	}
	st.session.loop.Post(st.onWroteRequest)
}

// onHeadersSent runs on the loop for the HEADERS frame that opened the
// stream (only while a NetLog captures): it learns the stream id and logs
// HTTP2_SESSION_SEND_HEADERS on the session, pointing at the request. The
// frame is observed before it is written, so this precedes any response.
func (st *H2Stream) onHeadersSent(f *h2Frame) {
	st.streamID = f.StreamID
	fields := f.Sent.fields
	src := st.nl.Source()
	id, fin, prio := f.StreamID, f.endStream(), f.Flags&http2.FlagHeadersPriority != 0
	st.session.nl.AddEvent(netlog.EventHTTP2SessionSendHeaders, func(m netlog.CaptureMode) netlog.Params {
		strip := !m.IncludesSensitive()
		lines := make([]string, len(fields))
		for i, h := range fields {
			lines[i] = h.Name + ": " + ElideHeaderValueForNetLog(strip, h.Name, h.Value)
		}
		p := netlog.Params{"fin": fin, "stream_id": id, "has_priority": prio, "headers": lines}
		if src.IsValid() {
			p["source_dependency"] = src.DependencyParams()["source_dependency"]
		}
		return p
	})
}

func (st *H2Stream) onWroteRequest() {
	if st.closed || st.op != h2OpSend {
		return
	}
	st.complete(net.OK)
}

func (st *H2Stream) onRoundTrip(resp *http.Response, err error) {
	if st.closed {
		if resp != nil {
			go resp.Body.Close()
		}
		return
	}
	st.rtDone = true
	if err != nil {
		st.rtResult = st.resultFromError(err)
	} else if h, herr := h2ResponseHeaders(resp); herr != nil {
		st.rtResult = net.ResultFromError(herr)
		go resp.Body.Close()
	} else {
		st.resp, st.headers, st.rtResult = resp, h, net.OK
	}
	switch st.op {
	case h2OpSend:
		// The response (or the failure) came before the request was
		// written to the end; the exchange is over as far as sending goes.
		st.complete(st.rtResult)
	case h2OpHeaders:
		st.complete(st.deliverHeaders())
	}
}

// onSessionFailed fails a stream that waited for its session's set-up.
func (st *H2Stream) onSessionFailed(rv int) {
	if st.closed || st.rtDone {
		return
	}
	st.rtDone, st.rtResult = true, rv
	if st.op == h2OpSend || st.op == h2OpHeaders {
		st.complete(rv)
	}
}

// complete ends the operation in flight with rv.
func (st *H2Stream) complete(rv int) {
	cb := st.cb
	st.op, st.cb, st.userBuf = h2OpNone, nil, nil
	if cb != nil {
		cb(rv)
	}
}

// ReadResponseHeaders implements Stream. Interim (1xx) responses are
// consumed by the ClientConn.
func (st *H2Stream) ReadResponseHeaders(cb net.CompletionCallback) int {
	if st.closed || !st.started {
		return int(net.ErrUnexpected)
	}
	if !st.rtDone {
		st.op, st.cb = h2OpHeaders, cb
		return net.IOPending
	}
	return st.deliverHeaders()
}

func (st *H2Stream) deliverHeaders() int {
	if st.rtResult != net.OK {
		return st.rtResult
	}
	st.response.Headers = st.headers
	return net.OK
}

// ReadResponseBody implements Stream. Bytes already read off the loop are
// returned at once; otherwise a goroutine reads the body and the bytes are
// copied into buf on the loop. After a read that emptied the private
// buffer, the next read starts at once, so that the following call usually
// finds bytes waiting.
func (st *H2Stream) ReadResponseBody(buf []byte, cb net.CompletionCallback) int {
	if st.closed || st.resp == nil {
		return int(net.ErrUnexpected)
	}
	if len(buf) == 0 {
		return 0
	}
	if rv, done := st.takeBuffered(buf); done {
		return rv
	}
	st.op, st.cb, st.userBuf = h2OpBody, cb, buf
	if !st.reading {
		st.startBodyRead()
	}
	return net.IOPending
}

// takeBuffered serves buf from what was read, or reports the end or the
// error; done is false when a read must wait.
func (st *H2Stream) takeBuffered(buf []byte) (rv int, done bool) {
	if st.bufOff < st.bufEnd {
		n := copy(buf, st.buf[st.bufOff:st.bufEnd])
		st.bufOff += n
		if st.bufOff == st.bufEnd {
			st.readAhead()
		}
		return n, true
	}
	if st.reading {
		return 0, false
	}
	if st.bodyErr != 0 {
		return st.bodyErr, true
	}
	if st.eof {
		return 0, true
	}
	return 0, false
}

// readAhead starts the next body read when the private buffer is empty and
// more may come.
func (st *H2Stream) readAhead() {
	if !st.reading && !st.eof && st.bodyErr == 0 && st.bufOff == st.bufEnd {
		st.startBodyRead()
	}
}

// startBodyRead reads the body in a goroutine into the private buffer,
// which belongs to that goroutine until its result is posted back.
func (st *H2Stream) startBodyRead() {
	if st.buf == nil {
		size := h2BodyBufSize
		if cl := st.resp.ContentLength; cl >= 0 && cl < int64(size) {
			// A small body needs no 64 KiB (+1: room to see the end).
			size = int(cl) + 1
		}
		st.buf = make([]byte, size)
	}
	st.reading = true
	st.bufOff, st.bufEnd = 0, 0
	body, buf, loop := st.resp.Body, st.buf, st.session.loop
	go func() {
		var n int
		var err error
		for n == 0 && err == nil {
			n, err = body.Read(buf)
		}
		loop.Post(func() { st.onBodyRead(n, err) })
	}()
}

func (st *H2Stream) onBodyRead(n int, err error) {
	st.reading = false
	if st.closed {
		return
	}
	st.bufOff, st.bufEnd = 0, n
	st.receivedBytes += int64(n)
	switch {
	case err == io.EOF:
		st.eof = true
	case err != nil:
		st.bodyErr = st.resultFromError(err)
	}
	if st.op != h2OpBody {
		return
	}
	rv, done := st.takeBuffered(st.userBuf)
	if done {
		st.complete(rv)
	}
}

// IsResponseBodyComplete implements Stream.
func (st *H2Stream) IsResponseBodyComplete() bool {
	return st.eof && st.bufOff == st.bufEnd
}

// Close implements Stream. It cancels the HTTP/2 stream if it is still
// open (the ClientConn sends RST_STREAM CANCEL); the session stays, so
// notReusable does not matter, as in Chromium's SpdyHttpStream. Results of
// goroutines still running are dropped when they arrive.
func (st *H2Stream) Close(notReusable bool) {
	if st.closed {
		return
	}
	st.closed = true
	st.op, st.cb, st.userBuf = h2OpNone, nil, nil
	finished := st.IsResponseBodyComplete()
	if st.cancel != nil {
		st.cancel()
	}
	if st.upload != nil {
		st.upload.stop()
	}
	if st.resp != nil && !st.eof {
		// Closing the body may write (a WINDOW_UPDATE for unread bytes).
		go st.resp.Body.Close()
	}
	if st.started {
		st.session.streamClosed(st, !finished)
	}
}

// resultFromError maps a RoundTrip or body error to a net error. A stream
// of a session that closed fails with the session's error, whatever form
// the ClientConn's abort took.
func (st *H2Stream) resultFromError(err error) int {
	s := st.session
	var se http2.StreamError
	if s.state == h2Closed && s.closeErr < 0 && !errors.As(err, &se) {
		return s.closeErr
	}
	return h2ErrorResult(err)
}

// h2ErrorResult maps an error of golang.org/x/net/http2's client to the
// net error Chromium's SpdySession and SpdyStream would report.
func h2ErrorResult(err error) int {
	var ne net.Error
	if errors.As(err, &ne) {
		return int(ne)
	}
	var se http2.StreamError
	if errors.As(err, &se) {
		return int(h2StreamResetError(se.Code))
	}
	var ce http2.ConnectionError
	if errors.As(err, &ce) {
		return int(h2ConnectionErrorCode(http2.ErrCode(ce)))
	}
	var ge http2.GoAwayError
	if errors.As(err, &ge) {
		if ge.ErrCode == http2.ErrCodeNo {
			return int(net.ErrConnectionClosed)
		}
		return int(h2ConnectionErrorCode(ge.ErrCode))
	}
	if errors.Is(err, context.Canceled) {
		return int(net.ErrAborted)
	}
	// The ClientConn's own conditions are unexported error values; their
	// texts are stable.
	msg := err.Error()
	switch {
	case strings.Contains(msg, "graceful shutdown GOAWAY"):
		// The server will not process the stream (its id is above the
		// GOAWAY's last stream id): safe to retry elsewhere, as Chromium
		// reports ERR_HTTP2_SERVER_REFUSED_STREAM.
		return int(net.ErrHTTP2ServerRefusedStream)
	case strings.Contains(msg, "client conn is closed"),
		strings.Contains(msg, "client conn not usable"),
		strings.Contains(msg, "client connection force closed"),
		strings.Contains(msg, "client conn could not be established"),
		strings.Contains(msg, "connection lost"):
		return int(net.ErrConnectionClosed)
	case strings.Contains(msg, "request canceled"), strings.Contains(msg, "response body closed"):
		return int(net.ErrAborted)
	}
	if rv := net.MapSystemError(err); rv != net.ErrFailed {
		return int(rv)
	}
	if strings.HasPrefix(msg, "http2:") {
		return int(net.ErrHTTP2ProtocolError)
	}
	return int(net.ErrFailed)
}

// h2StreamResetError is Chromium's error for a stream reset with code
// (SpdyStream::OnReset).
func h2StreamResetError(code http2.ErrCode) net.Error {
	switch code {
	case http2.ErrCodeNo:
		return net.ErrHTTP2RstStreamNoErrorReceived
	case http2.ErrCodeRefusedStream:
		return net.ErrHTTP2ServerRefusedStream
	case http2.ErrCodeHTTP11Required:
		return net.ErrHTTP11Required
	case http2.ErrCodeStreamClosed:
		return net.ErrHTTP2StreamClosed
	case http2.ErrCodeFlowControl:
		return net.ErrHTTP2FlowControlError
	case http2.ErrCodeFrameSize:
		return net.ErrHTTP2FrameSizeError
	}
	return net.ErrHTTP2ProtocolError
}

// h2ConnectionErrorCode maps a connection error code (GOAWAY, or one the
// client detected).
func h2ConnectionErrorCode(code http2.ErrCode) net.Error {
	switch code {
	case http2.ErrCodeNo:
		return net.ErrConnectionClosed
	case http2.ErrCodeFlowControl:
		return net.ErrHTTP2FlowControlError
	case http2.ErrCodeFrameSize:
		return net.ErrHTTP2FrameSizeError
	case http2.ErrCodeCompression:
		return net.ErrHTTP2CompressionError
	case http2.ErrCodeInadequateSecurity:
		return net.ErrHTTP2InadequateTransportSecurity
	case http2.ErrCodeHTTP11Required:
		return net.ErrHTTP11Required
	}
	return net.ErrHTTP2ProtocolError
}

// h2HopByHop are the connection-specific fields HTTP/2 forbids (RFC 9113
// §8.2.2). TE would be allowed as "trailers"; Chromium never sends it.
func h2HopByHop(name string) bool {
	for _, h := range [...]string{"connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade", "te"} {
		if rhEqualFold(name, h) {
			return true
		}
	}
	return false
}

// h2RequestFields returns the :authority and the regular fields of the
// request as HTTP/2 carries them: hop-by-hop fields dropped, Host turned
// into the authority, Content-Length left to the body's size.
func h2RequestFields(info *RequestInfo, headers *RequestHeaders) (authority string, fields []HeaderField) {
	authority = info.URL.Host
	for _, f := range headers.Fields() {
		switch {
		case h2HopByHop(f.Name), rhEqualFold(f.Name, "content-length"):
		case rhEqualFold(f.Name, "host"):
			authority = f.Value
		default:
			fields = append(fields, f)
		}
	}
	return authority, fields
}

// h2ContentLength is the content-length the ClientConn sends for info, or
// -1 when it sends none (golang.org/x/net/http2's rule: a known non-zero
// length always; zero only for POST, PUT and PATCH).
func h2ContentLength(info *RequestInfo) int64 {
	var n int64
	if info.Upload != nil {
		n = info.Upload.Size()
	}
	switch {
	case n > 0:
		return n
	case n < 0:
		return -1
	}
	switch info.Method {
	case "POST", "PUT", "PATCH":
		return 0
	}
	return -1
}

// buildH2Request turns the transaction's request into an *http.Request for
// the ClientConn (without body and context).
func buildH2Request(info *RequestInfo, headers *RequestHeaders) (*http.Request, int) {
	if info.URL == nil || info.URL.Host == "" {
		return nil, int(net.ErrInvalidURL)
	}
	u := *info.URL
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	authority, fields := h2RequestFields(info, headers)
	if !httpguts.ValidHostHeader(authority) || !httpguts.ValidHeaderFieldName(info.Method) {
		return nil, int(net.ErrInvalidArgument)
	}
	req := &http.Request{
		Method:     info.Method,
		URL:        &u,
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     make(http.Header, len(fields)+1),
		Host:       authority,
	}
	hasUA := false
	for _, f := range fields {
		// Checked here so that a bad field fails the request at once
		// with a clear error instead of an "http2:" string from the
		// ClientConn.
		if !httpguts.ValidHeaderFieldName(f.Name) || !httpguts.ValidHeaderFieldValue(f.Value) {
			return nil, int(net.ErrInvalidArgument)
		}
		if rhEqualFold(f.Name, "user-agent") {
			hasUA = true
		}
		req.Header[f.Name] = append(req.Header[f.Name], f.Value)
	}
	if !hasUA {
		// Present but empty: the ClientConn then sends no User-Agent
		// rather than its own "Go-http-client/2.0".
		req.Header["User-Agent"] = nil
	}
	return req, net.OK
}

// H2RequestHeadersNetLogParams are the parameters of the request's
// HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS event, in Chromium's shape:
// {"headers": [":method: GET", ":authority: example.com", ":scheme:
// https", ":path: /", "name: value", ...]}, the names lower-cased as they go
// on the wire and sensitive values elided below IncludeSensitive. info and
// headers are what the transaction passes to SendRequest.
func H2RequestHeadersNetLogParams(info *RequestInfo, headers *RequestHeaders, m netlog.CaptureMode) netlog.Params {
	authority, fields := h2RequestFields(info, headers)
	strip := !m.IncludesSensitive()
	lines := make([]string, 0, len(fields)+5)
	lines = append(lines,
		":method: "+info.Method,
		":authority: "+authority,
		":scheme: "+info.URL.Scheme,
		":path: "+info.URL.RequestURI())
	for _, f := range fields {
		name := strings.ToLower(f.Name)
		lines = append(lines, name+": "+ElideHeaderValueForNetLog(strip, name, f.Value))
	}
	if n := h2ContentLength(info); n >= 0 {
		lines = append(lines, "content-length: "+strconv.FormatInt(n, 10))
	}
	return netlog.Params{"headers": lines}
}

// h2ResponseHeaders turns the ClientConn's response into ResponseHeaders
// through the same parser as HTTP/1: "HTTP/2.0 <code> <text>" and the
// fields, lower-case as received, sorted by name (the ClientConn keeps them
// in a map, so the wire order is lost; values of one name keep their
// order).
func h2ResponseHeaders(resp *http.Response) (*ResponseHeaders, error) {
	var b strings.Builder
	b.WriteString("HTTP/2.0 ")
	b.WriteString(strconv.Itoa(resp.StatusCode))
	if text := http.StatusText(resp.StatusCode); text != "" {
		b.WriteString(" ")
		b.WriteString(text)
	}
	b.WriteString("\r\n")
	names := make([]string, 0, len(resp.Header))
	for name := range resp.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		lower := strings.ToLower(name)
		for _, v := range resp.Header[name] {
			// The ClientConn validates field values, but a CR, LF or NUL
			// here would forge header lines: refuse them.
			if strings.ContainsAny(v, "\r\n\x00") || strings.ContainsAny(lower, "\r\n\x00:") {
				return nil, net.ErrInvalidHTTPResponse
			}
			b.WriteString(lower)
			b.WriteString(": ")
			b.WriteString(v)
			b.WriteString("\r\n")
		}
	}
	b.WriteString("\r\n")
	h, err := ParseResponseHeaders([]byte(b.String()))
	if err != nil {
		return nil, err
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// h2UploadBody is the request body the ClientConn reads, in its own
// goroutine: each Read asks the loop for the next chunk of the
// UploadDataStream, which is only ever touched on the loop.
type h2UploadBody struct {
	st     *H2Stream
	upload UploadDataStream
	// buf is the loop's until a chunk of it is handed over, then the
	// reader's until it asks for the next one.
	buf    []byte
	chunks chan h2UploadChunk
	done   chan struct{}
	once   sync.Once

	// Reader side, used by one ClientConn goroutine at a time.
	rest []byte
	eof  bool
	err  error
}

type h2UploadChunk struct {
	data []byte // empty with a nil err: the end of the body
	err  error
}

// errH2UploadStopped ends a body read when the stream went away.
var errH2UploadStopped = errors.New("netfetch: HTTP/2 request body stopped")

func newH2UploadBody(st *H2Stream, up UploadDataStream) *h2UploadBody {
	return &h2UploadBody{
		st:     st,
		upload: up,
		buf:    make([]byte, uploadBufSize),
		chunks: make(chan h2UploadChunk, 1),
		done:   make(chan struct{}),
	}
}

// Read implements io.Reader for the ClientConn.
func (b *h2UploadBody) Read(p []byte) (int, error) {
	if len(b.rest) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		if b.eof {
			return 0, io.EOF
		}
		if !b.st.session.loop.Post(b.readOnLoop) {
			b.err = net.ErrAborted
			return 0, b.err
		}
		select {
		case c := <-b.chunks:
			if c.err != nil {
				b.err = c.err
				return 0, c.err
			}
			if len(c.data) == 0 {
				b.eof = true
				return 0, io.EOF
			}
			b.rest = c.data
		case <-b.done:
			b.err = errH2UploadStopped
			return 0, b.err
		}
	}
	n := copy(p, b.rest)
	b.rest = b.rest[n:]
	return n, nil
}

// Close implements io.Closer: the ClientConn is done with the body.
func (b *h2UploadBody) Close() error {
	b.stop()
	return nil
}

// stop unblocks a Read waiting for the loop.
func (b *h2UploadBody) stop() {
	b.once.Do(func() { close(b.done) })
}

// readOnLoop reads the next chunk from the UploadDataStream, on the loop.
func (b *h2UploadBody) readOnLoop() {
	if b.st.closed {
		return
	}
	rv := b.upload.Read(b.buf, b.onRead)
	if rv != net.IOPending {
		b.onRead(rv)
	}
}

func (b *h2UploadBody) onRead(rv int) {
	var c h2UploadChunk
	if rv < 0 {
		c.err = net.Error(rv)
	} else {
		c.data = b.buf[:rv]
	}
	// Never blocks: the reader asks for one chunk at a time.
	select {
	case b.chunks <- c:
	default:
	}
}
