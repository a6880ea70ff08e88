package cache

import (
	"reflect"
	"testing"

	"github.com/netfetch/netfetch/http"
)

func TestNewVaryData(t *testing.T) {
	tests := []struct {
		name   string
		lines  []string
		req    *http.RequestHeaders
		want   VaryData
		wantOK bool
	}{
		{"no Vary", nil, ruleReq("Accept", "*/*"), VaryData{}, true},
		{"empty Vary", []string{"Vary:"}, ruleReq("Accept", "*/*"), VaryData{}, true},
		{"only commas", []string{"Vary: , ,"}, ruleReq(), VaryData{}, true},
		{"star", []string{"Vary: *"}, ruleReq(), VaryData{}, false},
		{"star in a list", []string{"Vary: Accept, *"}, ruleReq(), VaryData{}, false},
		{"star on a second line", []string{"Vary: Accept", "Vary: *"}, ruleReq(), VaryData{}, false},
		{"one name", []string{"Vary: Accept-Encoding"}, ruleReq("Accept-Encoding", "gzip"),
			VaryData{Names: []string{"accept-encoding"}, Values: []string{"gzip"}}, true},
		{"names lower-cased, sorted, deduplicated", []string{"Vary: User-Agent, accept-encoding", "Vary: ACCEPT-ENCODING,Accept"},
			ruleReq("accept", "text/html", "ACCEPT-ENCODING", "br", "User-Agent", "ua"),
			VaryData{Names: []string{"accept", "accept-encoding", "user-agent"}, Values: []string{"text/html", "br", "ua"}}, true},
		{"absent request header", []string{"Vary: Accept-Language"}, ruleReq(),
			VaryData{Names: []string{"accept-language"}, Values: []string{""}}, true},
		{"repeated request header joined", []string{"Vary: Accept"}, ruleReq("Accept", "text/html", "X", "y", "accept", " */* "),
			VaryData{Names: []string{"accept"}, Values: []string{"text/html, */*"}}, true},
		{"request value trimmed", []string{"Vary: Accept"}, ruleReq("Accept", " \ttext/html\t "),
			VaryData{Names: []string{"accept"}, Values: []string{"text/html"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ruleResp(t, "HTTP/1.1 200 OK", tt.lines...)
			got, ok := NewVaryData(resp, tt.req)
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NewVaryData = %#v, %v; want %#v, %v", got, ok, tt.want, tt.wantOK)
			}
			if ok && got.IsEmpty() != (len(tt.want.Names) == 0) {
				t.Errorf("IsEmpty = %v", got.IsEmpty())
			}
		})
	}
}

func TestVaryDataMatches(t *testing.T) {
	stored := ruleReq("Accept-Encoding", "gzip", "Accept-Language", "en")
	tests := []struct {
		name  string
		vary  string
		other *http.RequestHeaders
		want  bool
	}{
		{"no Vary matches anything", "", ruleReq("Accept-Encoding", "br"), true},
		{"same value", "Accept-Encoding", ruleReq("Accept-Encoding", "gzip"), true},
		{"name case in request ignored", "Accept-Encoding", ruleReq("accept-encoding", "gzip"), true},
		{"different value", "Accept-Encoding", ruleReq("Accept-Encoding", "br"), false},
		{"value case matters", "Accept-Encoding", ruleReq("Accept-Encoding", "GZIP"), false},
		{"surrounding whitespace ignored", "Accept-Encoding", ruleReq("Accept-Encoding", "  gzip "), true},
		{"header now absent", "Accept-Encoding", ruleReq(), false},
		{"unlisted header differs", "Accept-Encoding", ruleReq("Accept-Encoding", "gzip", "Accept-Language", "fr"), true},
		{"two names, both same", "Accept-Language, Accept-Encoding", ruleReq("Accept-Language", "en", "Accept-Encoding", "gzip"), true},
		{"two names, one differs", "Accept-Language, Accept-Encoding", ruleReq("Accept-Language", "fr", "Accept-Encoding", "gzip"), false},
		{"split across lines", "Accept-Encoding", ruleReq("Accept-Encoding", "gz", "Accept-Encoding", "ip"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []string
			if tt.vary != "" {
				lines = []string{"Vary: " + tt.vary}
			}
			v, ok := NewVaryData(ruleResp(t, "HTTP/1.1 200 OK", lines...), stored)
			if !ok {
				t.Fatal("NewVaryData failed")
			}
			if got := v.Matches(tt.other); got != tt.want {
				t.Errorf("Matches = %v, want %v (vary data %+v)", got, tt.want, v)
			}
		})
	}
}

