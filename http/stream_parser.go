package http

import (
	"strconv"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/socket"
)

// Limits of the HTTP/1.1 parser, Chromium's.
const (
	// maxHeaderBufSize caps the response head: 256 KiB.
	maxHeaderBufSize = 256 << 10
	// initialHeaderBufSize is the first read buffer for the head.
	initialHeaderBufSize = 4 << 10
	// uploadBufSize is how much of a request body is read and written at a
	// time.
	uploadBufSize = 64 << 10
	// mergeBodyLimit: bodies this small go out in the same write as the
	// headers, as Chromium does, to save a round trip of packets.
	mergeBodyLimit = 1400
)

type parserState int

const (
	stateNone parserState = iota
	stateSendHeaders
	stateSendHeadersComplete
	stateSendBody
	stateSendBodyComplete
	stateReadUpload
	stateReadUploadComplete
	stateReadHeaders
	stateReadHeadersComplete
	stateReadBody
	stateReadBodyComplete
)

// BasicStream is an HTTP/1.1 exchange on a pooled socket: Chromium's
// HttpBasicStream with its HttpStreamParser, as one DoLoop state machine.
type BasicStream struct {
	handle *socket.ClientSocketHandle
	sock   socket.StreamSocket
	nl     netlog.WithSource

	next parserState
	cb   net.CompletionCallback

	// Sending.
	sendBuf    []byte
	sendOff    int
	upload     UploadDataStream
	chunkedUp  bool
	uploadBuf  []byte
	uploadDone bool

	// Receiving. readBuf holds the head and, after it, body bytes that
	// arrived with it (readBuf[readOff:]).
	readBuf       []byte
	readOff       int
	response      *ResponseInfo
	isHead        bool
	headersDone   bool
	receivedBytes int64

	// Body framing.
	bodyLength   int64 // -1: delimited by close
	bodyRead     int64
	chunked      *ChunkedDecoder
	bodyComplete bool
	extraData    bool // bytes beyond the body: the connection is unusable
	userBuf      []byte
	fromBuffer   bool // the last body bytes came from readBuf, not the socket
	closed       bool
}

// NewBasicStream makes a stream on the socket held by handle; nl is the
// request's NetLog.
func NewBasicStream(handle *socket.ClientSocketHandle, nl netlog.WithSource) *BasicStream {
	return &BasicStream{handle: handle, sock: handle.Socket(), nl: nl, bodyLength: -1}
}

// IsConnectionReused implements Stream.
func (s *BasicStream) IsConnectionReused() bool { return s.handle.IsReused() }

// ReceivedBytes implements Stream.
func (s *BasicStream) ReceivedBytes() int64 { return s.receivedBytes }

// SocketSource implements Stream.
func (s *BasicStream) SocketSource() netlog.Source { return s.sock.NetLog().Source() }

