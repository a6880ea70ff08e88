package dns

import (
	"context"
	"fmt"
	gonet "net"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/netfetch/netfetch/net"
	"github.com/netfetch/netfetch/netlog"
)

// dcBenchNames is how many distinct names one benchmark iteration resolves,
// and dcBenchInFlight how many resolutions run at once (the resolver's
// default job limit).
const (
	dcBenchNames    = 10000
	dcBenchInFlight = 8
)

// BenchmarkDNSClient10000Names resolves 10,000 distinct names (A and AAAA
// each) through a local miekg/dns server that answers at once, at most 8 at
// a time, with the DNSClient and with Go's pure-Go resolver pointed at the
// same server, and reports both rates and their ratio.
func BenchmarkDNSClient10000Names(b *testing.B) {
	srv := dcStartServer(b, func(q dcQuery) *mdns.Msg {
		m := new(mdns.Msg)
		m.SetReply(q.msg)
		hdr := mdns.RR_Header{Name: q.msg.Question[0].Name, Class: mdns.ClassINET, Ttl: 60, Rrtype: q.qtype}
		if q.qtype == mdns.TypeA {
			m.Answer = []mdns.RR{&mdns.A{Hdr: hdr, A: gonet.IPv4(192, 0, 2, 1)}}
		} else {
			m.Answer = []mdns.RR{&mdns.AAAA{Hdr: hdr, AAAA: gonet.ParseIP("2001:db8::1")}}
		}
		return m
	})
	names := make([]string, dcBenchNames)
	for i := range names {
		// Fully qualified, so that neither resolver applies a search list.
		names[i] = fmt.Sprintf("n%d.bench.example.", i)
	}

	loop := net.NewLoop()
	defer loop.Shutdown()
	var client *DNSClient
	cfg := dcConfig(srv.addr)
	cfg.Timeout = 5 * time.Second
	loop.PostAndWait(func() { client = NewDNSClient(loop, cfg, netlog.New()) })
	ours := func() error {
		sem := make(chan struct{}, dcBenchInFlight)
		errs := make(chan error, 1)
		var wg sync.WaitGroup
		for _, name := range names {
			sem <- struct{}{}
			wg.Add(1)
			loop.Post(func() {
				client.Resolve(name, nil, netlog.WithSource{}, func(r DNSResult) {
					if r.Err != 0 || len(r.Addresses) != 2 {
						select {
						case errs <- fmt.Errorf("%s: %+v", name, r):
						default:
						}
					}
					<-sem
					wg.Done()
				})
			})
		}
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}

	goResolver := &gonet.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (gonet.Conn, error) {
			var d gonet.Dialer
			return d.DialContext(ctx, network, srv.addr.String())
		},
	}
	theirs := func() error {
		sem := make(chan struct{}, dcBenchInFlight)
		errs := make(chan error, 1)
		var wg sync.WaitGroup
		for _, name := range names {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				ips, err := goResolver.LookupNetIP(context.Background(), "ip", name)
				if err != nil || len(ips) != 2 {
					select {
					case errs <- fmt.Errorf("%s: %v %v", name, ips, err):
					default:
					}
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return err
		default:
			return nil
		}
	}

	var oursTime, theirsTime time.Duration
	for b.Loop() {
		start := time.Now()
		if err := ours(); err != nil {
			b.Fatal(err)
		}
		oursTime += time.Since(start)
		start = time.Now()
		if err := theirs(); err != nil {
			b.Fatal(err)
		}
		theirsTime += time.Since(start)
	}
	n := float64(b.N * dcBenchNames)
	oursRate := n / oursTime.Seconds()
	theirsRate := n / theirsTime.Seconds()
	b.ReportMetric(oursRate, "netfetch-names/s")
	b.ReportMetric(theirsRate, "go-names/s")
	b.ReportMetric(oursRate/theirsRate, "netfetch/go")
}
