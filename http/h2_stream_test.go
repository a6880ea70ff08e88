package http_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	nethttp "net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// h2EchoHandler answers with what it received: method, protocol, the
// request's headers as response headers (X-Got-*), and the body's length
// and digest.
func h2EchoHandler(w nethttp.ResponseWriter, r *nethttp.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		nethttp.Error(w, err.Error(), 500)
		return
	}
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("X-Got-Proto", r.Proto)
	h.Set("X-Got-Method", r.Method)
	h.Set("X-Got-Host", r.Host)
	h.Set("X-Got-Content-Length", fmt.Sprint(r.ContentLength))
	h.Set("X-Got-Len", fmt.Sprint(len(body)))
	h.Set("X-Got-Sha", hex.EncodeToString(sum[:]))
	for _, name := range []string{"Connection", "Keep-Alive", "Transfer-Encoding", "User-Agent", "X-Test"} {
		if v, ok := r.Header[name]; ok {
			h.Set("X-Got-"+name, strings.Join(v, ","))
		}
	}
	h.Add("Set-Cookie", "a=1")
	h.Add("Set-Cookie", "b=2")
	io.WriteString(w, "hello, h2")
}

func h2Header(t *testing.T, r h2Result, name string) string {
	t.Helper()
	v, _ := r.resp.Headers.Get(name)
	return v
}

func TestH2GetWithBody(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(h2EchoHandler))
	s := e.newSession()
	r := e.fetch(s, h2Request{path: "/x?y=1", header: [][2]string{{"X-Test", "1"}}})
	if r.rv != net.OK {
		t.Fatalf("%s: %v", r.stage, net.Error(r.rv))
	}
	h := r.resp.Headers
	if h.StatusCode() != 200 || h.StatusLine() != "HTTP/2.0 200 OK" {
		t.Errorf("status line %q", h.StatusLine())
	}
	if maj, min := h.Version(); maj != 2 || min != 0 {
		t.Errorf("version %d.%d", maj, min)
	}
	if !h.IsKeepAlive() {
		t.Error("an HTTP/2 response must not look like a closing one")
	}
	if string(r.body) != "hello, h2" {
		t.Errorf("body %q", r.body)
	}
	if r.resp.ALPN != "h2" || !r.resp.RemoteEndpoint.IsValid() {
		t.Errorf("ALPN %q, remote %v", r.resp.ALPN, r.resp.RemoteEndpoint)
	}
	for name, want := range map[string]string{
		"x-got-proto": "HTTP/2.0", "x-got-method": "GET", "x-got-host": e.srv.Listener.Addr().String(),
		"x-got-x-test": "1", "content-type": "text/plain",
	} {
		if got := h2Header(t, r, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	// Hop-by-hop fields are not sent, and no Go User-Agent is made up.
	for _, name := range []string{"x-got-connection", "x-got-keep-alive", "x-got-transfer-encoding", "x-got-user-agent"} {
		if h.Has(name) {
			v, _ := h.Get(name)
			t.Errorf("server saw %s: %q", name, v)
		}
	}
	if got := h.Values("set-cookie"); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Errorf("set-cookie %q", got)
	}
	if r.reused {
		t.Error("the first stream of a session is not on a reused connection")
	}
	if r.recvLen != int64(len("hello, h2")) {
		t.Errorf("ReceivedBytes %d", r.recvLen)
	}

	// A second stream shares the connection and says so.
	r2 := e.fetch(s, h2Request{})
	if r2.rv != net.OK || !r2.reused {
		t.Errorf("second stream: %v, reused %v", net.Error(r2.rv), r2.reused)
	}
	if n := e.srv.conns.Load(); n != 1 {
		t.Errorf("server saw %d connections", n)
	}
	if got := h2OnLoop(e, func() *http.H2Session { return e.h2pool.Find(e.key, netlog.WithSource{}) }); got != s {
		t.Error("the pool does not offer the session")
	}
	if r.stream.SocketSource() != s.SocketSource() || !s.SocketSource().IsValid() {
		t.Error("the stream's socket source is not the session's")
	}
}

