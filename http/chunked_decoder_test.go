package http_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
)

// chunkedResult is everything observable after feeding a decoder.
type chunkedResult struct {
	payload  []byte
	after    []byte // bytes reported by BytesAfterEOF, as placed after the payload
	eof      bool
	trailers []http.HeaderField
	err      error
}

// chunkedTestDecode feeds pieces to a fresh decoder, one FilterBuf call each,
// on copies so that the callers' slices stay intact. It stops at the first
// error.
func chunkedTestDecode(t testing.TB, pieces ...[]byte) chunkedResult {
	t.Helper()
	var d http.ChunkedDecoder
	var res chunkedResult
	for _, p := range pieces {
		buf := bytes.Clone(p)
		before := d.BytesAfterEOF()
		n, err := d.FilterBuf(buf)
		if err != nil {
			if n != 0 {
				t.Fatalf("FilterBuf returned n=%d with error %v", n, err)
			}
			res.err = err
			return res
		}
		delta := d.BytesAfterEOF() - before
		if n < 0 || delta < 0 || n+delta > len(buf) {
			t.Fatalf("FilterBuf(%d bytes) = %d with %d bytes after EOF", len(buf), n, delta)
		}
		res.payload = append(res.payload, buf[:n]...)
		res.after = append(res.after, buf[n:n+delta]...)
	}
	res.eof = d.ReachedEOF()
	res.trailers = d.Trailers()
	return res
}

// chunkedBytewise splits s into one-byte pieces.
func chunkedBytewise(s []byte) [][]byte {
	pieces := make([][]byte, len(s))
	for i := range s {
		pieces[i] = s[i : i+1]
	}
	return pieces
}

// chunkedSameResult compares two runs: both fail, or both succeed with the
// same output.
func chunkedSameResult(a, b chunkedResult) bool {
	if (a.err != nil) != (b.err != nil) {
		return false
	}
	if a.err != nil {
		return errors.Is(a.err, b.err)
	}
	return bytes.Equal(a.payload, b.payload) && bytes.Equal(a.after, b.after) &&
		a.eof == b.eof && reflect.DeepEqual(a.trailers, b.trailers)
}

