package cache

import (
	"encoding/binary"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/netfetch/netfetch/http"
)

// EntryKind tells what an EntryInfo describes.
type EntryKind int

// The kinds of stored entries.
const (
	// EntryResponse is a stored response: Headers is set and the entry's
	// body is the response body.
	EntryResponse EntryKind = iota
	// EntryVaryIndex is the record kept at a URL's base key when its
	// responses vary: Vary.Names lists the names its variants are keyed by
	// (see VariantKey), Vary.Values is empty, Headers is nil and there is
	// no body.
	EntryVaryIndex
)

// EntryInfo is the info stream of a stored entry (Chromium's serialized
// HttpResponseInfo, stream 0 of a disk cache entry).
type EntryInfo struct {
	// Kind is EntryResponse for a stored response, EntryVaryIndex for the
	// record kept at a URL's base key that lists the Vary names its
	// variants are keyed by.
	Kind EntryKind
	// Headers are the stored response's headers; nil for a vary index.
	Headers *http.ResponseHeaders
	// RequestTime is when the request that fetched the response was sent.
	RequestTime time.Time
	// ResponseTime is when its headers arrived.
	ResponseTime time.Time
	// Vary is what the response remembers of its request; for a vary
	// index, the names only.
	Vary VaryData
	// BodySize is the number of bytes of the stored body, checked when
	// reading it.
	BodySize int64
}

// The info stream starts with infoMagic then the format version, so that
// a stream from another program or another version is refused, not misread.
const (
	infoMagic   = "nfci"
	infoVersion = 1
)

// Marshal encodes e compactly: the magic and version, then varints and
// length-prefixed strings, the head as Headers.Raw(). Times keep their
// instant (to the nanosecond) but not their location or monotonic reading.
func (e *EntryInfo) Marshal() []byte {
	var head string
	if e.Headers != nil {
		head = e.Headers.Raw()
	}
	// Room for the fixed fields' varints, then the strings.
	size := len(infoMagic) + 1 + 9*binary.MaxVarintLen64 + len(head)
	for _, s := range e.Vary.Names {
		size += binary.MaxVarintLen64 + len(s)
	}
	for _, s := range e.Vary.Values {
		size += binary.MaxVarintLen64 + len(s)
	}
	b := make([]byte, 0, size)
	b = append(b, infoMagic...)
	b = append(b, infoVersion)
	b = binary.AppendUvarint(b, uint64(e.Kind))
	b = infoAppendTime(b, e.RequestTime)
	b = infoAppendTime(b, e.ResponseTime)
	b = binary.AppendVarint(b, e.BodySize)
	b = infoAppendString(b, head)
	b = infoAppendStrings(b, e.Vary.Names)
	b = infoAppendStrings(b, e.Vary.Values)
	return b
}

func infoAppendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func infoAppendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func infoAppendStrings(b []byte, list []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = infoAppendString(b, s)
	}
	return b
}

// UnmarshalEntryInfo decodes what Marshal wrote. Anything else, including
// a truncated or extended stream, an unknown version or kind, a head that
// is not the canonical form of parseable headers, or Vary data that is not
// normalised, is an error; it never panics. Times come back in UTC.
func UnmarshalEntryInfo(b []byte) (*EntryInfo, error) {
	if len(b) < len(infoMagic)+1 || string(b[:len(infoMagic)]) != infoMagic {
		return nil, errors.New("cache: entry info: bad magic")
	}
	if v := b[len(infoMagic)]; v != infoVersion {
		return nil, errors.New("cache: entry info: unknown version " + strconv.Itoa(int(v)))
	}
	r := infoReader{b: b[len(infoMagic)+1:]}
	kind := r.uvarint()
	e := &EntryInfo{
		Kind:         EntryKind(kind),
		RequestTime:  r.time(),
		ResponseTime: r.time(),
		BodySize:     r.varint(),
	}
	head := r.string()
	e.Vary.Names = r.strings()
	e.Vary.Values = r.strings()
	if r.err != "" {
		return nil, errors.New("cache: entry info: " + r.err)
	}
	if len(r.b) != 0 {
		return nil, errors.New("cache: entry info: trailing bytes")
	}
	if err := e.check(kind, head); err != nil {
		return nil, err
	}
	return e, nil
}

// check validates a decoded entry and parses its head.
func (e *EntryInfo) check(kind uint64, head string) error {
	fail := func(what string) error { return errors.New("cache: entry info: " + what) }
	if e.BodySize < 0 {
		return fail("negative body size")
	}
	if !slices.IsSorted(e.Vary.Names) || len(slices.Compact(slices.Clone(e.Vary.Names))) != len(e.Vary.Names) {
		return fail("vary names not sorted and unique")
	}
	for _, n := range e.Vary.Names {
		if n == "" || ccLower(n) != n {
			return fail("vary name not lower-case")
		}
	}
	switch kind {
	case uint64(EntryResponse):
		if len(e.Vary.Values) != len(e.Vary.Names) {
			return fail("vary values do not match names")
		}
		h, err := http.ParseResponseHeaders([]byte(head))
		if err != nil {
			return fail("bad head: " + err.Error())
		}
		// Marshal wrote Raw(): anything else is damage the parser's
		// leniency would hide.
		if h.Raw() != head {
			return fail("head not in canonical form")
		}
		e.Headers = h
	case uint64(EntryVaryIndex):
		if head != "" || len(e.Vary.Values) != 0 || e.BodySize != 0 {
			return fail("vary index with a response")
		}
	default:
		return fail("unknown kind")
	}
	return nil
}

// infoReader decodes the fields of an info stream; the first failure is
// kept in err and later reads return zero values.
type infoReader struct {
	b   []byte
	err string
}

func (r *infoReader) fail(what string) {
	if r.err == "" {
		r.err = what
	}
	r.b = nil
}

func (r *infoReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *infoReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated or overlong number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *infoReader) time() time.Time {
	sec, nsec := r.varint(), r.uvarint()
	if sec < infoMinUnix || sec > infoMaxUnix || nsec >= uint64(time.Second) {
		r.fail("time out of range")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// Stored times lie between the zero time (an unset time) and the end of
// year 9999, beyond which no HTTP date reaches.
const (
	infoMinUnix = -62135596800 // 0001-01-01T00:00:00Z
	infoMaxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

func (r *infoReader) string() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("truncated string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *infoReader) strings() []string {
	n := r.uvarint()
	// Each string takes at least its length byte: a larger count is
	// garbage, and checking first bounds the allocation.
	if n > uint64(len(r.b)) {
		r.fail("truncated list")
		return nil
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.string()
	}
	return out
}
