package socket

import (
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// Chromium's pool limits and idle timeouts.
const (
	DefaultMaxSocketsPerGroup = 6
	DefaultMaxSockets         = 256
	DefaultUnusedIdleTimeout  = 60 * time.Second
	DefaultUsedIdleTimeout    = 300 * time.Second
)

// Close reasons logged with SOCKET_POOL_CLOSING_SOCKET, Chromium's strings.
const (
	closeReasonIdleTimeLimit  = "Idle time limit expired"
	closeReasonRemoteClosed   = "Remote side closed connection"
	closeReasonDataReceived   = "Data received unexpectedly"
	closeReasonClosedOnReturn = "Connection was closed when it was returned to the pool"
	closeReasonPoolDestroyed  = "Socket pool destroyed"
	closeReasonMakeRoom       = "Closing idle socket to make room for another group"
)

// backupJobDelay is how long the first connect job of an empty group may
// go without connecting before a second one is started for the same
// request, to cover a lost SYN (Chromium's kMaxConnectRetryIntervalMs).
var backupJobDelay = 250 * time.Millisecond

// PoolOptions configure a ClientSocketPool; zero fields take Chromium's
// defaults.
type PoolOptions struct {
	MaxSockets         int
	MaxSocketsPerGroup int
	UnusedIdleTimeout  time.Duration
	UsedIdleTimeout    time.Duration
}

// ClientSocketPool hands out connected sockets by group, keeping idle
// keep-alive sockets for reuse and queueing requests by priority when a
// limit is reached (Chromium's TransportClientSocketPool). It is owned by
// the loop.
type ClientSocketPool struct {
	loop    *net.Loop
	nl      *netlog.NetLog
	name    string
	factory ConnectJobFactory
	opts    PoolOptions
	groups  map[GroupID]*group
	// handedOut, connecting and idle count sockets in the whole pool.
	handedOut, connecting, idle int
	now                         func() time.Time
}

type idleSocket struct {
	socket StreamSocket
	since  time.Time
}

type poolRequest struct {
	handle   *ClientSocketHandle
	cb       net.CompletionCallback
	priority net.RequestPriority
	flags    net.LoadFlags
	nl       netlog.WithSource
}

type group struct {
	id      GroupID
	idle    []idleSocket // oldest first
	jobs    []ConnectJob
	pending requestQueue
	active  int // sockets handed out
	// backupTimer starts a backup connect job (see backupJobDelay).
	backupTimer *net.DelayedTask
}

func (g *group) empty() bool {
	return len(g.idle) == 0 && len(g.jobs) == 0 && g.pending.Len() == 0 && g.active == 0
}

func (g *group) socketCount() int { return g.active + len(g.jobs) + len(g.idle) }

// NewClientSocketPool returns a pool whose connect jobs come from factory.
func NewClientSocketPool(loop *net.Loop, log *netlog.NetLog, name string, factory ConnectJobFactory, opts PoolOptions) *ClientSocketPool {
	if opts.MaxSockets <= 0 {
		opts.MaxSockets = DefaultMaxSockets
	}
	if opts.MaxSocketsPerGroup <= 0 {
		opts.MaxSocketsPerGroup = DefaultMaxSocketsPerGroup
	}
	if opts.UnusedIdleTimeout <= 0 {
		opts.UnusedIdleTimeout = DefaultUnusedIdleTimeout
	}
	if opts.UsedIdleTimeout <= 0 {
		opts.UsedIdleTimeout = DefaultUsedIdleTimeout
	}
	return &ClientSocketPool{
		loop: loop, nl: log, name: name, factory: factory, opts: opts,
		groups: make(map[GroupID]*group),
		now:    time.Now,
	}
}

func (p *ClientSocketPool) group(id GroupID) *group {
	g := p.groups[id]
	if g == nil {
		g = &group{id: id}
		p.groups[id] = g
	}
	return g
}

func (p *ClientSocketPool) removeGroupIfEmpty(g *group) {
	if g.empty() {
		g.backupTimer.Cancel()
		delete(p.groups, g.id)
	}
}

func (p *ClientSocketPool) totalSockets() int { return p.handedOut + p.connecting + p.idle }

// RequestSocket implements the pool side of ClientSocketHandle.Init.
func (p *ClientSocketPool) RequestSocket(id GroupID, priority net.RequestPriority, flags net.LoadFlags, handle *ClientSocketHandle, cb net.CompletionCallback, nl netlog.WithSource) int {
	nl.BeginEvent(netlog.EventSocketPool, nil)
	p.cleanupIdleSockets(false)
	g := p.group(id)
	req := &poolRequest{handle: handle, cb: cb, priority: priority, flags: flags, nl: nl}
	if p.assignIdleSocket(g, req) {
		return net.OK
	}
	// A connect job nobody is waiting for will serve this request.
	if len(g.jobs) > g.pending.Len() {
		p.enqueue(g, req)
		return net.IOPending
	}
	ignoreLimits := flags&net.LoadIgnoreLimits != 0 && priority == net.MaximumPriority
	if !ignoreLimits && g.socketCount() >= p.opts.MaxSocketsPerGroup {
		nl.AddEvent(netlog.EventSocketPoolStalledMaxSocketsPerGroup, nil)
		p.enqueue(g, req)
		return net.IOPending
	}
	if !ignoreLimits && p.totalSockets() >= p.opts.MaxSockets {
		if !p.closeOneIdleSocketExcept(g) {
			nl.AddEvent(netlog.EventSocketPoolStalledMaxSockets, nil)
			p.enqueue(g, req)
			return net.IOPending
		}
	}
	rv := p.startJob(g, req)
	if rv != net.IOPending {
		p.removeGroupIfEmpty(g)
	}
	return rv
}

// startJob creates a connect job on behalf of req. A synchronous success
// goes straight to req; otherwise req waits in the queue (late binding: the
// first job to finish serves the best waiting request).
func (p *ClientSocketPool) startJob(g *group, req *poolRequest) int {
	wasEmpty := g.socketCount() == 0
	job := p.newJob(g, req, false)
	rv := job.Connect()
	if rv == net.IOPending {
		p.enqueue(g, req)
		if wasEmpty {
			p.armBackupTimer(g)
		}
		return rv
	}
	p.removeJob(g, job)
	if rv == net.OK {
		p.handOut(g, req, job.TakeSocket(), Unused, 0)
		return net.OK
	}
	req.nl.EndEventWithNetErrorCode(netlog.EventSocketPool, rv)
	return rv
}

// newJob creates a connect job for g on behalf of req and counts it.
func (p *ClientSocketPool) newJob(g *group, req *poolRequest, backup bool) ConnectJob {
	job := p.factory.NewConnectJob(g.id, req.priority, p)
	job.NetLog().AddEvent(netlog.EventSocketPoolConnectJobCreated, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"backup_job": backup, "group_id": g.id.String()}
	})
	req.nl.AddEventReferencingSource(netlog.EventSocketPoolBoundToConnectJob, job.NetLog().Source())
	p.connecting++
	g.jobs = append(g.jobs, job)
	return job
}

