package socket

import (
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// ConnectJob makes one connected socket for a pool group: resolving the
// host, connecting, and (in later layers) TLS and proxy handshakes. Jobs are
// DoLoop state machines owned by the loop.
type ConnectJob interface {
	// Connect starts the job. It returns OK or an error when the job
	// finished synchronously; otherwise IOPending, and the delegate hears
	// the result later.
	Connect() int
	// TakeSocket hands over the connected socket after success.
	TakeSocket() StreamSocket
	// LoadState says what the job is waiting for.
	LoadState() net.LoadState
	// NetLog is the job's own source.
	NetLog() netlog.WithSource
	// Cancel abandons the job; the delegate will not be called.
	Cancel()
}

// ConnectJobDelegate hears when an asynchronous ConnectJob finishes.
type ConnectJobDelegate interface {
	OnConnectJobComplete(result int, job ConnectJob)
}

// ConnectJobFactory makes connect jobs for a pool.
type ConnectJobFactory interface {
	NewConnectJob(group GroupID, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob
}

// connectJobBase holds what every connect job shares: its NetLog source,
// the overall timeout and the delegate.
type connectJobBase struct {
	loop     *net.Loop
	nl       netlog.WithSource
	timeout  time.Duration
	timer    *net.DelayedTask
	delegate ConnectJobDelegate
	socket   StreamSocket
	done     bool
}

func (b *connectJobBase) init(loop *net.Loop, log *netlog.NetLog, t netlog.SourceType, group GroupID, timeout time.Duration, delegate ConnectJobDelegate) {
	b.loop, b.timeout, b.delegate = loop, timeout, delegate
	b.nl = netlog.NewSource(log, t)
	b.nl.BeginEvent(netlog.EventConnectJob, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"group_id": group.String()}
	})
}

// startTimer arms the job's timeout; onTimeout runs if it fires first.
func (b *connectJobBase) startTimer(onTimeout func()) {
	if b.timeout <= 0 {
		return
	}
	b.timer = b.loop.PostDelayed(b.timeout, func() {
		b.nl.AddEvent(netlog.EventConnectJobTimedOut, nil)
		onTimeout()
	})
}

func (b *connectJobBase) setSocket(s StreamSocket) {
	b.socket = s
	if s != nil {
		b.nl.AddEventReferencingSource(netlog.EventConnectJobSetSocket, s.NetLog().Source())
	}
}

// finish ends the job's span; it returns false if the job already ended.
func (b *connectJobBase) finish(rv int) bool {
	if b.done {
		return false
	}
	b.done = true
	b.timer.Cancel()
	b.nl.EndEventWithNetErrorCode(netlog.EventConnectJob, rv)
	return true
}

func (b *connectJobBase) TakeSocket() StreamSocket {
	s := b.socket
	b.socket = nil
	return s
}

func (b *connectJobBase) NetLog() netlog.WithSource { return b.nl }
