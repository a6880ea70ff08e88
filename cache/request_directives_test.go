package cache

import (
	"testing"
	"time"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
)

// ruleReq builds request headers from name, value pairs, keeping repeats.
func ruleReq(kv ...string) *http.RequestHeaders {
	h := &http.RequestHeaders{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestParseRequestDirectives(t *testing.T) {
	const maxDelta = time.Duration(1<<31) * time.Second
	tests := []struct {
		name string
		req  *http.RequestHeaders
		want RequestDirectives
	}{
		{"none", ruleReq(), RequestDirectives{}},
		{"unrelated headers", ruleReq("Accept", "*/*"), RequestDirectives{}},
		{"no-cache", ruleReq("Cache-Control", "no-cache"), RequestDirectives{NoCache: true}},
		{"case-insensitive", ruleReq("cache-control", "No-Cache"), RequestDirectives{NoCache: true}},
		{"no-store", ruleReq("Cache-Control", "no-store"), RequestDirectives{NoStore: true}},
		{"only-if-cached", ruleReq("Cache-Control", "only-if-cached"), RequestDirectives{OnlyIfCached: true}},
		{"max-age", ruleReq("Cache-Control", "max-age=60"), RequestDirectives{MaxAge: time.Minute, HasMaxAge: true}},
		{"max-age=0", ruleReq("Cache-Control", "max-age=0"), RequestDirectives{HasMaxAge: true}},
		{"max-age quoted", ruleReq("Cache-Control", `max-age="30"`), RequestDirectives{MaxAge: 30 * time.Second, HasMaxAge: true}},
		{"max-age spaced", ruleReq("Cache-Control", " max-age = 7 "), RequestDirectives{MaxAge: 7 * time.Second, HasMaxAge: true}},
		{"max-age huge saturates", ruleReq("Cache-Control", "max-age=99999999999999999999"), RequestDirectives{MaxAge: maxDelta, HasMaxAge: true}},
		{"max-age not a number", ruleReq("Cache-Control", "max-age=abc"), RequestDirectives{}},
		{"max-age negative", ruleReq("Cache-Control", "max-age=-1"), RequestDirectives{}},
		{"max-age fraction", ruleReq("Cache-Control", "max-age=1.5"), RequestDirectives{}},
		{"max-age plus sign", ruleReq("Cache-Control", "max-age=+5"), RequestDirectives{}},
		{"max-age empty", ruleReq("Cache-Control", "max-age="), RequestDirectives{}},
		{"max-age without value", ruleReq("Cache-Control", "max-age"), RequestDirectives{}},
		{"first good max-age wins", ruleReq("Cache-Control", "max-age=x, max-age=5, max-age=10"), RequestDirectives{MaxAge: 5 * time.Second, HasMaxAge: true}},
		{"max-stale without value", ruleReq("Cache-Control", "max-stale"), RequestDirectives{MaxStaleAny: true}},
		{"max-stale with value", ruleReq("Cache-Control", "max-stale=30"), RequestDirectives{MaxStale: 30 * time.Second, HasMaxStale: true}},
		{"max-stale bad value", ruleReq("Cache-Control", "max-stale=soon"), RequestDirectives{}},
		{"min-fresh", ruleReq("Cache-Control", "min-fresh=10"), RequestDirectives{MinFresh: 10 * time.Second, HasMinFresh: true}},
		{"min-fresh bad value", ruleReq("Cache-Control", "min-fresh=-10"), RequestDirectives{}},
		{"unknown directives", ruleReq("Cache-Control", "no-transform, foo=bar, ,"), RequestDirectives{}},
		{"several", ruleReq("Cache-Control", "no-cache, max-age=5, min-fresh=1, max-stale=2, only-if-cached, no-store"), RequestDirectives{
			NoCache: true, NoStore: true, OnlyIfCached: true,
			MaxAge: 5 * time.Second, HasMaxAge: true,
			MaxStale: 2 * time.Second, HasMaxStale: true,
			MinFresh: time.Second, HasMinFresh: true,
		}},
		{"several lines", ruleReq("Cache-Control", "no-cache", "Cache-Control", "max-age=5"), RequestDirectives{NoCache: true, MaxAge: 5 * time.Second, HasMaxAge: true}},
		{"quoted comma does not split", ruleReq("Cache-Control", `foo="a,no-cache"`), RequestDirectives{}},
		{"pragma alone", ruleReq("Pragma", "no-cache"), RequestDirectives{NoCache: true}},
		{"pragma in a list", ruleReq("Pragma", "x, NO-CACHE"), RequestDirectives{NoCache: true}},
		{"pragma other", ruleReq("Pragma", "x"), RequestDirectives{}},
		{"pragma ignored beside cache-control", ruleReq("Pragma", "no-cache", "Cache-Control", "max-age=5"), RequestDirectives{MaxAge: 5 * time.Second, HasMaxAge: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRequestDirectives(tt.req); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestImpliedLoadFlags(t *testing.T) {
	const (
		disable  = net.LoadDisableCache
		bypass   = net.LoadBypassCache
		validate = net.LoadValidateCache
		only     = net.LoadOnlyFromCache
	)
	tests := []struct {
		name   string
		method string
		req    *http.RequestHeaders
		want   net.LoadFlags
	}{
		{"nothing", "GET", ruleReq("Accept", "*/*"), 0},
		{"if-unmodified-since", "GET", ruleReq("If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"), disable},
		{"if-match", "GET", ruleReq("If-Match", `"x"`), disable},
		{"if-range", "GET", ruleReq("If-Range", `"x"`), disable},
		{"if-match empty still counts", "GET", ruleReq("if-match", ""), disable},
		{"no-cache", "GET", ruleReq("Cache-Control", "no-cache"), bypass},
		{"pragma no-cache", "GET", ruleReq("Pragma", "no-cache"), bypass},
		{"pragma no-cache beside cache-control", "GET", ruleReq("Cache-Control", "max-age=5", "Pragma", "no-cache"), bypass},
		{"max-age=0", "GET", ruleReq("Cache-Control", "max-age=0"), validate},
		{"max-age other", "GET", ruleReq("Cache-Control", "max-age=5"), 0},
		{"no-store", "GET", ruleReq("Cache-Control", "no-store"), disable},
		{"only-if-cached", "GET", ruleReq("Cache-Control", "only-if-cached"), only},
		{"only-if-cached with no-cache", "GET", ruleReq("Cache-Control", "only-if-cached, no-cache"), only | bypass},
		{"only-if-cached with no-store", "GET", ruleReq("Cache-Control", "only-if-cached, no-store"), only | disable},
		{"disable beats bypass", "GET", ruleReq("If-Match", `"x"`, "Cache-Control", "no-cache"), disable},
		{"bypass beats validate", "GET", ruleReq("Cache-Control", "max-age=0, no-cache"), bypass},
		{"validators alone", "GET", ruleReq("If-None-Match", `"x"`, "If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"), 0},
		{"empty if-none-match", "GET", ruleReq("If-None-Match", ""), disable},
		{"blank if-modified-since", "GET", ruleReq("If-Modified-Since", "  "), disable},
		{"range on GET", "GET", ruleReq("Range", "bytes=0-99"), 0},
		{"range open end", "GET", ruleReq("Range", "bytes=100-"), 0},
		{"range suffix", "GET", ruleReq("Range", "bytes=-100"), 0},
		{"range unit case and spaces", "GET", ruleReq("Range", " Bytes = 0 - 99 "), 0},
		{"range on POST", "POST", ruleReq("Range", "bytes=0-99"), disable},
		{"range on HEAD", "HEAD", ruleReq("Range", "bytes=0-99"), disable},
		{"range with if-none-match", "GET", ruleReq("Range", "bytes=0-99", "If-None-Match", `"x"`), disable},
		{"range with if-modified-since", "GET", ruleReq("Range", "bytes=0-99", "If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"), disable},
		{"multiple ranges", "GET", ruleReq("Range", "bytes=0-1,5-6"), disable},
		{"reversed range", "GET", ruleReq("Range", "bytes=5-1"), disable},
		{"empty suffix", "GET", ruleReq("Range", "bytes=-0"), disable},
		{"no dash", "GET", ruleReq("Range", "bytes=5"), disable},
		{"bad number", "GET", ruleReq("Range", "bytes=a-5"), disable},
		{"other unit", "GET", ruleReq("Range", "items=0-5"), disable},
		{"no unit", "GET", ruleReq("Range", "0-5"), disable},
		{"number too long", "GET", ruleReq("Range", "bytes=0-9999999999999999999999"), disable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ImpliedLoadFlags(tt.method, tt.req); got != tt.want {
				t.Errorf("ImpliedLoadFlags = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHasValidators(t *testing.T) {
	tests := []struct {
		name string
		req  *http.RequestHeaders
		want bool
	}{
		{"none", ruleReq("Accept", "*/*"), false},
		{"if-none-match", ruleReq("If-None-Match", `"x"`), true},
		{"if-modified-since", ruleReq("if-modified-since", "Sat, 01 Jan 2000 00:00:00 GMT"), true},
		{"if-match is not one", ruleReq("If-Match", `"x"`), false},
		{"if-range is not one", ruleReq("If-Range", `"x"`), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HasValidators(tt.req); got != tt.want {
				t.Errorf("HasValidators = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSplitListKeepsQuotedCommas(t *testing.T) {
	got := ccSplitList(` a , "b,c" ,, d="e\",f" ,`)
	want := []string{"a", `"b,c"`, `d="e\",f"`}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestUnquote(t *testing.T) {
	tests := map[string]string{
		`"5"`:     "5",
		`5`:       "5",
		`""`:      "",
		`"a\"b"`:  `a"b`,
		`"a\\b"`:  `a\b`,
		`"`:       `"`,
		`"abc`:    `"abc`,
		`"trail\`: `"trail\`,
	}
	for in, want := range tests {
		if got := ccUnquote(in); got != want {
			t.Errorf("ccUnquote(%q) = %q, want %q", in, got, want)
		}
	}
}
