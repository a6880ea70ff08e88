package socket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	gonet "net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/proxy"
)

// This file holds what the SOCKS tests share: a resolver with a host
// table, a harness that runs SOCKSConnectJobs on a loop, a scripted SOCKS
// server side (each test writes the exact bytes its case needs, and the
// happy paths really relay to an echo server), and an in-memory transport
// that moves at most a few bytes per call.

// ---------------------------------------------------------------------------
// Resolver

// socksResolver answers from a host table (IP literals answer themselves)
// after a posted task, or synchronously with sync, or never with hang.
type socksResolver struct {
	loop  *net.Loop
	hosts map[string][]netip.Addr
	sync  bool
	hang  bool
	// asked lists the names looked up, in order. Loop-owned.
	asked []string
	reqs  []*socksResolveRequest
}

type socksResolveRequest struct {
	r         *socksResolver
	host      string
	port      uint16
	addrs     net.AddressList
	cb        net.CompletionCallback // kept by a hanging resolver
	cancelled bool
}

func (r *socksResolver) CreateRequest(host string, port uint16, _ dns.ResolveParams, _ netlog.WithSource) dns.ResolveHostRequest {
	q := &socksResolveRequest{r: r, host: host, port: port}
	r.reqs = append(r.reqs, q)
	return q
}

func (q *socksResolveRequest) lookup() int {
	q.r.asked = append(q.r.asked, q.host)
	if ip, ok := hostLiteral(q.host); ok {
		q.addrs = net.AddressList{netip.AddrPortFrom(ip, q.port)}
		return net.OK
	}
	ips, ok := q.r.hosts[q.host]
	if !ok {
		return int(net.ErrNameNotResolved)
	}
	for _, ip := range ips {
		q.addrs = append(q.addrs, netip.AddrPortFrom(ip, q.port))
	}
	return net.OK
}

func (q *socksResolveRequest) Start(cb net.CompletionCallback) int {
	if q.r.sync {
		return q.lookup()
	}
	if q.r.hang {
		q.cb = cb
		return net.IOPending
	}
	q.r.loop.Post(func() {
		if !q.cancelled {
			cb(q.lookup())
		}
	})
	return net.IOPending
}

func (q *socksResolveRequest) Addresses() net.AddressList      { return q.addrs }
func (q *socksResolveRequest) SetPriority(net.RequestPriority) {}
func (q *socksResolveRequest) Cancel()                         { q.cancelled = true }

// ---------------------------------------------------------------------------
// Connect job harness

// socksEnv runs SOCKS connect jobs on a loop of its own, with every NetLog
// entry recorded.
type socksEnv struct {
	t        *testing.T
	l        *net.Loop
	log      *netlog.NetLog
	rec      *nettest.Recorder
	res      *socksResolver
	timeouts Timeouts
}

func newSOCKSEnv(t *testing.T) *socksEnv {
	l := nettest.NewLoop(t)
	return newSOCKSEnvOn(t, l)
}

func newSOCKSEnvOn(t *testing.T, l *net.Loop) *socksEnv {
	log := netlog.New()
	return &socksEnv{
		t:   t,
		l:   l,
		log: log,
		rec: nettest.NewRecorder(log, netlog.Everything),
		res: &socksResolver{loop: l, hosts: map[string][]netip.Addr{}},
	}
}

func (e *socksEnv) common() *CommonConnectJobParams {
	return &CommonConnectJobParams{Loop: e.l, NetLog: e.log, Resolver: e.res, Timeouts: e.timeouts}
}

// socksDelegate records a job's completion and fails the test when it
// comes inside Connect.
type socksDelegate struct {
	t      testing.TB
	inCall bool
	c      chan int
}

func (d *socksDelegate) OnConnectJobComplete(rv int, _ ConnectJob) {
	if d.inCall {
		d.t.Error("OnConnectJobComplete ran inside Connect")
	}
	select {
	case d.c <- rv:
	default:
		d.t.Errorf("OnConnectJobComplete ran twice (second result %v)", net.Error(rv))
	}
}

