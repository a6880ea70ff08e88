//lint:file-ignore SA1019 x/net/http2's ClientConn is the HTTP/2 engine the design chose; net/http's replacement would bring its own dialing and pooling, a second HTTP stack.

package http

import (
	"context"
	"crypto/tls"
	"errors"
	gonet "net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/net/http2"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/socket"
)

// Chromium's HTTP/2 numbers that the session keeps.
const (
	// h2InitialMaxConcurrentStreams is assumed until the server's SETTINGS
	// say otherwise (Chromium's kInitialMaxConcurrentStreams, also
	// golang.org/x/net/http2's initial value).
	h2InitialMaxConcurrentStreams = 100
	// h2MaxHeaderListSize is the SETTINGS_MAX_HEADER_LIST_SIZE we announce:
	// the same 256 KiB bound as an HTTP/1 response head (Chromium's
	// kSpdyMaxHeaderListSize).
	h2MaxHeaderListSize = 256 << 10
)

// H2SessionKey names the HTTP/2 sessions that may carry a request: the
// destination's pool group and the proxy chain used to reach it (Chromium's
// SpdySessionKey, reduced to what netfetch distinguishes). ProxyChain is the
// chain's proxy.Info.ChainString ("[direct://]" when direct); callers must
// fill it the same way for Find and for the sessions they add.
type H2SessionKey struct {
	Group      socket.GroupID
	ProxyChain string
}

