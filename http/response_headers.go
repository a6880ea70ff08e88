package http

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// MaxResponseHeadersSize is the largest HTTP/1 response head read from the
// network, as Chromium's HttpStreamParser kMaxHeaderBufSize (256 KiB): a
// reader that has buffered this much without finding the end of the head
// fails with net.ErrResponseHeadersTooBig.
//
// ParseResponseHeaders does not apply it: the limit belongs to the reader,
// and a head stored by the cache must parse again even though its Raw form
// (": " and CRLF everywhere) may be a little longer than what was received.
const MaxResponseHeadersSize = 256 * 1024

// HeaderField is one header line: the name as received (its case kept) and
// the value with surrounding whitespace trimmed and folded lines joined.
type HeaderField struct {
	Name  string
	Value string
}

// ResponseHeaders is a parsed HTTP/1.x response head: the status line and the
// header lines in the order received. It is Chromium's HttpResponseHeaders.
//
// The version is normalised to one of 0.9, 1.0, 1.1 or 2.0, header names
// compare case-insensitively and the header order is kept. A ResponseHeaders
// changes only through AddHeader, RemoveHeader and SetHeader; like every
// object of the stack it is owned by one loop and is not safe for concurrent
// mutation.
type ResponseHeaders struct {
	major, minor int
	code         int
	text         string // reason phrase, may be empty
	fields       []HeaderField
}

// ParseResponseHeaders parses a response head as it was received: the status
// line and the header lines, ended by CRLF, bare LF or bare CR, optionally
// followed by the blank line that ends the head. Anything after that blank
// line is ignored. It follows Chromium's HttpUtil::AssembleRawHeaders and
// HttpResponseHeaders::Parse:
//
//   - up to 4 bytes of junk may precede the status line, which must start
//     with "HTTP" in any case; anything else is an HTTP/0.9 response, which
//     netfetch rejects with net.ErrInvalidHTTPResponse;
//   - the version is normalised: 2.0 stays 2.0, anything at or above 1.1
//     becomes 1.1, a 0.9 status line followed by header lines and any
//     unreadable version become 1.0;
//   - a status line with nothing after the version means "200 OK"; otherwise
//     the status code must be exactly three digits (stricter than Chromium,
//     which assumes 200 for garbage) and the reason phrase is optional;
//   - a line starting with a space or tab continues the previous header's
//     value; lines without a colon or whose name is not a token are dropped;
//   - a NUL byte anywhere in the head gives net.ErrInvalidHTTPResponse, as
//     Chromium's HttpResponseHeaders::TryToCreate.
//
// ParseResponseHeaders does not check for conflicting duplicate headers; the
// caller reading a response from the network must call Validate.
func ParseResponseHeaders(raw []byte) (*ResponseHeaders, error) {
	start := rhLocateStatusLine(raw)
	if start < 0 {
		return nil, net.ErrInvalidHTTPResponse
	}
	raw = raw[start:]
	if end := rhLocateEndOfHeaders(raw); end >= 0 {
		raw = raw[:end]
	}
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, net.ErrInvalidHTTPResponse
	}

	// One conversion: lines, names and values are substrings of it.
	head := string(raw)
	statusEnd := strings.IndexAny(head, "\r\n")
	if statusEnd < 0 {
		statusEnd = len(head)
	}
	statusLine := head[:statusEnd]
	lines := rhAssembleLines(head[statusEnd:])

	h := &ResponseHeaders{}
	major, minor := rhParseVersion(statusLine)
	h.major, h.minor = rhNormaliseVersion(major, minor, len(lines) > 0)
	code, text, ok := rhParseStatus(statusLine)
	if !ok {
		return nil, net.ErrInvalidHTTPResponse
	}
	h.code, h.text = code, text

	h.fields = make([]HeaderField, 0, len(lines))
	for _, line := range lines {
		if f, ok := rhParseHeaderLine(line); ok {
			h.fields = append(h.fields, f)
		}
	}
	return h, nil
}

// rhLocateStatusLine finds "http" (any case) within the first 4+4 bytes, as
// Chromium's LocateStartOfStatusLine: a few bytes of slop, such as a stray
// CRLF after the previous response's body, are tolerated. -1 if absent.
func rhLocateStatusLine(buf []byte) int {
	const slop, httpLen = 4, 4
	for i := 0; i <= slop && i+httpLen <= len(buf); i++ {
		if rhEqualFold(string(buf[i:i+httpLen]), "http") {
			return i
		}
	}
	return -1
}

