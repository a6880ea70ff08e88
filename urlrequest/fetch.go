package urlrequest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"sync"

	"github.com/netfetch/netfetch/http"
	"github.com/netfetch/netfetch/net"
)

// Body buffers: a response body is read on the loop into one of two
// buffers while the caller copies out of the other. They come from a pool,
// so a small response costs no fresh 64 KiB allocations (and no zeroing).
const (
	bodyChunkSize = 64 << 10
	bodyBuffers   = 2
)

var bodyBufferPool = sync.Pool{New: func() any {
	b := make([]byte, bodyChunkSize)
	return &b
}}

func getBodyBuffer() []byte { return *bodyBufferPool.Get().(*[]byte) }

func putBodyBuffer(b []byte) {
	b = b[:cap(b)]
	bodyBufferPool.Put(&b)
}

// Header is one request header field.
type Header struct{ Name, Value string }

// FetchRequest describes a request for Context.Fetch.
type FetchRequest struct {
	// Method defaults to GET.
	Method string
	// URL is absolute: http:// or https://.
	URL string
	// Headers are sent in order after the ones the stack adds.
	Headers []Header
	// Body is sent as the request body when not nil; BodyReader is used
	// when Body is nil (ContentLength -1 sends it chunked).
	Body          []byte
	BodyReader    io.Reader
	ContentLength int64
	// LoadFlags are Chromium load flags.
	LoadFlags net.LoadFlags
	// Priority is the request's priority; the zero value (THROTTLED) means
	// net.DefaultPriority (LOWEST).
	Priority net.RequestPriority
	// MaxRedirects limits redirects (default 20 when 0; negative: none).
	MaxRedirects int
	// NoFollowRedirects returns a redirect response as the final response.
	NoFollowRedirects bool
}

// Response is the result of Context.Fetch.
type Response struct {
	// URL is the final URL after redirects; URLChain has all of them.
	URL      *url.URL
	URLChain []*url.URL
	// StatusCode and Status come from the final response.
	StatusCode int
	Status     string
	// Headers are the final response headers.
	Headers *http.ResponseHeaders
	// Info has the rest of what the stack knows (timing, endpoint, reuse).
	Info *http.ResponseInfo
	// Body streams the response body; close it when done.
	Body io.ReadCloser
}

// fetchDelegate bridges a Request on the loop to a goroutine waiting in
// Fetch and then reading the body.
type fetchDelegate struct {
	ctx     *Context
	req     *Request
	started chan startResult // OnResponseStarted's outcome

	// Loop-owned body pump: up to bodyBuffers buffers, one being filled
	// while the reader holds another.
	free     [][]byte
	buffers  int    // taken from the pool so far
	pending  []byte // the buffer of the read in flight
	reading  bool
	finished bool
	chunks   chan chunk
}

// startResult is what OnResponseStarted hands to the waiting Fetch: the
// response is built on the loop, where the request may be read.
type startResult struct {
	result int
	resp   *Response
}

type chunk struct {
	buf []byte
	err error // io.EOF at the end
}

func (d *fetchDelegate) OnReceivedRedirect(*Request, RedirectInfo, *bool) {}

func (d *fetchDelegate) OnResponseStarted(r *Request, result int) {
	if result != net.OK {
		d.started <- startResult{result: result}
		return
	}
	info := r.Response()
	d.started <- startResult{resp: &Response{
		URL:        r.URL(),
		URLChain:   append([]*url.URL(nil), r.URLChain()...),
		StatusCode: info.Headers.StatusCode(),
		Status:     info.Headers.StatusLine(),
		Headers:    info.Headers,
		Info:       info,
	}}
	// Start reading ahead after the delegate call has returned, so the
	// request's NetLog spans nest as Chrome's do.
	d.ctx.loop.Post(d.pump)
}

func (d *fetchDelegate) OnReadCompleted(r *Request, n int) {
	d.reading = false
	d.deliver(n)
	d.pump()
}

// pump reads ahead while a buffer is free, so a body that is already
// buffered reaches the reader without another trip to the loop.
func (d *fetchDelegate) pump() {
	for !d.reading && !d.finished {
		var buf []byte
		switch {
		case len(d.free) > 0:
			buf = d.free[len(d.free)-1]
			d.free = d.free[:len(d.free)-1]
		case d.buffers < bodyBuffers:
			d.buffers++
			buf = getBodyBuffer()
		default:
			return
		}
		d.reading = true
		d.pending = buf
		rv := d.req.Read(buf)
		if rv == net.IOPending {
			return
		}
		d.reading = false
		d.deliver(rv)
	}
}

func (d *fetchDelegate) deliver(rv int) {
	buf := d.pending
	d.pending = nil
	switch {
	case rv > 0:
		d.chunks <- chunk{buf: buf[:rv]}
	case rv == 0:
		d.finish(buf)
		d.chunks <- chunk{err: io.EOF}
	default:
		d.finish(buf)
		d.chunks <- chunk{err: net.Error(rv)}
	}
}

// finish stops the pump and returns the buffers it holds to the pool; the
// reader returns its own through giveBack.
func (d *fetchDelegate) finish(last []byte) {
	d.finished = true
	if last != nil {
		putBodyBuffer(last)
	}
	for _, b := range d.free {
		putBodyBuffer(b)
	}
	d.free = nil
}

