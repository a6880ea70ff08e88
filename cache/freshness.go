package cache

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/netfetch/netfetch/http"
)

// Validation says whether a stored response may be used as it is
// (Chromium's ValidationType).
type Validation int

// The validation a stored response needs.
const (
	// ValidationNone: use the stored response without asking the server.
	ValidationNone Validation = iota
	// ValidationAsynchronous: use the stored response now and revalidate
	// it in the background (stale-while-revalidate).
	ValidationAsynchronous
	// ValidationSynchronous: revalidate before using the stored response.
	ValidationSynchronous
)

// String returns "none", "asynchronous" or "synchronous".
func (v Validation) String() string {
	switch v {
	case ValidationNone:
		return "none"
	case ValidationAsynchronous:
		return "asynchronous"
	case ValidationSynchronous:
		return "synchronous"
	}
	return "Validation(" + strconv.Itoa(int(v)) + ")"
}

// ccForever is the lifetime of responses fresh "forever" (Chromium's
// TimeDelta::Max()).
const ccForever = time.Duration(math.MaxInt64)

// Lifetimes is Chromium's HttpResponseHeaders::GetFreshnessLifetimes for a
// private cache: how long the response is fresh, and for how long after
// that it may still be served while it is revalidated in the background.
//
//   - Cache-Control: no-cache or no-store, or Pragma: no-cache: (0, 0).
//   - staleness is the stale-while-revalidate value, unless must-revalidate
//     forbids serving stale.
//   - max-age, when well-formed, is the freshness and beats Expires;
//     s-maxage is for shared caches and ignored.
//   - Expires counts from Date, or from responseTime when Date is absent or
//     unreadable; an Expires that cannot be read (such as "0") is in the
//     past, as RFC 9111 §5.3 requires.
//   - Otherwise 200, 203 and 206 without must-revalidate whose
//     Last-Modified is not after Date get the heuristic
//     (Date − Last-Modified) / 10;
//   - 300, 301, 308 and 410 are fresh forever and never stale;
//   - anything else has freshness 0.
func Lifetimes(h *http.ResponseHeaders, responseTime time.Time) (freshness, staleness time.Duration) {
	if ccNeverFresh(h) {
		return 0, 0
	}
	dirs := ccDirectives(h.Values("Cache-Control"))
	mustRevalidate := h.HasHeaderValue("Cache-Control", "must-revalidate")
	if !mustRevalidate {
		staleness, _ = ccDirectiveSeconds(dirs, "stale-while-revalidate")
	}
	if maxAge, ok := ccDirectiveSeconds(dirs, "max-age"); ok {
		return maxAge, staleness
	}

	date, ok := ccHeaderDate(h, "Date")
	if !ok {
		date = responseTime
	}
	if h.Has("Expires") {
		if expires, ok := ccHeaderDate(h, "Expires"); ok && expires.After(date) {
			return expires.Sub(date), staleness
		}
		return 0, staleness
	}

	code := h.StatusCode()
	if (code == 200 || code == 203 || code == 206) && !mustRevalidate {
		// Last-Modified may be in the future: then no heuristic.
		if lm, ok := ccHeaderDate(h, "Last-Modified"); ok && !lm.After(date) {
			return date.Sub(lm) / 10, staleness
		}
	}
	switch code {
	case 300, 301, 308, 410:
		return ccForever, 0
	}
	return 0, staleness
}

// ccNeverFresh reports the headers that make a response stale from the
// start: Cache-Control no-cache or no-store, and Pragma: no-cache, which
// Chromium honours in responses for compatibility. Qualified forms such as
// no-cache="Set-Cookie" do not count, as in Chromium.
func ccNeverFresh(h *http.ResponseHeaders) bool {
	return h.HasHeaderValue("Cache-Control", "no-cache") ||
		h.HasHeaderValue("Cache-Control", "no-store") ||
		h.HasHeaderValue("Pragma", "no-cache")
}

// ccDirectiveSeconds returns the first well-formed delta-seconds value of
// the directive name, as Chromium's GetCacheControlDirective, which skips
// malformed copies.
func ccDirectiveSeconds(dirs []ccDirective, name string) (time.Duration, bool) {
	for _, d := range dirs {
		if d.name != name || !d.hasValue {
			continue
		}
		if v, ok := ccDeltaSeconds(d.value); ok {
			return v, true
		}
	}
	return 0, false
}

