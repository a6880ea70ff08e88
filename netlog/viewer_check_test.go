package netlog_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// validateForViewer applies netlog-viewer's acceptance rules to a complete
// log (catapult netlog_viewer main.js areValidConstants and log_util.js
// loadLogDump; chromium-net.md §6.4) and reports every violation with
// t.Errorf. It returns the number of events the viewer would load.
//
//   - the document is a JSON object;
//   - constants is an object whose logEventTypes, clientInfo, logEventPhase,
//     logSourceType, loadFlag, netError and addressFamily are objects;
//   - constants.logFormatVersion is a number equal to 1;
//   - constants.timeTickOffset is a number or a numeric string;
//   - events is present and a list;
//   - each event is an object with an object source, a string time, a type
//     that is one of logEventTypes' values, a source.type that is one of
//     logSourceType's values and a phase that is one of logEventPhase's
//     values (the viewer silently drops other events: here they are errors);
//   - polledData, when present, is an object.
func validateForViewer(t testing.TB, data []byte) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Errorf("viewer: not JSON: %v", err)
		return 0
	}
	if dec.More() {
		t.Errorf("viewer: trailing data after the top-level object")
	}
	top, ok := doc.(map[string]any)
	if !ok {
		t.Errorf("viewer: top level is %T, not an object", doc)
		return 0
	}
	constants, ok := top["constants"].(map[string]any)
	if !ok {
		t.Errorf("viewer: constants is %T, not an object", top["constants"])
		return 0
	}
	for _, k := range []string{"logEventTypes", "clientInfo", "logEventPhase", "logSourceType",
		"loadFlag", "netError", "addressFamily"} {
		if _, ok := constants[k].(map[string]any); !ok {
			t.Errorf("viewer: constants.%s is %T, not an object", k, constants[k])
		}
	}
	switch v := constants["logFormatVersion"].(type) {
	case json.Number:
		if f, err := v.Float64(); err != nil || f != 1 {
			t.Errorf("viewer: logFormatVersion = %v, want 1", v)
		}
	default:
		t.Errorf("viewer: logFormatVersion is %T, not a number", v)
	}
	switch v := constants["timeTickOffset"].(type) {
	case json.Number:
	case string:
		// The viewer's isNetLogNumber: !isNaN(parseInt(value)). We are
		// stricter and want the whole string to be an integer.
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			t.Errorf("viewer: timeTickOffset %q is not a numeric string", v)
		}
	default:
		t.Errorf("viewer: timeTickOffset is %T, not a number or numeric string", v)
	}
	if pd, present := top["polledData"]; present {
		if _, ok := pd.(map[string]any); !ok {
			t.Errorf("viewer: polledData is %T, not an object", pd)
		}
	}

	valueSet := func(key string) map[string]bool {
		m, _ := constants[key].(map[string]any)
		set := make(map[string]bool, len(m))
		for _, v := range m {
			if n, ok := v.(json.Number); ok {
				set[n.String()] = true
			}
		}
		return set
	}
	eventTypes := valueSet("logEventTypes")
	sourceTypes := valueSet("logSourceType")
	phases := valueSet("logEventPhase")
	numberIn := func(v any, set map[string]bool) bool {
		n, ok := v.(json.Number)
		return ok && set[n.String()]
	}

	events, ok := top["events"].([]any)
	if !ok {
		t.Errorf("viewer: events is %T, not a list", top["events"])
		return 0
	}
	valid := 0
	for i, ev := range events {
		e, ok := ev.(map[string]any)
		if !ok {
			t.Errorf("viewer: event %d is %T, not an object", i, ev)
			continue
		}
		bad := false
		src, ok := e["source"].(map[string]any)
		if !ok {
			t.Errorf("viewer: event %d: source is %T, not an object", i, e["source"])
			bad = true
		}
		if _, ok := e["time"].(string); !ok {
			t.Errorf("viewer: event %d: time is %T, not a string", i, e["time"])
			bad = true
		}
		if !numberIn(e["type"], eventTypes) {
			t.Errorf("viewer: event %d: type %v is not in logEventTypes", i, e["type"])
			bad = true
		}
		if src != nil && !numberIn(src["type"], sourceTypes) {
			t.Errorf("viewer: event %d: source.type %v is not in logSourceType", i, src["type"])
			bad = true
		}
		if !numberIn(e["phase"], phases) {
			t.Errorf("viewer: event %d: phase %v is not in logEventPhase", i, e["phase"])
			bad = true
		}
		if !bad {
			valid++
		}
	}
	return valid
}

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
		validateForViewer(rec, []byte(tt.doc))
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
