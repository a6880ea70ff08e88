package http

import (
	"encoding/binary"
	"strconv"
	"sync"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// The HTTP/2 framing itself is golang.org/x/net/http2's; this file only
// watches the bytes go by. http2.ClientConn reports neither frames nor
// connection events, while Chromium's SpdySession logs every frame it sends
// and receives and reacts to GOAWAY at once. So the session's net.Conn
// (h2Conn) feeds both directions through an h2FrameObserver: a passive
// parser of frame headers that decodes the few payloads the session needs
// (SETTINGS, GOAWAY, RST_STREAM, WINDOW_UPDATE, PING) and, while a NetLog
// is capturing, the header blocks.

// h2ClientPreface is what a client sends before its first frame (RFC 9113
// §3.4).
const h2ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// h2FrameHeaderLen is the fixed frame header: length (24 bits), type,
// flags, stream id (31 bits).
const h2FrameHeaderLen = 9

// h2HeaderTableSize is the HPACK dynamic table size both directions use:
// the client advertises no SETTINGS_HEADER_TABLE_SIZE (so the server's
// encoder is limited to the default 4096) and caps its own encoder at 4096
// (MaxEncoderHeaderTableSize unset).
const h2HeaderTableSize = 4096

// h2MaxCollected bounds the payload the observer keeps for one frame: the
// largest frame the ClientConn accepts by default (its MaxReadFrameSize).
const h2MaxCollected = 1 << 20

// h2MaxLoggedDebugData bounds the GOAWAY debug data kept for the log.
const h2MaxLoggedDebugData = 1024

// h2Frame is one observed frame, with the fields the session logs or acts on.
type h2Frame struct {
	Type     http2.FrameType
	Flags    http2.Flags
	StreamID uint32
	Length   int

	// Headers is the decoded header block of a received HEADERS frame
	// (with its CONTINUATIONs), nil when it was not decoded.
	Headers []hpack.HeaderField
	// Sent is the request a sent HEADERS frame opened a stream for, when
	// its stream registered it (see h2FrameObserver.expect).
	Sent *h2SentHeaders
	// Settings of a SETTINGS frame.
	Settings []http2.Setting
	// ErrCode of RST_STREAM and GOAWAY.
	ErrCode http2.ErrCode
	// LastStreamID and DebugData of GOAWAY.
	LastStreamID uint32
	DebugData    []byte
	// Increment of WINDOW_UPDATE.
	Increment uint32
	// PingData of PING.
	PingData uint64
}

// endStream reports END_STREAM on DATA and HEADERS.
func (f *h2Frame) endStream() bool {
	return (f.Type == http2.FrameData || f.Type == http2.FrameHeaders) && f.Flags&http2.FlagHeadersEndStream != 0
}

// h2FrameObserver follows one direction of the connection. feed is called
// by whichever goroutine moves the bytes (http2's read loop, or the writer
// holding http2's write lock); the mutex orders it with expectHeaders.
type h2FrameObserver struct {
	mu sync.Mutex

	// prefaceLeft counts the client preface bytes still to skip (sent
	// direction only).
	prefaceLeft int

	hdr    [h2FrameHeaderLen]byte
	hdrN   int
	cur    h2Frame
	remain int    // payload bytes of cur not yet seen
	keep   bool   // collecting cur's payload
	pay    []byte // collected payload

	// HPACK state, kept in step with the peer's encoder only while every
	// header block has been decoded. A block skipped (nobody was
	// capturing) desynchronises the table for good; headers are then no
	// longer decoded on this connection.
	dec        *hpack.Decoder
	decoded    []hpack.HeaderField
	hpackOff   bool
	block      []byte // header block fragments of an unfinished HEADERS
	blockFrame h2Frame
	inBlock    bool // a HEADERS frame awaits its CONTINUATIONs

	// maxStreamID is the highest stream id seen on HEADERS; a HEADERS with
	// a higher id opens a stream.
	maxStreamID uint32
	// expect (sent direction) is the request whose HEADERS frame comes
	// next: its stream's WroteHeaderField hook registers it while the
	// ClientConn encodes the header block, holding its write lock, right
	// before it writes the frame. A registration that no frame followed
	// (the write failed) is replaced by the next one.
	expect *h2SentHeaders

	// wantHeaders reports whether header blocks should be decoded (a
	// NetLog is capturing); emit receives the frames. Both are called
	// with mu held, from the feeding goroutine.
	wantHeaders func() bool
	emit        func(f *h2Frame)
}

func newH2FrameObserver(sent bool, wantHeaders func() bool, emit func(*h2Frame)) *h2FrameObserver {
	o := &h2FrameObserver{wantHeaders: wantHeaders, emit: emit}
	if sent {
		o.prefaceLeft = len(h2ClientPreface)
		// Sent header blocks need no decoding: the ClientConn reports
		// each field as it encodes it (h2SentHeaders).
		o.hpackOff = true
	}
	o.dec = hpack.NewDecoder(h2HeaderTableSize, func(f hpack.HeaderField) {
		o.decoded = append(o.decoded, f)
	})
	return o
}

// feed parses p, the next bytes of the stream.
func (o *h2FrameObserver) feed(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.prefaceLeft > 0 {
		n := min(o.prefaceLeft, len(p))
		o.prefaceLeft -= n
		p = p[n:]
	}
	for len(p) > 0 {
		if o.hdrN < h2FrameHeaderLen {
			n := copy(o.hdr[o.hdrN:], p)
			o.hdrN += n
			p = p[n:]
			if o.hdrN < h2FrameHeaderLen {
				return
			}
			o.startFrame()
			if o.remain > 0 {
				continue
			}
		} else {
			n := min(o.remain, len(p))
			if o.keep {
				o.pay = append(o.pay, p[:n]...)
			}
			o.remain -= n
			p = p[n:]
			if o.remain > 0 {
				return
			}
		}
		o.endFrame()
	}
}

func (o *h2FrameObserver) startFrame() {
	h := o.hdr[:]
	length := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
	o.cur = h2Frame{
		Type:     http2.FrameType(h[3]),
		Flags:    http2.Flags(h[4]),
		StreamID: binary.BigEndian.Uint32(h[5:]) & (1<<31 - 1),
		Length:   length,
	}
	o.remain = length
	o.pay = o.pay[:0]
	switch o.cur.Type {
	case http2.FrameSettings, http2.FrameGoAway, http2.FrameRSTStream,
		http2.FrameWindowUpdate, http2.FramePing:
		o.keep = true
	case http2.FrameHeaders, http2.FrameContinuation:
		// Header blocks are collected only while they are decoded.
		o.keep = !o.hpackOff
	default:
		o.keep = false
	}
	if o.keep && length > h2MaxCollected {
		// Larger than any frame the ClientConn accepts: it will fail the
		// connection; do not hoard the bytes meanwhile.
		o.keep = false
		if o.cur.Type == http2.FrameHeaders || o.cur.Type == http2.FrameContinuation {
			o.hpackOff = true
		}
	}
}

func (o *h2FrameObserver) endFrame() {
	o.hdrN = 0
	f := &o.cur
	p := o.pay
	switch f.Type {
	case http2.FrameSettings:
		for len(p) >= 6 {
			f.Settings = append(f.Settings, http2.Setting{
				ID:  http2.SettingID(binary.BigEndian.Uint16(p)),
				Val: binary.BigEndian.Uint32(p[2:]),
			})
			p = p[6:]
		}
	case http2.FrameGoAway:
		if len(p) >= 8 {
			f.LastStreamID = binary.BigEndian.Uint32(p) & (1<<31 - 1)
			f.ErrCode = http2.ErrCode(binary.BigEndian.Uint32(p[4:]))
			f.DebugData = append([]byte(nil), p[8:min(len(p), 8+h2MaxLoggedDebugData)]...)
		}
	case http2.FrameRSTStream:
		if len(p) >= 4 {
			f.ErrCode = http2.ErrCode(binary.BigEndian.Uint32(p))
		}
	case http2.FrameWindowUpdate:
		if len(p) >= 4 {
			f.Increment = binary.BigEndian.Uint32(p) & (1<<31 - 1)
		}
	case http2.FramePing:
		if len(p) >= 8 {
			f.PingData = binary.BigEndian.Uint64(p)
		}
	case http2.FrameHeaders:
		if f.StreamID > o.maxStreamID {
			o.maxStreamID = f.StreamID
			f.Sent, o.expect = o.expect, nil
		}
		o.startHeaderBlock(f, p)
		if f.Flags&http2.FlagHeadersEndHeaders == 0 {
			return // the CONTINUATIONs finish it
		}
		o.finishHeaderBlock()
		return
	case http2.FrameContinuation:
		if o.inBlock {
			if o.keep {
				o.block = append(o.block, p...)
			}
			if f.Flags&http2.FlagContinuationEndHeaders != 0 {
				o.finishHeaderBlock()
			}
		}
		return
	}
	o.emit(f)
}

// startHeaderBlock takes the fragment of a HEADERS frame, without padding
// and priority fields.
func (o *h2FrameObserver) startHeaderBlock(f *h2Frame, p []byte) {
	o.blockFrame = *f
	o.block = o.block[:0]
	o.inBlock = true
	if !o.keep {
		return
	}
	if f.Flags&http2.FlagHeadersPadded != 0 {
		if len(p) < 1 || int(p[0]) > len(p)-1 {
			o.hpackOff = true
			return
		}
		p = p[1 : len(p)-int(p[0])]
	}
	if f.Flags&http2.FlagHeadersPriority != 0 {
		if len(p) < 5 {
			o.hpackOff = true
			return
		}
		p = p[5:]
	}
	o.block = append(o.block, p...)
}

// finishHeaderBlock decodes a complete header block (if headers are still
// decoded on this connection) and emits its HEADERS frame.
func (o *h2FrameObserver) finishHeaderBlock() {
	f := o.blockFrame
	if !o.hpackOff && !o.wantHeaders() {
		o.hpackOff = true
	}
	if !o.hpackOff {
		o.decoded = nil
		_, err := o.dec.Write(o.block)
		if err == nil {
			err = o.dec.Close()
		}
		if err != nil {
			o.hpackOff = true
		} else {
			f.Headers = o.decoded
		}
		o.decoded = nil
	}
	o.block = o.block[:0]
	o.blockFrame = h2Frame{}
	o.inBlock = false
	o.emit(&f)
}

// expectHeaders registers the request whose HEADERS frame is written next.
func (o *h2FrameObserver) expectHeaders(h *h2SentHeaders) {
	o.mu.Lock()
	o.expect = h
	o.mu.Unlock()
}

// h2SentHeaders is one request's header block as the ClientConn encoded it,
// collected by the WroteHeaderField hook of the request's trace. The hook
// and the frame observer run in the goroutine writing the request, under
// the ClientConn's write lock; the loop reads it only after the frame was
// posted.
type h2SentHeaders struct {
	stream *H2Stream
	// fields are in the order sent, names lower-cased.
	fields     []HeaderField
	registered bool
}

// h2ErrCodeString is Chromium's form of an HTTP/2 error code in NetLog
// parameters: "8 (CANCEL)".
func h2ErrCodeString(c http2.ErrCode) string {
	return strconv.FormatUint(uint64(c), 10) + " (" + c.String() + ")"
}

// h2SettingString is Chromium's form of a setting: "[id:3
// (SETTINGS_MAX_CONCURRENT_STREAMS)] value:100".
func h2SettingString(s http2.Setting) string {
	return "[id:" + h2SettingIDString(s.ID) + "] value:" + strconv.FormatUint(uint64(s.Val), 10)
}

func h2SettingIDString(id http2.SettingID) string {
	return strconv.FormatUint(uint64(id), 10) + " (SETTINGS_" + id.String() + ")"
}