func TestChunkedDecoderValid(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		payload  string
		eof      bool
		after    string
		trailers []http.HeaderField
	}{
		{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", true, "", nil},
		{"several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world", true, "", nil},
		{"empty body", "0\r\n\r\n", "", true, "", nil},
		{"bare LF", "5\nhello\n0\n\n", "hello", true, "", nil},
		{"mixed line ends", "5\r\nhello\n0\n\r\n", "hello", true, "", nil},
		{"uppercase hex", "A\r\n0123456789\r\n0\r\n\r\n", "0123456789", true, "", nil},
		{"lowercase hex", "a\r\n0123456789\r\n0\r\n\r\n", "0123456789", true, "", nil},
		{"mixed-case hex", "1a\r\n" + strings.Repeat("x", 26) + "\r\n0\r\n\r\n", strings.Repeat("x", 26), true, "", nil},
		{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello", true, "", nil},
		{"many leading zeros", strings.Repeat("0", 100) + "5\r\nhello\r\n0\r\n\r\n", "hello", true, "", nil},
		{"trailing spaces", "5   \r\nhello\r\n0 \r\n\r\n", "hello", true, "", nil},
		{"extension", "5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello", true, "", nil},
		{"extension after spaces", "5 ; a=\"b;c\"\r\nhello\r\n0\r\n\r\n", "hello", true, "", nil},
		{"bare extension marker", "5;\r\nhello\r\n0\r\n\r\n", "hello", true, "", nil},
		{"data with CRLF inside", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n", true, "", nil},
		{"binary data", "3\r\n\x00\xff\n\r\n0\r\n\r\n", "\x00\xff\n", true, "", nil},
		{"trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nExpires:  never \r\n\r\n", "hello", true, "",
			[]http.HeaderField{{"X-Checksum", "abc"}, {"Expires", "never"}}},
		{"folded trailer", "0\r\nA: one\r\n  two\r\n\r\n", "", true, "",
			[]http.HeaderField{{"A", "one two"}}},
		{"malformed trailers dropped", "0\r\nno colon\r\n  fold with nothing\r\nBad Name: x\r\nB: 2\r\n\r\n", "", true, "",
			[]http.HeaderField{{"B", "2"}}},
		{"leading fold dropped", "0\r\n folded: x\r\n\r\n", "", true, "", nil},
		{"next response after EOF", "5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", "hello", true, "HTTP/1.1 200 OK\r\n", nil},
		{"after EOF with trailers", "0\r\nA: 1\r\n\r\nxyz", "", true, "xyz", []http.HeaderField{{"A", "1"}}},
		{"incomplete data", "5\r\nhel", "hel", false, "", nil},
		{"incomplete size", "5", "", false, "", nil},
		{"awaiting chunk CRLF", "5\r\nhello", "hello", false, "", nil},
		{"awaiting chunk LF", "5\r\nhello\r", "hello", false, "", nil},
		{"awaiting trailers", "5\r\nhello\r\n0\r\n", "hello", false, "", nil},
		{"awaiting end of trailers", "0\r\nA: 1\r\n", "", false, "", []http.HeaderField{{"A", "1"}}},
		{"empty input", "", "", false, "", nil},
		{"largest size", "7fffffffffffffff\r\nabc", "abc", false, "", nil},
		{"largest size uppercase", "7FFFFFFFFFFFFFFF\r\nabc", "abc", false, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			want := chunkedResult{payload: []byte(tt.payload), after: []byte(tt.after), eof: tt.eof, trailers: tt.trailers}
			if want.trailers == nil {
				want.trailers = []http.HeaderField{}
			}
			for _, split := range []struct {
				name   string
				pieces [][]byte
			}{
				{"one shot", [][]byte{in}},
				{"byte by byte", chunkedBytewise(in)},
			} {
				got := chunkedTestDecode(t, split.pieces...)
				if got.err != nil {
					t.Fatalf("%s: error %v", split.name, got.err)
				}
				if !chunkedSameResult(got, want) {
					t.Errorf("%s: got payload %q after %q eof %v trailers %q; want %q %q %v %q", split.name,
						got.payload, got.after, got.eof, got.trailers, want.payload, want.after, want.eof, want.trailers)
				}
			}
		})
	}
}

func TestChunkedDecoderInvalid(t *testing.T) {
	long := strings.Repeat("0", 16384) // a line of exactly the limit
	tests := []struct {
		name string
		in   string
	}{
		{"missing size", "\r\n"},
		{"missing size bare LF", "\n"},
		{"extension only", ";ext\r\n"},
		{"not hex", "x\r\n"},
		{"hex then garbage", "5x\r\n"},
		{"negative", "-5\r\n"},
		{"plus sign", "+5\r\n"},
		{"0x prefix", "0x5\r\n"},
		{"0X prefix", "0X5\r\n"},
		{"leading space", " 5\r\n"},
		{"leading tab", "\t5\r\n"},
		{"trailing tab", "5\t\r\n"},
		{"space inside", "5 5\r\n"},
		{"CR inside", "1\r2\r\n"},
		{"overflow by one", "8000000000000000\r\n"},
		{"overflow", "FFFFFFFFFFFFFFFFFFFF\r\n"},
		{"data too long", "5\r\nhelloX\r\n0\r\n\r\n"},
		{"missing CRLF before next size", "5\r\nhello0\r\n\r\n"},
		{"garbage after data", "5\r\nhello\r\nzz\r\n"},
		{"empty line instead of size", "5\r\nhello\r\n\r\n"},
		{"CR only then data", "5\r\nhello\rX\n"},
		{"size line too long", long + "5\r\n"},
		{"extension too long", "5;" + strings.Repeat("e", 16383) + "\r\n"},
		{"unterminated line too long", long + "1"},
		{"unterminated line too long with CR", long + "1\r"},
		{"trailer too long", "0\r\nX: " + strings.Repeat("t", 16382) + "\r\n\r\n"},
		{"error after good chunk", "5\r\nhello\r\nxyz\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			for _, pieces := range [][][]byte{{in}, chunkedBytewise(in)} {
				got := chunkedTestDecode(t, pieces...)
				if !errors.Is(got.err, net.ErrInvalidChunkedEncoding) {
					t.Fatalf("%d pieces: error %v, want ErrInvalidChunkedEncoding (payload %q)", len(pieces), got.err, got.payload)
				}
			}
		})
	}
}

