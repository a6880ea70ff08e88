package dns

import (
	"encoding/binary"
	"errors"
	gonet "net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/internal/nettest"
	"github.com/netfetch/netfetch/internal/testserver"
	"github.com/netfetch/netfetch/net"
)

// A hostile server: a raw UDP socket the test scripts byte by byte, since a
// miekg/dns server will not send malformed answers.

type dcRawQuery struct {
	from netip.AddrPort
	data []byte
	msg  *mdns.Msg
}

type dcHostile struct {
	t       testing.TB
	conn    *gonet.UDPConn
	addr    netip.AddrPort
	queries chan dcRawQuery
}

func dcStartHostile(t testing.TB) *dcHostile {
	t.Helper()
	c, err := gonet.ListenUDP("udp", &gonet.UDPAddr{IP: gonet.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &dcHostile{t: t, conn: c, addr: c.LocalAddr().(*gonet.UDPAddr).AddrPort(), queries: make(chan dcRawQuery, 64)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			buf := make([]byte, 4096)
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			m := new(mdns.Msg)
			if err := m.Unpack(buf[:n]); err != nil {
				continue
			}
			s.queries <- dcRawQuery{from: from, data: buf[:n], msg: m}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return s
}

// next waits for the next query.
func (s *dcHostile) next() dcRawQuery {
	s.t.Helper()
	select {
	case q := <-s.queries:
		return q
	case <-time.After(nettest.HangGuard):
		s.t.Fatal("no query arrived")
		return dcRawQuery{}
	}
}

func (s *dcHostile) send(to netip.AddrPort, b []byte) {
	s.t.Helper()
	if _, err := s.conn.WriteToUDPAddrPort(b, to); err != nil {
		s.t.Fatal(err)
	}
}

// answerBytes packs a NOERROR answer to q with one A record for ip; edit may
// change the message first.
func dcAnswerBytes(t testing.TB, q dcRawQuery, ip string, edit func(m *mdns.Msg)) []byte {
	t.Helper()
	m := new(mdns.Msg)
	m.SetReply(q.msg)
	rr, err := mdns.NewRR(q.msg.Question[0].Name + " 60 IN A " + ip)
	if err != nil {
		t.Fatal(err)
	}
	m.Answer = []mdns.RR{rr}
	if edit != nil {
		edit(m)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dcHostileCase starts a one-server, one-attempt client against a hostile
// server and resolves an A record while script answers from the test
// goroutine. It checks that no goroutine is left behind.
func dcHostileCase(t *testing.T, timeout time.Duration, attempts int, script func(s *dcHostile)) DNSResult {
	t.Helper()
	s := dcStartHostile(t)
	cfg := dcConfig(s.addr)
	cfg.Timeout = timeout
	cfg.Attempts = attempts
	h := dcNewHarness(t, cfg)
	base := testserver.GoroutineBaseline()
	p := h.start("www.example", QueryA)
	script(s)
	r := p.wait()
	testserver.CheckGoroutines(t, base)
	return r
}

func TestDNSTransactionWrongIDIgnored(t *testing.T) {
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		s.send(q.from, dcAnswerBytes(t, q, "203.0.113.1", func(m *mdns.Msg) { m.Id++ }))
		s.send(q.from, dcAnswerBytes(t, q, "192.0.2.1", nil))
	})
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.1")) {
		t.Errorf("got %+v, want only the answer with the right ID", r)
	}
}

func TestDNSTransactionWrongQuestionIgnored(t *testing.T) {
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		s.send(q.from, dcAnswerBytes(t, q, "203.0.113.1", func(m *mdns.Msg) {
			m.Question[0].Name = "evil.example."
			m.Answer[0].Header().Name = "evil.example."
		}))
		s.send(q.from, dcAnswerBytes(t, q, "203.0.113.2", func(m *mdns.Msg) { m.Question[0].Qtype = mdns.TypeAAAA }))
		s.send(q.from, dcAnswerBytes(t, q, "203.0.113.3", func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS }))
		// Not a response (QR clear).
		s.send(q.from, dcAnswerBytes(t, q, "203.0.113.4", func(m *mdns.Msg) { m.Response = false }))
		// The same name in another case is the same question.
		s.send(q.from, dcAnswerBytes(t, q, "192.0.2.1", func(m *mdns.Msg) {
			m.Question[0].Name = "WWW.Example."
		}))
	})
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.1")) {
		t.Errorf("got %+v, want only the answer to the question", r)
	}
	// A wrong question alone: ignored until the timeout.
	r = dcHostileCase(t, 200*time.Millisecond, 1, func(s *dcHostile) {
		q := s.next()
		s.send(q.from, dcAnswerBytes(t, q, "203.0.113.1", func(m *mdns.Msg) { m.Question[0].Name = "evil.example." }))
	})
	if r.Err != net.ErrDNSTimedOut {
		t.Errorf("Err = %v, want ErrDNSTimedOut", r.Err)
	}
}

