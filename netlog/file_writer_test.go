package netlog_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/netlogcheck"

	"github.com/netfetch/netfetch/netlog"
)

const hangGuard = 10 * time.Second

func newFileWriter(t testing.TB, mode netlog.CaptureMode) (*netlog.FileWriter, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "netlog.json")
	fw, err := netlog.CreateFileWriter(path, mode)
	if err != nil {
		t.Fatal(err)
	}
	if fw.Mode() != mode {
		t.Errorf("Mode() = %v, want %v", fw.Mode(), mode)
	}
	return fw, path
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeLog parses a whole log, keeping numbers exact.
func decodeLog(t testing.TB, data []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("log is not valid JSON: %v\n%s", err, tail(data))
	}
	return m
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

func num(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v is %T, not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%v is not an integer", n)
	}
	return i
}

func numericString(t testing.TB, what string, v any) int64 {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%s is %T, want a numeric string", what, v)
	}
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s = %q is not a numeric string", what, s)
	}
	return i
}

func TestFileWriterLayout(t *testing.T) {
	fw, path := newFileWriter(t, netlog.IncludeSensitive)
	nl := netlog.New()
	nl.AddObserver(fw, fw.Mode())

	req := netlog.NewSource(nl, netlog.SourceURLRequest)
	sock := netlog.NewSource(nl, netlog.SourceSocket)
	req.BeginEventWithParams(netlog.EventRequestAlive, netlog.Params{"url": "https://example.com/", "priority": "LOWEST"})
	req.AddEventReferencingSource(netlog.EventSocketPoolBoundToSocket, sock.Source())
	sock.AddByteTransferEvent(netlog.EventSocketBytesSent, []byte("hi"))
	req.AddEvent(netlog.EventCancelled, nil)
	req.EndEventWithNetErrorCode(netlog.EventRequestAlive, -102)
	nl.AddGlobalEntry(netlog.EventNetworkChanged, nil)
	const nEvents = 6

	nl.RemoveObserver(fw)
	polled := netlog.Params{"proxySettings": netlog.Params{"effective": "DIRECT"}, "badProxies": []string{}}
	if err := fw.Close(polled); err != nil {
		t.Fatalf("Close: %v", err)
	}
	data := readFile(t, path)

	if n := netlogcheck.ValidateForViewer(t, data); n != nEvents {
		t.Errorf("viewer would load %d events, want %d", n, nEvents)
	}

	// Byte layout.
	if !bytes.HasPrefix(data, []byte(`{"constants":`)) {
		t.Errorf("log starts with %q", data[:min(len(data), 20)])
	}
	if !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("log ends with %q", data[max(0, len(data)-20):])
	}
	const eventsHeader = ",\n\"events\": [\n"
	i := bytes.Index(data, []byte(eventsHeader))
	if i < 0 {
		t.Fatalf("no %q in the log", eventsHeader)
	}
	lines := strings.Split(string(data[i+len(eventsHeader):]), "\n")
	if len(lines) < nEvents+1 {
		t.Fatalf("only %d lines after the events header", len(lines))
	}
	// Chromium's layout: each event is followed by ",\n"; at Close the last
	// ",\n" is dropped and the list ended, then ",\n\"polledData\": ...\n}\n".
	for k := range nEvents {
		line := lines[k]
		want := ","
		if k == nEvents-1 {
			want = "],"
		}
		if !strings.HasPrefix(line, "{") || !strings.HasSuffix(line, want) {
			t.Errorf("event line %d = %q, want {...}%s", k, line, want)
			continue
		}
		if !json.Valid([]byte(strings.TrimSuffix(line, want))) {
			t.Errorf("event line %d is not one JSON object: %q", k, line)
		}
	}
	if rest := lines[nEvents:]; len(rest) != 3 || !strings.HasPrefix(rest[0], `"polledData": {`) ||
		rest[1] != "}" || rest[2] != "" {
		t.Errorf("lines after the events = %q, want polledData, }, and a final newline", rest)
	}

	doc := decodeLog(t, data)
	var keys []string
	for k := range doc {
		keys = append(keys, k)
	}
	if len(doc) != 3 || doc["constants"] == nil || doc["events"] == nil || doc["polledData"] == nil {
		t.Errorf("top-level keys = %v, want constants, events, polledData", keys)
	}

	c := doc["constants"].(map[string]any)
	if num(t, c["logFormatVersion"]) != 1 {
		t.Errorf("logFormatVersion = %v", c["logFormatVersion"])
	}
	for _, k := range []string{"logEventTypes", "logSourceType", "logEventPhase", "netError", "loadFlag",
		"loadState", "addressFamily", "clientInfo"} {
		if _, ok := c[k].(map[string]any); !ok {
			t.Errorf("constants.%s is %T, want an object", k, c[k])
		}
	}
	netErr := c["netError"].(map[string]any)
	if num(t, netErr["net::OK"]) != 0 || num(t, netErr["ERR_CONNECTION_REFUSED"]) != -102 {
		t.Errorf("netError OK=%v CONNECTION_REFUSED=%v", netErr["net::OK"], netErr["ERR_CONNECTION_REFUSED"])
	}
	if off := numericString(t, "timeTickOffset", c["timeTickOffset"]); off != netlog.TimeTickOffset() {
		t.Errorf("timeTickOffset = %d, want %d", off, netlog.TimeTickOffset())
	}
	if c["logCaptureMode"] != "IncludeSensitive" {
		t.Errorf("logCaptureMode = %v", c["logCaptureMode"])
	}
	eventTypeValues := map[int64]string{}
	for name, v := range c["logEventTypes"].(map[string]any) {
		eventTypeValues[num(t, v)] = name
	}

	events := doc["events"].([]any)
	if len(events) != nEvents {
		t.Fatalf("%d events, want %d", len(events), nEvents)
	}
	type want struct {
		typ    netlog.EventType
		phase  netlog.Phase
		src    netlog.Source
		params map[string]any // nil: no "params" key
	}
	sockID := json.Number(strconv.Itoa(int(sock.Source().ID)))
	wants := []want{
		{netlog.EventRequestAlive, netlog.PhaseBegin, req.Source(),
			map[string]any{"url": "https://example.com/", "priority": "LOWEST"}},
		{netlog.EventSocketPoolBoundToSocket, netlog.PhaseNone, req.Source(),
			map[string]any{"source_dependency": map[string]any{"id": sockID, "type": json.Number(strconv.Itoa(int(netlog.SourceSocket)))}}},
		{netlog.EventSocketBytesSent, netlog.PhaseNone, sock.Source(),
			map[string]any{"byte_count": json.Number("2")}}, // no bytes below Everything
		{netlog.EventCancelled, netlog.PhaseNone, req.Source(), nil},
		{netlog.EventRequestAlive, netlog.PhaseEnd, req.Source(), map[string]any{"net_error": json.Number("-102")}},
		{netlog.EventNetworkChanged, netlog.PhaseNone, netlog.Source{Type: netlog.SourceNone}, nil},
	}
	for k, raw := range events {
		e := raw.(map[string]any)
		w := wants[k]
		typ := num(t, e["type"])
		if eventTypeValues[typ] != w.typ.String() {
			t.Errorf("event %d type %d (%s), want %s", k, typ, eventTypeValues[typ], w.typ)
		}
		if p := num(t, e["phase"]); p != int64(w.phase) {
			t.Errorf("event %d phase %d, want %d", k, p, w.phase)
		}
		numericString(t, "time", e["time"])
		src := e["source"].(map[string]any)
		if len(src) != 3 {
			t.Errorf("event %d source = %v, want id, type, start_time", k, src)
		}
		if st := num(t, src["type"]); st != int64(w.src.Type) {
			t.Errorf("event %d source.type %d, want %d", k, st, w.src.Type)
		}
		if w.src.ID != 0 {
			if id := num(t, src["id"]); id != int64(w.src.ID) {
				t.Errorf("event %d source.id %d, want %d", k, id, w.src.ID)
			}
			if st := numericString(t, "start_time", src["start_time"]); st != netlog.TickMillis(w.src.StartTime) {
				t.Errorf("event %d start_time %d, want %d", k, st, netlog.TickMillis(w.src.StartTime))
			}
		} else {
			numericString(t, "start_time", src["start_time"])
			if num(t, src["id"]) <= 0 {
				t.Errorf("global event %d has source id %v", k, src["id"])
			}
		}
		params, has := e["params"]
		if w.params == nil {
			if has {
				t.Errorf("event %d has params %v, want none", k, params)
			}
		} else if !reflect.DeepEqual(params, w.params) {
			t.Errorf("event %d params = %#v, want %#v", k, params, w.params)
		}
	}

	pd := doc["polledData"].(map[string]any)
	if ps, _ := pd["proxySettings"].(map[string]any); ps["effective"] != "DIRECT" {
		t.Errorf("polledData = %v", pd)
	}
}

