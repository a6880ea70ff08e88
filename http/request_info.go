package http

import (
	"net/url"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// RequestInfo describes the request a transaction sends.
type RequestInfo struct {
	Method    string
	URL       *url.URL
	Headers   RequestHeaders
	Upload    UploadDataStream
	LoadFlags net.LoadFlags
	// PrivacyMode keeps the request off sockets that carry credentials.
	PrivacyMode bool
}

// RequestHeaders is an ordered list of header fields, kept in the order they
// will be sent; names compare case-insensitively.
type RequestHeaders struct {
	fields []HeaderField
}

// Set replaces every field named name with one holding value.
func (h *RequestHeaders) Set(name, value string) {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			h.fields[i].Value = value
			h.removeFrom(i+1, name)
			return
		}
	}
	h.fields = append(h.fields, HeaderField{name, value})
}

// SetIfMissing adds name only if it is not there yet.
func (h *RequestHeaders) SetIfMissing(name, value string) {
	if !h.Has(name) {
		h.fields = append(h.fields, HeaderField{name, value})
	}
}

// Add appends a field, keeping fields of the same name.
func (h *RequestHeaders) Add(name, value string) {
	h.fields = append(h.fields, HeaderField{name, value})
}

// Remove deletes every field named name.
func (h *RequestHeaders) Remove(name string) { h.removeFrom(0, name) }

func (h *RequestHeaders) removeFrom(start int, name string) {
	kept := h.fields[:start]
	for _, f := range h.fields[start:] {
		if !strings.EqualFold(f.Name, name) {
			kept = append(kept, f)
		}
	}
	h.fields = kept
}

// Get returns the first value of name.
func (h *RequestHeaders) Get(name string) (string, bool) {
	for _, f := range h.fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Has reports whether a field named name is present.
func (h *RequestHeaders) Has(name string) bool {
	_, ok := h.Get(name)
	return ok
}

// Fields returns the fields in order. The slice must not be modified.
func (h *RequestHeaders) Fields() []HeaderField { return h.fields }

// Clone returns an independent copy.
func (h RequestHeaders) Clone() RequestHeaders {
	return RequestHeaders{fields: append([]HeaderField(nil), h.fields...)}
}

// Len is the number of fields.
func (h *RequestHeaders) Len() int { return len(h.fields) }
