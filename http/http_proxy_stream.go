package http

// The HTTP/1.1 stream as a proxy auth restart needs it: Chromium's
// HttpStreamParser::CanReuseConnection and HttpBasicStream::
// RenewStreamForAuth, kept beside the proxy code that uses them.

// canReuseStreamForAuth reports whether the connection of s could carry
// the resent request once the rest of the 407 body is read: the proxy
// keeps it alive, the body's end can be found, and nothing unexpected
// arrived.
func canReuseStreamForAuth(s Stream) bool {
	bs := basicStreamOf(s)
	if bs == nil || !bs.headersDone || bs.extraData || bs.closed {
		return false
	}
	if bs.chunked == nil && bs.bodyLength < 0 {
		return false
	}
	if bs.response == nil || bs.response.Headers == nil || !bs.response.Headers.IsKeepAlive() {
		return false
	}
	return bs.sock.IsConnected()
}

// renewStreamForAuth returns a new stream on the connection of s, whose
// response was read to the end, or nil when the connection cannot carry
// another request. s gives its connection up and must not be used again.
func renewStreamForAuth(s Stream) Stream {
	bs := basicStreamOf(s)
	if bs == nil || !bs.canReuseConnection() {
		return nil
	}
	// The old stream hands its handle over instead of releasing it.
	bs.closed = true
	return authRenewedStream{NewBasicStream(bs.handle, bs.nl)}
}

func basicStreamOf(s Stream) *BasicStream {
	switch v := s.(type) {
	case *BasicStream:
		return v
	case authRenewedStream:
		return v.BasicStream
	}
	return nil
}

// authRenewedStream is a stream renewed for an auth restart. It reports
// its connection as reused, as Chromium's SetConnectionReused does, so
// that a proxy closing the connection just as we resend gets the request
// again on a new one.
type authRenewedStream struct{ *BasicStream }

// IsConnectionReused implements Stream.
func (authRenewedStream) IsConnectionReused() bool { return true }
