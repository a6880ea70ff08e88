//lint:file-ignore SA1019 x/net/http2's ClientConn is the HTTP/2 engine the design chose; net/http's replacement would bring its own dialing and pooling, a second HTTP stack.

package http

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/netfetch/netfetch/net"
)

func TestH2ErrorResult(t *testing.T) {
	for _, c := range []struct {
		err  error
		want net.Error
	}{
		{net.ErrUploadFileChanged, net.ErrUploadFileChanged},
		{fmt.Errorf("wrapped: %w", net.ErrConnectionReset), net.ErrConnectionReset},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeInternal}, net.ErrHTTP2ProtocolError},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeProtocol}, net.ErrHTTP2ProtocolError},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeCancel}, net.ErrHTTP2ProtocolError},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeRefusedStream}, net.ErrHTTP2ServerRefusedStream},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeNo}, net.ErrHTTP2RstStreamNoErrorReceived},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeStreamClosed}, net.ErrHTTP2StreamClosed},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeHTTP11Required}, net.ErrHTTP11Required},
		{http2.StreamError{StreamID: 1, Code: http2.ErrCodeFlowControl}, net.ErrHTTP2FlowControlError},
		{http2.ConnectionError(http2.ErrCodeCompression), net.ErrHTTP2CompressionError},
		{http2.ConnectionError(http2.ErrCodeProtocol), net.ErrHTTP2ProtocolError},
		{http2.GoAwayError{ErrCode: http2.ErrCodeNo}, net.ErrConnectionClosed},
		{http2.GoAwayError{ErrCode: http2.ErrCodeEnhanceYourCalm}, net.ErrHTTP2ProtocolError},
		{errors.New("http2: Transport received Server's graceful shutdown GOAWAY"), net.ErrHTTP2ServerRefusedStream},
		{errors.New("http2: client connection force closed via ClientConn.Close"), net.ErrConnectionClosed},
		{errors.New("http2: client conn not usable"), net.ErrConnectionClosed},
		{errors.New("http2: client connection lost"), net.ErrConnectionClosed},
		{errors.New("http2: response body closed"), net.ErrAborted},
		{errors.New("http2: something new"), net.ErrHTTP2ProtocolError},
		{context.Canceled, net.ErrAborted},
		{io.ErrUnexpectedEOF, net.ErrConnectionClosed},
		{syscall.ECONNRESET, net.ErrConnectionReset},
		{errors.New("mystery"), net.ErrFailed},
	} {
		if got := net.Error(h2ErrorResult(c.err)); got != c.want {
			t.Errorf("h2ErrorResult(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestH2ConnErrorResult(t *testing.T) {
	for _, c := range []struct {
		err  error
		want net.Error
	}{
		{io.EOF, net.ErrConnectionClosed},
		{net.ErrConnectionReset, net.ErrConnectionReset},
		{net.ErrSocketNotConnected, net.ErrSocketNotConnected},
		{errors.New("odd"), net.ErrConnectionClosed},
	} {
		if got := net.Error(h2ConnErrorResult(c.err)); got != c.want {
			t.Errorf("h2ConnErrorResult(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// The frame observer follows frames split anywhere across writes, skips
// the client preface, and decodes header blocks split over CONTINUATIONs.
func TestH2FrameObserver(t *testing.T) {
	var buf bytesBuffer
	fr := http2.NewFramer(&buf, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 7})
	block := h2EncodeHeaders(t, ":status", "200", "x-a", "1", "x-b", "2")
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:3], EndHeaders: false})
	fr.WriteContinuation(1, true, block[3:])
	fr.WriteData(1, true, []byte("body"))
	fr.WriteRSTStream(3, http2.ErrCodeRefusedStream)
	fr.WriteGoAway(5, http2.ErrCodeEnhanceYourCalm, []byte("calm"))
	wire := append([]byte(h2ClientPreface), buf.b...)

	for _, step := range []int{1, 2, 7, 9, 10, len(wire)} {
		var got []h2Frame
		o := newH2FrameObserver(true, func() bool { return true }, func(f *h2Frame) { got = append(got, *f) })
		o.hpackOff = false // decode here, as the received direction does
		for i := 0; i < len(wire); i += step {
			o.feed(wire[i:min(i+step, len(wire))])
		}
		if len(got) != 5 {
			t.Fatalf("step %d: %d frames", step, len(got))
		}
		if s := got[0].Settings; len(s) != 1 || s[0].Val != 7 {
			t.Errorf("step %d: settings %v", step, s)
		}
		if h := got[1].Headers; len(h) != 3 || h[2].Name != "x-b" || h[2].Value != "2" || got[1].endStream() {
			t.Errorf("step %d: headers %v", step, h)
		}
		if got[2].Type != http2.FrameData || got[2].Length != 4 || !got[2].endStream() {
			t.Errorf("step %d: data %+v", step, got[2])
		}
		if got[3].ErrCode != http2.ErrCodeRefusedStream || got[3].StreamID != 3 {
			t.Errorf("step %d: rst %+v", step, got[3])
		}
		if g := got[4]; g.LastStreamID != 5 || g.ErrCode != http2.ErrCodeEnhanceYourCalm || string(g.DebugData) != "calm" {
			t.Errorf("step %d: goaway %+v", step, g)
		}
	}
	if s := h2ErrCodeString(http2.ErrCodeCancel); s != "8 (CANCEL)" {
		t.Errorf("h2ErrCodeString = %q", s)
	}
	if s := h2SettingString(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}); s != "[id:3 (SETTINGS_MAX_CONCURRENT_STREAMS)] value:100" {
		t.Errorf("h2SettingString = %q", s)
	}
}

type bytesBuffer struct{ b []byte }

func (w *bytesBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func h2EncodeHeaders(t *testing.T, kv ...string) []byte {
	t.Helper()
	var out bytesBuffer
	enc := hpack.NewEncoder(&out)
	for i := 0; i < len(kv); i += 2 {
		if err := enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}); err != nil {
			t.Fatal(err)
		}
	}
	return out.b
}
