//go:build unix

package main

import (
	"bytes"
	gonet "net"
	"path/filepath"
	"syscall"
	"testing"
)

// A real SIGINT reaches run through its signal handler. Not parallel: the
// signal goes to the whole test process, and only this test may be inside
// run when it arrives (the others call runContext, which has no handler).
func TestSIGINT(t *testing.T) {
	base := rawServer(t, func(c gonet.Conn, _ *rawRequest) {
		// run's handler is installed before any request is sent.
		syscall.Kill(syscall.Getpid(), syscall.SIGINT)
		var b [1]byte
		c.Read(b[:])
	})
	path := filepath.Join(t.TempDir(), "log.json")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--netlog", path, base + "/"}, &stdout, &stderr); code != 130 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	readNetLog(t, path)
}
