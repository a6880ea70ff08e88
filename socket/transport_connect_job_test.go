package socket

import (
	"testing"
	"time"

	"github.com/netfetch/netfetch/internal/nettest"

	"github.com/netfetch/netfetch/dns"
	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// fakeResolver answers every request with result and addrs: synchronously
// when sync is set, after a posted task otherwise, or never when hang is set.
type fakeResolver struct {
	loop     *net.Loop
	result   int
	addrs    net.AddressList
	sync     bool
	hang     bool
	requests []*fakeResolveRequest
}

type fakeResolveRequest struct {
	r         *fakeResolver
	host      string
	port      uint16
	cb        net.CompletionCallback
	started   bool
	completed bool
	cancelled bool
}

func (r *fakeResolver) CreateRequest(host string, port uint16, _ dns.ResolveParams, _ netlog.WithSource) dns.ResolveHostRequest {
	q := &fakeResolveRequest{r: r, host: host, port: port}
	r.requests = append(r.requests, q)
	return q
}

func (q *fakeResolveRequest) Start(cb net.CompletionCallback) int {
	q.started = true
	if q.r.sync {
		q.completed = true
		return q.r.result
	}
	if q.r.hang {
		q.cb = cb
		return net.IOPending
	}
	q.r.loop.Post(func() {
		if !q.cancelled {
			q.completed = true
			cb(q.r.result)
		}
	})
	return net.IOPending
}

// answer completes a hanging request by hand; call it on the loop.
func (q *fakeResolveRequest) answer(rv int) {
	q.completed = true
	q.cb(rv)
}

func (q *fakeResolveRequest) Addresses() net.AddressList { return q.r.addrs }

func (q *fakeResolveRequest) SetPriority(net.RequestPriority) {}

func (q *fakeResolveRequest) Cancel() {
	if !q.completed {
		q.cancelled = true
	}
}

// fakeDelegate records connect job completions.
type fakeDelegate struct {
	r *reentrancy
	c chan int
}

func newFakeDelegate(t testing.TB) *fakeDelegate {
	return &fakeDelegate{r: &reentrancy{t: t}, c: make(chan int, 4)}
}

func (d *fakeDelegate) OnConnectJobComplete(rv int, _ ConnectJob) {
	if d.r.inCall {
		d.r.t.Error("OnConnectJobComplete ran inside Connect")
	}
	d.c <- rv
}

var testGroup = GroupID{Scheme: "http", Host: "example.test", Port: 80}

// startTransportJob creates a job on the loop and calls Connect.
func startTransportJob(t testing.TB, l *net.Loop, f *TransportConnectJobFactory, d *fakeDelegate) (ConnectJob, int) {
	t.Helper()
	var job ConnectJob
	var rv int
	nettest.OnLoop(t, l, func() {
		job = f.NewConnectJob(testGroup, net.Medium, d)
		rv = d.r.call(job.Connect)
	})
	return job, rv
}

func TestTransportConnectJobSuccess(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	log := netlog.New()
	col := nettest.NewRecorder(log, netlog.Default)
	res := &fakeResolver{loop: l, addrs: net.AddressList{srv.addr()}, hang: true}
	f := &TransportConnectJobFactory{Loop: l, NetLog: log, Resolver: res}
	d := newFakeDelegate(t)
	job, rv := startTransportJob(t, l, f, d)
	if rv != net.IOPending {
		t.Fatalf("Connect = %d, want IOPending", rv)
	}
	nettest.OnLoop(t, l, func() {
		if got := job.LoadState(); got != net.LoadStateResolvingHost {
			t.Errorf("LoadState while resolving = %v", got)
		}
		if len(res.requests) != 1 || res.requests[0].host != "example.test" || res.requests[0].port != 80 {
			t.Errorf("resolver requests = %+v", res.requests)
		}
		// The resolver answers in a later task.
		l.Post(func() { res.requests[0].answer(net.OK) })
	})
	if rv := waitInt(t, d.c, "connect job completion"); rv != net.OK {
		t.Fatalf("job result = %v", net.Error(rv))
	}
	srv.accept(t)
	var jobID uint32
	nettest.OnLoop(t, l, func() {
		jobID = job.NetLog().Source().ID
		s := job.TakeSocket()
		if s == nil || !s.IsConnected() || s.PeerAddress() != srv.addr() {
			t.Errorf("TakeSocket = %v", s)
			return
		}
		if job.TakeSocket() != nil {
			t.Error("TakeSocket twice returned a socket")
		}
		s.Disconnect()
	})
	begin := col.One(t, netlog.EventConnectJob, netlog.PhaseBegin, jobID)
	if begin.Params["group_id"] != testGroup.String() || begin.Source.Type != netlog.SourceTransportConnectJob {
		t.Errorf("CONNECT_JOB begin = %+v", begin)
	}
	col.One(t, netlog.EventConnectJob, netlog.PhaseEnd, jobID)
	col.One(t, netlog.EventTransportConnectJobConnect, netlog.PhaseBegin, jobID)
	col.One(t, netlog.EventTransportConnectJobConnect, netlog.PhaseEnd, jobID)
	col.One(t, netlog.EventConnectJobSetSocket, netlog.PhaseNone, jobID)
}

func TestTransportConnectJobLoadStateConnecting(t *testing.T) {
	l := nettest.NewLoop(t)
	srv := newTCPServer(t)
	// Synchronous DNS: Connect goes straight to the TCP connect.
	res := &fakeResolver{loop: l, addrs: net.AddressList{srv.addr()}, sync: true}
	f := &TransportConnectJobFactory{Loop: l, Resolver: res}
	d := newFakeDelegate(t)
	job, rv := startTransportJob(t, l, f, d)
	if rv != net.IOPending {
		t.Fatalf("Connect = %d, want IOPending", rv)
	}
	nettest.OnLoop(t, l, func() {
		if got := job.LoadState(); got != net.LoadStateConnecting {
			t.Errorf("LoadState while connecting = %v", got)
		}
	})
	if rv := waitInt(t, d.c, "connect job completion"); rv != net.OK {
		t.Fatalf("job result = %v", net.Error(rv))
	}
	nettest.OnLoop(t, l, func() { job.TakeSocket().Disconnect() })
}

func TestTransportConnectJobRefused(t *testing.T) {
	l := nettest.NewLoop(t)
	res := &fakeResolver{loop: l, addrs: net.AddressList{deadAddr(t)}}
	f := &TransportConnectJobFactory{Loop: l, Resolver: res}
	d := newFakeDelegate(t)
	job, rv := startTransportJob(t, l, f, d)
	if rv != net.IOPending {
		t.Fatalf("Connect = %d, want IOPending", rv)
	}
	if rv := waitInt(t, d.c, "connect job completion"); rv != int(net.ErrConnectionRefused) {
		t.Fatalf("job result = %v, want ERR_CONNECTION_REFUSED", net.Error(rv))
	}
	nettest.OnLoop(t, l, func() {
		if job.TakeSocket() != nil {
			t.Error("a failed job has a socket")
		}
	})
}

func TestTransportConnectJobDNSFailure(t *testing.T) {
	t.Run("sync", func(t *testing.T) {
		l := nettest.NewLoop(t)
		res := &fakeResolver{loop: l, result: int(net.ErrNameNotResolved), sync: true}
		f := &TransportConnectJobFactory{Loop: l, Resolver: res}
		d := newFakeDelegate(t)
		_, rv := startTransportJob(t, l, f, d)
		if rv != int(net.ErrNameNotResolved) {
			t.Fatalf("Connect = %v, want a synchronous ERR_NAME_NOT_RESOLVED", net.Error(rv))
		}
		nettest.ExpectNone(t, d.c, "delegate of a synchronous failure")
	})
	t.Run("async", func(t *testing.T) {
		l := nettest.NewLoop(t)
		res := &fakeResolver{loop: l, result: int(net.ErrNameNotResolved)}
		f := &TransportConnectJobFactory{Loop: l, Resolver: res}
		d := newFakeDelegate(t)
		_, rv := startTransportJob(t, l, f, d)
		if rv != net.IOPending {
			t.Fatalf("Connect = %d, want IOPending", rv)
		}
		if rv := waitInt(t, d.c, "connect job completion"); rv != int(net.ErrNameNotResolved) {
			t.Fatalf("job result = %v, want ERR_NAME_NOT_RESOLVED", net.Error(rv))
		}
		nettest.ExpectNone(t, d.c, "a second completion")
	})
}

func TestTransportConnectJobTimeout(t *testing.T) {
	l := nettest.NewLoop(t)
	log := netlog.New()
	col := nettest.NewRecorder(log, netlog.Default)
	res := &fakeResolver{loop: l, hang: true}
	f := &TransportConnectJobFactory{Loop: l, NetLog: log, Resolver: res, Timeout: 20 * time.Millisecond}
	d := newFakeDelegate(t)
	job, rv := startTransportJob(t, l, f, d)
	if rv != net.IOPending {
		t.Fatalf("Connect = %d, want IOPending", rv)
	}
	if rv := waitInt(t, d.c, "connect job timeout"); rv != int(net.ErrTimedOut) {
		t.Fatalf("job result = %v, want ERR_TIMED_OUT", net.Error(rv))
	}
	var id uint32
	nettest.OnLoop(t, l, func() {
		id = job.NetLog().Source().ID
		if !res.requests[0].cancelled {
			t.Error("the DNS request of a timed-out job was not cancelled")
		}
		job.Cancel() // after completion: a no-op
	})
	col.One(t, netlog.EventConnectJobTimedOut, netlog.PhaseNone, id)
	end := col.One(t, netlog.EventConnectJob, netlog.PhaseEnd, id)
	if end.Params["net_error"] != int(net.ErrTimedOut) {
		t.Errorf("CONNECT_JOB end = %v", end.Params)
	}
	nettest.ExpectNone(t, d.c, "a second completion")
}

func TestTransportConnectJobCancel(t *testing.T) {
	t.Run("resolving", func(t *testing.T) {
		l := nettest.NewLoop(t)
		res := &fakeResolver{loop: l, addrs: net.AddressList{deadAddr(t)}}
		f := &TransportConnectJobFactory{Loop: l, Resolver: res, Timeout: 20 * time.Millisecond}
		d := newFakeDelegate(t)
		var rv int
		nettest.OnLoop(t, l, func() {
			job := f.NewConnectJob(testGroup, net.Medium, d)
			rv = job.Connect()
			job.Cancel() // before the posted DNS answer and the timer
			if !res.requests[0].cancelled {
				t.Error("Cancel did not cancel the DNS request")
			}
		})
		if rv != net.IOPending {
			t.Fatalf("Connect = %d", rv)
		}
		time.Sleep(40 * time.Millisecond) // past the timeout
		nettest.ExpectNone(t, d.c, "delegate after Cancel")
	})
	t.Run("connecting", func(t *testing.T) {
		l := nettest.NewLoop(t)
		srv := newTCPServer(t)
		res := &fakeResolver{loop: l, addrs: net.AddressList{srv.addr()}, sync: true}
		f := &TransportConnectJobFactory{Loop: l, Resolver: res}
		d := newFakeDelegate(t)
		nettest.OnLoop(t, l, func() {
			job := f.NewConnectJob(testGroup, net.Medium, d)
			if rv := job.Connect(); rv != net.IOPending {
				t.Errorf("Connect = %d", rv)
			}
			job.Cancel()
			if job.TakeSocket() != nil {
				t.Error("a cancelled job has a socket")
			}
		})
		nettest.ExpectNone(t, d.c, "delegate after Cancel")
		drain(t, l)
		nettest.ExpectNone(t, d.c, "delegate after Cancel")
	})
}