func TestFileWriterEverythingHasBytes(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Everything)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Everything)
	payload := []byte("\x16\x03\x01 binary \x00\xff")
	netlog.NewSource(nl, netlog.SourceSocket).AddByteTransferEvent(netlog.EventSocketBytesReceived, payload)
	nl.RemoveObserver(fw)
	if err := fw.Close(nil); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, path)
	netlogcheck.ValidateForViewer(t, data)
	doc := decodeLog(t, data)
	if doc["constants"].(map[string]any)["logCaptureMode"] != "Everything" {
		t.Error("logCaptureMode is not Everything")
	}
	p := doc["events"].([]any)[0].(map[string]any)["params"].(map[string]any)
	if p["bytes"] != base64.StdEncoding.EncodeToString(payload) || num(t, p["byte_count"]) != int64(len(payload)) {
		t.Errorf("params = %v", p)
	}
}

func TestFileWriterNoEvents(t *testing.T) {
	for _, polled := range []netlog.Params{nil, {}, {"x": 1}} {
		fw, path := newFileWriter(t, netlog.Default)
		if err := fw.Close(polled); err != nil {
			t.Fatal(err)
		}
		data := readFile(t, path)
		if n := netlogcheck.ValidateForViewer(t, data); n != 0 {
			t.Errorf("%d events in an empty log", n)
		}
		doc := decodeLog(t, data)
		if ev, ok := doc["events"].([]any); !ok || len(ev) != 0 {
			t.Errorf("events = %#v, want []", doc["events"])
		}
		if _, has := doc["polledData"]; has != (polled != nil) {
			t.Errorf("polledData present = %v with polled = %v", has, polled)
		}
		if polled == nil && !bytes.HasSuffix(data, []byte("\"events\": [\n]}\n")) {
			t.Errorf("empty log ends with %q", tail(data))
		}
	}
}

