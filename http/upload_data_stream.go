package http

import (
	"context"
	"io"

	"github.com/netfetch/netfetch/net"
)

// UploadDataStream supplies a request body to the stream on the loop.
type UploadDataStream interface {
	// Size is the body's length, or -1 when unknown (sent chunked).
	Size() int64
	// Read fills buf: a count, 0 at the end, an error, or IOPending.
	Read(buf []byte, cb net.CompletionCallback) int
	// Rewind starts the body over for a retry or a 307/308 redirect; it
	// reports false when the body cannot be replayed.
	Rewind() bool
	// Identifier distinguishes uploads for the HTTP cache key (0: none).
	Identifier() int64
}

// BytesUpload is an in-memory body; it can be replayed.
type BytesUpload struct {
	data []byte
	off  int
	id   int64
}

var uploadIDs int64

// NewBytesUpload returns a body of data.
func NewBytesUpload(data []byte) *BytesUpload {
	uploadIDs++
	return &BytesUpload{data: data, id: uploadIDs}
}

// Size implements UploadDataStream.
func (u *BytesUpload) Size() int64 { return int64(len(u.data)) }

// Read implements UploadDataStream; it always completes synchronously.
func (u *BytesUpload) Read(buf []byte, _ net.CompletionCallback) int {
	n := copy(buf, u.data[u.off:])
	u.off += n
	return n
}

// Rewind implements UploadDataStream.
func (u *BytesUpload) Rewind() bool { u.off = 0; return true }

// Identifier implements UploadDataStream.
func (u *BytesUpload) Identifier() int64 { return u.id }

// ReaderUpload streams a body from an io.Reader, reading off the loop. It
// cannot be replayed once reading started. With a known size it never reads
// past size bytes (more would be taken as the next request on the
// connection), and a reader that ends early fails with
// net.ErrUploadFileChanged, as Chromium's upload element readers do.
type ReaderUpload struct {
	loop    *net.Loop
	r       io.Reader
	size    int64
	pos     int64 // bytes handed out so far
	started bool
	scratch []byte
}

// NewReaderUpload returns a body read from r; size is -1 when unknown.
func NewReaderUpload(loop *net.Loop, r io.Reader, size int64) *ReaderUpload {
	return &ReaderUpload{loop: loop, r: r, size: size}
}

// Size implements UploadDataStream.
func (u *ReaderUpload) Size() int64 { return u.size }

// Read implements UploadDataStream. The reader fills a private buffer off
// the loop; the bytes are copied into buf on the loop.
func (u *ReaderUpload) Read(buf []byte, cb net.CompletionCallback) int {
	u.started = true
	if u.size >= 0 {
		remaining := u.size - u.pos
		if remaining <= 0 {
			return 0
		}
		if int64(len(buf)) > remaining {
			buf = buf[:remaining]
		}
	}
	if cap(u.scratch) < len(buf) {
		u.scratch = make([]byte, len(buf))
	}
	scratch := u.scratch[:len(buf)]
	r := u.r
	net.Go(u.loop, func(context.Context) (int, error) {
		n, err := io.ReadFull(r, scratch)
		if err == io.ErrUnexpectedEOF || (err == io.EOF && n == 0) {
			err = nil
		}
		return n, err
	}, func(n int, err error) {
		if err != nil {
			cb(int(net.ErrFailed))
			return
		}
		if n == 0 && u.size >= 0 {
			// The reader ended before the announced size.
			cb(int(net.ErrUploadFileChanged))
			return
		}
		copy(buf, scratch[:n])
		u.pos += int64(n)
		cb(n)
	})
	return net.IOPending
}

// Rewind implements UploadDataStream.
func (u *ReaderUpload) Rewind() bool { return !u.started }

// Identifier implements UploadDataStream.
func (u *ReaderUpload) Identifier() int64 { return 0 }
