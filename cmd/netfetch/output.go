package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"sync"

	nethttp "github.com/netfetch/netfetch/http"
)

// orderedStdout shares stdout between concurrent downloads so that their
// outputs appear whole and in URL order. The URL whose predecessors have
// all been written when it starts streams straight to stdout; the others
// spool until their turn, then are copied out. That keeps the common
// single-URL case zero-copy and bounds memory for many large bodies.
type orderedStdout struct {
	ctx context.Context // once done, spooled output is discarded, not written
	w   io.Writer

	mu    sync.Mutex
	next  int // the first URL whose output is not written yet
	slots []outputSlot
	err   error // the first error writing spooled output to w
}

type slotState int

const (
	slotPending  slotState = iota // not opened yet
	slotDirect                    // writing straight to w
	slotSpooling                  // writing to its spool
	slotFinished                  // done; its spool, if any, waits for its turn
)

type outputSlot struct {
	state slotState
	spool *spool
}

func newOrderedStdout(ctx context.Context, w io.Writer, n int) *orderedStdout {
	return &orderedStdout{ctx: ctx, w: w, slots: make([]outputSlot, n)}
}

// open returns the writer URL i writes its output to. Call finish(i) when
// done with it.
func (o *orderedStdout) open(i int) io.Writer {
	o.mu.Lock()
	defer o.mu.Unlock()
	if i == o.next {
		o.slots[i].state = slotDirect
		return o.w
	}
	o.slots[i].state = slotSpooling
	o.slots[i].spool = &spool{}
	return o.slots[i].spool
}

// finish marks URL i's output complete (or absent, if it never opened) and
// writes out every finished output whose turn has come.
func (o *orderedStdout) finish(i int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.slots[i].state = slotFinished
	for o.next < len(o.slots) && o.slots[o.next].state == slotFinished {
		s := &o.slots[o.next]
		if s.spool != nil {
			if o.ctx.Err() == nil && o.err == nil {
				if _, err := s.spool.WriteTo(o.w); err != nil {
					o.err = err
				}
			}
			s.spool.Close()
			s.spool = nil
		}
		o.next++
	}
}

// close removes the spools of outputs that never got their turn, because a
// predecessor never finished (the run was interrupted).
func (o *orderedStdout) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := range o.slots {
		if s := o.slots[i].spool; s != nil {
			s.Close()
			o.slots[i].spool = nil
		}
	}
}

// spoolMemory is how much of one waiting output is kept in memory before it
// moves to a temporary file.
const spoolMemory = 1 << 20

// spool holds an output that must wait for its turn: in memory while small,
// then in a temporary file, so that waiting outputs cost disk, not RAM.
type spool struct {
	mem bytes.Buffer
	f   *os.File
}

// Write implements io.Writer.
func (s *spool) Write(p []byte) (int, error) {
	if s.f == nil && s.mem.Len()+len(p) <= spoolMemory {
		return s.mem.Write(p)
	}
	if s.f == nil {
		f, err := os.CreateTemp("", "netfetch-spool-*")
		if err != nil {
			return 0, err
		}
		s.f = f
		if _, err := s.mem.WriteTo(f); err != nil {
			return 0, err
		}
	}
	return s.f.Write(p)
}

// WriteTo implements io.WriterTo: it writes everything spooled to w.
func (s *spool) WriteTo(w io.Writer) (int64, error) {
	if s.f == nil {
		return s.mem.WriteTo(w)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	// Hide the file's ReadFrom/WriteTo so that io.Copy cannot recurse into
	// this method; it may still use sendfile when w is a file.
	return io.Copy(w, struct{ io.Reader }{s.f})
}

// Close releases the spool and removes its file.
func (s *spool) Close() {
	s.mem = bytes.Buffer{}
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
		s.f = nil
	}
}

// writeHeaders writes the status line and the header fields as received,
// each ending in CRLF, then the blank line, as curl -i does.
func writeHeaders(w io.Writer, h *nethttp.ResponseHeaders) error {
	var b bytes.Buffer
	b.WriteString(h.StatusLine())
	b.WriteString("\r\n")
	for _, f := range h.Headers() {
		b.WriteString(f.Name)
		b.WriteString(": ")
		b.WriteString(f.Value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	_, err := w.Write(b.Bytes())
	return err
}

// errWriter remembers the error its writer returned, so that a failed
// io.Copy can tell a write error from a read (network) error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// lockedWriter serialises messages to stderr; each Write is one whole
// message, so lines of concurrent fetches never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
