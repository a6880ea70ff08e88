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

// ipv6FallbackDelay is how long IPv6 addresses get alone before IPv4 ones
// are tried in parallel (happy eyeballs; Chromium's kIPv6FallbackTime).
var ipv6FallbackDelay = 300 * time.Millisecond

type transportState int

const (
	transportStateNone transportState = iota
	transportStateResolveHost
	transportStateResolveHostComplete
	transportStateTransportConnect
	transportStateTransportConnectComplete
)

// TransportConnectJob resolves a host (the destination, or the first proxy)
// and connects a TCP socket to the resulting addresses.
type TransportConnectJob struct {
	connectJobBase
	group     GroupID
	host      string
	port      uint16
	priority  net.RequestPriority
	resolver  dns.HostResolver
	request   dns.ResolveHostRequest
	next      transportState
	loadState net.LoadState
	addresses net.AddressList

	// Happy eyeballs: the first family's socket (IPv6 when there is any),
	// the other family's, started after ipv6FallbackDelay or when the
	// first fails, and the timer between them.
	tcp           *TCPClientSocket
	fallback      *TCPClientSocket
	fallbackAddrs net.AddressList
	fallbackTimer *net.DelayedTask
	fallbackBegun bool
	primaryErr    int
	fallbackErr   int
	winner        *TCPClientSocket
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
	common := &CommonConnectJobParams{Loop: f.Loop, NetLog: f.NetLog, Resolver: f.Resolver, Timeouts: Timeouts{TCP: f.Timeout}}
	return NewTransportConnectJob(common, group, group.Host, group.Port, priority, delegate)
}

// NewTransportConnectJob makes a job that connects to host:port on behalf
// of group (the group names the job in the NetLog).
func NewTransportConnectJob(c *CommonConnectJobParams, group GroupID, host string, port uint16, priority net.RequestPriority, delegate ConnectJobDelegate) *TransportConnectJob {
	j := &TransportConnectJob{group: group, host: host, port: port, priority: priority, resolver: c.Resolver}
	j.init(c.Loop, c.NetLog, netlog.SourceTransportConnectJob, group, c.Timeouts.tcp(), delegate)
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
	j.closeAttempts()
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
	j.request = j.resolver.CreateRequest(j.host, j.port, dns.ResolveParams{Priority: j.priority, Scheme: j.group.Scheme}, j.nl)
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

// doTransportConnect connects with happy eyeballs: when the host has IPv6
// addresses they are tried first, and the IPv4 ones start 300 ms later, or
// at once if IPv6 fails first; the first connection wins.
func (j *TransportConnectJob) doTransportConnect() int {
	j.next = transportStateTransportConnectComplete
	j.loadState = net.LoadStateConnecting
	var v6, v4 net.AddressList
	for _, a := range j.addresses {
		if a.Addr().Is6() {
			v6 = append(v6, a)
		} else {
			v4 = append(v4, a)
		}
	}
	primary := j.addresses
	if len(v6) > 0 && len(v4) > 0 {
		primary, j.fallbackAddrs = v6, v4
		j.fallbackTimer = j.loop.PostDelayed(ipv6FallbackDelay, j.startFallback)
	}
	j.tcp = NewTCPClientSocket(j.loop, primary, j.nl.NetLog(), j.nl.Source())
	rv := j.tcp.Connect(j.onPrimaryConnected)
	if rv != net.IOPending {
		// Only an empty address list fails synchronously.
		j.fallbackTimer.Cancel()
		j.winner = j.tcp
		return rv
	}
	return net.IOPending
}

func (j *TransportConnectJob) startFallback() {
	if j.fallbackBegun || j.fallbackAddrs == nil || j.done {
		return
	}
	j.fallbackBegun = true
	j.fallbackTimer.Cancel()
	j.nl.AddEvent(netlog.EventTransportConnectJobIPV6Fallback, nil)
	j.fallback = NewTCPClientSocket(j.loop, j.fallbackAddrs, j.nl.NetLog(), j.nl.Source())
	if rv := j.fallback.Connect(j.onFallbackConnected); rv != net.IOPending {
		j.loop.Post(func() { j.onFallbackConnected(rv) })
	}
}

func (j *TransportConnectJob) onPrimaryConnected(rv int) {
	if rv == net.OK {
		j.settle(j.tcp, j.fallback)
		return
	}
	j.primaryErr = rv
	j.tcp.Disconnect()
	j.tcp = nil
	switch {
	case j.fallbackAddrs != nil && !j.fallbackBegun:
		j.startFallback()
	case j.fallback == nil:
		// No other family, or it failed already.
		j.onIOComplete(rv)
	}
}

func (j *TransportConnectJob) onFallbackConnected(rv int) {
	if j.fallback == nil {
		return
	}
	if rv == net.OK {
		j.settle(j.fallback, j.tcp)
		return
	}
	j.fallbackErr = rv
	j.fallback.Disconnect()
	j.fallback = nil
	if j.tcp == nil {
		j.onIOComplete(rv)
	}
}

// settle keeps the winning socket and closes the other attempt.
func (j *TransportConnectJob) settle(winner, loser *TCPClientSocket) {
	j.fallbackTimer.Cancel()
	if loser != nil {
		loser.Disconnect()
	}
	j.tcp, j.fallback, j.winner = nil, nil, winner
	j.onIOComplete(net.OK)
}

func (j *TransportConnectJob) doTransportConnectComplete(rv int) int {
	if rv != net.OK {
		return rv
	}
	j.setSocket(j.winner)
	j.winner = nil
	return net.OK
}

// closeAttempts drops every socket still connecting.
func (j *TransportConnectJob) closeAttempts() {
	j.fallbackTimer.Cancel()
	for _, s := range []*TCPClientSocket{j.tcp, j.fallback, j.winner} {
		if s != nil {
			s.Disconnect()
		}
	}
	j.tcp, j.fallback, j.winner = nil, nil, nil
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
		j.closeAttempts()
	}
	j.nl.EndEventWithNetErrorCode(netlog.EventTransportConnectJobConnect, rv)
	j.finish(rv)
	if notify {
		j.delegate.OnConnectJobComplete(rv, j)
	}
}