// rhLocateEndOfHeaders returns the offset just past the blank line ending the
// head (two line feeds in a row, a CR allowed between them), or -1. This is
// Chromium's LocateEndOfHeaders.
func rhLocateEndOfHeaders(buf []byte) int {
	var last byte
	wasLF := false
	for i, c := range buf {
		if c == '\n' {
			if wasLF {
				return i + 1
			}
			wasLF = true
		} else if c != '\r' || last != '\n' {
			wasLF = false
		}
		last = c
	}
	return -1
}

// rhAssembleLines splits the header section (everything after the status
// line) into logical lines. Any run of CR and LF ends a line, so blank lines
// vanish. A segment starting with SP or HT continues the previous line when
// that line could be a header (obs-fold); its leading whitespace becomes one
// space.
func rhAssembleLines(s string) []string {
	lines := make([]string, 0, strings.Count(s, "\n"))
	prevContinuable := false
	for len(s) > 0 {
		// Skip the line terminators.
		s = strings.TrimLeft(s, "\r\n")
		if s == "" {
			break
		}
		end := strings.IndexAny(s, "\r\n")
		if end < 0 {
			end = len(s)
		}
		seg := s[:end]
		s = s[end:]

		if prevContinuable && rhIsLWS(seg[0]) {
			lines[len(lines)-1] += " " + strings.TrimLeft(seg, " \t")
			continue
		}
		lines = append(lines, seg)
		prevContinuable = rhIsContinuable(seg)
	}
	return lines
}

// rhIsContinuable reports whether a line may be followed by a folded
// continuation: it needs a colon and a non-empty name that does not itself
// start with whitespace, since names may not span lines.
func rhIsContinuable(line string) bool {
	colon := strings.IndexByte(line, ':')
	return colon > 0 && !rhIsLWS(line[0])
}

// rhParseHeaderLine splits "Name: value". Lines without a colon, with an
// empty or non-token name, or starting with whitespace are malformed and
// dropped, as Chromium's HeadersIterator does.
func rhParseHeaderLine(line string) (HeaderField, bool) {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 || rhIsLWS(line[0]) {
		return HeaderField{}, false
	}
	name := rhTrimLWS(line[:colon])
	if !rhIsToken(name) {
		return HeaderField{}, false
	}
	return HeaderField{Name: name, Value: rhTrimLWS(line[colon+1:])}, true
}

// rhParseVersion reads "HTTP/x.y" the way Chromium's ParseVersion does: the
// digit right after the slash and the digit right after the first dot. An
// unreadable version is (0, 0).
func rhParseVersion(line string) (major, minor int) {
	// The caller guarantees the line starts with "http" in some case.
	if len(line) < 5 || line[4] != '/' {
		return 0, 0
	}
	dot := strings.IndexByte(line[4:], '.')
	if dot < 0 {
		return 0, 0
	}
	dot += 4 + 1 // index of the digit after the dot
	if !rhIsDigit(line[5]) || dot >= len(line) || !rhIsDigit(line[dot]) {
		return 0, 0
	}
	return int(line[5] - '0'), int(line[dot] - '0')
}

// rhNormaliseVersion clamps a parsed version to the ones the stack knows.
// HTTP/0.9 survives only without header lines: a "0.9" head with headers is
// really a broken 1.0 one.
func rhNormaliseVersion(major, minor int, hasHeaders bool) (int, int) {
	switch {
	case major == 0 && minor == 9 && !hasHeaders:
		return 0, 9
	case major == 2 && minor == 0:
		return 2, 0
	case major > 1 || (major == 1 && minor >= 1):
		return 1, 1
	default:
		return 1, 0
	}
}

// rhParseStatus reads the status code and reason phrase that follow the first
// space of the status line. Only spaces (not tabs) are skipped and trimmed
// around them, as in Chromium.
func rhParseStatus(line string) (code int, text string, ok bool) {
	sp := strings.IndexByte(line, ' ')
	if sp < 0 {
		// Chromium: a bare "HTTP/1.1" is taken as "200 OK".
		return 200, "OK", true
	}
	rest := strings.TrimLeft(line[sp+1:], " ")
	if rest == "" {
		// Chromium: "HTTP/1.1 " becomes "HTTP/1.1 200", without reason.
		return 200, "", true
	}
	n := 0
	for n < len(rest) && rhIsDigit(rest[n]) {
		n++
	}
	if n != 3 {
		// Chromium would assume 200 for a missing code and accept any number
		// of digits; we insist on RFC 9112's 3DIGIT so that garbage such as
		// "HTTP/1.1 abc" is an error rather than a success.
		return 0, "", false
	}
	code = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	text = strings.TrimRight(strings.TrimLeft(rest[3:], " "), " ")
	return code, text, true
}

