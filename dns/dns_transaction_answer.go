package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/net"
)

// errMismatch marks a datagram that is not an answer to the query in flight
// (another ID, another question, not a response): a UDP attempt ignores it
// and keeps reading, so a stray or spoofed datagram cannot end the attempt.
var errMismatch = errors.New("dns: datagram does not answer the query")

// DNS header layout (RFC 1035 4.1.1).
const (
	headerLen = 12
	flagQR    = 1 << 15
	flagTC    = 1 << 9
)

// dnsAnswer is what a response that answers the query says.
type dnsAnswer struct {
	// rcode is the response code, extended by the OPT record when present.
	rcode int
	// truncated is the TC bit: the rest of the response was not parsed and
	// the query must be repeated over TCP.
	truncated bool
	// err is the rcode as a net error (FailureRcodeToNetError): 0 for
	// NOERROR, ErrNameNotResolved for NXDOMAIN, ErrDNSServerFailure, ...
	err net.Error
	// addrs are the addresses of the requested type found at the end of the
	// CNAME chain that starts at the question's name (NOERROR only); none
	// for NODATA.
	addrs []netip.Addr
	// aliases are the CNAME targets followed from the question's name, in
	// order, without the trailing dot; the last is the canonical name.
	aliases []string
	// ttl is the smallest TTL of the records used (CNAMEs and addresses).
	ttl time.Duration
	// negTTL is how long a negative answer (NXDOMAIN, or NOERROR without
	// addresses) may be cached: min(SOA TTL, SOA MINIMUM) of the authority
	// section's SOA (RFC 2308 section 5), 0 without one.
	negTTL time.Duration
	// Section sizes, for the NetLog.
	answerCount, additionalCount int
}

// parseAnswer checks that raw answers query and interprets it. It is pure,
// so it can be fuzzed and can run off the loop.
//
// It returns errMismatch when raw cannot be taken as the answer to query:
// shorter than a header, another ID, not a response, another opcode, or a
// question of another name (compared case-insensitively), type or class. A
// response without a question is accepted only for the rcodes that make the
// client try another server (FORMERR, SERVFAIL, NOTIMP, REFUSED), since
// servers send those without one and nothing in them can be cached. It
// returns an error wrapping net.ErrDNSMalformedResponse when raw has the
// query's ID but does not parse (miekg/dns's Unpack errors: a truncated
// record, a compression pointer loop, ...).
func parseAnswer(query *mdns.Msg, raw []byte) (dnsAnswer, error) {
	var a dnsAnswer
	if len(query.Question) != 1 {
		return a, fmt.Errorf("%w: query has %d questions", net.ErrInvalidArgument, len(query.Question))
	}
	if len(raw) < headerLen {
		return a, errMismatch
	}
	id := binary.BigEndian.Uint16(raw[0:])
	bits := binary.BigEndian.Uint16(raw[2:])
	qdcount := binary.BigEndian.Uint16(raw[4:])
	if id != query.Id || bits&flagQR == 0 || int(bits>>11&0xF) != query.Opcode {
		return a, errMismatch
	}
	a.rcode = int(bits & 0xF)
	switch qdcount {
	case 0:
		switch a.rcode {
		case mdns.RcodeFormatError, mdns.RcodeServerFailure, mdns.RcodeNotImplemented, mdns.RcodeRefused:
		default:
			return a, errMismatch
		}
	case 1:
		// Check the question before anything else is parsed, so that a
		// truncated answer (whose records may be cut) is recognised.
		name, off, err := mdns.UnpackDomainName(raw, headerLen)
		if err != nil {
			return a, malformedResponse(err)
		}
		if off+4 > len(raw) {
			return a, malformedResponse(errors.New("question cut short"))
		}
		q := query.Question[0]
		if !strings.EqualFold(name, q.Name) || binary.BigEndian.Uint16(raw[off:]) != q.Qtype || binary.BigEndian.Uint16(raw[off+2:]) != q.Qclass {
			return a, errMismatch
		}
	default:
		return a, malformedResponse(fmt.Errorf("%d questions", qdcount))
	}
	if bits&flagTC != 0 {
		// Chromium checks TC before the rcode: whatever the UDP answer
		// says, the full one comes over TCP.
		a.truncated = true
		return a, nil
	}
	msg := new(mdns.Msg)
	if err := msg.Unpack(raw); err != nil {
		return a, malformedResponse(err)
	}
	a.rcode = msg.Rcode
	a.err = rcodeError(msg.Rcode)
	a.answerCount = len(msg.Answer)
	a.additionalCount = len(msg.Extra)
	switch msg.Rcode {
	case mdns.RcodeSuccess:
		if qdcount == 1 {
			extractAddresses(&a, msg, query.Question[0])
		}
		if len(a.addrs) == 0 {
			a.negTTL = negativeTTL(msg)
		}
	case mdns.RcodeNameError:
		a.negTTL = negativeTTL(msg)
	}
	return a, nil
}

