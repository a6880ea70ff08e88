package nettest

import (
	"strconv"
	"sync"
	"testing"

	"github.com/netfetch/netfetch/netlog"
)

// Recorder is a NetLog observer that keeps every entry it is given.
type Recorder struct {
	mu      sync.Mutex
	entries []netlog.Entry
}

// NewRecorder attaches a Recorder to log with the given capture mode.
func NewRecorder(log *netlog.NetLog, mode netlog.CaptureMode) *Recorder {
	r := &Recorder{}
	log.AddObserver(r, mode)
	return r
}

// OnAddEntry implements netlog.Observer.
func (r *Recorder) OnAddEntry(e *netlog.Entry) {
	r.mu.Lock()
	r.entries = append(r.entries, *e)
	r.mu.Unlock()
}

// All returns a copy of the entries so far.
func (r *Recorder) All() []netlog.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netlog.Entry(nil), r.entries...)
}

// Find returns the entries of type t and phase ph, for one source or, with
// source 0, for any.
func (r *Recorder) Find(t netlog.EventType, ph netlog.Phase, source uint32) []netlog.Entry {
	var out []netlog.Entry
	for _, e := range r.All() {
		if e.Type == t && e.Phase == ph && (source == 0 || e.Source.ID == source) {
			out = append(out, e)
		}
	}
	return out
}

// One returns the single matching entry, failing the test otherwise.
func (r *Recorder) One(t testing.TB, et netlog.EventType, ph netlog.Phase, source uint32) netlog.Entry {
	t.Helper()
	es := r.Find(et, ph, source)
	if len(es) != 1 {
		t.Fatalf("want exactly one %v (phase %d, source %d), got %d: %v", et, ph, source, len(es), r.Describe())
	}
	return es[0]
}

// Describe lists the entries as "SOURCE_TYPE#id EVENT_TYPE/phase".
func (r *Recorder) Describe() []string {
	var out []string
	for _, e := range r.All() {
		out = append(out, e.Source.Type.String()+"#"+strconv.Itoa(int(e.Source.ID))+" "+e.Type.String()+"/"+strconv.Itoa(int(e.Phase)))
	}
	return out
}
