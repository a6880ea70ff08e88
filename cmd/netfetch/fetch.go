package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/urlrequest"
)

// outcome is how one URL ended. The values are ordered by precedence: the
// exit code comes from the greatest outcome of all URLs.
type outcome int

const (
	outcomeOK          outcome = iota
	outcomeHTTPFailed          // --fail and a status >= 400: exit 22
	outcomeWriteFailed         // the output could not be written: exit 23
	outcomeNetFailed           // a net::ERR_*: exit 1
	outcomeInterrupted         // SIGINT: exit 130
)

func (o outcome) exitCode() int {
	return [...]int{0, 22, 23, 1, 130}[o]
}

// fetcher runs the fetches of one command line through one Context.
type fetcher struct {
	o         *options
	uc        *urlrequest.Context
	userAgent string
	stdout    *orderedStdout // nil when bodies go to files
	stderr    io.Writer      // a lockedWriter: one Write per message
}

// fetchAll fetches every URL, at most o.parallel at once, and returns each
// URL's outcome. Once ctx is done no new fetch starts.
func (f *fetcher) fetchAll(ctx context.Context) []outcome {
	outcomes := make([]outcome, len(f.o.urls))
	for i := range outcomes {
		// Overwritten by every fetch that starts.
		outcomes[i] = outcomeInterrupted
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(f.o.parallel, len(f.o.urls)) {
		wg.Go(func() {
			for i := range work {
				outcomes[i] = f.fetchOne(ctx, i)
			}
		})
	}
feed:
	for i := range f.o.urls {
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return outcomes
}

// fetchOne fetches the i-th URL and writes its output.
func (f *fetcher) fetchOne(ctx context.Context, i int) outcome {
	if ctx.Err() != nil {
		return outcomeInterrupted
	}
	if f.stdout != nil {
		// Also when nothing is written, so the URLs after this one get their turn.
		defer f.stdout.finish(i)
	}
	rawURL := f.o.urls[i]
	if f.o.maxTime > 0 {
		// --max-time bounds the whole transfer, body included; netFailure
		// tells its deadline apart from an interrupt.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.o.maxTime)
		defer cancel()
	}
	req := &urlrequest.FetchRequest{
		Method:       f.o.requestMethod(),
		URL:          rawURL,
		Headers:      f.o.reqHeaders,
		Body:         f.o.body,
		MaxRedirects: f.o.maxRedirects(),
		LoadFlags:    f.o.loadFlags,
	}
	resp, err := f.uc.Fetch(ctx, req)
	if err != nil {
		return f.netFailure(ctx, rawURL, err)
	}
	// Closing a body that was read to the end keeps its connection for reuse;
	// closing it earlier cancels the request.
	defer resp.Body.Close()
	if f.o.verbose {
		f.stderr.Write(verboseReport(req, resp, f.userAgent))
	}
	if f.o.fail && resp.StatusCode >= 400 {
		f.errorf("netfetch: %s: The requested URL returned error: %d\n", rawURL, resp.StatusCode)
		return outcomeHTTPFailed
	}

	dst, closeDst, err := f.open(i)
	if err != nil {
		f.errorf("netfetch: %s: %v\n", rawURL, err)
		return outcomeWriteFailed
	}
	w := &errWriter{w: dst}
	if f.o.include || f.o.head {
		err = writeHeaders(w, resp.Headers)
	}
	switch {
	case err != nil:
	case !f.o.head:
		// The body is an io.WriterTo: each chunk goes from the stack's buffer
		// straight to the file or stdout.
		_, err = io.Copy(w, resp.Body)
	case req.Method == "HEAD":
		// Empty, but reading to its end lets the connection be reused.
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if cerr := closeDst(); err == nil && cerr != nil {
		w.err, err = cerr, cerr
	}
	switch {
	case err == nil:
		return outcomeOK
	case w.err != nil:
		f.errorf("netfetch: %s: writing output: %v\n", rawURL, w.err)
		return outcomeWriteFailed
	}
	return f.netFailure(ctx, rawURL, err)
}

// open returns where URL i's output goes, and how to close it.
func (f *fetcher) open(i int) (io.Writer, func() error, error) {
	path := f.o.output
	if f.o.outputDir != "" {
		path = filepath.Join(f.o.outputDir, strconv.Itoa(i+1))
	}
	if path == "" || path == "-" {
		return f.stdout.open(i), func() error { return nil }, nil
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return file, file.Close, nil
}

// netFailure reports a failed URL with its net::ERR_* name and code. Fetches
// ended by an interrupt are not reported one by one.
func (f *fetcher) netFailure(ctx context.Context, rawURL string, err error) outcome {
	if errors.Is(err, context.DeadlineExceeded) {
		// --max-time ran out (curl's "operation timed out").
		err = net.ErrTimedOut
	} else if ctx.Err() != nil {
		return outcomeInterrupted
	}
	var ne net.Error
	if errors.As(err, &ne) {
		f.errorf("netfetch: %s: %s (%d)\n", rawURL, ne.Error(), ne.Code())
	} else {
		f.errorf("netfetch: %s: %v\n", rawURL, err)
	}
	return outcomeNetFailed
}

// errorf prints a failure message unless -s was given.
func (f *fetcher) errorf(format string, args ...any) {
	if !f.o.silent {
		fmt.Fprintf(f.stderr, format, args...)
	}
}
