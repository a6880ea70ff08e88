package net_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	gonet "net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netfetch/netfetch/net"
)

func TestAllErrorsUniqueNegativeNamed(t *testing.T) {
	all := net.AllErrors()
	if len(all) < 240 {
		t.Fatalf("AllErrors has %d codes; Chromium has about 250", len(all))
	}
	byCode := map[net.Error]bool{}
	byName := map[string]net.Error{}
	for _, e := range all {
		if e >= 0 {
			t.Errorf("code %d is not negative", int(e))
		}
		if byCode[e] {
			t.Errorf("code %d listed twice", int(e))
		}
		byCode[e] = true
		name := e.Name()
		if !strings.HasPrefix(name, "ERR_") || strings.HasPrefix(name, "ERR_UNKNOWN_-") {
			t.Errorf("code %d has name %q", int(e), name)
		}
		if prev, dup := byName[name]; dup {
			t.Errorf("name %s used by %d and %d", name, int(prev), int(e))
		}
		byName[name] = e
		if e.Code() != int(e) {
			t.Errorf("%s.Code() = %d", name, e.Code())
		}
		if got, ok := net.ErrorByName(name); !ok || got != e {
			t.Errorf("ErrorByName(%q) = %d, %v", name, int(got), ok)
		}
	}
	// AllErrors returns a copy.
	all[0] = 12345
	if net.AllErrors()[0] == 12345 {
		t.Error("AllErrors returned the table itself, not a copy")
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		e        net.Error
		name     string
		errorStr string
	}{
		{net.ErrConnectionRefused, "ERR_CONNECTION_REFUSED", "net::ERR_CONNECTION_REFUSED"},
		{net.ErrIOPending, "ERR_IO_PENDING", "net::ERR_IO_PENDING"},
		{net.ErrNameNotResolved, "ERR_NAME_NOT_RESOLVED", "net::ERR_NAME_NOT_RESOLVED"},
		{net.ErrCertAuthorityInvalid, "ERR_CERT_AUTHORITY_INVALID", "net::ERR_CERT_AUTHORITY_INVALID"},
		{net.ErrHTTP2ProtocolError, "ERR_HTTP2_PROTOCOL_ERROR", "net::ERR_HTTP2_PROTOCOL_ERROR"},
		{net.ErrDNSTimedOut, "ERR_DNS_TIMED_OUT", "net::ERR_DNS_TIMED_OUT"},
		{net.Error(0), "OK", "net::OK"},
		{net.Error(-99999), "ERR_UNKNOWN_-99999", "net::ERR_UNKNOWN_-99999"},
	}
	for _, tt := range tests {
		if got := tt.e.Name(); got != tt.name {
			t.Errorf("Error(%d).Name() = %q, want %q", int(tt.e), got, tt.name)
		}
		if got := tt.e.Error(); got != tt.errorStr {
			t.Errorf("Error(%d).Error() = %q, want %q", int(tt.e), got, tt.errorStr)
		}
	}
}

func TestErrorsIsAndAs(t *testing.T) {
	base := net.ErrConnectionRefused
	wrapped := fmt.Errorf("dial example.com: %w", base)
	twice := fmt.Errorf("fetch: %w", wrapped)
	joined := errors.Join(errors.New("other"), twice)

	for _, err := range []error{base, wrapped, twice, joined} {
		if !errors.Is(err, net.ErrConnectionRefused) {
			t.Errorf("errors.Is(%v, ErrConnectionRefused) = false", err)
		}
		if errors.Is(err, net.ErrConnectionReset) {
			t.Errorf("errors.Is(%v, ErrConnectionReset) = true", err)
		}
		var ne net.Error
		if !errors.As(err, &ne) || ne != net.ErrConnectionRefused {
			t.Errorf("errors.As(%v) = %v", err, ne)
		}
	}
}