// hostPort is the key's "host:port", as Chromium's HostPortPair::ToString.
func (k H2SessionKey) hostPort() string {
	h := k.Group.Host
	if strings.IndexByte(h, ':') >= 0 {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(int(k.Group.Port))
}

// proxyString is the chain as logged: Chromium's ProxyChain::ToDebugString,
// "[direct://]" for a direct connection (also when ProxyChain is empty).
func (k H2SessionKey) proxyString() string {
	if k.ProxyChain == "" {
		return "[direct://]"
	}
	return k.ProxyChain
}

type h2SessionState int

const (
	// h2Starting: the client connection is being set up off the loop;
	// streams that want to start wait in H2Session.waiting.
	h2Starting h2SessionState = iota
	// h2Available: streams may be started.
	h2Available
	// h2GoingAway: GOAWAY received (or the connection refuses new
	// streams); streams already started finish, no new ones start, and
	// the session closes when the last one ends.
	h2GoingAway
	// h2Closed: the connection is gone and the socket handed back.
	h2Closed
)

// tlsConnSocket is implemented by a TLS socket that can lend the session the
// *tls.Conn it wraps. The HTTP/2 client then reads and writes it directly
// from its own goroutines, without a hop through the loop for every read
// and write, and closing it unblocks those goroutines at once. The socket
// must not be used otherwise while lent; the session owns it.
type tlsConnSocket interface {
	TLSConn() *tls.Conn
}

// H2Session is one HTTP/2 connection carrying any number of streams
// (Chromium's SpdySession). The framing, HPACK and flow control are
// golang.org/x/net/http2's ClientConn; the session drives it from the loop
// through goroutines, tracks its state for the pool, and logs it.
//
// Everything but the goroutines it starts is owned by the loop. No call into
// the ClientConn that may write is ever made on the loop: when the session's
// net.Conn is a socket.BlockingConn, a write waits for the loop, so such a
// call would deadlock it.
//
// The session owns the socket handle for its whole life: the socket stays
// handed out in its pool, as Chromium's SpdySession holds its socket, and is
// disconnected and released when the session closes.
type H2Session struct {
	loop *net.Loop
	key  H2SessionKey
	nl   netlog.WithSource

	handle     socket.ClientSocketHandle
	sock       socket.StreamSocket
	sockSource netlog.Source
	peer       netip.AddrPort
	// disconnect disconnects the socket, through the shim when there is
	// one, so that goroutines waiting in the BlockingConn end.
	disconnect func()

	conn *h2Conn
	cc   *http2.ClientConn // nil until set up

	pool     *H2SessionPool
	state    h2SessionState
	closeErr int // net error the session closed with

	// waiting are streams whose SendRequest came before the connection was
	// set up; active are streams started and not yet closed.
	waiting []*H2Stream
	active  map[*H2Stream]struct{}

	streamsCreated   int
	streamsInitiated int
	streamsAbandoned int
	maxConcurrent    uint32
	recvSettings     bool
	// framesReceived is counted by the reading goroutine.
	framesReceived atomic.Int64
}

// NewH2Session makes a session on the socket held by handle, which must have
// negotiated "h2". It moves the socket out of handle (leaving the caller's
// handle empty, so a later Reset of it does nothing); the session releases
// it when it closes. nl is the NetLog for the session's own source.
//
// Setting up the HTTP/2 connection writes the client preface and SETTINGS,
// so it runs off the loop; the session is usable at once all the same:
// streams started before the setup finished wait for it, and fail with
// its error if it fails. On error nothing was taken from handle.
func NewH2Session(loop *net.Loop, key H2SessionKey, handle *socket.ClientSocketHandle, nl *netlog.NetLog) (*H2Session, error) {
	if handle == nil || !handle.IsInitialized() {
		return nil, net.ErrInvalidArgument
	}
	sock := handle.Socket()
	if p := sock.NegotiatedProtocol(); p != "h2" {
		return nil, net.ErrALPNNegotiationFailed
	}
	s := &H2Session{
		loop:          loop,
		key:           key,
		sock:          sock,
		sockSource:    sock.NetLog().Source(),
		peer:          sock.PeerAddress(),
		active:        make(map[*H2Stream]struct{}),
		maxConcurrent: h2InitialMaxConcurrentStreams,
	}
	// The session takes the handle over: copying it moves the claim on the
	// pooled socket (the pool keeps no pointer to a completed handle).
	s.handle = *handle
	*handle = socket.ClientSocketHandle{}

	s.nl = netlog.NewSource(nl, netlog.SourceHTTP2Session)
	s.nl.BeginEvent(netlog.EventHTTP2Session, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"host": key.hostPort(), "proxy": key.proxyString()}
	})

	var inner gonet.Conn
	if tc, ok := sock.(tlsConnSocket); ok && tc.TLSConn() != nil {
		inner = tc.TLSConn()
		s.disconnect = sock.Disconnect
	} else {
		shim := &h2SocketShim{StreamSocket: sock, loop: loop}
		inner = socket.NewBlockingConn(loop, shim)
		s.disconnect = shim.Disconnect
	}
	s.conn = newH2Conn(inner, s)

	tr := &http2.Transport{
		// The stack asks for and decodes content codings itself.
		DisableCompression: true,
		// Like Chromium, queue streams beyond the server's
		// MAX_CONCURRENT_STREAMS on this connection rather than open
		// another one.
		StrictMaxConcurrentStreams: true,
		MaxHeaderListSize:          h2MaxHeaderListSize,
		// ConnPool is used only for its MarkDead hook: the ClientConn
		// calls it when it can take no more requests (GOAWAY, closed).
		ConnPool: h2DeadHook{s},
	}
	conn := s.conn
	net.Go(loop, func(ctx context.Context) (*http2.ClientConn, error) {
		cc, err := tr.NewClientConn(conn)
		if err == nil && ctx.Err() != nil {
			// The loop shut down meanwhile: nobody will own cc.
			cc.Close()
			return nil, ctx.Err()
		}
		return cc, err
	}, s.onSetUp)
	return s, nil
}

// onSetUp runs on the loop when NewClientConn returned.
func (s *H2Session) onSetUp(cc *http2.ClientConn, err error) {
	if s.state == h2Closed {
		if cc != nil {
			go cc.Close()
		}
		return
	}
	if err != nil {
		rv := net.ResultFromError(err)
		if rv >= 0 || rv == int(net.ErrFailed) {
			rv = int(net.ErrConnectionClosed)
		}
		s.closeWithError(rv, "Failed to set up the HTTP/2 connection")
		return
	}
	s.cc = cc
	if s.state == h2Starting {
		s.state = h2Available
	}
	s.nl.AddEvent(netlog.EventHTTP2SessionInitialized, func(netlog.CaptureMode) netlog.Params {
		p := s.sockSource.DependencyParams()
		p["protocol"] = "h2"
		return p
	})
	waiting := s.waiting
	s.waiting = nil
	for _, st := range waiting {
		st.startRoundTrip()
	}
	s.maybeFinishGoingAway()
}

