package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/netfetch/netfetch/netlog"
	"github.com/netfetch/netfetch/urlrequest"
)

// run is the whole command: it parses args, fetches, writes the outputs and
// returns the exit code. SIGINT cancels the fetches; the NetLog is still
// finished properly and the exit code is 130.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	// After the first interrupt a second one gets Go's default handling and
	// kills the process, in case finishing up hangs.
	context.AfterFunc(ctx, stop)
	return runContext(ctx, args, stdout, stderr)
}

// runContext is run with the interrupt as a context, so tests can
// interrupt a run without a signal.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	var ue *usageError
	switch {
	case errors.Is(err, errHelp):
		fmt.Fprint(stdout, usageText)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "netfetch: %v\nUsage: netfetch [flags] URL [URL...]; netfetch --help lists the flags.\n", ue)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "netfetch: %v\n", err)
		return 2
	case o.version:
		fmt.Fprintf(stdout, "netfetch %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	}
	errOut := &lockedWriter{w: stderr}
	report := func(format string, args ...any) {
		if !o.silent {
			fmt.Fprintf(errOut, format, args...)
		}
	}

	if o.outputDir != "" {
		if err := os.MkdirAll(o.outputDir, 0o777); err != nil {
			report("netfetch: --output-dir: %v\n", err)
			return outcomeWriteFailed.exitCode()
		}
	}
	var nl *netlog.NetLog
	var fw *netlog.FileWriter
	if o.netlogPath != "" {
		if fw, err = netlog.CreateFileWriter(o.netlogPath, o.captureMode); err != nil {
			report("netfetch: --netlog: %v\n", err)
			return outcomeWriteFailed.exitCode()
		}
		nl = netlog.New()
		nl.AddObserver(fw, o.captureMode)
	}
	b := urlrequest.NewBuilder().
		SetProxyConfig(o.proxyConfig).
		SetRootCAs(o.rootCAs).
		SetInsecureSkipVerify(o.insecure).
		SetMaxSocketsPerGroup(o.maxPerHost).
		SetDNSServers(o.nameservers).
		SetSystemDNS(o.systemDNS).
		SetHostResolverRules(o.rules)
	if o.noHostCache {
		b.SetHostCache(0)
	}
	switch {
	case o.cacheDir != "":
		b.SetDiskCache(o.cacheDir, o.cacheSize)
	case o.cacheKind == "memory":
		b.SetMemoryCache(o.cacheSize)
	}
	if o.connectTimeout > 0 {
		b.SetConnectTimeout(time.Duration(o.connectTimeout * float64(time.Second)))
	}
	if nl != nil {
		b.SetNetLog(nl)
	}
	uc, err := b.Build()
	if err != nil {
		report("netfetch: %v\n", err)
		if fw != nil {
			nl.RemoveObserver(fw)
			fw.Close(nil)
		}
		return outcomeNetFailed.exitCode()
	}

	if err := uc.CacheError(); err != nil {
		// A locked or unwritable cache directory is not fatal: the run
		// goes on without the disk cache, as a second browser profile
		// user would.
		report("netfetch: --cache-dir: %v; running without the disk cache\n", err)
	}
	f := &fetcher{o: o, uc: uc, userAgent: urlrequest.DefaultUserAgent, stderr: errOut}
	if o.output == "" && o.outputDir == "" || o.output == "-" {
		f.stdout = newOrderedStdout(ctx, stdout, len(o.urls))
		defer f.stdout.close()
	}
	worst := outcomeOK
	if o.resolveProxy {
		worst = f.resolveProxies(ctx, stdout)
	} else {
		for _, oc := range f.fetchAll(ctx) {
			worst = max(worst, oc)
		}
	}
	if f.stdout != nil && f.stdout.err != nil {
		report("netfetch: writing output: %v\n", f.stdout.err)
		worst = max(worst, outcomeWriteFailed)
	}

	// Polled data describes the live pools, so it is taken before Close;
	// the observer goes after Close so the log has the teardown events.
	var polled netlog.Params
	if fw != nil {
		polled = uc.PolledData()
	}
	uc.Close()
	if fw != nil {
		nl.RemoveObserver(fw)
		if err := fw.Close(polled); err != nil {
			report("netfetch: --netlog: %v\n", err)
			worst = max(worst, outcomeWriteFailed)
		}
	}
	if ctx.Err() != nil {
		worst = outcomeInterrupted
	}
	return worst.exitCode()
}

// version is the module version when built from a tagged module, else
// "devel".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}