func TestH2NetLog(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(h2EchoHandler))
	s := e.newSession()
	r := e.fetch(s, h2Request{path: "/log", header: [][2]string{{"Cookie", "secret"}}})
	if r.rv != net.OK {
		t.Fatalf("%s: %v", r.stage, net.Error(r.rv))
	}
	sid := s.NetLog().Source().ID
	begin := e.rec.One(t, netlog.EventHTTP2Session, netlog.PhaseBegin, sid)
	host, port := e.srv.hostPort()
	if begin.Params["host"] != fmt.Sprintf("%s:%d", host, port) || begin.Params["proxy"] != "[direct://]" {
		t.Errorf("HTTP2_SESSION params %v", begin.Params)
	}
	e.eventually("HTTP2_SESSION_INITIALIZED", func() bool {
		return len(e.rec.Find(netlog.EventHTTP2SessionInitialized, netlog.PhaseNone, sid)) == 1
	})
	e.eventually("SEND_HEADERS", func() bool {
		return len(e.rec.Find(netlog.EventHTTP2SessionSendHeaders, netlog.PhaseNone, sid)) == 1
	})
	sent := e.rec.One(t, netlog.EventHTTP2SessionSendHeaders, netlog.PhaseNone, sid)
	lines := sent.Params["headers"].([]string)
	for _, want := range []string{":method: GET", ":path: /log", ":scheme: https", "cookie: secret"} {
		if !slices.Contains(lines, want) {
			t.Errorf("SEND_HEADERS lacks %q: %q", want, lines)
		}
	}
	if slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "connection:") }) {
		t.Errorf("SEND_HEADERS has a connection header: %q", lines)
	}
	dep, _ := sent.Params["source_dependency"].(netlog.Params)
	if dep == nil || dep["id"] != r.nlSrc.ID || sent.Params["stream_id"] != uint32(1) || sent.Params["fin"] != true {
		t.Errorf("SEND_HEADERS params %v (request source %d)", sent.Params, r.nlSrc.ID)
	}
	if r.stream.StreamID() != 1 {
		t.Errorf("stream id %d", r.stream.StreamID())
	}
	recv := e.rec.One(t, netlog.EventHTTP2SessionRecvHeaders, netlog.PhaseNone, sid)
	if l := recv.Params["headers"].([]string); !slices.Contains(l, ":status: 200") {
		t.Errorf("RECV_HEADERS %q", l)
	}
	for _, ev := range []netlog.EventType{netlog.EventHTTP2SessionSendSettings, netlog.EventHTTP2SessionRecvSettings, netlog.EventHTTP2SessionRecvData} {
		if len(e.rec.Find(ev, netlog.PhaseNone, sid)) == 0 {
			t.Errorf("no %v", ev)
		}
	}
	setting := e.rec.Find(netlog.EventHTTP2SessionRecvSetting, netlog.PhaseNone, sid)
	if len(setting) == 0 || !strings.Contains(fmt.Sprint(setting[0].Params["id"]), "(SETTINGS_") {
		t.Errorf("RECV_SETTING %v", setting)
	}

	// What the transaction logs on the request, with secrets elided below
	// IncludeSensitive.
	info := &http.RequestInfo{Method: "POST", URL: h2MustURL(t, e.srv.URL+"/p"), Upload: http.NewBytesUpload([]byte("abc"))}
	var hdrs http.RequestHeaders
	hdrs.Set("Host", "example.test")
	hdrs.Set("Connection", "keep-alive")
	hdrs.Set("Content-Length", "3")
	hdrs.Set("Cookie", "secret")
	p := http.H2RequestHeadersNetLogParams(info, &hdrs, netlog.Default)
	want := []string{":method: POST", ":authority: example.test", ":scheme: https", ":path: /p", "cookie: [6 bytes were stripped]", "content-length: 3"}
	if got := p["headers"].([]string); !slices.Equal(got, want) {
		t.Errorf("H2RequestHeadersNetLogParams = %q, want %q", got, want)
	}

	// Polled data.
	info2 := h2OnLoop(e, e.h2pool.Info)
	if len(info2) != 1 || info2[0]["source_id"] != sid || info2[0]["streams_initiated_count"] != 1 ||
		info2[0]["negotiated_protocol"] != "h2" || info2[0]["is_closed"] != false {
		t.Errorf("Info %v", info2)
	}

	nettest.OnLoop(t, e.loop, e.h2pool.CloseAll)
	closeEv := e.rec.One(t, netlog.EventHTTP2SessionClose, netlog.PhaseNone, sid)
	if closeEv.Params["net_error"] != int(net.ErrAborted) {
		t.Errorf("HTTP2_SESSION_CLOSE %v", closeEv.Params)
	}
	e.rec.One(t, netlog.EventHTTP2SessionPoolRemoveSession, netlog.PhaseNone, sid)
	e.rec.One(t, netlog.EventHTTP2Session, netlog.PhaseEnd, sid)
	// Nothing is logged on the session after its end.
	all := e.rec.All()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Source.ID == sid {
			if all[i].Type != netlog.EventHTTP2Session || all[i].Phase != netlog.PhaseEnd {
				t.Errorf("last session event is %v", all[i].Type)
			}
			break
		}
	}
}