// Key returns the session's key.
func (s *H2Session) Key() H2SessionKey { return s.key }

// NetLog returns the session's own NetLog source.
func (s *H2Session) NetLog() netlog.WithSource { return s.nl }

// SocketSource is the NetLog source of the session's socket.
func (s *H2Session) SocketSource() netlog.Source { return s.sockSource }

// IsClosed reports whether the session has closed.
func (s *H2Session) IsClosed() bool { return s.state == h2Closed }

// CanTakeNewRequest reports whether a new stream may start on the session:
// it is not closed, received no GOAWAY, and the client connection agrees
// (it may refuse after a fatal stream error). A session still being set up
// can take requests; they wait for it.
func (s *H2Session) CanTakeNewRequest() bool {
	switch s.state {
	case h2Starting:
		return true
	case h2Available:
		// ClientConn.CanTakeNewRequest only takes its state mutex, which
		// is never held across network I/O, so it is safe on the loop
		// (unlike ClientConn.State, which takes the write lock).
		return s.cc.CanTakeNewRequest()
	}
	return false
}

// NewStream returns a stream on the session for one request; nl is the
// request's NetLog. The stream starts when its SendRequest is called.
func (s *H2Session) NewStream(nl netlog.WithSource) *H2Stream {
	st := &H2Stream{session: s, nl: nl, reused: s.streamsCreated > 0}
	s.streamsCreated++
	return st
}

// Close closes the session at once: streams in flight fail with
// net.ErrAborted, the socket is disconnected and handed back to its pool,
// and the session leaves its H2SessionPool.
func (s *H2Session) Close() {
	s.closeWithError(int(net.ErrAborted), "Closed by its owner")
}

// startStream starts st now, or queues it until the connection is set up.
// It returns a net error when the session cannot take st.
func (s *H2Session) startStream(st *H2Stream) int {
	switch s.state {
	case h2Starting:
		s.waiting = append(s.waiting, st)
		s.active[st] = struct{}{}
		s.streamsInitiated++
		return net.IOPending
	case h2Available:
		s.active[st] = struct{}{}
		s.streamsInitiated++
		st.startRoundTrip()
		return net.IOPending
	case h2GoingAway:
		// Chromium fails stream requests on a draining session with
		// ERR_CONNECTION_CLOSED; the transaction may retry elsewhere.
		return int(net.ErrConnectionClosed)
	}
	return s.closeErrOr(net.ErrConnectionClosed)
}

// closeErrOr is the error that streams of a closed session fail with.
func (s *H2Session) closeErrOr(def net.Error) int {
	if s.closeErr < 0 {
		return s.closeErr
	}
	return int(def)
}

// streamClosed forgets st; a session going away closes with its last
// stream.
func (s *H2Session) streamClosed(st *H2Stream, abandoned bool) {
	if _, ok := s.active[st]; !ok {
		return
	}
	delete(s.active, st)
	for i, w := range s.waiting {
		if w == st {
			s.waiting = append(s.waiting[:i], s.waiting[i+1:]...)
			break
		}
	}
	if abandoned {
		s.streamsAbandoned++
	}
	s.maybeFinishGoingAway()
}

// goAway stops new streams: the session leaves the pool, streams in flight
// go on.
func (s *H2Session) goAway() {
	if s.state != h2Available && s.state != h2Starting {
		return
	}
	s.state = h2GoingAway
	if s.pool != nil {
		s.pool.remove(s)
	}
	s.maybeFinishGoingAway()
}

func (s *H2Session) maybeFinishGoingAway() {
	if s.state == h2GoingAway && len(s.active) == 0 && s.cc != nil {
		s.closeWithError(net.OK, "Finished going away")
	}
}