func TestDNSTransactionOtherSourceIgnored(t *testing.T) {
	other, err := gonet.ListenUDP("udp", &gonet.UDPAddr{IP: gonet.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		// A perfect answer, but from another port: dropped.
		if _, err := other.WriteToUDPAddrPort(dcAnswerBytes(t, q, "203.0.113.1", nil), q.from); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		s.send(q.from, dcAnswerBytes(t, q, "192.0.2.1", nil))
	})
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.1")) {
		t.Errorf("got %+v, want only the server's answer", r)
	}
}

// dcHeader is a response header for q with the given counts.
func dcHeader(q dcRawQuery, flags uint16, qd, an uint16) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], q.msg.Id)
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], an)
	return b
}

// dcQuestion is q's question section, as sent.
func dcQuestion(q dcRawQuery) []byte {
	end := 12
	for q.data[end] != 0 {
		end += int(q.data[end]) + 1
	}
	return q.data[12 : end+5]
}

func TestDNSTransactionGarbageIsMalformed(t *testing.T) {
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		// Junk that is not even a header, and junk with another ID:
		// nothing says they answer the query, so they are ignored.
		s.send(q.from, []byte{0xde, 0xad})
		junk := []byte("\x00\x00\x81\x80 this is not DNS at all, not at all")
		binary.BigEndian.PutUint16(junk, q.msg.Id+1)
		s.send(q.from, junk)
		// The query's ID with a question that runs off the end.
		b := append(dcHeader(q, 0x8180, 1, 1), 63, 'w', 'w')
		s.send(q.from, b)
	})
	if r.Err != net.ErrDNSMalformedResponse {
		t.Errorf("Err = %v, want ErrDNSMalformedResponse", r.Err)
	}
	// The right question, then an answer record cut in the middle.
	r = dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		b := append(dcHeader(q, 0x8180, 1, 1), dcQuestion(q)...)
		b = append(b, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0)
		s.send(q.from, b)
	})
	if r.Err != net.ErrDNSMalformedResponse {
		t.Errorf("cut record: Err = %v, want ErrDNSMalformedResponse", r.Err)
	}
}

func TestDNSTransactionCompressionLoopIsMalformed(t *testing.T) {
	// An answer whose owner name points at itself.
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		b := append(dcHeader(q, 0x8180, 1, 1), dcQuestion(q)...)
		self := len(b)
		b = append(b, 0xc0|byte(self>>8), byte(self), 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
		s.send(q.from, b)
	})
	if r.Err != net.ErrDNSMalformedResponse {
		t.Errorf("answer loop: Err = %v, want ErrDNSMalformedResponse", r.Err)
	}
	// A question name that points at itself.
	r = dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		b := append(dcHeader(q, 0x8180, 1, 0), 0xc0, 12, 0, 1, 0, 1)
		s.send(q.from, b)
	})
	if r.Err != net.ErrDNSMalformedResponse {
		t.Errorf("question loop: Err = %v, want ErrDNSMalformedResponse", r.Err)
	}
	// Two pointers pointing at each other, in a CNAME's target.
	r = dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		b := append(dcHeader(q, 0x8180, 1, 1), dcQuestion(q)...)
		rdata := len(b) + 12
		b = append(b, 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 4)
		b = append(b, 0xc0|byte((rdata+2)>>8), byte(rdata+2), 0xc0|byte(rdata>>8), byte(rdata))
		s.send(q.from, b)
	})
	if r.Err != net.ErrDNSMalformedResponse {
		t.Errorf("pointer pair: Err = %v, want ErrDNSMalformedResponse", r.Err)
	}
}

func TestDNSTransactionEmptyNoErrorIsNoData(t *testing.T) {
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		s.send(q.from, append(dcHeader(q, 0x8180, 1, 0), dcQuestion(q)...))
	})
	if r.Err != net.ErrNameNotResolved || r.NegativeTTL != 0 || len(r.Addresses) != 0 {
		t.Errorf("got %+v, want NODATA (ErrNameNotResolved) without caching", r)
	}
}

func TestDNSTransactionFailureWithoutQuestion(t *testing.T) {
	// Some servers drop the question from a REFUSED answer.
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		s.send(q.from, dcHeader(q, 0x8185, 0, 0))
	})
	if r.Err != net.ErrDNSRefused {
		t.Errorf("Err = %v, want ErrDNSRefused", r.Err)
	}
	// But NXDOMAIN without a question proves nothing: ignored.
	r = dcHostileCase(t, 200*time.Millisecond, 1, func(s *dcHostile) {
		q := s.next()
		s.send(q.from, dcHeader(q, 0x8183, 0, 0))
	})
	if r.Err != net.ErrDNSTimedOut {
		t.Errorf("Err = %v, want ErrDNSTimedOut", r.Err)
	}
}

func TestDNSTransactionLateAnswerIgnored(t *testing.T) {
	r := dcHostileCase(t, 150*time.Millisecond, 2, func(s *dcHostile) {
		q1 := s.next()
		// Let the first attempt time out; the second comes from a new
		// socket with a new ID.
		q2 := s.next()
		if q1.from == q2.from {
			t.Errorf("second attempt reused source %v", q1.from)
		}
		if q1.msg.Id == q2.msg.Id {
			t.Errorf("second attempt reused ID %d", q1.msg.Id)
		}
		// The late answer to the first query, to both sockets.
		s.send(q1.from, dcAnswerBytes(t, q1, "203.0.113.1", nil))
		s.send(q2.from, dcAnswerBytes(t, q1, "203.0.113.1", nil))
		s.send(q2.from, dcAnswerBytes(t, q2, "192.0.2.2", nil))
	})
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.2")) {
		t.Errorf("got %+v, want the second attempt's answer", r)
	}
}

