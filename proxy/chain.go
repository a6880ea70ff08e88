package proxy

import "strings"

// Chain is the proxies a connection goes through, first hop first
// (Chromium's ProxyChain). A chain of one DIRECT server is the direct route;
// socket pools are kept per chain.
type Chain []Server

// DirectChain is the chain of a direct connection.
func DirectChain() Chain { return Chain{Direct()} }

// IsDirect reports whether the chain is the direct route.
func (c Chain) IsDirect() bool { return len(c) == 1 && c[0].IsDirect() }

// String is Chromium's NetLog form, e.g. "[socks5://proxy:1080]" or
// "[direct://]".
func (c Chain) String() string {
	parts := make([]string, len(c))
	for i, s := range c {
		parts[i] = s.URI()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Key identifies the chain for maps (pool per chain), credentials
// included, since a pool's sockets carry the credentials they were made
// with.
func (c Chain) Key() string {
	var b strings.Builder
	for _, s := range c {
		b.WriteString(s.URI())
		b.WriteByte('|')
		b.WriteString(s.Username)
		b.WriteByte('|')
		b.WriteString(s.Password)
		b.WriteByte(';')
	}
	return b.String()
}

// Last is the hop nearest the destination.
func (c Chain) Last() Server { return c[len(c)-1] }

// PACString is the chain in PAC form (single-hop chains only have one).
func (c Chain) PACString() string {
	parts := make([]string, len(c))
	for i, s := range c {
		parts[i] = s.PACString()
	}
	return strings.Join(parts, " ")
}
