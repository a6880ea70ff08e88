package http

import (
	"bytes"
	"math"

	"github.com/netfetch/netfetch/net"
)

// chunkedMaxLineLen bounds a chunk-size line (extensions included) or a
// trailer line, without its CRLF, as Chromium's kMaxLineBufLen. It is
// absurdly long on purpose: it only guards memory, not chunk extensions.
const chunkedMaxLineLen = 16384

// chunkedMaxTrailerBytes bounds the trailer fields kept for Trailers.
// Chromium keeps none; we keep them for callers that care, but a server
// sending endless trailer lines must not make us grow without limit.
// Trailers beyond the bound are still parsed and skipped, not an error.
const chunkedMaxTrailerBytes = 256 * 1024

// ChunkedDecoder removes HTTP/1.1 chunked transfer coding from a response
// body, incrementally and in place, as Chromium's HttpChunkedDecoder. The
// input may be split anywhere across FilterBuf calls, even inside a chunk-size
// line or a CRLF, and the output does not depend on where it was split.
//
// Accepted syntax, following Chromium's choice to be strict where no known
// site needs leniency:
//
//   - chunk-size is one or more hex digits (either case), optionally
//     followed by spaces; a leading sign, "0x", leading whitespace or tabs are
//     errors, as is a size that does not fit in an int64;
//   - anything from ';' to the end of the line is a chunk extension and is
//     ignored;
//   - lines end with CRLF or a bare LF;
//   - chunk data must be followed by an empty line;
//   - after the zero-size chunk come trailer lines, then an empty line.
//
// Any violation, and any line longer than 16 KiB, gives
// net.ErrInvalidChunkedEncoding. The zero value is ready to use.
type ChunkedDecoder struct {
	// chunkRemaining is the number of data bytes of the current chunk not yet
	// seen.
	chunkRemaining int64
	// lineBuf holds the start of a line split across calls.
	lineBuf []byte
	// chunkTerminatorRemaining is set after a chunk's data, while its CRLF
	// has not been read.
	chunkTerminatorRemaining bool
	reachedLastChunk         bool
	reachedEOF               bool
	bytesAfterEOF            int
	trailers                 []HeaderField
	trailerBytes             int
	// trailerFoldable is set when the last trailer line was kept, so that a
	// folded line may continue it.
	trailerFoldable bool
	// err makes a failure sticky: once the framing is broken, later input
	// cannot be trusted either.
	err error
}

// FilterBuf decodes buf in place. It returns n, the number of payload bytes
// now at buf[:n], or net.ErrInvalidChunkedEncoding. Once an error has been
// returned, every later call returns it again.
//
// Bytes that follow the end of the chunked body (the next response on a
// keep-alive connection) are not payload: they are moved to
// buf[n:n+BytesAfterEOF()] and counted by BytesAfterEOF.
func (d *ChunkedDecoder) FilterBuf(buf []byte) (n int, err error) {
	if d.err != nil {
		return 0, d.err
	}
	// r reads the encoded input; w writes the payload behind it. Framing
	// makes r run ahead, so data is copied down only once, never re-shifted
	// per line as a naive in-place filter would do.
	r, w := 0, 0
	for r < len(buf) {
		if d.chunkRemaining > 0 {
			num := len(buf) - r
			if int64(num) > d.chunkRemaining {
				num = int(d.chunkRemaining)
			}
			if w != r {
				copy(buf[w:], buf[r:r+num])
			}
			r += num
			w += num
			d.chunkRemaining -= int64(num)
			if d.chunkRemaining == 0 {
				d.chunkTerminatorRemaining = true
			}
			continue
		}
		if d.reachedEOF {
			moved := copy(buf[w:], buf[r:])
			d.bytesAfterEOF += moved
			break
		}
		consumed, err := d.scanLine(buf[r:])
		if err != nil {
			d.err = err
			return 0, err
		}
		r += consumed
	}
	return w, nil
}

// ReachedEOF reports whether the last chunk and the trailer section have been
// consumed: the body is complete.
func (d *ChunkedDecoder) ReachedEOF() bool { return d.reachedEOF }

// BytesAfterEOF returns how many bytes given to FilterBuf followed the end of
// the chunked body. They belong to whatever comes next on the connection; in
// the FilterBuf call that reached the end they are at buf[n:n+BytesAfterEOF()].
func (d *ChunkedDecoder) BytesAfterEOF() int { return d.bytesAfterEOF }

