package socket

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

type sslState int

const (
	sslStateNone sslState = iota
	sslStateNestedConnect
	sslStateNestedConnectComplete
	sslStateSSLConnect
	sslStateSSLConnectComplete
)

// SSLConnectJob makes a TLS connection: it runs a nested job first (a
// TransportConnectJob, a SOCKS job or a proxy tunnel job), then a TLS
// handshake over the nested job's socket. Chromium's SSLConnectJob has one
// TRANSPORT/SOCKS/TUNNEL_CONNECT state per kind of nested job; here the
// NestedJob hides which one it is, so one NESTED_CONNECT state does.
//
// The job's timer covers only the handshake (Chromium's kSSLHandshakeTimeout,
// Timeouts.TLS): the nested job has its own, and a slow TCP connect does not
// eat into the handshake's time.
type SSLConnectJob struct {
	connectJobBase
	common     *CommonConnectJobParams
	group      GroupID
	host       string
	port       uint16
	priority   net.RequestPriority
	makeNested NestedJob

	next      sslState
	nested    ConnectJob
	transport StreamSocket // the nested job's socket, until the handshake takes it
	ssl       *SSLClientSocket
}

// NewSSLConnectJob makes a job that connects TLS to host:port: nested
// builds the job that reaches host:port first (handed the SSL job as its
// delegate), and the handshake then uses c.SSL for host. group names the job
// in the NetLog.
func NewSSLConnectJob(c *CommonConnectJobParams, group GroupID, host string, port uint16, nested NestedJob, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob {
	j := &SSLConnectJob{common: c, group: group, host: host, port: port, priority: priority, makeNested: nested}
	j.init(c.Loop, c.NetLog, netlog.SourceSSLConnectJob, group, c.Timeouts.TLSTimeout(), delegate)
	return j
}

// Connect implements ConnectJob.
func (j *SSLConnectJob) Connect() int {
	j.nl.BeginEvent(netlog.EventSSLConnectJobConnect, nil)
	j.next = sslStateNestedConnect
	rv := j.doLoop(net.OK)
	if rv != net.IOPending {
		j.complete(rv, false)
	}
	return rv
}

// LoadState implements ConnectJob: the nested job's while it runs, then
// SSL_HANDSHAKE.
func (j *SSLConnectJob) LoadState() net.LoadState {
	switch {
	case j.nested != nil:
		return j.nested.LoadState()
	case j.ssl != nil:
		return net.LoadStateSSLHandshake
	}
	return net.LoadStateIdle
}

// Cancel implements ConnectJob: the nested job is cancelled, or the
// handshake aborted by closing its connection; the delegate hears nothing.
func (j *SSLConnectJob) Cancel() {
	if j.done {
		return
	}
	j.release(int(net.ErrAborted))
	j.nl.EndEventWithNetErrorCode(netlog.EventSSLConnectJobConnect, int(net.ErrAborted))
	j.finish(int(net.ErrAborted))
}

// OnConnectJobComplete implements ConnectJobDelegate for the nested job.
func (j *SSLConnectJob) OnConnectJobComplete(rv int, job ConnectJob) {
	if j.done || j.nested == nil {
		return
	}
	j.onIOComplete(rv)
}

func (j *SSLConnectJob) onIOComplete(rv int) {
	rv = j.doLoop(rv)
	if rv != net.IOPending {
		j.complete(rv, true)
	}
}

func (j *SSLConnectJob) doLoop(rv int) int {
	for {
		state := j.next
		j.next = sslStateNone
		switch state {
		case sslStateNestedConnect:
			rv = j.doNestedConnect()
		case sslStateNestedConnectComplete:
			rv = j.doNestedConnectComplete(rv)
		case sslStateSSLConnect:
			rv = j.doSSLConnect()
		case sslStateSSLConnectComplete:
			rv = j.doSSLConnectComplete(rv)
		default:
			panic("socket: bad SSLConnectJob state")
		}
		if rv == net.IOPending || j.next == sslStateNone {
			return rv
		}
	}
}

func (j *SSLConnectJob) doNestedConnect() int {
	j.next = sslStateNestedConnectComplete
	j.nested = j.makeNested(j)
	return j.nested.Connect()
}

func (j *SSLConnectJob) doNestedConnectComplete(rv int) int {
	nested := j.nested
	j.nested = nil
	if rv != net.OK {
		// A nested failure stays what it is: a proxy error is reported as
		// a proxy error.
		return rv
	}
	j.transport = nested.TakeSocket()
	if j.transport == nil {
		return int(net.ErrUnexpected)
	}
	j.next = sslStateSSLConnect
	return net.OK
}

func (j *SSLConnectJob) doSSLConnect() int {
	j.next = sslStateSSLConnectComplete
	// Armed only now, as Chromium's ResetTimer(kSSLHandshakeTimeout).
	j.startTimer(func() { j.complete(int(net.ErrTimedOut), true) })
	j.nl.BeginEvent(netlog.EventSSLConnectJobSSLConnect, nil)
	j.ssl = NewSSLClientSocket(j.loop, j.transport, j.host, j.common.SSL, j.nl.NetLog(), j.nl.Source())
	j.transport = nil
	return j.ssl.Connect(j.onIOComplete)
}

func (j *SSLConnectJob) doSSLConnectComplete(rv int) int {
	j.nl.EndEventWithNetErrorCode(netlog.EventSSLConnectJobSSLConnect, rv)
	if rv != net.OK {
		return rv
	}
	j.setSocket(j.ssl)
	j.ssl = nil
	return net.OK
}

// release gives up whatever the job still holds; rv is why.
func (j *SSLConnectJob) release(rv int) {
	if j.nested != nil {
		j.nested.Cancel()
		j.nested = nil
	}
	if j.transport != nil {
		j.transport.Disconnect()
		j.transport = nil
	}
	if j.ssl != nil {
		if j.ssl.connecting {
			j.nl.EndEventWithNetErrorCode(netlog.EventSSLConnectJobSSLConnect, rv)
		}
		j.ssl.Disconnect()
		j.ssl = nil
	}
}

// complete finishes the job; notify says whether the delegate must hear of
// it (not when Connect itself returns the result).
func (j *SSLConnectJob) complete(rv int, notify bool) {
	if j.done {
		return
	}
	if rv != net.OK {
		j.release(rv)
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventSSLConnectJobConnect, rv)
	j.finish(rv)
	if notify {
		j.delegate.OnConnectJobComplete(rv, j)
	}
}
