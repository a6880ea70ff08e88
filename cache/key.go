package cache

import (
	"net/url"
	"strconv"
	"strings"
)

// Key is Chromium's GenerateCacheKey for a request without network
// isolation: "1/<uploadID>/<url>", where uploadID is 0 for a request without
// a body and the URL loses its fragment and userinfo, as
// HttpUtil::SpecForRequest.
//
// The URL is also put in the canonical form Chromium's GURL always has, so
// that spellings of one URL share an entry: the scheme and host are
// lower-cased, an empty port or the scheme's default port is dropped, and
// the empty path of a URL with a host becomes "/".
func Key(u *url.URL, uploadID int64) string {
	c := *u
	c.User = nil
	c.Fragment, c.RawFragment = "", ""
	c.Scheme = ccLower(c.Scheme)
	c.Host = keyCanonicalHost(c.Scheme, c.Host)
	if c.Opaque == "" && c.Host != "" && c.Path == "" {
		c.Path, c.RawPath = "/", ""
	}
	return "1/" + strconv.FormatInt(uploadID, 10) + "/" + c.String()
}

// keyDefaultPorts are the default ports GURL drops from standard schemes.
var keyDefaultPorts = map[string]string{
	"http":  "80",
	"https": "443",
	"ws":    "80",
	"wss":   "443",
	"ftp":   "21",
}

// keyCanonicalHost lower-cases host and drops an empty or default port.
// The colon that starts the port is the last one after any IPv6 literal's
// closing bracket.
func keyCanonicalHost(scheme, host string) string {
	host = ccLower(host)
	colon := strings.LastIndexByte(host, ':')
	if colon < 0 || colon < strings.LastIndexByte(host, ']') {
		return host
	}
	if port := host[colon+1:]; port == "" || port == keyDefaultPorts[scheme] {
		return host[:colon]
	}
	return host
}