// closeWithError closes the connection and hands the socket back. Streams
// waiting for the set-up fail with rv (from a posted task, never inside
// this call); streams in flight fail when the ClientConn aborts them.
func (s *H2Session) closeWithError(rv int, description string) {
	if s.state == h2Closed {
		return
	}
	s.state = h2Closed
	s.closeErr = rv
	s.nl.AddEvent(netlog.EventHTTP2SessionClose, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"net_error": rv, "description": description}
	})
	if s.pool != nil {
		s.pool.remove(s)
		s.pool.forget(s)
	}
	waiting := s.waiting
	s.waiting = nil
	failRV := s.closeErrOr(net.ErrConnectionClosed)
	for _, st := range waiting {
		s.loop.Post(func() { st.onSessionFailed(failRV) })
	}

	// Closing the ClientConn aborts its streams and closes the net.Conn,
	// which ends its read loop. Both may write (RST_STREAM, a TLS
	// close_notify), so they run off the loop.
	cc, conn := s.cc, s.conn
	go func() {
		if cc != nil {
			cc.Close()
		}
		conn.Close()
	}()
	// The socket must be disconnected before the handle goes back, or the
	// pool would keep an HTTP/2 connection as an idle HTTP/1 socket.
	s.disconnect()
	s.handle.Reset()
	s.nl.EndEvent(netlog.EventHTTP2Session, nil)
}

// onConnError runs on the loop when the connection failed under the
// ClientConn (read or write error): the server closed it, reset it, or it
// timed out. The ClientConn fails its streams by itself.
func (s *H2Session) onConnError(err error) {
	if s.state == h2Closed {
		return
	}
	rv := h2ConnErrorResult(err)
	s.closeWithError(rv, "Connection error: "+err.Error())
}

// h2ConnErrorResult maps an error of the connection under the ClientConn.
func h2ConnErrorResult(err error) int {
	rv := net.ResultFromError(err)
	if rv >= 0 || rv == int(net.ErrFailed) || errors.Is(err, gonet.ErrClosed) {
		return int(net.ErrConnectionClosed)
	}
	return rv
}

// onMarkedDead runs on the loop when the ClientConn says it can take no
// more requests.
func (s *H2Session) onMarkedDead() {
	if s.state != h2Available {
		return
	}
	if !s.cc.CanTakeNewRequest() {
		s.goAway()
	}
}

// onFrame runs on the loop for each frame observed on the connection
// (received when recv). Frames arriving after the close are dropped, so
// that nothing follows the HTTP2_SESSION end event.
func (s *H2Session) onFrame(recv bool, f *h2Frame) {
	if s.state == h2Closed {
		return
	}
	if recv {
		s.onFrameReceived(f)
	} else {
		s.logFrameSent(f)
	}
}

func (s *H2Session) onFrameReceived(f *h2Frame) {
	nl := s.nl
	switch f.Type {
	case http2.FrameSettings:
		if f.Flags&http2.FlagSettingsAck != 0 {
			nl.AddEvent(netlog.EventHTTP2SessionRecvSettingsAck, nil)
			return
		}
		s.recvSettings = true
		nl.AddEvent(netlog.EventHTTP2SessionRecvSettings, nil)
		for _, set := range f.Settings {
			if set.ID == http2.SettingMaxConcurrentStreams {
				s.maxConcurrent = set.Val
			}
			nl.AddEvent(netlog.EventHTTP2SessionRecvSetting, func(netlog.CaptureMode) netlog.Params {
				return netlog.Params{"id": h2SettingIDString(set.ID), "value": set.Val}
			})
		}
	case http2.FrameGoAway:
		active := len(s.active)
		nl.AddEvent(netlog.EventHTTP2SessionRecvGoaway, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{
				"last_accepted_stream_id": f.LastStreamID,
				"active_streams":          active,
				"unclaimed_streams":       0,
				"error_code":              h2ErrCodeString(f.ErrCode),
				"debug_data":              string(f.DebugData),
			}
		})
		s.goAway()
	case http2.FrameHeaders:
		nl.AddEvent(netlog.EventHTTP2SessionRecvHeaders, func(m netlog.CaptureMode) netlog.Params {
			return netlog.Params{"fin": f.endStream(), "stream_id": f.StreamID, "headers": h2HeaderLines(f, m)}
		})
	case http2.FrameData:
		nl.AddEvent(netlog.EventHTTP2SessionRecvData, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"fin": f.endStream(), "size": f.Length, "stream_id": f.StreamID}
		})
	case http2.FrameRSTStream:
		nl.AddEvent(netlog.EventHTTP2SessionRecvRstStream, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"stream_id": f.StreamID, "error_code": h2ErrCodeString(f.ErrCode)}
		})
	case http2.FrameWindowUpdate:
		nl.AddEvent(netlog.EventHTTP2SessionRecvWindowUpdate, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"stream_id": f.StreamID, "delta": f.Increment}
		})
	case http2.FramePing:
		logH2Ping(nl, f, "received")
	}
}