func TestFileWriterCloseTwiceAndLateEntries(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Default)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Default)
	w := netlog.NewSource(nl, netlog.SourceSocket)
	w.AddEvent(netlog.EventSocketAlive, nil)
	if err := fw.Close(nil); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	// Still attached: entries after Close are dropped, not written, no panic.
	w.AddEvent(netlog.EventSocketClosed, nil)
	fw.OnAddEntry(&netlog.Entry{Type: netlog.EventFailed, Time: time.Now()})
	if err := fw.Close(netlog.Params{"late": true}); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	after := readFile(t, path)
	if !bytes.Equal(before, after) {
		t.Error("the file changed after Close")
	}
	if n := netlogcheck.ValidateForViewer(t, after); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

func TestFileWriterCreateError(t *testing.T) {
	_, err := netlog.CreateFileWriter(filepath.Join(t.TempDir(), "no", "such", "dir", "log.json"), netlog.Default)
	if err == nil {
		t.Error("CreateFileWriter in a missing directory succeeded")
	}
}

// TestFileWriterBadPolledData: polledData that cannot be marshalled makes
// Close report an error but must not leave an invalid file. (This was a bug:
// the file ended in `"polledData": \n}`.)
func TestFileWriterBadPolledData(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Default)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Default)
	netlog.NewSource(nl, netlog.SourceSocket).AddEvent(netlog.EventSocketAlive, nil)
	nl.RemoveObserver(fw)
	if err := fw.Close(netlog.Params{"bad": make(chan int)}); err == nil {
		t.Error("Close with unmarshallable polledData returned nil")
	}
	data := readFile(t, path)
	if n := netlogcheck.ValidateForViewer(t, data); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}

// TestFileWriterBadParams: an event whose parameters cannot be marshalled is
// still written, with an error parameter instead.
func TestFileWriterBadParams(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Default)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Default)
	w := netlog.NewSource(nl, netlog.SourceSocket)
	w.AddEventWithParams(netlog.EventSocketAlive, netlog.Params{"f": func() {}})
	w.AddEventWithParams(netlog.EventSocketClosed, netlog.Params{"ok": 1})
	nl.RemoveObserver(fw)
	if err := fw.Close(nil); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, path)
	if n := netlogcheck.ValidateForViewer(t, data); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	p := decodeLog(t, data)["events"].([]any)[0].(map[string]any)["params"].(map[string]any)
	if _, ok := p["netfetch_params_error"].(string); !ok || len(p) != 1 {
		t.Errorf("params of a bad event = %v", p)
	}
}

