package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/internal/netlogcheck"
)

type netlogEvent struct {
	Type  int `json:"type"`
	Phase int `json:"phase"`
	// Time is milliseconds on the log's clock, as a string (Chrome's form).
	Time   string `json:"time"`
	Source struct {
		ID   int `json:"id"`
		Type int `json:"type"`
	} `json:"source"`
	Params map[string]any `json:"params"`
}

// netlogFile is a parsed --netlog file, with its events grouped by name
// (the numbers are mapped through constants.logEventTypes).
type netlogFile struct {
	raw    map[string]any
	mode   string
	events []netlogEvent
	byName map[string][]netlogEvent
}

func readNetLog(t *testing.T, path string) *netlogFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Constants struct {
			LogEventTypes  map[string]int `json:"logEventTypes"`
			LogCaptureMode string         `json:"logCaptureMode"`
		} `json:"constants"`
		Events []netlogEvent `json:"events"`
	}
	// Every dump the command writes must load in netlog-viewer.
	if n := netlogcheck.ValidateForViewer(t, b); t.Failed() {
		t.Fatalf("the NetLog breaks netlog-viewer's rules (%d valid events)", n)
	}
	nl := &netlogFile{byName: make(map[string][]netlogEvent)}
	if err := json.Unmarshal(b, &nl.raw); err != nil {
		t.Fatalf("the NetLog is not JSON: %v\n%s", err, b)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"constants", "events", "polledData"} {
		if _, ok := nl.raw[key]; !ok {
			t.Fatalf("the NetLog has no %q", key)
		}
	}
	names := make(map[int]string, len(f.Constants.LogEventTypes))
	for name, n := range f.Constants.LogEventTypes {
		names[n] = name
	}
	nl.mode = f.Constants.LogCaptureMode
	nl.events = f.Events
	for _, e := range f.Events {
		name, ok := names[e.Type]
		if !ok {
			t.Fatalf("event type %d is not in constants.logEventTypes", e.Type)
		}
		nl.byName[name] = append(nl.byName[name], e)
	}
	return nl
}

func (nl *netlogFile) require(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if len(nl.byName[n]) == 0 {
			t.Errorf("no %s event in the NetLog", n)
		}
	}
}

// hasKey reports whether any object anywhere in v has the key.
func hasKey(v any, key string) bool {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if k == key || hasKey(x, key) {
				return true
			}
		}
	case []any:
		for _, x := range v {
			if hasKey(x, key) {
				return true
			}
		}
	}
	return false
}

