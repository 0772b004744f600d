package s2n

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// quickBlinding caps s2n's blinding delay on cfg, so that Conns closed
// after the failed handshakes of these tests are let go within a second.
func quickBlinding(t testing.TB, cfg *Config) *Config {
	t.Helper()
	require.NoError(t, cfg.SetMaxBlindingDelay(time.Second))
	return cfg
}

// validationServer serves leaf's certificate, followed by the certificates
// of extraPEM, to one client and reports the server handshake's error.
func validationServer(t testing.TB, leaf *testKey, extraPEM ...byte) (addr string, result <-chan error) {
	t.Helper()
	cfg := quickBlinding(t, newTestConfig(t, configOpts{policy: "default_tls13"}))
	ck, err := NewCertChainAndKey(append(slices.Clone(leaf.certPEM), extraPEM...), leaf.keyPEM)
	require.NoError(t, err)
	require.NoError(t, cfg.AddCertChainAndKey(ck))
	require.NoError(t, ck.Close())
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2"}))
	return serveResults(t, cfg, 1, func(c *Conn) error { return c.Handshake() })
}

// clientHandshake runs one client Conn handshake with cfg against addr.
func clientHandshake(t testing.TB, ctx context.Context, addr string, cfg *Config) (*Conn, error) {
	t.Helper()
	c := dialClient(t, addr, cfg)
	return c, c.HandshakeContext(ctx)
}

// TestCertValidationCallback: a client's validation callback sees the
// server's chain as s2n verified it, and its decision is the handshake's:
// Accept goes on, Reject fails with S2N_ERR_CERT_REJECTED, an error or a
// panic fails with it as the cause.
func TestCertValidationCallback(t *testing.T) {
	ec, _, _ := testKeys(t)
	refused := errors.New("pinned key mismatch")
	for _, tc := range []struct {
		name   string
		decide func(*CertValidationInfo) error
		check  func(t *testing.T, err error)
	}{
		{"accept", (*CertValidationInfo).Accept, func(t *testing.T, err error) { require.NoError(t, err) }},
		{"reject", (*CertValidationInfo).Reject, func(t *testing.T, err error) {
			requireS2nError(t, err, "S2N_ERR_CERT_REJECTED", ErrProto)
			require.Contains(t, err.Error(), "Certificate failed custom application validation")
		}},
		{"error", func(*CertValidationInfo) error { return refused }, func(t *testing.T, err error) {
			requireS2nError(t, err, "S2N_ERR_CANCELLED", refused)
		}},
		{"panic", func(*CertValidationInfo) error { panic("validator exploded") }, func(t *testing.T, err error) {
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "validator exploded", pe.Value)
			requireS2nError(t, err, "S2N_ERR_CANCELLED")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var chain [][]byte
			var chainErr error
			calls := 0
			cfg := quickBlinding(t, clientConfig(t, "default_tls13", ec))
			require.NoError(t, cfg.SetCertValidationCallback(func(conn *Connection, info *CertValidationInfo) error {
				calls++
				chain, chainErr = conn.PeerCertChain()
				return tc.decide(info)
			}))
			addr, served := validationServer(t, ec)
			c, err := clientHandshake(t, context.Background(), addr, cfg)
			tc.check(t, err)
			require.Equal(t, 1, calls)
			require.NoError(t, chainErr)
			require.Equal(t, [][]byte{ec.cert.Raw}, chain, "the verified chain: the self-signed leaf is its own anchor")
			c.Close()
			serverErr := await(t, served, "server handshake")
			if err == nil {
				require.NoError(t, serverErr)
			} else {
				require.Error(t, serverErr)
			}
		})
	}
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	require.NoError(t, cfg.SetCertValidationCallback(nil), "removing none")
	var info *CertValidationInfo
	requireUsage(t, info.Accept(), nameInvalidArg)
	requireUsage(t, (&CertValidationInfo{}).Reject(), nameInvalidArg)
}

