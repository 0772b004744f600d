package s2n

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ocsp"
)

// ---- fixtures ----

// ocspFixture is a leaf certificate issued by a test CA (ecKey, a
// self-signed CA certificate), with OCSP responses for it signed by the CA
// and an SCT list.
type ocspFixture struct {
	ca      *testKey
	leaf    *testKey // certPEM: the leaf, then the CA
	good    []byte   // OCSP response: good
	revoked []byte   // OCSP response: revoked
	scts    [][]byte
	sctList []byte // scts serialized as a SignedCertificateTimestampList
}

func newOCSPFixture(t testing.TB) *ocspFixture {
	t.Helper()
	ca, _, _ := testKeys(t)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	leaf := issueTestKey(t, ca, "ocsp-leaf", priv)
	// Arbitrary but well-framed SCTs: s2n sends the list as given and
	// crypto/tls splits it without checking the SCTs.
	scts := [][]byte{[]byte("sct one: v1 log id, timestamp, signature"), {0x00, 0x01, 0x02}}
	return &ocspFixture{
		ca:      ca,
		leaf:    leaf,
		good:    ocspResponseFor(t, leaf, ca, ocsp.Good),
		revoked: ocspResponseFor(t, leaf, ca, ocsp.Revoked),
		scts:    scts,
		sctList: marshalSCTList(scts),
	}
}

// issueTestKey makes a leaf certificate for localhost and priv, issued by ca;
// its certPEM holds the leaf, then ca's certificate.
func issueTestKey(t testing.TB, ca *testKey, name string, priv crypto.Signer) *testKey {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name}, // not ca's: OpenSSL would take the leaf for self-signed
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, priv.Public(), ca.signer)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	require.NoError(t, err)
	return &testKey{
		name:    name,
		certPEM: append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.certPEM...),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		signer:  priv,
		cert:    cert,
	}
}

// ocspResponseFor is a DER OCSP response with status for leaf, signed by
// its issuer ca itself, valid from an hour ago for a day.
func ocspResponseFor(t testing.TB, leaf, ca *testKey, status int) []byte {
	t.Helper()
	now := time.Now()
	tmpl := ocsp.Response{
		Status:       status,
		SerialNumber: leaf.cert.SerialNumber,
		ThisUpdate:   now.Add(-time.Hour),
		NextUpdate:   now.Add(24 * time.Hour),
	}
	if status == ocsp.Revoked {
		tmpl.RevokedAt = now.Add(-time.Hour)
		tmpl.RevocationReason = ocsp.KeyCompromise
	}
	der, err := ocsp.CreateResponse(ca.cert, ca.cert, tmpl, ca.signer)
	require.NoError(t, err)
	return der
}

// marshalSCTList serializes SCTs as RFC 6962's SignedCertificateTimestampList.
func marshalSCTList(scts [][]byte) []byte {
	var body []byte
	for _, s := range scts {
		body = append(body, byte(len(s)>>8), byte(len(s)))
		body = append(body, s...)
	}
	return append([]byte{byte(len(body) >> 8), byte(len(body))}, body...)
}

// staplingChain loads f's leaf chain, with its key or public-only, and sets
// the good OCSP response and the SCT list on it.
func (f *ocspFixture) staplingChain(t testing.TB, public bool) *CertChainAndKey {
	t.Helper()
	var chain *CertChainAndKey
	var err error
	if public {
		chain, err = NewPublicCertChain(f.leaf.certPEM)
	} else {
		chain, err = NewCertChainAndKey(f.leaf.certPEM, f.leaf.keyPEM)
	}
	require.NoError(t, err)
	t.Cleanup(func() { chain.Close() })
	require.NoError(t, chain.SetOCSPData(f.good))
	require.NoError(t, chain.SetSCTList(f.sctList))
	return chain
}

// staplingServerConfig is a server Config over f's chain, stapling.
func (f *ocspFixture) staplingServerConfig(t testing.TB, policy string) *Config {
	t.Helper()
	cfg := newTestConfig(t, configOpts{policy: policy})
	require.NoError(t, cfg.AddCertChainAndKey(f.staplingChain(t, false)))
	return cfg
}

// requireGoodResponse checks that der is f's good response for its leaf.
func (f *ocspFixture) requireGoodResponse(t testing.TB, der []byte) {
	t.Helper()
	require.Equal(t, f.good, der)
	resp, err := ocsp.ParseResponseForCert(der, f.leaf.cert, f.ca.cert)
	require.NoError(t, err)
	require.Equal(t, ocsp.Good, resp.Status)
}

