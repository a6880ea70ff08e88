package http

import (
	"strconv"
	"strings"
)

// ElideHeaderValueForNetLog returns the value of header name as it may be
// written to a NetLog, as Chromium's ElideHeaderValueForNetLog. It serves
// request and response headers alike.
//
// Unless stripSensitive is false (Chromium's kIncludeSensitive capture mode
// and above), the secret part is replaced by "[N bytes were stripped]", N
// being its length in bytes:
//
//   - Set-Cookie, Set-Cookie2, Cookie, Authorization and
//     Proxy-Authorization lose their whole value;
//   - WWW-Authenticate and Proxy-Authenticate keep their scheme and lose its
//     parameters, because a multi-round scheme such as Negotiate or NTLM
//     carries a server token there. Basic and Digest challenges are public
//     and kept whole, as are values with a comma (those may list several
//     schemes, while the tokens to hide are base64 and comma-free).
//
// Names compare case-insensitively. An empty value is returned unchanged.
func ElideHeaderValueForNetLog(stripSensitive bool, name, value string) string {
	if !stripSensitive {
		return value
	}
	begin, end := 0, 0
	switch {
	case rhEqualFold(name, "set-cookie"), rhEqualFold(name, "set-cookie2"),
		rhEqualFold(name, "cookie"), rhEqualFold(name, "authorization"),
		rhEqualFold(name, "proxy-authorization"):
		begin, end = 0, len(value)
	case rhEqualFold(name, "www-authenticate"), rhEqualFold(name, "proxy-authenticate"):
		begin, end = elideChallengeParams(value)
	}
	if begin == end {
		return value
	}
	return value[:begin] + "[" + strconv.Itoa(end-begin) + " bytes were stripped]" + value[end:]
}

// elideChallengeParams returns the byte range of a challenge's parameters that
// must be hidden, or an empty range when nothing should be. The scheme is the
// first run of non-whitespace; the parameters are the rest, trimmed of
// whitespace (Chromium's HttpAuthChallengeTokenizer).
func elideChallengeParams(value string) (begin, end int) {
	if strings.IndexByte(value, ',') >= 0 {
		return 0, 0
	}
	i := 0
	for i < len(value) && rhIsLWS(value[i]) {
		i++
	}
	schemeStart := i
	for i < len(value) && !rhIsLWS(value[i]) {
		i++
	}
	scheme := value[schemeStart:i]
	if scheme == "" || rhEqualFold(scheme, "basic") || rhEqualFold(scheme, "digest") {
		return 0, 0
	}
	begin, end = i, len(value)
	for begin < end && rhIsLWS(value[begin]) {
		begin++
	}
	for begin < end && rhIsLWS(value[end-1]) {
		end--
	}
	return begin, end
}
