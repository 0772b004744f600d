package s2n

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"
	"github.com/stretchr/testify/require"
)

// A real HSM path: keys generated inside a SoftHSM2 token, used through
// crypto11 as the crypto.Signer (and crypto.Decrypter) behind
// AddCertChainWithSigner. The private keys never exist in this process: the
// token made them non-extractable and sensitive, and every signature and
// RSA decryption is a PKCS#11 call.
//
// The token comes from scripts/softhsm-setup (scripts/test runs it): its
// exports are used when set, else its default token under third_party/softhsm.

// softHSMSetup is what to run when there is no token.
const softHSMSetup = `eval "$(scripts/softhsm-setup)"`

// softHSMModules are where Debian and others put libsofthsm2.so, for when
// S2N_PKCS11_MODULE is unset.
var softHSMModules = []string{
	"/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	"/usr/lib/softhsm/libsofthsm2.so",
	"/usr/local/lib/softhsm/libsofthsm2.so",
}

// softHSM opens the test token; it is closed when the test ends.
func softHSM(t *testing.T) *crypto11.Context {
	t.Helper()
	if os.Getenv("SOFTHSM2_CONF") == "" {
		conf, err := filepath.Abs(filepath.Join("third_party", "softhsm", "softhsm2.conf"))
		require.NoError(t, err)
		if _, err := os.Stat(conf); err != nil {
			t.Fatalf("no SoftHSM2 token: SOFTHSM2_CONF is unset and %s does not exist; run %s first (scripts/test does)", conf, softHSMSetup)
		}
		t.Setenv("SOFTHSM2_CONF", conf)
	}
	module := os.Getenv("S2N_PKCS11_MODULE")
	for _, m := range softHSMModules {
		if module != "" {
			break
		}
		if _, err := os.Stat(m); err == nil {
			module = m
		}
	}
	if module == "" {
		t.Fatalf("libsofthsm2.so not found and S2N_PKCS11_MODULE unset; run %s first (it installs softhsm2)", softHSMSetup)
	}
	label, pin := os.Getenv("S2N_PKCS11_TOKEN_LABEL"), os.Getenv("S2N_PKCS11_PIN")
	if label == "" {
		label = "s2n-go-test" // scripts/softhsm-setup's defaults
	}
	if pin == "" {
		pin = "5678"
	}
	// An explicit MaxSessions: crypto11's default lets the pool grow to
	// 1023 sessions.
	ctx, err := crypto11.Configure(&crypto11.Config{Path: module, TokenLabel: label, Pin: pin, MaxSessions: 8})
	require.NoError(t, err, "opening token %q with %s (SOFTHSM2_CONF=%s); %s makes it", label, module, os.Getenv("SOFTHSM2_CONF"), softHSMSetup)
	t.Cleanup(func() { require.NoError(t, ctx.Close()) })
	return ctx
}

// hsmKey generates a key pair inside the token, under a label and ID unique
// to this run, deleted when the test ends, and self-signs a certificate with
// it (the signature is made by the token too). The testKey has no keyPEM.
func hsmKey(t *testing.T, ctx *crypto11.Context, kind string) *testKey {
	t.Helper()
	id := make([]byte, 16)
	_, err := rand.Read(id)
	require.NoError(t, err)
	label := []byte(fmt.Sprintf("s2n-go-test-%s-%x", kind, id[:6]))
	var signer crypto11.Signer
	switch kind {
	case "ecdsa":
		signer, err = ctx.GenerateECDSAKeyPairWithLabel(id, label, elliptic.P256())
	case "rsa":
		signer, err = ctx.GenerateRSAKeyPairWithLabel(id, label, 2048)
	default:
		t.Fatalf("unknown key kind %q", kind)
	}
	require.NoError(t, err, "generating a %s key in the token", kind)
	t.Cleanup(func() { require.NoError(t, signer.Delete(), "deleting %s from the token", label) })

	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(id),
		Subject:               pkix.Name{CommonName: "localhost", OrganizationalUnit: []string{string(label)}},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	require.NoError(t, err, "self-signing with the token's %s key", kind)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	require.NoError(t, cert.CheckSignatureFrom(cert), "the token's signature verifies")
	return &testKey{
		name:    "hsm-" + kind,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		signer:  signer,
		cert:    cert,
	}
}

