package netlog_test

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// recorder is an Observer that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	entries []netlog.Entry
}

func (r *recorder) OnAddEntry(e *netlog.Entry) {
	r.mu.Lock()
	r.entries = append(r.entries, *e)
	r.mu.Unlock()
}

func (r *recorder) all() []netlog.Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]netlog.Entry(nil), r.entries...)
}

func (r *recorder) only(t *testing.T) netlog.Entry {
	t.Helper()
	es := r.all()
	if len(es) != 1 {
		t.Fatalf("observer got %d entries, want 1: %+v", len(es), es)
	}
	return es[0]
}

func TestSourceIDsStartAtOneAndAreUnique(t *testing.T) {
	nl := netlog.New()
	if id := nl.NextID(); id != 1 {
		t.Fatalf("first NextID() = %d, want 1", id)
	}
	const workers, per = 16, 1000
	ids := make([][]uint32, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if i%2 == 0 {
					ids[w] = append(ids[w], nl.NextID())
				} else {
					ids[w] = append(ids[w], netlog.NewSource(nl, netlog.SourceSocket).Source().ID)
				}
			}
		}()
	}
	wg.Wait()
	seen := make(map[uint32]bool, workers*per)
	for _, list := range ids {
		for _, id := range list {
			if id < 2 || id > workers*per+1 {
				t.Errorf("id %d out of range [2, %d]", id, workers*per+1)
			}
			if seen[id] {
				t.Errorf("id %d handed out twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != workers*per {
		t.Errorf("%d distinct ids, want %d", len(seen), workers*per)
	}
	// Separate NetLogs count separately.
	if id := netlog.New().NextID(); id != 1 {
		t.Errorf("a new NetLog's first id = %d, want 1", id)
	}
}

func TestNewSource(t *testing.T) {
	nl := netlog.New()
	before := time.Now()
	w := netlog.NewSource(nl, netlog.SourceURLRequest)
	src := w.Source()
	if src.Type != netlog.SourceURLRequest || src.ID != 1 || !src.IsValid() {
		t.Errorf("source = %+v", src)
	}
	if src.StartTime.Before(before) {
		t.Errorf("start time %v before creation %v", src.StartTime, before)
	}
	if w.NetLog() != nl {
		t.Error("NetLog() is not the log the source was made from")
	}

	// A nil log gives the zero WithSource, which logs nothing and never
	// calls its ParamsFunc.
	z := netlog.NewSource(nil, netlog.SourceSocket)
	if z.Source().IsValid() || z.NetLog() != nil || z.IsCapturing() {
		t.Errorf("NewSource(nil) = %+v", z)
	}
	var zero netlog.WithSource
	zero.AddEvent(netlog.EventFailed, func(netlog.CaptureMode) netlog.Params {
		t.Error("ParamsFunc called on the zero WithSource")
		return nil
	})
	zero.AddByteTransferEvent(netlog.EventSocketBytesSent, []byte("x"))
	zero.EndEventWithNetErrorCode(netlog.EventTCPConnect, -102)
	if (netlog.Source{}).IsValid() {
		t.Error("the zero Source is valid")
	}
}

// TestParamsPerCaptureMode: each observer gets parameters built for its own
// capture mode, and the ParamsFunc runs once per distinct mode.
func TestParamsPerCaptureMode(t *testing.T) {
	nl := netlog.New()
	redacted, sensitive, sensitive2 := &recorder{}, &recorder{}, &recorder{}
	nl.AddObserver(redacted, netlog.HeavilyRedacted)
	nl.AddObserver(sensitive, netlog.IncludeSensitive)
	nl.AddObserver(sensitive2, netlog.IncludeSensitive)

	calls := map[netlog.CaptureMode]int{}
	w := netlog.NewSource(nl, netlog.SourceURLRequest)
	w.BeginEvent(netlog.EventURLRequestStartJob, func(m netlog.CaptureMode) netlog.Params {
		calls[m]++
		p := netlog.Params{"url": "https://example.com/", "mode": m.String()}
		if m.IncludesSensitive() {
			p["cookie"] = "a=b"
		}
		return p
	})

	if len(calls) != 2 || calls[netlog.HeavilyRedacted] != 1 || calls[netlog.IncludeSensitive] != 1 {
		t.Errorf("ParamsFunc calls per mode = %v, want one each for HeavilyRedacted and IncludeSensitive", calls)
	}
	r := redacted.only(t)
	if r.Params["mode"] != "HeavilyRedacted" || r.Params["cookie"] != nil {
		t.Errorf("redacted observer got %v", r.Params)
	}
	for _, rec := range []*recorder{sensitive, sensitive2} {
		e := rec.only(t)
		if e.Params["mode"] != "IncludeSensitive" || e.Params["cookie"] != "a=b" {
			t.Errorf("sensitive observer got %v", e.Params)
		}
	}
	// Everything but the parameters is the same for all.
	for _, rec := range []*recorder{redacted, sensitive} {
		e := rec.only(t)
		if e.Type != netlog.EventURLRequestStartJob || e.Phase != netlog.PhaseBegin ||
			e.Source != w.Source() || e.Time.IsZero() {
			t.Errorf("entry = %+v", e)
		}
	}
}

func TestNilParamsFunc(t *testing.T) {
	nl := netlog.New()
	rec := &recorder{}
	nl.AddObserver(rec, netlog.Everything)
	w := netlog.NewSource(nl, netlog.SourceSocket)
	w.AddEvent(netlog.EventSocketClosed, nil)
	if e := rec.only(t); e.Params != nil || e.Phase != netlog.PhaseNone {
		t.Errorf("entry = %+v, want no params and phase NONE", e)
	}
}

func TestParamsFuncNotCalledWhenNotCapturing(t *testing.T) {
	nl := netlog.New()
	var calls atomic.Int32
	pf := func(netlog.CaptureMode) netlog.Params { calls.Add(1); return netlog.Params{"x": 1} }
	w := netlog.NewSource(nl, netlog.SourceURLRequest)

	log := func() {
		w.AddEvent(netlog.EventRequestAlive, pf)
		w.BeginEvent(netlog.EventRequestAlive, pf)
		w.EndEvent(netlog.EventRequestAlive, pf)
		nl.AddEntry(netlog.EventRequestAlive, w.Source(), netlog.PhaseNone, pf)
		nl.AddGlobalEntry(netlog.EventNetworkChanged, pf)
	}
	if nl.IsCapturing() || w.IsCapturing() {
		t.Fatal("IsCapturing with no observers")
	}
	log()
	if calls.Load() != 0 {
		t.Fatalf("ParamsFunc called %d times with nobody capturing", calls.Load())
	}

	rec := &recorder{}
	nl.AddObserver(rec, netlog.Default)
	if !nl.IsCapturing() || !w.IsCapturing() {
		t.Fatal("not capturing with an observer")
	}
	log()
	if calls.Load() != 5 {
		t.Errorf("ParamsFunc called %d times, want 5", calls.Load())
	}

	nl.RemoveObserver(rec)
	calls.Store(0)
	log()
	if calls.Load() != 0 || nl.IsCapturing() {
		t.Errorf("after removing the last observer: %d calls, capturing=%v", calls.Load(), nl.IsCapturing())
	}
	var nilLog *netlog.NetLog
	if nilLog.IsCapturing() {
		t.Error("nil NetLog is capturing")
	}
	nilLog.AddEntry(netlog.EventFailed, netlog.Source{}, netlog.PhaseNone, pf)
	nilLog.AddGlobalEntry(netlog.EventFailed, pf)
	if calls.Load() != 0 {
		t.Error("nil NetLog called ParamsFunc")
	}
}

func TestAddEntryNotCapturingAllocs(t *testing.T) {
	nl := netlog.New()
	w := netlog.NewSource(nl, netlog.SourceSocket)
	pf := func(netlog.CaptureMode) netlog.Params { return netlog.Params{"x": 1} }
	buf := []byte("payload")
	allocs := testing.AllocsPerRun(1000, func() {
		w.AddEvent(netlog.EventSocketClosed, pf)
		w.EndEventWithNetErrorCode(netlog.EventTCPConnect, -102)
		w.AddByteTransferEvent(netlog.EventSocketBytesSent, buf)
	})
	if allocs != 0 {
		t.Errorf("logging with nobody capturing allocates %v times per call", allocs)
	}
}

func TestRemoveObserver(t *testing.T) {
	nl := netlog.New()
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	nl.AddObserver(a, netlog.Default)
	nl.AddObserver(b, netlog.Default)
	nl.AddObserver(c, netlog.Everything)
	w := netlog.NewSource(nl, netlog.SourceSocket)

	w.AddEvent(netlog.EventSocketAlive, nil)
	nl.RemoveObserver(b)
	w.AddEvent(netlog.EventSocketInUse, nil)
	nl.RemoveObserver(&recorder{}) // unknown: no-op
	nl.RemoveObserver(b)           // twice: no-op
	w.AddEvent(netlog.EventSocketClosed, nil)

	types := func(r *recorder) []netlog.EventType {
		var out []netlog.EventType
		for _, e := range r.all() {
			out = append(out, e.Type)
		}
		return out
	}
	all3 := []netlog.EventType{netlog.EventSocketAlive, netlog.EventSocketInUse, netlog.EventSocketClosed}
	if got := types(a); !reflect.DeepEqual(got, all3) {
		t.Errorf("a got %v, want %v", got, all3)
	}
	if got := types(b); !reflect.DeepEqual(got, all3[:1]) {
		t.Errorf("removed observer b got %v, want %v", got, all3[:1])
	}
	if got := types(c); !reflect.DeepEqual(got, all3) {
		t.Errorf("c got %v, want %v", got, all3)
	}
	if !nl.IsCapturing() {
		t.Error("not capturing while a and c remain")
	}
	nl.RemoveObserver(a)
	nl.RemoveObserver(c)
	if nl.IsCapturing() {
		t.Error("capturing with no observers left")
	}
}

// TestConcurrentLoggingAndObservers exercises the NetLog's locking under
// -race: several goroutines log while observers come and go.
func TestConcurrentLoggingAndObservers(t *testing.T) {
	nl := netlog.New()
	stable := &recorder{}
	nl.AddObserver(stable, netlog.Default)
	var wg sync.WaitGroup
	const loggers, per = 8, 500
	for range loggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := netlog.NewSource(nl, netlog.SourceURLRequest)
			for i := range per {
				w.AddEventWithParams(netlog.EventURLRequestJobBytesRead, netlog.Params{"i": i})
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			r := &recorder{}
			nl.AddObserver(r, netlog.Everything)
			nl.RemoveObserver(r)
		}
	}()
	wg.Wait()
	if n := len(stable.all()); n != loggers*per {
		t.Errorf("stable observer got %d entries, want %d", n, loggers*per)
	}
}

func TestAddByteTransferEvent(t *testing.T) {
	payload := []byte("GET / HTTP/1.1\r\n\r\n\x00\xff")
	for _, mode := range []netlog.CaptureMode{netlog.HeavilyRedacted, netlog.Default, netlog.IncludeSensitive, netlog.Everything} {
		t.Run(mode.String(), func(t *testing.T) {
			nl := netlog.New()
			rec := &recorder{}
			nl.AddObserver(rec, mode)
			w := netlog.NewSource(nl, netlog.SourceSocket)
			buf := append([]byte(nil), payload...)
			w.AddByteTransferEvent(netlog.EventSocketBytesReceived, buf)
			// The caller may reuse its buffer at once.
			for i := range buf {
				buf[i] = 'X'
			}
			e := rec.only(t)
			if e.Type != netlog.EventSocketBytesReceived || e.Phase != netlog.PhaseNone {
				t.Errorf("entry = %+v", e)
			}
			if e.Params["byte_count"] != len(payload) {
				t.Errorf("byte_count = %v, want %d", e.Params["byte_count"], len(payload))
			}
			bytes, has := e.Params["bytes"]
			if mode == netlog.Everything {
				if want := base64.StdEncoding.EncodeToString(payload); bytes != want {
					t.Errorf("bytes = %v, want %q", bytes, want)
				}
			} else if has {
				t.Errorf("bytes logged in %v mode", mode)
			}
		})
	}

	// One event, observers in two modes: only the Everything one gets bytes.
	nl := netlog.New()
	plain, full := &recorder{}, &recorder{}
	nl.AddObserver(plain, netlog.IncludeSensitive)
	nl.AddObserver(full, netlog.Everything)
	netlog.NewSource(nl, netlog.SourceSocket).AddByteTransferEvent(netlog.EventSocketBytesSent, nil)
	if _, has := plain.only(t).Params["bytes"]; has {
		t.Error("IncludeSensitive observer got bytes")
	}
	p := full.only(t).Params
	if p["byte_count"] != 0 || p["bytes"] != "" {
		t.Errorf("empty transfer params = %v", p)
	}
}

func TestDependencyParams(t *testing.T) {
	nl := netlog.New()
	other := netlog.NewSource(nl, netlog.SourceSocket).Source()
	other2 := netlog.NewSource(nl, netlog.SourceSocket).Source()
	want := `{"source_dependency":{"id":` + strconv.Itoa(int(other2.ID)) + `,"type":` +
		strconv.Itoa(int(netlog.SourceSocket)) + `}}`
	got, err := json.Marshal(other2.DependencyParams())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("DependencyParams JSON = %s, want %s", got, want)
	}

	rec := &recorder{}
	nl.AddObserver(rec, netlog.HeavilyRedacted)
	w := netlog.NewSource(nl, netlog.SourceURLRequest)
	w.BeginEventReferencingSource(netlog.EventSocketPoolBoundToSocket, other)
	w.AddEventReferencingSource(netlog.EventSocketPoolBoundToSocket, other)
	w.EndEventReferencingSource(netlog.EventSocketPoolBoundToSocket, other)
	es := rec.all()
	phases := []netlog.Phase{netlog.PhaseBegin, netlog.PhaseNone, netlog.PhaseEnd}
	if len(es) != 3 {
		t.Fatalf("got %d entries", len(es))
	}
	for i, e := range es {
		if e.Phase != phases[i] {
			t.Errorf("entry %d phase = %v, want %v", i, e.Phase, phases[i])
		}
		dep, ok := e.Params["source_dependency"].(netlog.Params)
		if !ok || len(e.Params) != 1 {
			t.Fatalf("entry %d params = %#v", i, e.Params)
		}
		b, _ := json.Marshal(dep)
		wantDep := `{"id":` + strconv.Itoa(int(other.ID)) + `,"type":` + strconv.Itoa(int(netlog.SourceSocket)) + `}`
		if string(b) != wantDep {
			t.Errorf("entry %d source_dependency = %s, want %s", i, b, wantDep)
		}
	}
}