func TestH2PostBytesUpload(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(h2EchoHandler))
	s := e.newSession()
	data := make([]byte, 300<<10)
	rand.Read(data)
	sum := sha256.Sum256(data)
	r := e.fetch(s, h2Request{method: "POST", upload: http.NewBytesUpload(data)})
	if r.rv != net.OK {
		t.Fatalf("%s: %v", r.stage, net.Error(r.rv))
	}
	if h2Header(t, r, "x-got-len") != fmt.Sprint(len(data)) || h2Header(t, r, "x-got-content-length") != fmt.Sprint(len(data)) ||
		h2Header(t, r, "x-got-sha") != hex.EncodeToString(sum[:]) {
		t.Errorf("server got len %s, content-length %s", h2Header(t, r, "x-got-len"), h2Header(t, r, "x-got-content-length"))
	}

	// An empty body still says content-length: 0 for a POST.
	r = e.fetch(s, h2Request{method: "POST", upload: http.NewBytesUpload(nil)})
	if r.rv != net.OK || h2Header(t, r, "x-got-content-length") != "0" {
		t.Errorf("empty POST: %v, content-length %q", net.Error(r.rv), h2Header(t, r, "x-got-content-length"))
	}
}

func TestH2PostReaderUpload(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(h2EchoHandler))
	s := e.newSession()
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320000 bytes
	sum := sha256.Sum256(data)
	up := http.NewReaderUpload(e.loop, h2HalfReader{bytes.NewReader(data)}, -1)
	r := e.fetch(s, h2Request{method: "PUT", upload: up})
	if r.rv != net.OK {
		t.Fatalf("%s: %v", r.stage, net.Error(r.rv))
	}
	if h2Header(t, r, "x-got-len") != fmt.Sprint(len(data)) || h2Header(t, r, "x-got-sha") != hex.EncodeToString(sum[:]) {
		t.Errorf("server got %s bytes", h2Header(t, r, "x-got-len"))
	}
	if got := h2Header(t, r, "x-got-content-length"); got != "-1" {
		t.Errorf("an unknown size must go without content-length; server saw %s", got)
	}

	// A reader that ends before its announced size fails the request.
	up = http.NewReaderUpload(e.loop, bytes.NewReader(data[:10]), 100)
	r = e.fetch(s, h2Request{method: "POST", upload: up})
	if r.rv != int(net.ErrUploadFileChanged) {
		t.Errorf("short upload: %v at %s", net.Error(r.rv), r.stage)
	}
	// The session is fine afterwards.
	if r := e.fetch(s, h2Request{}); r.rv != net.OK {
		t.Errorf("after a failed upload: %v", net.Error(r.rv))
	}
}

// h2HalfReader returns at most half of what is asked, to exercise
// partial chunks.
type h2HalfReader struct{ r io.Reader }

