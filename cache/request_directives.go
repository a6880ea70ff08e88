package cache

import (
	"strings"
	"time"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
)

// RequestDirectives are the Cache-Control (and Pragma) directives of a
// request, RFC 9111 §5.2.1. A repeated directive counts once, with its first
// well-formed value; one whose number is malformed is ignored.
type RequestDirectives struct {
	// NoCache: a stored response must not be used without validation.
	NoCache bool
	// NoStore: neither this request nor its response may be stored.
	NoStore bool
	// OnlyIfCached: answer from the cache or fail, never from the network.
	OnlyIfCached bool

	// MaxAge is the greatest age of a stored response the client accepts.
	MaxAge    time.Duration
	HasMaxAge bool

	// MaxStale is how far past its freshness lifetime a stored response
	// may be and still be used without validation.
	MaxStale    time.Duration
	HasMaxStale bool
	// MaxStaleAny is "max-stale" without a value: any staleness is
	// accepted. HasMaxStale is then false.
	MaxStaleAny bool

	// MinFresh is how long a stored response must still stay fresh.
	MinFresh    time.Duration
	HasMinFresh bool
}

// ParseRequestDirectives reads the Cache-Control directives of a request.
// "Pragma: no-cache" counts as no-cache only when there is no Cache-Control
// header, as RFC 9111 §5.4 says. Directive names compare case-insensitively
// and values may be quoted; numbers must be plain delta-seconds.
func ParseRequestDirectives(h *http.RequestHeaders) RequestDirectives {
	var d RequestDirectives
	lines := ccRequestLines(h, "Cache-Control")
	for _, dir := range ccDirectives(lines) {
		switch dir.name {
		case "no-cache":
			d.NoCache = true
		case "no-store":
			d.NoStore = true
		case "only-if-cached":
			d.OnlyIfCached = true
		case "max-age":
			ccSetSeconds(dir, &d.MaxAge, &d.HasMaxAge)
		case "max-stale":
			if !dir.hasValue {
				d.MaxStaleAny = true
				continue
			}
			ccSetSeconds(dir, &d.MaxStale, &d.HasMaxStale)
		case "min-fresh":
			ccSetSeconds(dir, &d.MinFresh, &d.HasMinFresh)
		}
	}
	if len(lines) == 0 && ccRequestPragmaNoCache(h) {
		d.NoCache = true
	}
	return d
}

// ccSetSeconds stores the first well-formed value of a delta-seconds
// directive; later copies and malformed values are ignored.
func ccSetSeconds(dir ccDirective, dst *time.Duration, has *bool) {
	if *has || !dir.hasValue {
		return
	}
	if v, ok := ccDeltaSeconds(dir.value); ok {
		*dst, *has = v, true
	}
}

// ImpliedLoadFlags are the load flags a request's own headers imply, as
// Chromium's http_cache_util::GetLoadFlagsForExtraHeaders and
// HttpCache::Transaction::SetRequest work them out. Only the strongest
// applies, as in Chromium, since each makes the ones after it moot:
//
//   - LOAD_DISABLE_CACHE for If-Unmodified-Since, If-Match or If-Range
//     (their 412s and partial answers would confuse the cache), for an
//     empty If-None-Match or If-Modified-Since, for a Range header on a
//     method other than GET, for a Range header that is not one valid byte
//     range, for a Range header together with validators, and for
//     Cache-Control: no-store (RFC 9111 forbids storing; we do not read
//     either);
//   - LOAD_BYPASS_CACHE for Cache-Control: no-cache or Pragma: no-cache
//     (Pragma counts here even beside Cache-Control, as in Chromium);
//   - LOAD_VALIDATE_CACHE for Cache-Control: max-age=0.
//
// Cache-Control: only-if-cached adds LOAD_ONLY_FROM_CACHE to any of them.
func ImpliedLoadFlags(method string, h *http.RequestHeaders) net.LoadFlags {
	d := ParseRequestDirectives(h)
	var flags net.LoadFlags
	switch {
	case ccDisablesCache(method, h, d):
		flags = net.LoadDisableCache
	case d.NoCache || ccRequestPragmaNoCache(h):
		flags = net.LoadBypassCache
	case d.HasMaxAge && d.MaxAge == 0:
		flags = net.LoadValidateCache
	}
	if d.OnlyIfCached {
		flags |= net.LoadOnlyFromCache
	}
	return flags
}

// ccDisablesCache reports the LOAD_DISABLE_CACHE cases of ImpliedLoadFlags.
func ccDisablesCache(method string, h *http.RequestHeaders, d RequestDirectives) bool {
	if d.NoStore || h.Has("If-Unmodified-Since") || h.Has("If-Match") || h.Has("If-Range") {
		return true
	}
	for _, name := range [...]string{"If-None-Match", "If-Modified-Since"} {
		// Chromium: an empty validator is invalid and the request is not
		// one the cache can answer.
		if v, ok := h.Get(name); ok && ccTrimLWS(v) == "" {
			return true
		}
	}
	if r, ok := h.Get("Range"); ok {
		return method != "GET" || HasValidators(h) || !ccIsSingleByteRange(r)
	}
	return false
}

