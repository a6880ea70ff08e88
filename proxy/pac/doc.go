// Package pac runs proxy auto-config (PAC) scripts, after Chromium's
// services/proxy_resolver: a script is compiled once by [Compile] and its
// FindProxyForURL(url, host) is then called by [Script.FindProxyForURL] from
// any number of goroutines.
//
// The engine is goja. Each [Script] keeps a small pool of goja runtimes
// (Options.MaxRuntimes, Chromium's kDefaultNumPacThreads = 4): a runtime runs
// the PAC library and the script once when it is created and then serves one
// call at a time. A call that is interrupted (time limit, cancelled context)
// or that failed in a way that leaves the runtime in doubt throws the runtime
// away; the next call builds a fresh one.
//
// DNS is blocking, as in Chromium's "blocking mode": a DNS helper calls
// [Host] on the goroutine running the script, under the call's deadline. A
// call resolves at most 20 distinct names (kMaxUniqueResolveDnsPerExec) and
// remembers its answers; the Script shares successful answers between calls
// for 5 seconds (ProxyHostResolverCache).
//
// The script sees the ECMAScript built-ins and the PAC library only: no
// require, console, timers, file or network access; source-map comments are
// ignored so that parsing never reads a file.
//
// # The library
//
// The functions and their failure values follow Chromium: the Mozilla JS
// library (dnsDomainIs, dnsDomainLevels, isValidIpAddress, convert_addr,
// isInNet, isResolvable, localHostOrDomainIs, shExpMatch, weekdayRange,
// dateRange, timeRange, isResolvableEx) written anew in JS, and Chromium's
// native bindings (isPlainHostName, dnsResolve, dnsResolveEx, myIpAddress,
// myIpAddressEx, sortIpAddressList, isInNetEx, alert) in Go.
//
// Two deliberate differences from Chromium, both in the time functions:
// "local time" is the location of Options.Now rather than the machine's zone,
// and the "GMT" forms of dateRange and timeRange compare against the UTC wall
// clock directly (the Mozilla code converts field by field, which goes wrong
// around month ends and midnight when the local zone is not UTC). The
// day-overflow quirks of the Mozilla algorithm (dateRange("JAN", "FEB") ends on
// "February 31st", i.e. early March) are kept.
package pac
