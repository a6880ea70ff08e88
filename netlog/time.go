package netlog

import (
	"strconv"
	"time"
)

// tickOrigin is the zero of the monotonic clock that event times count from.
// Chromium writes TimeTicks as milliseconds since an arbitrary origin, and
// timeTickOffset turns them into Unix time.
var tickOrigin = time.Now()

// TickMillis returns t as milliseconds since the tick origin.
func TickMillis(t time.Time) int64 { return t.Sub(tickOrigin).Milliseconds() }

// TickString formats t as Chromium's TickCountToString does: a decimal
// string of milliseconds.
func TickString(t time.Time) string { return strconv.FormatInt(TickMillis(t), 10) }

// TimeTickOffset is the Unix time in milliseconds at the tick origin; adding
// it to an event's time gives the event's wall-clock time.
func TimeTickOffset() int64 { return tickOrigin.UnixMilli() }