// TestFileWriterAwkwardStrings: strings with newlines, quotes, HTML and
// non-ASCII survive, and never break the one-event-per-line layout that
// truncated-log repair depends on.
func TestFileWriterAwkwardStrings(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Default)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Default)
	vals := []string{"line1\nline2,\n", "quote\" backslash\\", "<script>&amp;", "日本語 ✓", "\r\n\t\x01", ",\n]}"}
	w := netlog.NewSource(nl, netlog.SourceURLRequest)
	for _, v := range vals {
		w.AddEventWithParams(netlog.EventURLRequestRedirected, netlog.Params{"location": v})
	}
	nl.RemoveObserver(fw)
	if err := fw.Close(nil); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, path)
	if n := netlogcheck.ValidateForViewer(t, data); n != len(vals) {
		t.Errorf("%d events, want %d", n, len(vals))
	}
	if got := bytes.Count(data, []byte("\n")); got != 2+len(vals) {
		t.Errorf("log has %d newlines, want %d (constants, header, one per event)", got, 2+len(vals))
	}
	if !bytes.Contains(data, []byte("<script>&amp;")) {
		t.Error("HTML characters were escaped")
	}
	for k, e := range decodeLog(t, data)["events"].([]any) {
		if got := e.(map[string]any)["params"].(map[string]any)["location"]; got != vals[k] {
			t.Errorf("event %d location = %q, want %q", k, got, vals[k])
		}
	}
}

// waitForEventLines waits until the writer has flushed n events to path
// (the writer flushes whenever it runs out of work) and the file has
// stopped growing.
func waitForEventLines(t *testing.T, path string, n int) []byte {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	var data []byte
	for {
		data = readFile(t, path)
		if bytes.Count(data, []byte("},\n")) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events reached the file", bytes.Count(data, []byte("},\n")), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	// Nothing else is queued; make sure nothing more arrives.
	time.Sleep(20 * time.Millisecond)
	if again := readFile(t, path); !bytes.Equal(again, data) {
		t.Fatalf("file still growing: %d -> %d bytes", len(data), len(again))
	}
	return data
}

// repairLikeViewer is what netlog-viewer's loadLogFile does with a log that
// does not parse: cut at the last ",\n" (or ",\r") and close the list and
// the object.
func repairLikeViewer(data []byte) []byte {
	end := max(bytes.LastIndex(data, []byte(",\n")), bytes.LastIndex(data, []byte(",\r")))
	if end < 0 {
		return nil
	}
	return append(append([]byte(nil), data[:end]...), "]}"...)
}

func TestFileWriterTruncatedLogRepair(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Everything)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Everything)
	const n = 50
	w := netlog.NewSource(nl, netlog.SourceSocket)
	w.BeginEvent(netlog.EventSocketAlive, nil)
	for i := range n - 1 {
		w.AddByteTransferEvent(netlog.EventSocketBytesReceived, []byte("chunk "+strconv.Itoa(i)))
	}
	// "Crash": never Close. Read what the writer flushed on its own.
	data := waitForEventLines(t, path, n)
	t.Cleanup(func() { nl.RemoveObserver(fw); fw.Close(nil) })

	if json.Valid(data) {
		t.Fatal("an unclosed log is already valid JSON")
	}
	fixed := repairLikeViewer(data)
	if got := netlogcheck.ValidateForViewer(t, fixed); got != n {
		t.Errorf("repaired log has %d loadable events, want %d", got, n)
	}
	events := decodeLog(t, fixed)["events"].([]any)
	last := events[len(events)-1].(map[string]any)["params"].(map[string]any)
	if last["bytes"] != base64.StdEncoding.EncodeToString([]byte("chunk "+strconv.Itoa(n-2))) {
		t.Errorf("last repaired event params = %v", last)
	}

	// A crash in the middle of writing an event loses only that event.
	for cut := 1; cut < 40; cut += 7 {
		partial := data[:len(data)-cut]
		if got := netlogcheck.ValidateForViewer(t, repairLikeViewer(partial)); got != n-1 {
			t.Errorf("cut %d bytes: %d events, want %d", cut, got, n-1)
		}
	}
}