// socksRun is a started job.
type socksRun struct {
	job ConnectJob
	d   *socksDelegate
	rv  int // Connect's return value
}

func socksProxy(scheme proxy.Scheme, addr string) proxy.Server {
	ap := netip.MustParseAddrPort(addr)
	return proxy.Server{Scheme: scheme, Host: ap.Addr().String(), Port: ap.Port()}
}

// start makes and starts a job to destHost:destPort through p, whose
// nested job is a TransportConnectJob to the proxy.
func (e *socksEnv) start(p proxy.Server, destHost string, destPort uint16) *socksRun {
	e.t.Helper()
	r := &socksRun{d: &socksDelegate{t: e.t, c: make(chan int, 2)}}
	c := e.common()
	group := GroupID{Scheme: "http", Host: destHost, Port: destPort}
	nested := func(d ConnectJobDelegate) ConnectJob {
		return NewTransportConnectJob(c, group, p.Host, p.Port, net.Medium, d)
	}
	nettest.OnLoop(e.t, e.l, func() {
		r.job = NewSOCKSConnectJob(c, group, p, destHost, destPort, nested, net.Medium, r.d)
		r.d.inCall = true
		r.rv = r.job.Connect()
		r.d.inCall = false
	})
	return r
}

// wait returns the job's result, waiting for the delegate if needed.
func (r *socksRun) wait(t testing.TB) int {
	t.Helper()
	if r.rv != net.IOPending {
		return r.rv
	}
	return waitInt(t, r.d.c, "SOCKS connect job completion")
}

// connect runs a job to completion and returns its result and, on
// success, its socket (disconnected at the end of the test).
func (e *socksEnv) connect(p proxy.Server, destHost string, destPort uint16) (int, StreamSocket, *socksRun) {
	e.t.Helper()
	r := e.start(p, destHost, destPort)
	rv := r.wait(e.t)
	var s StreamSocket
	nettest.OnLoop(e.t, e.l, func() { s = r.job.TakeSocket() })
	if rv == net.OK {
		if s == nil {
			e.t.Fatal("job succeeded without a socket")
		}
		e.t.Cleanup(func() { e.l.PostAndWait(s.Disconnect) })
	} else if s != nil {
		e.t.Errorf("a failed job (%v) has a socket", net.Error(rv))
	}
	return rv, s, r
}

// wantErr checks a job's result.
func wantSOCKSErr(t testing.TB, got int, want net.Error) {
	t.Helper()
	if got != int(want) {
		t.Fatalf("result = %v, want %v", net.Error(got), want)
	}
}

// ioOnLoop runs one asynchronous operation on the loop and returns its
// result, waiting for the callback when it is pending. The callback must
// not run inside the call.
func socksIO(t testing.TB, l *net.Loop, what string, op func(cb net.CompletionCallback) int) int {
	t.Helper()
	c := make(chan int, 1)
	inCall := false
	var rv int
	nettest.OnLoop(t, l, func() {
		inCall = true
		rv = op(func(v int) {
			if inCall {
				t.Errorf("%s: callback ran inside the call", what)
			}
			c <- v
		})
		inCall = false
	})
	if rv == net.IOPending {
		return waitInt(t, c, what)
	}
	return rv
}

// writeAll writes data through s.
func socksWriteAll(t testing.TB, l *net.Loop, s StreamSocket, data []byte) {
	t.Helper()
	for len(data) > 0 {
		buf := data
		rv := socksIO(t, l, "Write", func(cb net.CompletionCallback) int { return s.Write(buf, cb) })
		if rv < 0 {
			t.Fatalf("Write: %v", net.Error(rv))
		}
		data = data[rv:]
	}
}

