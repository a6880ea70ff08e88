package socket

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

type socksJobState int

const (
	socksJobStateNone socksJobState = iota
	socksJobStateTransportConnect
	socksJobStateTransportConnectComplete
	socksJobStateSOCKSConnect
	socksJobStateSOCKSConnectComplete
)

// SOCKSConnectJob connects to a SOCKS proxy with a nested job (a TCP
// connect job to the proxy) and then runs the SOCKS4, SOCKS4a or SOCKS5
// handshake for the destination (Chromium's SOCKSConnectJob).
//
// The job's own timer covers the handshake only: it is armed, for
// Timeouts.SOCKSTimeout (30 s by default), when the handshake starts,
// since the nested job has a timeout of its own. Any failure of the
// nested job is reported as ErrProxyConnectionFailed, Chromium's rule,
// so proxy fallback knows the proxy could not be reached; errors of the
// handshake are reported as they are.
type SOCKSConnectJob struct {
	connectJobBase
	common   *CommonConnectJobParams
	proxy    proxy.Server
	destHost string
	destPort uint16
	nestedFn NestedJob
	priority net.RequestPriority
	next     socksJobState

	nested ConnectJob
	// socks is the SOCKS socket while it handshakes; it owns the
	// transport taken from the nested job.
	socks     StreamSocket
	loadState net.LoadState
}

// socksNestedDelegate hears the nested job for a SOCKSConnectJob, so that
// the job itself need not export OnConnectJobComplete.
type socksNestedDelegate struct{ j *SOCKSConnectJob }

func (d socksNestedDelegate) OnConnectJobComplete(rv int, _ ConnectJob) { d.j.onIOComplete(rv) }

// NewSOCKSConnectJob makes a job that reaches destHost:destPort through
// the SOCKS proxy p (SchemeSOCKS4, SchemeSOCKS4a or SchemeSOCKS5; its
// Username and Password are the SOCKS4 user id and the SOCKS5 RFC 1929
// credentials). nested makes the job that connects to the proxy, usually
// a TransportConnectJob to p.Host:p.Port. group names the job in the
// NetLog.
func NewSOCKSConnectJob(c *CommonConnectJobParams, group GroupID, p proxy.Server, destHost string, destPort uint16, nested NestedJob, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob {
	j := &SOCKSConnectJob{common: c, proxy: p, destHost: destHost, destPort: destPort, nestedFn: nested, priority: priority}
	j.init(c.Loop, c.NetLog, netlog.SourceSOCKSConnectJob, group, c.Timeouts.SOCKSTimeout(), delegate)
	return j
}

// Connect implements ConnectJob.
func (j *SOCKSConnectJob) Connect() int {
	j.nl.BeginEvent(netlog.EventSOCKSConnectJobConnect, nil)
	j.next = socksJobStateTransportConnect
	rv := j.doLoop(net.OK)
	if rv != net.IOPending {
		j.complete(rv, false)
	}
	return rv
}

// LoadState implements ConnectJob: the nested job's while it runs, then
// LoadStateConnecting during the handshake.
func (j *SOCKSConnectJob) LoadState() net.LoadState {
	if j.nested != nil {
		return j.nested.LoadState()
	}
	return j.loadState
}

// Cancel implements ConnectJob: the nested job is cancelled, sockets are
// closed, and the delegate is not called.
func (j *SOCKSConnectJob) Cancel() {
	if j.done {
		return
	}
	j.closeAll()
	j.nl.EndEventWithNetErrorCode(netlog.EventSOCKSConnectJobConnect, int(net.ErrAborted))
	j.finish(int(net.ErrAborted))
}

func (j *SOCKSConnectJob) closeAll() {
	if j.nested != nil {
		j.nested.Cancel()
		// A nested job that already succeeded holds its socket until
		// taken; close it too.
		if s := j.nested.TakeSocket(); s != nil {
			s.Disconnect()
		}
		j.nested = nil
	}
	if j.socks != nil {
		j.socks.Disconnect()
		j.socks = nil
	}
}

func (j *SOCKSConnectJob) onIOComplete(rv int) {
	if j.done {
		return
	}
	rv = j.doLoop(rv)
	if rv != net.IOPending {
		j.complete(rv, true)
	}
}

func (j *SOCKSConnectJob) doLoop(rv int) int {
	for {
		state := j.next
		j.next = socksJobStateNone
		switch state {
		case socksJobStateTransportConnect:
			rv = j.doTransportConnect()
		case socksJobStateTransportConnectComplete:
			rv = j.doTransportConnectComplete(rv)
		case socksJobStateSOCKSConnect:
			rv = j.doSOCKSConnect()
		case socksJobStateSOCKSConnectComplete:
			rv = j.doSOCKSConnectComplete(rv)
		default:
			panic("socket: bad SOCKSConnectJob state")
		}
		if rv == net.IOPending || j.next == socksJobStateNone {
			return rv
		}
	}
}

func (j *SOCKSConnectJob) doTransportConnect() int {
	j.next = socksJobStateTransportConnectComplete
	j.nested = j.nestedFn(socksNestedDelegate{j})
	return j.nested.Connect()
}

func (j *SOCKSConnectJob) doTransportConnectComplete(rv int) int {
	if rv != net.OK {
		// Whatever kept us from the proxy (refused, not resolved, timed
		// out) is the proxy's failure, which is what proxy fallback needs
		// to hear; the nested job's NetLog keeps the original error.
		return int(net.ErrProxyConnectionFailed)
	}
	// The handshake gets its own time, however long the connect took.
	j.startTimer(func() { j.complete(int(net.ErrTimedOut), true) })
	j.next = socksJobStateSOCKSConnect
	return net.OK
}

func (j *SOCKSConnectJob) doSOCKSConnect() int {
	j.next = socksJobStateSOCKSConnectComplete
	j.loadState = net.LoadStateConnecting
	transport := j.nested.TakeSocket()
	j.nested = nil
	if transport == nil {
		return int(net.ErrUnexpected)
	}
	switch j.proxy.Scheme {
	case proxy.SchemeSOCKS5:
		j.socks = NewSOCKS5ClientSocket(transport, j.destHost, j.destPort, j.proxy.Username, j.proxy.Password)
	case proxy.SchemeSOCKS4, proxy.SchemeSOCKS4a:
		j.socks = NewSOCKSClientSocket(transport, j.destHost, j.destPort, j.proxy.Scheme == proxy.SchemeSOCKS4a,
			j.proxy.Username, j.common.Resolver, j.priority)
	default:
		transport.Disconnect()
		return int(net.ErrInvalidArgument)
	}
	return j.socks.Connect(j.onIOComplete)
}

func (j *SOCKSConnectJob) doSOCKSConnectComplete(rv int) int {
	if rv != net.OK {
		return rv
	}
	j.setSocket(j.socks)
	j.socks = nil
	return net.OK
}

// complete finishes the job; notify says whether the delegate must hear of
// it (not when Connect itself returns the result).
func (j *SOCKSConnectJob) complete(rv int, notify bool) {
	if j.done {
		return
	}
	if rv != net.OK {
		j.closeAll()
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventSOCKSConnectJobConnect, rv)
	j.finish(rv)
	if notify {
		j.delegate.OnConnectJobComplete(rv, j)
	}
}
