package dns

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	gonet "net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// ednsUDPSize is the UDP payload size queries advertise in their EDNS0 OPT
// record: 1232 bytes, DNS Flag Day 2020's value, which fits the IPv6
// minimum MTU. Chromium advertises 4096, but answers that large are
// fragmented, and fragments are lost on many paths and can be spoofed;
// above 1232 bytes the server sets TC and the answer comes over TCP.
const ednsUDPSize = 1232

// maxUDPRead is the read buffer for UDP answers: a server may ignore the
// advertised size, and a datagram cut by a short buffer would not parse.
const maxUDPRead = 65535

var udpBufPool = sync.Pool{New: func() any { b := make([]byte, maxUDPRead); return &b }}

// maxLoggedDatagrams bounds the datagrams an attempt keeps for the NetLog,
// so a server flooding an attempt with junk cannot make it hoard memory.
const maxLoggedDatagrams = 16

// resultKind says how a transaction ended.
type resultKind int

const (
	kindData     resultKind = iota // addresses
	kindNoData                     // the name exists but has no such records
	kindNXDomain                   // the name does not exist (every candidate)
	kindError                      // no usable answer: err says why
)

// transactionResult is what a transaction reports.
type transactionResult struct {
	kind    resultKind
	addrs   []netip.Addr
	aliases []string
	ttl     time.Duration
	// negTTL is how long a kindNoData or kindNXDomain result may be cached;
	// for NXDOMAIN the smallest over the candidate names, 0 if any of them
	// came without an SOA.
	negTTL time.Duration
	// err is 0 for kindData and kindNoData, ErrNameNotResolved for
	// kindNXDomain, and the failure for kindError.
	err net.Error
}

// dnsTransaction is one DNS query type for one host name, tried under each
// of its candidate names (the search list) in turn: Chromium's
// DnsTransactionImpl in classic (UDP) mode. For each candidate it makes up
// to Attempts × len(Nameservers) UDP attempts, one at a time, each on a new
// socket with a new random ID and a timeout of Config.Timeout; servers are
// taken round-robin from the transaction's first server. An NXDOMAIN moves
// to the next candidate; a truncated answer is retried once over TCP to the
// same server, and that retry's outcome is final, as in Chromium; timeouts,
// SERVFAIL, REFUSED, malformed answers and socket errors move to the next
// attempt, and when none is left the last attempt's error ends the
// transaction.
//
// It is owned by the loop. Each attempt's I/O runs in one goroutine started
// with net.Go; cancel stops it (its sockets are closed by its context).
type dnsTransaction struct {
	loop        *net.Loop
	cfg         *DNSConfig
	hostname    string
	qnames      []string // fully qualified candidates, in order
	qtype       uint16
	firstServer int
	nl          netlog.WithSource
	cb          func(transactionResult)

	qi         int // index of the current candidate in qnames
	attempts   int // UDP attempts made for the current candidate
	hadTCP     bool
	inQuery    bool // DNS_TRANSACTION_QUERY is open
	negTTL     time.Duration
	negTTLSeen bool
	base       *mdns.Msg // the current candidate's query, ID 0
	op         net.Op
	sock       netlog.WithSource // the attempt in flight's socket source
	sockOpen   bool
	done       bool
}

// newDNSTransaction prepares a transaction; start runs it. qnames are fully
// qualified names; parent gets a DNS_TRANSACTION event pointing at the
// transaction's own source.
func newDNSTransaction(loop *net.Loop, cfg *DNSConfig, log *netlog.NetLog, hostname string, qnames []string, qtype uint16, firstServer int, parent netlog.WithSource, cb func(transactionResult)) *dnsTransaction {
	t := &dnsTransaction{
		loop: loop, cfg: cfg, hostname: hostname, qnames: qnames, qtype: qtype,
		firstServer: firstServer, cb: cb,
		nl: netlog.NewSource(log, netlog.SourceDNSTransaction),
	}
	parent.AddEventReferencingSource(netlog.EventDNSTransaction, t.nl.Source())
	return t
}