// readN reads exactly n bytes from s.
func socksReadN(t testing.TB, l *net.Loop, s StreamSocket, n int) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	for len(out) < n {
		buf := make([]byte, n-len(out))
		rv := socksIO(t, l, "Read", func(cb net.CompletionCallback) int { return s.Read(buf, cb) })
		if rv < 0 {
			t.Fatalf("Read: %v", net.Error(rv))
		}
		if rv == 0 {
			t.Fatalf("Read: EOF after %d of %d bytes", len(out), n)
		}
		out = append(out, buf[:rv]...)
	}
	return out
}

// socksEchoRoundTrip sends a payload (large enough to need several reads
// and writes) through s to an echo server, a piece at a time, and checks
// it comes back byte-exact.
func socksEchoRoundTrip(t testing.TB, l *net.Loop, s StreamSocket) {
	t.Helper()
	payload := make([]byte, 200_000)
	for i := range payload {
		payload[i] = byte(i*7 + i/251)
	}
	const piece = 16 << 10
	for off := 0; off < len(payload); off += piece {
		p := payload[off:min(off+piece, len(payload))]
		socksWriteAll(t, l, s, p)
		if got := socksReadN(t, l, s, len(p)); !bytes.Equal(got, p) {
			t.Fatalf("echoed bytes at %d differ from what was sent", off)
		}
	}
}

// ---------------------------------------------------------------------------
// Server side

// socksEcho starts an echo server on 127.0.0.1.
func socksEcho(t testing.TB) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(socksEchoServer(t).Addr)
}

func socksEchoServer(t testing.TB) *testserver.RawServer {
	t.Helper()
	return testserver.NewRaw(t, func(c *testserver.Conn) {
		_, _ = io.Copy(c.Conn, c.R)
	})
}

// socksDeadAddr returns a local address nobody listens on.
func socksDeadAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	ln, err := gonet.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*gonet.TCPAddr).AddrPort()
}

// socksServer starts a scripted proxy: h runs for each connection, on its
// own goroutine; it must use t.Errorf (not Fatal) and should read exactly
// what the client sends, so that closing sends a FIN and not a reset.
func socksServer(t testing.TB, h func(c *testserver.Conn)) *testserver.RawServer {
	t.Helper()
	return testserver.NewRaw(t, func(c *testserver.Conn) {
		_ = c.SetDeadline(time.Now().Add(nettest.HangGuard))
		h(c)
	})
}

// recv reads exactly n bytes from the client.
func socksRecv(c *testserver.Conn, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(c.R, b)
	return b, err
}

// expect reads len(want) bytes and reports an error when they differ.
func socksExpect(t testing.TB, c *testserver.Conn, what string, want []byte) bool {
	got, err := socksRecv(c, len(want))
	if err != nil {
		t.Errorf("server: reading %s: %v (got % x)", what, err, got)
		return false
	}
	if !bytes.Equal(got, want) {
		t.Errorf("server: %s = % x, want % x", what, got, want)
		return false
	}
	return true
}

// waitClientClose reads until the client closes the connection and
// reports how many bytes it sent meanwhile.
func socksWaitClose(c *testserver.Conn) int {
	n, _ := io.Copy(io.Discard, c.R)
	return int(n)
}

// relay connects to target and copies bytes both ways until both
// directions are closed. Bytes the client sent right behind its request
// are in c.R and go first.
func socksRelayTo(t testing.TB, c *testserver.Conn, target string) {
	up, err := gonet.Dial("tcp", target)
	if err != nil {
		t.Errorf("server: dial %s: %v", target, err)
		return
	}
	defer up.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(up, c.R)
		_ = up.(*gonet.TCPConn).CloseWrite()
	}()
	_, _ = io.Copy(c.Conn, up)
	_ = c.Conn.(*gonet.TCPConn).CloseWrite()
	wg.Wait()
}

// socks4Request is a parsed SOCKS4 request.
type socks4Request struct {
	cmd  byte
	port uint16
	ip   netip.Addr
	user string
	name string // SOCKS4a only
	raw  []byte
}

