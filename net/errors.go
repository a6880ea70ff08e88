package net

import (
	"context"
	"errors"
	"io"
	gonet "net"
	"os"
	"strconv"
	"syscall"
)

//go:generate go run ../internal/gentables -kind errors -in net_error_list.txt -out error_list.go

// Error is one of Chromium's net error codes (always negative), such as
// ErrConnectionRefused (-102). Errors compare by value, so
// errors.Is(err, net.ErrConnectionRefused) works through any wrapping.
type Error int

// Error returns Chromium's ErrorToString form, "net::ERR_CONNECTION_REFUSED".
func (e Error) Error() string { return "net::" + e.Name() }

// Code returns the numeric code, e.g. -102.
func (e Error) Code() int { return int(e) }

// Name returns Chromium's name, e.g. "ERR_CONNECTION_REFUSED". Codes that
// are not in the table print as "ERR_UNKNOWN_<code>".
func (e Error) Name() string {
	if e == 0 {
		return "OK"
	}
	if name, ok := errorNames[e]; ok {
		return "ERR_" + name
	}
	return "ERR_UNKNOWN_" + strconv.Itoa(int(e))
}

// IsCertificateError reports whether e is in Chromium's certificate error
// range, which callers may choose to let the user bypass.
func (e Error) IsCertificateError() bool {
	return (e <= ErrCertCommonNameInvalid && e > ErrCertEnd) || e == ErrSSLPinnedKeyNotInCertChain
}

// ErrorFromResult converts an int result from an asynchronous method into an
// error: nil for OK and byte counts, an Error for negative codes.
func ErrorFromResult(result int) error {
	if result >= 0 {
		return nil
	}
	return Error(result)
}

// ResultFromError converts an error into an int result. nil is OK; an Error
// anywhere in the chain keeps its code; anything else is mapped with
// MapSystemError.
func ResultFromError(err error) int {
	if err == nil {
		return OK
	}
	return int(MapSystemError(err))
}

// AllErrors lists every error code in the table, in Chromium's order.
func AllErrors() []Error {
	out := make([]Error, len(errorOrder))
	copy(out, errorOrder)
	return out
}

// ErrorByName looks up a code by its name, with or without the "ERR_"
// prefix ("CONNECTION_REFUSED", "ERR_CONNECTION_REFUSED").
func ErrorByName(name string) (Error, bool) {
	if len(name) > 4 && name[:4] == "ERR_" {
		name = name[4:]
	}
	for _, e := range errorOrder {
		if errorNames[e] == name {
			return e, true
		}
	}
	return 0, false
}

// MapSystemError maps an error from Go's standard library or the operating
// system to the closest Chromium code, as Chromium's MapSystemError does for
// errno values. An Error already in the chain is returned as it is.
func MapSystemError(err error) Error {
	if err == nil {
		return 0
	}
	var ne Error
	if errors.As(err, &ne) {
		return ne
	}
	switch {
	case errors.Is(err, context.Canceled):
		return ErrAborted
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ErrTimedOut
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrConnectionClosed
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EAGAIN:
			return ErrIOPending
		case syscall.EACCES, syscall.EPERM:
			return ErrAccessDenied
		case syscall.ENETDOWN:
			return ErrInternetDisconnected
		case syscall.ETIMEDOUT:
			return ErrTimedOut
		case syscall.ECONNRESET, syscall.ENETRESET, syscall.EPIPE:
			return ErrConnectionReset
		case syscall.ECONNABORTED:
			return ErrConnectionAborted
		case syscall.ECONNREFUSED:
			return ErrConnectionRefused
		case syscall.EHOSTUNREACH, syscall.EHOSTDOWN, syscall.ENETUNREACH, syscall.EAFNOSUPPORT:
			return ErrAddressUnreachable
		case syscall.EADDRNOTAVAIL:
			return ErrAddressInvalid
		case syscall.EMSGSIZE:
			return ErrMsgTooBig
		case syscall.ENOTCONN:
			return ErrSocketNotConnected
		case syscall.EISCONN:
			return ErrSocketIsConnected
		case syscall.EINVAL:
			return ErrInvalidArgument
		case syscall.EADDRINUSE:
			return ErrAddressInUse
		case syscall.EBADF:
			return ErrInvalidHandle
		case syscall.EMFILE, syscall.ENFILE:
			return ErrInsufficientResources
		case syscall.ENOBUFS:
			return ErrNoBufferSpace
		case syscall.ENOMEM:
			return ErrOutOfMemory
		case syscall.ENOENT:
			return ErrFileNotFound
		case syscall.EEXIST:
			return ErrFileExists
		case syscall.ENOSPC:
			return ErrFileNoSpace
		case syscall.ENAMETOOLONG:
			return ErrFilePathTooLong
		case 0:
			return 0
		}
	}
	// A closed net.Conn reports net.ErrClosed ("use of closed network
	// connection"), which is not os.ErrClosed.
	if errors.Is(err, os.ErrClosed) || errors.Is(err, gonet.ErrClosed) {
		return ErrSocketNotConnected
	}
	if errors.Is(err, os.ErrNotExist) {
		return ErrFileNotFound
	}
	if errors.Is(err, os.ErrPermission) {
		return ErrAccessDenied
	}
	return ErrFailed
}