// Trailers returns the trailer fields received after the last chunk, in
// order. They are informational: like Chromium, the decoder does not merge
// them into the response headers. At most 256 KiB of them are kept.
func (d *ChunkedDecoder) Trailers() []HeaderField {
	out := make([]HeaderField, len(d.trailers))
	copy(out, d.trailers)
	return out
}

// scanLine consumes from buf up to and including the next LF, handling the
// completed line, or all of buf if there is no LF yet. It returns the number
// of bytes consumed.
func (d *ChunkedDecoder) scanLine(buf []byte) (int, error) {
	lf := bytes.IndexByte(buf, '\n')
	if lf < 0 {
		// Keep the partial line, CR included: stripping a CR only when the LF
		// is seen makes the result independent of where the input was split.
		// (Chromium drops a CR at the end of each piece, so "1\r" + "2\n"
		// would read as "12".)
		total := len(d.lineBuf) + len(buf)
		if total > chunkedMaxLineLen+1 ||
			(total == chunkedMaxLineLen+1 && buf[len(buf)-1] != '\r') {
			// Too long even if the last byte is the CR of a CRLF.
			return 0, net.ErrInvalidChunkedEncoding
		}
		d.lineBuf = append(d.lineBuf, buf...)
		return len(buf), nil
	}

	line := buf[:lf]
	if len(d.lineBuf) > 0 {
		d.lineBuf = append(d.lineBuf, line...)
		line = d.lineBuf
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	// Applied to whole lines too (Chromium checks only split ones), so that
	// splitting the input never changes the outcome.
	if len(line) > chunkedMaxLineLen {
		return 0, net.ErrInvalidChunkedEncoding
	}
	if err := d.handleLine(line); err != nil {
		return 0, err
	}
	d.lineBuf = d.lineBuf[:0]
	return lf + 1, nil
}

// handleLine interprets one complete line, without its line break.
func (d *ChunkedDecoder) handleLine(line []byte) error {
	switch {
	case d.reachedLastChunk:
		if len(line) == 0 {
			d.reachedEOF = true
			// The line buffer is not needed any more.
			d.lineBuf = nil
		} else {
			d.addTrailer(line)
		}
	case d.chunkTerminatorRemaining:
		// The CRLF after chunk data: anything else means the size lied.
		if len(line) != 0 {
			return net.ErrInvalidChunkedEncoding
		}
		d.chunkTerminatorRemaining = false
	case len(line) == 0:
		// A missing chunk-size.
		return net.ErrInvalidChunkedEncoding
	default:
		if semi := bytes.IndexByte(line, ';'); semi >= 0 {
			line = line[:semi]
		}
		size, ok := chunkedParseSize(line)
		if !ok {
			return net.ErrInvalidChunkedEncoding
		}
		d.chunkRemaining = size
		if size == 0 {
			d.reachedLastChunk = true
		}
	}
	return nil
}

// addTrailer records a trailer line. Folded lines continue the previous field;
// malformed lines are dropped, as in a header block.
func (d *ChunkedDecoder) addTrailer(line []byte) {
	if d.trailerBytes+len(line) > chunkedMaxTrailerBytes {
		// Saturate so that everything after, folded lines included, is
		// dropped too.
		d.trailerBytes = chunkedMaxTrailerBytes + 1
		d.trailerFoldable = false
		return
	}
	if rhIsLWS(line[0]) {
		if !d.trailerFoldable {
			return
		}
		last := &d.trailers[len(d.trailers)-1]
		last.Value = rhTrimLWS(last.Value + " " + rhTrimLWS(string(line)))
		d.trailerBytes += len(line)
		return
	}
	f, ok := rhParseHeaderLine(string(line))
	d.trailerFoldable = ok
	if ok {
		d.trailers = append(d.trailers, f)
		d.trailerBytes += len(line)
	}
}

// chunkedParseSize parses a chunk-size as Chromium does, ^[0-9A-Fa-f]+ *$,
// rejecting values above math.MaxInt64. Trailing spaces are allowed because
// some servers pad the size to a fixed width.
func chunkedParseSize(b []byte) (int64, bool) {
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		var digit int64
		switch {
		case '0' <= c && c <= '9':
			digit = int64(c - '0')
		case 'a' <= c && c <= 'f':
			digit = int64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			digit = int64(c-'A') + 10
		default:
			return 0, false
		}
		if v > (math.MaxInt64-digit)/16 {
			return 0, false
		}
		v = v*16 + digit
	}
	return v, true
}
