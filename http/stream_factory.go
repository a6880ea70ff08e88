package http

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/socket"
)

// StreamFactory finds a stream for a request: it asks the proxy service for
// the routes, takes a socket from the pool of the first, and falls over to
// the next route when a proxy fails (Chromium's HttpStreamFactory with its
// JobController and Job).
type StreamFactory struct{ session *Session }

type streamJobState int

const (
	jobStateNone streamJobState = iota
	jobStateResolveProxy
	jobStateResolveProxyComplete
	jobStateInitConnection
	jobStateInitConnectionComplete
	jobStateCreateStream
)

// StreamRequest is a request for a stream; it completes once.
type StreamRequest struct {
	factory    *StreamFactory
	info       *RequestInfo
	priority   net.RequestPriority
	requestNL  netlog.WithSource
	controller netlog.WithSource
	job        netlog.WithSource
	group      socket.GroupID
	proxyInfo  proxy.Info
	resolving  proxy.ResolveRequest
	h2key      H2SessionKey
	h2session  *H2Session
	handle     socket.ClientSocketHandle
	stream     Stream
	next       streamJobState
	cb         net.CompletionCallback
	done       bool
}

// GroupIDForURL is the pool group a URL's connection belongs to.
func GroupIDForURL(u *url.URL, privacyMode bool) (socket.GroupID, bool) {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return socket.GroupID{}, false
	}
	port := 0
	switch scheme {
	case "http", "ws":
		port = 80
	case "https", "wss":
		port = 443
	default:
		return socket.GroupID{}, false
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return socket.GroupID{}, false
		}
		port = n
	}
	return socket.GroupID{Scheme: scheme, Host: host, Port: uint16(port), PrivacyMode: privacyMode}, true
}

// RequestStream starts looking for a stream for info. It returns OK when a
// stream was ready at once (an idle keep-alive socket), an error, or
// IOPending and later calls cb on the loop. nl is the request's NetLog.
func (f *StreamFactory) RequestStream(info *RequestInfo, priority net.RequestPriority, nl netlog.WithSource, cb net.CompletionCallback) (*StreamRequest, int) {
	r := &StreamRequest{factory: f, info: info, priority: priority, requestNL: nl}
	nl.BeginEvent(netlog.EventHTTPStreamRequest, nil)
	log := f.session.nl
	r.controller = netlog.NewSource(log, netlog.SourceHTTPStreamJobController)
	r.controller.BeginEvent(netlog.EventHTTPStreamJobController, func(m netlog.CaptureMode) netlog.Params {
		return netlog.Params{"url": netlog.URLString(info.URL, m), "is_preconnect": false, "privacy_mode": privacyModeName(info.PrivacyMode), "allowed_bad_certs": []string{}}
	})
	r.controller.AddEventReferencingSource(netlog.EventHTTPStreamJobControllerBound, nl.Source())
	nl.AddEventReferencingSource(netlog.EventHTTPStreamJobControllerBound, r.controller.Source())
	r.next = jobStateResolveProxy
	rv := r.doLoop(net.OK)
	if rv == net.IOPending {
		r.cb = cb
	} else {
		r.finish(rv)
	}
	return r, rv
}

func privacyModeName(on bool) string {
	if on {
		return "enabled"
	}
	return "disabled"
}

// Stream returns the stream after success; the caller owns it.
func (r *StreamRequest) Stream() Stream { return r.stream }

// LoadState says what the request is waiting for.
func (r *StreamRequest) LoadState() net.LoadState {
	if r.resolving != nil {
		return r.resolving.LoadState()
	}
	return r.handle.LoadState()
}

// SetPriority changes the request's priority while it waits.
func (r *StreamRequest) SetPriority(p net.RequestPriority) {
	r.priority = p
	r.handle.SetPriority(p)
}

// Cancel abandons the request; its callback will not run.
func (r *StreamRequest) Cancel() {
	if r.done {
		return
	}
	r.cb = nil
	if r.resolving != nil {
		r.resolving.Cancel()
		r.resolving = nil
	}
	r.handle.Reset()
	r.finish(int(net.ErrAborted))
}

func (r *StreamRequest) onIOComplete(rv int) {
	rv = r.doLoop(rv)
	if rv == net.IOPending {
		return
	}
	r.finish(rv)
	if cb := r.cb; cb != nil {
		r.cb = nil
		cb(rv)
	}
}

func (r *StreamRequest) doLoop(rv int) int {
	for {
		state := r.next
		r.next = jobStateNone
		switch state {
		case jobStateResolveProxy:
			rv = r.doResolveProxy()
		case jobStateResolveProxyComplete:
			rv = r.doResolveProxyComplete(rv)
		case jobStateInitConnection:
			rv = r.doInitConnection()
		case jobStateInitConnectionComplete:
			rv = r.doInitConnectionComplete(rv)
		case jobStateCreateStream:
			rv = r.doCreateStream()
		default:
			panic("http: bad StreamRequest state")
		}
		if rv == net.IOPending || r.next == jobStateNone {
			return rv
		}
	}
}

func (r *StreamRequest) doResolveProxy() int {
	group, ok := GroupIDForURL(r.info.URL, r.info.PrivacyMode)
	if !ok {
		return int(net.ErrInvalidURL)
	}
	r.group = group
	r.next = jobStateResolveProxyComplete
	if r.info.LoadFlags&net.LoadBypassProxy != 0 {
		r.proxyInfo = proxy.DirectInfo()
		return net.OK
	}
	req, rv := r.factory.session.proxies.ResolveProxy(r.info.URL, &r.proxyInfo, func(rv int) {
		r.resolving = nil
		r.onIOComplete(rv)
	}, r.controller)
	if rv == net.IOPending {
		r.resolving = req
	}
	return rv
}