// ccIsSingleByteRange reports whether v is a Range header Chromium's
// PartialData accepts: the bytes unit and exactly one valid range, "a-b"
// with a <= b, "a-" or "-n" with n > 0.
func ccIsSingleByteRange(v string) bool {
	unit, spec, ok := strings.Cut(v, "=")
	if !ok || !ccEqualFold(ccTrimLWS(unit), "bytes") {
		return false
	}
	first, last, ok := strings.Cut(ccTrimLWS(spec), "-")
	if !ok {
		return false
	}
	first, last = ccTrimLWS(first), ccTrimLWS(last)
	if first == "" {
		n, ok := ccDecimal(last)
		return ok && n > 0
	}
	a, ok := ccDecimal(first)
	if !ok {
		return false
	}
	if last == "" {
		return true
	}
	b, ok := ccDecimal(last)
	return ok && a <= b
}

// ccDecimal parses a non-empty run of digits into a non-negative int64.
func ccDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 { // 18 digits always fit in an int64
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// HasValidators reports whether the caller set If-None-Match or
// If-Modified-Since itself: the request is then the caller's own
// revalidation, and a 304 belongs to the caller rather than the cache.
func HasValidators(h *http.RequestHeaders) bool {
	return h.Has("If-None-Match") || h.Has("If-Modified-Since")
}

// ccRequestPragmaNoCache reports a "no-cache" element in a request's Pragma.
func ccRequestPragmaNoCache(h *http.RequestHeaders) bool {
	for _, line := range ccRequestLines(h, "Pragma") {
		for _, el := range ccSplitList(line) {
			if ccEqualFold(el, "no-cache") {
				return true
			}
		}
	}
	return false
}

// ccRequestLines returns the value of every request field named name;
// RequestHeaders.Get gives only the first.
func ccRequestLines(h *http.RequestHeaders, name string) []string {
	var out []string
	for _, f := range h.Fields() {
		if ccEqualFold(f.Name, name) {
			out = append(out, f.Value)
		}
	}
	return out
}

// ccDirective is one element of a Cache-Control list.
type ccDirective struct {
	name     string // lower-case
	value    string // unquoted
	hasValue bool
}

// ccDirectives parses the elements of Cache-Control lines, in order.
func ccDirectives(lines []string) []ccDirective {
	var out []ccDirective
	for _, line := range lines {
		for _, el := range ccSplitList(line) {
			name, value, hasValue := strings.Cut(el, "=")
			name = ccLower(ccTrimLWS(name))
			if name == "" {
				continue
			}
			d := ccDirective{name: name, hasValue: hasValue}
			if hasValue {
				d.value = ccUnquote(ccTrimLWS(value))
			}
			out = append(out, d)
		}
	}
	return out
}

// ccUnquote strips the quotes and backslash escapes of a quoted-string;
// RFC 9111 §5.2 asks recipients to accept max-age="5" as max-age=5. Any
// other string is returned as it is.
func ccUnquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ccMaxDeltaSeconds is where delta-seconds saturate: RFC 9111 §1.2.2 lets
// a cache take 2^31 for anything larger, which keeps sums of lifetimes far
// from overflowing a Duration.
const ccMaxDeltaSeconds = 1 << 31

// ccDeltaSeconds parses RFC 9111 delta-seconds: one or more digits and
// nothing else. Values over 2^31 saturate.
func ccDeltaSeconds(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if n < ccMaxDeltaSeconds { // n*10+9 cannot overflow below this
			n = n*10 + int64(c-'0')
		}
	}
	return time.Duration(min(n, ccMaxDeltaSeconds)) * time.Second, true
}

// ccSplitList splits a comma-separated header value into its elements,
// trimmed of whitespace. Commas inside double quotes (with backslash
// escapes) do not split, as in Chromium's HttpUtil::ValuesIterator; empty
// elements are dropped.
func ccSplitList(v string) []string {
	var out []string
	for _, el := range http.SplitValues(v) {
		if el != "" {
			out = append(out, el)
		}
	}
	return out
}

// ccTrimLWS trims HTTP linear whitespace (SP and HT).
func ccTrimLWS(s string) string { return strings.Trim(s, " \t") }

// ccLower lower-cases ASCII letters only: header names are ASCII, and
// Unicode folding would turn the Kelvin sign into "k".
func ccLower(s string) string {
	for i := 0; i < len(s); i++ {
		if ccLowerByte(s[i]) != s[i] {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = ccLowerByte(b[j])
			}
			return string(b)
		}
	}
	return s
}

// ccEqualFold compares ASCII case-insensitively.
func ccEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if ccLowerByte(a[i]) != ccLowerByte(b[i]) {
			return false
		}
	}
	return true
}

func ccLowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