// requireKeyInToken checks that k's private key cannot leave the token: it
// is a PKCS#11 object, generated sensitive and never extractable, whose
// secret attribute the token refuses to read out, and there is no PEM copy.
func requireKeyInToken(t *testing.T, ctx *crypto11.Context, k *testKey) {
	t.Helper()
	require.Nil(t, k.keyPEM, "no PEM private key exists")
	switch k.signer.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
		t.Fatalf("%s: %T is a Go private key, not a token object", k.name, k.signer)
	}
	secret := crypto11.CkaValue // an EC private key's scalar
	if _, isRSA := k.signer.Public().(*rsa.PublicKey); isRSA {
		secret = crypto11.CkaPrivateExponent
	}

	attrs, err := ctx.GetAttributes(k.signer, []crypto11.AttributeType{
		crypto11.CkaToken, crypto11.CkaSensitive, crypto11.CkaAlwaysSensitive,
		crypto11.CkaExtractable, crypto11.CkaNeverExtractable,
	})
	require.NoError(t, err, "%T is a crypto11 key", k.signer)
	want := map[crypto11.AttributeType]byte{
		crypto11.CkaToken: 1, crypto11.CkaSensitive: 1, crypto11.CkaAlwaysSensitive: 1,
		crypto11.CkaExtractable: 0, crypto11.CkaNeverExtractable: 1,
	}
	for typ, v := range want {
		require.NotNil(t, attrs[typ], "attribute %#x", typ)
		require.Equal(t, []byte{v}, attrs[typ].Value, "attribute %#x of %s", typ, k.name)
	}
	_, err = ctx.GetAttribute(k.signer, secret)
	require.ErrorIs(t, err, pkcs11.Error(pkcs11.CKR_ATTRIBUTE_SENSITIVE), "reading the private value out of the token")
}

// hsmCase is one handshake: who holds which token key.
type hsmCase struct {
	name    string
	version ProtocolVersion
	server  *testKey // the server's key, in the token
	client  *testKey // mutual auth: the client's key, in the token
	rsaKex  bool
}

func (c hsmCase) interop() interopCase {
	return interopCase{name: c.name, version: c.version, rsaKex: c.rsaKex}
}

// hsmServerConfig is a binding server Config whose key is the token's.
func hsmServerConfig(t *testing.T, c hsmCase) *Config {
	o := configOpts{policy: c.interop().serverPolicy()}
	if c.client != nil {
		o.trust, o.clientAuth = c.client, ClientAuthRequired
	}
	cfg := newTestConfig(t, o)
	require.NoError(t, cfg.AddCertChainWithSigner(c.server.certPEM, c.server.signer))
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2"}))
	return cfg
}

// hsmClientConfig is a binding client Config; with mutual auth its key is
// the token's.
func hsmClientConfig(t *testing.T, c hsmCase) *Config {
	cfg := newTestConfig(t, configOpts{policy: c.interop().clientPolicy(), trust: c.server})
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2", "http/1.1"}))
	if c.client != nil {
		require.NoError(t, cfg.AddCertChainWithSigner(c.client.certPEM, c.client.signer))
		require.NoError(t, cfg.SetClientAuthType(ClientAuthOptional))
	}
	return cfg
}

// The exchange of these tests: the client sends a line, the server answers
// with a line and closes (close_notify, then the transport), and the client
// reads to the server's close_notify before closing in turn. No end writes
// to a transport its peer has closed, in TLS 1.2 as in TLS 1.3.

// hsmServe is the binding server's side of the exchange.
func hsmServe(c *Conn) (r interopResult) {
	defer interopClose(c, &r)
	return interopAnswer(c, "pong from s2n-go\n")
}

// hsmClientExchange is the client's side over conn: send msg, read the
// reply and then to the end, which must be the server's close_notify.
func hsmClientExchange(conn io.ReadWriter, msg string) (got string, err error) {
	if _, err := io.WriteString(conn, msg); err != nil {
		return "", err
	}
	if got, err = interopReadLine(conn); err != nil {
		return got, err
	}
	if _, end := interopReadToEnd(conn); end != io.EOF {
		return got, fmt.Errorf("after the reply: want io.EOF (close_notify), got %w", end)
	}
	return got, nil
}

// hsmDial runs the binding client's side.
func hsmDial(cfg *Config, addr string) (r interopResult) {
	raw, err := net.DialTimeout("tcp", addr, interopTimeout)
	if err != nil {
		return interopResult{err: err}
	}
	c := Client(raw, cfg, "localhost")
	defer interopClose(c, &r)
	c.SetDeadline(time.Now().Add(interopTimeout))
	if err := c.Handshake(); err != nil {
		return interopResult{err: fmt.Errorf("handshake: %w", err)}
	}
	r.got, r.err = hsmClientExchange(c, "ping from s2n-go\n")
	r.state, r.info = c.ConnectionState(), c.HandshakeInfo()
	return r
}

// checkHSMSide checks one binding end: the exchange went through, with want
// from the peer, and if offloaded, its one key operation ran in the token.
func checkHSMSide(t *testing.T, c hsmCase, r interopResult, who, want string, offloaded bool) {
	t.Helper()
	require.NoError(t, r.err, who)
	require.Equal(t, want, r.got, who)
	st, info := r.state, r.info
	require.Equal(t, c.version, info.Version, who)
	require.Equal(t, "h2", st.NegotiatedProtocol, who)
	require.Equal(t, offloaded, info.KeyOffloaded, "%s: key offloaded", who)
	if offloaded {
		require.Equal(t, 1, info.OffloadedOps, who)
	}
	if c.rsaKex {
		require.Equal(t, interopRSAKexSuite, info.CipherSuite, who)
		require.Empty(t, info.KeyExchangeGroup, who)
	}
}

