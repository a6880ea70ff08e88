package cache

import (
	"reflect"
	"testing"

	"github.com/netfetch/netfetch/http"
)

func TestUpdatedHeadersKeepsStoredValues(t *testing.T) {
	names := []string{
		"Connection", "Proxy-Connection", "Keep-Alive", "Trailer", "Transfer-Encoding", "Upgrade", "TE",
		"WWW-Authenticate", "Proxy-Authenticate", "Proxy-Authorization",
		"Content-Length", "Content-Encoding", "Content-Range", "Content-Type", "Content-Location", "Content-MD5",
		"ETag", "etag", "X-Frame-Options", "X-XSS-Protection",
		"X-Content-Type-Options", "x-content-security-policy", "X-WebKit-CSP", "X-Webkit-Anything",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			stored := ruleResp(t, "HTTP/1.1 200 OK", name+": old")
			got := UpdatedHeaders(stored, ruleResp(t, "HTTP/1.1 304 Not Modified", name+": new"))
			if v := got.Values(name); !reflect.DeepEqual(v, []string{"old"}) {
				t.Errorf("%s = %q, want the stored [old]", name, v)
			}
		})
	}
}

func TestUpdatedHeadersReplaces(t *testing.T) {
	names := []string{
		"Cache-Control", "Expires", "Date", "Last-Modified", "Age", "Vary", "Set-Cookie",
		"X-Custom", "X-Contentious", "X-Content", "Content-Disposition", "Strict-Transport-Security",
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			stored := ruleResp(t, "HTTP/1.1 200 OK", name+": old")
			got := UpdatedHeaders(stored, ruleResp(t, "HTTP/1.1 304 Not Modified", name+": new"))
			if v := got.Values(name); !reflect.DeepEqual(v, []string{"new"}) {
				t.Errorf("%s = %q, want the 304's [new]", name, v)
			}
		})
	}
}

func TestUpdatedHeaders(t *testing.T) {
	tests := []struct {
		name        string
		stored      []string
		notModified []string
		want        []http.HeaderField
	}{
		{
			"304 without headers changes nothing",
			[]string{"Cache-Control: max-age=1", "Content-Type: text/plain"},
			nil,
			[]http.HeaderField{{Name: "Cache-Control", Value: "max-age=1"}, {Name: "Content-Type", Value: "text/plain"}},
		},
		{
			"new header added",
			[]string{"Content-Type: text/plain"},
			[]string{"X-New: 1"},
			[]http.HeaderField{{Name: "X-New", Value: "1"}, {Name: "Content-Type", Value: "text/plain"}},
		},
		{
			"several stored lines replaced by one",
			[]string{"Cache-Control: max-age=1", "Content-Type: text/plain", "Cache-Control: public"},
			[]string{"Cache-Control: max-age=60"},
			[]http.HeaderField{{Name: "Cache-Control", Value: "max-age=60"}, {Name: "Content-Type", Value: "text/plain"}},
		},
		{
			"one stored line replaced by several, in order",
			[]string{"Link: <a>", "Content-Type: text/plain"},
			[]string{"link: <b>", "Link: <c>"},
			[]http.HeaderField{{Name: "link", Value: "<b>"}, {Name: "Link", Value: "<c>"}, {Name: "Content-Type", Value: "text/plain"}},
		},
		{
			"name case ignored",
			[]string{"CACHE-CONTROL: max-age=1"},
			[]string{"cache-control: max-age=2"},
			[]http.HeaderField{{Name: "cache-control", Value: "max-age=2"}},
		},
		{
			"kept header not duplicated",
			[]string{`ETag: "a"`, "Content-Length: 10"},
			[]string{`ETag: "b"`, "Content-Length: 0", "Date: Sat, 01 Jan 2000 00:00:00 GMT"},
			[]http.HeaderField{{Name: "Date", Value: "Sat, 01 Jan 2000 00:00:00 GMT"}, {Name: "ETag", Value: `"a"`}, {Name: "Content-Length", Value: "10"}},
		},
		{
			"kept header absent from stored stays absent",
			[]string{"Date: Sat, 01 Jan 2000 00:00:00 GMT"},
			[]string{"Content-Type: text/html", "Connection: close"},
			[]http.HeaderField{{Name: "Date", Value: "Sat, 01 Jan 2000 00:00:00 GMT"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UpdatedHeaders(ruleResp(t, "HTTP/1.1 200 OK", tt.stored...), ruleResp(t, "HTTP/1.1 304 Not Modified", tt.notModified...))
			if fields := got.Headers(); !reflect.DeepEqual(fields, tt.want) {
				t.Errorf("headers = %q\nwant %q", fields, tt.want)
			}
		})
	}
}

func TestUpdatedHeadersStatusLineAndInputs(t *testing.T) {
	stored := ruleResp(t, "HTTP/1.0 203 Non-Authoritative Information", "Cache-Control: max-age=1", "Content-Type: text/plain")
	notModified := ruleResp(t, "HTTP/1.1 304 Not Modified", "Cache-Control: max-age=60", "Content-Type: text/html")
	storedRaw, nmRaw := stored.Raw(), notModified.Raw()

	got := UpdatedHeaders(stored, notModified)
	want := "HTTP/1.0 203 Non-Authoritative Information\r\n" +
		"Cache-Control: max-age=60\r\n" +
		"Content-Type: text/plain\r\n\r\n"
	if got.Raw() != want {
		t.Errorf("Raw = %q, want %q", got.Raw(), want)
	}
	if stored.Raw() != storedRaw || notModified.Raw() != nmRaw {
		t.Error("UpdatedHeaders modified its inputs")
	}
	// The result is independent of its inputs.
	got.SetHeader("X-After", "1")
	if stored.Has("X-After") || notModified.Has("X-After") {
		t.Error("result shares state with an input")
	}
}
