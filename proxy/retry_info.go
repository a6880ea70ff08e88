package proxy

import (
	"time"

	"github.com/netfetch/netfetch/net"
)

// RetryDelay is how long a proxy that failed is skipped (Chromium's
// kDefaultRetryDelay).
const RetryDelay = 5 * time.Minute

// RetryInfo says until when a proxy route is bad and what error made it so
// (Chromium's ProxyRetryInfo).
type RetryInfo struct {
	Chain    Chain
	BadUntil time.Time
	NetError net.Error
}

// RetryInfoMap holds the bad routes, keyed by Chain.Key (Chromium's
// ProxyRetryInfoMap).
type RetryInfoMap map[string]RetryInfo

// IsBad reports whether c is marked bad at now.
func (m RetryInfoMap) IsBad(c Chain, now time.Time) bool {
	e, ok := m[c.Key()]
	return ok && now.Before(e.BadUntil)
}

// markBad records c as bad until badUntil, keeping a later deadline already
// recorded.
func (m RetryInfoMap) markBad(c Chain, badUntil time.Time, err net.Error) {
	k := c.Key()
	if e, ok := m[k]; ok && e.BadUntil.After(badUntil) {
		return
	}
	m[k] = RetryInfo{Chain: c, BadUntil: badUntil, NetError: err}
}

// Merge copies the entries of other into m, as the service does when a
// request reports success; a later deadline wins.
func (m RetryInfoMap) Merge(other RetryInfoMap) {
	for _, e := range other {
		m.markBad(e.Chain, e.BadUntil, e.NetError)
	}
}

// Expire drops the entries no longer bad at now.
func (m RetryInfoMap) Expire(now time.Time) {
	for k, e := range m {
		if !now.Before(e.BadUntil) {
			delete(m, k)
		}
	}
}