// ccHasDirective reports whether a directive named name is present, with
// or without a value.
func ccHasDirective(dirs []ccDirective, name string) bool {
	for _, d := range dirs {
		if d.name == name {
			return true
		}
	}
	return false
}

// CurrentAge is the age of a stored response now, RFC 9111 §4.2.3:
//
//	apparent_age = max(0, response_time - date_value)
//	response_delay = response_time - request_time
//	corrected_age_value = age_value + response_delay
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//	resident_time = now - response_time
//	current_age = corrected_initial_age + resident_time
//
// A missing or unreadable Date counts as responseTime and a missing or
// malformed Age as 0. Unlike Chromium the result is never negative, so a
// clock stepping back cannot make a response fresher than when it arrived
// with no lifetime at all.
func CurrentAge(h *http.ResponseHeaders, requestTime, responseTime, now time.Time) time.Duration {
	date, ok := ccHeaderDate(h, "Date")
	if !ok {
		date = responseTime
	}
	apparent := max(0, responseTime.Sub(date))
	corrected := ccAddClamped(ccAgeValue(h), responseTime.Sub(requestTime))
	initial := max(apparent, corrected)
	return max(0, ccAddClamped(initial, now.Sub(responseTime)))
}

// ccAgeValue reads the Age header: the first member of the first line
// (RFC 9111 §5.1), delta-seconds; anything else is ignored.
func ccAgeValue(h *http.ResponseHeaders) time.Duration {
	lines := h.Values("Age")
	if len(lines) == 0 {
		return 0
	}
	first, _, _ := strings.Cut(lines[0], ",")
	age, _ := ccDeltaSeconds(ccTrimLWS(first))
	return age
}