func (p *ClientSocketPool) armBackupTimer(g *group) {
	g.backupTimer.Cancel()
	g.backupTimer = p.loop.PostDelayed(backupJobDelay, func() { p.onBackupTimer(g) })
}

// onBackupTimer starts a second connect job for the best waiting request
// when the group's first job is still connecting: the case a lost SYN
// makes. A job that resolves its host is given more time; one that got
// past TCP (a TLS handshake, a tunnel) needs no backup.
func (p *ClientSocketPool) onBackupTimer(g *group) {
	g.backupTimer = nil
	if p.groups[g.id] != g || len(g.jobs) == 0 || g.pending.Len() == 0 {
		return
	}
	switch g.jobs[0].LoadState() {
	case net.LoadStateResolvingHost:
		p.armBackupTimer(g)
		return
	case net.LoadStateConnecting:
	default:
		return
	}
	if g.socketCount() >= p.opts.MaxSocketsPerGroup || p.totalSockets() >= p.opts.MaxSockets {
		p.armBackupTimer(g)
		return
	}
	job := p.newJob(g, g.pending.Front(), true)
	if rv := job.Connect(); rv != net.IOPending {
		// Deliver like any asynchronous completion, after this task.
		p.loop.Post(func() { p.OnConnectJobComplete(rv, job) })
	}
}

func (p *ClientSocketPool) removeJob(g *group, job ConnectJob) bool {
	for i, j := range g.jobs {
		if j == job {
			g.jobs = append(g.jobs[:i], g.jobs[i+1:]...)
			p.connecting--
			return true
		}
	}
	return false
}

func (p *ClientSocketPool) enqueue(g *group, req *poolRequest) { g.pending.Push(req) }

