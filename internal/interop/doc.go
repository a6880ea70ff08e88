// Package interop holds helpers for netfetch's interop tests: tests that run
// the stack against real peers users run (nginx, the microsocks and dante
// SOCKS servers, tinyproxy, dnsmasq; later shadowsocks) started by
// the test itself.
//
// Every server started here listens on loopback only (127.0.0.1, and [::1]
// where asked), on free ports picked at run time, runs in the foreground as a
// child of the test binary, in its own process group, and is stopped by a
// t.Cleanup registered when it starts, so no process outlives its test.
//
// Interop tests are skipped when a binary they need is missing, unless the
// environment variable NETFETCH_INTEROP is set (scripts/test.sh and CI set
// it): then a missing binary fails the test. scripts/install-test-deps.sh
// installs the binaries from Debian's packages.
package interop
