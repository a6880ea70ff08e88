package main

import (
	"bytes"
	"fmt"
	"io"
	gonet "net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// echoServer answers "METHOD\nContent-Type\nbody" and reports the method in
// an X-Method header, so -I shows it too.
func echoServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header()["X-Seen-A"] = r.Header.Values("X-A")
		w.Header()["X-Seen-B"] = r.Header.Values("X-B")
		fmt.Fprintf(w, "%s\n%s\n%s", r.Method, r.Header.Get("Content-Type"), body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMethodAndData(t *testing.T) {
	t.Parallel()
	base := echoServer(t)
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, binaryBody, 0o666); err != nil {
		t.Fatal(err)
	}
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "GET\n\n"},
		{[]string{"-X", "DELETE"}, "DELETE\n\n"},
		{[]string{"-d", "a=1"}, "POST\n" + form + "\na=1"},
		{[]string{"-d", "a=1", "--data", "b=2"}, "POST\n" + form + "\na=1&b=2"},
		{[]string{"-d", ""}, "POST\n" + form + "\n"},
		{[]string{"-X", "PUT", "-d", "x"}, "PUT\n" + form + "\nx"},
		{[]string{"-d", "{}", "-H", "content-type: application/json"}, "POST\napplication/json\n{}"},
		// The file's bytes are sent as they are: CRLFs and NULs included.
		{[]string{"-d", "@" + file}, "POST\n" + form + "\n" + string(binaryBody)},
	} {
		r := netfetch(t, append(tc.args, base+"/echo")...)
		expectCode(t, r, 0)
		if r.stdout != tc.want {
			t.Errorf("%q: got %q, want %q", tc.args, r.stdout, tc.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	base := echoServer(t)
	r := netfetch(t, "-i", "-H", "X-A: 1", "-H", "X-B:two  words", base+"/")
	expectCode(t, r, 0)
	for _, want := range []string{"\r\nX-Seen-A: 1\r\n", "\r\nX-Seen-B: two  words\r\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in %q", want, r.stdout)
		}
	}
	if r := netfetch(t, "-H", "no colon", base+"/"); r.code != 2 {
		t.Errorf("-H without a colon: exit %d", r.code)
	}
}

// A repeated header name is sent once per -H, as curl does, and -v shows
// each line.
func TestHeaderRepeatedName(t *testing.T) {
	t.Parallel()
	base := echoServer(t)
	r := netfetch(t, "-i", "-v", "-H", "X-A: 1", "-H", "X-A: 2", base+"/")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "\r\nX-Seen-A: 1\r\nX-Seen-A: 2\r\n") {
		t.Fatalf("got %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "> X-A: 1\n> X-A: 2\n") {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// -i output is byte for byte the status line and the header fields as
// received, CRLF-terminated, a blank line, then the body.
func TestInclude(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		fmt.Fprintf(c, "HTTP/1.1 201 Created\r\nConnection: close\r\nX-Multi: a\r\nContent-Length: 5\r\nX-Multi: b\r\n\r\nhello")
	})
	r := netfetch(t, base+"/", "-i")
	expectCode(t, r, 0)
	want := "HTTP/1.1 201 Created\r\nConnection: close\r\nX-Multi: a\r\nContent-Length: 5\r\nX-Multi: b\r\n\r\nhello"
	if r.stdout != want {
		t.Fatalf("got %q, want %q", r.stdout, want)
	}
}

