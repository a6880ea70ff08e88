package main

import (
	"bytes"
	"context"
	"io"
	gonet "net"
	"path/filepath"
	"testing"
)

// stallServer answers with head (possibly nothing, possibly the start of a
// response), tells started, then waits until the client goes away.
func stallServer(t *testing.T, head string, started chan<- struct{}) string {
	t.Helper()
	return rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		io.WriteString(c, head)
		select {
		case started <- struct{}{}:
		default:
		}
		io.Copy(io.Discard, c)
	})
}

// An interrupt cancels the fetches in flight, starts no others, finishes
// the NetLog and exits 130 without a failure line per URL.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	for name, head := range map[string]string{
		"waiting for headers": "",
		"reading the body":    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			started := make(chan struct{}, 1)
			base := stallServer(t, head, started)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Interrupt once the server has the request, or once the start of
			// the body is out.
			stdout := &triggerWriter{fire: cancel}
			if head == "" {
				go func() {
					<-started
					cancel()
				}()
			}
			path := filepath.Join(t.TempDir(), "log.json")
			code, stderr := runGuarded(t, ctx, stdout, "--parallel", "1", "--netlog", path, base+"/1", base+"/2")
			if code != 130 || stderr != "" {
				t.Errorf("exit %d, stderr %q", code, stderr)
			}
			if head != "" && stdout.buf.String() != "partial" {
				t.Errorf("stdout %q", stdout.buf.String())
			}
			nl := readNetLog(t, path)
			if n := len(nl.byName["REQUEST_ALIVE"]); n != 2 { // the first URL's begin and end
				t.Errorf("%d REQUEST_ALIVE events, want 2", n)
			}
		})
	}
}

// triggerWriter calls fire after its first write.
type triggerWriter struct {
	buf  bytes.Buffer
	fire func()
}

func (w *triggerWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	w.fire()
	return n, err
}
