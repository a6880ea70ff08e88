package urlrequest_test

import (
	"encoding/base64"
	"errors"
	gohttp "net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
	"github.com/netfetch/netfetch/urlrequest"
)

// pacContext builds a Context whose proxy configuration is the PAC file
// at pacURL, logging to a recorder.
func pacContext(t *testing.T, pacURL string, mandatory bool) (*urlrequest.Context, *nettest.Recorder) {
	t.Helper()
	u, err := proxy.ParsePACURL(pacURL)
	if err != nil {
		t.Fatal(err)
	}
	log := netlog.New()
	rec := nettest.NewRecorder(log, netlog.Everything)
	c, err := urlrequest.NewBuilder().SetNetLog(log).SetProxyConfig(proxy.Config{PACURL: u, PACMandatory: mandatory}).Build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { within(t, "Close", c.Close) })
	return c, rec
}

// fetchError is the net error PAC_FILE_DECIDER_FETCH_PAC_SCRIPT ended with.
func fetchError(t *testing.T, rec *nettest.Recorder) any {
	t.Helper()
	ends := rec.Find(netlog.EventPACFileDeciderFetchPACScript, netlog.PhaseEnd, 0)
	if len(ends) != 1 {
		t.Fatalf("%d PAC fetches logged, want 1", len(ends))
	}
	return ends[0].Params["net_error"]
}

func resolveList(t *testing.T, c *urlrequest.Context, u string) (string, error) {
	t.Helper()
	l, err := c.ResolveProxy(guard(t), u)
	return l.PACString(), err
}

// The PAC file is fetched once, directly, even though the script sends
// every URL through a proxy that does not exist.
func TestPACFetchGoesDirectAndOnce(t *testing.T) {
	var fetches atomic.Int64
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		fetches.Add(1)
		w.Write([]byte(`function FindProxyForURL(u, h) { return "PROXY 127.0.0.1:1"; }`))
	}))
	c, rec := pacContext(t, s.URL+"/p.pac", false)
	for _, u := range []string{"http://a.example/", "https://b.example/", s.URL + "/"} {
		got, err := resolveList(t, c, u)
		if err != nil || got != "PROXY 127.0.0.1:1" && !strings.HasPrefix(u, s.URL) {
			t.Errorf("%s: %q %v", u, got, err)
		}
	}
	if fetches.Load() != 1 {
		t.Errorf("PAC fetched %d times", fetches.Load())
	}
	if fetchError(t, rec) != nil {
		t.Errorf("fetch failed: %v", fetchError(t, rec))
	}
	starts := rec.Find(netlog.EventURLRequestStartJob, netlog.PhaseBegin, 0)
	if len(starts) != 1 || starts[0].Params["load_flags"].(int)&int(net.LoadBypassProxy) == 0 {
		t.Errorf("the PAC request's load flags: %v", starts)
	}
}

// Downloads that fail leave the service DIRECT, or failing with
// ERR_MANDATORY_PROXY_CONFIGURATION_FAILED when the PAC is mandatory; the
// reason is in the NetLog.
func TestPACFetchFailures(t *testing.T) {
	big := strings.Repeat("/* padding */", proxy.MaxPACBytes/13+1) + "function FindProxyForURL(u, h) { return 'PROXY x:1'; }"
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		switch r.URL.Path {
		case "/missing.pac":
			gohttp.NotFound(w, r)
		case "/big.pac":
			w.Write([]byte(big))
		case "/to-file.pac":
			gohttp.Redirect(w, r, "file:///etc/passwd", gohttp.StatusFound)
		case "/not-pac":
			w.Write([]byte("<html>hello</html>"))
		}
	}))
	dir := t.TempDir()
	for _, tc := range []struct {
		url  string
		want net.Error
	}{
		{s.URL + "/missing.pac", net.ErrHTTPResponseCodeFailure},
		{s.URL + "/big.pac", net.ErrFileTooBig},
		{s.URL + "/to-file.pac", net.ErrUnsafeRedirect},
		{"file://" + filepath.Join(dir, "none.pac"), net.ErrFileNotFound},
		{"data:text/plain;base64,!!!", net.ErrInvalidURL},
	} {
		for _, mandatory := range []bool{false, true} {
			c, rec := pacContext(t, tc.url, mandatory)
			got, err := resolveList(t, c, "http://example.com/")
			if mandatory {
				wantErr(t, tc.url, err, net.ErrMandatoryProxyConfigurationFailed)
			} else if err != nil || got != "DIRECT" {
				t.Errorf("%s: %q %v, want DIRECT", tc.url, got, err)
			}
			if e := fetchError(t, rec); e != int(tc.want) {
				t.Errorf("%s: fetch ended with %v, want %d", tc.url, e, tc.want)
			}
		}
	}
	// A file that is not a PAC script downloads fine and then fails.
	c, _ := pacContext(t, s.URL+"/not-pac", true)
	if _, err := resolveList(t, c, "http://example.com/"); !errors.Is(err, net.ErrMandatoryProxyConfigurationFailed) {
		t.Errorf("not a PAC script: %v", err)
	}
}

func TestPACFromFileAndDataURLs(t *testing.T) {
	script := `function FindProxyForURL(u, h) { return "SOCKS5 s.example:1081; DIRECT"; }`
	file := filepath.Join(t.TempDir(), "p.pac")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{
		(&url.URL{Scheme: "file", Path: file}).String(),
		"data:application/x-ns-proxy-autoconfig;base64," + base64.StdEncoding.EncodeToString([]byte(script)),
		"data:," + url.PathEscape(script),
	} {
		c, _ := pacContext(t, u, true)
		if got, err := resolveList(t, c, "http://example.com/"); err != nil || got != "SOCKS5 s.example:1081; DIRECT" {
			t.Errorf("%.40s: %q %v", u, got, err)
		}
	}
}

// A PAC server that never answers holds requests only until the Context
// closes; nothing is left running.
func TestPACFetchHangingServerAndClose(t *testing.T) {
	base := testserver.GoroutineBaseline()
	s := testserver.NewRaw(t, func(c *testserver.Conn) { c.Stall() })
	c, err := urlrequest.NewBuilder().SetProxyConfig(proxy.Config{PACURL: mustURL(t, s.URL+"/p.pac")}).Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: "http://example.com/"})
		done <- err
	}()
	within(t, "the PAC fetch", func() {
		for s.Accepted() == 0 {
			time.Sleep(time.Millisecond)
		}
	})
	within(t, "Close", c.Close)
	wantErr(t, "fetch during close", <-done, net.ErrAborted)
	s.Close()
	testserver.CheckGoroutines(t, base)
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
