package testserver_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/testserver"
)

func TestRawServerRespond(t *testing.T) {
	base := testserver.GoroutineBaseline()
	s := testserver.NewRaw(t, testserver.Respond("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"))
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "hi" {
		t.Fatalf("body %q", b)
	}
	c.Close()
	if !s.WaitAllClosed(10 * time.Second) {
		t.Fatalf("open conns: %d", s.Open())
	}
	if s.Accepted() != 1 {
		t.Fatalf("accepted %d", s.Accepted())
	}
	s.Close()
	testserver.CheckGoroutines(t, base)
}

func TestRawServerStallEndsOnClose(t *testing.T) {
	s := testserver.NewRaw(t, testserver.RespondAndStall("HTTP/1.1 200 OK\r\n"))
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("line %q err %v", line, err)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a stalled handler")
	}
}

func TestHTTPServerCountsConnections(t *testing.T) {
	s := testserver.NewHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	tr := &http.Transport{}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ {
		resp, err := client.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if s.NewConns() != 1 || s.Requests() != 3 {
		t.Fatalf("conns %d requests %d", s.NewConns(), s.Requests())
	}
	tr.CloseIdleConnections()
	if !s.WaitAllClosed(10 * time.Second) {
		t.Fatalf("open %d", s.OpenConns())
	}
}