func TestErrorByName(t *testing.T) {
	tests := []struct {
		in   string
		want net.Error
		ok   bool
	}{
		{"ERR_CONNECTION_REFUSED", net.ErrConnectionRefused, true},
		{"CONNECTION_REFUSED", net.ErrConnectionRefused, true},
		{"IO_PENDING", net.ErrIOPending, true},
		{"ERR_CERT_END", net.ErrCertEnd, true},
		{"DNS_REFUSED", net.ErrDNSRefused, true},
		{"connection_refused", 0, false}, // case-sensitive, as Chromium prints
		{"ERR_", 0, false},
		{"", 0, false},
		{"ERR_NO_SUCH_THING", 0, false},
		{"net::ERR_CONNECTION_REFUSED", 0, false},
	}
	for _, tt := range tests {
		got, ok := net.ErrorByName(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ErrorByName(%q) = %d, %v; want %d, %v", tt.in, int(got), ok, int(tt.want), tt.ok)
		}
	}
}

func TestMapSystemError(t *testing.T) {
	sys := func(call string, errno syscall.Errno) error { return os.NewSyscallError(call, errno) }
	opErr := func(err error) error {
		return &gonet.OpError{Op: "dial", Net: "tcp", Addr: &gonet.TCPAddr{IP: gonet.IPv4(127, 0, 0, 1), Port: 1}, Err: err}
	}
	tests := []struct {
		name string
		err  error
		want net.Error
	}{
		{"nil", nil, 0},
		{"ECONNREFUSED", syscall.ECONNREFUSED, net.ErrConnectionRefused},
		{"ECONNRESET", syscall.ECONNRESET, net.ErrConnectionReset},
		{"EPIPE", syscall.EPIPE, net.ErrConnectionReset},
		{"ENETRESET", syscall.ENETRESET, net.ErrConnectionReset},
		{"ECONNABORTED", syscall.ECONNABORTED, net.ErrConnectionAborted},
		{"ETIMEDOUT", syscall.ETIMEDOUT, net.ErrTimedOut},
		{"EHOSTUNREACH", syscall.EHOSTUNREACH, net.ErrAddressUnreachable},
		{"EHOSTDOWN", syscall.EHOSTDOWN, net.ErrAddressUnreachable},
		{"ENETUNREACH", syscall.ENETUNREACH, net.ErrAddressUnreachable},
		{"EAFNOSUPPORT", syscall.EAFNOSUPPORT, net.ErrAddressUnreachable},
		{"ENETDOWN", syscall.ENETDOWN, net.ErrInternetDisconnected},
		{"EADDRNOTAVAIL", syscall.EADDRNOTAVAIL, net.ErrAddressInvalid},
		{"EADDRINUSE", syscall.EADDRINUSE, net.ErrAddressInUse},
		{"EACCES", syscall.EACCES, net.ErrAccessDenied},
		{"EPERM", syscall.EPERM, net.ErrAccessDenied},
		{"EAGAIN", syscall.EAGAIN, net.ErrIOPending},
		{"EMSGSIZE", syscall.EMSGSIZE, net.ErrMsgTooBig},
		{"ENOTCONN", syscall.ENOTCONN, net.ErrSocketNotConnected},
		{"EISCONN", syscall.EISCONN, net.ErrSocketIsConnected},
		{"EINVAL", syscall.EINVAL, net.ErrInvalidArgument},
		{"EBADF", syscall.EBADF, net.ErrInvalidHandle},
		{"EMFILE", syscall.EMFILE, net.ErrInsufficientResources},
		{"ENFILE", syscall.ENFILE, net.ErrInsufficientResources},
		{"ENOBUFS", syscall.ENOBUFS, net.ErrNoBufferSpace},
		{"ENOMEM", syscall.ENOMEM, net.ErrOutOfMemory},
		{"ENOENT", syscall.ENOENT, net.ErrFileNotFound},
		{"EEXIST", syscall.EEXIST, net.ErrFileExists},
		{"ENOSPC", syscall.ENOSPC, net.ErrFileNoSpace},
		{"ENAMETOOLONG", syscall.ENAMETOOLONG, net.ErrFilePathTooLong},
		{"unknown errno", syscall.EDOM, net.ErrFailed},

		{"SyscallError(ECONNREFUSED)", sys("connect", syscall.ECONNREFUSED), net.ErrConnectionRefused},
		{"OpError(SyscallError(ECONNRESET))", opErr(sys("read", syscall.ECONNRESET)), net.ErrConnectionReset},
		{"OpError(SyscallError(EHOSTUNREACH))", opErr(sys("connect", syscall.EHOSTUNREACH)), net.ErrAddressUnreachable},
		{"wrapped OpError(ETIMEDOUT)", fmt.Errorf("dial: %w", opErr(sys("connect", syscall.ETIMEDOUT))), net.ErrTimedOut},

		{"context.Canceled", context.Canceled, net.ErrAborted},
		{"wrapped context.Canceled", fmt.Errorf("x: %w", context.Canceled), net.ErrAborted},
		{"context.DeadlineExceeded", context.DeadlineExceeded, net.ErrTimedOut},
		{"os.ErrDeadlineExceeded", os.ErrDeadlineExceeded, net.ErrTimedOut},
		{"OpError(os.ErrDeadlineExceeded)", opErr(os.ErrDeadlineExceeded), net.ErrTimedOut},
		{"io.EOF", io.EOF, net.ErrConnectionClosed},
		{"io.ErrUnexpectedEOF", io.ErrUnexpectedEOF, net.ErrConnectionClosed},
		{"os.ErrClosed", os.ErrClosed, net.ErrSocketNotConnected},
		{"net.ErrClosed", gonet.ErrClosed, net.ErrSocketNotConnected},
		{"OpError(net.ErrClosed)", opErr(gonet.ErrClosed), net.ErrSocketNotConnected},
		{"os.ErrNotExist", os.ErrNotExist, net.ErrFileNotFound},
		{"os.ErrPermission", os.ErrPermission, net.ErrAccessDenied},
		{"plain error", errors.New("boom"), net.ErrFailed},

		// An Error anywhere in the chain wins over everything else.
		{"net.Error", net.ErrNameNotResolved, net.ErrNameNotResolved},
		{"wrapped net.Error", fmt.Errorf("resolve: %w", net.ErrNameNotResolved), net.ErrNameNotResolved},
		{"net.Error joined with EOF", errors.Join(io.EOF, net.ErrCacheMiss), net.ErrCacheMiss},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := net.MapSystemError(tt.err); got != tt.want {
				t.Errorf("MapSystemError(%v) = %v (%d), want %v (%d)", tt.err, got, int(got), tt.want, int(tt.want))
			}
		})
	}
}

