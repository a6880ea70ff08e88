package interop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// AccessLogEntry is one request in nginx's access log (NginxLogFormat).
type AccessLogEntry struct {
	// Connection is nginx's connection serial number ($connection):
	// requests with the same value came on the same connection.
	Connection int64
	// ConnectionRequests is the request's number on its connection
	// ($connection_requests), from 1.
	ConnectionRequests int
	// ServerPort is the port the request came in on ($server_port).
	ServerPort int
	// TLSProtocol is e.g. "TLSv1.3"; "" on plain HTTP ($ssl_protocol).
	TLSProtocol string
	// SessionReused reports a resumed TLS session ($ssl_session_reused).
	SessionReused bool
	// Request is the request line, e.g. "GET /a.txt HTTP/1.1" ($request).
	Request string
	// Method, Path and Proto are Request's three parts ("" if malformed).
	Method, Path, Proto string
	// Status is the response status code ($status).
	Status int
	// Bytes is the response body size sent ($body_bytes_sent).
	Bytes int64
}

// AccessLog returns the access log's entries so far. nginx logs a request
// when it has finished it, which may be a moment after the client has read
// the response: use WaitAccessLog to wait for entries.
func (n *Nginx) AccessLog(t testing.TB) []AccessLogEntry {
	t.Helper()
	entries, err := readAccessLog(n.AccessLogFile)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	return entries
}

// WaitAccessLog waits (at most 5 s) until the access log has at least count
// entries and returns them all; it fails the test otherwise.
func (n *Nginx) WaitAccessLog(t testing.TB, count int) []AccessLogEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		entries, err := readAccessLog(n.AccessLogFile)
		if err != nil {
			t.Fatalf("interop: %v", err)
		}
		if len(entries) >= count {
			return entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("interop: nginx access log has %d entries, want at least %d: %+v", len(entries), count, entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readAccessLog(name string) ([]AccessLogEntry, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// nginx writes each entry with one write(2); a last line without its
	// newline is still being written: leave it for the next read.
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else {
		b = nil
	}
	var entries []AccessLogEntry
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		e, err := ParseAccessLogLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// ParseAccessLogLine parses one access log line in NginxLogFormat.
func ParseAccessLogLine(line string) (AccessLogEntry, error) {
	var e AccessLogEntry
	fields, err := splitLogFields(line)
	if err != nil {
		return e, fmt.Errorf("access log line %q: %v", line, err)
	}
	if len(fields) != 8 {
		return e, fmt.Errorf("access log line %q: %d fields, want 8", line, len(fields))
	}
	dash := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	bad := func(what string, err error) (AccessLogEntry, error) {
		return AccessLogEntry{}, fmt.Errorf("access log line %q: %s: %v", line, what, err)
	}
	if e.Connection, err = strconv.ParseInt(fields[0], 10, 64); err != nil {
		return bad("connection", err)
	}
	if e.ConnectionRequests, err = strconv.Atoi(fields[1]); err != nil {
		return bad("connection_requests", err)
	}
	if e.ServerPort, err = strconv.Atoi(fields[2]); err != nil {
		return bad("server_port", err)
	}
	e.TLSProtocol = dash(fields[3])
	e.SessionReused = fields[4] == "r"
	e.Request = dash(fields[5])
	if parts := strings.Split(e.Request, " "); len(parts) == 3 {
		e.Method, e.Path, e.Proto = parts[0], parts[1], parts[2]
	}
	if e.Status, err = strconv.Atoi(fields[6]); err != nil {
		return bad("status", err)
	}
	if e.Bytes, err = strconv.ParseInt(fields[7], 10, 64); err != nil {
		return bad("body_bytes_sent", err)
	}
	return e, nil
}

// splitLogFields splits a log line at spaces, keeping "quoted fields" (in
// which nginx escapes '"' as \x22) whole, without their quotes.
func splitLogFields(line string) ([]string, error) {
	var fields []string
	for line != "" {
		if line[0] == ' ' {
			line = line[1:]
			continue
		}
		if line[0] == '"' {
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			fields = append(fields, line[1:1+end])
			line = line[2+end:]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			end = len(line)
		}
		fields = append(fields, line[:end])
		line = line[end:]
	}
	return fields, nil
}

// ---------------------------------------------------------------------------