func TestNetErrorCodeEvents(t *testing.T) {
	tests := []struct {
		result int
		want   netlog.Params
	}{
		{net.OK, nil},
		{1234, nil}, // a byte count is not an error
		{int(net.ErrConnectionRefused), netlog.Params{"net_error": -102}},
		{net.IOPending, netlog.Params{"net_error": -1}},
		{int(net.ErrNameNotResolved), netlog.Params{"net_error": -105}},
	}
	for _, tt := range tests {
		nl := netlog.New()
		rec := &recorder{}
		nl.AddObserver(rec, netlog.Default)
		w := netlog.NewSource(nl, netlog.SourceSocket)
		w.EndEventWithNetErrorCode(netlog.EventTCPConnect, tt.result)
		w.AddEventWithNetErrorCode(netlog.EventSocketReadError, tt.result)
		es := rec.all()
		if len(es) != 2 {
			t.Fatalf("result %d: %d entries", tt.result, len(es))
		}
		if es[0].Phase != netlog.PhaseEnd || es[0].Type != netlog.EventTCPConnect {
			t.Errorf("result %d: end entry = %+v", tt.result, es[0])
		}
		if es[1].Phase != netlog.PhaseNone || es[1].Type != netlog.EventSocketReadError {
			t.Errorf("result %d: point entry = %+v", tt.result, es[1])
		}
		for _, e := range es {
			if !reflect.DeepEqual(e.Params, tt.want) {
				t.Errorf("result %d: params = %#v, want %#v", tt.result, e.Params, tt.want)
			}
		}
	}
}