// TestCertValidationAsync: a callback that returns without deciding parks
// the Conn handshake; a goroutine decides later and the handshake follows.
func TestCertValidationAsync(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, accept := range []bool{true, false} {
		t.Run(map[bool]string{true: "accept", false: "reject"}[accept], func(t *testing.T) {
			decided := make(chan error, 1)
			cfg := quickBlinding(t, clientConfig(t, "default_tls13", ec))
			require.NoError(t, cfg.SetCertValidationCallback(func(conn *Connection, info *CertValidationInfo) error {
				go func() {
					time.Sleep(20 * time.Millisecond) // a slow remote check
					if accept {
						decided <- info.Accept()
					} else {
						decided <- info.Reject()
					}
				}()
				return nil
			}))
			addr, served := validationServer(t, ec)
			c, err := clientHandshake(t, context.Background(), addr, cfg)
			require.NoError(t, await(t, decided, "the decision"))
			if accept {
				require.NoError(t, err)
				require.True(t, c.ConnectionState().HandshakeComplete)
			} else {
				requireS2nError(t, err, "S2N_ERR_CERT_REJECTED")
			}
			c.Close()
			serverErr := await(t, served, "server handshake")
			if accept {
				require.NoError(t, serverErr)
			}
		})
	}
}

// TestCertValidationUndecided: a callback that never decides leaves the
// handshake waiting until its context ends.
func TestCertValidationUndecided(t *testing.T) {
	ec, _, _ := testKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := quickBlinding(t, clientConfig(t, "default_tls13", ec))
	require.NoError(t, cfg.SetCertValidationCallback(func(*Connection, *CertValidationInfo) error {
		cancel() // the application gives up; the info is never decided
		return nil
	}))
	addr, served := validationServer(t, ec)
	c, err := clientHandshake(t, ctx, addr, cfg)
	require.ErrorIs(t, err, context.Canceled)
	c.Close()
	require.Error(t, await(t, served, "server handshake"))
}

// TestCertValidationLowLevel: on a Connection, an undecided validation
// makes Negotiate report BlockedOnApplicationInput until Accept, made
// here from another goroutine; a second decision is refused by s2n, and
// one after Wipe by the binding.
func TestCertValidationLowLevel(t *testing.T) {
	ec, _, _ := testKeys(t)
	infos := make(chan *CertValidationInfo, 1)
	client := clientConfig(t, "default_tls13", ec)
	require.NoError(t, client.SetCertValidationCallback(func(_ *Connection, info *CertValidationInfo) error {
		infos <- info
		return nil
	}))
	p := newPair(t, newTestConfig(t, configOpts{policy: "default_tls13", chain: ec}), client)
	var info *CertValidationInfo
	deadline := time.Now().Add(testHandshakeTimeout)
	for info == nil {
		require.True(t, time.Now().Before(deadline), "the validation callback never ran")
		for _, c := range []*Connection{p.server, p.client} {
			if _, err := c.Negotiate(); err != nil {
				require.ErrorIs(t, err, ErrBlocked)
			}
		}
		select {
		case info = <-infos:
		default:
			time.Sleep(time.Millisecond)
		}
	}
	for range 2 {
		blocked, err := p.client.Negotiate()
		require.ErrorIs(t, err, ErrBlocked)
		require.Equal(t, BlockedOnApplicationInput, blocked)
	}
	accepted := make(chan error, 1)
	go func() { accepted <- info.Accept() }()
	require.NoError(t, await(t, accepted, "Accept"))
	requireS2nError(t, info.Reject(), "S2N_ERR_INVALID_STATE", ErrUsage)
	p.handshake(t)
	p.exchange(t)

	require.NoError(t, p.client.Wipe())
	requireUsage(t, info.Accept(), nameStale)
	require.NoError(t, p.client.Close())
	requireS2nError(t, info.Accept(), nameClosed, ErrUsage)
}