func (h h2HalfReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:len(p)/2]
	}
	return h.r.Read(p)
}

func TestH2ConcurrentStreams(t *testing.T) {
	const n = 20
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		// Every handler waits for all 20: they must be in flight at once.
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(nettest.HangGuard):
			nethttp.Error(w, "not concurrent", 500)
			return
		}
		io.WriteString(w, r.URL.Path)
	}))
	s := e.newSession()
	var results []<-chan h2Result
	for i := range n {
		results = append(results, e.start(s, h2Request{path: fmt.Sprintf("/%d", i)}))
	}
	e.eventually("20 active streams", func() bool { return e.h2pool.Info()[0]["active_streams"] == n })
	for i, c := range results {
		r := e.wait(c)
		if r.rv != net.OK || r.resp.Headers.StatusCode() != 200 || string(r.body) != fmt.Sprintf("/%d", i) {
			t.Errorf("stream %d: %v, %q", i, net.Error(r.rv), r.body)
		}
	}
	if c := e.srv.conns.Load(); c != 1 {
		t.Errorf("server saw %d connections, want 1", c)
	}
	info := h2OnLoop(e, e.h2pool.Info)[0]
	if info["streams_initiated_count"] != n || info["active_streams"] != 0 {
		t.Errorf("Info %v", info)
	}
}

func TestH2LargeBody(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fastPath=%v", fast), func(t *testing.T) {
			data := make([]byte, 8<<20)
			rand.Read(data)
			e := newH2EnvWith(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(data)))
				w.Write(data)
			}), h2EnvOptions{fastPath: fast})
			s := e.newSession()
			r := e.fetch(s, h2Request{bodyBuf: 32 << 10})
			if r.rv != net.OK {
				t.Fatalf("%s: %v", r.stage, net.Error(r.rv))
			}
			if !bytes.Equal(r.body, data) {
				t.Fatalf("body differs: %d bytes, want %d", len(r.body), len(data))
			}
			if r.recvLen != int64(len(data)) {
				t.Errorf("ReceivedBytes %d", r.recvLen)
			}
			if cl := r.resp.Headers.ContentLength(); cl != int64(len(data)) {
				t.Errorf("content-length %d", cl)
			}
		})
	}
}

func TestH2StreamReset(t *testing.T) {
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/abort-mid-body":
			w.Write(bytes.Repeat([]byte("x"), 1000))
			w.(nethttp.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
			panic(nethttp.ErrAbortHandler)
		case "/refuse":
			// Not possible through net/http's server; covered by the
			// error mapping test.
		}
		io.WriteString(w, "ok")
	}))
	s := e.newSession()
	r := e.fetch(s, h2Request{path: "/panic"})
	if r.rv != int(net.ErrHTTP2ProtocolError) || r.stage != "headers" {
		t.Errorf("handler panic: %v at %s", net.Error(r.rv), r.stage)
	}
	r = e.fetch(s, h2Request{path: "/abort-mid-body"})
	if r.rv != int(net.ErrHTTP2ProtocolError) || r.stage != "body" || len(r.body) != 1000 {
		t.Errorf("reset mid-body: %v at %s after %d bytes", net.Error(r.rv), r.stage, len(r.body))
	}
	e.eventually("RECV_RST_STREAM logged", func() bool {
		return len(e.rec.Find(netlog.EventHTTP2SessionRecvRstStream, netlog.PhaseNone, s.NetLog().Source().ID)) == 2
	})
	// A stream reset leaves the session alone.
	if r := e.fetch(s, h2Request{}); r.rv != net.OK || string(r.body) != "ok" {
		t.Errorf("after resets: %v", net.Error(r.rv))
	}
	if !h2OnLoop(e, s.CanTakeNewRequest) || e.srv.conns.Load() != 1 {
		t.Error("the session should have survived the resets")
	}
}