func TestHead(t *testing.T) {
	t.Parallel()
	base := echoServer(t)
	r := netfetch(t, "-I", base+"/")
	expectCode(t, r, 0)
	if !strings.HasPrefix(r.stdout, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(r.stdout, "\r\n\r\n") ||
		!strings.Contains(r.stdout, "\r\nX-Method: HEAD\r\n") {
		t.Fatalf("got %q", r.stdout)
	}
	// -I -X GET sends GET and still prints the headers only.
	r = netfetch(t, "-I", "-X", "GET", base+"/")
	expectCode(t, r, 0)
	if !strings.Contains(r.stdout, "\r\nX-Method: GET\r\n") || !strings.HasSuffix(r.stdout, "\r\n\r\n") {
		t.Fatalf("got %q", r.stdout)
	}
}

func TestVerbose(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, req *rawRequest) {
		if req.line == "POST /from?q=1 HTTP/1.1" {
			io.WriteString(c, "HTTP/1.1 303 See Other\r\nConnection: close\r\nLocation: /to\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\nX-Reply: yes\r\n\r\nok")
	})
	r := netfetch(t, "-v", "-d", "x=1", "-H", "X-A: 1", base+"/from?q=1")
	expectCode(t, r, 0)
	host := strings.TrimPrefix(base, "http://")
	want := strings.Join([]string{
		"> POST /from?q=1 HTTP/1.1",
		"> Host: " + host,
		"> Connection: keep-alive",
		"> Content-Length: 3",
		"> X-A: 1",
		"> Content-Type: application/x-www-form-urlencoded",
		"> User-Agent: netfetch/0.1",
		"> Accept: */*",
		">",
		"* Redirected to " + base + "/to",
		"* Connected to " + host + " (new connection)",
		"< HTTP/1.1 200 OK",
		"< Connection: close",
		"< Content-Length: 2",
		"< X-Reply: yes",
		"<",
	}, "\n") + "\n"
	if r.stderr != want || r.stdout != "ok" {
		t.Fatalf("stderr:\n%s\nwant:\n%s\nstdout %q", r.stderr, want, r.stdout)
	}
}

func TestFail(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.Error(w, "not here", http.StatusNotFound)
			return
		}
		io.WriteString(w, "fine")
	}))
	t.Cleanup(srv.Close)

	// Without --fail an HTTP error is a successful transfer.
	r := netfetch(t, srv.URL+"/missing")
	expectCode(t, r, 0)
	if r.stdout != "not here\n" || r.stderr != "" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// With --fail: exit 22, nothing written for that URL, the others still are.
	r = netfetch(t, "--fail", srv.URL+"/missing", srv.URL+"/ok")
	expectCode(t, r, 22)
	if r.stdout != "fine" || r.stderr != "netfetch: "+srv.URL+"/missing: The requested URL returned error: 404\n" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
	// A network error outranks --fail.
	r = netfetch(t, "--fail", srv.URL+"/missing", deadURL(t))
	expectCode(t, r, 1)
}

func TestFailureLines(t *testing.T) {
	t.Parallel()
	dead := deadURL(t)
	for _, tc := range []struct{ url, want string }{
		{dead, "net::ERR_CONNECTION_REFUSED (-102)"},
		{"http://nonexistent.invalid/", "net::ERR_NAME_NOT_RESOLVED (-105)"},
		{"http://[::1", "net::ERR_INVALID_URL (-300)"},
		{"not a url", "net::ERR_INVALID_URL (-300)"},
		{"ftp://127.0.0.1/", "net::ERR_UNKNOWN_URL_SCHEME (-302)"},
	} {
		r := netfetch(t, tc.url)
		expectCode(t, r, 1)
		if want := "netfetch: " + tc.url + ": " + tc.want + "\n"; r.stderr != want || r.stdout != "" {
			t.Errorf("stderr %q, want %q (stdout %q)", r.stderr, want, r.stdout)
		}
		// -s hides the line, not the exit code.
		r = netfetch(t, "-s", tc.url)
		expectCode(t, r, 1)
		if r.stderr != "" {
			t.Errorf("-s: stderr %q", r.stderr)
		}
	}
}

// A failing URL does not stop the others, and each failure is reported.
func TestFailureAmongSuccesses(t *testing.T) {
	t.Parallel()
	base := echoServer(t)
	dead := deadURL(t)
	r := netfetch(t, base+"/1", dead, base+"/3")
	expectCode(t, r, 1)
	if r.stdout != "GET\n\nGET\n\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	if r.stderr != "netfetch: "+dead+": net::ERR_CONNECTION_REFUSED (-102)\n" {
		t.Fatalf("stderr %q", r.stderr)
	}
}