// TestVerifyPeerCertificate: the crypto/tls-style hook gets the chain s2n
// verified, raw and parsed; its error fails the handshake. With
// verification off, s2n still calls it, with no chain.
func TestVerifyPeerCertificate(t *testing.T) {
	ec, _, _ := testKeys(t)
	refused := errors.New("not the pinned certificate")
	for _, tc := range []struct {
		name     string
		noVerify bool
		fail     bool
	}{{"accept", false, false}, {"reject", false, true}, {"unverified", true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			var raw [][]byte
			var chains [][]*x509.Certificate
			calls := 0
			cfg := quickBlinding(t, clientConfig(t, "default_tls13", ec))
			if tc.noVerify {
				require.NoError(t, cfg.DisableX509Verification())
			}
			require.NoError(t, cfg.SetVerifyPeerCertificate(func(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error {
				calls++
				raw, chains = rawCerts, verifiedChains
				if tc.fail {
					return refused
				}
				return nil
			}))
			addr, served := validationServer(t, ec)
			c, err := clientHandshake(t, context.Background(), addr, cfg)
			require.Equal(t, 1, calls)
			if tc.fail {
				requireS2nError(t, err, "S2N_ERR_CANCELLED", refused)
			} else {
				require.NoError(t, err)
			}
			if tc.noVerify {
				require.Empty(t, raw)
				require.Nil(t, chains)
			} else {
				require.Equal(t, [][]byte{ec.cert.Raw}, raw)
				require.Len(t, chains, 1)
				require.Len(t, chains[0], 1)
				require.True(t, chains[0][0].Equal(ec.cert))
			}
			c.Close()
			await(t, served, "server handshake")
		})
	}
}

// TestVerifyConnection: the hook sees the handshake's state as far as it
// has got (TLS 1.3 client: version, suite, ALPN, SNI, the chain; not
// complete), after VerifyPeerCertificate and before the
// CertValidationFunc; its error fails the handshake.
func TestVerifyConnection(t *testing.T) {
	ec, _, _ := testKeys(t)
	refused := errors.New("wrong protocol")
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "accept", true: "reject"}[fail], func(t *testing.T) {
			var order []string
			var st tls.ConnectionState
			cfg := quickBlinding(t, clientConfig(t, "default_tls13", ec, "h2"))
			require.NoError(t, cfg.SetCertValidationCallback(func(_ *Connection, info *CertValidationInfo) error {
				order = append(order, "CertValidationFunc")
				return info.Accept()
			}))
			require.NoError(t, cfg.SetVerifyConnection(func(s tls.ConnectionState) error {
				order = append(order, "VerifyConnection")
				st = s
				if fail {
					return refused
				}
				return nil
			}))
			require.NoError(t, cfg.SetVerifyPeerCertificate(func([][]byte, [][]*x509.Certificate) error {
				order = append(order, "VerifyPeerCertificate")
				return nil
			}))
			addr, served := validationServer(t, ec)
			c, err := clientHandshake(t, context.Background(), addr, cfg)
			if fail {
				requireS2nError(t, err, "S2N_ERR_CANCELLED", refused)
				require.Equal(t, []string{"VerifyPeerCertificate", "VerifyConnection"}, order)
			} else {
				require.NoError(t, err)
				require.Equal(t, []string{"VerifyPeerCertificate", "VerifyConnection", "CertValidationFunc"}, order)
			}
			require.False(t, st.HandshakeComplete)
			require.Equal(t, uint16(tls.VersionTLS13), st.Version)
			require.NotZero(t, st.CipherSuite)
			require.Equal(t, "h2", st.NegotiatedProtocol)
			require.Equal(t, "localhost", st.ServerName)
			require.Len(t, st.PeerCertificates, 1)
			require.True(t, st.PeerCertificates[0].Equal(ec.cert))
			require.Len(t, st.VerifiedChains, 1)
			c.Close()
			await(t, served, "server handshake")
		})
	}
}

// TestMaxCertChainDepth: a server sending its leaf and CA (two
// certificates) fails a client allowing one, and passes one allowing two.
func TestMaxCertChainDepth(t *testing.T) {
	ca := newTestCA(t, "depth CA")
	leaf := ca.issue(t, "depth leaf", "localhost", 2)
	for _, depth := range []int{1, 2} {
		cfg := quickBlinding(t, clientConfig(t, "default_tls13", ca))
		require.NoError(t, cfg.SetMaxCertChainDepth(depth))
		addr, served := validationServer(t, leaf, ca.certPEM...)
		c, err := clientHandshake(t, context.Background(), addr, cfg)
		if depth == 1 {
			requireS2nError(t, err, "S2N_ERR_CERT_MAX_CHAIN_DEPTH_EXCEEDED")
		} else {
			require.NoError(t, err)
		}
		c.Close()
		await(t, served, "server handshake")
	}
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireUsage(t, cfg.SetMaxCertChainDepth(0), nameInvalidArg)
	requireUsage(t, cfg.SetMaxCertChainDepth(65536), nameInvalidArg)
}