func readSOCKS4Request(c *testserver.Conn) (socks4Request, error) {
	var q socks4Request
	h, err := socksRecv(c, 8)
	if err != nil {
		return q, err
	}
	if h[0] != 4 {
		return q, fmt.Errorf("version %d", h[0])
	}
	q.cmd, q.port = h[1], binary.BigEndian.Uint16(h[2:4])
	q.ip = netip.AddrFrom4([4]byte(h[4:8]))
	q.raw = h
	user, err := c.R.ReadString(0)
	if err != nil {
		return q, err
	}
	q.raw = append(q.raw, user...)
	q.user = strings.TrimSuffix(user, "\x00")
	if b := q.ip.As4(); b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] != 0 {
		name, err := c.R.ReadString(0)
		if err != nil {
			return q, err
		}
		q.raw = append(q.raw, name...)
		q.name = strings.TrimSuffix(name, "\x00")
	}
	return q, nil
}

// socks5Request is a parsed SOCKS5 CONNECT request.
type socks5Request struct {
	atyp byte
	host string // the name, or the address as a string
	port uint16
	raw  []byte
}

func (q socks5Request) target() string {
	return gonet.JoinHostPort(q.host, strconv.Itoa(int(q.port)))
}

func readSOCKS5Request(c *testserver.Conn) (socks5Request, error) {
	var q socks5Request
	h, err := socksRecv(c, 4)
	if err != nil {
		return q, err
	}
	q.raw = h
	if h[0] != 5 || h[1] != 1 || h[2] != 0 {
		return q, fmt.Errorf("bad request header % x", h)
	}
	q.atyp = h[3]
	var addr []byte
	switch q.atyp {
	case 1:
		addr, err = socksRecv(c, 4)
		q.host = netip.AddrFrom4([4]byte(addr)).String()
	case 4:
		addr, err = socksRecv(c, 16)
		q.host = netip.AddrFrom16([16]byte(addr)).String()
	case 3:
		var n []byte
		if n, err = socksRecv(c, 1); err == nil {
			addr, err = socksRecv(c, int(n[0]))
			q.host = string(addr)
			addr = append(n, addr...)
		}
	default:
		return q, fmt.Errorf("address type %d", q.atyp)
	}
	if err != nil {
		return q, err
	}
	p, err := socksRecv(c, 2)
	if err != nil {
		return q, err
	}
	q.port = binary.BigEndian.Uint16(p)
	q.raw = append(append(q.raw, addr...), p...)
	return q, nil
}

// readGreeting reads a SOCKS5 greeting and returns the methods offered.
func readSOCKS5Greeting(c *testserver.Conn) ([]byte, error) {
	h, err := socksRecv(c, 2)
	if err != nil {
		return nil, err
	}
	if h[0] != 5 {
		return nil, fmt.Errorf("greeting version %d", h[0])
	}
	return socksRecv(c, int(h[1]))
}

// readAuth reads an RFC 1929 request.
func readSOCKS5Auth(c *testserver.Conn) (user, pass string, err error) {
	h, err := socksRecv(c, 2)
	if err != nil {
		return "", "", err
	}
	if h[0] != 1 {
		return "", "", fmt.Errorf("auth version %d", h[0])
	}
	u, err := socksRecv(c, int(h[1]))
	if err != nil {
		return "", "", err
	}
	pl, err := socksRecv(c, 1)
	if err != nil {
		return "", "", err
	}
	p, err := socksRecv(c, int(pl[0]))
	return string(u), string(p), err
}

// socks5OK is a success reply with an IPv4 bound address.
var socks5OK = []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90}

// socks4OK is a SOCKS4 success reply.
var socks4OK = []byte{0, 0x5A, 0x1F, 0x90, 127, 0, 0, 1}