// assignIdleSocket hands req the most recently used idle socket, or else the
// oldest unused one, closing idle sockets that can no longer be used.
func (p *ClientSocketPool) assignIdleSocket(g *group, req *poolRequest) bool {
	for {
		best := -1
		for i := len(g.idle) - 1; i >= 0; i-- {
			if g.idle[i].socket.WasEverUsed() {
				best = i
				break
			}
		}
		if best < 0 {
			if len(g.idle) == 0 {
				return false
			}
			best = 0
		}
		is := g.idle[best]
		g.idle = append(g.idle[:best], g.idle[best+1:]...)
		p.idle--
		if reason := p.unusableReason(is, p.now(), true); reason != "" {
			p.closeSocket(is.socket, reason)
			continue
		}
		reuse := UnusedIdle
		if is.socket.WasEverUsed() {
			reuse = ReusedIdle
		}
		idleFor := p.now().Sub(is.since)
		req.nl.AddEvent(netlog.EventSocketPoolReusedAnExistingSocket, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"idle_ms": idleFor.Milliseconds()}
		})
		p.handOut(g, req, is.socket, reuse, idleFor)
		return true
	}
}

// unusableReason says why an idle socket must be closed, "" if it may be
// reused. The idle-time check is free; the socket check asks the kernel, so
// it is made only for a socket about to be handed out (checkSocket), with a
// single peek on the fast path.
func (p *ClientSocketPool) unusableReason(is idleSocket, now time.Time, checkSocket bool) string {
	timeout := p.opts.UnusedIdleTimeout
	if is.socket.WasEverUsed() {
		timeout = p.opts.UsedIdleTimeout
	}
	if now.Sub(is.since) >= timeout {
		return closeReasonIdleTimeLimit
	}
	if !checkSocket || usable(is.socket) {
		return ""
	}
	if !is.socket.IsConnected() {
		return closeReasonRemoteClosed
	}
	return closeReasonDataReceived
}

// usable is Chromium's IdleSocket::IsUsable: a socket that carried a
// request must be connected with nothing unread; one that never did need
// only be connected, since a server may speak first (a TLS 1.3 session
// ticket arrives right after the handshake).
func usable(s StreamSocket) bool {
	if s.WasEverUsed() {
		return s.IsConnectedAndIdle()
	}
	return s.IsConnected()
}

func (p *ClientSocketPool) closeSocket(s StreamSocket, reason string) {
	if p.nl.IsCapturing() {
		s.NetLog().AddEventWithParams(netlog.EventSocketPoolClosingSocket, netlog.Params{"reason": reason})
	}
	s.Disconnect()
}

// cleanupIdleSockets closes idle sockets that sat idle too long, all of them
// when force is set. Chromium does this lazily, on request and release. A
// socket the server closed meanwhile is found when it is next handed out,
// so this sweep makes no system call.
func (p *ClientSocketPool) cleanupIdleSockets(force bool) {
	if p.idle == 0 {
		return
	}
	now := p.now()
	for _, g := range p.groups {
		kept := g.idle[:0]
		for _, is := range g.idle {
			reason := closeReasonPoolDestroyed
			if !force {
				reason = p.unusableReason(is, now, false)
			}
			if reason == "" {
				kept = append(kept, is)
				continue
			}
			p.idle--
			p.closeSocket(is.socket, reason)
		}
		for i := len(kept); i < len(g.idle); i++ {
			g.idle[i] = idleSocket{}
		}
		g.idle = kept
		p.removeGroupIfEmpty(g)
	}
}

// closeOneIdleSocketExcept closes the oldest idle socket of another group to
// make room under the pool's limit.
func (p *ClientSocketPool) closeOneIdleSocketExcept(except *group) bool {
	var victim *group
	for _, g := range p.groups {
		if g == except || len(g.idle) == 0 {
			continue
		}
		if victim == nil || g.idle[0].since.Before(victim.idle[0].since) {
			victim = g
		}
	}
	if victim == nil {
		return false
	}
	is := victim.idle[0]
	victim.idle = victim.idle[1:]
	p.idle--
	p.closeSocket(is.socket, closeReasonMakeRoom)
	p.removeGroupIfEmpty(victim)
	return true
}

func (p *ClientSocketPool) handOut(g *group, req *poolRequest, s StreamSocket, reuse ReuseType, idle time.Duration) {
	g.active++
	p.handedOut++
	req.handle.setSocket(s, reuse, idle)
	req.nl.EndEventReferencingSource(netlog.EventSocketPool, s.NetLog().Source())
	if p.nl.IsCapturing() {
		req.nl.AddEventReferencingSource(netlog.EventSocketPoolBoundToSocket, s.NetLog().Source())
	}
}