// TestVerificationCALocation: a trust store emptied, then loaded from a CA
// file, trusts the server; emptied only, it does not.
func TestVerificationCALocation(t *testing.T) {
	ec, _, _ := testKeys(t)
	file := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(file, ec.certPEM, 0o600))
	for _, load := range []bool{true, false} {
		cfg := quickBlinding(t, newTestConfig(t, configOpts{policy: "default_tls13"}))
		require.NoError(t, cfg.WipeTrustStore())
		if load {
			require.NoError(t, cfg.SetVerificationCALocation(file, ""))
		}
		addr, served := validationServer(t, ec)
		c, err := clientHandshake(t, context.Background(), addr, cfg)
		if load {
			require.NoError(t, err)
		} else {
			requireS2nError(t, err, "S2N_ERR_CERT_UNTRUSTED")
		}
		c.Close()
		await(t, served, "server handshake")
	}
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireUsage(t, cfg.SetVerificationCALocation("", ""), nameInvalidArg)
	requireUsage(t, cfg.SetVerificationCALocation("a\x00b", ""), nameInvalidArg)
	err = cfg.SetVerificationCALocation(filepath.Join(t.TempDir(), "missing.pem"), "")
	requireS2nError(t, err, "S2N_ERR_X509_TRUST_STORE")
}

// TestLoadSystemCerts: s2n refuses to load the system's certificates into
// a trust store that has them (every NewConfig's), and loads them into one
// emptied by WipeTrustStore.
func TestLoadSystemCerts(t *testing.T) {
	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireS2nError(t, cfg.LoadSystemCerts(), "S2N_ERR_X509_TRUST_STORE")
	require.NoError(t, cfg.WipeTrustStore())
	require.NoError(t, cfg.LoadSystemCerts())
	requireS2nError(t, cfg.LoadSystemCerts(), "S2N_ERR_X509_TRUST_STORE")
}

// TestCertAuthoritiesFromTrustStore: a server advertises its trust store's
// subjects in its CertificateRequest, as crypto/tls's client reads them;
// s2n refuses while the system certificates are loaded.
func TestCertAuthoritiesFromTrustStore(t *testing.T) {
	ec, _, _ := testKeys(t)
	ca := newTestCA(t, "client CA")
	clientKey := ca.issue(t, "client", "localhost", 2)
	sys, err := NewConfig()
	require.NoError(t, err)
	defer sys.Close()
	requireS2nError(t, sys.SetCertAuthoritiesFromTrustStore(), "S2N_ERR_INVALID_STATE")

	cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: ca, clientAuth: ClientAuthRequired})
	err = cfg.SetCertAuthoritiesFromTrustStore()
	if !modeExpect(t, map[string]bool{"awslc": true, "openssl": true, "awslc-fips": true}) {
		requireS2nError(t, err, "S2N_ERR_API_UNSUPPORTED_BY_LIBCRYPTO")
		t.Logf("%s: the libcrypto cannot list a trust store", Libcrypto())
		return
	}
	require.NoError(t, err)
	addr, served := serveResults(t, cfg, 1, func(c *Conn) error { return c.Handshake() })
	var acceptable [][]byte
	goCfg := goTLSClientConfig(ec)
	goCfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		acceptable = cri.AcceptableCAs
		cert := goCert(clientKey)
		return &cert, nil
	}
	c, err := tls.Dial("tcp", addr, goCfg)
	require.NoError(t, err)
	require.NoError(t, await(t, served, "server handshake"))
	c.Close()
	require.Equal(t, [][]byte{ca.cert.RawSubject}, acceptable)
}

