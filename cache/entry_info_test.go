package cache

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

// entryInfoEqual compares two infos by value: headers by their raw form,
// times by instant.
func entryInfoEqual(a, b *EntryInfo) bool {
	if (a.Headers == nil) != (b.Headers == nil) {
		return false
	}
	if a.Headers != nil && a.Headers.Raw() != b.Headers.Raw() {
		return false
	}
	return a.Kind == b.Kind &&
		a.RequestTime.Equal(b.RequestTime) &&
		a.ResponseTime.Equal(b.ResponseTime) &&
		reflect.DeepEqual(a.Vary, b.Vary) &&
		a.BodySize == b.BodySize
}

func sampleEntryInfos(t testing.TB) map[string]*EntryInfo {
	zone := time.FixedZone("X", -7*3600)
	return map[string]*EntryInfo{
		"response": {
			Kind: EntryResponse,
			Headers: ruleResp(t, "HTTP/1.1 200 OK",
				"Cache-Control: max-age=60", `ETag: W/"v1"`, "Vary: Accept-Encoding", "X-Latin1: caf\xe9"),
			RequestTime:  time.Date(2026, 3, 14, 15, 9, 26, 535897932, zone),
			ResponseTime: time.Date(2026, 3, 14, 15, 9, 27, 0, time.UTC),
			Vary:         VaryData{Names: []string{"accept-encoding"}, Values: []string{"gzip, br"}},
			BodySize:     12345,
		},
		"response without vary": {
			Kind:         EntryResponse,
			Headers:      ruleResp(t, "HTTP/1.0 404"),
			RequestTime:  ruleT0,
			ResponseTime: ruleT0,
		},
		"absent request value": {
			Kind:    EntryResponse,
			Headers: ruleResp(t, "HTTP/2.0 200", "Vary: a, b"),
			Vary:    VaryData{Names: []string{"a", "b"}, Values: []string{"", "x"}},
		},
		"vary index": {
			Kind: EntryVaryIndex,
			Vary: VaryData{Names: []string{"accept-encoding", "user-agent"}},
		},
		"pre-1970 times": {
			Kind:         EntryResponse,
			Headers:      ruleResp(t, "HTTP/1.1 200 OK"),
			RequestTime:  time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
			ResponseTime: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		},
	}
}

func TestEntryInfoRoundTrip(t *testing.T) {
	for name, e := range sampleEntryInfos(t) {
		t.Run(name, func(t *testing.T) {
			b := e.Marshal()
			got, err := UnmarshalEntryInfo(b)
			if err != nil {
				t.Fatalf("UnmarshalEntryInfo: %v", err)
			}
			if !entryInfoEqual(got, e) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, e)
			}
			if got.RequestTime.Location() != time.UTC || got.ResponseTime.Location() != time.UTC {
				t.Error("times not in UTC")
			}
			if again := got.Marshal(); !bytes.Equal(again, b) {
				t.Errorf("second Marshal differs:\n%q\n%q", again, b)
			}
		})
	}
}