var ocspPolicies = []struct {
	name, policy string
	version      uint16
}{
	{"tls13", "default_tls13", tls.VersionTLS13},
	{"tls12", policyTLS12, tls.VersionTLS12},
}

// ---- server: the binding staples ----

// TestOCSPServerStaplesToGoClient: crypto/tls's client asks for the status
// and for SCTs in every handshake; the binding's server sends what the
// chain carries, in the TLS 1.2 CertificateStatus message or the TLS 1.3
// CertificateEntry extensions.
func TestOCSPServerStaplesToGoClient(t *testing.T) {
	f := newOCSPFixture(t)
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			r := goPeerHandshake(t, ModeServer, f.staplingServerConfig(t, p.policy), goTLSClientConfig(f.ca))
			require.NoError(t, r.err)
			require.NoError(t, r.goErr)
			require.Equal(t, p.version, r.goState.Version)
			f.requireGoodResponse(t, r.goState.OCSPResponse)
			require.Equal(t, f.scts, r.goState.SignedCertificateTimestamps)
			require.True(t, r.conn.IsOCSPStapled(), "the server reports that it stapled")
			require.Nil(t, r.conn.OCSPResponse(), "a client staples nothing to a server")
		})
	}
}

// TestOCSPServerWithoutDataStaplesNothing: the same handshake over a chain
// with no OCSP response or SCTs.
func TestOCSPServerWithoutDataStaplesNothing(t *testing.T) {
	f := newOCSPFixture(t)
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: p.policy, chain: f.leaf})
			r := goPeerHandshake(t, ModeServer, cfg, goTLSClientConfig(f.ca))
			require.NoError(t, r.err)
			require.NoError(t, r.goErr)
			require.Nil(t, r.goState.OCSPResponse)
			require.Nil(t, r.goState.SignedCertificateTimestamps)
			require.False(t, r.conn.IsOCSPStapled())
		})
	}
}

// TestOCSPServerOffloadedKey staples with a chain whose key is a
// crypto.Signer (AddPublicCertChainWithSigner), through Conn.
func TestOCSPServerOffloadedKey(t *testing.T) {
	f := newOCSPFixture(t)
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			signer := &faultySigner{key: f.leaf.signer}
			cfg := newTestConfig(t, configOpts{policy: p.policy})
			require.NoError(t, cfg.AddPublicCertChainWithSigner(f.staplingChain(t, true), signer))
			type served struct {
				err     error
				stapled bool
				info    HandshakeInfo
			}
			addr, results := serveResults(t, cfg, 1, func(c *Conn) served {
				err := c.Handshake()
				return served{err, c.Connection().IsOCSPStapled(), c.HandshakeInfo()}
			})
			gc, err := tls.Dial("tcp", addr, goTLSClientConfig(f.ca))
			require.NoError(t, err)
			st := gc.ConnectionState()
			require.NoError(t, gc.Close())
			s := await(t, results, "server result")
			require.NoError(t, s.err)
			require.Equal(t, p.version, st.Version)
			f.requireGoodResponse(t, st.OCSPResponse)
			require.Equal(t, f.scts, st.SignedCertificateTimestamps)
			require.True(t, s.stapled)
			require.True(t, s.info.KeyOffloaded, "the signature went to the crypto.Signer")
			require.EqualValues(t, 1, signer.calls.Load())
		})
	}
}

// TestOCSPServerOpenSSLStatus: `openssl s_client -status` prints the
// response the binding's server staples.
func TestOCSPServerOpenSSLStatus(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	require.NoError(t, err, "the openssl command line is a peer of this test: apt-get install openssl (scripts/test does)")
	f := newOCSPFixture(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, f.ca.certPEM, 0o600))
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			addr, results := serveResults(t, f.staplingServerConfig(t, p.policy), 1, func(c *Conn) error {
				if err := c.Handshake(); err != nil {
					return err
				}
				_, err := io.Copy(io.Discard, c) // until s_client's close_notify
				return err
			})
			v := map[uint16]string{tls.VersionTLS13: "-tls1_3", tls.VersionTLS12: "-tls1_2"}[p.version]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, openssl, "s_client", "-connect", addr, "-servername", "localhost",
				"-verify_hostname", "localhost", "-verify_return_error", "-CAfile", caFile, v, "-status")
			cmd.Stdin = bytes.NewReader(nil)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.NoError(t, await(t, results, "server result"))
			for _, want := range []string{
				"OCSP Response Status: successful",
				"Cert Status: good",
				"Verify return code: 0 (ok)",
			} {
				require.Contains(t, string(out), want)
			}
		})
	}
}