func TestDNSTransactionFloodBounded(t *testing.T) {
	// Many ignored datagrams do not stop the attempt from taking the
	// right one.
	r := dcHostileCase(t, 2*time.Second, 1, func(s *dcHostile) {
		q := s.next()
		for i := 0; i < 200; i++ {
			s.send(q.from, dcAnswerBytes(t, q, "203.0.113.1", func(m *mdns.Msg) { m.Id += uint16(i + 1) }))
		}
		s.send(q.from, dcAnswerBytes(t, q, "192.0.2.1", nil))
	})
	if r.Err != 0 || !reflect.DeepEqual(r.Addresses, dcAddrs("192.0.2.1")) {
		t.Errorf("got %+v", r)
	}
}

func TestDNSTransactionParseAnswer(t *testing.T) {
	q := new(mdns.Msg)
	q.SetQuestion("www.example.", mdns.TypeAAAA)
	q.Id = 77
	reply := func(edit func(m *mdns.Msg)) []byte {
		m := new(mdns.Msg)
		m.SetReply(q)
		edit(m)
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rr := func(s string) mdns.RR {
		r, err := mdns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// A records in an AAAA answer are not taken; duplicates are merged.
	a, err := parseAnswer(q, reply(func(m *mdns.Msg) {
		m.Answer = []mdns.RR{
			rr("www.example. 60 IN A 192.0.2.1"),
			rr("www.example. 60 IN AAAA 2001:db8::1"),
			rr("www.example. 90 IN AAAA 2001:db8::1"),
			rr("www.example. 4294967295 IN AAAA 2001:db8::2"),
		}
	}))
	if err != nil || !reflect.DeepEqual(a.addrs, dcAddrs("2001:db8::1", "2001:db8::2")) {
		t.Errorf("got %+v, %v", a, err)
	}
	if a.ttl != 0 {
		t.Errorf("ttl = %v, want 0 (a TTL with the top bit set counts as 0)", a.ttl)
	}
	// Truncated: recognised from the header and question alone, even when
	// the records are cut.
	b := reply(func(m *mdns.Msg) {
		m.Truncated = true
		m.Answer = []mdns.RR{rr("www.example. 60 IN AAAA 2001:db8::1")}
	})
	a, err = parseAnswer(q, b[:len(b)-5])
	if err != nil || !a.truncated {
		t.Errorf("truncated: %+v, %v", a, err)
	}
	// Extended rcodes come from the OPT record.
	a, err = parseAnswer(q, reply(func(m *mdns.Msg) {
		m.SetEdns0(1232, false)
		m.Rcode = mdns.RcodeBadVers
	}))
	if err != nil || a.rcode != mdns.RcodeBadVers || a.err != net.ErrDNSOtherFailure {
		t.Errorf("BADVERS: %+v, %v", a, err)
	}
	// Every failure rcode.
	for rcode, want := range map[int]net.Error{
		mdns.RcodeFormatError:    net.ErrDNSFormatError,
		mdns.RcodeServerFailure:  net.ErrDNSServerFailure,
		mdns.RcodeNameError:      net.ErrNameNotResolved,
		mdns.RcodeNotImplemented: net.ErrDNSNotImplemented,
		mdns.RcodeRefused:        net.ErrDNSRefused,
		mdns.RcodeYXDomain:       net.ErrDNSOtherFailure,
	} {
		a, err := parseAnswer(q, reply(func(m *mdns.Msg) { m.Rcode = rcode }))
		if err != nil || a.err != want {
			t.Errorf("rcode %d: %v, %v; want %v", rcode, a.err, err, want)
		}
	}
	// Mismatches.
	for name, b := range map[string][]byte{
		"short":     {0, 77, 0x81},
		"id":        reply(func(m *mdns.Msg) { m.Id = 78 }),
		"opcode":    reply(func(m *mdns.Msg) { m.Opcode = mdns.OpcodeStatus }),
		"no QR":     reply(func(m *mdns.Msg) { m.Response = false }),
		"name":      reply(func(m *mdns.Msg) { m.Question[0].Name = "www.example.com." }),
		"NOERROR/0": reply(func(m *mdns.Msg) { m.Question = nil }),
	} {
		if _, err := parseAnswer(q, b); !errors.Is(err, errMismatch) {
			t.Errorf("%s: err = %v, want a mismatch", name, err)
		}
	}
	if _, err := parseAnswer(q, reply(func(m *mdns.Msg) {
		m.Question = append(m.Question, m.Question[0])
	})); !errors.Is(err, net.ErrDNSMalformedResponse) {
		t.Errorf("two questions: err = %v, want malformed", err)
	}
}