// complete delivers an asynchronous result to a waiting request. The
// callback is posted rather than run here: the pool may be in the middle of
// serving another request, and callbacks must never re-enter it.
func (p *ClientSocketPool) complete(req *poolRequest, rv int) {
	req.handle.pending = false
	cb := req.cb
	p.loop.Post(func() { cb(rv) })
}

// OnConnectJobComplete implements ConnectJobDelegate: the finished job's
// socket goes to the best waiting request of its group.
func (p *ClientSocketPool) OnConnectJobComplete(rv int, job ConnectJob) {
	var g *group
	for _, gg := range p.groups {
		for _, j := range gg.jobs {
			if j == job {
				g = gg
			}
		}
	}
	if g == nil {
		return
	}
	p.removeJob(g, job)
	if rv == net.OK {
		// The group has a connection now: no backup needed.
		g.backupTimer.Cancel()
		g.backupTimer = nil
		s := job.TakeSocket()
		if g.pending.Len() > 0 {
			req := g.pending.PopFront()
			p.handOut(g, req, s, Unused, 0)
			p.complete(req, net.OK)
		} else {
			g.idle = append(g.idle, idleSocket{socket: s, since: p.now()})
			p.idle++
		}
	} else if g.pending.Len() > 0 {
		req := g.pending.PopFront()
		req.nl.EndEventWithNetErrorCode(netlog.EventSocketPool, rv)
		p.complete(req, rv)
	}
	p.processPending(g)
	p.checkForStalledGroups()
	p.removeGroupIfEmpty(g)
}

// processPending starts connect jobs for waiting requests of g while the
// limits allow it.
func (p *ClientSocketPool) processPending(g *group) {
	for g.pending.Len() > len(g.jobs) {
		req := g.pending.At(len(g.jobs))
		if p.assignIdleSocketToPending(g) {
			continue
		}
		ignoreLimits := req.flags&net.LoadIgnoreLimits != 0 && req.priority == net.MaximumPriority
		if !ignoreLimits && (g.socketCount() >= p.opts.MaxSocketsPerGroup) {
			return
		}
		if !ignoreLimits && p.totalSockets() >= p.opts.MaxSockets && !p.closeOneIdleSocketExcept(g) {
			return
		}
		// Take the request out of the queue while its job starts, so a
		// synchronous result is delivered to it alone.
		g.pending.Remove(req)
		rv := p.startJob(g, req)
		if rv != net.IOPending {
			p.complete(req, rv)
		}
	}
}

func (p *ClientSocketPool) assignIdleSocketToPending(g *group) bool {
	if len(g.idle) == 0 || g.pending.Len() == 0 {
		return false
	}
	req := g.pending.Front()
	if !p.assignIdleSocket(g, req) {
		return false
	}
	g.pending.Remove(req)
	p.complete(req, net.OK)
	return true
}

// checkForStalledGroups serves groups that waited for room in the pool,
// highest pending priority first.
func (p *ClientSocketPool) checkForStalledGroups() {
	for p.totalSockets() < p.opts.MaxSockets || p.idle > 0 {
		var top *group
		for _, g := range p.groups {
			if g.pending.Len() <= len(g.jobs) || g.socketCount() >= p.opts.MaxSocketsPerGroup {
				continue
			}
			if top == nil || g.pending.At(len(g.jobs)).priority > top.pending.At(len(top.jobs)).priority {
				top = g
			}
		}
		if top == nil {
			return
		}
		before := top.pending.Len()
		p.processPending(top)
		if top.pending.Len() == before {
			return
		}
	}
}

// ReleaseSocket takes back a socket handed out for group id. A connected,
// idle socket is kept for reuse; anything else is closed.
func (p *ClientSocketPool) ReleaseSocket(id GroupID, s StreamSocket) {
	g := p.group(id)
	g.active--
	p.handedOut--
	if usable(s) {
		if g.pending.Len() > 0 {
			req := g.pending.PopFront()
			req.nl.AddEvent(netlog.EventSocketPoolReusedAnExistingSocket, func(netlog.CaptureMode) netlog.Params {
				return netlog.Params{"idle_ms": 0}
			})
			reuse := UnusedIdle
			if s.WasEverUsed() {
				reuse = ReusedIdle
			}
			p.handOut(g, req, s, reuse, 0)
			p.complete(req, net.OK)
		} else {
			g.idle = append(g.idle, idleSocket{socket: s, since: p.now()})
			p.idle++
		}
	} else {
		reason := closeReasonClosedOnReturn
		if s.IsConnected() {
			reason = closeReasonDataReceived
		}
		p.closeSocket(s, reason)
	}
	p.processPending(g)
	p.checkForStalledGroups()
	p.removeGroupIfEmpty(g)
}

