package cache

import (
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/http"
)

// ruleT0 is the fixed "now" of these tests: when the response arrived.
var ruleT0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// ruleDate formats t as an IMF-fixdate.
func ruleDate(t time.Time) string { return t.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT") }

// ruleResp parses a status line and header lines.
func ruleResp(t testing.TB, status string, lines ...string) *http.ResponseHeaders {
	t.Helper()
	raw := status + "\r\n" + strings.Join(lines, "\r\n") + "\r\n\r\n"
	h, err := http.ParseResponseHeaders([]byte(raw))
	if err != nil {
		t.Fatalf("ParseResponseHeaders(%q): %v", raw, err)
	}
	return h
}

func TestLifetimes(t *testing.T) {
	date := "Date: " + ruleDate(ruleT0)
	at := func(d time.Duration) string { return ruleDate(ruleT0.Add(d)) }
	const maxDelta = time.Duration(1<<31) * time.Second
	tests := []struct {
		name         string
		status       string
		lines        []string
		responseTime time.Time
		freshness    time.Duration
		staleness    time.Duration
	}{
		// max-age and Expires.
		{"max-age", "HTTP/1.1 200 OK", []string{date, "Cache-Control: max-age=100"}, ruleT0, 100 * time.Second, 0},
		{"max-age beats past Expires", "HTTP/1.1 200 OK", []string{date, "Cache-Control: max-age=100", "Expires: " + at(-time.Hour)}, ruleT0, 100 * time.Second, 0},
		{"max-age=0 beats future Expires", "HTTP/1.1 200 OK", []string{date, "Cache-Control: max-age=0", "Expires: " + at(time.Hour)}, ruleT0, 0, 0},
		{"max-age case-insensitive", "HTTP/1.1 200 OK", []string{"Cache-Control: Max-Age=5"}, ruleT0, 5 * time.Second, 0},
		{"max-age quoted", "HTTP/1.1 200 OK", []string{`Cache-Control: max-age="120"`}, ruleT0, 120 * time.Second, 0},
		{"max-age on a second line", "HTTP/1.1 200 OK", []string{"Cache-Control: public", "Cache-Control: max-age=5"}, ruleT0, 5 * time.Second, 0},
		{"max-age huge saturates", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=99999999999999"}, ruleT0, maxDelta, 0},
		{"malformed max-age ignored for Expires", "HTTP/1.1 200 OK", []string{date, "Cache-Control: max-age=soon", "Expires: " + at(time.Hour)}, ruleT0, time.Hour, 0},
		{"first good max-age", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=-1, max-age=7, max-age=9"}, ruleT0, 7 * time.Second, 0},
		{"s-maxage ignored", "HTTP/1.1 200 OK", []string{date, "Cache-Control: s-maxage=100"}, ruleT0, 0, 0},
		{"s-maxage ignored beside max-age", "HTTP/1.1 200 OK", []string{date, "Cache-Control: s-maxage=100, max-age=10"}, ruleT0, 10 * time.Second, 0},
		{"Expires relative to Date", "HTTP/1.1 200 OK", []string{"Date: " + at(-time.Hour), "Expires: " + at(time.Hour)}, ruleT0, 2 * time.Hour, 0},
		{"Expires without Date uses response time", "HTTP/1.1 200 OK", []string{"Expires: " + at(30*time.Minute)}, ruleT0, 30 * time.Minute, 0},
		{"Expires with bad Date uses response time", "HTTP/1.1 200 OK", []string{"Date: yesterday", "Expires: " + at(30*time.Minute)}, ruleT0, 30 * time.Minute, 0},
		{"Expires in the past", "HTTP/1.1 200 OK", []string{date, "Expires: " + at(-time.Minute)}, ruleT0, 0, 0},
		{"Expires equal to Date", "HTTP/1.1 200 OK", []string{date, "Expires: " + at(0)}, ruleT0, 0, 0},
		{"Expires 0 is expired, no heuristic", "HTTP/1.1 200 OK", []string{date, "Expires: 0", "Last-Modified: " + at(-10*time.Hour)}, ruleT0, 0, 0},
		{"invalid Expires is expired", "HTTP/1.1 200 OK", []string{date, "Expires: next tuesday", "Last-Modified: " + at(-10*time.Hour)}, ruleT0, 0, 0},
		{"invalid Expires on 301 is expired", "HTTP/1.1 301 Moved", []string{"Expires: -1"}, ruleT0, 0, 0},
		{"Expires RFC 850", "HTTP/1.1 200 OK", []string{date, "Expires: " + ruleT0.Add(time.Hour).Format(time.RFC850)}, ruleT0, time.Hour, 0},
		{"Expires asctime", "HTTP/1.1 200 OK", []string{date, "Expires: " + ruleT0.Add(time.Hour).Format(time.ANSIC)}, ruleT0, time.Hour, 0},
		{"Expires numeric zone", "HTTP/1.1 200 OK", []string{date, "Expires: " + ruleT0.Add(time.Hour).In(time.FixedZone("", 2*3600)).Format(time.RFC1123Z)}, ruleT0, time.Hour, 0},
		{"Expires far future saturates", "HTTP/1.1 200 OK", []string{date, "Expires: Fri, 31 Dec 9999 23:59:59 GMT"}, ruleT0, ccForever, 0},

		// The heuristic.
		{"heuristic 200", "HTTP/1.1 200 OK", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, time.Hour, 0},
		{"heuristic 203", "HTTP/1.1 203 Non-Authoritative", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, time.Hour, 0},
		{"heuristic 206", "HTTP/1.1 206 Partial", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, time.Hour, 0},
		{"heuristic without Date uses response time", "HTTP/1.1 200 OK", []string{"Last-Modified: " + at(-10*time.Hour)}, ruleT0, time.Hour, 0},
		{"no Last-Modified, no heuristic", "HTTP/1.1 200 OK", []string{date}, ruleT0, 0, 0},
		{"bad Last-Modified, no heuristic", "HTTP/1.1 200 OK", []string{date, "Last-Modified: long ago"}, ruleT0, 0, 0},
		{"Last-Modified equal to Date", "HTTP/1.1 200 OK", []string{date, "Last-Modified: " + at(0)}, ruleT0, 0, 0},
		{"Last-Modified after Date", "HTTP/1.1 200 OK", []string{date, "Last-Modified: " + at(time.Hour)}, ruleT0, 0, 0},
		{"must-revalidate stops the heuristic", "HTTP/1.1 200 OK", []string{date, "Last-Modified: " + at(-10*time.Hour), "Cache-Control: must-revalidate"}, ruleT0, 0, 0},
		{"no heuristic for 404", "HTTP/1.1 404 Not Found", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, 0, 0},
		{"no heuristic for 302", "HTTP/1.1 302 Found", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, 0, 0},
		{"no heuristic for 204", "HTTP/1.1 204 No Content", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, 0, 0},

		// Fresh forever.
		{"300 forever", "HTTP/1.1 300 Multiple Choices", []string{date}, ruleT0, ccForever, 0},
		{"301 forever", "HTTP/1.1 301 Moved Permanently", []string{date}, ruleT0, ccForever, 0},
		{"308 forever", "HTTP/1.1 308 Permanent Redirect", []string{date}, ruleT0, ccForever, 0},
		{"410 forever", "HTTP/1.1 410 Gone", []string{date}, ruleT0, ccForever, 0},
		{"301 forever is never stale", "HTTP/1.1 301 Moved Permanently", []string{"Cache-Control: stale-while-revalidate=60"}, ruleT0, ccForever, 0},
		{"301 max-age wins", "HTTP/1.1 301 Moved Permanently", []string{"Cache-Control: max-age=10"}, ruleT0, 10 * time.Second, 0},
		{"301 past Expires wins", "HTTP/1.1 301 Moved Permanently", []string{date, "Expires: " + at(-time.Hour)}, ruleT0, 0, 0},
		{"301 no-cache", "HTTP/1.1 301 Moved Permanently", []string{"Cache-Control: no-cache"}, ruleT0, 0, 0},
		{"301 with Last-Modified still forever", "HTTP/1.1 301 Moved Permanently", []string{date, "Last-Modified: " + at(-10*time.Hour)}, ruleT0, ccForever, 0},
		{"302 not forever", "HTTP/1.1 302 Found", []string{date}, ruleT0, 0, 0},
		{"307 not forever", "HTTP/1.1 307 Temporary Redirect", []string{date}, ruleT0, 0, 0},

		// Directives that make a response stale from the start.
		{"no-cache beats max-age", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=100, no-cache"}, ruleT0, 0, 0},
		{"no-store beats max-age", "HTTP/1.1 200 OK", []string{"Cache-Control: no-store, max-age=100"}, ruleT0, 0, 0},
		{"no-cache kills stale-while-revalidate", "HTTP/1.1 200 OK", []string{"Cache-Control: no-cache, stale-while-revalidate=60"}, ruleT0, 0, 0},
		{"pragma no-cache beats max-age", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=100", "Pragma: no-cache"}, ruleT0, 0, 0},
		{"pragma no-cache in a list", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=100", "Pragma: foo, No-Cache"}, ruleT0, 0, 0},
		{"other pragma ignored", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=100", "Pragma: foo"}, ruleT0, 100 * time.Second, 0},
		{"qualified no-cache does not count", "HTTP/1.1 200 OK", []string{`Cache-Control: no-cache="Set-Cookie", max-age=100`}, ruleT0, 100 * time.Second, 0},

		// stale-while-revalidate.
		{"stale-while-revalidate", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60, stale-while-revalidate=30"}, ruleT0, time.Minute, 30 * time.Second},
		{"stale-while-revalidate alone", "HTTP/1.1 200 OK", []string{date, "Cache-Control: stale-while-revalidate=30"}, ruleT0, 0, 30 * time.Second},
		{"stale-while-revalidate with Expires", "HTTP/1.1 200 OK", []string{date, "Expires: " + at(time.Hour), "Cache-Control: stale-while-revalidate=30"}, ruleT0, time.Hour, 30 * time.Second},
		{"stale-while-revalidate with heuristic", "HTTP/1.1 200 OK", []string{date, "Last-Modified: " + at(-10*time.Hour), "Cache-Control: stale-while-revalidate=30"}, ruleT0, time.Hour, 30 * time.Second},
		{"stale-while-revalidate on 404", "HTTP/1.1 404 Not Found", []string{"Cache-Control: stale-while-revalidate=30"}, ruleT0, 0, 30 * time.Second},
		{"must-revalidate kills stale-while-revalidate", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60, stale-while-revalidate=30, must-revalidate"}, ruleT0, time.Minute, 0},
		{"malformed stale-while-revalidate", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60, stale-while-revalidate"}, ruleT0, time.Minute, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ruleResp(t, tt.status, tt.lines...)
			f, s := Lifetimes(h, tt.responseTime)
			if f != tt.freshness || s != tt.staleness {
				t.Errorf("Lifetimes = (%v, %v), want (%v, %v)", f, s, tt.freshness, tt.staleness)
			}
		})
	}
}

func TestCurrentAge(t *testing.T) {
	const maxDelta = time.Duration(1<<31) * time.Second
	at := func(d time.Duration) time.Time { return ruleT0.Add(d) }
	tests := []struct {
		name                   string
		lines                  []string
		request, response, now time.Time
		want                   time.Duration
	}{
		{"just received, no Date", nil, ruleT0, ruleT0, ruleT0, 0},
		{"resident time", nil, ruleT0, ruleT0, at(10 * time.Second), 10 * time.Second},
		{"response delay", nil, at(-2 * time.Second), ruleT0, ruleT0, 2 * time.Second},
		{"delay and resident time", nil, at(-2 * time.Second), ruleT0, at(10 * time.Second), 12 * time.Second},
		{"apparent age from Date", []string{"Date: " + ruleDate(at(-100*time.Second))}, ruleT0, ruleT0, ruleT0, 100 * time.Second},
		{"apparent age plus resident", []string{"Date: " + ruleDate(at(-100*time.Second))}, ruleT0, ruleT0, at(5 * time.Second), 105 * time.Second},
		{"Date in the future", []string{"Date: " + ruleDate(at(time.Hour))}, ruleT0, ruleT0, ruleT0, 0},
		{"bad Date is the response time", []string{"Date: soon"}, ruleT0, ruleT0, at(time.Second), time.Second},
		{"Age corrected by delay", []string{"Age: 50"}, at(-2 * time.Second), ruleT0, ruleT0, 52 * time.Second},
		{"Age beats apparent age", []string{"Age: 500", "Date: " + ruleDate(at(-100*time.Second))}, ruleT0, ruleT0, ruleT0, 500 * time.Second},
		{"apparent age beats Age", []string{"Age: 50", "Date: " + ruleDate(at(-100*time.Second))}, at(-2 * time.Second), ruleT0, ruleT0, 100 * time.Second},
		{"Age plus resident", []string{"Age: 50"}, ruleT0, ruleT0, at(10 * time.Second), 60 * time.Second},
		{"Age list uses first", []string{"Age: 10, 20"}, ruleT0, ruleT0, ruleT0, 10 * time.Second},
		{"Age repeated uses first", []string{"Age: 10", "Age: 20"}, ruleT0, ruleT0, ruleT0, 10 * time.Second},
		{"Age not a number", []string{"Age: old"}, ruleT0, ruleT0, ruleT0, 0},
		{"Age negative", []string{"Age: -5"}, ruleT0, ruleT0, ruleT0, 0},
		{"Age huge saturates", []string{"Age: 999999999999999"}, ruleT0, ruleT0, ruleT0, maxDelta},
		{"clock stepped back", nil, ruleT0, ruleT0, at(-time.Hour), 0},
		{"ancient Date saturates", []string{"Date: Mon, 01 Jan 0001 00:00:00 GMT"}, ruleT0, ruleT0, at(time.Hour), ccForever},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ruleResp(t, "HTTP/1.1 200 OK", tt.lines...)
			if got := CurrentAge(h, tt.request, tt.response, tt.now); got != tt.want {
				t.Errorf("CurrentAge = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRequiresValidation(t *testing.T) {
	const (
		none  = ValidationNone
		async = ValidationAsynchronous
		sync  = ValidationSynchronous
	)
	date := "Date: " + ruleDate(ruleT0)
	sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
	maxAge100 := []string{date, "Cache-Control: max-age=100"}
	tests := []struct {
		name   string
		status string
		lines  []string
		d      RequestDirectives
		age    time.Duration // resident time: now - response time
		want   Validation
	}{
		// Headers alone.
		{"fresh", "", maxAge100, RequestDirectives{}, sec(50), none},
		{"just stale", "", maxAge100, RequestDirectives{}, sec(100), sync},
		{"stale", "", maxAge100, RequestDirectives{}, sec(150), sync},
		{"no lifetime", "", []string{date}, RequestDirectives{}, 0, sync},
		{"no lifetime, clock stepped back", "", []string{date}, RequestDirectives{}, -time.Hour, sync},
		{"response no-cache", "", []string{date, "Cache-Control: no-cache, max-age=100"}, RequestDirectives{}, 0, sync},
		{"response pragma no-cache", "", []string{date, "Cache-Control: max-age=100", "Pragma: no-cache"}, RequestDirectives{}, 0, sync},
		{"Age header makes it stale", "", []string{date, "Cache-Control: max-age=100", "Age: 90"}, RequestDirectives{}, sec(20), sync},
		{"forever", "HTTP/1.1 301 Moved", []string{date}, RequestDirectives{}, 1000 * time.Hour, none},
		{"heuristic fresh", "", []string{date, "Last-Modified: " + ruleDate(ruleT0.Add(-10*time.Hour))}, RequestDirectives{}, 59 * time.Minute, none},
		{"heuristic stale", "", []string{date, "Last-Modified: " + ruleDate(ruleT0.Add(-10*time.Hour))}, RequestDirectives{}, time.Hour, sync},

		// stale-while-revalidate windows.
		{"swr: fresh", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{}, sec(99), none},
		{"swr: window opens", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{}, sec(100), async},
		{"swr: inside", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{}, sec(159), async},
		{"swr: window closes", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{}, sec(160), sync},
		{"swr without freshness", "", []string{date, "Cache-Control: stale-while-revalidate=60"}, RequestDirectives{}, sec(30), async},
		{"swr with must-revalidate", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60, must-revalidate"}, RequestDirectives{}, sec(120), sync},
		{"swr with no-cache", "", []string{date, "Cache-Control: no-cache, stale-while-revalidate=60"}, RequestDirectives{}, 0, sync},

		// Request no-cache.
		{"request no-cache on fresh", "", maxAge100, RequestDirectives{NoCache: true}, 0, sync},
		{"request no-cache on forever", "HTTP/1.1 301 Moved", []string{date}, RequestDirectives{NoCache: true}, 0, sync},

		// Request max-age.
		{"request max-age exceeded", "", maxAge100, RequestDirectives{MaxAge: sec(30), HasMaxAge: true}, sec(50), sync},
		{"request max-age met", "", maxAge100, RequestDirectives{MaxAge: sec(60), HasMaxAge: true}, sec(50), none},
		{"request max-age equal", "", maxAge100, RequestDirectives{MaxAge: sec(50), HasMaxAge: true}, sec(50), none},
		{"request max-age=0 on brand new", "", maxAge100, RequestDirectives{HasMaxAge: true}, 0, none},
		{"request max-age on forever", "HTTP/1.1 301 Moved", []string{date}, RequestDirectives{MaxAge: sec(60), HasMaxAge: true}, sec(61), sync},
		{"request max-age beats swr", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{MaxAge: sec(110), HasMaxAge: true}, sec(120), sync},
		{"request max-age with max-stale", "", maxAge100, RequestDirectives{MaxAge: sec(200), HasMaxAge: true, MaxStaleAny: true}, sec(150), none},

		// Request min-fresh.
		{"min-fresh not met", "", maxAge100, RequestDirectives{MinFresh: sec(60), HasMinFresh: true}, sec(50), sync},
		{"min-fresh met exactly", "", maxAge100, RequestDirectives{MinFresh: sec(50), HasMinFresh: true}, sec(50), none},
		{"min-fresh on forever", "HTTP/1.1 410 Gone", []string{date}, RequestDirectives{MinFresh: sec(1 << 30), HasMinFresh: true}, 1000 * time.Hour, none},
		{"min-fresh beats max-stale", "", maxAge100, RequestDirectives{MinFresh: sec(10), HasMinFresh: true, MaxStaleAny: true}, sec(95), sync},

		// Request max-stale.
		{"max-stale covers", "", maxAge100, RequestDirectives{MaxStale: sec(30), HasMaxStale: true}, sec(120), none},
		{"max-stale boundary", "", maxAge100, RequestDirectives{MaxStale: sec(30), HasMaxStale: true}, sec(130), none},
		{"max-stale exceeded", "", maxAge100, RequestDirectives{MaxStale: sec(30), HasMaxStale: true}, sec(131), sync},
		{"max-stale any", "", maxAge100, RequestDirectives{MaxStaleAny: true}, 1000 * time.Hour, none},
		{"max-stale without lifetime", "", []string{date}, RequestDirectives{MaxStale: sec(30), HasMaxStale: true}, sec(10), none},
		{"max-stale vs must-revalidate", "", []string{date, "Cache-Control: max-age=100, must-revalidate"}, RequestDirectives{MaxStaleAny: true}, sec(120), sync},
		{"max-stale vs response no-cache", "", []string{date, "Cache-Control: no-cache"}, RequestDirectives{MaxStaleAny: true}, 0, sync},
		{"max-stale vs response no-store", "", []string{date, "Cache-Control: no-store"}, RequestDirectives{MaxStaleAny: true}, 0, sync},
		{"max-stale vs pragma no-cache", "", []string{date, "Pragma: no-cache"}, RequestDirectives{MaxStaleAny: true}, 0, sync},
		{"max-stale exceeded, swr covers", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{MaxStale: sec(10), HasMaxStale: true}, sec(130), async},
		{"max-stale covers before swr", "", []string{date, "Cache-Control: max-age=100, stale-while-revalidate=60"}, RequestDirectives{MaxStale: sec(40), HasMaxStale: true}, sec(130), none},

		// only-if-cached changes nothing here (it is a load flag).
		{"only-if-cached fresh", "", maxAge100, RequestDirectives{OnlyIfCached: true}, sec(50), none},
		{"only-if-cached stale", "", maxAge100, RequestDirectives{OnlyIfCached: true}, sec(150), sync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := tt.status
			if status == "" {
				status = "HTTP/1.1 200 OK"
			}
			h := ruleResp(t, status, tt.lines...)
			got := RequiresValidation(h, tt.d, ruleT0, ruleT0, ruleT0.Add(tt.age))
			if got != tt.want {
				t.Errorf("RequiresValidation = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidationString(t *testing.T) {
	for v, want := range map[Validation]string{
		ValidationNone:         "none",
		ValidationAsynchronous: "asynchronous",
		ValidationSynchronous:  "synchronous",
		Validation(7):          "Validation(7)",
	} {
		if got := v.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(v), got, want)
		}
	}
}

func TestIsStorable(t *testing.T) {
	date := "Date: " + ruleDate(ruleT0)
	past := ruleDate(ruleT0.Add(-time.Hour))
	future := ruleDate(ruleT0.Add(time.Hour))
	tests := []struct {
		name   string
		method string
		d      RequestDirectives
		status string
		lines  []string
		want   bool
	}{
		{"200 max-age", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60"}, true},
		{"POST", "POST", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60"}, false},
		{"HEAD", "HEAD", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60"}, false},
		{"lower-case method", "get", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60"}, false},
		{"206", "GET", RequestDirectives{}, "HTTP/1.1 206 Partial Content", []string{"Cache-Control: max-age=60", `ETag: "x"`}, false},
		{"304", "GET", RequestDirectives{}, "HTTP/1.1 304 Not Modified", []string{"Cache-Control: max-age=60"}, false},
		{"1xx", "GET", RequestDirectives{}, "HTTP/1.1 103 Early Hints", []string{"Cache-Control: max-age=60"}, false},
		{"response no-store", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60, no-store"}, false},
		{"response no-store on its own line", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60", "cache-control: NO-STORE"}, false},
		{"request no-store", "GET", RequestDirectives{NoStore: true}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60"}, false},
		{"Vary: *", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60", "Vary: *"}, false},
		{"Vary with * in a list", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60", "Vary: Accept, *"}, false},
		{"Vary on a header", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60", "Vary: Accept-Encoding"}, true},
		{"no validators, no freshness", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{date}, false},
		{"no-cache without validators", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: no-cache, max-age=60"}, false},
		{"no-cache with ETag", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: no-cache", `ETag: "x"`}, true},
		{"ETag only", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{`ETag: "x"`}, true},
		{"ETag only from HTTP/1.0", "GET", RequestDirectives{}, "HTTP/1.0 200 OK", []string{`ETag: "x"`}, false},
		{"Last-Modified only", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Last-Modified: " + past}, true},
		{"203 Last-Modified", "GET", RequestDirectives{}, "HTTP/1.1 203 Non-Authoritative", []string{"Last-Modified: " + past}, true},
		{"stale-while-revalidate only", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: stale-while-revalidate=60"}, true},
		{"max-age=0 only", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=0"}, false},
		{"future Expires", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{date, "Expires: " + future}, true},
		{"past Expires", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{date, "Expires: " + past}, false},
		{"invalid Expires", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{date, "Expires: 0"}, false},
		{"Expires without Date is judged on use", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Expires: " + past}, true},
		{"s-maxage is not freshness", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: s-maxage=60"}, false},
		{"private with validator", "GET", RequestDirectives{}, "HTTP/1.1 200 OK", []string{"Cache-Control: private", `ETag: "x"`}, true},
		{"204 max-age", "GET", RequestDirectives{}, "HTTP/1.1 204 No Content", []string{"Cache-Control: max-age=60"}, true},
		{"404 max-age", "GET", RequestDirectives{}, "HTTP/1.1 404 Not Found", []string{"Cache-Control: max-age=60"}, true},
		{"404 validators only", "GET", RequestDirectives{}, "HTTP/1.1 404 Not Found", []string{`ETag: "x"`, "Last-Modified: " + past}, false},
		{"405, 414, 501 with max-age", "GET", RequestDirectives{}, "HTTP/1.1 501 Not Implemented", []string{"Cache-Control: max-age=60"}, true},
		{"301 forever", "GET", RequestDirectives{}, "HTTP/1.1 301 Moved", []string{"Location: /x"}, true},
		{"410 forever", "GET", RequestDirectives{}, "HTTP/1.1 410 Gone", nil, true},
		{"302 without explicit", "GET", RequestDirectives{}, "HTTP/1.1 302 Found", []string{"Location: /x"}, false},
		{"302 max-age", "GET", RequestDirectives{}, "HTTP/1.1 302 Found", []string{"Location: /x", "Cache-Control: max-age=60"}, true},
		{"307 future Expires", "GET", RequestDirectives{}, "HTTP/1.1 307 Temporary", []string{date, "Expires: " + future}, true},
		{"302 private but no use", "GET", RequestDirectives{}, "HTTP/1.1 302 Found", []string{"Cache-Control: private"}, false},
		{"302 public with swr", "GET", RequestDirectives{}, "HTTP/1.1 302 Found", []string{"Cache-Control: public, stale-while-revalidate=60"}, true},
		{"302 private=Set-Cookie with swr", "GET", RequestDirectives{}, "HTTP/1.1 302 Found", []string{`Cache-Control: private="Set-Cookie", stale-while-revalidate=60`}, true},
		{"500 without explicit", "GET", RequestDirectives{}, "HTTP/1.1 500 Oops", []string{"Cache-Control: stale-while-revalidate=60"}, false},
		{"500 max-age", "GET", RequestDirectives{}, "HTTP/1.1 500 Oops", []string{"Cache-Control: max-age=60"}, true},
		{"request no-cache does not stop storing", "GET", RequestDirectives{NoCache: true}, "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=60"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ruleResp(t, tt.status, tt.lines...)
			if got := IsStorable(tt.method, tt.d, h); got != tt.want {
				t.Errorf("IsStorable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditionalHeaders(t *testing.T) {
	lm := "Sat, 01 Jan 2000 00:00:00 GMT"
	tests := []struct {
		name     string
		status   string
		lines    []string
		inm, ims string
		ok       bool
	}{
		{"strong ETag", "HTTP/1.1 200 OK", []string{`ETag: "abc"`}, `"abc"`, "", true},
		{"weak ETag kept as is", "HTTP/1.1 200 OK", []string{`ETag: W/"abc"`}, `W/"abc"`, "", true},
		{"first ETag of a list", "HTTP/1.1 200 OK", []string{`ETag: "a,b", "c"`}, `"a,b"`, "", true},
		{"first ETag line", "HTTP/1.1 200 OK", []string{`ETag: "a"`, `ETag: "b"`}, `"a"`, "", true},
		{"Last-Modified verbatim", "HTTP/1.1 200 OK", []string{"Last-Modified: " + lm}, "", lm, true},
		{"unparseable Last-Modified still sent", "HTTP/1.1 200 OK", []string{"Last-Modified: yesterday"}, "", "yesterday", true},
		{"both", "HTTP/1.1 200 OK", []string{`ETag: "abc"`, "Last-Modified: " + lm}, `"abc"`, lm, true},
		{"203", "HTTP/1.1 203 Non-Authoritative", []string{`ETag: "abc"`}, `"abc"`, "", true},
		{"HTTP/2", "HTTP/2.0 200", []string{`ETag: "abc"`}, `"abc"`, "", true},
		{"HTTP/1.0 ETag ignored", "HTTP/1.0 200 OK", []string{`ETag: "abc"`}, "", "", false},
		{"HTTP/1.0 Last-Modified used", "HTTP/1.0 200 OK", []string{`ETag: "abc"`, "Last-Modified: " + lm}, "", lm, true},
		{"404", "HTTP/1.1 404 Not Found", []string{`ETag: "abc"`, "Last-Modified: " + lm}, "", "", false},
		{"206", "HTTP/1.1 206 Partial", []string{`ETag: "abc"`}, "", "", false},
		{"301", "HTTP/1.1 301 Moved", []string{`ETag: "abc"`}, "", "", false},
		{"no validators", "HTTP/1.1 200 OK", []string{"Cache-Control: max-age=5"}, "", "", false},
		{"empty ETag", "HTTP/1.1 200 OK", []string{"ETag:"}, "", "", false},
		{"empty Last-Modified", "HTTP/1.1 200 OK", []string{"Last-Modified:"}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := ruleResp(t, tt.status, tt.lines...)
			inm, ims, ok := ConditionalHeaders(h)
			if inm != tt.inm || ims != tt.ims || ok != tt.ok {
				t.Errorf("ConditionalHeaders = (%q, %q, %v), want (%q, %q, %v)", inm, ims, ok, tt.inm, tt.ims, tt.ok)
			}
		})
	}
}

func TestHeaderDateForms(t *testing.T) {
	want := time.Date(1994, 11, 6, 8, 49, 37, 0, time.UTC)
	for _, v := range []string{
		"Sun, 06 Nov 1994 08:49:37 GMT",  // IMF-fixdate
		"Sunday, 06-Nov-94 08:49:37 GMT", // RFC 850
		"Sun Nov  6 08:49:37 1994",       // asctime
		"Sun, 06 Nov 1994 09:49:37 +0100",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06-Nov-1994 08:49:37 GMT",
		"06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"  Sun, 06 Nov 1994 08:49:37 GMT  ",
		"Mon, 06 Nov 1994 08:49:37 GMT", // wrong weekday: ignored
	} {
		h := ruleResp(t, "HTTP/1.1 200 OK", "Date: "+v)
		got, ok := ccHeaderDate(h, "Date")
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ccHeaderDate(%q) = %v, %v; want %v", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "0", "-1", "1994-11-06T08:49:37Z", "Sun, 06 Nov 1994", "tomorrow"} {
		h := ruleResp(t, "HTTP/1.1 200 OK", "Date: "+v)
		if got, ok := ccHeaderDate(h, "Date"); ok {
			t.Errorf("ccHeaderDate(%q) = %v, want failure", v, got)
		}
	}
}