func TestChunkedDecoderLineLimit(t *testing.T) {
	// A line of exactly 16384 bytes, CRLF excluded, is accepted however it
	// arrives; one byte more is not.
	exact := "5;" + strings.Repeat("e", 16384-2)
	for _, ending := range []string{"\r\n", "\n"} {
		in := []byte(exact + ending + "hello\r\n0\r\n\r\n")
		for _, pieces := range [][][]byte{{in}, chunkedBytewise(in),
			{in[:16384], in[16384:]}, {in[:16385], in[16385:]}} {
			got := chunkedTestDecode(t, pieces...)
			if got.err != nil || string(got.payload) != "hello" || !got.eof {
				t.Errorf("%d pieces, ending %q: %q, %v", len(pieces), ending, got.payload, got.err)
			}
		}
	}
	// The same for a trailer line.
	trailer := "X: " + strings.Repeat("t", 16384-3)
	in := []byte("0\r\n" + trailer + "\r\n\r\n")
	got := chunkedTestDecode(t, chunkedBytewise(in)...)
	if got.err != nil || !got.eof || len(got.trailers) != 1 {
		t.Errorf("trailer at the limit: %v eof=%v trailers=%d", got.err, got.eof, len(got.trailers))
	}
}

func TestChunkedDecoderStickyError(t *testing.T) {
	var d http.ChunkedDecoder
	if _, err := d.FilterBuf([]byte("zz\r\n")); !errors.Is(err, net.ErrInvalidChunkedEncoding) {
		t.Fatalf("first call: %v", err)
	}
	n, err := d.FilterBuf([]byte("5\r\nhello\r\n0\r\n\r\n"))
	if n != 0 || !errors.Is(err, net.ErrInvalidChunkedEncoding) {
		t.Fatalf("after an error: %d, %v", n, err)
	}
	if d.ReachedEOF() {
		t.Error("ReachedEOF after an error")
	}
}

func TestChunkedDecoderZeroValueAndEmptyBuffers(t *testing.T) {
	var d http.ChunkedDecoder
	if d.ReachedEOF() || d.BytesAfterEOF() != 0 || len(d.Trailers()) != 0 {
		t.Fatal("zero value is not a fresh decoder")
	}
	for _, buf := range [][]byte{nil, {}} {
		if n, err := d.FilterBuf(buf); n != 0 || err != nil {
			t.Fatalf("FilterBuf(empty) = %d, %v", n, err)
		}
	}
}

// chunkedSample is a body with everything: extensions, padding, bare LFs,
// uppercase hex, binary data, trailers and the next response after it.
const chunkedSample = "7;ext=1\r\nchunk 1\r\n" +
	"B  \r\n  chunk 2  \r\n" +
	"1a;a;b=\"c\"\nabcdefghijklmnopqrstuvwxyz\n" +
	"3\r\n\r\n\x00\r\n" +
	"0;end\r\nX-Trailer: yes\r\nX-More:  one\r\n two\r\n\r\n" +
	"HTTP/1.1 200 OK\r\n"

