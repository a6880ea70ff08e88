package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
)

// pacServer serves script as a PAC file and counts the downloads.
func pacServer(t *testing.T, script string) (string, *atomic.Int64) {
	t.Helper()
	var fetched atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/x-ns-proxy-autoconfig")
		w.Write([]byte(script))
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/proxy.pac", &fetched
}

// A PAC file served over HTTP sends one domain through tinyproxy, another
// through microsocks, and the rest direct; each proxy's own log shows what
// it carried. Loopback destinations reach the script because the bypass
// list says <-loopback>.
func TestInteropPACRoutesThroughRealProxies(t *testing.T) {
	base, seen := origin(t)
	port := base[strings.LastIndex(base, ":")+1:]
	tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{})
	ms := interop.StartMicrosocks(t, interop.MicrosocksOptions{})
	pacURL, fetched := pacServer(t, fmt.Sprintf(`
function FindProxyForURL(url, host) {
  if (host == "localhost") return "PROXY %s";
  if (dnsDomainIs(host, "127.0.0.1")) return "SOCKS5 %s";
  return "DIRECT";
}`, tp.Addr(), ms.Addr()))
	viaHTTP := "http://localhost:" + port + "/via-http"
	viaSOCKS := "http://127.0.0.1:" + port + "/via-socks"
	direct := "http://direct.test:" + port + "/direct"
	logPath := filepath.Join(t.TempDir(), "pac.json")
	r := netfetch(t, "--pac-url", pacURL, "--proxy-bypass", keepLoopback, "--parallel", "1",
		"--resolve", "direct.test:"+port+":127.0.0.1", "--netlog", logPath, viaHTTP, viaSOCKS, direct)
	expectCode(t, r, 0)
	if r.stdout != "origin:/via-httporigin:/via-socksorigin:/direct" {
		t.Fatalf("stdout %q", r.stdout)
	}
	if seen.Load() != 3 || fetched.Load() != 1 {
		t.Fatalf("origin saw %d requests, PAC fetched %d times", seen.Load(), fetched.Load())
	}
	if log := tp.Log(); !strings.Contains(log, "/via-http") || strings.Contains(log, "/via-socks") || strings.Contains(log, "/direct") {
		t.Errorf("tinyproxy's log should hold /via-http alone:\n%s", log)
	}
	if out := ms.Process().Output(); !strings.Contains(out, "127.0.0.1:"+port) || strings.Count(out, "connected to") != 1 {
		t.Errorf("microsocks should have carried one connection to the origin:\n%s", out)
	}

	nl := readNetLog(t, logPath)
	nl.require(t, "PROXY_CONFIG_CHANGED", "PAC_FILE_DECIDER", "PAC_FILE_DECIDER_FETCH_PAC_SCRIPT",
		"PROXY_RESOLUTION_SERVICE", "PROXY_RESOLUTION_SERVICE_WAITING_FOR_INIT_PAC",
		"PROXY_RESOLUTION_SERVICE_RESOLVED_PROXY_LIST")
	var lists []string
	for _, e := range nl.byName["PROXY_RESOLUTION_SERVICE_RESOLVED_PROXY_LIST"] {
		lists = append(lists, fmt.Sprint(e.Params["proxy_info"]))
	}
	want := []string{"PROXY " + tp.Addr(), "SOCKS5 " + ms.Addr(), "DIRECT"}
	if strings.Join(lists, "|") != strings.Join(want, "|") {
		t.Errorf("resolved lists %q, want %q", lists, want)
	}
	settings := nl.raw["polledData"].(map[string]any)["proxySettings"].(map[string]any)
	if settings["effective"].(map[string]any)["pac_url"] != pacURL {
		t.Errorf("polledData.proxySettings %v", settings)
	}
}

