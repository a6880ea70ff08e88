package http

import (
	"time"

	"github.com/netfetch/netfetch/net"
)

// Limits of the body drainer, after Chromium's HttpResponseBodyDrainer: a
// small unread body (a redirect's, say) is read and thrown away so the
// connection can be reused, but a large or slow one is not worth it.
const (
	maxDrainBytes = 16 << 10
	drainTimeout  = 5 * time.Second
)

// bodyDrainer reads the rest of a response body off a stream the
// transaction no longer wants, then gives the connection back.
type bodyDrainer struct {
	session *Session
	stream  Stream
	buf     []byte
	total   int
	timer   *net.DelayedTask
	stopped bool
}

// drainAndClose releases stream, draining its body first when that is cheap.
// The session keeps the drainer until it ends, so that Session.Close can
// stop it (Chromium's HttpNetworkSession owns its response drainers).
func drainAndClose(session *Session, stream Stream) {
	if stream.IsResponseBodyComplete() {
		stream.Close(false)
		return
	}
	d := &bodyDrainer{session: session, stream: stream, buf: make([]byte, maxDrainBytes)}
	session.drainers[d] = struct{}{}
	d.timer = session.loop.PostDelayed(drainTimeout, func() { d.finish(false) })
	d.readMore()
}

func (d *bodyDrainer) readMore() {
	for !d.stopped {
		rv := d.stream.ReadResponseBody(d.buf[:maxDrainBytes-d.total], d.onRead)
		if rv == net.IOPending {
			return
		}
		d.handle(rv)
	}
}

func (d *bodyDrainer) onRead(rv int) {
	d.handle(rv)
	d.readMore()
}

func (d *bodyDrainer) handle(rv int) {
	switch {
	case rv < 0:
		d.finish(false)
	case rv == 0 || d.stream.IsResponseBodyComplete():
		d.finish(d.stream.IsResponseBodyComplete())
	default:
		d.total += rv
		if d.total >= maxDrainBytes {
			d.finish(false)
		}
	}
}

func (d *bodyDrainer) finish(reusable bool) {
	if d.stopped {
		return
	}
	d.stopped = true
	d.timer.Cancel()
	delete(d.session.drainers, d)
	d.stream.Close(!reusable)
}
