package net

import (
	"net/netip"
	"strings"
)

// AddressList is the ordered list of endpoints a host name resolved to, each
// with the port to connect to.
type AddressList []netip.AddrPort

// Strings returns the endpoints as "ip:port" strings, as NetLog parameters
// show them.
func (l AddressList) Strings() []string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.String()
	}
	return out
}

// String joins the endpoints with ", ".
func (l AddressList) String() string { return strings.Join(l.Strings(), ", ") }

// AddressFamily is Chromium's address family enumeration, used in NetLog
// parameters.
type AddressFamily int

// Chromium's address families.
const (
	AddressFamilyUnspecified AddressFamily = 0
	AddressFamilyIPv4        AddressFamily = 1
	AddressFamilyIPv6        AddressFamily = 2
)
