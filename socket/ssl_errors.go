package socket

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	gonet "net"
	"reflect"
	"strings"

	"github.com/netfetch/netfetch/net"
)

// TLS alert descriptions (RFC 8446 §6) that the error mapping tells apart.
// crypto/tls keeps its own alert type unexported.
const (
	alertBadRecordMAC          = 20
	alertDecompressionFailure  = 30
	alertHandshakeFailure      = 40
	alertBadCertificate        = 42
	alertUnsupportedCert       = 43
	alertCertificateRevoked    = 44
	alertCertificateExpired    = 45
	alertCertificateUnknown    = 46
	alertUnknownCA             = 48
	alertAccessDenied          = 49
	alertDecryptError          = 51
	alertProtocolVersion       = 70
	alertInsufficientSecurity  = 71
	alertUnrecognizedName      = 112
	alertCertificateRequired   = 116
	tlsRecordTypeAlert         = 21
	tlsRecordTypeHandshake     = 22
	tlsRecordHeaderLen         = 5
	tlsMaxPlaintextRecordBytes = 16384
)

// tlsErrorHints is what the record layer saw of a failed handshake, for
// what crypto/tls's error alone does not say.
type tlsErrorHints struct {
	// alertAnsweredHello: the peer's first record was an alert, so the
	// alert rejected our ClientHello (BoringSSL's
	// SSL_R_HANDSHAKE_FAILURE_ON_CLIENT_HELLO): a handshake_failure there
	// means no common cipher suite or version.
	alertAnsweredHello bool
	// sentAlert is the last plaintext alert we sent, 0 if none. crypto/tls
	// reports "server selected unsupported protocol version" only as text;
	// the protocol_version alert it sends says the same thing reliably.
	sentAlert uint8
}

// mapTLSError maps an error from crypto/tls (a handshake, a Read or a
// Write) to Chromium's code, following MapOpenSSLErrorSSL
// [net/socket/ssl_client_socket_impl.cc, net/ssl/openssl_ssl_util.cc] and
// the certificate verifier's status-to-error mapping [net/cert/cert_status_flags.cc]:
//
//   - certificate verification: unknown authority → ERR_CERT_AUTHORITY_INVALID,
//     expired or not yet valid → ERR_CERT_DATE_INVALID, host name mismatch →
//     ERR_CERT_COMMON_NAME_INVALID, name constraints → ERR_CERT_NAME_CONSTRAINT_VIOLATION,
//     insecure signature algorithm → ERR_CERT_WEAK_SIGNATURE_ALGORITHM, anything
//     else → ERR_CERT_INVALID;
//   - alerts from the peer: protocol_version, insufficient_security, and a
//     handshake_failure that answered the ClientHello → ERR_SSL_VERSION_OR_CIPHER_MISMATCH;
//     certificate alerts (the server rejecting our client certificate or its
//     absence) → ERR_BAD_SSL_CLIENT_AUTH_CERT; bad_record_mac, decrypt_error,
//     decompression_failure and unrecognized_name → their own codes; any
//     other → ERR_SSL_PROTOCOL_ERROR;
//   - transport failures keep the transport's code (the peer closing
//     mid-handshake → ERR_CONNECTION_CLOSED, a reset → ERR_CONNECTION_RESET);
//   - any other TLS failure → ERR_SSL_PROTOCOL_ERROR.
func mapTLSError(err error, hints tlsErrorHints) net.Error {
	if err == nil {
		return 0
	}
	if code, ok := mapCertificateError(err); ok {
		return code
	}
	if a, ok := receivedAlert(err); ok {
		return mapReceivedAlert(a, hints)
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) {
		// The peer does not speak TLS (often plain HTTP on a TLS port).
		return net.ErrSSLProtocolError
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return ne
	}
	if errors.Is(err, context.Canceled) {
		return net.ErrAborted
	}
	if hints.sentAlert == alertProtocolVersion || hints.sentAlert == alertInsufficientSecurity {
		return net.ErrSSLVersionOrCipherMismatch
	}
	if strings.HasPrefix(err.Error(), "tls: ") {
		return net.ErrSSLProtocolError
	}
	// io.EOF, ECONNRESET, timeouts and the like: the transport's failure.
	code := net.MapSystemError(err)
	if code == net.ErrFailed {
		return net.ErrSSLProtocolError
	}
	return code
}

// mapCertificateError maps certificate verification failures; ok is false
// when err is not one.
func mapCertificateError(err error) (code net.Error, ok bool) {
	var unknown x509.UnknownAuthorityError
	var roots x509.SystemRootsError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var weak x509.InsecureAlgorithmError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown), errors.As(err, &roots):
		return net.ErrCertAuthorityInvalid, true
	case errors.As(err, &host):
		return net.ErrCertCommonNameInvalid, true
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			// x509 says Expired for "not yet valid" too.
			return net.ErrCertDateInvalid, true
		case x509.CANotAuthorizedForThisName, x509.NameConstraintsWithoutSANs, x509.UnconstrainedName:
			return net.ErrCertNameConstraintViolation, true
		}
		return net.ErrCertInvalid, true
	case errors.As(err, &weak):
		return net.ErrCertWeakSignatureAlgorithm, true
	case errors.As(err, &verify):
		// Some other verification failure (a constraint violation, an
		// unhandled critical extension, a custom verifier's error).
		return net.ErrCertInvalid, true
	}
	return 0, false
}

// receivedAlert extracts the alert the peer sent. crypto/tls reports it as
// a *net.OpError{Op: "remote error"} around its unexported alert type (a
// uint8); tls.AlertError, the exported form QUIC uses, is accepted too.
func receivedAlert(err error) (uint8, bool) {
	var op *gonet.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return 0, false
	}
	v := reflect.ValueOf(op.Err)
	if v.Kind() != reflect.Uint8 || v.Type().PkgPath() != "crypto/tls" {
		return 0, false
	}
	return uint8(v.Uint()), true
}

func mapReceivedAlert(a uint8, hints tlsErrorHints) net.Error {
	switch a {
	case alertProtocolVersion, alertInsufficientSecurity:
		return net.ErrSSLVersionOrCipherMismatch
	case alertHandshakeFailure:
		// A handshake_failure in answer to the ClientHello means no common
		// cipher suite (NSS's behaviour, which Chromium kept); later it is
		// just a failed handshake.
		if hints.alertAnsweredHello {
			return net.ErrSSLVersionOrCipherMismatch
		}
		return net.ErrSSLProtocolError
	case alertBadCertificate, alertUnsupportedCert, alertCertificateRevoked, alertCertificateExpired,
		alertCertificateUnknown, alertAccessDenied, alertCertificateRequired, alertUnknownCA:
		return net.ErrBadSSLClientAuthCert
	case alertDecompressionFailure:
		return net.ErrSSLDecompressionFailureAlert
	case alertBadRecordMAC:
		return net.ErrSSLBadRecordMACAlert
	case alertDecryptError:
		return net.ErrSSLDecryptErrorAlert
	case alertUnrecognizedName:
		return net.ErrSSLUnrecognizedNameAlert
	}
	return net.ErrSSLProtocolError
}
