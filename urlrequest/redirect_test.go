package urlrequest_test

import (
	"fmt"
	"io"
	gohttp "net/http"
	"strings"
	"sync"
	"testing"

	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// echoHandler answers /echo with "METHOD body" and the request's
// Content-Type and Content-Length, and redirects /r/CODE/... to the rest of
// the path with status CODE.
type echoLog struct {
	mu   sync.Mutex
	seen []string // "METHOD path"
}

func (l *echoLog) add(s string) {
	l.mu.Lock()
	l.seen = append(l.seen, s)
	l.mu.Unlock()
}

func (l *echoLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

func newEchoServer(t *testing.T) (*testserver.HTTPServer, *echoLog) {
	log := &echoLog{}
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		log.add(r.Method + " " + r.URL.Path)
		if rest, ok := strings.CutPrefix(r.URL.Path, "/r/"); ok {
			code, target, _ := strings.Cut(rest, "/")
			var n int
			fmt.Sscan(code, &n)
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Location", "/"+target)
			w.WriteHeader(n)
			io.WriteString(w, "redirect body")
			return
		}
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s|ct=%s|cl=%s|te=%v", r.Method, body, r.Header.Get("Content-Type"), r.Header.Get("Content-Length"), r.TransferEncoding)
	}))
	return s, log
}

func TestRedirectMethodRewriting(t *testing.T) {
	s, _ := newEchoServer(t)
	c := newContext(t)
	for _, tc := range []struct {
		code       int
		method     string
		wantMethod string
		keepsBody  bool
	}{
		{301, "POST", "GET", false},
		{302, "POST", "GET", false},
		{303, "POST", "GET", false},
		{303, "PUT", "GET", false},
		{303, "DELETE", "GET", false},
		{303, "HEAD", "HEAD", false},
		{301, "PUT", "PUT", true},
		{302, "PUT", "PUT", true},
		{307, "POST", "POST", true},
		{308, "POST", "POST", true},
		{307, "PUT", "PUT", true},
		{308, "PATCH", "PATCH", true},
		{301, "GET", "GET", false},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.code, tc.method), func(t *testing.T) {
			var payload []byte
			var hdrs []urlrequest.Header
			if tc.method != "GET" && tc.method != "HEAD" && tc.method != "DELETE" {
				payload = []byte("the payload")
				hdrs = []urlrequest.Header{{Name: "Content-Type", Value: "text/x-test"}}
			}
			resp, body := mustFetch(t, c, &urlrequest.FetchRequest{
				Method: tc.method, URL: fmt.Sprintf("%s/r/%d/echo", s.URL, tc.code), Body: payload, Headers: hdrs,
			})
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tc.method == "HEAD" {
				if len(body) != 0 {
					t.Fatalf("HEAD got a body %q", body)
				}
				return
			}
			want := tc.wantMethod + " "
			if tc.keepsBody {
				want += fmt.Sprintf("%s|ct=%s|cl=%d|te=[]", payload, hdrs[0].Value, len(payload))
			} else {
				want += "|ct=|cl=|te=[]"
			}
			if string(body) != want {
				t.Fatalf("final request: %q, want %q", body, want)
			}
		})
	}
}

func TestRedirect303HeadStaysHead(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	mustFetch(t, c, &urlrequest.FetchRequest{Method: "HEAD", URL: s.URL + "/r/303/echo"})
	got := log.get()
	if len(got) != 2 || got[1] != "HEAD /echo" {
		t.Fatalf("server saw %q", got)
	}
}

func TestRedirectChainAndRelativeLocation(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		switch r.URL.Path {
		case "/a/b/start":
			w.Header().Set("Location", "next?x=1") // relative to /a/b/
			w.WriteHeader(302)
		case "/a/b/next":
			w.Header().Set("Location", "../up")
			w.WriteHeader(301)
		case "/a/up":
			w.Header().Set("Location", "/abs")
			w.WriteHeader(307)
		case "/abs":
			w.Header().Set("Location", "//"+r.Host+"/final")
			w.WriteHeader(308)
		case "/final":
			io.WriteString(w, "done "+r.URL.RawQuery)
		default:
			w.WriteHeader(404)
		}
	}))
	c := newContext(t)
	resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + "/a/b/start#frag"})
	if string(body) != "done " {
		t.Fatalf("body %q", body)
	}
	want := []string{
		s.URL + "/a/b/start#frag",
		s.URL + "/a/b/next?x=1#frag",
		s.URL + "/a/up#frag",
		s.URL + "/abs#frag",
		s.URL + "/final#frag",
	}
	var chain []string
	for _, u := range resp.URLChain {
		chain = append(chain, u.String())
	}
	if strings.Join(chain, "\n") != strings.Join(want, "\n") {
		t.Fatalf("URLChain:\n%s\nwant:\n%s", strings.Join(chain, "\n"), strings.Join(want, "\n"))
	}
	if resp.URL.String() != want[len(want)-1] {
		t.Fatalf("URL %s", resp.URL)
	}
	if resp.URL.Fragment != "frag" {
		t.Fatalf("fragment lost: %q", resp.URL.Fragment)
	}
}