func TestWithParamsHelpers(t *testing.T) {
	nl := netlog.New()
	rec := &recorder{}
	nl.AddObserver(rec, netlog.Default)
	w := netlog.NewSource(nl, netlog.SourceURLRequest)
	p := netlog.Params{"k": "v"}
	w.BeginEventWithParams(netlog.EventRequestAlive, p)
	w.AddEventWithParams(netlog.EventURLRequestRedirected, p)
	w.EndEventWithParams(netlog.EventRequestAlive, p)
	w.AddEntry(netlog.EventCancelled, netlog.PhaseNone, nil)
	want := []struct {
		t netlog.EventType
		p netlog.Phase
	}{
		{netlog.EventRequestAlive, netlog.PhaseBegin},
		{netlog.EventURLRequestRedirected, netlog.PhaseNone},
		{netlog.EventRequestAlive, netlog.PhaseEnd},
		{netlog.EventCancelled, netlog.PhaseNone},
	}
	es := rec.all()
	if len(es) != len(want) {
		t.Fatalf("%d entries", len(es))
	}
	for i, e := range es {
		if e.Type != want[i].t || e.Phase != want[i].p || e.Source != w.Source() {
			t.Errorf("entry %d = %+v", i, e)
		}
		if i < 3 && e.Params["k"] != "v" {
			t.Errorf("entry %d params = %v", i, e.Params)
		}
	}
	if !es[1].Time.After(es[0].Time) && !es[1].Time.Equal(es[0].Time) {
		t.Error("entry times go backwards")
	}
}