// CancelRequest withdraws a waiting request. A connect job left without a
// request keeps running only if others still wait; its socket would be idle.
func (p *ClientSocketPool) CancelRequest(id GroupID, h *ClientSocketHandle) {
	g := p.groups[id]
	if g == nil {
		return
	}
	req := g.pending.Find(h)
	if req == nil {
		return
	}
	g.pending.Remove(req)
	req.nl.EndEventWithNetErrorCode(netlog.EventSocketPool, int(net.ErrAborted))
	if len(g.jobs) > g.pending.Len() && len(g.jobs) > 0 {
		job := g.jobs[len(g.jobs)-1]
		p.removeJob(g, job)
		job.Cancel()
	}
	p.checkForStalledGroups()
	p.removeGroupIfEmpty(g)
}

// SetPriority moves a waiting request to its new place in the queue.
func (p *ClientSocketPool) SetPriority(id GroupID, h *ClientSocketHandle, pri net.RequestPriority) {
	g := p.groups[id]
	if g == nil {
		return
	}
	req := g.pending.Find(h)
	if req == nil {
		return
	}
	g.pending.Remove(req)
	req.priority = pri
	p.enqueue(g, req)
}

// LoadState says what a waiting request is waiting for.
func (p *ClientSocketPool) LoadState(id GroupID, h *ClientSocketHandle) net.LoadState {
	g := p.groups[id]
	if g == nil {
		return net.LoadStateIdle
	}
	req := g.pending.Find(h)
	if req == nil {
		return net.LoadStateIdle
	}
	if g.pending.Index(req) < len(g.jobs) {
		best := net.LoadStateIdle
		for _, j := range g.jobs {
			if s := j.LoadState(); s > best {
				best = s
			}
		}
		return best
	}
	if g.socketCount() >= p.opts.MaxSocketsPerGroup {
		return net.LoadStateWaitingForAvailableSocket
	}
	return net.LoadStateWaitingForStalledSocketPool
}

// IdleSocketCount is the number of idle sockets in the pool.
func (p *ClientSocketPool) IdleSocketCount() int { return p.idle }

// Close cancels every connect job, fails waiting requests with ErrAborted
// and closes idle sockets. Sockets handed out stay with their users.
func (p *ClientSocketPool) Close() {
	for _, g := range p.groups {
		g.backupTimer.Cancel()
		for _, j := range g.jobs {
			j.Cancel()
			p.connecting--
		}
		g.jobs = nil
		for _, req := range g.pending.Drain() {
			req.nl.EndEventWithNetErrorCode(netlog.EventSocketPool, int(net.ErrAborted))
			p.complete(req, int(net.ErrAborted))
		}
	}
	p.cleanupIdleSockets(true)
}

// Info describes the pool for polledData.socketPoolInfo, in the shape
// netlog-viewer's Sockets tab reads.
func (p *ClientSocketPool) Info() netlog.Params {
	groups := netlog.Params{}
	for id, g := range p.groups {
		idle := make([]int, len(g.idle))
		for i, is := range g.idle {
			idle[i] = int(is.socket.NetLog().Source().ID)
		}
		connectJobs := make([]int, len(g.jobs))
		for i, j := range g.jobs {
			connectJobs[i] = int(j.NetLog().Source().ID)
		}
		gi := netlog.Params{
			"pending_request_count":       g.pending.Len(),
			"active_socket_count":         g.active,
			"idle_sockets":                idle,
			"connect_jobs":                connectJobs,
			"is_stalled":                  g.pending.Len() > len(g.jobs),
			"backup_job_timer_is_running": g.backupTimer != nil,
		}
		if g.pending.Len() > 0 {
			gi["top_pending_priority"] = g.pending.Front().priority.String()
		}
		groups[id.String()] = gi
	}
	return netlog.Params{
		"name":                    p.name,
		"type":                    "TransportClientSocketPool",
		"handed_out_socket_count": p.handedOut,
		"connecting_socket_count": p.connecting,
		"idle_socket_count":       p.idle,
		"max_socket_count":        p.opts.MaxSockets,
		"max_sockets_per_group":   p.opts.MaxSocketsPerGroup,
		"pool_generation_number":  0,
		"groups":                  groups,
	}
}