// start begins the first attempt. The callback always runs later, in its
// own loop task.
func (t *dnsTransaction) start() {
	t.nl.BeginEvent(netlog.EventDNSTransaction, func(netlog.CaptureMode) netlog.Params {
		return netlog.Params{"hostname": t.hostname, "query_type": int(t.qtype)}
	})
	if len(t.qnames) == 0 || len(t.cfg.Nameservers) == 0 {
		t.loop.Post(func() {
			if !t.done {
				t.finish(transactionResult{kind: kindError, err: net.ErrDNSSearchEmpty})
			}
		})
		return
	}
	t.startQuery()
}

// cancel abandons the transaction: the attempt's goroutine is told to stop
// and close its socket, and the callback will not run. Call it on the loop.
func (t *dnsTransaction) cancel() {
	if t.done {
		return
	}
	t.done = true
	t.op.Cancel()
	t.closeSocketSource(int(net.ErrAborted))
	if t.inQuery {
		t.nl.EndEventWithNetErrorCode(netlog.EventDNSTransactionQuery, int(net.ErrAborted))
	}
	t.nl.EndEventWithNetErrorCode(netlog.EventDNSTransaction, int(net.ErrAborted))
}

// startQuery begins the attempts for the current candidate name.
func (t *dnsTransaction) startQuery() {
	qname := t.qnames[t.qi]
	t.nl.BeginEvent(netlog.EventDNSTransactionQuery, func(netlog.CaptureMode) netlog.Params {
		// Chromium logs the dotted name without the root's dot.
		return netlog.Params{"qname": strings.TrimSuffix(qname, ".")}
	})
	t.inQuery = true
	t.attempts = 0
	t.hadTCP = false
	m := new(mdns.Msg)
	m.SetQuestion(qname, t.qtype) // also sets RD, as Chromium's DnsQuery
	m.Id = 0
	m.SetEdns0(ednsUDPSize, false)
	t.base = m
	t.makeUDPAttempt()
}

// query returns the current candidate's query with a fresh random ID
// (RFC 5452: every query, UDP or TCP, gets an unpredictable one).
func (t *dnsTransaction) query() (*mdns.Msg, []byte, error) {
	q := *t.base
	q.Id = mdns.Id()
	packed, err := q.Pack()
	return &q, packed, err
}

func (t *dnsTransaction) serverIndex() int {
	return (t.firstServer + t.attempts) % len(t.cfg.Nameservers)
}

func (t *dnsTransaction) makeUDPAttempt() {
	server := t.serverIndex()
	addr := t.cfg.Nameservers[server]
	attemptNumber := t.attempts
	t.attempts++
	q, packed, err := t.query()
	if err != nil {
		// The names were validated; a pack failure is a bug, reported
		// rather than hidden.
		t.loop.Post(func() {
			if !t.done {
				t.endQueryAndFinish(transactionResult{kind: kindError, err: net.ErrInvalidArgument})
			}
		})
		return
	}
	t.openSocketSource(netlog.SourceUDPSocket, netlog.EventUDPConnect, addr)
	sock := t.sock
	t.nl.AddEvent(netlog.EventDNSTransactionAttempt, func(netlog.CaptureMode) netlog.Params {
		p := sock.Source().DependencyParams()
		p["attempt_number"] = attemptNumber
		p["server_index"] = server
		return p
	})
	timeout := t.cfg.Timeout
	capture := t.nl.IsCapturing()
	t.op = net.Go(t.loop, func(ctx context.Context) (exchangeResult, error) {
		return udpExchange(ctx, addr, q, packed, timeout, capture)
	}, func(res exchangeResult, err error) { t.onAttemptDone(res, err, false) })
}

// makeTCPAttempt repeats the current query over TCP to the server whose UDP
// answer was truncated. The timeout is twice the UDP one, as Chromium
// doubles its fallback period for the TCP retry: a TCP exchange needs a
// handshake first.
func (t *dnsTransaction) makeTCPAttempt() {
	t.hadTCP = true
	server := (t.firstServer + t.attempts - 1) % len(t.cfg.Nameservers)
	addr := t.cfg.Nameservers[server]
	q, packed, err := t.query()
	if err != nil {
		t.endQueryAndFinish(transactionResult{kind: kindError, err: net.ErrInvalidArgument})
		return
	}
	t.openSocketSource(netlog.SourceSocket, netlog.EventTCPConnect, addr)
	sock := t.sock
	attemptNumber := t.attempts
	t.nl.AddEvent(netlog.EventDNSTransactionTCPAttempt, func(netlog.CaptureMode) netlog.Params {
		p := sock.Source().DependencyParams()
		p["attempt_number"] = attemptNumber
		p["server_index"] = server
		return p
	})
	timeout := 2 * t.cfg.Timeout
	capture := t.nl.IsCapturing()
	t.op = net.Go(t.loop, func(ctx context.Context) (exchangeResult, error) {
		return tcpExchange(ctx, addr, q, packed, timeout, capture)
	}, func(res exchangeResult, err error) { t.onAttemptDone(res, err, true) })
}

