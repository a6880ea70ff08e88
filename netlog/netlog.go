package netlog

import (
	"sync"
	"sync/atomic"
	"time"
)

// Params are an event's parameters, serialised as a JSON object.
type Params = map[string]any

// ParamsFunc builds an event's parameters for one capture mode. It is only
// called while someone is capturing, so building parameters costs nothing
// otherwise.
type ParamsFunc func(mode CaptureMode) Params

// Entry is one event as observers see it.
type Entry struct {
	Type   EventType
	Source Source
	Phase  Phase
	Time   time.Time
	Params Params
}

// Observer receives entries. OnAddEntry is called synchronously on the
// goroutine that logged the event (a loop), so it must be quick and must not
// call back into the NetLog.
type Observer interface {
	OnAddEntry(e *Entry)
}

type observerEntry struct {
	obs  Observer
	mode CaptureMode
}

// NetLog hands events to its observers. Unlike the rest of the stack it is
// safe for concurrent use: several Contexts (loops) may share one NetLog.
type NetLog struct {
	nextID    atomic.Uint32
	capturing atomic.Bool
	mu        sync.RWMutex
	observers []observerEntry
}

// New returns a NetLog with no observers.
func New() *NetLog { return &NetLog{} }

// NextID returns a fresh source id; ids start at 1 (0 is invalid).
func (n *NetLog) NextID() uint32 { return n.nextID.Add(1) }

// AddObserver starts delivering entries to o, with parameters built for mode.
func (n *NetLog) AddObserver(o Observer, mode CaptureMode) {
	n.mu.Lock()
	n.observers = append(n.observers, observerEntry{o, mode})
	n.capturing.Store(true)
	n.mu.Unlock()
}

// RemoveObserver stops delivering entries to o.
func (n *NetLog) RemoveObserver(o Observer) {
	n.mu.Lock()
	for i, e := range n.observers {
		if e.obs == o {
			n.observers = append(n.observers[:i:i], n.observers[i+1:]...)
			break
		}
	}
	n.capturing.Store(len(n.observers) > 0)
	n.mu.Unlock()
}

// IsCapturing reports whether any observer is attached. Callers use it to
// skip work that only feeds the log.
func (n *NetLog) IsCapturing() bool { return n != nil && n.capturing.Load() }

// AddEntry logs one event.
func (n *NetLog) AddEntry(t EventType, src Source, phase Phase, params ParamsFunc) {
	if !n.IsCapturing() {
		return
	}
	now := time.Now()
	n.mu.RLock()
	defer n.mu.RUnlock()
	var built [4]Params
	var have [4]bool
	for _, o := range n.observers {
		e := Entry{Type: t, Source: src, Phase: phase, Time: now}
		if params != nil {
			if !have[o.mode] {
				built[o.mode] = params(o.mode)
				have[o.mode] = true
			}
			e.Params = built[o.mode]
		}
		o.obs.OnAddEntry(&e)
	}
}

// AddGlobalEntry logs an event on a fresh source of type NONE, as Chromium
// does for events that belong to no object.
func (n *NetLog) AddGlobalEntry(t EventType, params ParamsFunc) {
	if !n.IsCapturing() {
		return
	}
	n.AddEntry(t, Source{Type: SourceNone, ID: n.NextID(), StartTime: time.Now()}, PhaseNone, params)
}