func TestRedirectLocationFragmentWins(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		if r.URL.Path == "/start" {
			w.Header().Set("Location", "/end#new")
			w.WriteHeader(302)
			return
		}
		io.WriteString(w, "end")
	}))
	c := newContext(t)
	resp, _ := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + "/start#old"})
	if resp.URL.Fragment != "new" {
		t.Fatalf("fragment %q, want the Location's", resp.URL.Fragment)
	}
}

func TestRedirectLoopTooManyRedirects(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		if r.URL.Path == "/a" {
			w.Header().Set("Location", "/b")
		} else {
			w.Header().Set("Location", "/a")
		}
		w.WriteHeader(302)
	}))
	c := newContext(t)
	resp, err := get(t, c, s.URL+"/a")
	if resp != nil {
		t.Fatal("got a response")
	}
	wantErr(t, "redirect loop", err, net.ErrTooManyRedirects)
	if n := s.Requests(); n != urlrequest.DefaultMaxRedirects+1 {
		t.Fatalf("server saw %d requests, want %d (the first and 20 redirects)", n, urlrequest.DefaultMaxRedirects+1)
	}
	if n := s.NewConns(); n != 1 {
		t.Fatalf("redirects used %d connections, want 1 (redirect bodies are drained)", n)
	}
}

func TestRedirectMaxRedirectsHonoured(t *testing.T) {
	s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/%d", &n)
		if n == 0 {
			io.WriteString(w, "landed")
			return
		}
		w.Header().Set("Location", fmt.Sprintf("/%d", n-1))
		w.WriteHeader(301)
	}))
	c := newContext(t)
	for _, tc := range []struct {
		max, hops int
		ok        bool
	}{
		{3, 3, true},
		{3, 4, false},
		{1, 1, true},
		{1, 2, false},
		{-1, 1, false}, // negative: no redirect at all
		{-1, 0, true},
		{0, 20, true}, // 0: the default of 20
		{0, 21, false},
	} {
		before := s.Requests()
		resp, err := c.Fetch(guard(t), &urlrequest.FetchRequest{URL: fmt.Sprintf("%s/%d", s.URL, tc.hops), MaxRedirects: tc.max})
		requests := s.Requests() - before
		if tc.ok {
			if err != nil {
				t.Fatalf("max %d, %d hops: %v", tc.max, tc.hops, err)
			}
			b, err := urlrequest.ReadAll(resp)
			if err != nil || string(b) != "landed" {
				t.Fatalf("max %d, %d hops: body %q err %v", tc.max, tc.hops, b, err)
			}
			if requests != tc.hops+1 {
				t.Fatalf("max %d, %d hops: %d requests", tc.max, tc.hops, requests)
			}
			continue
		}
		wantErr(t, fmt.Sprintf("max %d, %d hops", tc.max, tc.hops), err, net.ErrTooManyRedirects)
		limit := tc.max
		switch {
		case limit == 0:
			limit = urlrequest.DefaultMaxRedirects
		case limit < 0:
			limit = 0
		}
		if requests != limit+1 {
			t.Fatalf("max %d: %d requests, want %d", tc.max, requests, limit+1)
		}
	}
}

func TestRedirectNoFollow(t *testing.T) {
	s, log := newEchoServer(t)
	c := newContext(t)
	resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL + "/r/302/echo", NoFollowRedirects: true})
	if resp.StatusCode != 302 || string(body) != "redirect body" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	if loc, _ := resp.Headers.Get("Location"); loc != "/echo" {
		t.Fatalf("Location %q", loc)
	}
	if len(resp.URLChain) != 1 || len(log.get()) != 1 {
		t.Fatalf("chain %v, server saw %v", resp.URLChain, log.get())
	}
}

func TestRedirectUnsafeScheme(t *testing.T) {
	for _, loc := range []string{"ftp://x/", "file:///etc/passwd", "javascript:alert(1)", "data:text/plain,hi"} {
		t.Run(loc, func(t *testing.T) {
			s := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
				w.Header().Set("Location", loc)
				w.WriteHeader(302)
			}))
			c := newContext(t)
			_, err := get(t, c, s.URL)
			wantErr(t, "Location: "+loc, err, net.ErrUnsafeRedirect)
		})
	}
}

func TestRedirectWithoutLocationIsFinal(t *testing.T) {
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 302 Found\r\nContent-Length: 4\r\n\r\nstay"))
	c := newContext(t)
	resp, body := mustFetch(t, c, &urlrequest.FetchRequest{URL: s.URL})
	if resp.StatusCode != 302 || string(body) != "stay" {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
}

func TestRedirectToOtherOriginDropsCredentials(t *testing.T) {
	type seen struct{ auth, cookie, custom string }
	got := make(chan seen, 1)
	other := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("Cookie"), r.Header.Get("X-Custom")}
	}))
	first := testserver.NewHTTP(t, gohttp.HandlerFunc(func(w gohttp.ResponseWriter, r *gohttp.Request) {
		w.Header().Set("Location", other.URL+"/")
		w.WriteHeader(302)
	}))
	c := newContext(t)
	mustFetch(t, c, &urlrequest.FetchRequest{URL: first.URL, Headers: []urlrequest.Header{
		{Name: "Authorization", Value: "Bearer secret"}, {Name: "Cookie", Value: "a=b"}, {Name: "X-Custom", Value: "kept"},
	}})
	s := <-got
	if s.auth != "" || s.cookie != "" || s.custom != "kept" {
		t.Fatalf("cross-origin redirect sent %+v", s)
	}
}
