// Package socket provides the stack's sockets, connect jobs and socket
// pools, after Chromium's net/socket. Everything here is owned by a loop:
// methods are called on the loop and callbacks run on it.
package socket