// TestOCSPServerToS2NC: s2n-tls's own s2nc, with --status, checks the
// binding server's staple against the CA and prints its line for it.
func TestOCSPServerToS2NC(t *testing.T) {
	env := newInteropEnv(t)
	f := newOCSPFixture(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, f.ca.certPEM, 0o600))
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			addr, results := serveResults(t, f.staplingServerConfig(t, p.policy), 1, func(c *Conn) error {
				if err := c.Handshake(); err != nil {
					return err
				}
				io.Copy(io.Discard, c) // until s2nc closes
				return nil
			})
			_, port, err := net.SplitHostPort(addr)
			require.NoError(t, err)
			out := startInteropPeer(t, env.s2nc, []string{"--status", "-f", caFile, "-c", p.policy, "localhost", port}, false, "").wait(t)
			require.NoError(t, await(t, results, "server result"))
			requireInteropOutput(t, out, "CONNECTED:", fmt.Sprintf("OCSP response received, length %d\n", len(f.good)))
		})
	}
}

// ---- client: the binding asks ----

// goStaplingServer is a crypto/tls server config that staples resp and the
// fixture's SCTs.
func (f *ocspFixture) goStaplingServer(resp []byte, version uint16) *tls.Config {
	block, _ := pem.Decode(f.leaf.certPEM)
	return &tls.Config{
		Certificates: []tls.Certificate{{
			Certificate:                 [][]byte{block.Bytes, f.ca.cert.Raw},
			PrivateKey:                  f.leaf.signer,
			OCSPStaple:                  resp,
			SignedCertificateTimestamps: f.scts,
		}},
		MinVersion: version,
		MaxVersion: version,
	}
}

// ocspClientConfig is a client Config that trusts f's CA and asks for the
// status and SCTs as told.
func (f *ocspFixture) ocspClientConfig(t testing.TB, policy string, status bool, ct bool) *Config {
	t.Helper()
	cfg := clientConfig(t, policy, f.ca)
	if status {
		require.NoError(t, cfg.SetStatusRequestType(StatusRequestOCSP))
	}
	if ct {
		require.NoError(t, cfg.SetCTSupportLevel(CTSupportRequest))
	}
	return cfg
}

// TestOCSPClientFromGoServer: a binding client that asks gets crypto/tls's
// staple (checked by s2n: the response is good and signed by the issuer)
// and SCTs, through Connection's getters and Conn.ConnectionState, also
// after Close.
func TestOCSPClientFromGoServer(t *testing.T) {
	f := newOCSPFixture(t)
	for _, p := range ocspPolicies {
		t.Run(p.name+"/connection", func(t *testing.T) {
			r := goPeerHandshake(t, ModeClient, f.ocspClientConfig(t, p.policy, true, true), f.goStaplingServer(f.good, p.version))
			require.NoError(t, r.err)
			require.NoError(t, r.goErr)
			f.requireGoodResponse(t, r.conn.OCSPResponse())
			require.True(t, r.conn.IsOCSPStapled())
			require.Equal(t, f.sctList, r.conn.SCTList())
			require.NoError(t, r.conn.Close())
			require.Nil(t, r.conn.OCSPResponse(), "after Close")
			require.Nil(t, r.conn.SCTList(), "after Close")
			require.False(t, r.conn.IsOCSPStapled(), "after Close")
		})
		t.Run(p.name+"/conn", func(t *testing.T) {
			addr, results := serveGoTLS(t, f.goStaplingServer(f.good, p.version), 1, func(c *tls.Conn) error {
				return c.Handshake()
			})
			c := dialClient(t, addr, f.ocspClientConfig(t, p.policy, true, true))
			require.NoError(t, c.Handshake())
			require.NoError(t, c.Close())
			require.NoError(t, await(t, results, "server result"))
			st := c.ConnectionState()
			require.Equal(t, p.version, st.Version)
			f.requireGoodResponse(t, st.OCSPResponse)
			require.Equal(t, f.scts, st.SignedCertificateTimestamps)
		})
	}
}

