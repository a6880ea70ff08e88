package main

import (
	"bytes"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	nethttp "github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/urlrequest"
)

// verboseReport renders -v output for one fetch, curl style: "> " lines
// for the first request, "* " lines for what happened on the way (each
// redirect, how the final response's connection was obtained) and "< "
// lines for the final response's headers.
//
// Fetch does not hand back the request it sent, so the "> " block is
// rebuilt here from the request and the rules the stack applies (see
// urlrequest's httpJob.start and http's NetworkTransaction.doBuildRequest).
// Hops after a redirect are only listed by URL: their method and headers
// depend on the redirect codes, which Fetch does not report.
func verboseReport(req *urlrequest.FetchRequest, resp *urlrequest.Response, userAgent string) []byte {
	var b bytes.Buffer
	u := resp.URLChain[0]
	fmt.Fprintf(&b, "> %s %s HTTP/1.1\n", req.Method, u.RequestURI())
	for _, f := range sentHeaders(req, u, userAgent) {
		fmt.Fprintf(&b, "> %s: %s\n", f.Name, f.Value)
	}
	b.WriteString(">\n")
	for _, next := range resp.URLChain[1:] {
		fmt.Fprintf(&b, "* Redirected to %s\n", next)
	}
	if line := cacheLine(resp.Info); line != "" {
		b.WriteString(line)
	}
	switch info := resp.Info; {
	case info == nil:
	case info.CacheEntryStatus == nethttp.CacheEntryUsed:
	case info.ConnectionReused:
		fmt.Fprintf(&b, "* Re-used an existing connection to %s\n", info.RemoteEndpoint)
	default:
		fmt.Fprintf(&b, "* Connected to %s (new connection)\n", info.RemoteEndpoint)
	}
	fmt.Fprintf(&b, "< %s\n", resp.Headers.StatusLine())
	for _, f := range resp.Headers.Headers() {
		fmt.Fprintf(&b, "< %s: %s\n", f.Name, f.Value)
	}
	b.WriteString("<\n")
	return b.Bytes()
}

// sentHeaders lists the header fields of the first request in the order
// the stack sends them: Host, Connection and the body's framing first, then
// the caller's fields (the first of a name replaces a default in place, as
// -H "Host: x" does; repeated names are all sent), then User-Agent and
// Accept unless the caller set them.
func sentHeaders(req *urlrequest.FetchRequest, u *url.URL, userAgent string) []nethttp.HeaderField {
	var extra nethttp.RequestHeaders
	for _, h := range req.Headers {
		extra.Add(h.Name, h.Value)
	}
	extra.SetIfMissing("User-Agent", userAgent)
	extra.SetIfMissing("Accept", "*/*")

	var h nethttp.RequestHeaders
	h.Set("Host", hostHeader(u))
	h.Set("Connection", "keep-alive")
	switch {
	case req.Body != nil:
		h.Set("Content-Length", strconv.Itoa(len(req.Body)))
	case req.Method == "POST" || req.Method == "PUT":
		h.Set("Content-Length", "0")
	}
	seen := make(map[string]bool)
	for _, f := range extra.Fields() {
		if key := strings.ToLower(f.Name); !seen[key] {
			seen[key] = true
			h.Set(f.Name, f.Value)
		} else {
			h.Add(f.Name, f.Value)
		}
	}
	return h.Fields()
}

// hostHeader is the Host value the stack sends: the port is left out when
// it is the scheme's default.
func hostHeader(u *url.URL) string {
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		if h := u.Hostname(); strings.Contains(h, ":") {
			return "[" + h + "]" // an IPv6 literal
		}
		return u.Hostname()
	}
	return u.Host
}

// cacheLine says where the response came from when a cache is in use:
// the cache alone, the cache after the origin confirmed it (304), or the
// network.
func cacheLine(info *nethttp.ResponseInfo) string {
	if info == nil {
		return ""
	}
	switch info.CacheEntryStatus {
	case nethttp.CacheEntryUsed:
		return "* Cache: served from the cache (no request to the origin)\n"
	case nethttp.CacheEntryValidated:
		return "* Cache: revalidated with the origin (304 Not Modified), body from the cache\n"
	case nethttp.CacheEntryUpdated:
		return "* Cache: stale entry replaced by the network response\n"
	case nethttp.CacheEntryNotInCache, nethttp.CacheEntryCantConditionalize:
		return "* Cache: not in the cache; from the network\n"
	}
	return ""
}