func (s *H2Session) logFrameSent(f *h2Frame) {
	nl := s.nl
	switch f.Type {
	case http2.FrameSettings:
		if f.Flags&http2.FlagSettingsAck != 0 {
			nl.AddEvent(netlog.EventHTTP2SessionSendSettingsAck, nil)
			return
		}
		nl.AddEvent(netlog.EventHTTP2SessionSendSettings, func(netlog.CaptureMode) netlog.Params {
			list := make([]string, len(f.Settings))
			for i, set := range f.Settings {
				list[i] = h2SettingString(set)
			}
			return netlog.Params{"settings": list}
		})
	case http2.FrameData:
		nl.AddEvent(netlog.EventHTTP2SessionSendData, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"fin": f.endStream(), "size": f.Length, "stream_id": f.StreamID}
		})
	case http2.FrameRSTStream:
		nl.AddEvent(netlog.EventHTTP2SessionSendRstStream, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"stream_id": f.StreamID, "error_code": h2ErrCodeString(f.ErrCode), "description": ""}
		})
	case http2.FrameWindowUpdate:
		nl.AddEvent(netlog.EventHTTP2SessionSendWindowUpdate, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"stream_id": f.StreamID, "delta": f.Increment}
		})
	case http2.FramePing:
		logH2Ping(nl, f, "sent")
	case http2.FrameHeaders:
		if f.Sent != nil {
			// The stream knows the request the headers belong to.
			f.Sent.stream.onHeadersSent(f)
		}
	}
}

func logH2Ping(nl netlog.WithSource, f *h2Frame, direction string) {
	nl.AddEvent(netlog.EventHTTP2SessionPing, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"unique_id": f.PingData, "is_ack": f.Flags&http2.FlagPingAck != 0, "type": direction}
	})
}

// h2HeaderLines is a decoded header block as Chromium logs one: a list of
// "name: value", sensitive values elided below IncludeSensitive. Without a
// decoded block (HPACK was not followed) the list is empty.
func h2HeaderLines(f *h2Frame, m netlog.CaptureMode) []string {
	lines := make([]string, len(f.Headers))
	for i, h := range f.Headers {
		lines[i] = h.Name + ": " + ElideHeaderValueForNetLog(!m.IncludesSensitive(), h.Name, h.Value)
	}
	return lines
}

// Info describes the session for polledData.spdySessionInfo, with the fields
// netlog-viewer's HTTP/2 tab shows.
func (s *H2Session) Info() netlog.Params {
	return netlog.Params{
		"host_port_pair":                   s.key.hostPort(),
		"aliases":                          []string{},
		"proxy":                            s.key.proxyString(),
		"source_id":                        s.nl.Source().ID,
		"negotiated_protocol":              "h2",
		"active_streams":                   len(s.active),
		"unclaimed_pushed_streams":         0,
		"max_concurrent_streams":           s.maxConcurrent,
		"streams_initiated_count":          s.streamsInitiated,
		"streams_pushed_count":             0,
		"streams_pushed_and_claimed_count": 0,
		"streams_abandoned_count":          s.streamsAbandoned,
		"frames_received":                  s.framesReceived.Load(),
		"is_secure":                        true,
		"sent_settings":                    s.cc != nil,
		"received_settings":                s.recvSettings,
		"is_going_away":                    s.state == h2GoingAway,
		"is_closed":                        s.state == h2Closed,
		"error":                            s.closeErr,
	}
}

// h2DeadHook is the http2.ClientConnPool of the session's Transport. The
// ClientConn never asks it for connections (the session makes its one
// ClientConn itself); it only reports, through MarkDead, that the
// connection can take no more requests.
type h2DeadHook struct{ s *H2Session }

// GetClientConn implements http2.ClientConnPool; it is never used.
func (h h2DeadHook) GetClientConn(*http.Request, string) (*http2.ClientConn, error) {
	return nil, errors.New("netfetch: the HTTP/2 session has no connection pool")
}

// MarkDead implements http2.ClientConnPool. It runs on a ClientConn
// goroutine, so it only posts to the loop.
func (h h2DeadHook) MarkDead(*http2.ClientConn) {
	s := h.s
	s.loop.Post(s.onMarkedDead)
}

