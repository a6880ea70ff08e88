package proxy

import "strings"

// List is the routes to try in order (Chromium's ProxyList).
type List []Chain

// PACString is the list in PAC result form, "PROXY a:80; DIRECT".
func (l List) PACString() string {
	parts := make([]string, len(l))
	for i, c := range l {
		parts[i] = c.PACString()
	}
	return strings.Join(parts, "; ")
}

// Info is the outcome of proxy resolution for one URL (Chromium's
// ProxyInfo): the list of routes and which one is being tried.
type Info struct {
	list List
	idx  int
}

// DirectInfo is the Info that connects straight to the origin.
func DirectInfo() Info { return Info{list: List{DirectChain()}} }

// UseList makes the Info try l in order.
func (i *Info) UseList(l List) { i.list, i.idx = l, 0 }

// UseChain makes the Info try c alone.
func (i *Info) UseChain(c Chain) { i.UseList(List{c}) }

// IsEmpty reports whether nothing is left to try.
func (i Info) IsEmpty() bool { return i.idx >= len(i.list) }

// Chain is the route being tried.
func (i Info) Chain() Chain {
	if i.IsEmpty() {
		return nil
	}
	return i.list[i.idx]
}

// IsDirect reports whether the route being tried is direct.
func (i Info) IsDirect() bool { return !i.IsEmpty() && i.Chain().IsDirect() }

// List returns the routes left to try, the current one first.
func (i Info) List() List { return i.list[i.idx:] }

// Fallback moves to the next route, reporting false when none is left.
func (i *Info) Fallback() bool {
	i.idx++
	return !i.IsEmpty()
}

// String is the PAC form Chromium logs as proxy_info, e.g.
// "PROXY proxy:8080; DIRECT".
func (i Info) String() string { return i.List().PACString() }

// ChainString is the current chain as Chromium's NetLog prints it,
// "[direct://]" for a direct connection.
func (i Info) ChainString() string {
	if i.IsEmpty() {
		return "[]"
	}
	return i.Chain().String()
}