// openSocketSource starts the NetLog source of an attempt's socket, as
// Chromium's UDP and TCP client sockets log themselves.
func (t *dnsTransaction) openSocketSource(st netlog.SourceType, connect netlog.EventType, addr netip.AddrPort) {
	t.sock = netlog.NewSource(t.nl.NetLog(), st)
	t.sockOpen = true
	t.sock.BeginEventReferencingSource(netlog.EventSocketAlive, t.nl.Source())
	if connect == netlog.EventTCPConnect {
		t.sock.BeginEventWithParams(connect, netlog.Params{"address_list": []string{addr.String()}, "aliases": []string{}})
	} else {
		t.sock.BeginEventWithParams(connect, netlog.Params{"address": addr.String()})
	}
}

func (t *dnsTransaction) closeSocketSource(rv int) {
	if !t.sockOpen {
		return
	}
	t.sockOpen = false
	t.sock.EndEventWithNetErrorCode(netlog.EventSocketAlive, rv)
}

// onAttemptDone runs on the loop when an attempt's goroutine has finished.
func (t *dnsTransaction) onAttemptDone(res exchangeResult, err error, tcp bool) {
	if t.done {
		return
	}
	sock := t.sock
	connectEvent, recvEvent := netlog.EventUDPConnect, netlog.EventUDPBytesReceived
	if tcp {
		connectEvent, recvEvent = netlog.EventTCPConnect, netlog.EventSocketBytesReceived
	}
	switch {
	case res.connectErr != 0:
		sock.EndEventWithNetErrorCode(connectEvent, int(res.connectErr))
	case res.local.IsValid() && tcp:
		local, remote := res.local, res.remote
		sock.EndEvent(connectEvent, func(netlog.CaptureMode) netlog.Params {
			return netlog.Params{"local_address": local.String(), "remote_address": remote.String()}
		})
		sock.AddByteTransferEvent(netlog.EventSocketBytesSent, res.sent)
	case res.local.IsValid():
		sock.EndEvent(connectEvent, nil)
		sock.AddEventWithParams(netlog.EventUDPLocalAddress, netlog.Params{"address": res.local.String()})
	default:
		// The loop shut down before the goroutine reported.
		sock.EndEventWithNetErrorCode(connectEvent, net.ResultFromError(err))
	}
	if !tcp && res.sent != nil {
		sock.AddByteTransferEvent(netlog.EventUDPBytesSent, res.sent)
	}
	for _, d := range res.received {
		logReceived(sock, recvEvent, d)
	}
	rv := net.ResultFromError(err)
	if err == nil {
		rv = int(res.ans.err)
	}
	t.closeSocketSource(rv)
	t.logResponse(sock, res, err)

	if err != nil {
		e := net.MapSystemError(err)
		if e == net.ErrAborted || tcp {
			// A failed TCP retry is final, as in Chromium: the next
			// server would most likely truncate too.
			t.endQueryAndFinish(transactionResult{kind: kindError, err: e})
			return
		}
		t.nextAttemptOr(e)
		return
	}
	a := res.ans
	switch {
	case a.truncated && !tcp:
		t.makeTCPAttempt()
	case a.truncated:
		t.endQueryAndFinish(transactionResult{kind: kindError, err: net.ErrDNSMalformedResponse})
	case a.err == 0 && len(a.addrs) > 0:
		t.endQueryAndFinish(transactionResult{kind: kindData, addrs: a.addrs, aliases: a.aliases, ttl: a.ttl})
	case a.err == 0:
		t.endQueryAndFinish(transactionResult{kind: kindNoData, negTTL: a.negTTL})
	case a.err == net.ErrNameNotResolved:
		t.nl.EndEventWithNetErrorCode(netlog.EventDNSTransactionQuery, int(a.err))
		t.inQuery = false
		if !t.negTTLSeen || a.negTTL < t.negTTL {
			t.negTTL = a.negTTL
		}
		t.negTTLSeen = true
		t.qi++
		if t.qi < len(t.qnames) {
			t.startQuery()
			return
		}
		t.finish(transactionResult{kind: kindNXDomain, err: net.ErrNameNotResolved, negTTL: t.negTTL})
	case tcp:
		t.endQueryAndFinish(transactionResult{kind: kindError, err: a.err})
	default:
		// SERVFAIL, REFUSED and the other failure rcodes are the server's
		// problem, not the name's: ask the next one.
		t.nextAttemptOr(a.err)
	}
}

