package netlog

import (
	"encoding/base64"
	"time"
)

// Source identifies the object an event belongs to.
type Source struct {
	Type      SourceType
	ID        uint32
	StartTime time.Time
}

// IsValid reports whether the source has an id (0 is Chromium's invalid id).
func (s Source) IsValid() bool { return s.ID != 0 }

// DependencyParams returns {"source_dependency": {"id": N, "type": T}}, the
// parameter with which an event points at another source.
func (s Source) DependencyParams() Params {
	return Params{"source_dependency": s.dependency()}
}

func (s Source) dependency() Params {
	return Params{"id": s.ID, "type": int(s.Type)}
}

// WithSource is a NetLog bound to one source: the handle each object keeps
// to log its own events (Chromium's NetLogWithSource). The zero value logs
// nothing.
type WithSource struct {
	log    *NetLog
	source Source
}

// NewSource creates a source of type t with a fresh id.
func NewSource(log *NetLog, t SourceType) WithSource {
	if log == nil {
		return WithSource{}
	}
	return WithSource{log: log, source: Source{Type: t, ID: log.NextID(), StartTime: time.Now()}}
}

// Source returns the bound source.
func (w WithSource) Source() Source { return w.source }

// NetLog returns the log, nil for the zero value.
func (w WithSource) NetLog() *NetLog { return w.log }

// IsCapturing reports whether events would be recorded.
func (w WithSource) IsCapturing() bool { return w.log.IsCapturing() }

// AddEntry logs an event with the given phase.
func (w WithSource) AddEntry(t EventType, phase Phase, params ParamsFunc) {
	if w.log.IsCapturing() {
		w.log.AddEntry(t, w.source, phase, params)
	}
}

// BeginEvent opens a span.
func (w WithSource) BeginEvent(t EventType, params ParamsFunc) { w.AddEntry(t, PhaseBegin, params) }

// EndEvent closes a span.
func (w WithSource) EndEvent(t EventType, params ParamsFunc) { w.AddEntry(t, PhaseEnd, params) }

// AddEvent logs a point event.
func (w WithSource) AddEvent(t EventType, params ParamsFunc) { w.AddEntry(t, PhaseNone, params) }

// AddEventWithParams logs a point event with fixed parameters.
func (w WithSource) AddEventWithParams(t EventType, p Params) {
	w.AddEntry(t, PhaseNone, func(CaptureMode) Params { return p })
}

// BeginEventWithParams opens a span with fixed parameters.
func (w WithSource) BeginEventWithParams(t EventType, p Params) {
	w.AddEntry(t, PhaseBegin, func(CaptureMode) Params { return p })
}

// EndEventWithParams closes a span with fixed parameters.
func (w WithSource) EndEventWithParams(t EventType, p Params) {
	w.AddEntry(t, PhaseEnd, func(CaptureMode) Params { return p })
}

// netErrorParams is {"net_error": code} for failures and nothing otherwise,
// as Chromium logs the end of a span.
func netErrorParams(result int) ParamsFunc {
	if result >= 0 {
		return nil
	}
	return func(CaptureMode) Params { return Params{"net_error": result} }
}

// EndEventWithNetErrorCode closes a span, recording result when it is an error.
func (w WithSource) EndEventWithNetErrorCode(t EventType, result int) {
	w.AddEntry(t, PhaseEnd, netErrorParams(result))
}

// AddEventWithNetErrorCode logs a point event recording result when it is an error.
func (w WithSource) AddEventWithNetErrorCode(t EventType, result int) {
	w.AddEntry(t, PhaseNone, netErrorParams(result))
}

// BeginEventReferencingSource opens a span that points at another source.
func (w WithSource) BeginEventReferencingSource(t EventType, other Source) {
	w.AddEntry(t, PhaseBegin, func(CaptureMode) Params { return other.DependencyParams() })
}

// EndEventReferencingSource closes a span that points at another source.
func (w WithSource) EndEventReferencingSource(t EventType, other Source) {
	w.AddEntry(t, PhaseEnd, func(CaptureMode) Params { return other.DependencyParams() })
}

// AddEventReferencingSource logs a point event that points at another source.
func (w WithSource) AddEventReferencingSource(t EventType, other Source) {
	w.AddEntry(t, PhaseNone, func(CaptureMode) Params { return other.DependencyParams() })
}

// AddByteTransferEvent logs bytes sent or received: the count always, the
// bytes themselves (base64, as Chromium) only in Everything mode. The bytes
// are encoded at once, so the caller may reuse buf afterwards.
func (w WithSource) AddByteTransferEvent(t EventType, buf []byte) {
	if !w.log.IsCapturing() {
		return
	}
	n := len(buf)
	var encoded string
	w.AddEntry(t, PhaseNone, func(m CaptureMode) Params {
		p := Params{"byte_count": n}
		if m.IncludesSocketBytes() {
			if encoded == "" {
				encoded = base64.StdEncoding.EncodeToString(buf)
			}
			p["bytes"] = encoded
		}
		return p
	})
}
