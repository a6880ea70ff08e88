package interop_test

import (
	"bufio"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/interop"
)

// echoListener accepts connections on 127.0.0.1 and echoes them; it is
// closed when the test ends.
func echoListener(t *testing.T) (addr string, port int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String(), l.Addr().(*net.TCPAddr).Port
}

// rawConnect sends CONNECT dest to the proxy with an optional
// Proxy-Authorization and returns the reply's status code and the
// connection, positioned after the reply's head.
func rawConnect(t *testing.T, proxyAddr, dest, auth string) (int, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", proxyAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "CONNECT " + dest + " HTTP/1.1\r\nHost: " + dest + "\r\n"
	if auth != "" {
		req += "Proxy-Authorization: " + auth + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	resp, err := http.ReadResponse(r, &http.Request{Method: "CONNECT"})
	if err != nil {
		t.Fatalf("reading the CONNECT reply: %v", err)
	}
	return resp.StatusCode, c, r
}

func TestTinyproxyTunnels(t *testing.T) {
	dest, port := echoListener(t)
	tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{ConnectPorts: []int{port}})
	if tp.URL() != "http://"+tp.Addr() {
		t.Errorf("URL %q", tp.URL())
	}
	code, c, r := rawConnect(t, tp.Addr(), dest, "")
	if code != 200 {
		t.Fatalf("CONNECT: %d", code)
	}
	if _, err := io.WriteString(c, "echo me"); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := io.ReadFull(r, buf); err != nil || string(buf) != "echo me" {
		t.Fatalf("echo %q, %v", buf, err)
	}
	// A port not listed is refused.
	code, _, _ = rawConnect(t, tp.Addr(), "127.0.0.1:"+strconv.Itoa(port+1), "")
	if code != 403 {
		t.Errorf("CONNECT to an unlisted port: %d, want 403", code)
	}
}

func TestTinyproxyBasicAuth(t *testing.T) {
	dest, _ := echoListener(t)
	tp := interop.StartTinyproxy(t, interop.TinyproxyOptions{Username: "user", Password: "s3cret.pw"})
	if !strings.HasPrefix(tp.URL(), "http://user:s3cret.pw@127.0.0.1:") {
		t.Errorf("URL %q", tp.URL())
	}
	if code, _, _ := rawConnect(t, tp.Addr(), dest, ""); code != 407 {
		t.Errorf("no credentials: %d, want 407", code)
	}
	bad := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:wrong"))
	if code, _, _ := rawConnect(t, tp.Addr(), dest, bad); code != 401 {
		t.Errorf("wrong credentials: %d, want tinyproxy's 401", code)
	}
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte("user:s3cret.pw"))
	if code, _, _ := rawConnect(t, tp.Addr(), dest, good); code != 200 {
		t.Errorf("right credentials: %d, want 200", code)
	}
	if !strings.Contains(tp.Log(), "CONNECT") {
		t.Errorf("the log file does not show the requests:\n%s", tp.Log())
	}
}
