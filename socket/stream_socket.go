package socket

import (
	"net/netip"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// StreamSocket is a connected byte stream (TCP, later TLS or a tunnel) with
// Chromium's asynchronous contract: Read and Write return a byte count or an
// error at once when they can, else IOPending and the callback runs later
// on the loop. The buffer passed to a pending Read or Write belongs to the
// socket until its callback runs.
type StreamSocket interface {
	// Connect connects the socket.
	Connect(cb net.CompletionCallback) int
	// Read reads up to len(buf) bytes; 0 means the peer closed the stream.
	Read(buf []byte, cb net.CompletionCallback) int
	// Write writes some of buf and returns how many bytes it took.
	Write(buf []byte, cb net.CompletionCallback) int
	// Disconnect closes the socket; pending callbacks will not run.
	Disconnect()
	// IsConnected reports whether the socket is connected.
	IsConnected() bool
	// IsConnectedAndIdle reports whether the socket is connected and has
	// no unread data, so it can be reused for a new request.
	IsConnectedAndIdle() bool
	// WasEverUsed reports whether any byte was read or written.
	WasEverUsed() bool
	// PeerAddress is the remote endpoint.
	PeerAddress() netip.AddrPort
	// LocalAddress is the local endpoint.
	LocalAddress() netip.AddrPort
	// NetLog is the socket's own source.
	NetLog() netlog.WithSource
	// NegotiatedProtocol is the ALPN protocol, "" when none was negotiated.
	NegotiatedProtocol() string
}