// logReceived logs a received message as Chromium's byte-transfer events
// ({byte_count}, and the bytes in Everything mode), with the reason when the
// attempt ignored it.
func logReceived(sock netlog.WithSource, t netlog.EventType, d dnsDatagram) {
	sock.AddEvent(t, func(mode netlog.CaptureMode) netlog.Params {
		p := netlog.Params{"byte_count": len(d.data)}
		if mode.IncludesSocketBytes() {
			p["bytes"] = base64.StdEncoding.EncodeToString(d.data)
		}
		if d.ignored != nil {
			p["ignored"] = d.ignored.Error()
		}
		return p
	})
}

// logResponse adds DNS_TRANSACTION_RESPONSE with Chromium's
// DnsAttempt::NetLogResponseParams.
func (t *dnsTransaction) logResponse(sock netlog.WithSource, res exchangeResult, err error) {
	t.nl.AddEvent(netlog.EventDNSTransactionResponse, func(mode netlog.CaptureMode) netlog.Params {
		p := sock.Source().DependencyParams()
		if err == nil && !res.ans.truncated {
			p["rcode"] = res.ans.rcode
			p["answer_count"] = res.ans.answerCount
			p["additional_answer_count"] = res.ans.additionalCount
		} else if err == nil {
			p["rcode"] = res.ans.rcode
			p["truncated"] = true
		}
		if mode >= netlog.Everything && res.raw != nil {
			p["response_buffer"] = base64.StdEncoding.EncodeToString(res.raw)
		}
		return p
	})
}

// nextAttemptOr makes the next UDP attempt for the current name, or, when
// every server has had its attempts, ends the transaction with err (the
// last attempt's error).
func (t *dnsTransaction) nextAttemptOr(err net.Error) {
	if t.attempts < t.cfg.Attempts*len(t.cfg.Nameservers) {
		t.makeUDPAttempt()
		return
	}
	t.endQueryAndFinish(transactionResult{kind: kindError, err: err})
}

func (t *dnsTransaction) endQueryAndFinish(r transactionResult) {
	if t.inQuery {
		t.nl.EndEventWithNetErrorCode(netlog.EventDNSTransactionQuery, int(r.err))
		t.inQuery = false
	}
	t.finish(r)
}

func (t *dnsTransaction) finish(r transactionResult) {
	t.done = true
	t.op = net.Op{}
	t.nl.EndEventWithNetErrorCode(netlog.EventDNSTransaction, int(r.err))
	t.cb(r)
}

// ---------------------------------------------------------------------------
// The blocking exchanges, run off the loop.

// exchangeResult is what an attempt's goroutine reports.
type exchangeResult struct {
	ans        dnsAnswer
	raw        []byte    // the accepted answer, kept only while capturing
	connectErr net.Error // the dial's failure, 0 when the socket was set up
	local      netip.AddrPort
	remote     netip.AddrPort // TCP only
	sent       []byte         // the bytes written, for the log
	received   []dnsDatagram  // what arrived, kept only while capturing
}

// dnsDatagram is one received message and, when it was not taken as the
// answer, why.
type dnsDatagram struct {
	data    []byte
	ignored error
}

// deadlineInPast is a deadline in the past: setting it wakes a blocked read.
var deadlineInPast = time.Unix(1, 0)

