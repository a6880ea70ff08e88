// Package dns resolves host names for the stack, after Chromium's net/dns.
// Requests are made and answered on the loop: a HostResolver answers at once
// when it can (an IP literal, localhost) and otherwise returns IOPending and
// calls back on the loop when the lookup, run off the loop, completes.
package dns