// The server redirects /r/N to /r/N-1 and answers /r/0.
func TestMaxRedirs(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/r/%d", &n)
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
			return
		}
		io.WriteString(w, "arrived")
	}))
	t.Cleanup(srv.Close)
	tooMany := "net::ERR_TOO_MANY_REDIRECTS (-310)"
	for _, tc := range []struct {
		args []string
		hops int
		fail bool
	}{
		{nil, 0, false},
		{nil, 20, false},
		{nil, 21, true},
		{[]string{"--max-redirs", "0"}, 0, false},
		{[]string{"--max-redirs", "0"}, 1, true},
		{[]string{"--max-redirs", "2"}, 2, false},
		{[]string{"--max-redirs", "2"}, 3, true},
		{[]string{"--max-redirs", "-1"}, 30, false},
		{[]string{"-L", "--max-redirs", "1"}, 1, false},
	} {
		u := fmt.Sprintf("%s/r/%d", srv.URL, tc.hops)
		r := netfetch(t, append(tc.args, u)...)
		if tc.fail {
			expectCode(t, r, 1)
			if want := "netfetch: " + u + ": " + tooMany + "\n"; r.stderr != want {
				t.Errorf("%q %d hops: stderr %q", tc.args, tc.hops, r.stderr)
			}
			continue
		}
		expectCode(t, r, 0)
		if r.stdout != "arrived" {
			t.Errorf("%q %d hops: stdout %q", tc.args, tc.hops, r.stdout)
		}
	}
	if r := netfetch(t, "--max-redirs", "-2", srv.URL); r.code != 2 {
		t.Errorf("--max-redirs -2: exit %d", r.code)
	}
}

func TestURLsFrom(t *testing.T) {
	t.Parallel()
	base := rawServer(t, func(c gonet.Conn, req *rawRequest) {
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s\n", len(req.line)+1, req.line)
	})
	list := filepath.Join(t.TempDir(), "urls")
	content := "# a comment\n" + base + "/b\n\n   \n" + base + "/c\r\n#" + base + "/skipped\n"
	if err := os.WriteFile(list, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
	r := netfetch(t, "--urls-from", list, base+"/a")
	expectCode(t, r, 0)
	if want := "GET /a HTTP/1.1\nGET /b HTTP/1.1\nGET /c HTTP/1.1\n"; r.stdout != want {
		t.Fatalf("got %q", r.stdout)
	}
	// The list alone is enough.
	expectCode(t, netfetch(t, "--urls-from", list), 0)
	if r := netfetch(t, "--urls-from", list+".missing"); r.code != 2 {
		t.Fatalf("missing list: exit %d", r.code)
	}
}

// Bodies of several URLs to one server are complete and in order, whatever
// the parallelism; with --parallel 1 the second one reuses the connection.
func TestParallelSameServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat(r.URL.Path, 1000))
	}))
	t.Cleanup(srv.Close)
	var args []string
	var want bytes.Buffer
	for i := range 30 {
		p := fmt.Sprintf("/%d;", i)
		args = append(args, srv.URL+p)
		want.WriteString(strings.Repeat(p, 1000))
	}
	for _, p := range []string{"1", "3", "30"} {
		r := netfetch(t, append([]string{"--parallel", p}, args...)...)
		expectCode(t, r, 0)
		if r.stdout != want.String() {
			t.Fatalf("--parallel %s: wrong output", p)
		}
	}
	r := netfetch(t, "--parallel", "1", "-v", srv.URL+"/a", srv.URL+"/b")
	expectCode(t, r, 0)
	if !strings.Contains(r.stderr, "* Connected to ") || !strings.Contains(r.stderr, "* Re-used an existing connection to ") {
		t.Fatalf("stderr %s", r.stderr)
	}
}
