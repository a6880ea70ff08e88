// Package netlogcheck checks NetLog dumps the way Chromium's netlog-viewer
// reads them, so tests can hold every dump the stack writes to the viewer's
// rules without a browser.
package netlogcheck

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// TB is the part of testing.TB the checks use.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
}

// ValidateForViewer applies netlog-viewer's acceptance rules to a complete
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
//   - polledData, when present, is an object;
//   - beyond the viewer: every source_dependency names a source that has
//     events of its own in the log, so the viewer's links lead somewhere.
func ValidateForViewer(t TB, data []byte) int {
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
	checkDependencies(t, events)
	return valid
}

// checkDependencies reports source_dependency parameters that point at a
// source with no events in the log.
func checkDependencies(t TB, events []any) {
	t.Helper()
	seen := map[string]bool{}
	for _, ev := range events {
		if e, ok := ev.(map[string]any); ok {
			if src, ok := e["source"].(map[string]any); ok {
				if id, ok := src["id"].(json.Number); ok {
					seen[id.String()] = true
				}
			}
		}
	}
	for i, ev := range events {
		e, _ := ev.(map[string]any)
		params, _ := e["params"].(map[string]any)
		dep, ok := params["source_dependency"].(map[string]any)
		if !ok {
			continue
		}
		if id, ok := dep["id"].(json.Number); !ok || !seen[id.String()] {
			t.Errorf("viewer: event %d: source_dependency %v names no source in the log", i, dep["id"])
		}
	}
}