func TestPKCS11(t *testing.T) {
	ctx := softHSM(t)
	ec, rs := hsmKey(t, ctx, "ecdsa"), hsmKey(t, ctx, "rsa")
	_, isDecrypter := rs.signer.(crypto.Decrypter)
	require.True(t, isDecrypter, "the token's RSA key decrypts TLS 1.2 RSA key exchange")
	t.Run("keys-stay-in-token", func(t *testing.T) {
		requireKeyInToken(t, ctx, ec)
		requireKeyInToken(t, ctx, rs)
	})

	cases := []hsmCase{
		{name: "ecdsa-tls13", version: TLS13, server: ec},
		{name: "rsa-tls13", version: TLS13, server: rs},
		{name: "ecdsa-tls12", version: TLS12, server: ec},
		{name: "rsa-tls12", version: TLS12, server: rs},
		{name: "rsa-kex-tls12", version: TLS12, server: rs, rsaKex: true},
		{name: "mtls-tls13", version: TLS13, server: ec, client: rs},
		{name: "mtls-tls12", version: TLS12, server: rs, client: ec},
	}
	for _, c := range cases {
		// The binding server, its key in the token, against crypto/tls.
		t.Run("server-vs-gotls/"+c.name, func(t *testing.T) {
			addr, results := serveResults(t, hsmServerConfig(t, c), 1, hsmServe)
			cfg := interopGoConfig(c.interop())
			cfg.RootCAs, cfg.ServerName, cfg.NextProtos = certPool(c.server), "localhost", []string{"h2"}
			if c.client != nil {
				// crypto/tls signs with the token's key too.
				cfg.Certificates = []tls.Certificate{goCert(c.client)}
			}
			conn, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: interopTimeout}, Config: cfg}).Dial("tcp", addr)
			require.NoError(t, err)
			conn.SetDeadline(time.Now().Add(interopTimeout))
			got, err := hsmClientExchange(conn, "ping from crypto/tls\n")
			require.NoError(t, conn.Close())
			require.NoError(t, err)
			require.Equal(t, "pong from s2n-go\n", got)
			r := <-results
			checkHSMSide(t, c, r, "binding server", "ping from crypto/tls\n", true)
			if c.client != nil {
				require.Equal(t, c.client.cert.Raw, r.state.PeerCertificates[0].Raw)
			}
		})
		// Both ends are the binding, each with its key in the token.
		t.Run("server-vs-client/"+c.name, func(t *testing.T) {
			addr, results := serveResults(t, hsmServerConfig(t, c), 1, hsmServe)
			r := hsmDial(hsmClientConfig(t, c), addr)
			checkHSMSide(t, c, r, "binding client", "pong from s2n-go\n", c.client != nil)
			require.Equal(t, c.server.cert.Raw, r.state.PeerCertificates[0].Raw)
			checkHSMSide(t, c, <-results, "binding server", "ping from s2n-go\n", true)
		})
		if c.client == nil {
			continue
		}
		// The binding client, its key in the token, against crypto/tls.
		t.Run("client-vs-gotls/"+c.name, func(t *testing.T) {
			cfg := interopGoConfig(c.interop())
			cfg.Certificates, cfg.NextProtos = []tls.Certificate{goCert(c.server)}, []string{"h2"}
			cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, certPool(c.client)
			addr, served := serveGoTLS(t, cfg, 1, func(conn *tls.Conn) error {
				conn.SetDeadline(time.Now().Add(interopTimeout))
				if _, err := interopReadLine(conn); err != nil {
					return err
				}
				peer := conn.ConnectionState().PeerCertificates
				if len(peer) == 0 || !peer[0].Equal(c.client.cert) {
					return fmt.Errorf("crypto/tls server got client certificates %v", peer)
				}
				if _, err := io.WriteString(conn, "pong from crypto/tls\n"); err != nil {
					return err
				}
				return conn.Close()
			})
			r := hsmDial(hsmClientConfig(t, c), addr)
			require.NoError(t, <-served)
			checkHSMSide(t, c, r, "binding client", "pong from crypto/tls\n", true)
		})
	}

	// Handshakes at once: SoftHSM serializes its operations, the binding
	// queues them (SetMaxInflightKeyOps) without holding a thread each.
	t.Run("concurrent", func(t *testing.T) {
		c := hsmCase{name: "concurrent", version: TLS13, server: rs}
		cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
		require.NoError(t, cfg.SetMaxInflightKeyOps(4))
		require.NoError(t, cfg.AddCertChainWithSigner(rs.certPEM, rs.signer))
		const n = 16
		addr, results := serveResults(t, cfg, n, hsmServe)
		client := hsmClientConfig(t, c)
		var clients sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			clients.Add(1)
			go func() {
				defer clients.Done()
				r := hsmDial(client, addr)
				if r.err == nil && r.got != "pong from s2n-go\n" {
					r.err = fmt.Errorf("got %q", r.got)
				}
				errs <- r.err
			}()
		}
		clients.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		for range n {
			r := <-results
			require.NoError(t, r.err)
			require.True(t, r.info.KeyOffloaded)
			require.Equal(t, 1, r.info.OffloadedOps)
		}
	})
}