// TestOCSPClientFromS2ND: a binding client that asks gets the response
// s2n-tls's own s2nd staples with --ocsp.
func TestOCSPClientFromS2ND(t *testing.T) {
	env := newInteropEnv(t)
	f := newOCSPFixture(t)
	dir := t.TempDir()
	files := map[string][]byte{"chain.pem": f.leaf.certPEM, "key.pem": f.leaf.keyPEM, "ocsp.der": f.good}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			s2nd, port := startInteropS2ND(t, env, []string{"-s", "--max-conns=1", "-c", p.policy,
				"--cert", filepath.Join(dir, "chain.pem"), "--key", filepath.Join(dir, "key.pem"),
				"--ocsp", filepath.Join(dir, "ocsp.der")})
			up := func() {
				s2nd.waitCount(t, "CONNECTED:", 1)
				s2nd.send(t, "pong from s2nd\n")
			}
			r, _ := interopDial(t, f.ocspClientConfig(t, p.policy, true, false), net.JoinHostPort("127.0.0.1", port), nil, "ping from s2n-go\n", up, false)
			require.NoError(t, r.err)
			require.Equal(t, "pong from s2nd\n", r.got)
			require.Equal(t, p.version, r.state.Version)
			f.requireGoodResponse(t, r.state.OCSPResponse)
			s2nd.wait(t)
		})
	}
}

// TestOCSPClientNotAsking: without a request crypto/tls staples nothing.
func TestOCSPClientNotAsking(t *testing.T) {
	f := newOCSPFixture(t)
	r := goPeerHandshake(t, ModeClient, f.ocspClientConfig(t, "default_tls13", false, false), f.goStaplingServer(f.good, tls.VersionTLS13))
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	require.Nil(t, r.conn.OCSPResponse())
	require.Nil(t, r.conn.SCTList())
	require.False(t, r.conn.IsOCSPStapled())
}

// TestOCSPClientChecksResponse: s2n fails the handshake on a response that
// says the certificate is revoked, unless the check is off; then the
// response is the application's to read.
func TestOCSPClientChecksResponse(t *testing.T) {
	f := newOCSPFixture(t)
	for _, p := range ocspPolicies {
		t.Run(p.name+"/checked", func(t *testing.T) {
			r := goPeerHandshake(t, ModeClient, f.ocspClientConfig(t, p.policy, true, false), f.goStaplingServer(f.revoked, p.version))
			requireS2nError(t, r.err, "S2N_ERR_CERT_REVOKED")
		})
		t.Run(p.name+"/unchecked", func(t *testing.T) {
			cfg := f.ocspClientConfig(t, p.policy, true, false)
			require.NoError(t, cfg.SetCheckStapledOCSPResponse(false))
			r := goPeerHandshake(t, ModeClient, cfg, f.goStaplingServer(f.revoked, p.version))
			require.NoError(t, r.err)
			require.NoError(t, r.goErr)
			require.Equal(t, f.revoked, r.conn.OCSPResponse())
			resp, err := ocsp.ParseResponseForCert(r.conn.OCSPResponse(), f.leaf.cert, f.ca.cert)
			require.NoError(t, err)
			require.Equal(t, ocsp.Revoked, resp.Status)
		})
	}
}

// ---- bounds and misuse ----

func TestOCSPBadInput(t *testing.T) {
	f := newOCSPFixture(t)
	chain, err := NewCertChainAndKey(f.leaf.certPEM, f.leaf.keyPEM)
	require.NoError(t, err)
	defer chain.Close()
	for name, data := range map[string][]byte{
		"nil":      nil,
		"empty":    {},
		"oversize": make([]byte, MaxOCSPResponseSize+1),
	} {
		t.Run("ocsp/"+name, func(t *testing.T) {
			requireS2nError(t, chain.SetOCSPData(data), nameInvalidArg, ErrUsage)
		})
	}
	for name, list := range map[string][]byte{
		"nil":                nil,
		"empty":              {},
		"oversize":           make([]byte, MaxSCTListSize+1),
		"outer length short": {0x00, 0x04, 0x00, 0x01, 0xaa},
		"outer length long":  {0x00, 0x02, 0x00, 0x01, 0xaa},
		"truncated SCT":      {0x00, 0x03, 0x00, 0x05, 0xaa},
		"empty SCT":          {0x00, 0x02, 0x00, 0x00},
		"no SCT":             {0x00, 0x00},
		"one byte":           {0x00},
	} {
		t.Run("sct/"+name, func(t *testing.T) {
			requireS2nError(t, chain.SetSCTList(list), nameInvalidArg, ErrUsage)
		})
	}

	var zero CertChainAndKey
	requireS2nError(t, zero.SetOCSPData(f.good), nameInvalidArg, ErrUsage)
	closed, err := NewPublicCertChain(f.leaf.certPEM)
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	requireS2nError(t, closed.SetOCSPData(f.good), nameClosed, ErrUsage)
	requireS2nError(t, closed.SetSCTList(f.sctList), nameClosed, ErrUsage)

	cfg := newTestConfig(t, configOpts{})
	requireS2nError(t, cfg.SetStatusRequestType(StatusRequestType(2)), nameInvalidArg, ErrUsage)
	requireS2nError(t, cfg.SetCTSupportLevel(CTSupportLevel(-1)), nameInvalidArg, ErrUsage)
	require.NoError(t, cfg.SetStatusRequestType(StatusRequestNone))
	require.NoError(t, cfg.SetCTSupportLevel(CTSupportNone))
}