// "PROXY dead; DIRECT" reaches the origin by falling back, and the next
// request of the run skips the dead proxy: it is tried last and never
// connected to again.
func TestInteropPACDeadProxyFallsBack(t *testing.T) {
	base, seen := origin(t)
	dead := strings.TrimSuffix(strings.TrimPrefix(deadURL(t), "http://"), "/")
	pacURL, _ := pacServer(t, `function FindProxyForURL(url, host) { return "PROXY `+dead+`; DIRECT"; }`)
	logPath := filepath.Join(t.TempDir(), "fallback.json")
	r := netfetch(t, "--pac-url", pacURL, "--proxy-bypass", keepLoopback, "--parallel", "1", "--netlog", logPath, base+"/1", base+"/2")
	expectCode(t, r, 0)
	if r.stdout != "origin:/1origin:/2" || seen.Load() != 2 {
		t.Fatalf("stdout %q, origin saw %d", r.stdout, seen.Load())
	}
	nl := readNetLog(t, logPath)
	nl.require(t, "PROXY_LIST_FALLBACK", "BAD_PROXY_LIST_REPORTED", "PROXY_RESOLUTION_SERVICE_DEPRIORITIZED_BAD_PROXIES")
	if n := len(nl.byName["PROXY_LIST_FALLBACK"]); n != 1 {
		t.Errorf("%d fallbacks, want 1 (the second request must not try the dead proxy first)", n)
	}
	deprioritized := nl.byName["PROXY_RESOLUTION_SERVICE_DEPRIORITIZED_BAD_PROXIES"]
	if got := fmt.Sprint(deprioritized[0].Params["proxy_info"]); got != "DIRECT; PROXY "+dead {
		t.Errorf("second request's list %q", got)
	}
	bad := nl.raw["polledData"].(map[string]any)["badProxies"].([]any)
	if len(bad) != 1 || bad[0].(map[string]any)["proxy_chain_uri"] != "[http://"+dead+"]" {
		t.Errorf("polledData.badProxies %v", bad)
	}

	// The same with manual rules: a list with a fallback.
	r = netfetch(t, "--proxy", "http://"+dead+",direct://", "--proxy-bypass", keepLoopback, base+"/3")
	expectCode(t, r, 0)
}

