package interop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// echoServer accepts connections on 127.0.0.1 and echoes what it reads.
func echoServer(t *testing.T) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func dialProxy(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func readFull(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

// socks5Connect runs a SOCKS5 handshake on c for dest by hand and returns
// the RFC 1929 status (0 when no authentication was asked for) and the
// CONNECT reply code.
func socks5Connect(t *testing.T, c net.Conn, user, pass string, dest netip.AddrPort) (authStatus, reply byte) {
	t.Helper()
	r := bufio.NewReader(c)
	if user != "" {
		c.Write([]byte{5, 1, 2})
	} else {
		c.Write([]byte{5, 1, 0})
	}
	g := readFull(t, r, 2)
	if g[0] != 5 {
		t.Fatalf("greeting reply %x", g)
	}
	switch g[1] {
	case 0xFF:
		return 0xFF, 0xFF
	case 2:
		c.Write(append(append(append([]byte{1, byte(len(user))}, user...), byte(len(pass))), pass...))
		a := readFull(t, r, 2)
		if a[1] != 0 {
			return a[1], 0xFF
		}
	}
	ip := dest.Addr().As4()
	req := append([]byte{5, 1, 0, 1}, ip[:]...)
	req = binary.BigEndian.AppendUint16(req, dest.Port())
	c.Write(req)
	h := readFull(t, r, 4)
	if h[1] == 0 {
		readFull(t, r, 4+2) // IPv4 bound address and port
	}
	return 0, h[1]
}

func echoThrough(t *testing.T, c net.Conn) {
	t.Helper()
	msg := []byte("ping through the proxy\n")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, c, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

func TestSOCKSStartMicrosocks(t *testing.T) {
	echo := echoServer(t)
	t.Run("no auth", func(t *testing.T) {
		m := StartMicrosocks(t, MicrosocksOptions{})
		if m.URL() != "socks5://"+m.Addr() {
			t.Errorf("URL = %q", m.URL())
		}
		c := dialProxy(t, m.Addr())
		if _, rep := socks5Connect(t, c, "", "", echo); rep != 0 {
			t.Fatalf("CONNECT reply %#x", rep)
		}
		echoThrough(t, c)
	})
	t.Run("auth", func(t *testing.T) {
		m := StartMicrosocks(t, MicrosocksOptions{Username: "alice", Password: "s3cret"})
		if !strings.HasPrefix(m.URL(), "socks5://alice:s3cret@127.0.0.1:") {
			t.Errorf("URL = %q", m.URL())
		}
		c := dialProxy(t, m.Addr())
		if st, rep := socks5Connect(t, c, "alice", "s3cret", echo); st != 0 || rep != 0 {
			t.Fatalf("auth status %#x, CONNECT reply %#x", st, rep)
		}
		echoThrough(t, c)

		c = dialProxy(t, m.Addr())
		if st, _ := socks5Connect(t, c, "alice", "wrong", echo); st == 0 {
			t.Fatal("wrong password accepted")
		}
		c = dialProxy(t, m.Addr())
		if st, _ := socks5Connect(t, c, "", "", echo); st != 0xFF {
			t.Fatalf("no credentials: got %#x, want method 0xFF", st)
		}
	})
}

func TestSOCKSStartDante(t *testing.T) {
	echo := echoServer(t)
	d := StartDante(t, DanteOptions{})
	if d.URL("socks4") != "socks4://"+d.Addr() {
		t.Errorf("URL = %q", d.URL("socks4"))
	}
	t.Run("socks4", func(t *testing.T) {
		c := dialProxy(t, d.Addr())
		ip := echo.Addr().As4()
		req := binary.BigEndian.AppendUint16([]byte{4, 1}, echo.Port())
		req = append(append(req, ip[:]...), 0)
		c.Write(req)
		if rep := readFull(t, c, 8); rep[0] != 0 || rep[1] != 0x5A {
			t.Fatalf("SOCKS4 reply %x", rep)
		}
		echoThrough(t, c)
	})
	t.Run("socks5", func(t *testing.T) {
		c := dialProxy(t, d.Addr())
		if _, rep := socks5Connect(t, c, "", "", echo); rep != 0 {
			t.Fatalf("CONNECT reply %#x", rep)
		}
		echoThrough(t, c)
	})
}