func TestH2ServerClosesConnection(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 4)
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/hang" {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "ok")
	}))
	defer close(release)
	s := e.newSession()
	if r := e.fetch(s, h2Request{}); r.rv != net.OK {
		t.Fatalf("warm-up: %v", net.Error(r.rv))
	}
	pending := []<-chan h2Result{e.start(s, h2Request{path: "/hang"}), e.start(s, h2Request{path: "/hang"})}
	for range pending {
		select {
		case <-entered:
		case <-time.After(nettest.HangGuard):
			t.Fatal("the requests did not reach the server")
		}
	}
	handedOut := func() any { return e.pool.Info()["handed_out_socket_count"] }
	if got := h2OnLoop(e, handedOut); got != 1 {
		t.Errorf("the session's socket is not handed out: %v", got)
	}

	e.srv.CloseClientConnections()
	for i, c := range pending {
		r := e.wait(c)
		if r.rv != int(net.ErrConnectionClosed) && r.rv != int(net.ErrConnectionReset) {
			t.Errorf("pending stream %d: %v at %s", i, net.Error(r.rv), r.stage)
		}
	}
	e.eventually("the session closes", s.IsClosed)
	nettest.OnLoop(t, e.loop, func() {
		if e.h2pool.Find(e.key, netlog.WithSource{}) != nil || e.h2pool.Len() != 0 {
			t.Error("a closed session is still in the pool")
		}
		if got := handedOut(); got != 0 {
			t.Errorf("the socket was not released: handed out %v", got)
		}
		if e.pool.IdleSocketCount() != 0 {
			t.Error("the HTTP/2 socket went back to the pool as idle")
		}
	})
	// A stream on the dead session fails at once.
	r := e.fetch(s, h2Request{})
	if r.rv != int(net.ErrConnectionClosed) || r.stage != "send" {
		t.Errorf("stream on a closed session: %v at %s", net.Error(r.rv), r.stage)
	}
	closeEv := e.rec.One(t, netlog.EventHTTP2SessionClose, netlog.PhaseNone, s.NetLog().Source().ID)
	if rv := closeEv.Params["net_error"]; rv != int(net.ErrConnectionClosed) && rv != int(net.ErrConnectionReset) {
		t.Errorf("HTTP2_SESSION_CLOSE %v", closeEv.Params)
	}
}

func TestH2GoAway(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "done "+r.URL.Path)
	}))
	s := e.newSession()
	slow := e.start(s, h2Request{path: "/slow"})
	<-entered

	// A graceful shutdown sends GOAWAY and lets the stream in flight end.
	shutdownDone := make(chan error, 1)
	go func() { shutdownDone <- e.srv.Config.Shutdown(t.Context()) }()
	sid := s.NetLog().Source().ID
	e.eventually("RECV_GOAWAY", func() bool {
		return len(e.rec.Find(netlog.EventHTTP2SessionRecvGoaway, netlog.PhaseNone, sid)) > 0
	})
	nettest.OnLoop(t, e.loop, func() {
		if s.CanTakeNewRequest() {
			t.Error("a session that got GOAWAY takes new requests")
		}
		if e.h2pool.Find(e.key, netlog.WithSource{}) != nil {
			t.Error("the pool still offers a session that got GOAWAY")
		}
		if e.h2pool.Len() != 1 || s.IsClosed() {
			t.Error("the session must stay alive while its stream runs")
		}
	})
	// No new stream starts on it.
	if r := e.fetch(s, h2Request{}); r.rv != int(net.ErrConnectionClosed) || r.stage != "send" {
		t.Errorf("new stream after GOAWAY: %v at %s", net.Error(r.rv), r.stage)
	}
	close(release)
	r := e.wait(slow)
	if r.rv != net.OK || string(r.body) != "done /slow" {
		t.Errorf("stream in flight: %v %q", net.Error(r.rv), r.body)
	}
	e.eventually("the session closes after its last stream", s.IsClosed)
	select {
	case <-shutdownDone:
	case <-time.After(nettest.HangGuard):
		t.Error("the server still sees the connection")
	}
	g := e.rec.One(t, netlog.EventHTTP2SessionRecvGoaway, netlog.PhaseNone, sid)
	if g.Params["error_code"] != "0 (NO_ERROR)" || g.Params["active_streams"] != 1 {
		t.Errorf("RECV_GOAWAY %v", g.Params)
	}
}

