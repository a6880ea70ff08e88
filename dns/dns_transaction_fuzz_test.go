package dns

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/net"
)

// FuzzParseDNSAnswer feeds arbitrary bytes to parseAnswer as the answer to a
// fixed query and checks that it never panics, that it only fails with a
// mismatch or a malformed-response error, and that whatever it accepts
// answers the query: the same ID, a response, the same question (or none
// with a failure rcode), and only addresses of the asked family.
func FuzzParseDNSAnswer(f *testing.F) {
	for _, qtype := range []uint16{mdns.TypeA, mdns.TypeAAAA} {
		q := dcFuzzQuery(qtype)
		add := func(edit func(m *mdns.Msg)) {
			m := new(mdns.Msg)
			m.SetReply(q)
			edit(m)
			if b, err := m.Pack(); err == nil {
				f.Add(qtype == mdns.TypeAAAA, b)
			}
		}
		rr := func(s string) mdns.RR { r, _ := mdns.NewRR(s); return r }
		add(func(m *mdns.Msg) {
			m.Answer = []mdns.RR{rr("www.example. 60 IN A 192.0.2.1"), rr("www.example. 60 IN AAAA 2001:db8::1")}
		})
		add(func(m *mdns.Msg) {
			m.Answer = []mdns.RR{rr("www.example. 60 IN CNAME a.example."), rr("a.example. 30 IN A 192.0.2.2"), rr("a.example. 30 IN AAAA 2001:db8::2")}
		})
		add(func(m *mdns.Msg) {
			m.Rcode = mdns.RcodeNameError
			m.Ns = []mdns.RR{rr("example. 60 IN SOA ns.example. admin.example. 1 2 3 4 5")}
		})
		add(func(m *mdns.Msg) { m.Truncated = true })
		add(func(m *mdns.Msg) { m.Rcode = mdns.RcodeRefused; m.Question = nil })
		add(func(m *mdns.Msg) { m.SetEdns0(1232, false); m.Rcode = mdns.RcodeBadVers })
		// A compression loop.
		b := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0}
		b = append(b, 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1)
		b = append(b, 0xc0, byte(len(b)), 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4)
		f.Add(false, b)
	}

	f.Fuzz(func(t *testing.T, aaaa bool, raw []byte) {
		qtype := mdns.TypeA
		if aaaa {
			qtype = mdns.TypeAAAA
		}
		q := dcFuzzQuery(qtype)
		a, err := parseAnswer(q, raw)
		if err != nil {
			if !errors.Is(err, errMismatch) && !errors.Is(err, net.ErrDNSMalformedResponse) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(raw) < headerLen {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		if id := binary.BigEndian.Uint16(raw); id != q.Id {
			t.Fatalf("accepted ID %d, query's is %d", id, q.Id)
		}
		bits := binary.BigEndian.Uint16(raw[2:])
		if bits&flagQR == 0 || bits>>11&0xF != 0 {
			t.Fatalf("accepted flags %#x", bits)
		}
		switch binary.BigEndian.Uint16(raw[4:]) {
		case 0:
			switch a.err {
			case net.ErrDNSFormatError, net.ErrDNSServerFailure, net.ErrDNSNotImplemented, net.ErrDNSRefused:
			default:
				if !a.truncated {
					t.Fatalf("accepted an answer without a question with %v", a.err)
				}
			}
			if len(a.addrs) != 0 {
				t.Fatalf("addresses without a question")
			}
		case 1:
			name, off, err := mdns.UnpackDomainName(raw, headerLen)
			if err != nil || !strings.EqualFold(name, q.Question[0].Name) ||
				binary.BigEndian.Uint16(raw[off:]) != qtype || binary.BigEndian.Uint16(raw[off+2:]) != mdns.ClassINET {
				t.Fatalf("accepted another question: %q %v", name, err)
			}
		default:
			t.Fatalf("accepted %d questions", binary.BigEndian.Uint16(raw[4:]))
		}
		if a.truncated && (len(a.addrs) != 0 || a.err != 0) {
			t.Fatalf("truncated answer with content: %+v", a)
		}
		if len(a.addrs) > 0 && (a.err != 0 || a.rcode != mdns.RcodeSuccess) {
			t.Fatalf("addresses with rcode %d", a.rcode)
		}
		for _, ip := range a.addrs {
			if ip.Is4() != (qtype == mdns.TypeA) {
				t.Fatalf("%v in a %s answer", ip, mdns.TypeToString[qtype])
			}
		}
		if a.ttl < 0 || a.negTTL < 0 {
			t.Fatalf("negative TTL: %+v", a)
		}
	})
}

func dcFuzzQuery(qtype uint16) *mdns.Msg {
	q := new(mdns.Msg)
	q.SetQuestion("www.example.", qtype)
	q.Id = 0x1234
	q.SetEdns0(ednsUDPSize, false)
	return q
}