// TestOCSPMaxSizeStaples: an OCSP response and an SCT list of the maximum
// sizes fit together, in TLS 1.3 and 1.2, and reach crypto/tls's client
// whole.
func TestOCSPMaxSizeStaples(t *testing.T) {
	f := newOCSPFixture(t)
	resp := make([]byte, MaxOCSPResponseSize)
	sct := make([]byte, MaxSCTListSize-4)
	for _, b := range [][]byte{resp, sct} {
		_, err := rand.Read(b)
		require.NoError(t, err)
	}
	for _, p := range ocspPolicies {
		t.Run(p.name, func(t *testing.T) {
			chain, err := NewCertChainAndKey(f.leaf.certPEM, f.leaf.keyPEM)
			require.NoError(t, err)
			defer chain.Close()
			require.NoError(t, chain.SetOCSPData(resp))
			require.NoError(t, chain.SetSCTList(marshalSCTList([][]byte{sct})))
			cfg := newTestConfig(t, configOpts{policy: p.policy})
			require.NoError(t, cfg.AddCertChainAndKey(chain))
			r := goPeerHandshake(t, ModeServer, cfg, goTLSClientConfig(f.ca))
			require.NoError(t, r.err)
			require.NoError(t, r.goErr)
			require.Equal(t, p.version, r.goState.Version)
			require.Equal(t, resp, r.goState.OCSPResponse)
			require.Equal(t, [][]byte{sct}, r.goState.SignedCertificateTimestamps)
		})
	}
}

// TestOCSPChainFrozenInUse: a chain's stapled data may change until a
// Config holding it is in use by a connection, also after it was added.
func TestOCSPChainFrozenInUse(t *testing.T) {
	f := newOCSPFixture(t)
	chain, err := NewCertChainAndKey(f.leaf.certPEM, f.leaf.keyPEM)
	require.NoError(t, err)
	defer chain.Close()
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.AddCertChainAndKey(chain))
	require.NoError(t, chain.SetOCSPData(f.revoked))
	require.NoError(t, chain.SetOCSPData(f.good), "replaced before use")
	require.NoError(t, chain.SetSCTList(f.sctList))

	conn, err := NewConnection(ModeServer)
	require.NoError(t, err)
	defer conn.Close()
	require.False(t, conn.IsOCSPStapled(), "before the handshake")
	require.Nil(t, conn.OCSPResponse(), "before the handshake")
	require.NoError(t, conn.SetConfig(cfg))
	requireS2nError(t, chain.SetOCSPData(f.revoked), nameInUse, ErrUsage)
	requireS2nError(t, chain.SetSCTList(f.sctList), nameInUse, ErrUsage)
	requireS2nError(t, cfg.SetStatusRequestType(StatusRequestOCSP), nameInUse, ErrUsage)
	requireS2nError(t, cfg.SetCTSupportLevel(CTSupportRequest), nameInUse, ErrUsage)
	requireS2nError(t, cfg.SetCheckStapledOCSPResponse(false), nameInUse, ErrUsage)

	// The data set before use is what the server staples.
	r := goPeerHandshake(t, ModeServer, cfg, goTLSClientConfig(f.ca))
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	f.requireGoodResponse(t, r.goState.OCSPResponse)
}

func TestSplitSCTList(t *testing.T) {
	scts := [][]byte{{1}, bytes.Repeat([]byte{2}, 300), {3, 3}}
	require.Equal(t, scts, splitSCTList(marshalSCTList(scts)))
	require.Nil(t, splitSCTList(nil))
	require.Nil(t, splitSCTList([]byte{0, 0}))
}
