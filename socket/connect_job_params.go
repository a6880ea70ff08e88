package socket

import (
	"crypto/tls"
	"crypto/x509"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// Chromium's connect job timeouts, one per layer; each is armed when its
// layer starts (a TLS handshake gets 30 s after the TCP connect, however
// long that took).
const (
	DefaultTLSHandshakeTimeout = 30 * time.Second
	DefaultSOCKSTimeout        = 30 * time.Second
	DefaultTunnelTimeout       = 30 * time.Second
)

// Timeouts override the per-layer connect job timeouts; zero fields keep
// Chromium's.
type Timeouts struct {
	TCP    time.Duration
	TLS    time.Duration
	SOCKS  time.Duration
	Tunnel time.Duration
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (t Timeouts) tcp() time.Duration    { return orDefault(t.TCP, DefaultTransportConnectTimeout) }
func (t Timeouts) tls() time.Duration    { return orDefault(t.TLS, DefaultTLSHandshakeTimeout) }
func (t Timeouts) socks() time.Duration  { return orDefault(t.SOCKS, DefaultSOCKSTimeout) }
func (t Timeouts) tunnel() time.Duration { return orDefault(t.Tunnel, DefaultTunnelTimeout) }

// TCPTimeout is the TCP connect job timeout in force.
func (t Timeouts) TCPTimeout() time.Duration { return t.tcp() }

// TLSTimeout is the TLS handshake timeout in force.
func (t Timeouts) TLSTimeout() time.Duration { return t.tls() }

// SOCKSTimeout is the SOCKS handshake timeout in force.
func (t Timeouts) SOCKSTimeout() time.Duration { return t.socks() }

// TunnelTimeout is the HTTP CONNECT tunnel timeout in force.
func (t Timeouts) TunnelTimeout() time.Duration { return t.tunnel() }

// SSLConfig is the TLS configuration every TLS connect job of a session
// shares (Chromium's SSLConfig with its SSLClientContext).
type SSLConfig struct {
	// RootCAs adds to nothing: nil means the system roots.
	RootCAs *x509.CertPool
	// Insecure skips certificate verification (curl's -k).
	Insecure bool
	// SessionCache lets handshakes resume earlier sessions.
	SessionCache tls.ClientSessionCache
	// ALPN is the protocols offered, "h2" and "http/1.1" by default.
	ALPN []string
}

// CommonConnectJobParams is what every connect job of a session shares.
type CommonConnectJobParams struct {
	Loop     *net.Loop
	NetLog   *netlog.NetLog
	Resolver dns.HostResolver
	Timeouts Timeouts
	SSL      *SSLConfig
	// Tunnels makes HTTP CONNECT jobs; it lives in package http because it
	// speaks HTTP.
	Tunnels TunnelJobFactory
}

// NestedJob builds the connect job a layer runs first (TLS runs over TCP,
// over SOCKS, or over a tunnel); the layer passes itself as delegate.
type NestedJob func(delegate ConnectJobDelegate) ConnectJob

// TunnelJobFactory makes connect jobs that open an HTTP CONNECT tunnel to
// destHost:destPort through an HTTP or HTTPS proxy, running nested to
// reach the proxy first.
type TunnelJobFactory interface {
	NewTunnelJob(c *CommonConnectJobParams, group GroupID, proxy proxy.Server, destHost string, destPort uint16, nested NestedJob, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob
}