func TestH2CloseMidBody(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	e := newH2Env(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.URL.Path != "/endless" {
			io.WriteString(w, "ok")
			return
		}
		chunk := bytes.Repeat([]byte("z"), 16<<10)
		for {
			if _, err := w.Write(chunk); err != nil {
				break
			}
			w.(nethttp.Flusher).Flush()
			select {
			case <-r.Context().Done():
				cancelled <- struct{}{}
				return
			default:
			}
		}
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(nettest.HangGuard):
		}
	}))
	s := e.newSession()
	r := e.fetch(s, h2Request{path: "/endless", stopAfter: 100 << 10})
	if r.rv != net.OK || len(r.body) < 100<<10 {
		t.Fatalf("%v after %d bytes", net.Error(r.rv), len(r.body))
	}
	select {
	case <-cancelled:
	case <-time.After(nettest.HangGuard):
		t.Fatal("the server never saw the stream cancelled")
	}
	e.eventually("SEND_RST_STREAM", func() bool {
		return len(e.rec.Find(netlog.EventHTTP2SessionSendRstStream, netlog.PhaseNone, s.NetLog().Source().ID)) == 1
	})
	if r := e.fetch(s, h2Request{}); r.rv != net.OK || string(r.body) != "ok" {
		t.Errorf("after a cancelled stream: %v", net.Error(r.rv))
	}
	info := h2OnLoop(e, e.h2pool.Info)[0]
	if info["streams_abandoned_count"] != 1 || info["active_streams"] != 0 {
		t.Errorf("Info %v", info)
	}
}

func TestH2NoGoroutineLeak(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fastPath=%v", fast), func(t *testing.T) {
			e := newH2EnvWith(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
				if r.URL.Path == "/hang" {
					<-r.Context().Done()
					return
				}
				io.Copy(io.Discard, r.Body)
				w.Write(bytes.Repeat([]byte("y"), 200<<10))
			}), h2EnvOptions{fastPath: fast})
			// Warm up what outlives one session (the server's listener,
			// the resolver) before taking the baseline.
			s0 := e.newSession()
			e.fetch(s0, h2Request{})
			nettest.OnLoop(t, e.loop, s0.Close)
			base := h2SettledGoroutines()

			s := e.newSession()
			for range 3 {
				if r := e.fetch(s, h2Request{method: "POST", upload: http.NewBytesUpload(make([]byte, 70000))}); r.rv != net.OK {
					t.Fatalf("%v", net.Error(r.rv))
				}
			}
			// One abandoned mid-body, one waiting for headers, one upload
			// waiting for its reader: all in flight when the session goes.
			if r := e.fetch(s, h2Request{stopAfter: 1}); r.rv != net.OK {
				t.Fatalf("%v", net.Error(r.rv))
			}
			hang := e.start(s, h2Request{path: "/hang"})
			pr, pw := io.Pipe()
			defer pw.Close()
			stuck := e.start(s, h2Request{method: "POST", path: "/hang", upload: http.NewReaderUpload(e.loop, pr, -1)})
			e.eventually("two active streams", func() bool { return e.h2pool.Info()[0]["active_streams"] == 2 })
			nettest.OnLoop(t, e.loop, e.h2pool.CloseAll)
			for _, c := range []<-chan h2Result{hang, stuck} {
				if r := e.wait(c); r.rv != int(net.ErrAborted) {
					t.Errorf("stream of a closed session: %v at %s", net.Error(r.rv), r.stage)
				}
			}
			pw.Close() // the ReaderUpload's goroutine waits on the pipe
			testserver.CheckGoroutines(t, base)
		})
	}
}

// h2SettledGoroutines lets goroutines that are ending (a closed session's)
// finish before the count is taken.
func h2SettledGoroutines() int {
	n, same := testserver.GoroutineBaseline(), 0
	for i := 0; i < 300 && same < 10; i++ {
		time.Sleep(10 * time.Millisecond)
		if m := testserver.GoroutineBaseline(); m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}