// TestMapSystemErrorRealSockets maps errors returned by real sockets.
func TestMapSystemErrorRealSockets(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		// A port that was just listening and is now closed refuses.
		ln, err := gonet.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Skipf("cannot listen on loopback: %v", err)
		}
		addr := ln.Addr().String()
		ln.Close()
		c, err := gonet.DialTimeout("tcp", addr, 5*time.Second)
		if err == nil {
			c.Close()
			t.Skipf("something else is listening on %s", addr)
		}
		if got := net.MapSystemError(err); got != net.ErrConnectionRefused {
			t.Errorf("MapSystemError(%v) = %v, want ErrConnectionRefused", err, got)
		}
		if got := net.ResultFromError(err); got != int(net.ErrConnectionRefused) {
			t.Errorf("ResultFromError = %d, want -102", got)
		}
	})
	t.Run("closed conn", func(t *testing.T) {
		a, b := gonet.Pipe()
		defer b.Close()
		a.Close()
		_, err := a.Write([]byte("x"))
		t.Logf("write on closed pipe: %v", err)

		ln, err := gonet.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Skipf("cannot listen on loopback: %v", err)
		}
		defer ln.Close()
		c, err := gonet.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		_, err = c.Read(make([]byte, 1))
		if got := net.MapSystemError(err); got != net.ErrSocketNotConnected {
			t.Errorf("MapSystemError(%v) = %v, want ErrSocketNotConnected", err, got)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		a, b := gonet.Pipe()
		defer a.Close()
		defer b.Close()
		a.SetReadDeadline(time.Now().Add(-time.Second))
		_, err := a.Read(make([]byte, 1))
		if got := net.MapSystemError(err); got != net.ErrTimedOut {
			t.Errorf("MapSystemError(%v) = %v, want ErrTimedOut", err, got)
		}
	})
}