func chunkedSampleWant() chunkedResult {
	return chunkedResult{
		payload:  []byte("chunk 1  chunk 2  abcdefghijklmnopqrstuvwxyz\r\n\x00"),
		after:    []byte("HTTP/1.1 200 OK\r\n"),
		eof:      true,
		trailers: []http.HeaderField{{"X-Trailer", "yes"}, {"X-More", "one two"}},
	}
}

func TestChunkedDecoderEverySplit(t *testing.T) {
	in := []byte(chunkedSample)
	want := chunkedSampleWant()

	check := func(desc string, pieces ...[]byte) {
		t.Helper()
		got := chunkedTestDecode(t, pieces...)
		if !chunkedSameResult(got, want) {
			t.Fatalf("%s: got payload %q after %q eof %v trailers %q err %v", desc,
				got.payload, got.after, got.eof, got.trailers, got.err)
		}
	}
	check("one shot", in)
	check("byte by byte", chunkedBytewise(in)...)
	for i := 0; i <= len(in); i++ {
		check(fmt.Sprintf("split at %d", i), in[:i], in[i:])
		for j := i; j <= len(in); j++ {
			check(fmt.Sprintf("split at %d and %d", i, j), in[:i], in[i:j], in[j:])
		}
	}
}

func TestChunkedDecoderBytesAfterEOF(t *testing.T) {
	t.Run("moved behind payload", func(t *testing.T) {
		var d http.ChunkedDecoder
		buf := []byte("3\r\nabc\r\n0\r\n\r\nNEXT")
		n, err := d.FilterBuf(buf)
		if err != nil || n != 3 || !d.ReachedEOF() || d.BytesAfterEOF() != 4 {
			t.Fatalf("n=%d err=%v eof=%v after=%d", n, err, d.ReachedEOF(), d.BytesAfterEOF())
		}
		if got := string(buf[:n+d.BytesAfterEOF()]); got != "abcNEXT" {
			t.Errorf("buf = %q, want payload then leftover", got)
		}
	})
	t.Run("exactly at the end", func(t *testing.T) {
		var d http.ChunkedDecoder
		n, err := d.FilterBuf([]byte("3\r\nabc\r\n0\r\n\r\n"))
		if err != nil || n != 3 || !d.ReachedEOF() || d.BytesAfterEOF() != 0 {
			t.Fatalf("n=%d err=%v eof=%v after=%d", n, err, d.ReachedEOF(), d.BytesAfterEOF())
		}
	})
	t.Run("later calls accumulate", func(t *testing.T) {
		var d http.ChunkedDecoder
		if _, err := d.FilterBuf([]byte("0\r\n\r\nab")); err != nil {
			t.Fatal(err)
		}
		buf := []byte("cde")
		n, err := d.FilterBuf(buf)
		if err != nil || n != 0 || d.BytesAfterEOF() != 5 || string(buf) != "cde" {
			t.Fatalf("n=%d err=%v after=%d buf=%q", n, err, d.BytesAfterEOF(), buf)
		}
	})
	t.Run("leftover looks like chunked data", func(t *testing.T) {
		// After the end, nothing is parsed, even valid-looking framing.
		var d http.ChunkedDecoder
		n, err := d.FilterBuf([]byte("0\r\n\r\n5\r\nhello\r\n0\r\n\r\n"))
		if err != nil || n != 0 || d.BytesAfterEOF() != 15 {
			t.Fatalf("n=%d err=%v after=%d", n, err, d.BytesAfterEOF())
		}
	})
}