// SendRequest implements Stream.
func (s *BasicStream) SendRequest(info *RequestInfo, requestLine string, headers *RequestHeaders, response *ResponseInfo, cb net.CompletionCallback) int {
	s.response = response
	s.isHead = info.Method == "HEAD"
	s.upload = info.Upload
	var b []byte
	b = append(b, requestLine...)
	for _, f := range headers.Fields() {
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	if s.upload != nil {
		s.chunkedUp = s.upload.Size() < 0
		// A small in-memory body rides along with the headers.
		if bu, ok := s.upload.(*BytesUpload); ok && bu.Size() <= mergeBodyLimit {
			bu.Rewind()
			b = append(b, bu.data...)
			s.upload = nil
		}
	}
	s.sendBuf, s.sendOff = b, 0
	s.response.RemoteEndpoint = s.sock.PeerAddress()
	s.next = stateSendHeaders
	rv := s.doLoop(net.OK)
	if rv == net.IOPending {
		s.cb = cb
	}
	return rv
}

// ReadResponseHeaders implements Stream.
func (s *BasicStream) ReadResponseHeaders(cb net.CompletionCallback) int {
	s.nl.BeginEvent(netlog.EventHTTPStreamParserReadHeaders, nil)
	if s.readBuf == nil {
		s.readBuf = make([]byte, 0, initialHeaderBufSize)
	}
	s.next = stateReadHeaders
	rv := net.OK
	// Bytes already buffered may hold a complete head.
	if len(s.readBuf) > 0 {
		rv = s.parseHeaders(false)
	}
	if s.next != stateNone {
		rv = s.doLoop(rv)
	}
	if rv == net.IOPending {
		s.cb = cb
	} else {
		s.nl.EndEventWithNetErrorCode(netlog.EventHTTPStreamParserReadHeaders, rv)
	}
	return rv
}

// ReadResponseBody implements Stream.
func (s *BasicStream) ReadResponseBody(buf []byte, cb net.CompletionCallback) int {
	if s.bodyComplete || len(buf) == 0 {
		return 0
	}
	s.userBuf = buf
	s.next = stateReadBody
	rv := s.doLoop(net.OK)
	if rv == net.IOPending {
		s.cb = cb
	}
	return rv
}

// IsResponseBodyComplete implements Stream.
func (s *BasicStream) IsResponseBodyComplete() bool { return s.bodyComplete }

// canReuseConnection says whether another request may use the socket.
func (s *BasicStream) canReuseConnection() bool {
	if !s.headersDone || !s.bodyComplete || s.extraData || s.bodyLength < 0 && s.chunked == nil {
		return false
	}
	if s.response == nil || s.response.Headers == nil || !s.response.Headers.IsKeepAlive() {
		return false
	}
	return s.readOff == len(s.readBuf) && s.sock.IsConnected()
}

// Close implements Stream.
func (s *BasicStream) Close(notReusable bool) {
	if s.closed {
		return
	}
	s.closed = true
	s.cb = nil
	if notReusable || !s.canReuseConnection() {
		s.sock.Disconnect()
	}
	s.handle.Reset()
}

func (s *BasicStream) onIOComplete(rv int) {
	rv = s.doLoop(rv)
	if rv != net.IOPending && s.cb != nil {
		cb := s.cb
		s.cb = nil
		cb(rv)
	}
}

func (s *BasicStream) doLoop(rv int) int {
	for {
		state := s.next
		s.next = stateNone
		switch state {
		case stateSendHeaders:
			rv = s.doSendHeaders()
		case stateSendHeadersComplete:
			rv = s.doSendHeadersComplete(rv)
		case stateReadUpload:
			rv = s.doReadUpload()
		case stateReadUploadComplete:
			rv = s.doReadUploadComplete(rv)
		case stateSendBody:
			rv = s.doSendBody()
		case stateSendBodyComplete:
			rv = s.doSendBodyComplete(rv)
		case stateReadHeaders:
			rv = s.doReadHeaders()
		case stateReadHeadersComplete:
			rv = s.doReadHeadersComplete(rv)
		case stateReadBody:
			rv = s.doReadBody()
		case stateReadBodyComplete:
			rv = s.doReadBodyComplete(rv)
		default:
			panic("http: bad BasicStream state")
		}
		if rv == net.IOPending || s.next == stateNone {
			if s.cb != nil && rv != net.IOPending && (state == stateReadHeaders || state == stateReadHeadersComplete) {
				s.nl.EndEventWithNetErrorCode(netlog.EventHTTPStreamParserReadHeaders, rv)
			}
			return rv
		}
	}
}

func (s *BasicStream) doSendHeaders() int {
	s.next = stateSendHeadersComplete
	return s.sock.Write(s.sendBuf[s.sendOff:], s.onIOComplete)
}

func (s *BasicStream) doSendHeadersComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	s.sendOff += rv
	if s.sendOff < len(s.sendBuf) {
		s.next = stateSendHeaders
		return net.OK
	}
	if s.upload != nil && !s.uploadDone {
		s.next = stateReadUpload
	}
	return net.OK
}

func (s *BasicStream) doReadUpload() int {
	s.next = stateReadUploadComplete
	if s.uploadBuf == nil {
		s.uploadBuf = make([]byte, uploadBufSize)
	}
	return s.upload.Read(s.uploadBuf, s.onIOComplete)
}

func (s *BasicStream) doReadUploadComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	data := s.uploadBuf[:rv]
	if rv == 0 {
		s.uploadDone = true
	}
	if s.chunkedUp {
		var b []byte
		if rv > 0 {
			b = strconv.AppendInt(b, int64(rv), 16)
			b = append(b, "\r\n"...)
			b = append(b, data...)
			b = append(b, "\r\n"...)
		} else {
			b = append(b, "0\r\n\r\n"...)
		}
		data = b
	}
	if len(data) == 0 {
		return net.OK
	}
	s.sendBuf, s.sendOff = data, 0
	s.nl.AddEvent(netlog.EventHTTPTransactionSendRequestBody, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"length": len(data), "is_chunked": s.chunkedUp, "did_merge": false}
	})
	s.next = stateSendBody
	return net.OK
}

func (s *BasicStream) doSendBody() int {
	s.next = stateSendBodyComplete
	return s.sock.Write(s.sendBuf[s.sendOff:], s.onIOComplete)
}

func (s *BasicStream) doSendBodyComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	s.sendOff += rv
	if s.sendOff < len(s.sendBuf) {
		s.next = stateSendBody
		return net.OK
	}
	if !s.uploadDone {
		s.next = stateReadUpload
	}
	return net.OK
}

func (s *BasicStream) doReadHeaders() int {
	s.next = stateReadHeadersComplete
	if len(s.readBuf) == cap(s.readBuf) {
		size := 2 * cap(s.readBuf)
		if size > maxHeaderBufSize {
			size = maxHeaderBufSize
		}
		grown := make([]byte, len(s.readBuf), size)
		copy(grown, s.readBuf)
		s.readBuf = grown
	}
	return s.sock.Read(s.readBuf[len(s.readBuf):cap(s.readBuf)], s.onIOComplete)
}

