package interop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPKI is a test certificate authority and server certificates signed by
// it, as PEM files, made by GenerateCA.
type TestPKI struct {
	// Dir holds the PEM files.
	Dir string
	// Hosts are the names and IP addresses the valid and expired leaves
	// are for.
	Hosts []string
	// CA is the CA certificate; CACertFile and CAKeyFile its PEM files.
	CA                    *x509.Certificate
	CACertFile, CAKeyFile string
	// CertFile and KeyFile are a valid leaf certificate for Hosts and its
	// key (Leaf holds the same).
	CertFile, KeyFile string
	// Leaf is the valid leaf for Hosts.
	Leaf KeyPair
	// Expired is a leaf for Hosts that expired a day ago (Chromium:
	// ERR_CERT_DATE_INVALID).
	Expired KeyPair
	// WrongHost is a valid leaf for WrongHostName only (Chromium:
	// ERR_CERT_COMMON_NAME_INVALID).
	WrongHost KeyPair

	caKey crypto.Signer
}

// WrongHostName is the only name in TestPKI.WrongHost's certificate.
const WrongHostName = "wrong-host.invalid"

// KeyPair is a certificate and its key as PEM files.
type KeyPair struct {
	// CertFile is the PEM certificate; KeyFile the PEM (PKCS #8) key.
	CertFile, KeyFile string
	// Cert is the parsed certificate.
	Cert *x509.Certificate
}

// TLS returns a TLSConfig for nginx with this key pair.
func (k KeyPair) TLS(http2 bool) *TLSConfig {
	return &TLSConfig{CertFile: k.CertFile, KeyFile: k.KeyFile, HTTP2: http2}
}

// TLS returns a TLSConfig for nginx with the valid leaf.
func (p *TestPKI) TLS(http2 bool) *TLSConfig { return p.Leaf.TLS(http2) }

// CertPool returns a pool holding only the CA certificate.
func (p *TestPKI) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

// LeafOptions configures TestPKI.IssueLeaf.
type LeafOptions struct {
	// Name is the files' base name: Name.pem and Name-key.pem; required.
	Name string
	// Hosts are DNS names and IP addresses for the subjectAltName; the
	// first is also the subject common name.
	Hosts []string
	// NotBefore and NotAfter default to an hour ago and 30 days on.
	NotBefore, NotAfter time.Time
	// RSABits, if non-zero, makes an RSA key of that size instead of an
	// ECDSA P-256 one.
	RSABits int
	// SelfSigned makes the leaf sign itself instead of being signed by the
	// CA (Chromium: ERR_CERT_AUTHORITY_INVALID).
	SelfSigned bool
}

// GenerateCA creates, with crypto/x509, a CA and leaf certificates signed by
// it for hosts (default "localhost", "127.0.0.1", "::1"): a valid one, an
// expired one and one for WrongHostName, each as PEM files in dir (default: a
// new t.TempDir()): ca.pem, ca-key.pem, leaf.pem, leaf-key.pem, expired.pem,
// expired-key.pem, wrong-host.pem, wrong-host-key.pem. Keys are ECDSA P-256.
func GenerateCA(t testing.TB, dir string, hosts ...string) *TestPKI {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("interop: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		Subject:               pkix.Name{CommonName: "netfetch interop test CA", Organization: []string{"netfetch tests"}},
		NotBefore:             now.Add(-24 * time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID(t, key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	p := &TestPKI{
		Dir:        dir,
		Hosts:      append([]string(nil), hosts...),
		CA:         ca,
		CACertFile: filepath.Join(dir, "ca.pem"),
		CAKeyFile:  filepath.Join(dir, "ca-key.pem"),
		caKey:      key,
	}
	writePEM(t, p.CACertFile, "CERTIFICATE", der)
	writeKey(t, p.CAKeyFile, key)

	p.Leaf = p.IssueLeaf(t, LeafOptions{Name: "leaf", Hosts: hosts})
	p.CertFile, p.KeyFile = p.Leaf.CertFile, p.Leaf.KeyFile
	p.Expired = p.IssueLeaf(t, LeafOptions{
		Name:      "expired",
		Hosts:     hosts,
		NotBefore: now.Add(-30 * 24 * time.Hour),
		NotAfter:  now.Add(-24 * time.Hour),
	})
	p.WrongHost = p.IssueLeaf(t, LeafOptions{Name: "wrong-host", Hosts: []string{WrongHostName}})
	return p
}

// IssueLeaf makes a server certificate (signed by the CA unless
// opts.SelfSigned) and writes it to Dir as opts.Name.pem and
// opts.Name-key.pem.
func (p *TestPKI) IssueLeaf(t testing.TB, opts LeafOptions) KeyPair {
	t.Helper()
	if opts.Name == "" {
		t.Fatalf("interop: IssueLeaf: Name is required")
	}
	now := time.Now()
	if opts.NotBefore.IsZero() {
		opts.NotBefore = now.Add(-time.Hour)
	}
	if opts.NotAfter.IsZero() {
		opts.NotAfter = now.Add(30 * 24 * time.Hour)
	}
	var (
		key   crypto.Signer
		usage = x509.KeyUsageDigitalSignature
		err   error
	)
	if opts.RSABits != 0 {
		key, err = rsa.GenerateKey(rand.Reader, opts.RSABits)
		usage |= x509.KeyUsageKeyEncipherment
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(t),
		NotBefore:             opts.NotBefore,
		NotAfter:              opts.NotAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(t, key.Public()),
	}
	if len(opts.Hosts) > 0 {
		tmpl.Subject.CommonName = opts.Hosts[0]
	}
	for _, h := range opts.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	parent, signer := p.CA, p.caKey
	if opts.SelfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	k := KeyPair{
		CertFile: filepath.Join(p.Dir, opts.Name+".pem"),
		KeyFile:  filepath.Join(p.Dir, opts.Name+"-key.pem"),
		Cert:     cert,
	}
	writePEM(t, k.CertFile, "CERTIFICATE", der)
	writeKey(t, k.KeyFile, key)
	return k
}

func randomSerial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	return n.Add(n, big.NewInt(1))
}

func keyID(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	sum := sha1.Sum(der)
	return sum[:]
}

func writePEM(t testing.TB, name, typ string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatalf("interop: %v", err)
	}
}

func writeKey(t testing.TB, name string, key crypto.Signer) {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("interop: %v", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatalf("interop: %v", err)
	}
}
