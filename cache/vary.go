package cache

import (
	"slices"
	"strconv"
	"strings"

	"github.com/netfetch/netfetch/http"
)

// VaryData is what a stored response remembers of the request that fetched
// it, for Vary (Chromium's HttpVaryData). Chromium keeps a digest; the
// values themselves are kept here so that a mismatch can be explained.
type VaryData struct {
	// Names are the header names the response varies on: lower-case,
	// sorted and without duplicates.
	Names []string
	// Values are the request's values of Names, in the same order; "" for
	// a header the request did not have.
	Values []string
}

// NewVaryData reads the Vary header of resp and the values req had for the
// names it lists. ok is false for Vary: *, which never matches (such
// responses are not stored). A response without Vary, or with an empty
// one, gives an empty VaryData.
//
// A request value is the request's lines of that name joined with ", ",
// trimmed of surrounding whitespace. As in Chromium, a header the request
// did not send reads as an empty value.
func NewVaryData(resp *http.ResponseHeaders, req *http.RequestHeaders) (VaryData, bool) {
	names, ok := varyNames(resp)
	if !ok {
		return VaryData{}, false
	}
	return VaryData{Names: names, Values: varyValues(names, req)}, true
}

// IsEmpty reports whether the response varies on nothing.
func (v VaryData) IsEmpty() bool { return len(v.Names) == 0 }

// Matches reports whether req has the same values for every name as the
// request the response was stored for. An empty VaryData matches every
// request.
func (v VaryData) Matches(req *http.RequestHeaders) bool {
	if len(v.Values) != len(v.Names) {
		// Only a vary index has names without values, and no request
		// matches that.
		return false
	}
	for i, name := range v.Names {
		if varyRequestValue(req, name) != v.Values[i] {
			return false
		}
	}
	return true
}

// VariantKey is the cache key of the variant req selects among the
// responses stored under base that vary on names: base itself when names is
// empty, else base + "\nvary:" + each name and the request's value for it,
// quoted, so that "Accept-Encoding: gzip" and "Accept-Encoding: br" are two
// entries. names are normalised as NewVaryData does, so their order and
// case do not matter.
func VariantKey(base string, names []string, req *http.RequestHeaders) string {
	norm := varyNormalise(names)
	if len(norm) == 0 {
		return base
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteString("\nvary:")
	for i, name := range norm {
		if i > 0 {
			b.WriteByte(',')
		}
		// Quoting makes the encoding unambiguous whatever the bytes.
		b.WriteString(strconv.Quote(name))
		b.WriteByte('=')
		b.WriteString(strconv.Quote(varyRequestValue(req, name)))
	}
	return b.String()
}

// varyNames lists the names of resp's Vary header, normalised; ok is false
// when one of them is "*".
func varyNames(resp *http.ResponseHeaders) (names []string, ok bool) {
	for _, line := range resp.Values("Vary") {
		for _, el := range ccSplitList(line) {
			if el == "*" {
				return nil, false
			}
			names = append(names, el)
		}
	}
	return varyNormalise(names), true
}

// varyNormalise lower-cases, sorts and deduplicates names, dropping empty
// ones; nil when nothing is left.
func varyNormalise(names []string) []string {
	var out []string
	for _, n := range names {
		if n = ccLower(ccTrimLWS(n)); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// varyValues returns req's value of each name.
func varyValues(names []string, req *http.RequestHeaders) []string {
	if len(names) == 0 {
		return nil
	}
	values := make([]string, len(names))
	for i, name := range names {
		values[i] = varyRequestValue(req, name)
	}
	return values
}

// varyRequestValue joins the values of req's lines named name with ", ",
// each trimmed; "" when there is none.
func varyRequestValue(req *http.RequestHeaders, name string) string {
	var b strings.Builder
	for _, v := range ccRequestLines(req, name) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ccTrimLWS(v))
	}
	return ccTrimLWS(b.String())
}
