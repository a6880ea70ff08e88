package socket

import (
	"io"
	"reflect"
	"testing"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// TestPoolWithTransportConnectJobs runs the pool over real connect jobs and
// TCP sockets: connect, reuse a keep-alive socket, and notice that an idle
// socket was closed by the server.
func TestPoolWithTransportConnectJobs(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	log := netlog.New()
	col := nettest.NewRecorder(log, netlog.Default)
	res := &fakeResolver{loop: l, addrs: net.AddressList{srv.addr()}}
	var pool *ClientSocketPool
	nettest.OnLoop(t, l, func() {
		pool = NewClientSocketPool(l, log, "transport_socket_pool", &TransportConnectJobFactory{Loop: l, NetLog: log, Resolver: res}, PoolOptions{})
	})
	r := &reentrancy{t: t}
	request := func() (*ClientSocketHandle, int, chan int) {
		h := &ClientSocketHandle{}
		cb, c := r.cb("Init")
		var rv int
		nettest.OnLoop(t, l, func() {
			rv = r.call(func() int {
				return h.Init(testGroup, net.Medium, 0, pool, cb, netlog.NewSource(log, netlog.SourceHTTPStreamJob))
			})
		})
		return h, rv, c
	}

	h1, rv, c := request()
	if rv != net.IOPending {
		t.Fatalf("first Init = %d", rv)
	}
	if rv := waitInt(t, c, "first socket"); rv != net.OK {
		t.Fatalf("first socket: %v", net.Error(rv))
	}
	peer := srv.accept(t)
	var sock StreamSocket
	nettest.OnLoop(t, l, func() {
		sock = h1.Socket()
		if rv := sock.Write([]byte("x"), nil); rv != 1 {
			t.Errorf("Write = %d", rv)
		}
	})
	io.ReadFull(peer, make([]byte, 1))
	nettest.OnLoop(t, l, h1.Reset)

	h2, rv, c := request()
	if rv != net.OK {
		t.Fatalf("second Init = %d, want a synchronous OK from the idle socket", rv)
	}
	nettest.ExpectNone(t, c, "callback of a synchronous Init")
	nettest.OnLoop(t, l, func() {
		if h2.Socket() != sock || h2.ReuseType() != ReusedIdle {
			t.Errorf("second request: %v reuse %v", h2.Socket(), h2.ReuseType())
		}
		h2.Reset()
	})

	// The server closes the idle connection; the next request notices,
	// closes it and connects anew.
	peer.Close()
	var id uint32
	nettest.OnLoop(t, l, func() { id = sock.NetLog().Source().ID })
	waitUntil(t, l, "the idle socket sees the FIN", func() bool { return !sock.IsConnected() })
	_, rv, c = request()
	if rv != net.IOPending {
		t.Fatalf("third Init = %d, want a new connect", rv)
	}
	if rv := waitInt(t, c, "third socket"); rv != net.OK {
		t.Fatalf("third socket: %v", net.Error(rv))
	}
	var reasons []string
	for _, e := range col.Find(netlog.EventSocketPoolClosingSocket, netlog.PhaseNone, id) {
		reasons = append(reasons, e.Params["reason"].(string))
	}
	if !reflect.DeepEqual(reasons, []string{"Remote side closed connection"}) {
		t.Errorf("closing reasons = %q", reasons)
	}
	if n := len(col.Find(netlog.EventSocketPoolConnectJobCreated, netlog.PhaseNone, 0)); n != 2 {
		t.Errorf("%d connect jobs created, want 2 (the reuse needed none)", n)
	}
}
