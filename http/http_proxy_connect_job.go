package http

import (
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/socket"
)

// TunnelJobFactory makes HTTPProxyConnectJobs: it is the
// socket.TunnelJobFactory a session puts in its CommonConnectJobParams, so
// that socket pools can open CONNECT tunnels without importing package
// http. Use it through a pointer; the zero value works (no User-Agent, no
// credentials sent before a 407).
type TunnelJobFactory struct {
	// UserAgent is sent with each CONNECT; "" sends none, as Chromium
	// without HttpUserAgentSettings.
	UserAgent string
	// AuthCache, when set, lets tunnels through a proxy that accepted our
	// credentials send them with the first CONNECT.
	AuthCache *ProxyAuthCache
}

// NewTunnelJob implements socket.TunnelJobFactory.
func (f *TunnelJobFactory) NewTunnelJob(c *socket.CommonConnectJobParams, group socket.GroupID, server proxy.Server, destHost string, destPort uint16, nested socket.NestedJob, priority net.RequestPriority, delegate socket.ConnectJobDelegate) socket.ConnectJob {
	return NewHTTPProxyConnectJob(c, group, server, destHost, destPort, nested, f.UserAgent, f.AuthCache, delegate)
}

type proxyJobState int

const (
	proxyJobStateNone proxyJobState = iota
	proxyJobStateBeginConnect
	proxyJobStateTransportConnect
	proxyJobStateTransportConnectComplete
	proxyJobStateHTTPProxyConnect
	proxyJobStateHTTPProxyConnectComplete
	proxyJobStateRestartWithAuth
	proxyJobStateRestartWithAuthComplete
)

// HTTPProxyConnectJob opens a tunnel to a destination through an HTTP or
// HTTPS proxy (Chromium's HttpProxyConnectJob): it runs its nested job to
// reach the proxy (TCP for an http:// proxy, TLS over TCP for an https://
// one), sends CONNECT and, on a 2xx reply, hands out a ProxyClientSocket.
//
// Errors, as Chromium's: the proxy cannot be reached →
// net.ErrProxyConnectionFailed (net.ErrProxyCertificateInvalid for a bad
// certificate of an HTTPS proxy); a reply other than 2xx or 407 →
// net.ErrTunnelConnectionFailed; a 407 that the proxy.Server's credentials
// cannot answer, or that refuses them → net.ErrProxyAuthRequested; no
// reply within the tunnel timeout → net.ErrTimedOut.
//
// A 407 answered with Basic credentials is resent on the same connection
// when the proxy keeps it open and its body can be drained, else on a new
// connection (the nested job runs again).
type HTTPProxyConnectJob struct {
	loop          *net.Loop
	nl            netlog.WithSource
	delegate      socket.ConnectJobDelegate
	server        proxy.Server
	endpoint      string
	nested        socket.NestedJob
	tunnelTimeout time.Duration
	userAgent     string
	auth          *proxyAuth

	next         proxyJobState
	nestedJob    socket.ConnectJob
	transport    socket.StreamSocket
	tunnel       *ProxyClientSocket
	timer        *net.DelayedTask
	hasRestarted bool
	result       socket.StreamSocket
	done         bool
}

// NewHTTPProxyConnectJob makes a job that tunnels to destHost:destPort
// through server, running nested first to reach the proxy; group names the
// job in the NetLog. cache may be nil.
func NewHTTPProxyConnectJob(c *socket.CommonConnectJobParams, group socket.GroupID, server proxy.Server, destHost string, destPort uint16, nested socket.NestedJob, userAgent string, cache *ProxyAuthCache, delegate socket.ConnectJobDelegate) *HTTPProxyConnectJob {
	j := &HTTPProxyConnectJob{
		loop:          c.Loop,
		delegate:      delegate,
		server:        server,
		endpoint:      tunnelEndpoint(destHost, destPort),
		nested:        nested,
		tunnelTimeout: c.Timeouts.TunnelTimeout(),
		userAgent:     userAgent,
		auth:          newProxyAuth(server, cache),
	}
	j.nl = netlog.NewSource(c.NetLog, netlog.SourceHTTPProxyConnectJob)
	j.nl.BeginEvent(netlog.EventConnectJob, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"group_id": group.String()}
	})
	return j
}