func TestIsCertificateError(t *testing.T) {
	tests := []struct {
		e    net.Error
		want bool
	}{
		{net.ErrCertCommonNameInvalid, true}, // -200, first
		{net.ErrCertDateInvalid, true},
		{net.ErrCertAuthorityInvalid, true},
		{net.ErrCertRevoked, true},
		{net.ErrCertSelfSignedLocalNetwork, true}, // -219, last
		{net.ErrCertEnd, false},                   // -220 is the end marker
		{net.ErrSSLPinnedKeyNotInCertChain, true}, // -150, the exception
		{net.ErrConnectionRefused, false},
		{net.ErrSSLProtocolError, false},
		{net.ErrInvalidURL, false}, // -300
		{net.Error(-199), false},
		{net.Error(-221), false},
		{net.Error(0), false},
	}
	for _, tt := range tests {
		if got := tt.e.IsCertificateError(); got != tt.want {
			t.Errorf("%v.IsCertificateError() = %v, want %v", tt.e, got, tt.want)
		}
	}
	// Every code in the table agrees with Chromium's rule.
	for _, e := range net.AllErrors() {
		want := (e <= -200 && e > -220) || e == -150
		if e.IsCertificateError() != want {
			t.Errorf("%v (%d).IsCertificateError() = %v", e, int(e), !want)
		}
	}
}

func TestResultErrorRoundTrip(t *testing.T) {
	for _, e := range net.AllErrors() {
		err := net.ErrorFromResult(int(e))
		if err == nil || !errors.Is(err, e) {
			t.Errorf("ErrorFromResult(%d) = %v", int(e), err)
			continue
		}
		if got := net.ResultFromError(err); got != int(e) {
			t.Errorf("ResultFromError(ErrorFromResult(%d)) = %d", int(e), got)
		}
		if got := net.ResultFromError(fmt.Errorf("wrap: %w", err)); got != int(e) {
			t.Errorf("ResultFromError(wrapped %d) = %d", int(e), got)
		}
	}
	for _, r := range []int{net.OK, 1, 4096} {
		if err := net.ErrorFromResult(r); err != nil {
			t.Errorf("ErrorFromResult(%d) = %v, want nil", r, err)
		}
	}
	if got := net.ResultFromError(nil); got != net.OK {
		t.Errorf("ResultFromError(nil) = %d", got)
	}
	if got := net.ResultFromError(syscall.ECONNRESET); got != int(net.ErrConnectionReset) {
		t.Errorf("ResultFromError(ECONNRESET) = %d", got)
	}
	if net.IOPending != -1 || net.OK != 0 {
		t.Errorf("IOPending = %d, OK = %d", net.IOPending, net.OK)
	}
}