// giveBack takes a buffer back from the reader, on the loop.
func (d *fetchDelegate) giveBack(buf []byte) {
	if d.finished {
		putBodyBuffer(buf)
		return
	}
	d.free = append(d.free, buf)
	d.pump()
}

// Fetch loads req and returns once the final response headers arrived. The
// error is a net.Error (errors.Is(err, net.ErrConnectionRefused)); when ctx
// ends first the error also wraps ctx.Err(). The body must be closed.
func (c *Context) Fetch(ctx context.Context, req *FetchRequest) (*Response, error) {
	u, err := url.Parse(req.URL)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", net.ErrInvalidURL, req.URL)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w: %q", net.ErrUnknownURLScheme, req.URL)
	}
	d := &fetchDelegate{
		ctx:     c,
		started: make(chan startResult, 1),
		// Never blocks the loop: at most two buffers plus the end marker
		// are ever outstanding.
		chunks: make(chan chunk, 3),
	}
	priority := req.Priority
	if priority == net.Throttled {
		priority = net.DefaultPriority
	}
	var upload http.UploadDataStream
	switch {
	case req.Body != nil:
		upload = http.NewBytesUpload(req.Body)
	case req.BodyReader != nil:
		size := req.ContentLength
		if size == 0 {
			size = -1
		}
		upload = http.NewReaderUpload(c.loop, req.BodyReader, size)
	}
	method := req.Method
	if method == "" {
		method = "GET"
	}
	if !c.loop.Post(func() {
		r := c.NewRequest(u, priority, d)
		d.req = r
		r.SetMethod(method)
		for _, h := range req.Headers {
			r.AddHeader(h.Name, h.Value)
		}
		if upload != nil {
			r.SetUpload(upload)
		}
		r.SetLoadFlags(req.LoadFlags)
		switch {
		case req.MaxRedirects > 0:
			r.SetMaxRedirects(req.MaxRedirects)
		case req.MaxRedirects < 0:
			r.SetMaxRedirects(0)
		}
		r.SetFollowRedirects(!req.NoFollowRedirects)
		r.Start()
	}) {
		return nil, net.ErrContextShutDown
	}

	var started startResult
	select {
	case started = <-d.started:
	case <-ctx.Done():
		c.loop.Post(func() { d.req.Cancel() })
		return nil, fmt.Errorf("%w: %w", net.ErrAborted, ctx.Err())
	case <-c.loop.Done():
		// The loop runs every queued task before it exits, so a result it
		// delivered (ErrAborted from Close) is waiting: prefer it.
		select {
		case started = <-d.started:
		default:
			return nil, net.ErrContextShutDown
		}
	}
	if started.result != net.OK {
		return nil, net.Error(started.result)
	}
	resp := started.resp
	resp.Body = &body{ctx: ctx, d: d}
	return resp, nil
}

// body is a response body read from the loop's pump.
type body struct {
	ctx    context.Context
	d      *fetchDelegate
	mu     sync.Mutex
	cur    []byte
	curBuf []byte
	err    error
	closed bool
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fill(); err != nil {
		return 0, err
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

// fill waits until b.cur holds bytes, or returns the body's final error
// (io.EOF at the end). Call with b.mu held.
func (b *body) fill() error {
	if b.closed {
		return net.ErrAborted
	}
	for len(b.cur) == 0 {
		if b.err != nil {
			return b.err
		}
		b.recycle()
		select {
		case c := <-b.d.chunks:
			b.take(c)
		case <-b.ctx.Done():
			b.err = fmt.Errorf("%w: %w", net.ErrAborted, b.ctx.Err())
			d := b.d
			d.ctx.loop.Post(func() { d.req.Cancel() })
		case <-b.d.ctx.loop.Done():
			// Chunks the loop delivered before it exited (the rest of the
			// body, or Close's ErrAborted) are still the body's.
			select {
			case c := <-b.d.chunks:
				b.take(c)
			default:
				b.err = net.ErrContextShutDown
			}
		}
	}
	return nil
}

// take makes a chunk from the loop the current one, or records the body's
// end.
func (b *body) take(c chunk) {
	if c.err != nil {
		b.err = c.err
		return
	}
	b.cur, b.curBuf = c.buf, c.buf
}

// recycle hands the drained buffer back to the loop for the next read.
func (b *body) recycle() {
	if b.curBuf == nil {
		return
	}
	buf := b.curBuf[:cap(b.curBuf)]
	b.curBuf = nil
	d := b.d
	d.ctx.loop.Post(func() { d.giveBack(buf) })
}

// WriteTo implements io.WriterTo: io.Copy writes each chunk straight from
// the loop's buffer, without a copy into its own.
func (b *body) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		b.mu.Lock()
		err := b.fill()
		cur := b.cur
		b.cur = nil
		b.mu.Unlock()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		n, err := w.Write(cur)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close implements io.Closer; an unfinished body cancels the request, which
// closes its connection.
func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.cur = nil
	b.recycle()
	d := b.d
	d.ctx.loop.Post(func() {
		if !d.req.done {
			d.req.Cancel()
		}
	})
	return nil
}

// ReadAll is a convenience that reads and closes a response body.
func ReadAll(resp *Response) ([]byte, error) {
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err := io.Copy(&buf, resp.Body)
	return buf.Bytes(), err
}