// Connect implements socket.ConnectJob.
func (j *HTTPProxyConnectJob) Connect() int {
	j.nl.BeginEvent(netlog.EventHTTPProxyConnectJobConnect, nil)
	j.next = proxyJobStateBeginConnect
	rv := j.doLoop(net.OK)
	if rv != net.IOPending {
		j.complete(rv, false)
	}
	return rv
}

// TakeSocket implements socket.ConnectJob.
func (j *HTTPProxyConnectJob) TakeSocket() socket.StreamSocket {
	s := j.result
	j.result = nil
	return s
}

// NetLog implements socket.ConnectJob.
func (j *HTTPProxyConnectJob) NetLog() netlog.WithSource { return j.nl }

// LoadState implements socket.ConnectJob: the nested job's while it runs,
// then LoadStateEstablishingProxyTunnel.
func (j *HTTPProxyConnectJob) LoadState() net.LoadState {
	switch j.next {
	case proxyJobStateTransportConnectComplete:
		if j.nestedJob != nil {
			return j.nestedJob.LoadState()
		}
	case proxyJobStateHTTPProxyConnect, proxyJobStateHTTPProxyConnectComplete,
		proxyJobStateRestartWithAuth, proxyJobStateRestartWithAuthComplete:
		return net.LoadStateEstablishingProxyTunnel
	}
	return net.LoadStateIdle
}

// Cancel implements socket.ConnectJob.
func (j *HTTPProxyConnectJob) Cancel() {
	if j.done {
		return
	}
	j.release(int(net.ErrAborted))
	j.end(int(net.ErrAborted))
}

// OnConnectJobComplete implements socket.ConnectJobDelegate for the nested
// job.
func (j *HTTPProxyConnectJob) OnConnectJobComplete(rv int, job socket.ConnectJob) {
	if j.done || job != j.nestedJob {
		return
	}
	j.onIOComplete(rv)
}

func (j *HTTPProxyConnectJob) onIOComplete(rv int) {
	rv = j.doLoop(rv)
	if rv != net.IOPending {
		j.complete(rv, true)
	}
}

func (j *HTTPProxyConnectJob) doLoop(rv int) int {
	for {
		state := j.next
		j.next = proxyJobStateNone
		switch state {
		case proxyJobStateBeginConnect:
			rv = j.doBeginConnect()
		case proxyJobStateTransportConnect:
			rv = j.doTransportConnect()
		case proxyJobStateTransportConnectComplete:
			rv = j.doTransportConnectComplete(rv)
		case proxyJobStateHTTPProxyConnect:
			rv = j.doHTTPProxyConnect()
		case proxyJobStateHTTPProxyConnectComplete:
			rv = j.doHTTPProxyConnectComplete(rv)
		case proxyJobStateRestartWithAuth:
			rv = j.doRestartWithAuth()
		case proxyJobStateRestartWithAuthComplete:
			rv = j.doRestartWithAuthComplete(rv)
		default:
			panic("http: bad HTTPProxyConnectJob state")
		}
		if rv == net.IOPending || j.next == proxyJobStateNone {
			return rv
		}
	}
}

func (j *HTTPProxyConnectJob) doBeginConnect() int {
	// The nested job keeps its own time (4 min for TCP, 30 s more for
	// TLS); ours starts with the tunnel.
	j.stopTimer()
	j.next = proxyJobStateTransportConnect
	return net.OK
}

func (j *HTTPProxyConnectJob) doTransportConnect() int {
	j.next = proxyJobStateTransportConnectComplete
	j.nestedJob = j.nested(j)
	return j.nestedJob.Connect()
}

func (j *HTTPProxyConnectJob) doTransportConnectComplete(rv int) int {
	nested := j.nestedJob
	j.nestedJob = nil
	if rv != net.OK {
		return proxyConnectError(rv)
	}
	j.transport = nested.TakeSocket()
	j.next = proxyJobStateHTTPProxyConnect
	return net.OK
}

// proxyConnectError is what a failure to reach the proxy becomes, as in
// Chromium's DoTransportConnectComplete and DoSSLConnectComplete: the
// caller learns that the proxy failed (so it may fall back to the next
// one), not why.
func proxyConnectError(rv int) int {
	switch e := net.Error(rv); {
	case e.IsCertificateError():
		return int(net.ErrProxyCertificateInvalid)
	case e == net.ErrSSLClientAuthCertNeeded:
		// Passed up so that a client certificate can be chosen.
		return rv
	}
	return int(net.ErrProxyConnectionFailed)
}