func bodyServer(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// The NetLog is complete, and has the events of every layer, also when a
// URL failed; in Default mode it carries no bytes.
func TestNetLogDefault(t *testing.T) {
	t.Parallel()
	base := bodyServer(t, "hello")
	path := filepath.Join(t.TempDir(), "log.json")
	r := netfetch(t, "--netlog", path, base+"/", deadURL(t))
	expectCode(t, r, 1)
	nl := readNetLog(t, path)
	nl.require(t, "REQUEST_ALIVE", "URL_REQUEST_START_JOB", "HTTP_STREAM_REQUEST", "SOCKET_POOL", "TCP_CONNECT",
		"URL_REQUEST_JOB_FILTERED_BYTES_READ", "SOCKET_BYTES_RECEIVED")
	if nl.mode != "Default" {
		t.Errorf("logCaptureMode %q", nl.mode)
	}
	if hasKey(nl.raw["events"], "bytes") {
		t.Error(`a Default-mode NetLog has a "bytes" parameter`)
	}
	if _, ok := nl.raw["polledData"].(map[string]any)["socketPoolInfo"]; !ok {
		t.Errorf("polledData %v", nl.raw["polledData"])
	}
	// The failed request's span ends with its error.
	failed := false
	for _, e := range nl.byName["REQUEST_ALIVE"] {
		if code, _ := e.Params["net_error"].(float64); code == -102 {
			failed = true
		}
	}
	if !failed {
		t.Error("no REQUEST_ALIVE ends with net_error -102")
	}
}

func TestNetLogEverything(t *testing.T) {
	t.Parallel()
	body := "some body bytes"
	base := bodyServer(t, body)
	path := filepath.Join(t.TempDir(), "log.json")
	r := netfetch(t, "--netlog-mode", "everything", "--netlog", path, base+"/")
	expectCode(t, r, 0)
	nl := readNetLog(t, path)
	if nl.mode != "Everything" {
		t.Errorf("logCaptureMode %q", nl.mode)
	}
	nl.require(t, "SOCKET_BYTES_RECEIVED", "SOCKET_BYTES_SENT", "URL_REQUEST_JOB_FILTERED_BYTES_READ")
	var received, filtered []byte
	for _, e := range nl.byName["SOCKET_BYTES_RECEIVED"] {
		received = append(received, decodeBytes(t, e)...)
	}
	for _, e := range nl.byName["URL_REQUEST_JOB_FILTERED_BYTES_READ"] {
		filtered = append(filtered, decodeBytes(t, e)...)
	}
	if string(filtered) != body || !bytes.HasPrefix(received, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.HasSuffix(received, []byte(body)) {
		t.Errorf("received %q, filtered %q", received, filtered)
	}
	var sent []byte
	for _, e := range nl.byName["SOCKET_BYTES_SENT"] {
		sent = append(sent, decodeBytes(t, e)...)
	}
	if !strings.HasPrefix(string(sent), "GET / HTTP/1.1\r\n") {
		t.Errorf("sent %q", sent)
	}
}

func decodeBytes(t *testing.T, e netlogEvent) []byte {
	t.Helper()
	s, ok := e.Params["bytes"].(string)
	if !ok {
		t.Fatalf("no bytes parameter: %v", e.Params)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.Params["byte_count"].(float64); int(n) != len(b) {
		t.Fatalf("byte_count %v for %d bytes", e.Params["byte_count"], len(b))
	}
	return b
}

// Two sequential fetches from one host share the connection, and the log
// says so.
func TestNetLogReuse(t *testing.T) {
	t.Parallel()
	base := bodyServer(t, "x")
	path := filepath.Join(t.TempDir(), "log.json")
	r := netfetch(t, "--parallel", "1", "--netlog", path, base+"/1", base+"/2")
	expectCode(t, r, 0)
	nl := readNetLog(t, path)
	nl.require(t, "SOCKET_POOL_REUSED_AN_EXISTING_SOCKET")
	if n := len(nl.byName["TCP_CONNECT"]); n != 2 { // one begin, one end
		t.Errorf("%d TCP_CONNECT events, want one connect", n)
	}
}

func TestNetLogModes(t *testing.T) {
	t.Parallel()
	base := bodyServer(t, "x")
	for _, mode := range []string{"HeavilyRedacted", "IncludeSensitive"} {
		path := filepath.Join(t.TempDir(), mode+".json")
		expectCode(t, netfetch(t, "--netlog", path, "--netlog-mode", mode, base), 0)
		nl := readNetLog(t, path)
		if nl.mode != mode || hasKey(nl.raw["events"], "bytes") {
			t.Errorf("mode %s: logCaptureMode %q, bytes %v", mode, nl.mode, hasKey(nl.raw["events"], "bytes"))
		}
	}
	if r := netfetch(t, "--netlog-mode", "loud", base); r.code != 2 {
		t.Errorf("bad mode: exit %d", r.code)
	}
	r := netfetch(t, "--netlog", filepath.Join(t.TempDir(), "missing", "log.json"), base)
	expectCode(t, r, 23)
	if !strings.HasPrefix(r.stderr, "netfetch: --netlog: ") {
		t.Errorf("stderr %q", r.stderr)
	}
}

// The dump of a redirect followed by a chunked download has the events
// Chrome logs for the same fetch, on sources tied together as Chrome ties
// them (checked against a chrome --log-net-log dump of the same exchange).
func TestNetLogRedirectAndChunkedLikeChrome(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/chunked", http.StatusFound)
			return
		}
		for i := 0; i < 4; i++ {
			io.WriteString(w, strings.Repeat("chunk", 200))
			w.(http.Flusher).Flush() // forces chunked framing
		}
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "log.json")
	r := netfetch(t, "--netlog-mode", "Everything", "--netlog", path, srv.URL+"/redirect")
	expectCode(t, r, 0)
	if len(r.stdout) != 4000 {
		t.Fatalf("body of %d bytes", len(r.stdout))
	}
	nl := readNetLog(t, path)
	nl.require(t, "REQUEST_ALIVE", "URL_REQUEST_START_JOB", "URL_REQUEST_REDIRECTED", "HTTP_STREAM_REQUEST",
		"HTTP_STREAM_JOB_CONTROLLER", "HTTP_STREAM_JOB", "SOCKET_POOL", "TCP_CONNECT", "SOCKET_IN_USE",
		"HTTP_TRANSACTION_SEND_REQUEST_HEADERS", "HTTP_TRANSACTION_READ_RESPONSE_HEADERS",
		"HTTP_TRANSACTION_READ_BODY", "SOCKET_BYTES_RECEIVED", "URL_REQUEST_JOB_FILTERED_BYTES_READ",
		"SOCKET_POOL_REUSED_AN_EXISTING_SOCKET")
	// Which source each dependency event points at, by Chromium's source
	// type numbers as the log's own constants give them.
	sourceTypes := nl.raw["constants"].(map[string]any)["logSourceType"].(map[string]any)
	typeOf := func(name string) int { return int(sourceTypes[name].(float64)) }
	points := func(event, from, to string) {
		t.Helper()
		for _, e := range nl.byName[event] {
			dep, ok := e.Params["source_dependency"].(map[string]any)
			if e.Source.Type == typeOf(from) && ok && int(dep["type"].(float64)) == typeOf(to) {
				return
			}
		}
		t.Errorf("no %s on a %s source pointing at a %s", event, from, to)
	}
	points("HTTP_STREAM_JOB_CONTROLLER_BOUND", "URL_REQUEST", "HTTP_STREAM_JOB_CONTROLLER")
	points("HTTP_STREAM_REQUEST_BOUND_TO_JOB", "URL_REQUEST", "HTTP_STREAM_JOB")
	points("HTTP_STREAM_REQUEST_STARTED_JOB", "HTTP_STREAM_JOB_CONTROLLER", "HTTP_STREAM_JOB")
	points("HTTP_STREAM_JOB", "HTTP_STREAM_JOB", "HTTP_STREAM_JOB_CONTROLLER")
	points("SOCKET_POOL_BOUND_TO_SOCKET", "HTTP_STREAM_JOB", "SOCKET")
	points("CONNECT_JOB_SET_SOCKET", "TRANSPORT_CONNECT_JOB", "SOCKET")
	points("SOCKET_ALIVE", "SOCKET", "TRANSPORT_CONNECT_JOB")
	points("SOCKET_IN_USE", "SOCKET", "HTTP_STREAM_JOB")
	// The 302 and the chunked 200 travel over one connection.
	if n := len(nl.byName["TCP_CONNECT"]); n != 2 {
		t.Errorf("%d TCP_CONNECT events, want one connect (begin and end)", n)
	}
}

// Credentials and cookies are stripped below IncludeSensitive: the URL's
// user name and password, Authorization and Cookie request headers, and
// Set-Cookie response headers.
func TestNetLogStripsCredentials(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=SETCOOKIESECRET")
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	target := strings.Replace(srv.URL, "http://", "http://alice:URLSECRET@", 1) + "/"
	secrets := []string{"URLSECRET", "AUTHSECRET", "COOKIESECRET", "SETCOOKIESECRET"}
	for _, tc := range []struct {
		mode  string
		leaks bool
	}{{"HeavilyRedacted", false}, {"Default", false}, {"IncludeSensitive", true}} {
		path := filepath.Join(t.TempDir(), "log.json")
		r := netfetch(t, "--netlog-mode", tc.mode, "--netlog", path,
			"-H", "Authorization: Bearer AUTHSECRET", "-H", "Cookie: c=COOKIESECRET", target)
		expectCode(t, r, 0)
		readNetLog(t, path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if got := bytes.Contains(data, []byte(s)); got != tc.leaks {
				t.Errorf("%s: %s in the log = %v, want %v", tc.mode, s, got, tc.leaks)
			}
		}
	}
}
