// Package clitest has test helpers shared by the s2nd and s2nc tests:
// captured output that can be waited on, certificates written to files, a
// SoftHSM2 token, and the leak gate.
package clitest

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/s2n-go/s2n"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ocsp"
)

// Main runs a command's tests, then fails them if goroutines, cgo handles
// or async key operations are left behind.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leakCheck(); err != nil {
			fmt.Fprintln(os.Stderr, "leak gate:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func leakCheck() error {
	// Conns closed after a failed handshake are freed by a timer once
	// s2n's blinding delay has passed.
	for deadline := time.Now().Add(40 * time.Second); s2n.Stats().Blinding > 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	if err := goleak.Find(); err != nil {
		return err
	}
	if st := s2n.Stats(); st.Handles != 0 || st.PendingOps != 0 || st.Blinding != 0 {
		return fmt.Errorf("live handles %d, pending ops %d, blinding %d", st.Handles, st.PendingOps, st.Blinding)
	}
	return nil
}

// Output captures what a command writes, for reading while it runs.
type Output struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	notify chan struct{}
}

// NewOutput returns an empty Output.
func NewOutput() *Output { return &Output{notify: make(chan struct{}, 1)} }

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
	return o.buf.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// Lines returns the complete lines written so far.
func (o *Output) Lines() []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(o.String()))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// WaitFor waits until re matches a line, and returns its submatches. It
// fails the test after 10 s, or when exited is closed first.
func (o *Output) WaitFor(t testing.TB, re *regexp.Regexp, exited <-chan struct{}) []string {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		for _, line := range o.Lines() {
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		}
		select {
		case <-o.notify:
		case <-exited:
			exited = nil // look once more, then give up
			for _, line := range o.Lines() {
				if m := re.FindStringSubmatch(line); m != nil {
					return m
				}
			}
			t.Fatalf("exited before a line matched %v; output:\n%s", re, o.String())
		case <-timeout.C:
			t.Fatalf("no line matched %v in 10s; output:\n%s", re, o.String())
		}
	}
}

// Cert is a certificate and its key, written to files.
type Cert struct {
	Key      crypto.Signer
	Leaf     *x509.Certificate
	CertFile string
	KeyFile  string
	Pool     *x509.CertPool
}

// TLS returns the pair for crypto/tls.
func (c *Cert) TLS() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{c.Leaf.Raw}, PrivateKey: c.Key, Leaf: c.Leaf}
}

// PEM returns the certificate in PEM.
func (c *Cert) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Leaf.Raw})
}

// NewCert makes a self-signed certificate for key, valid for localhost
// (s2n checks a client certificate's names against the SNI the client
// sent, so client certificates need it too), and writes it and the key to
// dir.
func NewCert(t testing.TB, dir, cn string, key crypto.Signer) *Cert {
	t.Helper()
	return NewCertFor(t, dir, cn, []string{"localhost"}, key)
}

// NewCertFor is NewCert with the DNS names dnsNames instead of localhost
// (127.0.0.1 stays).
func NewCertFor(t testing.TB, dir, cn string, dnsNames []string, key crypto.Signer) *Cert {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              dnsNames,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	c := &Cert{Key: key, Leaf: leaf, Pool: x509.NewCertPool()}
	c.Pool.AddCert(leaf)
	c.CertFile = filepath.Join(dir, cn+".pem")
	require.NoError(t, os.WriteFile(c.CertFile, c.PEM(), 0o600))
	if keyDER, err := x509.MarshalPKCS8PrivateKey(key); err == nil { // not for a key in a token
		c.KeyFile = filepath.Join(dir, cn+".key")
		require.NoError(t, os.WriteFile(c.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	}
	return c
}

// OCSPResponse is a DER OCSP response with status (ocsp.Good,
// ocsp.Revoked) for c's certificate, signed by c's own key (the
// certificates here are self-signed: each is its own issuer), valid from
// an hour ago for a day.
func (c *Cert) OCSPResponse(t testing.TB, status int) []byte {
	t.Helper()
	now := time.Now()
	tmpl := ocsp.Response{
		Status:       status,
		SerialNumber: c.Leaf.SerialNumber,
		ThisUpdate:   now.Add(-time.Hour),
		NextUpdate:   now.Add(24 * time.Hour),
	}
	if status == ocsp.Revoked {
		tmpl.RevokedAt = now.Add(-time.Hour)
	}
	der, err := ocsp.CreateResponse(c.Leaf, c.Leaf, tmpl, c.Key)
	require.NoError(t, err)
	return der
}

// NewECDSACert makes a P-256 key and its certificate.
func NewECDSACert(t testing.TB, dir, cn string) *Cert {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return NewCert(t, dir, cn, key)
}

// Token is a SoftHSM2 token made for one test.
type Token struct {
	Module, Label, PIN string
}

// NewToken makes a SoftHSM2 token under a temporary directory with the
// repository's scripts/softhsm-setup (which installs softhsm2 if needed)
// and points SOFTHSM2_CONF at it for the rest of the test.
func NewToken(t *testing.T, root string) *Token {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(filepath.Join(root, "scripts", "softhsm-setup"), dir).Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "scripts/softhsm-setup: %s", stderr)
	env := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^export (\w+)=(.*)$`).FindAllStringSubmatch(string(out), -1) {
		env[m[1]] = strings.Trim(m[2], `'"`)
	}
	t.Setenv("SOFTHSM2_CONF", env["SOFTHSM2_CONF"])
	tok := &Token{Module: env["S2N_PKCS11_MODULE"], Label: env["S2N_PKCS11_TOKEN_LABEL"], PIN: env["S2N_PKCS11_PIN"]}
	require.NotEmpty(t, tok.Module, "softhsm-setup printed:\n%s", out)
	return tok
}

// ECDSAKey generates a P-256 key pair labelled label inside the token and,
// when withCert, stores its self-signed certificate there under the same
// label; the certificate is also written to dir. The private key never
// leaves the token.
func (tok *Token) ECDSAKey(t *testing.T, dir, label string, withCert bool) *Cert {
	t.Helper()
	ctx, err := crypto11.Configure(&crypto11.Config{Path: tok.Module, TokenLabel: tok.Label, Pin: tok.PIN})
	require.NoError(t, err)
	defer ctx.Close()
	key, err := ctx.GenerateECDSAKeyPairWithLabel([]byte(label), []byte(label), elliptic.P256())
	require.NoError(t, err)
	c := NewCert(t, dir, label, key)
	require.Empty(t, c.KeyFile, "a token key must not be exportable")
	if withCert {
		require.NoError(t, ctx.ImportCertificateWithLabel([]byte(label), []byte(label), c.Leaf))
	}
	return c
}

// Build builds the commands in pkgs (import paths) into a temporary
// directory, with the test binary's own build tags and race setting (so the
// build mode matches and the compiled packages are reused), and returns the
// directory.
func Build(t *testing.T, pkgs ...string) string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "-tags" && s.Value != "":
				args = append(args, "-tags", s.Value)
			case s.Key == "-race" && s.Value == "true":
				args = append(args, "-race")
			}
		}
	}
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command builds the binaries under test")
	cmd := exec.Command(gobin, append(args, pkgs...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(cmd.Args[1:], " "), out)
	return dir
}