func TestAddGlobalEntry(t *testing.T) {
	nl := netlog.New()
	rec := &recorder{}
	nl.AddObserver(rec, netlog.Default)
	nl.AddGlobalEntry(netlog.EventNetworkChanged, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"new_connection_type": "ETHERNET"}
	})
	nl.AddGlobalEntry(netlog.EventNetworkChanged, nil)
	es := rec.all()
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	for _, e := range es {
		if e.Source.Type != netlog.SourceNone || !e.Source.IsValid() || e.Phase != netlog.PhaseNone ||
			e.Source.StartTime.IsZero() {
			t.Errorf("global entry = %+v", e)
		}
	}
	if es[0].Source.ID == es[1].Source.ID {
		t.Error("global entries share a source id")
	}
}

func TestCaptureModes(t *testing.T) {
	tests := []struct {
		m                    netlog.CaptureMode
		value                int
		name                 string
		sensitive, socketRaw bool
	}{
		{netlog.HeavilyRedacted, 0, "HeavilyRedacted", false, false},
		{netlog.Default, 1, "Default", false, false},
		{netlog.IncludeSensitive, 2, "IncludeSensitive", true, false},
		{netlog.Everything, 3, "Everything", true, true},
	}
	for _, tt := range tests {
		if int(tt.m) != tt.value || tt.m.String() != tt.name {
			t.Errorf("mode %d %q, want %d %q", int(tt.m), tt.m.String(), tt.value, tt.name)
		}
		if tt.m.IncludesSensitive() != tt.sensitive || tt.m.IncludesSocketBytes() != tt.socketRaw {
			t.Errorf("%v: IncludesSensitive=%v IncludesSocketBytes=%v", tt.m, tt.m.IncludesSensitive(), tt.m.IncludesSocketBytes())
		}
	}
	if s := netlog.CaptureMode(9).String(); s != "Unknown" {
		t.Errorf("CaptureMode(9).String() = %q", s)
	}
}

