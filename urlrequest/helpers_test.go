package urlrequest_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/netfetch/netfetch/urlrequest"
)

// hangGuard bounds every test: a stack that hangs fails the test instead of
// the whole run. It is never a performance expectation.
const hangGuard = 20 * time.Second

// newContext builds a Context that is closed when the test ends.
func newContext(t *testing.T) *urlrequest.Context {
	t.Helper()
	c, err := urlrequest.NewBuilder().Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() {
		// Bounded, so that a blocked loop fails this test, not the run.
		done := make(chan struct{})
		go func() {
			c.Close()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(hangGuard):
			t.Error("Context.Close hangs: the loop is blocked")
		}
	})
	return c
}

// guard returns a context bounded by hangGuard.
func guard(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// get fetches url with GET.
func get(t *testing.T, c *urlrequest.Context, url string) (*urlrequest.Response, error) {
	t.Helper()
	return c.Fetch(guard(t), &urlrequest.FetchRequest{URL: url})
}

// mustFetch fetches and reads the whole body, failing the test on error.
func mustFetch(t *testing.T, c *urlrequest.Context, req *urlrequest.FetchRequest) (*urlrequest.Response, []byte) {
	t.Helper()
	resp, err := c.Fetch(guard(t), req)
	if err != nil {
		t.Fatalf("Fetch %s %s: %v", req.Method, req.URL, err)
	}
	body, err := urlrequest.ReadAll(resp)
	if err != nil {
		t.Fatalf("reading body of %s: %v", req.URL, err)
	}
	return resp, body
}

// wantErr fails unless err is target (through errors.Is).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// readBodyErr reads resp's body to the end and returns the error that ended
// it (nil at a clean EOF) and what was read.
func readBodyErr(resp *urlrequest.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, err
}

// within runs f and fails the test if it does not return within hangGuard.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(hangGuard):
		t.Fatalf("%s: hangs", what)
	}
}
