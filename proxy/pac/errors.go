package pac

import (
	"errors"
	"fmt"
)

// ScriptError is every failure of a PAC script: a syntax error, an uncaught
// exception (Message and Line as Chromium's PAC_JAVASCRIPT_ERROR shows them), a
// FindProxyForURL that is missing or returns a non-string or non-ASCII value,
// the time limit (TimedOut) and a cancelled context (errors.Is(err,
// context.Canceled) then holds). The caller maps it to ERR_PAC_SCRIPT_FAILED,
// or to its own code for TimedOut and cancellation.
type ScriptError struct {
	// Message is the error as the script author should read it.
	Message string
	// Line is the 1-based line in the PAC script, 0 when unknown.
	Line int
	// TimedOut is set when the run exceeded Options.TimeLimit.
	TimedOut bool
	// Events are the alerts and errors of the failed run, in order. Compile
	// reports the first run's events only here; FindProxyForURL also returns
	// them in Result.Events.
	Events []Event

	// cause is the context's error (and cause) for a cancelled run, so that
	// errors.Is sees context.Canceled or context.DeadlineExceeded.
	cause error
}

// Error formats the message with its line, like "pac: line 3: Uncaught ...".
func (e *ScriptError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("pac: line %d: %s", e.Line, e.Message)
	}
	return "pac: " + e.Message
}

// Unwrap returns the context error of a cancelled run (joined with the
// context's cause when it has its own), else nil.
func (e *ScriptError) Unwrap() error { return e.cause }

// errTimeLimit is the cause of a call's context when Options.TimeLimit
// passes; it tells the time limit apart from the caller's own deadline.
var errTimeLimit = errors.New("pac: time limit exceeded")

// errNoLocalAddress is LocalAddresses' failure when no method found one.
var errNoLocalAddress = errors.New("pac: no local IP address found")