// testCriticalOID is a private-arc extension no libcrypto knows.
var testCriticalOID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 7, 1}

// customExtensionsSupported reports whether this build's libcrypto lets
// s2n accept custom critical extensions (AWS-LC 1.51.0 or later, and
// AWS-LC-FIPS 4.2.0 of the FIPS build).
func customExtensionsSupported(t testing.TB) bool {
	return modeExpect(t, map[string]bool{"awslc": true, "awslc-fips": true, "openssl": false})
}

// issueWith makes a P-256 certificate for localhost signed by ca, as
// mutate changes it from an ordinary server-and-client leaf.
func issueWith(t testing.TB, ca *testKey, name string, mutate func(*x509.Certificate)) *testKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	mutate(tmpl)
	return createTestKey(t, name, tmpl, ca, priv)
}

// relaxedCheck connects a client trusting ca to a server with leaf, under
// serverName, once with a plain client Config and once with relax applied
// to it, and returns the two handshake errors.
func relaxedCheck(t *testing.T, ca, leaf *testKey, serverName string, relax func(*Config) error) (plain, relaxed error) {
	t.Helper()
	run := func(relax func(*Config) error) error {
		cfg := quickBlinding(t, clientConfig(t, "default_tls13", ca))
		if relax != nil {
			require.NoError(t, relax(cfg))
		}
		addr, served := validationServer(t, leaf)
		raw, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		c := Client(raw, cfg, serverName)
		defer c.Close()
		err = c.HandshakeContext(context.Background())
		if err == nil {
			require.NoError(t, echoCheck(c))
		}
		c.Close()
		await(t, served, "server handshake")
		return err
	}
	return run(nil), run(relax)
}

// echoCheck proves the connection carries data after a handshake: the
// client's close_notify arrives at the server as EOF, so it just sends.
func echoCheck(c *Conn) error {
	_, err := c.Write([]byte("ping"))
	return err
}

// TestX509TimeVerification: an expired server certificate, and one not
// valid yet, fail verification, and pass with time verification off.
func TestX509TimeVerification(t *testing.T) {
	ca := newTestCA(t, "time CA")
	for _, tc := range []struct {
		name     string
		from, to time.Duration
		want     string
	}{
		{"expired", -48 * time.Hour, -24 * time.Hour, "S2N_ERR_CERT_EXPIRED"},
		{"not yet valid", 24 * time.Hour, 48 * time.Hour, "S2N_ERR_CERT_NOT_YET_VALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leaf := issueWith(t, ca, tc.name, func(c *x509.Certificate) {
				c.NotBefore, c.NotAfter = time.Now().Add(tc.from), time.Now().Add(tc.to)
			})
			plain, relaxed := relaxedCheck(t, ca, leaf, "localhost", (*Config).DisableX509TimeVerification)
			requireS2nError(t, plain, tc.want)
			require.NoError(t, relaxed)
		})
	}
	// Only the dates are relaxed: an untrusted issuer still fails.
	other := newTestCA(t, "other CA")
	expired := issueWith(t, other, "expired, untrusted", func(c *x509.Certificate) {
		c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	})
	_, relaxed := relaxedCheck(t, ca, expired, "localhost", (*Config).DisableX509TimeVerification)
	requireS2nError(t, relaxed, "S2N_ERR_CERT_UNTRUSTED")
}

// TestX509IntentVerification: a server certificate whose Extended Key
// Usage is clientAuth only fails a client's verification, and passes with
// intent verification off.
func TestX509IntentVerification(t *testing.T) {
	ca := newTestCA(t, "intent CA")
	leaf := issueWith(t, ca, "client-only", func(c *x509.Certificate) {
		c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	})
	plain, relaxed := relaxedCheck(t, ca, leaf, "localhost", (*Config).DisableX509IntentVerification)
	requireS2nError(t, plain, "S2N_ERR_CERT_INTENT_INVALID")
	require.NoError(t, relaxed)
}

