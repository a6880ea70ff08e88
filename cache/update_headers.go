package cache

import (
	"strings"

	"github.com/netfetch/netfetch/http"
)

// updateKeptHeaders are the headers a 304 never replaces in the stored
// response: Chromium's kNonUpdatedHeaders (taken from Firefox's
// nsHttpResponseHead), hop-by-hop and authentication headers, and the ones
// describing the stored body, which the 304 did not carry. ETag is among
// them: the stored body is the one the stored ETag names.
var updateKeptHeaders = [...]string{
	"connection",
	"proxy-connection",
	"keep-alive",
	"www-authenticate",
	"proxy-authenticate",
	"proxy-authorization",
	"te",
	"trailer",
	"transfer-encoding",
	"upgrade",
	"content-location",
	"content-md5",
	"etag",
	"content-encoding",
	"content-range",
	"content-type",
	"content-length",
	"x-frame-options",
	"x-xss-protection",
}

// updateKeptPrefixes are Chromium's kNonUpdatedHeaderPrefixes.
var updateKeptPrefixes = [...]string{"x-content-", "x-webkit-"}

// updateReplaces reports whether a 304's header named name replaces the
// stored header of that name (Chromium's ShouldUpdateHeader).
func updateReplaces(name string) bool {
	name = ccLower(name)
	for _, kept := range updateKeptHeaders {
		if name == kept {
			return false
		}
	}
	for _, prefix := range updateKeptPrefixes {
		if strings.HasPrefix(name, prefix) {
			return false
		}
	}
	return true
}

// UpdatedHeaders merges the headers of a 304 into the stored ones, as
// Chromium's HttpResponseHeaders::Update: every header of the 304 replaces
// all stored lines of that name, except the ones updateKeptHeaders and
// updateKeptPrefixes list (hop-by-hop, authentication challenges, ETag and
// the Content-* headers describing the stored body, X-Frame-Options,
// X-XSS-Protection, X-Content-* and X-WebKit-*), which keep their stored
// values. All lines of a replaced name come from the 304, so a
// multi-valued header is replaced as a whole.
//
// The stored status line is kept. As in Chromium the result lists the
// 304's headers first, then the stored ones it did not replace. It is a new
// ResponseHeaders; neither input is modified.
func UpdatedHeaders(stored, notModified *http.ResponseHeaders) *http.ResponseHeaders {
	out, err := http.ParseResponseHeaders([]byte(stored.StatusLine() + "\r\n\r\n"))
	if err != nil {
		// StatusLine of parsed headers always parses again.
		panic("cache: stored status line does not parse: " + err.Error())
	}
	replaced := make(map[string]bool)
	for _, f := range notModified.Headers() {
		if updateReplaces(f.Name) {
			replaced[ccLower(f.Name)] = true
			out.AddHeader(f.Name, f.Value)
		}
	}
	for _, f := range stored.Headers() {
		if !replaced[ccLower(f.Name)] {
			out.AddHeader(f.Name, f.Value)
		}
	}
	return out
}