// rhEqualFold compares ASCII case-insensitively. Unlike strings.EqualFold it
// does not apply Unicode folding (the Kelvin sign is not "k"), which matches
// HTTP's ASCII-only field names and Chromium's EqualsCaseInsensitiveASCII.
func rhEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func rhIsDigit(c byte) bool { return '0' <= c && c <= '9' }

// rhIsLWS reports HTTP linear whitespace: SP or HT.
func rhIsLWS(c byte) bool { return c == ' ' || c == '\t' }

func rhTrimLWS(s string) string { return strings.Trim(s, " \t") }

// rhIsTokenChar reports whether c may appear in an RFC 7230 token.
func rhIsTokenChar(c byte) bool {
	if c <= 0x20 || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c))
}

func rhIsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !rhIsTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// StatusCode returns the response code, e.g. 200.
func (h *ResponseHeaders) StatusCode() int { return h.code }

// StatusText returns the reason phrase, e.g. "OK"; it may be empty.
func (h *ResponseHeaders) StatusText() string { return h.text }

// Version returns the normalised HTTP version: 0.9, 1.0, 1.1 or 2.0.
func (h *ResponseHeaders) Version() (major, minor int) { return h.major, h.minor }

// StatusLine returns the normalised status line without its line break, e.g.
// "HTTP/1.1 200 OK", or "HTTP/1.1 200" when there is no reason phrase.
func (h *ResponseHeaders) StatusLine() string {
	var b strings.Builder
	b.Grow(16 + len(h.text))
	b.WriteString("HTTP/")
	b.WriteString(strconv.Itoa(h.major))
	b.WriteByte('.')
	b.WriteString(strconv.Itoa(h.minor))
	// The code was parsed from exactly three digits: keep them ("000"), so
	// that Raw parses again.
	b.WriteByte(' ')
	b.WriteByte(byte('0' + h.code/100))
	b.WriteByte(byte('0' + h.code/10%10))
	b.WriteByte(byte('0' + h.code%10))
	if h.text != "" {
		b.WriteByte(' ')
		b.WriteString(h.text)
	}
	return b.String()
}

// Get returns the values of every header line named name (case-insensitive)
// joined with ", ", as Chromium's GetNormalizedHeader, and whether there was
// any. Do not use it for Set-Cookie, whose values may contain commas; use
// Values.
func (h *ResponseHeaders) Get(name string) (string, bool) {
	var b strings.Builder
	found := false
	for _, f := range h.fields {
		if !rhEqualFold(f.Name, name) {
			continue
		}
		if found {
			b.WriteString(", ")
		}
		b.WriteString(f.Value)
		found = true
	}
	return b.String(), found
}