// TestAllowIPInCN: a certificate without SANs whose Common Name is the
// server's IP address fails verification, and passes with AllowIPInCN.
func TestAllowIPInCN(t *testing.T) {
	ca := newTestCA(t, "ip CA")
	leaf := issueWith(t, ca, "ip in CN", func(c *x509.Certificate) {
		c.Subject.CommonName, c.DNSNames = "127.0.0.1", nil
	})
	plain, relaxed := relaxedCheck(t, ca, leaf, "127.0.0.1", (*Config).AllowIPInCN)
	requireS2nError(t, plain, "S2N_ERR_CERT_UNTRUSTED")
	require.NoError(t, relaxed)
	// The CN still has to be the address asked for.
	_, relaxed = relaxedCheck(t, ca, leaf, "127.0.0.2", (*Config).AllowIPInCN)
	requireS2nError(t, relaxed, "S2N_ERR_CERT_INVALID_HOSTNAME")
}

// TestCustomX509Extension: a server certificate with a critical extension
// s2n does not know fails verification; registered with
// AddCustomX509Extension it passes, and the application's own check of it
// (here a VerifyPeerCertificate hook) sees it. A libcrypto without the
// support refuses the registration.
func TestCustomX509Extension(t *testing.T) {
	ca := newTestCA(t, "extension CA")
	leaf := issueWith(t, ca, "critical extension", func(c *x509.Certificate) {
		c.ExtraExtensions = []pkix.Extension{{Id: testCriticalOID, Critical: true, Value: []byte{0x05, 0x00}}}
	})
	var seen atomic.Bool
	register := func(cfg *Config) error {
		if err := cfg.AddCustomX509Extension(testCriticalOID); err != nil {
			return err
		}
		return cfg.SetVerifyPeerCertificate(func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, ext := range chains[0][0].Extensions {
				if ext.Id.Equal(testCriticalOID) && ext.Critical {
					seen.Store(true)
					return nil
				}
			}
			return errors.New("custom extension missing")
		})
	}
	if !customExtensionsSupported(t) {
		cfg, err := NewConfig()
		require.NoError(t, err)
		defer cfg.Close()
		requireS2nError(t, cfg.AddCustomX509Extension(testCriticalOID), "S2N_ERR_API_UNSUPPORTED_BY_LIBCRYPTO")
		t.Logf("%s: custom critical extensions unsupported, as expected", Libcrypto())
		return
	}
	plain, relaxed := relaxedCheck(t, ca, leaf, "localhost", register)
	requireS2nError(t, plain, "S2N_ERR_CERT_UNHANDLED_CRITICAL_EXTENSION")
	require.NoError(t, relaxed)
	require.True(t, seen.Load(), "the hook saw the extension")

	cfg, err := NewConfig()
	require.NoError(t, err)
	defer cfg.Close()
	requireUsage(t, cfg.AddCustomX509Extension(nil), nameInvalidArg)
}

// TestNewMinimalConfig: a minimal Config has no system certificates (it
// loads them, which s2n refuses twice), trusts no server until told to,
// and its Clone is minimal too.
func TestNewMinimalConfig(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg, err := NewMinimalConfig()
	require.NoError(t, err)
	defer cfg.Close()
	require.NoError(t, cfg.SetCipherPreferences("default_tls13"))
	quickBlinding(t, cfg)
	clone, err := cfg.Clone()
	require.NoError(t, err)
	defer clone.Close()
	system, err := cfg.Clone()
	require.NoError(t, err)
	defer system.Close()
	require.NoError(t, system.LoadSystemCerts())
	requireS2nError(t, system.LoadSystemCerts(), "S2N_ERR_X509_TRUST_STORE")

	addr, served := validationServer(t, ec)
	c, err := clientHandshake(t, context.Background(), addr, cfg)
	requireS2nError(t, err, "S2N_ERR_CERT_UNTRUSTED")
	c.Close()
	await(t, served, "server handshake")

	require.NoError(t, clone.AddPEMToTrustStore(ec.certPEM))
	require.NoError(t, clone.SetCertAuthoritiesFromTrustStore(), "no system certificates to refuse")
	addr, served = validationServer(t, ec)
	c, err = clientHandshake(t, context.Background(), addr, clone)
	require.NoError(t, err)
	c.Close()
	await(t, served, "server handshake")
}