// TestErrorCodesMatchChromium checks the codes named in chromium-net.md §7.2
// (the table and the "other handy ones"), by name and by number.
func TestErrorCodesMatchChromium(t *testing.T) {
	want := map[string]int{
		"IO_PENDING": -1, "FAILED": -2, "ABORTED": -3, "INVALID_ARGUMENT": -4,
		"FILE_NOT_FOUND": -6, "TIMED_OUT": -7, "FILE_TOO_BIG": -8, "UNEXPECTED": -9,
		"ACCESS_DENIED": -10, "NOT_IMPLEMENTED": -11, "INSUFFICIENT_RESOURCES": -12,
		"SOCKET_NOT_CONNECTED": -15, "BLOCKED_BY_CLIENT": -20, "NETWORK_CHANGED": -21,
		"CONNECTION_CLOSED": -100, "CONNECTION_RESET": -101, "CONNECTION_REFUSED": -102,
		"CONNECTION_ABORTED": -103, "CONNECTION_FAILED": -104, "NAME_NOT_RESOLVED": -105,
		"INTERNET_DISCONNECTED": -106, "SSL_PROTOCOL_ERROR": -107, "ADDRESS_INVALID": -108,
		"ADDRESS_UNREACHABLE": -109, "SSL_CLIENT_AUTH_CERT_NEEDED": -110,
		"TUNNEL_CONNECTION_FAILED": -111, "SSL_VERSION_OR_CIPHER_MISMATCH": -113,
		"PROXY_AUTH_UNSUPPORTED": -115, "CONNECTION_TIMED_OUT": -118,
		"HOST_RESOLVER_QUEUE_TOO_LARGE": -119, "SOCKS_CONNECTION_FAILED": -120,
		"SOCKS_CONNECTION_HOST_UNREACHABLE": -121, "ALPN_NEGOTIATION_FAILED": -122,
		"PROXY_AUTH_REQUESTED": -127, "PROXY_CONNECTION_FAILED": -130,
		"MANDATORY_PROXY_CONFIGURATION_FAILED": -131, "PRECONNECT_MAX_SOCKET_LIMIT": -133,
		"PROXY_CERTIFICATE_INVALID": -136, "NAME_RESOLUTION_FAILED": -137,
		"NETWORK_ACCESS_DENIED": -138, "PROXY_UNABLE_TO_CONNECT_TO_DESTINATION": -186,
		"CERT_COMMON_NAME_INVALID": -200, "CERT_DATE_INVALID": -201,
		"CERT_AUTHORITY_INVALID": -202, "CERT_CONTAINS_ERRORS": -203, "CERT_REVOKED": -206,
		"CERT_INVALID": -207, "CERT_WEAK_SIGNATURE_ALGORITHM": -208,
		"CERT_NON_UNIQUE_NAME": -210, "CERT_END": -220,
		"INVALID_URL": -300, "DISALLOWED_URL_SCHEME": -301, "UNKNOWN_URL_SCHEME": -302,
		"TOO_MANY_REDIRECTS": -310, "UNSAFE_PORT": -312, "INVALID_RESPONSE": -320,
		"INVALID_CHUNKED_ENCODING": -321, "UNEXPECTED_PROXY_AUTH": -323,
		"EMPTY_RESPONSE": -324, "RESPONSE_HEADERS_TOO_BIG": -325, "PAC_SCRIPT_FAILED": -327,
		"REQUEST_RANGE_NOT_SATISFIABLE": -328, "CONTENT_DECODING_FAILED": -330,
		"NO_SUPPORTED_PROXIES": -336, "HTTP2_PROTOCOL_ERROR": -337,
		"INVALID_AUTH_CREDENTIALS": -338, "UNSUPPORTED_AUTH_SCHEME": -339,
		"CONTENT_LENGTH_MISMATCH": -354, "INCOMPLETE_CHUNKED_ENCODING": -355,
		"QUIC_PROTOCOL_ERROR": -356, "PAC_SCRIPT_TERMINATED": -367, "TOO_MANY_RETRIES": -375,
		"CACHE_MISS": -400, "CACHE_READ_FAILURE": -401, "CACHE_WRITE_FAILURE": -402,
		"CACHE_OPEN_FAILURE": -404, "CACHE_RACE": -406, "CACHE_LOCK_TIMEOUT": -409,
		"CACHE_AUTH_FAILURE_AFTER_READ": -410,
		// DNS.
		"DNS_MALFORMED_RESPONSE": -800, "DNS_SERVER_REQUIRES_TCP": -801, "DNS_TIMED_OUT": -803,
		"DNS_CACHE_MISS": -804, "DNS_SEARCH_EMPTY": -805, "DNS_SORT_ERROR": -806,
		"DNS_NAME_HTTPS_ONLY": -809, "DNS_SERVER_FAILURE": -817, "DNS_REFUSED": -819,
		// "Other handy ones".
		"FILE_EXISTS": -16, "SOCKET_IS_CONNECTED": -23, "SSL_RENEGOTIATION_REQUESTED": -114,
		"BAD_SSL_CLIENT_AUTH_CERT": -117, "TEMPORARILY_THROTTLED": -139,
		"WS_PROTOCOL_ERROR": -145, "ADDRESS_IN_USE": -147, "ICANN_NAME_COLLISION": -166,
		"WS_UPGRADE": -173, "INVALID_REDIRECT": -303, "UNSAFE_REDIRECT": -311,
		"METHOD_NOT_SUPPORTED": -322, "NETWORK_IO_SUSPENDED": -331,
		"MISSING_AUTH_CREDENTIALS": -341, "PAC_NOT_IN_DHCP": -348,
		"PROXY_AUTH_REQUESTED_WITH_NO_CONNECTION": -364, "HTTP_1_1_REQUIRED": -365,
		"PROXY_HTTP_1_1_REQUIRED": -366, "INVALID_HTTP_RESPONSE": -370,
		"CACHE_OPERATION_NOT_SUPPORTED": -403, "CACHE_CREATE_FAILURE": -405,
		"CACHE_ENTRY_NOT_SUITABLE": -411, "CACHE_DOOM_FAILURE": -412,
		"CACHE_OPEN_OR_CREATE_FAILURE": -413, "INSECURE_RESPONSE": -501,
		"DNS_REQUEST_CANCELLED": -810,
	}
	for name, code := range want {
		e, ok := net.ErrorByName(name)
		if !ok {
			t.Errorf("ERR_%s missing from the table", name)
			continue
		}
		if int(e) != code {
			t.Errorf("ERR_%s = %d, want %d", name, int(e), code)
		}
		if got := net.Error(code).Name(); got != "ERR_"+name {
			t.Errorf("Error(%d).Name() = %s, want ERR_%s", code, got, name)
		}
	}
	// Retired codes stay out (numbers are never reused).
	for _, code := range []int{-112, -116, -209} {
		if n := net.Error(code).Name(); !strings.HasPrefix(n, "ERR_UNKNOWN_-") {
			t.Errorf("retired code %d is in the table as %s", code, n)
		}
	}
	// Spot-check the generated Go identifiers against the numbers.
	ids := []struct {
		e    net.Error
		code int
	}{
		{net.ErrIOPending, -1}, {net.ErrAborted, -3}, {net.ErrTimedOut, -7},
		{net.ErrConnectionClosed, -100}, {net.ErrConnectionReset, -101},
		{net.ErrConnectionRefused, -102}, {net.ErrNameNotResolved, -105},
		{net.ErrSSLProtocolError, -107}, {net.ErrTunnelConnectionFailed, -111},
		{net.ErrConnectionTimedOut, -118}, {net.ErrSOCKSConnectionFailed, -120},
		{net.ErrProxyConnectionFailed, -130}, {net.ErrSSLPinnedKeyNotInCertChain, -150},
		{net.ErrCertCommonNameInvalid, -200}, {net.ErrCertEnd, -220},
		{net.ErrTooManyRedirects, -310}, {net.ErrResponseHeadersTooBig, -325},
		{net.ErrPACScriptFailed, -327}, {net.ErrHTTP2ProtocolError, -337},
		{net.ErrCacheMiss, -400}, {net.ErrCacheLockTimeout, -409},
		{net.ErrDNSMalformedResponse, -800}, {net.ErrDNSTimedOut, -803},
		{net.ErrDNSServerFailure, -817},
	}
	for _, id := range ids {
		if int(id.e) != id.code {
			t.Errorf("%s = %d, want %d", id.e.Name(), int(id.e), id.code)
		}
	}
}
