//go:build unix

package pac

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// goja reads the file a "//# sourceMappingURL=" comment names unless told
// not to. Point such comments at a FIFO through a file: URL: opening it for
// reading blocks until a writer comes, so any read attempt hangs and the test
// notices.
func TestNoFileAccess(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "map.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	comment := "//# sourceMappingURL=file://" + fifo
	src := "function FindProxyForURL(url, host) {\n" +
		"  eval('1\\n" + comment + "');\n" +
		"  new Function('return 1\\n" + comment + "')();\n" +
		"  return 'DIRECT';\n}\n" + comment + "\n"
	done := make(chan error, 1)
	go func() {
		s, err := Compile(src, Options{})
		if err == nil {
			_, err = s.FindProxyForURL(t.Context(), "http://x/", "x")
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		// Unblock the reader so that the goroutine can end.
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("the script made goja open a file")
	}
}
