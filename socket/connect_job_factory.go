package socket

import (
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/proxy"
)

// ChainJobFactory makes the connect jobs of one pool: the nesting of layers
// its proxy chain and each group's scheme call for (Chromium's
// ConnectJobFactory with ConnectJobParamsFactory):
//
//	direct:                 TCP(origin)               [TLS(origin) for https]
//	SOCKS proxy:            SOCKS(TCP(proxy))         [TLS(origin) on top]
//	HTTP(S) proxy, http://: TCP(proxy) [TLS(proxy)]   (absolute-URI requests)
//	HTTP(S) proxy, https:// TLS(origin, CONNECT tunnel(TCP(proxy) [TLS(proxy)]))
type ChainJobFactory struct {
	c     *CommonConnectJobParams
	chain proxy.Chain
}

// NewChainJobFactory returns the factory of a pool for chain.
func NewChainJobFactory(c *CommonConnectJobParams, chain proxy.Chain) *ChainJobFactory {
	return &ChainJobFactory{c: c, chain: chain}
}

// proxyTLS is the parameters of a TLS connection to an HTTPS proxy: it
// offers HTTP/1.1 alone, since CONNECT is spoken over HTTP/1.1 here (not
// over an HTTP/2 stream).
func (f *ChainJobFactory) proxyTLS() *CommonConnectJobParams {
	c := *f.c
	ssl := SSLConfig{}
	if f.c.SSL != nil {
		ssl = *f.c.SSL
	}
	ssl.ALPN = []string{"http/1.1"}
	c.SSL = &ssl
	return &c
}

// NewConnectJob implements ConnectJobFactory.
func (f *ChainJobFactory) NewConnectJob(group GroupID, priority net.RequestPriority, delegate ConnectJobDelegate) ConnectJob {
	c := f.c
	secure := group.Scheme == "https" || group.Scheme == "wss"
	hop := f.chain.Last()
	var reach NestedJob // the connection the origin's bytes (or its TLS) travel on
	switch {
	case hop.IsDirect():
		reach = func(d ConnectJobDelegate) ConnectJob {
			return NewTransportConnectJob(c, group, group.Host, group.Port, priority, d)
		}
	case hop.Scheme.IsSOCKS():
		toProxy := func(d ConnectJobDelegate) ConnectJob {
			return NewTransportConnectJob(c, group, hop.Host, hop.Port, priority, d)
		}
		reach = func(d ConnectJobDelegate) ConnectJob {
			return NewSOCKSConnectJob(c, group, hop, group.Host, group.Port, toProxy, priority, d)
		}
	default: // HTTP or HTTPS proxy
		toProxy := func(d ConnectJobDelegate) ConnectJob {
			return NewTransportConnectJob(c, group, hop.Host, hop.Port, priority, d)
		}
		if hop.Scheme == proxy.SchemeHTTPS {
			tcp := toProxy
			toProxyTLS := f.proxyTLS()
			toProxy = func(d ConnectJobDelegate) ConnectJob {
				return NewSSLConnectJob(toProxyTLS, group, hop.Host, hop.Port, tcp, priority, d)
			}
		}
		reach = toProxy
		if secure {
			reach = func(d ConnectJobDelegate) ConnectJob {
				return c.Tunnels.NewTunnelJob(c, group, hop, group.Host, group.Port, toProxy, priority, d)
			}
		}
	}
	if secure {
		return NewSSLConnectJob(c, group, group.Host, group.Port, reach, priority, delegate)
	}
	return reach(delegate)
}
