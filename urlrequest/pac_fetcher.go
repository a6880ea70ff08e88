package urlrequest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// pacFetcher downloads PAC files for the proxy service through this
// Context (Chromium's PacFileFetcherImpl): http and https without any
// proxy, file and data URLs read directly; at most proxy.MaxPACBytes within
// proxy.PACFetchTimeout. Its ctx is set once the Context exists.
type pacFetcher struct {
	ctx     *Context
	timeout time.Duration
}

// Fetch implements proxy.PACFetcher.
func (f *pacFetcher) Fetch(u *url.URL, nl netlog.WithSource, done func(string, int)) (cancel func()) {
	switch strings.ToLower(u.Scheme) {
	case "data":
		text, rv := decodeDataURL(u)
		canceled := false
		f.ctx.loop.Post(func() {
			if !canceled {
				done(text, rv)
			}
		})
		return func() { canceled = true }
	case "file":
		op := net.Go(f.ctx.loop, func(context.Context) (string, error) {
			return readPACFile(u)
		}, func(text string, err error) {
			done(text, net.ResultFromError(err))
		})
		return op.Cancel
	case "http", "https":
		return f.fetchHTTP(u, done)
	}
	canceled := false
	f.ctx.loop.Post(func() {
		if !canceled {
			done("", int(net.ErrDisallowedURLScheme))
		}
	})
	return func() { canceled = true }
}

func (f *pacFetcher) fetchHTTP(u *url.URL, done func(string, int)) func() {
	d := &pacDelegate{done: done}
	r := f.ctx.NewRequest(u, net.Idle, d)
	// A PAC file never goes through a proxy: the proxy may be what it
	// configures.
	r.SetLoadFlags(net.LoadBypassProxy | net.LoadDisableCache)
	d.req = r
	d.timer = f.ctx.loop.PostDelayed(f.timeout, func() { d.fail(int(net.ErrTimedOut)) })
	r.Start()
	return d.cancel
}

// pacDelegate reads a PAC response into memory.
type pacDelegate struct {
	req   *Request
	done  func(string, int)
	timer *net.DelayedTask
	buf   [16 << 10]byte
	body  bytes.Buffer
	ended bool
}

func (d *pacDelegate) OnReceivedRedirect(r *Request, info RedirectInfo, deferRedirect *bool) {
	if s := strings.ToLower(info.NewURL.Scheme); s != "http" && s != "https" {
		d.fail(int(net.ErrUnsafeRedirect))
	}
}

func (d *pacDelegate) OnResponseStarted(r *Request, result int) {
	if result != net.OK {
		d.end("", result)
		return
	}
	// Like Firefox, and unlike a browser showing a page, a PAC download
	// must answer 200.
	if r.Response().Headers.StatusCode() != 200 {
		d.fail(int(net.ErrHTTPResponseCodeFailure))
		return
	}
	d.read()
}

func (d *pacDelegate) OnReadCompleted(r *Request, n int) {
	if d.consume(n) {
		d.read()
	}
}

func (d *pacDelegate) read() {
	for !d.ended {
		n := d.req.Read(d.buf[:])
		if n == net.IOPending || !d.consume(n) {
			return
		}
	}
}

// consume takes one read's result, reporting whether to read on.
func (d *pacDelegate) consume(n int) bool {
	switch {
	case n < 0:
		d.end("", n)
		return false
	case n == 0:
		d.end(pacText(d.body.Bytes()), net.OK)
		return false
	case d.body.Len()+n > proxy.MaxPACBytes:
		d.fail(int(net.ErrFileTooBig))
		return false
	}
	d.body.Write(d.buf[:n])
	return true
}

func (d *pacDelegate) fail(rv int) {
	if d.ended {
		return
	}
	d.req.fail(rv)
	d.end("", rv)
}

func (d *pacDelegate) end(text string, rv int) {
	if d.ended {
		return
	}
	d.ended = true
	d.timer.Cancel()
	d.done(text, rv)
}

func (d *pacDelegate) cancel() {
	if d.ended {
		return
	}
	d.ended = true
	d.timer.Cancel()
	d.req.Cancel()
}

// pacText decodes a PAC file: UTF-8 when it is valid UTF-8, else
// ISO-8859-1, the charset Chromium assumes when none is given.
func pacText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// readPACFile reads a file:// PAC file, refusing more than MaxPACBytes.
func readPACFile(u *url.URL) (string, error) {
	f, err := os.Open(u.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", net.ErrFileNotFound
		}
		if errors.Is(err, fs.ErrPermission) {
			return "", net.ErrAccessDenied
		}
		return "", net.ErrFailed
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, proxy.MaxPACBytes+1))
	switch {
	case err != nil:
		return "", net.ErrFailed
	case len(b) > proxy.MaxPACBytes:
		return "", net.ErrFileTooBig
	}
	return pacText(b), nil
}

// decodeDataURL decodes an RFC 2397 data: URL ("data:[type][;base64],data").
func decodeDataURL(u *url.URL) (string, int) {
	raw := u.Opaque
	if raw == "" {
		raw = strings.TrimPrefix(u.String(), u.Scheme+":")
	}
	meta, data, ok := strings.Cut(raw, ",")
	if !ok {
		return "", int(net.ErrInvalidURL)
	}
	text, err := url.PathUnescape(data)
	if err != nil {
		return "", int(net.ErrInvalidURL)
	}
	if strings.HasSuffix(strings.ToLower(meta), ";base64") {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(text), ""))
		if err != nil {
			return "", int(net.ErrInvalidURL)
		}
		text = string(b)
	}
	if len(text) > proxy.MaxPACBytes {
		return "", int(net.ErrFileTooBig)
	}
	return pacText([]byte(text)), net.OK
}