// Values returns the value of each header line named name, in order. A value
// is a whole line's value: it is not split on commas.
func (h *ResponseHeaders) Values(name string) []string {
	var out []string
	for _, f := range h.fields {
		if rhEqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// Has reports whether there is at least one header line named name.
func (h *ResponseHeaders) Has(name string) bool {
	for _, f := range h.fields {
		if rhEqualFold(f.Name, name) {
			return true
		}
	}
	return false
}

// HasHeaderValue reports whether one of the comma-separated values of the
// header name equals value, case-insensitively, as Chromium's HasHeaderValue:
// HasHeaderValue("Cache-Control", "no-cache") is true for
// "Cache-Control: private, no-cache" but not for `no-cache="foo"`.
func (h *ResponseHeaders) HasHeaderValue(name, value string) bool {
	for _, v := range h.enumerate(name) {
		if rhEqualFold(v, value) {
			return true
		}
	}
	return false
}

// Headers returns a copy of the header lines in the order received.
func (h *ResponseHeaders) Headers() []HeaderField {
	out := make([]HeaderField, len(h.fields))
	copy(out, h.fields)
	return out
}

// enumerate lists the values of name the way Chromium's EnumerateHeader
// sees them: one per comma-separated element, except for the headers whose
// values may themselves contain commas (dates, Location, Set-Cookie,
// challenges), which are one value per line.
func (h *ResponseHeaders) enumerate(name string) []string {
	var out []string
	coalescing := !rhIsNonCoalescing(name)
	for _, f := range h.fields {
		if !rhEqualFold(f.Name, name) {
			continue
		}
		if coalescing && f.Value != "" {
			out = rhSplitValues(out, f.Value)
		} else {
			out = append(out, f.Value)
		}
	}
	return out
}

// rhNonCoalescing lists Chromium's HttpUtil::IsNonCoalescingHeader names.
var rhNonCoalescing = [...]string{
	"date", "expires", "last-modified", "location", "retry-after",
	"set-cookie", "www-authenticate", "proxy-authenticate",
	"strict-transport-security",
}

func rhIsNonCoalescing(name string) bool {
	for _, n := range rhNonCoalescing {
		if rhEqualFold(n, name) {
			return true
		}
	}
	return false
}

// rhSplitValues appends the comma-separated elements of v to out. Commas
// inside double quotes (with backslash escapes) do not split; each element is
// trimmed of whitespace and empty elements are kept, as Chromium's
// ValuesIterator with ignore_empty_values=false.
func rhSplitValues(out []string, v string) []string {
	start := 0
	inQuote, escaped := false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if inQuote {
			// Delimiters inside a quoted string do not count.
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inQuote = false
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case ',':
			out = append(out, rhTrimLWS(v[start:i]))
			start = i + 1
		}
	}
	return append(out, rhTrimLWS(v[start:]))
}

// SplitValues splits a header value on the commas that separate its
// elements (not those inside quoted strings), trimming each; empty
// elements are kept.
func SplitValues(v string) []string { return rhSplitValues(nil, v) }

// ContentLength returns the Content-Length, or -1 when it is absent, empty,
// negative, signed with '+', not a decimal number or too large for int64.
// Only the first value counts; Validate rejects differing duplicates.
func (h *ResponseHeaders) ContentLength() int64 {
	values := h.enumerate("Content-Length")
	if len(values) == 0 {
		return -1
	}
	return rhParseNonNegativeInt64(values[0])
}

// rhParseNonNegativeInt64 parses a decimal number as Chromium's
// GetInt64HeaderValue: no whitespace, no '+', nothing negative ("-0" is 0).
func rhParseNonNegativeInt64(s string) int64 {
	if s == "" || s[0] == '+' {
		return -1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// IsChunkedEncoding reports whether the body is chunked: the version is 1.1
// or later and one of the Transfer-Encoding values is "chunked". Chunked
// framing from HTTP/1.0 servers and proxies is spurious and ignored.
//
// Like Chromium (HasHeaderValue), any position counts, not only the last
// coding: "Transfer-Encoding: chunked, gzip" is read as chunked.
func (h *ResponseHeaders) IsChunkedEncoding() bool {
	if h.major < 1 || (h.major == 1 && h.minor < 1) {
		return false
	}
	return h.HasHeaderValue("Transfer-Encoding", "chunked")
}

// IsKeepAlive reports whether the connection may be reused after this
// response. The first "keep-alive" or "close" token found in Connection, then
// in Proxy-Connection, decides; without one, HTTP/1.0 closes and later
// versions keep alive. HTTP/0.9 never keeps alive. Proxy-Connection is
// honoured even from non-proxies, as Chromium and Mozilla do.
func (h *ResponseHeaders) IsKeepAlive() bool {
	if h.major == 0 {
		return false
	}
	for _, name := range [...]string{"Connection", "Proxy-Connection"} {
		for _, tok := range h.enumerate(name) {
			switch {
			case rhEqualFold(tok, "keep-alive"):
				return true
			case rhEqualFold(tok, "close"):
				return false
			}
		}
	}
	return !(h.major == 1 && h.minor == 0)
}

// IsRedirect reports whether this is a redirect to follow: status 301, 302,
// 303, 307 or 308 with a non-empty Location. The first non-empty Location is
// returned with non-ASCII bytes percent-escaped, so that the URL parser sees
// the bytes the server sent. 300 is not a redirect: users want to see it.
func (h *ResponseHeaders) IsRedirect() (location string, ok bool) {
	switch h.code {
	case 301, 302, 303, 307, 308:
	default:
		return "", false
	}
	for _, f := range h.fields {
		if rhEqualFold(f.Name, "Location") && f.Value != "" {
			return rhEscapeNonASCII(f.Value), true
		}
	}
	return "", false
}

// rhEscapeNonASCII percent-escapes bytes >= 0x80, as base::EscapeNonASCII.
func rhEscapeNonASCII(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hex[c>>4], hex[c&0xf])
	}
	return string(b)
}

// AddHeader appends the header line "name: value". The value is trimmed of
// surrounding whitespace, as a parsed value would be.
//
// It panics if name is not a token or value contains CR, LF or NUL: such a
// header would change meaning once serialised by Raw (header injection), so
// passing one is a programming error, as Chromium's DCHECKs say.
func (h *ResponseHeaders) AddHeader(name, value string) {
	rhCheckHeader(name, value)
	h.fields = append(h.fields, HeaderField{Name: name, Value: rhTrimLWS(value)})
}

// rhCheckHeader panics unless name is a token and value has no CR, LF or
// NUL.
func rhCheckHeader(name, value string) {
	if !rhIsToken(name) {
		panic("http: invalid response header name " + strconv.Quote(name))
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		panic("http: invalid value for response header " + name)
	}
}

// RemoveHeader removes every header line named name; the others keep their
// order.
func (h *ResponseHeaders) RemoveHeader(name string) {
	kept := h.fields[:0]
	for _, f := range h.fields {
		if !rhEqualFold(f.Name, name) {
			kept = append(kept, f)
		}
	}
	// Clear the tail so dropped strings can be collected.
	clear(h.fields[len(kept):])
	h.fields = kept
}

// SetHeader replaces every line named name with one "name: value" line,
// appended at the end as Chromium's SetHeader (RemoveHeader then AddHeader)
// does. It panics on an invalid name or value, as AddHeader.
func (h *ResponseHeaders) SetHeader(name, value string) {
	// Validate before removing so that a panic leaves h unchanged.
	rhCheckHeader(name, value)
	h.RemoveHeader(name)
	h.AddHeader(name, value)
}

// Raw returns the normalised head: "Status-Line\r\n", then "Name: value\r\n"
// for each header line, then "\r\n". Parsing it again gives equal headers.
func (h *ResponseHeaders) Raw() string {
	var b strings.Builder
	status := h.StatusLine()
	size := len(status) + 4
	for _, f := range h.fields {
		size += len(f.Name) + len(f.Value) + 4
	}
	b.Grow(size)
	b.WriteString(status)
	b.WriteString("\r\n")
	for _, f := range h.fields {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// Validate applies Chromium's HttpStreamParser checks against response
// smuggling: differing Content-Length values (ignored when the body is
// chunked, as chunked framing wins), differing Content-Disposition values and
// differing Location values are errors. Identical duplicates are allowed.
// Values are compared as Chromium enumerates them: split on commas, except
// Location.
func (h *ResponseHeaders) Validate() error {
	if !h.IsChunkedEncoding() && h.hasDifferingCopies("Content-Length") {
		return net.ErrResponseHeadersMultipleContentLength
	}
	if h.hasDifferingCopies("Content-Disposition") {
		return net.ErrResponseHeadersMultipleContentDisposition
	}
	if h.hasDifferingCopies("Location") {
		return net.ErrResponseHeadersMultipleLocation
	}
	return nil
}

// hasDifferingCopies reports whether name has two values that differ
// byte-for-byte (HttpUtil::HeadersContainMultipleCopiesOfField).
func (h *ResponseHeaders) hasDifferingCopies(name string) bool {
	values := h.enumerate(name)
	for _, v := range values[min(1, len(values)):] {
		if v != values[0] {
			return true
		}
	}
	return false
}

// NetLogParams returns the parameters of the HTTP_TRANSACTION_READ_RESPONSE_
// HEADERS event in Chromium's shape: {"headers": [status line, "Name: value",
// ...]}. With stripSensitive, cookies and credentials are elided by
// ElideHeaderValueForNetLog, as in Chromium's default capture mode.
func (h *ResponseHeaders) NetLogParams(stripSensitive bool) map[string]any {
	lines := make([]any, 0, len(h.fields)+1)
	lines = append(lines, h.StatusLine())
	for _, f := range h.fields {
		lines = append(lines, f.Name+": "+ElideHeaderValueForNetLog(stripSensitive, f.Name, f.Value))
	}
	return map[string]any{"headers": lines}
}