func TestParseCaptureMode(t *testing.T) {
	tests := []struct {
		in   string
		want netlog.CaptureMode
		ok   bool
	}{
		{"HeavilyRedacted", netlog.HeavilyRedacted, true},
		{"Default", netlog.Default, true},
		{"IncludeSensitive", netlog.IncludeSensitive, true},
		{"Everything", netlog.Everything, true},
		{"everything", netlog.Everything, true},
		{"EVERYTHING", netlog.Everything, true},
		{"includesensitive", netlog.IncludeSensitive, true},
		{"heavilyREDACTED", netlog.HeavilyRedacted, true},
		{"", 0, false},
		{"All", 0, false},
		{"Everything ", 0, false},
		{"Everythinh", 0, false},
		{"IncludeSocketBytes", 0, false}, // an old Chromium name, not accepted
		{"Éverything", 0, false},
	}
	for _, tt := range tests {
		got, ok := netlog.ParseCaptureMode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseCaptureMode(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEventAndSourceTypeNames(t *testing.T) {
	// Every generated type round-trips through its name, and names are unique.
	names := map[string]bool{}
	n := 0
	for ; netlog.EventType(n).String() != "UNKNOWN"; n++ {
		name := netlog.EventType(n).String()
		if names[name] {
			t.Errorf("event name %s used twice", name)
		}
		names[name] = true
		if got, ok := netlog.EventTypeByName(name); !ok || int(got) != n {
			t.Errorf("EventTypeByName(%q) = %d, %v; want %d", name, got, ok, n)
		}
	}
	if n < 600 {
		t.Errorf("only %d event types", n)
	}
	if netlog.EventType(-1).String() != "UNKNOWN" {
		t.Error("EventType(-1) has a name")
	}
	if _, ok := netlog.EventTypeByName("NO_SUCH_EVENT"); ok {
		t.Error("EventTypeByName found a made-up name")
	}
	s := 0
	for ; netlog.SourceType(s).String() != "UNKNOWN"; s++ {
		name := netlog.SourceType(s).String()
		if got, ok := netlog.SourceTypeByName(name); !ok || int(got) != s {
			t.Errorf("SourceTypeByName(%q) = %d, %v; want %d", name, got, ok, s)
		}
	}
	if s < 50 {
		t.Errorf("only %d source types", s)
	}
	if _, ok := netlog.SourceTypeByName("url_request"); ok {
		t.Error("SourceTypeByName is case-insensitive")
	}

	// Names that netlog-viewer's renderers and the rest of the stack key on
	// (chromium-net.md §6.6, §6.7) exist. Their numbers change between
	// Chromium versions, so only the stable leading ones are checked.
	for _, name := range []string{
		"CANCELLED", "FAILED", "REQUEST_ALIVE", "URL_REQUEST_START_JOB", "URL_REQUEST_REDIRECTED",
		"HTTP_CACHE_GET_BACKEND", "HTTP_CACHE_OPEN_OR_CREATE_ENTRY", "HTTP_STREAM_REQUEST",
		"HTTP_STREAM_JOB", "HTTP_STREAM_JOB_CONTROLLER", "HTTP_TRANSACTION_SEND_REQUEST",
		"HTTP_TRANSACTION_SEND_REQUEST_HEADERS", "HTTP_TRANSACTION_READ_HEADERS",
		"HTTP_TRANSACTION_READ_RESPONSE_HEADERS", "CONNECT_JOB", "TRANSPORT_CONNECT_JOB_CONNECT",
		"SSL_CONNECT_JOB_CONNECT", "SOCKS_CONNECT_JOB_CONNECT", "HTTP_PROXY_CONNECT_JOB_CONNECT",
		"SOCKET_POOL", "SOCKET_POOL_BOUND_TO_SOCKET", "SOCKET_POOL_BOUND_TO_CONNECT_JOB",
		"SOCKET_ALIVE", "TCP_CONNECT", "TCP_CONNECT_ATTEMPT", "SOCKET_IN_USE", "SOCKS_CONNECT",
		"SOCKS5_CONNECT", "SSL_CONNECT", "SOCKET_BYTES_SENT", "SOCKET_BYTES_RECEIVED",
		"SOCKET_CLOSED", "HOST_RESOLVER_MANAGER_REQUEST", "HOST_RESOLVER_MANAGER_JOB",
		"HOST_RESOLVER_MANAGER_CACHE_HIT", "DNS_TRANSACTION", "PAC_FILE_DECIDER",
		"PROXY_RESOLUTION_SERVICE", "PROXY_LIST_FALLBACK", "BAD_PROXY_LIST_REPORTED",
		"AUTH_CONTROLLER", "HTTP2_SESSION",
	} {
		if _, ok := netlog.EventTypeByName(name); !ok {
			t.Errorf("event type %s missing", name)
		}
	}
	for i, name := range []string{"CANCELLED", "FAILED", "REQUEST_ALIVE"} {
		if netlog.EventType(i).String() != name {
			t.Errorf("event %d = %s, want %s", i, netlog.EventType(i), name)
		}
	}
	sources := []string{"NONE", "URL_REQUEST", "PAC_FILE_DECIDER", "HTTP_PROXY_CONNECT_JOB",
		"SOCKS_CONNECT_JOB", "SSL_CONNECT_JOB", "TRANSPORT_CONNECT_JOB", "TCP_CONNECT_JOB",
		"TCP_STREAM_ATTEMPT", "TLS_STREAM_ATTEMPT", "SOCKET", "HTTP2_SESSION"}
	for i, name := range sources {
		if netlog.SourceType(i).String() != name {
			t.Errorf("source type %d = %s, want %s", i, netlog.SourceType(i), name)
		}
	}
	for _, name := range []string{"HOST_RESOLVER_IMPL_JOB", "DISK_CACHE_ENTRY", "HTTP_STREAM_JOB",
		"HTTP_STREAM_JOB_CONTROLLER", "PROXY_CLIENT_SOCKET", "HTTP_AUTH_CONTROLLER",
		"DNS_TRANSACTION", "UDP_SOCKET", "NETWORK_CHANGE_NOTIFIER"} {
		if _, ok := netlog.SourceTypeByName(name); !ok {
			t.Errorf("source type %s missing", name)
		}
	}
	// Generated identifiers agree with the names.
	ids := []struct {
		got  string
		want string
	}{
		{netlog.EventTCPConnect.String(), "TCP_CONNECT"},
		{netlog.EventSocketBytesSent.String(), "SOCKET_BYTES_SENT"},
		{netlog.EventURLRequestStartJob.String(), "URL_REQUEST_START_JOB"},
		{netlog.SourceURLRequest.String(), "URL_REQUEST"},
		{netlog.SourceSocket.String(), "SOCKET"},
		{netlog.SourceHTTPProxyConnectJob.String(), "HTTP_PROXY_CONNECT_JOB"},
	}
	for _, id := range ids {
		if id.got != id.want {
			t.Errorf("identifier names %s, want %s", id.got, id.want)
		}
	}
}

func TestPhases(t *testing.T) {
	if netlog.PhaseNone != 0 || netlog.PhaseBegin != 1 || netlog.PhaseEnd != 2 {
		t.Error("phases differ from Chromium's NONE=0 BEGIN=1 END=2")
	}
}

func TestTickTime(t *testing.T) {
	now := time.Now()
	ms := netlog.TickMillis(now)
	if ms < 0 {
		t.Errorf("TickMillis(now) = %d, negative", ms)
	}
	if s := netlog.TickString(now); s != strconv.FormatInt(ms, 10) {
		t.Errorf("TickString = %q, want %d", s, ms)
	}
	later := now.Add(1500 * time.Millisecond)
	if d := netlog.TickMillis(later) - ms; d != 1500 {
		t.Errorf("1.5 s later is %d ms later", d)
	}
	// offset + tick time is the wall clock (up to rounding and clock steps).
	wall := netlog.TimeTickOffset() + ms
	if diff := wall - now.UnixMilli(); diff < -1000 || diff > 1000 {
		t.Errorf("TimeTickOffset()+TickMillis(now) = %d, wall clock %d", wall, now.UnixMilli())
	}
}

func TestConstants(t *testing.T) {
	for _, mode := range []netlog.CaptureMode{netlog.HeavilyRedacted, netlog.Default, netlog.IncludeSensitive, netlog.Everything} {
		c := netlog.Constants(mode)
		if c["logCaptureMode"] != mode.String() {
			t.Errorf("logCaptureMode = %v, want %s", c["logCaptureMode"], mode)
		}
	}
	c := netlog.Constants(netlog.Default)
	// Round-trip through JSON, as the file writer does.
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("constants do not marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m["logFormatVersion"] != 1.0 {
		t.Errorf("logFormatVersion = %v", m["logFormatVersion"])
	}
	events := m["logEventTypes"].(map[string]any)
	n := 0
	for netlog.EventType(n).String() != "UNKNOWN" {
		n++
	}
	if len(events) != n {
		t.Errorf("logEventTypes has %d entries, want %d", len(events), n)
	}
	if events["TCP_CONNECT"] != float64(netlog.EventTCPConnect) {
		t.Errorf("logEventTypes.TCP_CONNECT = %v", events["TCP_CONNECT"])
	}
	sources := m["logSourceType"].(map[string]any)
	if sources["URL_REQUEST"] != 1.0 || sources["NONE"] != 0.0 {
		t.Errorf("logSourceType = %v", sources)
	}
	errs := m["netError"].(map[string]any)
	if errs["net::OK"] != 0.0 || errs["ERR_CONNECTION_REFUSED"] != -102.0 || errs["ERR_IO_PENDING"] != -1.0 {
		t.Errorf("netError: OK=%v REFUSED=%v", errs["net::OK"], errs["ERR_CONNECTION_REFUSED"])
	}
	if len(errs) != len(net.AllErrors())+1 {
		t.Errorf("netError has %d entries, want %d", len(errs), len(net.AllErrors())+1)
	}
	phases := m["logEventPhase"].(map[string]any)
	if !reflect.DeepEqual(phases, map[string]any{"PHASE_BEGIN": 1.0, "PHASE_END": 2.0, "PHASE_NONE": 0.0}) {
		t.Errorf("logEventPhase = %v", phases)
	}
	af := m["addressFamily"].(map[string]any)
	if !reflect.DeepEqual(af, map[string]any{"ADDRESS_FAMILY_UNSPECIFIED": 0.0, "ADDRESS_FAMILY_IPV4": 1.0, "ADDRESS_FAMILY_IPV6": 2.0}) {
		t.Errorf("addressFamily = %v", af)
	}
	if lf := m["loadFlag"].(map[string]any); lf["NORMAL"] != 0.0 || lf["BYPASS_PROXY"] != 128.0 || len(lf) != 21 {
		t.Errorf("loadFlag = %v", lf)
	}
	if ls := m["loadState"].(map[string]any); ls["IDLE"] != 0.0 || ls["READING_RESPONSE"] != 15.0 || len(ls) != 16 {
		t.Errorf("loadState = %v", ls)
	}
	dq := m["dnsQueryType"].(map[string]any)
	if !reflect.DeepEqual(dq, map[string]any{"UNSPECIFIED": 0.0, "A": 1.0, "AAAA": 2.0, "TXT": 3.0, "PTR": 4.0, "SRV": 5.0, "HTTPS": 7.0}) {
		t.Errorf("dnsQueryType = %v", dq)
	}
	if sdm := m["secureDnsMode"].(map[string]any); !reflect.DeepEqual(sdm, map[string]any{"Off": 0.0, "Automatic": 1.0, "Secure": 2.0}) {
		t.Errorf("secureDnsMode = %v", sdm)
	}
	off, ok := m["timeTickOffset"].(string)
	if !ok {
		t.Fatalf("timeTickOffset is %T, want a numeric string", m["timeTickOffset"])
	}
	if v, err := strconv.ParseInt(off, 10, 64); err != nil || v != netlog.TimeTickOffset() {
		t.Errorf("timeTickOffset = %q, want %d", off, netlog.TimeTickOffset())
	}
	ci, ok := m["clientInfo"].(map[string]any)
	if !ok || ci["name"] != netlog.ClientName {
		t.Errorf("clientInfo = %v", m["clientInfo"])
	}
	var keys []string
	for k := range ci {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	wantKeys := []string{"cl", "command_line", "name", "official", "os_type", "version", "version_mod"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("clientInfo keys = %v, want %v", keys, wantKeys)
	}
}