func TestVaryDataAbsentAndEmptyMatch(t *testing.T) {
	// As in Chromium, a header the request lacks reads as an empty value.
	resp := ruleResp(t, "HTTP/1.1 200 OK", "Vary: X-Flag")
	absent, _ := NewVaryData(resp, ruleReq())
	empty, _ := NewVaryData(resp, ruleReq("X-Flag", ""))
	if !reflect.DeepEqual(absent, empty) {
		t.Errorf("absent %+v != empty %+v", absent, empty)
	}
	if !absent.Matches(ruleReq("X-Flag", "")) || !empty.Matches(ruleReq()) {
		t.Error("absent and empty values should match each other")
	}
}

func TestVaryDataWithoutValuesMatchesNothing(t *testing.T) {
	index := VaryData{Names: []string{"accept"}}
	if index.Matches(ruleReq("Accept", "")) || index.Matches(ruleReq()) {
		t.Error("a vary index's names alone matched a request")
	}
}

func TestVariantKey(t *testing.T) {
	const base = "1/0/http://example.com/"
	gzip := ruleReq("Accept-Encoding", "gzip", "User-Agent", "ua")
	tests := []struct {
		name  string
		names []string
		req   *http.RequestHeaders
		want  string
	}{
		{"no names", nil, gzip, base},
		{"only empty names", []string{"", " "}, gzip, base},
		{"one name", []string{"accept-encoding"}, gzip, base + "\nvary:\"accept-encoding\"=\"gzip\""},
		{"names normalised", []string{"User-Agent", "ACCEPT-ENCODING", "accept-encoding"}, gzip,
			base + "\nvary:\"accept-encoding\"=\"gzip\",\"user-agent\"=\"ua\""},
		{"absent value", []string{"accept-language"}, gzip, base + "\nvary:\"accept-language\"=\"\""},
		{"value quoted", []string{"x"}, ruleReq("X", `a"b`), base + "\nvary:\"x\"=\"a\\\"b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VariantKey(base, tt.names, tt.req); got != tt.want {
				t.Errorf("VariantKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVariantKeysDifferAndMatch(t *testing.T) {
	const base = "1/0/http://example.com/"
	names := []string{"accept-encoding"}
	gzip := VariantKey(base, names, ruleReq("Accept-Encoding", "gzip"))
	br := VariantKey(base, names, ruleReq("Accept-Encoding", "br"))
	if gzip == br {
		t.Errorf("gzip and br share key %q", gzip)
	}
	if again := VariantKey(base, []string{"Accept-Encoding"}, ruleReq("accept-encoding", " gzip ")); again != gzip {
		t.Errorf("same value gave %q, want %q", again, gzip)
	}
	if gzip == base {
		t.Error("a variant key equals the base key")
	}
	// Values that would run together in a naive encoding stay apart.
	two := []string{"a", "b"}
	k1 := VariantKey(base, two, ruleReq("A", `1","b"="2`))
	k2 := VariantKey(base, two, ruleReq("A", "1", "B", "2"))
	if k1 == k2 {
		t.Errorf("ambiguous encoding: %q", k1)
	}
	// The key a stored response's VaryData selects is the one a matching
	// request computes.
	stored, _ := NewVaryData(ruleResp(t, "HTTP/1.1 200 OK", "Vary: Accept-Encoding"), ruleReq("Accept-Encoding", "gzip"))
	if got := VariantKey(base, stored.Names, ruleReq("Accept-Encoding", "gzip")); got != gzip {
		t.Errorf("key from stored names %q, want %q", got, gzip)
	}
}
