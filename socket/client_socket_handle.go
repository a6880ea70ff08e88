package socket

import (
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// ReuseType says where a handed-out socket came from.
type ReuseType int

// Chromium's reuse types.
const (
	// Unused is a socket connected for this request.
	Unused ReuseType = iota
	// UnusedIdle is a socket connected earlier (a late-bound or preconnected
	// job) that never carried a request.
	UnusedIdle
	// ReusedIdle is a keep-alive socket that already carried a request.
	ReusedIdle
)

// ClientSocketHandle is a request's claim on a pooled socket: Init asks the
// pool for one, Reset gives it back (or cancels the wait).
type ClientSocketHandle struct {
	pool      *ClientSocketPool
	group     GroupID
	socket    StreamSocket
	reuseType ReuseType
	idleTime  time.Duration
	pending   bool
	cb        net.CompletionCallback
	// seq changes on Reset, so a result posted for an abandoned request is
	// not delivered to a later one.
	seq uint64
	nl  netlog.WithSource
}

// Init requests a socket for group from pool. It returns OK when a socket
// was ready, an error, or IOPending and later calls cb on the loop.
func (h *ClientSocketHandle) Init(group GroupID, priority net.RequestPriority, flags net.LoadFlags, pool *ClientSocketPool, cb net.CompletionCallback, nl netlog.WithSource) int {
	h.Reset()
	h.pool, h.group, h.nl = pool, group, nl
	seq := h.seq
	rv := pool.RequestSocket(group, priority, flags, h, func(rv int) {
		if h.seq == seq {
			h.onComplete(rv)
		}
	}, nl)
	if rv == net.IOPending {
		h.pending = true
		h.cb = cb
	}
	return rv
}

func (h *ClientSocketHandle) onComplete(rv int) {
	cb := h.cb
	h.cb = nil
	cb(rv)
}

// Socket returns the socket after a successful Init.
func (h *ClientSocketHandle) Socket() StreamSocket { return h.socket }

// IsInitialized reports whether the handle holds a socket.
func (h *ClientSocketHandle) IsInitialized() bool { return h.socket != nil }

// ReuseType says where the socket came from.
func (h *ClientSocketHandle) ReuseType() ReuseType { return h.reuseType }

// IsReused reports whether the socket carried a request before, so a
// failure before any response byte may be a keep-alive race worth a retry.
func (h *ClientSocketHandle) IsReused() bool { return h.reuseType == ReusedIdle }

// IdleTime is how long the socket sat idle before this request took it.
func (h *ClientSocketHandle) IdleTime() time.Duration { return h.idleTime }

// SetPriority changes the priority of a request still waiting in the pool.
func (h *ClientSocketHandle) SetPriority(p net.RequestPriority) {
	if h.pending {
		h.pool.SetPriority(h.group, h, p)
	}
}

// LoadState says what the handle is waiting for.
func (h *ClientSocketHandle) LoadState() net.LoadState {
	if !h.pending {
		return net.LoadStateIdle
	}
	return h.pool.LoadState(h.group, h)
}

// Reset gives the socket back to the pool, which keeps it for reuse if it is
// still connected and idle, or cancels a pending request. The caller must
// Disconnect a socket that must not be reused before calling Reset.
func (h *ClientSocketHandle) Reset() {
	if h.pool == nil {
		h.seq++
		return
	}
	if h.pending {
		h.pool.CancelRequest(h.group, h)
	} else if h.socket != nil {
		h.socket.NetLog().EndEvent(netlog.EventSocketInUse, nil)
		h.pool.ReleaseSocket(h.group, h.socket)
	}
	*h = ClientSocketHandle{seq: h.seq + 1}
}

func (h *ClientSocketHandle) setSocket(s StreamSocket, reuse ReuseType, idle time.Duration) {
	h.socket, h.reuseType, h.idleTime = s, reuse, idle
	src := h.nl.Source()
	s.NetLog().BeginEvent(netlog.EventSocketInUse, func(netlog.CaptureMode) netlog.Params {
		if src.IsValid() {
			return src.DependencyParams()
		}
		return nil
	})
}