// udpExchange sends query to server from a new socket (a new random source
// port: the kernel picks an ephemeral port for each) and reads until a
// datagram answers it or the timeout passes. Datagrams from another address
// (a connected socket already drops them; the check stays as a second
// line), with another ID or another question are ignored, so a stray or
// spoofed datagram can neither end nor poison the attempt. Cancelling ctx
// closes the socket and returns ErrAborted at once.
func udpExchange(ctx context.Context, server netip.AddrPort, query *mdns.Msg, packed []byte, timeout time.Duration, capture bool) (exchangeResult, error) {
	var res exchangeResult
	deadline := time.Now().Add(timeout)
	d := gonet.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "udp", server.String())
	if err != nil {
		e := ioError(ctx, err)
		res.connectErr = net.MapSystemError(e)
		return res, e
	}
	conn := c.(*gonet.UDPConn)
	defer conn.Close()
	// Set the deadline before arming the wake-up, or it could undo it.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(deadlineInPast) })
	defer stop()
	if la, ok := conn.LocalAddr().(*gonet.UDPAddr); ok {
		res.local = la.AddrPort()
	}
	if _, err := conn.Write(packed); err != nil {
		return res, ioError(ctx, err)
	}
	res.sent = packed
	bp := udpBufPool.Get().(*[]byte)
	defer udpBufPool.Put(bp)
	buf := *bp
	want := netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return res, ioError(ctx, err)
		}
		data := buf[:n]
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		var a dnsAnswer
		var perr error
		if from != want {
			perr = errors.New("datagram from " + from.String())
		} else {
			a, perr = parseAnswer(query, data)
		}
		if capture && len(res.received) < maxLoggedDatagrams {
			var ignored error
			if perr != nil && (from != want || errors.Is(perr, errMismatch)) {
				ignored = perr
			}
			res.received = append(res.received, dnsDatagram{data: append([]byte(nil), data...), ignored: ignored})
		}
		if from != want || errors.Is(perr, errMismatch) {
			continue
		}
		if perr != nil {
			return res, perr
		}
		res.ans = a
		if capture {
			res.raw = append([]byte(nil), data...)
		}
		return res, nil
	}
}

// tcpExchange sends query over a new TCP connection to server and reads one
// length-prefixed answer. On TCP nothing else can arrive first, so an answer
// that does not match the query is malformed rather than ignored. When the
// connection cannot be made or breaks, the result is ErrDNSServerRequiresTCP:
// the server said the answer needs TCP, and TCP to it does not work.
func tcpExchange(ctx context.Context, server netip.AddrPort, query *mdns.Msg, packed []byte, timeout time.Duration, capture bool) (exchangeResult, error) {
	var res exchangeResult
	deadline := time.Now().Add(timeout)
	d := gonet.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		res.connectErr = net.MapSystemError(ioError(ctx, err))
		return res, tcpError(ctx, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(deadlineInPast) })
	defer stop()
	if la, ok := c.LocalAddr().(*gonet.TCPAddr); ok {
		res.local = la.AddrPort()
	}
	res.remote = server
	msg := make([]byte, 2+len(packed))
	binary.BigEndian.PutUint16(msg, uint16(len(packed)))
	copy(msg[2:], packed)
	res.sent = msg
	if _, err := c.Write(msg); err != nil {
		return res, tcpError(ctx, err)
	}
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return res, tcpError(ctx, err)
	}
	data := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(c, data); err != nil {
		return res, tcpError(ctx, err)
	}
	if capture {
		res.received = append(res.received, dnsDatagram{data: append(hdr[:], data...)})
		res.raw = data
	}
	a, err := parseAnswer(query, data)
	if err != nil {
		if errors.Is(err, errMismatch) {
			return res, malformedResponse(err)
		}
		return res, err
	}
	res.ans = a
	return res, nil
}

// ioError maps a UDP socket error: the attempt's deadline is a DNS timeout,
// a cancelled context an abort, anything else (an ICMP port unreachable
// read back as ECONNREFUSED, say) Chromium's mapping of the errno.
func ioError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return net.ErrAborted
	case errors.Is(err, os.ErrDeadlineExceeded), isNetTimeout(err):
		return net.ErrDNSTimedOut
	}
	return net.MapSystemError(err)
}

// tcpError maps a TCP retry's error; see tcpExchange.
func tcpError(ctx context.Context, err error) error {
	e := ioError(ctx, err)
	if e == net.ErrAborted || e == net.ErrDNSTimedOut {
		return e
	}
	return net.ErrDNSServerRequiresTCP
}

func isNetTimeout(err error) bool {
	var ne gonet.Error
	return errors.As(err, &ne) && ne.Timeout()
}
