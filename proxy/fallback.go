package proxy

import "github.com/netfetch/netfetch/net"

// CanFallOver says whether a request whose route failed with err may try
// the next route of its list, and the error to report otherwise (Chromium's
// CanFalloverToNextProxy). Failures that show the proxy itself is
// unreachable or broken fall over; failures the destination caused, such
// as a tunnel the proxy refused, do not, since another proxy would reach
// the same destination.
func CanFallOver(err int) (ok bool, finalErr int) {
	switch net.Error(err) {
	case net.ErrSOCKSConnectionHostUnreachable:
		// The proxy works; the destination is what is unreachable.
		return false, int(net.ErrAddressUnreachable)
	case net.ErrProxyConnectionFailed,
		net.ErrNameNotResolved,
		net.ErrInternetDisconnected,
		net.ErrAddressUnreachable,
		net.ErrConnectionClosed,
		net.ErrConnectionTimedOut,
		net.ErrConnectionReset,
		net.ErrConnectionRefused,
		net.ErrConnectionAborted,
		net.ErrTimedOut,
		net.ErrSOCKSConnectionFailed,
		net.ErrProxyCertificateInvalid,
		net.ErrSSLProtocolError:
		return true, err
	}
	return false, err
}
