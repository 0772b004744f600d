package s2n

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
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