func (s *BasicStream) doReadHeadersComplete(rv int) int {
	if rv < 0 {
		return rv
	}
	s.readBuf = s.readBuf[:len(s.readBuf)+rv]
	s.receivedBytes += int64(rv)
	return s.parseHeaders(rv == 0)
}

// parseHeaders looks for a complete head in readBuf, skipping interim 1xx
// heads. It sets next to stateReadHeaders when more bytes are needed.
func (s *BasicStream) parseHeaders(eof bool) int {
	for {
		end := rhLocateEndOfHeaders(s.readBuf)
		if end < 0 {
			break
		}
		h, err := ParseResponseHeaders(s.readBuf[:end])
		if err != nil {
			return net.ResultFromError(err)
		}
		code := h.StatusCode()
		// 1xx heads are interim; 101 (Upgrade) is not expected here.
		if code >= 100 && code < 200 && code != 101 {
			s.readBuf = append(s.readBuf[:0], s.readBuf[end:]...)
			continue
		}
		return s.headersReceived(h, end)
	}
	// 256 KiB buffered without the end of the head: a head of 256 KiB
	// fits exactly, one byte more does not.
	if len(s.readBuf) >= maxHeaderBufSize {
		return int(net.ErrResponseHeadersTooBig)
	}
	if eof {
		if len(s.readBuf) == 0 {
			return int(net.ErrEmptyResponse)
		}
		// The connection closed inside the head: take what came, as
		// Chromium does for http://, if it is a valid head at all.
		h, err := ParseResponseHeaders(s.readBuf)
		if err != nil {
			return net.ResultFromError(err)
		}
		return s.headersReceived(h, len(s.readBuf))
	}
	s.next = stateReadHeaders
	return net.OK
}

func (s *BasicStream) headersReceived(h *ResponseHeaders, end int) int {
	if err := h.Validate(); err != nil {
		return net.ResultFromError(err)
	}
	s.response.Headers = h
	s.headersDone = true
	s.readOff = end
	code := h.StatusCode()
	switch {
	case s.isHead || code == 204 || code == 205 || code == 304 || code == 101:
		s.bodyLength = 0
	case h.IsChunkedEncoding():
		s.chunked = &ChunkedDecoder{}
	default:
		s.bodyLength = h.ContentLength()
	}
	if s.bodyLength == 0 {
		s.bodyComplete = true
		if s.readOff < len(s.readBuf) {
			s.extraData = true
		}
	}
	return net.OK
}

func (s *BasicStream) doReadBody() int {
	s.next = stateReadBodyComplete
	s.fromBuffer = s.readOff < len(s.readBuf)
	// Serve body bytes that arrived with the head first.
	if s.fromBuffer {
		n := copy(s.userBuf, s.readBuf[s.readOff:])
		s.readOff += n
		if s.readOff == len(s.readBuf) {
			s.readBuf = s.readBuf[:0]
			s.readOff = 0
		}
		return n
	}
	buf := s.userBuf
	if s.bodyLength > 0 && int64(len(buf)) > s.bodyLength-s.bodyRead {
		// Never read past the body: the rest belongs to the next response.
		buf = buf[:s.bodyLength-s.bodyRead]
	}
	return s.sock.Read(buf, s.onIOComplete)
}

func (s *BasicStream) doReadBodyComplete(rv int) int {
	if rv > 0 && !s.fromBuffer {
		s.receivedBytes += int64(rv)
	}
	if rv < 0 {
		if s.chunked == nil && s.bodyLength < 0 && rv == int(net.ErrConnectionClosed) {
			rv = 0 // a close-delimited body ends with the connection
		} else {
			return rv
		}
	}
	if rv == 0 {
		switch {
		case s.chunked != nil:
			return int(net.ErrIncompleteChunkedEncoding)
		case s.bodyLength >= 0 && s.bodyRead < s.bodyLength:
			return int(net.ErrContentLengthMismatch)
		}
		s.bodyComplete = true
		return 0
	}
	if s.chunked != nil {
		n, err := s.chunked.FilterBuf(s.userBuf[:rv])
		if err != nil {
			return net.ResultFromError(err)
		}
		if s.chunked.ReachedEOF() {
			s.bodyComplete = true
			if s.chunked.BytesAfterEOF() > 0 || s.readOff < len(s.readBuf) {
				s.extraData = true
			}
		} else if n == 0 {
			// Only framing arrived; read again.
			s.next = stateReadBody
			return net.OK
		}
		s.bodyRead += int64(n)
		return n
	}
	if s.bodyLength >= 0 {
		if s.bodyRead+int64(rv) > s.bodyLength {
			s.extraData = true
			rv = int(s.bodyLength - s.bodyRead)
		}
		s.bodyRead += int64(rv)
		if s.bodyRead == s.bodyLength {
			s.bodyComplete = true
			if s.readOff < len(s.readBuf) {
				s.extraData = true
			}
		}
		return rv
	}
	s.bodyRead += int64(rv)
	return rv
}