// socks5Relay is the happy path of a SOCKS5 proxy without authentication:
// it checks the greeting, reads the request, reports it on reqs, and
// relays to the address asked for (a name is looked up in names).
func socks5Relay(t testing.TB, names map[string]string, reqs chan<- socks5Request) func(*testserver.Conn) {
	return func(c *testserver.Conn) {
		if !socksExpect(t, c, "greeting", []byte{5, 1, 0}) {
			return
		}
		c.Write([]byte{5, 0})
		q, err := readSOCKS5Request(c)
		if err != nil {
			t.Errorf("server: request: %v", err)
			return
		}
		if reqs != nil {
			reqs <- q
		}
		target := q.target()
		if q.atyp == 3 {
			target = names[q.host]
		}
		c.Write(socks5OK)
		socksRelayTo(t, c, target)
	}
}

// ---------------------------------------------------------------------------
// In-memory transport

// chunkTransport is a connected StreamSocket whose peer has already sent
// in; Read hands out and Write takes at most chunk bytes per call,
// completing synchronously, asynchronously (posted to the loop), or
// alternating, so that a SOCKS handshake meets every kind of partial I/O.
type chunkTransport struct {
	loop         *net.Loop
	nl           netlog.WithSource
	in           []byte
	out          []byte
	chunk        int
	mode         string // "sync", "async" or "alternate"
	calls        int
	disconnected bool
	everUsed     bool
}

func newChunkTransport(l *net.Loop, log *netlog.NetLog, in []byte, chunk int, mode string) *chunkTransport {
	return &chunkTransport{loop: l, nl: netlog.NewSource(log, netlog.SourceSocket), in: in, chunk: chunk, mode: mode}
}

func (f *chunkTransport) async() bool {
	f.calls++
	switch f.mode {
	case "async":
		return true
	case "alternate":
		return f.calls%2 == 0
	}
	return false
}

func (f *chunkTransport) Connect(net.CompletionCallback) int { return net.OK }

func (f *chunkTransport) read(buf []byte) int {
	n := min(len(buf), f.chunk, len(f.in))
	copy(buf, f.in[:n])
	f.in = f.in[n:]
	if n > 0 {
		f.everUsed = true
	}
	return n // 0 once in is drained: the peer closed
}

func (f *chunkTransport) Read(buf []byte, cb net.CompletionCallback) int {
	if f.disconnected {
		return int(net.ErrSocketNotConnected)
	}
	if !f.async() {
		return f.read(buf)
	}
	f.loop.Post(func() {
		if !f.disconnected {
			cb(f.read(buf))
		}
	})
	return net.IOPending
}

func (f *chunkTransport) write(buf []byte) int {
	n := min(len(buf), f.chunk)
	f.out = append(f.out, buf[:n]...)
	f.everUsed = true
	return n
}

func (f *chunkTransport) Write(buf []byte, cb net.CompletionCallback) int {
	if f.disconnected {
		return int(net.ErrSocketNotConnected)
	}
	if !f.async() {
		return f.write(buf)
	}
	f.loop.Post(func() {
		if !f.disconnected {
			cb(f.write(buf))
		}
	})
	return net.IOPending
}

func (f *chunkTransport) Disconnect()              { f.disconnected = true }
func (f *chunkTransport) IsConnected() bool        { return !f.disconnected }
func (f *chunkTransport) IsConnectedAndIdle() bool { return !f.disconnected && len(f.in) == 0 }
func (f *chunkTransport) WasEverUsed() bool        { return f.everUsed }
func (f *chunkTransport) PeerAddress() netip.AddrPort {
	return netip.MustParseAddrPort("192.0.2.1:1080")
}
func (f *chunkTransport) LocalAddress() netip.AddrPort {
	return netip.MustParseAddrPort("192.0.2.2:5555")
}
func (f *chunkTransport) NetLog() netlog.WithSource  { return f.nl }
func (f *chunkTransport) NegotiatedProtocol() string { return "h2" }
