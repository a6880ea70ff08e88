package proxy

// Info is the outcome of proxy resolution for one URL (Chromium's
// ProxyInfo): the routes to try, in order. Only DIRECT exists so far.
type Info struct {
	direct bool
}

// DirectInfo is the Info that connects straight to the origin.
func DirectInfo() Info { return Info{direct: true} }

// IsDirect reports whether the first route is DIRECT.
func (i Info) IsDirect() bool { return i.direct }

// String is the PAC form Chromium logs as proxy_info, e.g. "DIRECT".
func (i Info) String() string {
	if i.direct {
		return "DIRECT"
	}
	return ""
}

// ChainString is the proxy chain as Chromium's NetLog prints it,
// "[direct://]" for a direct connection.
func (i Info) ChainString() string {
	if i.direct {
		return "[direct://]"
	}
	return "[]"
}
