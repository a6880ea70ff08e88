package pac

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// parseIPLiteral parses s as Chromium's IPAddress::AssignFromIPLiteral does:
// with a colon it must be an IPv6 literal (no brackets, no zone); otherwise it
// is an IPv4 address in any form the URL standard accepts ("127.1",
// "0x7f.0.0.1", "2130706433", a trailing dot). Scripts pass such strings to
// isPlainHostName, sortIpAddressList and isInNetEx, so the forms matter.
func parseIPLiteral(s string) (netip.Addr, bool) {
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" || !a.Is6() {
			return netip.Addr{}, false
		}
		return a, true
	}
	return parseIPv4Literal(s)
}

// parseIPv4Literal implements the URL standard's IPv4 parser: one to four
// dot-separated numbers, each decimal, octal (leading 0) or hex (0x); all but
// the last fit a byte, the last fills the remaining bytes.
func parseIPv4Literal(s string) (netip.Addr, bool) {
	s = strings.TrimSuffix(s, ".")
	if s == "" {
		return netip.Addr{}, false
	}
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		rest := uint(8 * (5 - len(parts)))
		if n >= 1<<rest {
			return netip.Addr{}, false
		}
		v = v<<rest | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// parseIPv4Number parses one IPv4 component; values above 2^32-1 fail.
func parseIPv4Number(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'):
		base, p = 16, p[2:]
		if p == "" {
			return 0, true // "0x" alone is zero in the URL standard
		}
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	case p == "":
		return 0, false
	}
	// With an explicit base ParseUint takes neither signs nor underscores.
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// isPlainHostName is Chromium's: no dot, and not an IP literal (so "::1" and
// "2130706433" are not plain).
func isPlainHostName(host string) bool {
	if strings.Contains(host, ".") {
		return false
	}
	_, isIP := parseIPLiteral(host)
	return !isIP
}

// sortIPAddressList is sortIpAddressList's core: spaces and tabs removed,
// ";"-separated literals (empty items skipped), every one must parse, stable
// sort with IPv6 first and each family in ascending numeric order. The result
// keeps each item's original spelling.
func sortIPAddressList(list string) (string, bool) {
	list = strings.NewReplacer(" ", "", "\t", "").Replace(list)
	type item struct {
		text string
		addr netip.Addr
	}
	var items []item
	for tok := range strings.SplitSeq(list, ";") {
		if tok == "" {
			continue
		}
		a, ok := parseIPLiteral(tok)
		if !ok {
			return "", false
		}
		items = append(items, item{tok, a})
	}
	if len(items) == 0 {
		return "", false
	}
	slices.SortStableFunc(items, func(x, y item) int {
		if x.addr.BitLen() != y.addr.BitLen() {
			return cmp.Compare(y.addr.BitLen(), x.addr.BitLen()) // IPv6 first
		}
		return x.addr.Compare(y.addr)
	})
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(it.text)
	}
	return b.String(), true
}

// isInNetEx reports whether the literal ip lies in the prefix "addr/len".
// Mixed families compare through the IPv4-mapped IPv6 form, as Chromium's
// IPAddressMatchesPrefix does.
func isInNetEx(ip, prefix string) bool {
	addr, ok := parseIPLiteral(ip)
	if !ok {
		return false
	}
	p, bits, ok := parseCIDR(prefix)
	if !ok {
		return false
	}
	if p.Is4() {
		bits += 96 // compared below as ::ffff:a.b.c.d
	}
	x, y := addr.As16(), p.As16()
	for i := 0; bits > 0; i++ {
		mask := byte(0xff)
		if bits < 8 {
			mask <<= 8 - bits
		}
		if x[i]&mask != y[i]&mask {
			return false
		}
		bits -= 8
	}
	return true
}

// parseCIDR is Chromium's ParseCIDRBlock: "literal/bits" with whitespace
// around either part allowed and bits no larger than the address.
func parseCIDR(s string) (netip.Addr, int, bool) {
	addrText, bitsText, ok := strings.Cut(s, "/")
	if !ok || strings.Contains(bitsText, "/") {
		return netip.Addr{}, 0, false
	}
	a, ok := parseIPLiteral(strings.TrimSpace(addrText))
	if !ok {
		return netip.Addr{}, 0, false
	}
	bitsText = strings.TrimSpace(bitsText)
	if bitsText == "" || strings.TrimLeft(bitsText, "0123456789") != "" {
		return netip.Addr{}, 0, false
	}
	bits, err := strconv.ParseUint(bitsText, 10, 32)
	if err != nil || int(bits) > a.BitLen() {
		return netip.Addr{}, 0, false
	}
	return a, int(bits), true
}
