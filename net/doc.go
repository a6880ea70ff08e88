// Package net is the base of the netfetch stack, after Chromium's net/base:
// the Loop that owns all stack state, Chromium's net error codes as Error,
// load flags, load states and request priorities.
//
// Asynchronous methods throughout netfetch follow Chromium's convention:
// they return an int that is either a result (OK, a byte count, or a
// negative error code) when the operation finished synchronously, or
// IOPending, in which case the CompletionCallback runs exactly once,
// later, on the Loop — never from inside the call that returned IOPending.
package net

// CompletionCallback receives the result of an operation that returned
// IOPending: OK or a byte count on success, a negative Error code on failure.
type CompletionCallback func(result int)

// Results shared by every asynchronous method.
const (
	// OK means success with nothing more to report.
	OK = 0
	// IOPending means the operation continues and its callback will run later.
	IOPending = int(ErrIOPending)
)
