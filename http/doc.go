// Package http is the HTTP layer of the stack, after Chromium's net/http:
// the NetworkTransaction state machine, the stream factory that finds a
// connection for it, and the HTTP/1.1 BasicStream that speaks on that
// connection. Everything is owned by the loop.
package http