func malformedResponse(err error) error {
	return fmt.Errorf("%w: %v", net.ErrDNSMalformedResponse, err)
}

// rcodeError maps a response code to a net error as Chromium's
// DnsAttempt::FailureRcodeToNetError does.
func rcodeError(rcode int) net.Error {
	switch rcode {
	case mdns.RcodeSuccess:
		return 0
	case mdns.RcodeFormatError:
		return net.ErrDNSFormatError
	case mdns.RcodeServerFailure:
		return net.ErrDNSServerFailure
	case mdns.RcodeNameError:
		return net.ErrNameNotResolved
	case mdns.RcodeNotImplemented:
		return net.ErrDNSNotImplemented
	case mdns.RcodeRefused:
		return net.ErrDNSRefused
	default:
		return net.ErrDNSOtherFailure
	}
}

// extractAddresses follows the CNAME chain from the question's name within
// the answer section and collects the addresses of the asked type at its
// end. Records for other names are ignored: a response only vouches for the
// chain it was asked about, so anything else could be cache poisoning. A
// loop, or a chain that leaves the answer section, ends the walk with what
// was found (no addresses: NODATA).
func extractAddresses(a *dnsAnswer, msg *mdns.Msg, q mdns.Question) {
	// Index the records once: a hostile answer may hold thousands.
	byName := make(map[string][]mdns.RR, len(msg.Answer))
	for _, rr := range msg.Answer {
		h := rr.Header()
		if h.Class != mdns.ClassINET {
			continue
		}
		key := strings.ToLower(h.Name)
		byName[key] = append(byName[key], rr)
	}
	ttl := uint32(math.MaxUint32)
	cur := strings.ToLower(q.Name)
	visited := map[string]bool{cur: true}
	for {
		var cname *mdns.CNAME
		found := false
		minAddrTTL := uint32(math.MaxUint32)
		for _, rr := range byName[cur] {
			var ip netip.Addr
			var ok bool
			switch v := rr.(type) {
			case *mdns.A:
				if q.Qtype == mdns.TypeA {
					ip, ok = netip.AddrFromSlice(v.A.To4())
				}
			case *mdns.AAAA:
				if q.Qtype == mdns.TypeAAAA {
					ip, ok = netip.AddrFromSlice(v.AAAA.To16())
				}
			case *mdns.CNAME:
				if cname == nil {
					cname = v
				}
			}
			if !ok {
				continue
			}
			found = true
			minAddrTTL = min(minAddrTTL, wireTTL(rr.Header().Ttl))
			if !containsAddr(a.addrs, ip) {
				a.addrs = append(a.addrs, ip)
			}
		}
		if found {
			a.ttl = ttlDuration(min(ttl, minAddrTTL))
			return
		}
		if cname == nil {
			return
		}
		target := strings.ToLower(cname.Target)
		if visited[target] {
			return
		}
		visited[target] = true
		ttl = min(ttl, wireTTL(cname.Hdr.Ttl))
		a.aliases = append(a.aliases, strings.TrimSuffix(target, "."))
		cur = target
	}
}

// containsAddr is a linear search: answers hold a handful of addresses, and
// a hostile one with thousands costs milliseconds, not more.
func containsAddr(list []netip.Addr, ip netip.Addr) bool {
	for _, a := range list {
		if a == ip {
			return true
		}
	}
	return false
}

// negativeTTL is RFC 2308's negative caching time: the smaller of the SOA
// record's TTL and its MINIMUM field, from the authority section; 0 (do not
// cache) without an SOA.
func negativeTTL(msg *mdns.Msg) time.Duration {
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*mdns.SOA); ok && soa.Hdr.Class == mdns.ClassINET {
			return ttlDuration(min(wireTTL(soa.Hdr.Ttl), wireTTL(soa.Minttl)))
		}
	}
	return 0
}

// wireTTL reads a TTL as RFC 2181 section 8 says: a value with the top bit
// set is taken as 0.
func wireTTL(ttl uint32) uint32 {
	if ttl > math.MaxInt32 {
		return 0
	}
	return ttl
}

func ttlDuration(ttl uint32) time.Duration { return time.Duration(wireTTL(ttl)) * time.Second }
