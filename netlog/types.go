package netlog

// EventType is a Chromium NetLogEventType; its value is the position in
// Chromium's list and its name is what netlog-viewer shows.
type EventType int

// String returns Chromium's name, e.g. "TCP_CONNECT".
func (t EventType) String() string {
	if t >= 0 && int(t) < len(eventTypeNames) {
		return eventTypeNames[t]
	}
	return "UNKNOWN"
}

// SourceType is a Chromium NetLogSourceType.
type SourceType int

// String returns Chromium's name, e.g. "URL_REQUEST".
func (t SourceType) String() string {
	if t >= 0 && int(t) < len(sourceTypeNames) {
		return sourceTypeNames[t]
	}
	return "UNKNOWN"
}

// EventTypeByName finds an event type by its Chromium name.
func EventTypeByName(name string) (EventType, bool) {
	for i, n := range eventTypeNames {
		if n == name {
			return EventType(i), true
		}
	}
	return 0, false
}

// SourceTypeByName finds a source type by its Chromium name.
func SourceTypeByName(name string) (SourceType, bool) {
	for i, n := range sourceTypeNames {
		if n == name {
			return SourceType(i), true
		}
	}
	return 0, false
}

// Phase says whether an event begins or ends a span, or stands alone.
type Phase int

// Chromium's phases.
const (
	PhaseNone  Phase = 0
	PhaseBegin Phase = 1
	PhaseEnd   Phase = 2
)

// CaptureMode controls how much detail observers receive.
type CaptureMode int

// Chromium's capture modes, least detail first.
const (
	// HeavilyRedacted keeps only parameters that carry no user data.
	HeavilyRedacted CaptureMode = iota
	// Default strips cookies and credentials.
	Default
	// IncludeSensitive adds cookies and credentials.
	IncludeSensitive
	// Everything adds the bytes sent and received on sockets.
	Everything
)

var captureModeNames = [...]string{"HeavilyRedacted", "Default", "IncludeSensitive", "Everything"}

// String returns the name Chromium writes to the file, e.g. "Everything".
func (m CaptureMode) String() string {
	if m >= 0 && int(m) < len(captureModeNames) {
		return captureModeNames[m]
	}
	return "Unknown"
}

// ParseCaptureMode accepts Chromium's names, case-insensitively.
func ParseCaptureMode(s string) (CaptureMode, bool) {
	for i, n := range captureModeNames {
		if equalFold(n, s) {
			return CaptureMode(i), true
		}
	}
	return 0, false
}

// IncludesSensitive reports whether cookies and credentials may be logged.
func (m CaptureMode) IncludesSensitive() bool { return m >= IncludeSensitive }

// IncludesSocketBytes reports whether socket payloads may be logged.
func (m CaptureMode) IncludesSocketBytes() bool { return m >= Everything }

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