func TestEntryInfoZeroTimes(t *testing.T) {
	e := &EntryInfo{Kind: EntryVaryIndex, Vary: VaryData{Names: []string{"accept"}}}
	got, err := UnmarshalEntryInfo(e.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if !got.RequestTime.IsZero() || !got.ResponseTime.IsZero() || got.RequestTime != (time.Time{}) {
		t.Errorf("zero times came back as %v, %v", got.RequestTime, got.ResponseTime)
	}
}

func TestEntryInfoKeepsHeadBytes(t *testing.T) {
	e := sampleEntryInfos(t)["response"]
	got, err := UnmarshalEntryInfo(e.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := got.Headers.Get("X-Latin1"); v != "caf\xe9" {
		t.Errorf("non-UTF-8 header value came back as %q", v)
	}
}

// infoEncode builds an info stream field by field, for malformed cases.
func infoEncode(version byte, kind uint64, sec int64, nsec uint64, bodySize int64, head string, names, values []string) []byte {
	b := append([]byte(infoMagic), version)
	b = binary.AppendUvarint(b, kind)
	for range 2 {
		b = binary.AppendVarint(b, sec)
		b = binary.AppendUvarint(b, nsec)
	}
	b = binary.AppendVarint(b, bodySize)
	b = infoAppendString(b, head)
	b = infoAppendStrings(b, names)
	return infoAppendStrings(b, values)
}

func TestUnmarshalEntryInfoErrors(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nVary: a\r\n\r\n"
	a, x := []string{"a"}, []string{"x"}
	if _, err := UnmarshalEntryInfo(infoEncode(infoVersion, 0, 0, 0, 0, head, a, x)); err != nil {
		t.Fatalf("the well-formed base case fails: %v", err)
	}
	valid := sampleEntryInfos(t)["response"].Marshal()
	tests := []struct {
		name string
		b    []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"magic only", []byte(infoMagic)},
		{"bad magic", append([]byte("NFCI"), valid[len(infoMagic):]...)},
		{"JSON", []byte(`{"v":1}`)},
		{"version 0", infoEncode(0, 0, 0, 0, 0, head, a, x)},
		{"version 2", infoEncode(2, 0, 0, 0, 0, head, a, x)},
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"unknown kind", infoEncode(infoVersion, 2, 0, 0, 0, head, a, x)},
		{"huge kind", infoEncode(infoVersion, 1<<63, 0, 0, 0, head, a, x)},
		{"nanoseconds overflow", infoEncode(infoVersion, 0, 0, uint64(time.Second), 0, head, a, x)},
		{"time before year 1", infoEncode(infoVersion, 0, infoMinUnix-1, 0, 0, head, a, x)},
		{"time after year 9999", infoEncode(infoVersion, 0, infoMaxUnix+1, 0, 0, head, a, x)},
		{"time far out", infoEncode(infoVersion, 0, 1<<62, 0, 0, head, a, x)},
		{"negative body size", infoEncode(infoVersion, 0, 0, 0, -1, head, a, x)},
		{"empty head", infoEncode(infoVersion, 0, 0, 0, 0, "", nil, nil)},
		{"head not HTTP", infoEncode(infoVersion, 0, 0, 0, 0, "garbage\r\n\r\n", nil, nil)},
		{"head with NUL", infoEncode(infoVersion, 0, 0, 0, 0, "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", nil, nil)},
		{"head not canonical", infoEncode(infoVersion, 0, 0, 0, 0, "HTTP/1.1 200 OK\nX:1\n\n", nil, nil)},
		{"head with junk after", infoEncode(infoVersion, 0, 0, 0, 0, head+"junk", a, x)},
		{"names unsorted", infoEncode(infoVersion, 0, 0, 0, 0, head, []string{"b", "a"}, []string{"", ""})},
		{"names repeated", infoEncode(infoVersion, 0, 0, 0, 0, head, []string{"a", "a"}, []string{"", ""})},
		{"name upper-case", infoEncode(infoVersion, 0, 0, 0, 0, head, []string{"Accept"}, x)},
		{"name empty", infoEncode(infoVersion, 0, 0, 0, 0, head, []string{""}, x)},
		{"values missing", infoEncode(infoVersion, 0, 0, 0, 0, head, a, nil)},
		{"values extra", infoEncode(infoVersion, 0, 0, 0, 0, head, a, []string{"x", "y"})},
		{"index with head", infoEncode(infoVersion, 1, 0, 0, 0, head, a, nil)},
		{"index with values", infoEncode(infoVersion, 1, 0, 0, 0, "", a, x)},
		{"index with body", infoEncode(infoVersion, 1, 0, 0, 5, "", a, nil)},
		{"string longer than data", append(append([]byte(infoMagic), infoVersion), 0, 0, 0, 0, 0, 0, 0x7f, 'x')},
		{"list longer than data", append(append([]byte(infoMagic), infoVersion), 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03)},
		{"overlong varint", append(append([]byte(infoMagic), infoVersion), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := UnmarshalEntryInfo(tt.b); err == nil {
				t.Errorf("UnmarshalEntryInfo(%q) = %+v, want an error", tt.b, e)
			}
		})
	}
}

func TestUnmarshalEntryInfoTruncated(t *testing.T) {
	for name, e := range sampleEntryInfos(t) {
		b := e.Marshal()
		for n := range len(b) {
			if _, err := UnmarshalEntryInfo(b[:n]); err == nil {
				t.Errorf("%s: a stream cut to %d of %d bytes decoded", name, n, len(b))
			}
		}
	}
}

func FuzzUnmarshalEntryInfo(f *testing.F) {
	for _, e := range sampleEntryInfos(f) {
		f.Add(e.Marshal())
	}
	f.Add([]byte(infoMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEntryInfo(b)
		if err != nil {
			return
		}
		// Whatever decodes must survive a round trip unchanged.
		again, err := UnmarshalEntryInfo(e.Marshal())
		if err != nil {
			t.Fatalf("re-encoding of a decoded info fails: %v", err)
		}
		if !entryInfoEqual(again, e) {
			t.Fatalf("round trip changed the info:\n%+v\n%+v", again, e)
		}
	})
}
