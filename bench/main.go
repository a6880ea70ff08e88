// Command bench compares netfetch's blocking Context.Fetch with net/http's
// Client on the same local server, in one process and one run, so that both
// see the same machine, the same server and the same moment:
//
//	go run ./bench [-duration 3s] [-concurrency 64] [-cpuprofile FILE]
//
// Each client GETs a 1 KiB body over keep-alive HTTP/1.1 connections, first
// from one goroutine (sequential), then from -concurrency goroutines. Each
// scenario builds fresh clients and warms each up with its own pattern (so
// its connections are open and one scenario's pools do not shape the
// next); then the clients take turns in two rounds so that a drift of the
// machine's speed during the run does not favour either. The server runs in
// the same process: its CPU time and allocations are part of every number,
// equally for both clients.
//
// With -cpuprofile, netfetch alone is run once more under the CPU profiler,
// for -duration per scenario, after the comparison.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// rounds is how many turns each client gets per scenario.
const rounds = 2

// chromiumSocketsPerHost is Chromium's (and netfetch's default) limit of
// connections per host, shown beside the raised limit in the concurrent
// scenario.
const chromiumSocketsPerHost = 6

func main() {
	duration := flag.Duration("duration", 3*time.Second, "measuring time per client per scenario")
	concurrency := flag.Int("concurrency", 64, "goroutines in the concurrent scenario")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "warm-up time per client before measuring")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of a netfetch-only run to `file`")
	flag.Parse()
	if err := run(*duration, *warmup, *concurrency, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// stat is what one measurement counted.
type stat struct {
	requests int64
	elapsed  time.Duration
	mallocs  uint64
}

func (s stat) add(o stat) stat {
	return stat{s.requests + o.requests, s.elapsed + o.elapsed, s.mallocs + o.mallocs}
}

func (s stat) perSecond() float64 { return float64(s.requests) / s.elapsed.Seconds() }

// client is a contender's constructor: each scenario gets fresh clients,
// so that one scenario's pools do not shape the next.
type client struct {
	name string
	new  func(url string) (getter, func(), error)
	// netfetch marks the rows that get a ratio to net/http.
	netfetch bool
}

func run(duration, warmup time.Duration, concurrency int, cpuprofile string) error {
	url, stop, err := startServer()
	if err != nil {
		return err
	}
	defer stop()

	netfetchClient := client{fmt.Sprintf("netfetch (%d sockets/host)", concurrency),
		func(u string) (getter, func(), error) { return newNetfetch(u, concurrency) }, true}
	netfetch6Client := client{fmt.Sprintf("netfetch (%d sockets/host, Chromium's default)", chromiumSocketsPerHost),
		func(u string) (getter, func(), error) { return newNetfetch(u, chromiumSocketsPerHost) }, true}
	stdClient := client{fmt.Sprintf("net/http (%d idle conns/host)", concurrency),
		func(u string) (getter, func(), error) { return newNetHTTP(u, concurrency) }, false}
	scenarios := []scenario{
		{"sequential", 1, []client{netfetchClient, stdClient}},
		{fmt.Sprintf("%d concurrent", concurrency), concurrency, []client{netfetchClient, netfetch6Client, stdClient}},
	}

	fmt.Printf("GET of a %d-byte body from a local net/http server, keep-alive HTTP/1.1\n", bodySize)
	fmt.Printf("%s %s/%s, GOMAXPROCS=%d, %v per client per scenario in %d interleaved rounds\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), duration, rounds)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tclient\trequests\treq/s\tallocs/req\tnetfetch/net/http\t")
	for _, sc := range scenarios {
		totals, err := sc.run(url, duration, warmup)
		if err != nil {
			return err
		}
		base := totals[len(totals)-1].perSecond() // net/http is last
		for i, c := range sc.clients {
			t := totals[i]
			ratio := ""
			if c.netfetch {
				ratio = fmt.Sprintf("%.2f", t.perSecond()/base)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.1f\t%s\t\n", sc.name, c.name, t.requests, t.perSecond(),
				float64(t.mallocs)/float64(t.requests), ratio)
		}
	}
	tw.Flush()
	fmt.Println("\nallocs/req counts the whole process: client and server.")

	if cpuprofile != "" {
		return profile(cpuprofile, url, netfetchClient, duration, concurrency)
	}
	return nil
}

type scenario struct {
	name    string
	workers int
	clients []client
}

// run measures every client of the scenario: fresh clients, each warmed
// up with the scenario's own pattern (so its connections are open), then
// measured in turns.
func (sc scenario) run(url string, duration, warmup time.Duration) ([]stat, error) {
	gets := make([]getter, len(sc.clients))
	for i, c := range sc.clients {
		get, closeClient, err := c.new(url)
		if err != nil {
			return nil, err
		}
		defer closeClient()
		gets[i] = get
	}
	for i, c := range sc.clients {
		if _, err := measure(gets[i], sc.workers, warmup); err != nil {
			return nil, fmt.Errorf("%s, %s: %w", sc.name, c.name, err)
		}
	}
	totals := make([]stat, len(sc.clients))
	for range rounds {
		for i, c := range sc.clients {
			s, err := measure(gets[i], sc.workers, duration/rounds)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", sc.name, c.name, err)
			}
			totals[i] = totals[i].add(s)
		}
	}
	return totals, nil
}

// profile runs netfetch alone, sequential then concurrent (each on a fresh,
// warmed-up Context), under the CPU profiler. The in-process server is in
// the profile too (net/http.(*conn) frames); the client is everything under
// urlrequest, cache, http, socket and net.
func profile(path, url string, c client, duration time.Duration, concurrency int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var gets []getter
	for range 2 {
		get, closeClient, err := c.new(url)
		if err != nil {
			return err
		}
		defer closeClient()
		gets = append(gets, get)
	}
	if _, err := measure(gets[0], 1, 100*time.Millisecond); err != nil {
		return err
	}
	if _, err := measure(gets[1], concurrency, 100*time.Millisecond); err != nil {
		return err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	_, err1 := measure(gets[0], 1, duration)
	_, err2 := measure(gets[1], concurrency, duration)
	pprof.StopCPUProfile()
	if err1 != nil || err2 != nil {
		return fmt.Errorf("profiled run: %v %v", err1, err2)
	}
	fmt.Printf("CPU profile of netfetch (%v sequential + %v with %d goroutines) written to %s\n", duration, duration, concurrency, path)
	return nil
}

// measure calls get from workers goroutines, each in a loop, for d. It
// stops at the first error.
func measure(get getter, workers int, d time.Duration) (stat, error) {
	ctx := context.Background()
	var count atomic.Int64
	var errOnce sync.Once
	var firstErr error
	var before, after runtime.MemStats
	runtime.GC() // start each measurement with the same (empty) garbage
	runtime.ReadMemStats(&before)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := get(ctx); err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return stat{count.Load(), elapsed, after.Mallocs - before.Mallocs}, firstErr
}
