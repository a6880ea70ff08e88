package netlogcheck

import (
	"bytes"
	"testing"
)

// TestValidateForViewerRejects makes sure the validator itself catches what
// the viewer rejects, using a fake testing.TB that records failures.
func TestValidateForViewerRejects(t *testing.T) {
	const okConstants = `{"logFormatVersion":1,"logEventTypes":{"A":0,"B":1},"clientInfo":{},` +
		`"logEventPhase":{"PHASE_NONE":0,"PHASE_BEGIN":1,"PHASE_END":2},"logSourceType":{"NONE":0},` +
		`"loadFlag":{},"netError":{},"addressFamily":{},"timeTickOffset":"1700000000000"}`
	const okEvent = `{"time":"5","type":1,"phase":0,"source":{"id":1,"type":0,"start_time":"5"}}`
	tests := []struct {
		name string
		doc  string
		ok   bool
	}{
		{"valid", `{"constants":` + okConstants + `,"events":[` + okEvent + `]}`, true},
		{"valid, numeric offset", `{"constants":` + replace(okConstants, `"1700000000000"`, `1700000000000`) + `,"events":[]}`, true},
		{"not JSON", `{"constants":`, false},
		{"top level list", `[]`, false},
		{"no constants", `{"events":[]}`, false},
		{"missing clientInfo", `{"constants":` + replace(okConstants, `"clientInfo":{},`, ``) + `,"events":[]}`, false},
		{"netError not object", `{"constants":` + replace(okConstants, `"netError":{}`, `"netError":[]`) + `,"events":[]}`, false},
		{"version 2", `{"constants":` + replace(okConstants, `"logFormatVersion":1`, `"logFormatVersion":2`) + `,"events":[]}`, false},
		{"version string", `{"constants":` + replace(okConstants, `"logFormatVersion":1`, `"logFormatVersion":"1"`) + `,"events":[]}`, false},
		{"offset not numeric", `{"constants":` + replace(okConstants, `"1700000000000"`, `"soon"`) + `,"events":[]}`, false},
		{"no events", `{"constants":` + okConstants + `}`, false},
		{"time number", `{"constants":` + okConstants + `,"events":[` + replace(okEvent, `"time":"5"`, `"time":5`) + `]}`, false},
		{"unknown type", `{"constants":` + okConstants + `,"events":[` + replace(okEvent, `"type":1,`, `"type":7,`) + `]}`, false},
		{"unknown source type", `{"constants":` + okConstants + `,"events":[` + replace(okEvent, `"type":0,`, `"type":3,`) + `]}`, false},
		{"unknown phase", `{"constants":` + okConstants + `,"events":[` + replace(okEvent, `"phase":0`, `"phase":9`) + `]}`, false},
		{"no source", `{"constants":` + okConstants + `,"events":[{"time":"5","type":1,"phase":0}]}`, false},
		{"polledData list", `{"constants":` + okConstants + `,"events":[],"polledData":[]}`, false},
	}
	for _, tt := range tests {
		rec := &failRecorder{TB: t}
		ValidateForViewer(rec, []byte(tt.doc))
		if rec.failed == tt.ok {
			t.Errorf("%s: validator failed=%v, want %v (%v)", tt.name, rec.failed, !tt.ok, rec.msgs)
		}
	}
}

func replace(s, old, new string) string {
	out := bytes.Replace([]byte(s), []byte(old), []byte(new), 1)
	if bytes.Equal(out, []byte(s)) {
		panic("replace: " + old + " not found")
	}
	return string(out)
}

// failRecorder is a testing.TB whose Errorf records instead of failing.
type failRecorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *failRecorder) Helper() {}
func (r *failRecorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msgs = append(r.msgs, format)
}