// h2Conn is the net.Conn under the ClientConn: it lets the frame observers
// see both directions, and tells the session at once when the connection
// fails (the ClientConn would only say so through a MarkDead that it may
// delay by seconds for a connection that carried no request).
type h2Conn struct {
	gonet.Conn
	s         *H2Session
	recv      *h2FrameObserver
	sent      *h2FrameObserver
	closeOnce sync.Once
	failOnce  sync.Once
}

func newH2Conn(inner gonet.Conn, s *H2Session) *h2Conn {
	c := &h2Conn{Conn: inner, s: s}
	capturing := s.nl.IsCapturing
	c.recv = newH2FrameObserver(false, capturing, func(f *h2Frame) {
		s.framesReceived.Add(1)
		c.post(true, f)
	})
	c.sent = newH2FrameObserver(true, capturing, func(f *h2Frame) {
		c.post(false, f)
	})
	return c
}

// post hands a copy of f to the loop when the session needs it: always for
// frames that change the session's state, otherwise only while a NetLog is
// capturing.
func (c *h2Conn) post(recv bool, f *h2Frame) {
	switch {
	case recv && (f.Type == http2.FrameGoAway || f.Type == http2.FrameSettings):
	case c.s.nl.IsCapturing():
	default:
		return
	}
	fr := *f
	s := c.s
	s.loop.Post(func() { s.onFrame(recv, &fr) })
}

// Read implements net.Conn.
func (c *h2Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.recv.feed(p[:n])
	}
	if err != nil {
		c.fail(err)
	}
	return n, err
}

// Write implements net.Conn. The observer sees the bytes before they go
// out, so that a stream's HEADERS are known when the ClientConn's
// WroteHeaders hook runs.
func (c *h2Conn) Write(p []byte) (int, error) {
	c.sent.feed(p)
	n, err := c.Conn.Write(p)
	if err != nil {
		c.fail(err)
	}
	return n, err
}

// Close implements net.Conn.
func (c *h2Conn) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.Conn.Close() })
	return err
}

func (c *h2Conn) fail(err error) {
	c.failOnce.Do(func() {
		s := c.s
		s.loop.Post(func() { s.onConnError(err) })
	})
}

// h2SocketShim stands between the session's BlockingConn and its socket.
// Disconnecting a StreamSocket drops its pending callbacks, but the
// BlockingConn's callers (the ClientConn's read loop and writers) wait for
// exactly those callbacks; on Disconnect the shim completes them with
// ERR_SOCKET_NOT_CONNECTED, so those goroutines end with the session
// instead of waiting for the loop to shut down.
type h2SocketShim struct {
	socket.StreamSocket
	loop         *net.Loop
	readCB       net.CompletionCallback
	writeCB      net.CompletionCallback
	disconnected bool
}

// Read implements socket.StreamSocket.
func (t *h2SocketShim) Read(buf []byte, cb net.CompletionCallback) int {
	if t.disconnected {
		return int(net.ErrSocketNotConnected)
	}
	rv := t.StreamSocket.Read(buf, func(rv int) {
		t.readCB = nil
		cb(rv)
	})
	if rv == net.IOPending {
		t.readCB = cb
	}
	return rv
}

// Write implements socket.StreamSocket.
func (t *h2SocketShim) Write(buf []byte, cb net.CompletionCallback) int {
	if t.disconnected {
		return int(net.ErrSocketNotConnected)
	}
	rv := t.StreamSocket.Write(buf, func(rv int) {
		t.writeCB = nil
		cb(rv)
	})
	if rv == net.IOPending {
		t.writeCB = cb
	}
	return rv
}

// Disconnect implements socket.StreamSocket; it may be called more than
// once (by the session, then by the BlockingConn's Close).
func (t *h2SocketShim) Disconnect() {
	if t.disconnected {
		return
	}
	t.disconnected = true
	t.StreamSocket.Disconnect()
	for _, cb := range []net.CompletionCallback{t.readCB, t.writeCB} {
		if cb != nil {
			t.loop.Post(func() { cb(int(net.ErrSocketNotConnected)) })
		}
	}
	t.readCB, t.writeCB = nil, nil
}