// ccAddClamped returns a+b, saturating at the largest Duration. a is never
// negative here, so only the top can overflow.
func ccAddClamped(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// RequiresValidation combines Chromium's header-based RequiresValidation
// with the request's directives, RFC 9111 §5.2.1, in this order:
//
//   - request no-cache: synchronous;
//   - request max-age exceeded by the age: synchronous;
//   - request min-fresh not met (freshness − age < min-fresh): synchronous;
//   - fresh (freshness > age): none;
//   - stale by no more than request max-stale (any staleness for a bare
//     max-stale), unless the response says must-revalidate, no-cache or
//     no-store: none;
//   - stale within stale-while-revalidate: asynchronous;
//   - otherwise synchronous.
//
// Load flags (LOAD_VALIDATE_CACHE, LOAD_SKIP_CACHE_VALIDATION), Vary and
// the method are the transaction's to apply before this.
func RequiresValidation(h *http.ResponseHeaders, d RequestDirectives, requestTime, responseTime, now time.Time) Validation {
	if d.NoCache {
		return ValidationSynchronous
	}
	freshness, staleness := Lifetimes(h, responseTime)
	age := CurrentAge(h, requestTime, responseTime, now)
	switch {
	case d.HasMaxAge && age > d.MaxAge:
		return ValidationSynchronous
	case d.HasMinFresh && freshness-age < d.MinFresh: // age >= 0: no overflow
		return ValidationSynchronous
	case freshness > age:
		return ValidationNone
	case ccStaleAllowed(h, d, age-freshness):
		return ValidationNone
	case ccAddClamped(freshness, staleness) > age:
		return ValidationAsynchronous
	}
	return ValidationSynchronous
}

// ccStaleAllowed reports whether the request's max-stale covers a response
// stale by stale. must-revalidate, no-cache and no-store forbid serving
// stale whatever the client accepts (RFC 9111 §4.2.4).
func ccStaleAllowed(h *http.ResponseHeaders, d RequestDirectives, stale time.Duration) bool {
	if !d.MaxStaleAny && !(d.HasMaxStale && stale <= d.MaxStale) {
		return false
	}
	return !ccNeverFresh(h) && !h.HasHeaderValue("Cache-Control", "must-revalidate")
}

// ccHeuristicallyCacheable lists the status codes RFC 9110 §15.1 defines
// as heuristically cacheable, without 206: a partial body must never be
// served as the whole.
func ccHeuristicallyCacheable(code int) bool {
	switch code {
	case 200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// IsStorable says whether the response to a request may be stored by this
// private cache (RFC 9111 §3). It may not when:
//
//   - the method is not GET;
//   - the request or the response says Cache-Control: no-store;
//   - the status is 206 (a partial body must not be served as whole), 304
//     or informational;
//   - the response has Vary: * (it can never match a later request);
//   - the status is not heuristically cacheable (200, 203, 204, 300, 301,
//     308, 404, 405, 410, 414, 501) and nothing explicitly allows storing
//     it: max-age, Expires, or public or private (we are a private cache,
//     so private allows it, as RFC 9111 §3 says);
//   - it would be of no use: no freshness, no stale-while-revalidate and
//     no validator ConditionalHeaders could send.
func IsStorable(method string, reqDirectives RequestDirectives, h *http.ResponseHeaders) bool {
	if method != "GET" || reqDirectives.NoStore {
		return false
	}
	code := h.StatusCode()
	if code < 200 || code == 206 || code == 304 {
		return false
	}
	if h.HasHeaderValue("Cache-Control", "no-store") {
		return false
	}
	if _, ok := varyNames(h); !ok {
		return false
	}
	dirs := ccDirectives(h.Values("Cache-Control"))
	explicit := h.Has("Expires") || ccHasDirective(dirs, "max-age") ||
		ccHasDirective(dirs, "public") || ccHasDirective(dirs, "private")
	if !ccHeuristicallyCacheable(code) && !explicit {
		return false
	}
	if _, _, ok := ConditionalHeaders(h); ok {
		return true
	}
	// Without Date the clock is needed to know whether Expires is still
	// ahead; the zero time puts every readable Expires in the future, so
	// such a response is kept and judged when it is used.
	date, _ := ccHeaderDate(h, "Date")
	freshness, staleness := Lifetimes(h, date)
	return freshness > 0 || staleness > 0
}

// ConditionalHeaders returns the validators for revalidating a stored
// response, as Chromium's ConditionalizeRequest: If-None-Match from the
// first ETag (kept as is, weak or strong; only when the stored response is
// HTTP/1.1 or later, since HTTP/1.0 servers' ETags are not trusted), and
// If-Modified-Since from the first Last-Modified, sent verbatim. ok is false
// when there is nothing to send: no validators, or a stored status other
// than 200 or 203.
func ConditionalHeaders(stored *http.ResponseHeaders) (ifNoneMatch, ifModifiedSince string, ok bool) {
	if code := stored.StatusCode(); code != 200 && code != 203 {
		return "", "", false
	}
	if major, minor := stored.Version(); major > 1 || (major == 1 && minor >= 1) {
		if etags := stored.Values("ETag"); len(etags) > 0 {
			if els := ccSplitList(etags[0]); len(els) > 0 {
				ifNoneMatch = els[0]
			}
		}
	}
	if lms := stored.Values("Last-Modified"); len(lms) > 0 {
		ifModifiedSince = lms[0]
	}
	return ifNoneMatch, ifModifiedSince, ifNoneMatch != "" || ifModifiedSince != ""
}

// ccDateLayouts are the forms of Date, Expires and Last-Modified accepted:
// RFC 9110's IMF-fixdate, the obsolete RFC 850 and asctime forms, then
// variants servers are known to send (numeric zone, one-digit day, dashes,
// no weekday). Chromium's parser is laxer still. A zone name other than
// GMT or UTC is read as GMT, as Chromium and Firefox do.
var ccDateLayouts = [...]string{
	time.RFC1123,
	time.RFC850,
	time.ANSIC,
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 02-Jan-2006 15:04:05 MST",
	"02 Jan 2006 15:04:05 MST",
}

// ccHeaderDate parses the first line of the date header name, in UTC; the
// zero time and false when it is absent or unreadable.
func ccHeaderDate(h *http.ResponseHeaders, name string) (time.Time, bool) {
	lines := h.Values(name)
	if len(lines) == 0 {
		return time.Time{}, false
	}
	v := ccTrimLWS(lines[0])
	for _, layout := range ccDateLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
