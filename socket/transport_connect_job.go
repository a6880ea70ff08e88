package socket

import (
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// DefaultTransportConnectTimeout is Chromium's TransportConnectJob timeout;
// operating systems give up on a single connect anywhere from 20 s to 190 s.
const DefaultTransportConnectTimeout = 4 * time.Minute

type transportState int

const (
	transportStateNone transportState = iota
	transportStateResolveHost
	transportStateResolveHostComplete
	transportStateTransportConnect
	transportStateTransportConnectComplete
)

// TransportConnectJob resolves the group's host and connects a TCP socket to
// the resulting addresses.
type TransportConnectJob struct {
	connectJobBase
	group     GroupID
	priority  net.RequestPriority
	resolver  dns.HostResolver
	request   dns.ResolveHostRequest
	next      transportState
	loadState net.LoadState
	tcp       *TCPClientSocket
	addresses net.AddressList
}

// TransportConnectJobFactory makes TransportConnectJobs.
type TransportConnectJobFactory struct {
	Loop     *net.Loop
	NetLog   *netlog.NetLog
	Resolver dns.HostResolver
	// Timeout overrides DefaultTransportConnectTimeout when positive.
	Timeout time.Duration
}

// NewConnectJob implements ConnectJobFactory.
func (f *TransportConnectJobFactory) NewConnectJob(group GroupID, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTransportConnectTimeout
	}
	j := &TransportConnectJob{group: group, priority: priority, resolver: f.Resolver}
	j.init(f.Loop, f.NetLog, netlog.SourceTransportConnectJob, group, timeout, delegate)
	return j
}

// Connect implements ConnectJob.
func (j *TransportConnectJob) Connect() int {
	j.nl.BeginEvent(netlog.EventTransportConnectJobConnect, nil)
	j.startTimer(func() { j.complete(int(net.ErrTimedOut), true) })
	j.next = transportStateResolveHost
	rv := j.doLoop(net.OK)
	if rv != net.IOPending {
		j.complete(rv, false)
	}
	return rv
}

// LoadState implements ConnectJob.
func (j *TransportConnectJob) LoadState() net.LoadState { return j.loadState }

// Cancel implements ConnectJob.
func (j *TransportConnectJob) Cancel() {
	if j.done {
		return
	}
	if j.request != nil {
		j.request.Cancel()
	}
	if j.tcp != nil {
		j.tcp.Disconnect()
		j.tcp = nil
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventTransportConnectJobConnect, int(net.ErrAborted))
	j.finish(int(net.ErrAborted))
}

func (j *TransportConnectJob) onIOComplete(rv int) {
	rv = j.doLoop(rv)
	if rv != net.IOPending {
		j.complete(rv, true)
	}
}

func (j *TransportConnectJob) doLoop(rv int) int {
	for {
		state := j.next
		j.next = transportStateNone
		switch state {
		case transportStateResolveHost:
			rv = j.doResolveHost()
		case transportStateResolveHostComplete:
			rv = j.doResolveHostComplete(rv)
		case transportStateTransportConnect:
			rv = j.doTransportConnect()
		case transportStateTransportConnectComplete:
			rv = j.doTransportConnectComplete(rv)
		default:
			panic("socket: bad TransportConnectJob state")
		}
		if rv == net.IOPending || j.next == transportStateNone {
			return rv
		}
	}
}

func (j *TransportConnectJob) doResolveHost() int {
	j.next = transportStateResolveHostComplete
	j.loadState = net.LoadStateResolvingHost
	j.request = j.resolver.CreateRequest(j.group.Host, j.group.Port, dns.ResolveParams{Priority: j.priority, Scheme: j.group.Scheme}, j.nl)
	return j.request.Start(j.onIOComplete)
}

func (j *TransportConnectJob) doResolveHostComplete(rv int) int {
	if rv != net.OK {
		return rv
	}
	j.addresses = j.request.Addresses()
	j.request = nil
	j.next = transportStateTransportConnect
	return net.OK
}

func (j *TransportConnectJob) doTransportConnect() int {
	j.next = transportStateTransportConnectComplete
	j.loadState = net.LoadStateConnecting
	j.tcp = NewTCPClientSocket(j.loop, j.addresses, j.nl.NetLog(), j.nl.Source())
	return j.tcp.Connect(j.onIOComplete)
}

func (j *TransportConnectJob) doTransportConnectComplete(rv int) int {
	if rv != net.OK {
		j.tcp.Disconnect()
		j.tcp = nil
		return rv
	}
	j.setSocket(j.tcp)
	j.tcp = nil
	return net.OK
}

// complete finishes the job; notify says whether the delegate must hear of
// it (not when Connect itself returns the result).
func (j *TransportConnectJob) complete(rv int, notify bool) {
	if j.done {
		return
	}
	if rv != net.OK {
		if j.request != nil {
			j.request.Cancel()
			j.request = nil
		}
		if j.tcp != nil {
			j.tcp.Disconnect()
			j.tcp = nil
		}
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventTransportConnectJobConnect, rv)
	j.finish(rv)
	if notify {
		j.delegate.OnConnectJobComplete(rv, j)
	}
}