// A PAC script stuck in a loop for one host fails that host's resolution
// at the time limit (the request then goes direct, as Chromium's does for
// a failed script), while the other URLs of the run go on meanwhile.
func TestInteropPACEndlessLoop(t *testing.T) {
	base, _ := origin(t)
	port := base[strings.LastIndex(base, ":")+1:]
	pacURL, _ := pacServer(t, `function FindProxyForURL(url, host) {
  if (host == "stuck.test") { while (true) {} }
  return "DIRECT";
}`)
	stuck := "http://stuck.test:" + port + "/stuck"
	args := []string{"--pac-url", pacURL, "--proxy-bypass", keepLoopback, "--resolve", "stuck.test:" + port + ":127.0.0.1"}
	var others []string
	for i := range 10 {
		others = append(others, fmt.Sprintf("%s/other%d", base, i))
	}
	logPath := filepath.Join(t.TempDir(), "loop.json")
	start := time.Now()
	r := netfetch(t, append(append(args, "--netlog", logPath, stuck), others...)...)
	expectCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "origin:/stuck") || !strings.Contains(r.stdout, "origin:/other9") {
		t.Fatalf("stdout %q", r.stdout)
	}
	if elapsed := time.Since(start); elapsed > 30*time.Second {
		t.Errorf("the run took %v; the 5 s limit did not stop the script", elapsed)
	}
	nl := readNetLog(t, logPath)
	errs := nl.byName["PAC_JAVASCRIPT_ERROR"]
	if len(errs) != 1 {
		t.Fatalf("%d PAC_JAVASCRIPT_ERROR events, want 1", len(errs))
	}
	// The others finished before the stuck one: their requests ended
	// before the script's error was logged.
	var ended int
	for _, e := range nl.byName["REQUEST_ALIVE"] {
		if e.Phase == 2 && atoi(t, e.Time) <= atoi(t, errs[0].Time) {
			ended++
		}
	}
	if ended < len(others) {
		t.Errorf("only %d of %d other requests ended before the stuck script was stopped", ended, len(others))
	}

	// With --pac-mandatory the stuck URL fails instead.
	r = netfetch(t, append(args, "--pac-mandatory", stuck)...)
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "net::ERR_MANDATORY_PROXY_CONFIGURATION_FAILED (-131)") {
		t.Errorf("stderr %q", r.stderr)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// --resolve-proxy prints each URL's list and fetches nothing; the PAC file
// may also come from file:// and data: URLs.
func TestResolveProxyPrintsLists(t *testing.T) {
	script := `function FindProxyForURL(url, host) {
  if (shExpMatch(host, "*.corp.example")) return "PROXY proxy.corp.example:3128; SOCKS socks.corp.example; DIRECT";
  if (url.substring(0, 6) == "https:") return "HTTPS secure.example";
  return "socks5 10.0.0.1:1080";
}`
	file := filepath.Join(t.TempDir(), "p.pac")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	data := "data:application/x-ns-proxy-autoconfig;base64," + base64.StdEncoding.EncodeToString([]byte(script))
	fileURL := (&url.URL{Scheme: "file", Path: file}).String()
	for _, pac := range []string{fileURL, data} {
		r := netfetch(t, "--pac-url", pac, "--resolve-proxy", "http://www.corp.example/", "https://x.example/a?b", "http://y.example/", "http://localhost/")
		expectCode(t, r, 0)
		want := "PROXY proxy.corp.example:3128; SOCKS socks.corp.example:1080; DIRECT\nHTTPS secure.example:443\nSOCKS5 10.0.0.1:1080\nDIRECT\n"
		if r.stdout != want {
			t.Errorf("%.30s: stdout %q, want %q", pac, r.stdout, want)
		}
	}
	r := netfetch(t, "--proxy", "http=a:1;https=b:2,direct://;socks=c", "--proxy-bypass", "*.local.example", "--resolve-proxy",
		"http://x/", "https://x/", "ws://x/", "http://a.local.example/")
	expectCode(t, r, 0)
	if want := "PROXY a:1\nPROXY b:2; DIRECT\nSOCKS c:1080\nDIRECT\n"; r.stdout != want {
		t.Errorf("manual rules: %q, want %q", r.stdout, want)
	}
	r = netfetch(t, "--pac-url", "file:///nonexistent/p.pac", "--pac-mandatory", "--resolve-proxy", "http://x/")
	expectCode(t, r, 1)
	if !strings.Contains(r.stderr, "(-131)") {
		t.Errorf("missing mandatory PAC: %q", r.stderr)
	}
}

// The environment's variables apply when no proxy flag is given, and
// --no-proxy-env turns them off.
func TestResolveProxyFromEnvironment(t *testing.T) {
	t.Setenv("http_proxy", "http://envproxy:3128")
	t.Setenv("HTTPS_PROXY", "socks5://envsocks")
	t.Setenv("no_proxy", "skip.example")
	r := netfetch(t, "--resolve-proxy", "http://x/", "https://x/", "http://a.skip.example/")
	expectCode(t, r, 0)
	if want := "PROXY envproxy:3128\nSOCKS5 envsocks:1080\nDIRECT\n"; r.stdout != want {
		t.Errorf("env: %q, want %q", r.stdout, want)
	}
	r = netfetch(t, "--no-proxy-env", "--resolve-proxy", "http://x/")
	if r.stdout != "DIRECT\n" {
		t.Errorf("--no-proxy-env: %q", r.stdout)
	}
	r = netfetch(t, "--proxy", "other:1", "--resolve-proxy", "http://x/")
	if r.stdout != "PROXY other:1\n" {
		t.Errorf("--proxy over env: %q", r.stdout)
	}
}
