package net

// RequestPriority orders requests in socket pools and the host resolver,
// with Chromium's values (net/base/request_priority.h).
type RequestPriority int

// Chromium's priorities, lowest first.
const (
	Throttled RequestPriority = iota
	Idle
	Lowest
	Low
	Medium
	Highest

	MinimumPriority = Throttled
	MaximumPriority = Highest
	DefaultPriority = Lowest
	NumPriorities   = 6
)

var priorityNames = [...]string{"THROTTLED", "IDLE", "LOWEST", "LOW", "MEDIUM", "HIGHEST"}

// String returns Chromium's name, e.g. "LOWEST".
func (p RequestPriority) String() string {
	if p >= 0 && int(p) < len(priorityNames) {
		return priorityNames[p]
	}
	return "UNKNOWN"
}

// ParseRequestPriority parses a name such as "MEDIUM" (case-sensitive, as
// Chromium prints it).
func ParseRequestPriority(s string) (RequestPriority, bool) {
	for i, n := range priorityNames {
		if n == s {
			return RequestPriority(i), true
		}
	}
	return 0, false
}