func (j *HTTPProxyConnectJob) doHTTPProxyConnect() int {
	j.next = proxyJobStateHTTPProxyConnectComplete
	// A fast connect plus a slow proxy must not outlast the tunnel timeout.
	j.resetTimer()
	j.tunnel = newProxyClientSocket(j.transport, j.nl, j.endpoint, j.userAgent, j.auth)
	j.transport = nil
	return j.tunnel.Connect(j.onIOComplete)
}

func (j *HTTPProxyConnectJob) doHTTPProxyConnectComplete(rv int) int {
	switch {
	case rv == int(net.ErrProxyAuthRequested) && j.auth.takeRestart():
		j.next = proxyJobStateRestartWithAuth
		return net.OK
	case rv == int(net.ErrBadSSLClientAuthCert):
		// A proxy refusing our client certificate says so at the first
		// read with TLS 1.3, after the handshake succeeded.
		return int(net.ErrProxyConnectionFailed)
	case rv == net.OK:
		j.auth.accepted()
	}
	return rv
}

func (j *HTTPProxyConnectJob) doRestartWithAuth() int {
	j.next = proxyJobStateRestartWithAuthComplete
	j.resetTimer()
	return j.tunnel.restartWithAuth(j.onIOComplete)
}

func (j *HTTPProxyConnectJob) doRestartWithAuthComplete(rv int) int {
	if rv == net.OK && !j.tunnel.IsConnected() {
		rv = int(net.ErrUnableToReuseConnectionForProxyAuth)
	}
	// A proxy that closes after its 407 (tinyproxy does) gets the
	// credentials on a new connection.
	reconnect := rv == int(net.ErrUnableToReuseConnectionForProxyAuth)
	// The proxy may have dropped the kept-alive connection just as we
	// resent: try once more on a new one.
	if !j.hasRestarted {
		switch net.Error(rv) {
		case net.ErrConnectionClosed, net.ErrConnectionReset, net.ErrConnectionAborted, net.ErrSocketNotConnected:
			reconnect = true
			j.hasRestarted = true
		}
	}
	if reconnect {
		j.tunnel.Disconnect()
		j.tunnel = nil
		j.next = proxyJobStateBeginConnect
		return net.OK
	}
	// Otherwise this is the outcome of the tunnel, another 407 included.
	j.next = proxyJobStateHTTPProxyConnectComplete
	return rv
}

func (j *HTTPProxyConnectJob) resetTimer() {
	j.stopTimer()
	j.timer = j.loop.PostDelayed(j.tunnelTimeout, func() {
		j.timer = nil
		j.nl.AddEvent(netlog.EventConnectJobTimedOut, nil)
		j.complete(int(net.ErrTimedOut), true)
	})
}

func (j *HTTPProxyConnectJob) stopTimer() {
	if j.timer != nil {
		j.timer.Cancel()
		j.timer = nil
	}
}

// release stops whatever is under way and drops the connection, closing
// an open tunnel phase with rv.
func (j *HTTPProxyConnectJob) release(rv int) {
	j.stopTimer()
	if j.nestedJob != nil {
		j.nestedJob.Cancel()
		j.nestedJob = nil
	}
	if j.transport != nil {
		j.transport.Disconnect()
		j.transport = nil
	}
	if j.tunnel != nil {
		j.tunnel.abort(rv)
		j.tunnel = nil
	}
}

// end closes the job's spans; it is the last thing a job does.
func (j *HTTPProxyConnectJob) end(rv int) {
	j.done = true
	j.nl.EndEventWithNetErrorCode(netlog.EventHTTPProxyConnectJobConnect, rv)
	j.nl.EndEventWithNetErrorCode(netlog.EventConnectJob, rv)
}

// complete finishes the job; notify says whether the delegate must hear of
// it (not when Connect itself returns the result).
func (j *HTTPProxyConnectJob) complete(rv int, notify bool) {
	if j.done {
		return
	}
	if rv == net.OK {
		j.stopTimer()
		j.result = j.tunnel
		j.tunnel = nil
		j.nl.AddEventReferencingSource(netlog.EventConnectJobSetSocket, j.result.NetLog().Source())
	} else {
		j.release(rv)
	}
	j.end(rv)
	if notify {
		j.delegate.OnConnectJobComplete(rv, j)
	}
}