func TestChunkedDecoderTrailers(t *testing.T) {
	t.Run("copy", func(t *testing.T) {
		var d http.ChunkedDecoder
		if _, err := d.FilterBuf([]byte("0\r\nA: 1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		tr := d.Trailers()
		tr[0].Value = "changed"
		if d.Trailers()[0].Value != "1" {
			t.Error("Trailers() exposed internal storage")
		}
	})
	t.Run("bounded", func(t *testing.T) {
		// 300 trailer lines of about 1 KiB: more than the 256 KiB kept.
		var sb strings.Builder
		sb.WriteString("0\r\n")
		line := "X-Pad: " + strings.Repeat("p", 1017) // 1024 bytes
		for range 300 {
			sb.WriteString(line + "\r\n")
		}
		sb.WriteString(" folded onto nothing kept\r\n\r\nNEXT")
		got := chunkedTestDecode(t, []byte(sb.String()))
		if got.err != nil || !got.eof || string(got.after) != "NEXT" {
			t.Fatalf("err=%v eof=%v after=%q", got.err, got.eof, got.after)
		}
		if len(got.trailers) != 256 {
			t.Errorf("kept %d trailers, want 256", len(got.trailers))
		}
		if last := got.trailers[len(got.trailers)-1].Value; strings.Contains(last, "folded") {
			t.Error("a fold after the bound was attached to a kept trailer")
		}
	})
}

func FuzzChunkedDecoder(f *testing.F) {
	seeds := []string{
		chunkedSample,
		"5\r\nhello\r\n0\r\n\r\n",
		"0\r\n\r\n",
		"5\nhello\n0\n\n",
		"A;x=y\r\n0123456789\r\n0\r\nT: v\r\n\r\nrest",
		"7fffffffffffffff\r\nabc",
		"8000000000000000\r\n",
		"1\r2\r\n",
		"5\r\nhello0\r\n\r\n",
		"",
		"\r\n",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint16(i))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		whole := chunkedTestDecode(t, in)
		i := 0
		if len(in) > 0 {
			i = int(split) % (len(in) + 1)
		}
		halves := chunkedTestDecode(t, in[:i], in[i:])
		if !chunkedSameResult(whole, halves) {
			t.Fatalf("split at %d changes the result:\none shot: %+v\nsplit:    %+v", i, whole, halves)
		}
		if len(in) <= 4096 {
			bytewise := chunkedTestDecode(t, chunkedBytewise(in)...)
			if !chunkedSameResult(whole, bytewise) {
				t.Fatalf("byte-by-byte changes the result:\none shot: %+v\nbytewise: %+v", whole, bytewise)
			}
		}
		if whole.err == nil && len(whole.payload)+len(whole.after) > len(in) {
			t.Fatalf("output %d+%d bytes longer than input %d", len(whole.payload), len(whole.after), len(in))
		}
	})
}

// chunkedEncode frames body as chunks of chunkSize bytes, ending the body.
func chunkedEncode(body []byte, chunkSize int) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(chunkSize, len(body))
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// BenchmarkChunkedDecoder decodes a 1 MiB body. Each socket-sized read is
// first copied into a read buffer, as a socket read would fill it, then
// filtered in place; the copy is part of the measured cost.
func BenchmarkChunkedDecoder(b *testing.B) {
	const bodySize = 1 << 20
	body := bytes.Repeat([]byte("0123456789abcdef"), bodySize/16)
	for _, bc := range []struct{ chunk, read int }{
		{16 << 10, 16 << 10},
		{16 << 10, 64 << 10},
		{1 << 10, 16 << 10},
	} {
		name := fmt.Sprintf("chunk=%dKiB/read=%dKiB", bc.chunk>>10, bc.read>>10)
		b.Run(name, func(b *testing.B) {
			enc := chunkedEncode(body, bc.chunk)
			readBuf := make([]byte, bc.read)
			b.SetBytes(bodySize)
			b.ReportAllocs()
			for b.Loop() {
				var d http.ChunkedDecoder
				total := 0
				for off := 0; off < len(enc); {
					m := copy(readBuf, enc[off:])
					off += m
					n, err := d.FilterBuf(readBuf[:m])
					if err != nil {
						b.Fatal(err)
					}
					total += n
				}
				if total != bodySize || !d.ReachedEOF() {
					b.Fatalf("decoded %d bytes, eof=%v", total, d.ReachedEOF())
				}
			}
		})
	}
}