func (r *StreamRequest) doResolveProxyComplete(rv int) int {
	if rv != net.OK {
		return rv
	}
	if r.proxyInfo.IsEmpty() {
		return int(net.ErrNoSupportedProxies)
	}
	r.controller.AddEventWithParams(netlog.EventHTTPStreamJobControllerProxyServerResolved, netlog.Params{"proxy_chain": r.proxyInfo.ChainString()})
	group := r.group
	r.job = netlog.NewSource(r.factory.session.nl, netlog.SourceHTTPStreamJob)
	dest := group.Scheme + "://" + hostPort(group)
	r.job.BeginEvent(netlog.EventHTTPStreamJob, func(netlog.CaptureMode) netlog.Params {
		p := r.controller.Source().DependencyParams()
		p["logical_destination"] = dest
		p["destination"] = dest
		p["expect_spdy"] = false
		p["using_quic"] = false
		p["priority"] = r.priority.String()
		p["type"] = "main"
		return p
	})
	r.controller.AddEventReferencingSource(netlog.EventHTTPStreamRequestStartedJob, r.job.Source())
	r.next = jobStateInitConnection
	return net.OK
}

func hostPort(g socket.GroupID) string {
	h := g.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(int(g.Port))
}

func (r *StreamRequest) doInitConnection() int {
	// An HTTP/2 session to the same place carries the request without a
	// new connection (Chromium's SpdySessionPool lookup).
	r.h2key = H2SessionKey{Group: r.group, ProxyChain: r.proxyInfo.ChainString()}
	if s := r.factory.session.h2pool.Find(r.h2key, r.job); s != nil {
		r.h2session = s
		r.next = jobStateCreateStream
		return net.OK
	}
	r.next = jobStateInitConnectionComplete
	r.job.BeginEvent(netlog.EventHTTPStreamJobInitConnection, nil)
	r.job.AddEventWithParams(netlog.EventTCPClientSocketPoolRequestedSocket, netlog.Params{"group_id": r.group.String()})
	pool := r.factory.session.pools.GetSocketPool(r.proxyInfo.Chain())
	return r.handle.Init(r.group, r.priority, r.info.LoadFlags, pool, r.onIOComplete, r.job)
}

func (r *StreamRequest) doInitConnectionComplete(rv int) int {
	r.job.EndEventWithNetErrorCode(netlog.EventHTTPStreamJobInitConnection, rv)
	if rv != net.OK {
		return r.reconsiderProxyAfterError(rv)
	}
	r.next = jobStateCreateStream
	return net.OK
}

// reconsiderProxyAfterError moves to the next route of the proxy list
// when the failure was the proxy's (Chromium's ReconsiderProxyAfterError):
// the failed proxy is marked bad, and the request starts over with a new
// job from the resolved list.
func (r *StreamRequest) reconsiderProxyAfterError(rv int) int {
	if r.info.LoadFlags&net.LoadBypassProxy != 0 {
		return rv
	}
	ok, rv := proxy.CanFallOver(rv)
	if !ok {
		return rv
	}
	if !r.proxyInfo.Fallback(rv, r.factory.session.proxies.Now(), r.controller) {
		return rv
	}
	r.handle.Reset()
	r.job.EndEventWithNetErrorCode(netlog.EventHTTPStreamJob, rv)
	r.next = jobStateResolveProxyComplete
	return net.OK
}

func (r *StreamRequest) doCreateStream() int {
	if rv := r.bindH2Session(); rv != net.OK {
		return rv
	}
	if r.h2session != nil {
		r.stream = r.h2session.NewStream(r.requestNL)
	} else {
		r.stream = NewBasicStream(&r.handle, r.requestNL)
	}
	r.job.AddEventReferencingSource(netlog.EventHTTPStreamJobBoundToRequest, r.requestNL.Source())
	r.controller.AddEventReferencingSource(netlog.EventHTTPStreamJobBoundToRequest, r.requestNL.Source())
	r.requestNL.AddEventReferencingSource(netlog.EventHTTPStreamRequestBoundToJob, r.job.Source())
	return net.OK
}

// bindH2Session turns a connection that negotiated h2 into an HTTP/2
// session (or joins one another request opened meanwhile); such a socket
// must never go back to the pool as an idle HTTP/1.1 connection.
func (r *StreamRequest) bindH2Session() int {
	if r.h2session != nil || r.handle.Socket().NegotiatedProtocol() != "h2" {
		return net.OK
	}
	pool := r.factory.session.h2pool
	if s := pool.Find(r.h2key, r.job); s != nil {
		r.handle.Socket().Disconnect()
		r.handle.Reset()
		r.h2session = s
		return net.OK
	}
	s, err := NewH2Session(r.factory.session.loop, r.h2key, &r.handle, r.factory.session.nl)
	if err != nil {
		return net.ResultFromError(err)
	}
	pool.Add(s, r.job)
	r.h2session = s
	return net.OK
}

func (r *StreamRequest) finish(rv int) {
	if r.done {
		return
	}
	r.done = true
	r.job.EndEventWithNetErrorCode(netlog.EventHTTPStreamJob, rv)
	r.controller.EndEventWithNetErrorCode(netlog.EventHTTPStreamJobController, rv)
	r.requestNL.EndEventWithNetErrorCode(netlog.EventHTTPStreamRequest, rv)
}

// ProxyInfo is the route the request resolved to; the transaction needs it
// to speak to an HTTP proxy without a tunnel (absolute-URI requests, proxy
// auth).
func (r *StreamRequest) ProxyInfo() proxy.Info { return r.proxyInfo }
