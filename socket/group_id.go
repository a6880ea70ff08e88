package socket

import (
	"strconv"
)

// GroupID names a set of interchangeable sockets in a pool: same scheme,
// host, port and privacy mode (Chromium's ClientSocketPool::GroupId).
type GroupID struct {
	Scheme      string
	Host        string
	Port        uint16
	PrivacyMode bool
}

// String is Chromium's debug form, e.g. "pm/https://example.com:443".
func (g GroupID) String() string {
	s := g.Scheme + "://" + hostForURL(g.Host) + ":" + strconv.Itoa(int(g.Port))
	if g.PrivacyMode {
		return "pm/" + s
	}
	return s
}

func hostForURL(h string) string {
	for i := 0; i < len(h); i++ {
		if h[i] == ':' {
			return "[" + h + "]"
		}
	}
	return h
}