// TestFileWriterConcurrentClose: many goroutines log into one FileWriter while
// another closes it. No panic, no race, and the file is valid.
func TestFileWriterConcurrentClose(t *testing.T) {
	for round := range 5 {
		fw, path := newFileWriter(t, netlog.Everything)
		nl := netlog.New()
		nl.AddObserver(fw, netlog.Everything)
		const loggers, per = 8, 400
		var wg sync.WaitGroup
		started := make(chan struct{}, loggers)
		for range loggers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := netlog.NewSource(nl, netlog.SourceURLRequest)
				started <- struct{}{}
				for i := range per {
					switch i % 3 {
					case 0:
						w.BeginEventWithParams(netlog.EventRequestAlive, netlog.Params{"i": i})
					case 1:
						w.AddByteTransferEvent(netlog.EventSocketBytesSent, []byte("data"))
					default:
						w.EndEventWithNetErrorCode(netlog.EventRequestAlive, -2)
					}
				}
			}()
		}
		for range loggers {
			<-started
		}
		var closeErr error
		closed := make(chan struct{})
		go func() {
			closeErr = fw.Close(netlog.Params{"round": round})
			close(closed)
		}()
		wg.Wait()
		select {
		case <-closed:
		case <-time.After(hangGuard):
			t.Fatal("Close hung")
		}
		nl.RemoveObserver(fw)
		if closeErr != nil {
			t.Fatalf("Close: %v", closeErr)
		}
		data := readFile(t, path)
		n := netlogcheck.ValidateForViewer(t, data)
		if n > loggers*per {
			t.Errorf("%d events, more than the %d logged", n, loggers*per)
		}
		t.Logf("round %d: %d of %d events written before Close", round, n, loggers*per)
	}
}

// TestNetLogToFileWriterEndToEnd: events logged through a NetLog by several
// sources land in the file with the ids and types they were logged with.
func TestNetLogToFileWriterEndToEnd(t *testing.T) {
	fw, path := newFileWriter(t, netlog.Default)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Default)
	const sources, per = 4, 25
	var wg sync.WaitGroup
	for range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := netlog.NewSource(nl, netlog.SourceTransportConnectJob)
			for i := range per {
				w.AddEventWithParams(netlog.EventTCPConnectAttempt, netlog.Params{"seq": i})
			}
		}()
	}
	wg.Wait()
	nl.RemoveObserver(fw)
	if err := fw.Close(nil); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, path)
	if n := netlogcheck.ValidateForViewer(t, data); n != sources*per {
		t.Fatalf("%d events, want %d", n, sources*per)
	}
	// Per source, events are in the order they were logged.
	next := map[int64]int64{}
	for _, raw := range decodeLog(t, data)["events"].([]any) {
		e := raw.(map[string]any)
		id := num(t, e["source"].(map[string]any)["id"])
		seq := num(t, e["params"].(map[string]any)["seq"])
		if seq != next[id] {
			t.Errorf("source %d: seq %d, want %d", id, seq, next[id])
		}
		next[id] = seq + 1
	}
	if len(next) != sources {
		t.Errorf("%d sources in the file, want %d", len(next), sources)
	}
}

func BenchmarkFileWriterEntry(b *testing.B) {
	fw, _ := newFileWriter(b, netlog.Default)
	now := time.Now()
	e := &netlog.Entry{
		Type:   netlog.EventTCPConnect,
		Source: netlog.Source{Type: netlog.SourceSocket, ID: 42, StartTime: now},
		Phase:  netlog.PhaseEnd,
		Time:   now,
		Params: netlog.Params{"net_error": -102, "source_address": "127.0.0.1:5000"},
	}
	b.ReportAllocs()
	for b.Loop() {
		fw.OnAddEntry(e)
	}
	b.StopTimer()
	if err := fw.Close(nil); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkNetLogToFileWriter(b *testing.B) {
	fw, _ := newFileWriter(b, netlog.Default)
	nl := netlog.New()
	nl.AddObserver(fw, netlog.Default)
	w := netlog.NewSource(nl, netlog.SourceSocket)
	b.ReportAllocs()
	for b.Loop() {
		w.EndEventWithNetErrorCode(netlog.EventTCPConnect, -102)
	}
	b.StopTimer()
	nl.RemoveObserver(fw)
	fw.Close(nil)
}

func BenchmarkAddEntryNotCapturing(b *testing.B) {
	nl := netlog.New()
	w := netlog.NewSource(nl, netlog.SourceSocket)
	pf := func(netlog.CaptureMode) netlog.Params { return netlog.Params{"net_error": -102} }
	b.ReportAllocs()
	for b.Loop() {
		w.AddEvent(netlog.EventTCPConnect, pf)
	}
}
