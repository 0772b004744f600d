package s2n

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// goHello is the ClientHelloInfo a crypto/tls server builds for a client
// with config goCfg: what the client sent, in crypto/tls's terms.
func goHello(t *testing.T, goCfg *tls.Config) *tls.ClientHelloInfo {
	t.Helper()
	ec, _, _ := testKeys(t)
	infos := make(chan *tls.ClientHelloInfo, 1)
	srv := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		infos <- h
		cert := goCert(ec)
		return &cert, nil
	}}
	addr, served := serveGoTLS(t, srv, 1, func(c *tls.Conn) error { return c.Handshake() })
	c, err := tls.Dial("tcp", addr, goCfg)
	require.NoError(t, err)
	c.Close()
	require.NoError(t, await(t, served, "crypto/tls server"))
	return await(t, infos, "crypto/tls's ClientHelloInfo")
}

// ctxKey marks the context a handshake ran with.
type ctxKey struct{}

// TestGetCertificateClientHelloInfo: the ClientHelloInfo an s2n server
// hands to GetCertificate has the fields crypto/tls fills for the same
// client, its Conn is the server's transport and its Context the
// handshake's; the client verifies the returned chain.
func TestGetCertificateClientHelloInfo(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, tc := range []struct {
		name   string
		maxVer uint16
		protos []string
	}{
		{"tls13-alpn", tls.VersionTLS13, []string{"h2", "http/1.1"}},
		{"tls12-no-alpn", tls.VersionTLS12, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			goCfg := goTLSClientConfig(ec)
			goCfg.MaxVersion = tc.maxVer
			goCfg.NextProtos = tc.protos
			want := goHello(t, goCfg)

			infos := make(chan *tls.ClientHelloInfo, 1)
			cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
			require.NoError(t, cfg.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
				infos <- h
				cert := goCert(ec)
				return &cert, nil
			}))
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer raw.Close()
			served := make(chan error, 1)
			serverConn := make(chan net.Conn, 1)
			ctx := context.WithValue(context.Background(), ctxKey{}, tc.name)
			go func() {
				nc, err := raw.Accept()
				if err != nil {
					served <- err
					return
				}
				serverConn <- nc
				c := Server(nc, cfg)
				defer c.Close()
				served <- c.HandshakeContext(ctx)
			}()
			c, err := tls.Dial("tcp", raw.Addr().String(), goCfg)
			require.NoError(t, err, "the client verified the chain GetCertificate returned")
			st := c.ConnectionState()
			c.Close()
			require.NoError(t, await(t, served, "s2n server"))
			require.Equal(t, ec.cert.Raw, st.PeerCertificates[0].Raw)
			require.Equal(t, tc.maxVer, st.Version)

			got := await(t, infos, "GetCertificate's ClientHelloInfo")
			require.Equal(t, want.ServerName, got.ServerName)
			require.Equal(t, want.CipherSuites, got.CipherSuites)
			require.Equal(t, want.SupportedCurves, got.SupportedCurves)
			require.Equal(t, want.SupportedPoints, got.SupportedPoints)
			require.Equal(t, want.SignatureSchemes, got.SignatureSchemes)
			require.Equal(t, want.SupportedProtos, got.SupportedProtos)
			require.Equal(t, want.SupportedVersions, got.SupportedVersions)
			require.Equal(t, want.Extensions, got.Extensions)
			require.Same(t, await(t, serverConn, "accepted"), got.Conn)
			require.NotNil(t, got.Context(), "crypto/tls's ClientHelloInfo.ctx field is set")
			require.Equal(t, tc.name, got.Context().Value(ctxKey{}), "the handshake's context")
			require.NoError(t, got.SupportsCertificate(&tls.Certificate{Certificate: [][]byte{ec.cert.Raw}, PrivateKey: ec.signer, Leaf: ec.cert}))
		})
	}
}

// TestGetCertificateLowLevel: on a Connection driven with Negotiate, the
// ClientHelloInfo has no Conn and a background Context.
func TestGetCertificateLowLevel(t *testing.T) {
	ec, _, _ := testKeys(t)
	infos := make(chan *tls.ClientHelloInfo, 1)
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		infos <- h
		cert := goCert(ec)
		return &cert, nil
	}))
	p := newPair(t, cfg, clientConfig(t, "default_tls13", ec))
	p.handshake(t)
	got := await(t, infos, "ClientHelloInfo")
	require.Equal(t, "localhost", got.ServerName)
	require.Nil(t, got.Conn)
	require.Equal(t, context.Background(), got.Context())
}

// TestGetCertificateFailures: an error or a panic of GetCertificate, a nil
// certificate with no chain to fall back to, a key that cannot sign and a
// key that is not the leaf's each end the handshake with a clear cause; a
// nil certificate with a chain of the Config's own serves that chain.
func TestGetCertificateFailures(t *testing.T) {
	ec, _, ec2 := testKeys(t)
	issuerDown := errors.New("certificate store unavailable")
	type notSigner struct{}
	for _, tc := range []struct {
		name  string
		own   *testKey // a chain of the Config's own
		cert  func() (*tls.Certificate, error)
		check func(t *testing.T, serverErr error)
	}{
		{"error", nil, func() (*tls.Certificate, error) { return nil, issuerDown }, func(t *testing.T, err error) {
			require.ErrorIs(t, err, issuerDown)
			requireS2nError(t, err, nameAsyncFailed)
		}},
		{"panic", nil, func() (*tls.Certificate, error) { panic("issuer exploded") }, func(t *testing.T, err error) {
			var pe *PanicError
			require.ErrorAs(t, err, &pe)
			require.Equal(t, "issuer exploded", pe.Value)
		}},
		{"nil-certificate", nil, func() (*tls.Certificate, error) { return nil, nil }, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "GetCertificate returned no certificate")
			requireS2nError(t, err, nameInvalidArg, ErrUsage)
		}},
		{"no-chain", nil, func() (*tls.Certificate, error) { return &tls.Certificate{PrivateKey: ec.signer}, nil }, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "without a chain")
		}},
		{"not-a-signer", nil, func() (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{ec.cert.Raw}, PrivateKey: notSigner{}}, nil
		}, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "private key (s2n.notSigner) is not a crypto.Signer")
		}},
		{"wrong-key", nil, func() (*tls.Certificate, error) {
			return &tls.Certificate{Certificate: [][]byte{ec.cert.Raw}, PrivateKey: ec2.signer}, nil
		}, func(t *testing.T, err error) {
			require.ErrorContains(t, err, "private key does not match its leaf")
		}},
		{"nil-certificate-own-chain", ec, func() (*tls.Certificate, error) { return nil, nil }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: tc.own})
			require.NoError(t, cfg.SetGetCertificate(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return tc.cert() }))
			serverErr, clientErr, _ := serveHello(t, cfg, goTLSClientConfig(ec))
			if tc.check == nil {
				require.NoError(t, serverErr)
				require.NoError(t, clientErr)
				return
			}
			require.Error(t, clientErr)
			require.Error(t, serverErr)
			tc.check(t, serverErr)
		})
	}
}

// TestGetCertificateACMEALPN: a client that offers only acme-tls/1 (an
// ACME server validating TLS-ALPN-01) gets it negotiated with the
// certificate returned for it, though the Config lists other protocols.
func TestGetCertificateACMEALPN(t *testing.T) {
	ec, _, _ := testKeys(t)
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.SetProtocolPreferences([]string{"h2"}))
	require.NoError(t, cfg.SetGetCertificate(func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		cert := goCert(ec)
		return &cert, nil
	}))
	for _, tc := range []struct{ offer, want string }{{ACMEProtocol, ACMEProtocol}, {"h2", "h2"}} {
		addr, served := serveResults(t, cfg, 1, func(c *Conn) error { return c.Handshake() })
		goCfg := goTLSClientConfig(ec)
		goCfg.NextProtos = []string{tc.offer}
		c, err := tls.Dial("tcp", addr, goCfg)
		require.NoError(t, err)
		st := c.ConnectionState()
		c.Close()
		require.NoError(t, await(t, served, "server"))
		require.Equal(t, tc.want, st.NegotiatedProtocol)
	}
}

// TestGetCertificateCache: the derived Config is kept by chain and key, not
// by the *tls.Certificate pointer (autocert returns a new one each time); a
// new chain gets a new Config; at most maxCertConfigs are kept, the least
// recently used closed first.
func TestGetCertificateCache(t *testing.T) {
	ec, _, _ := testKeys(t)
	base := newTestConfig(t, configOpts{policy: "default_tls13"})
	certs := make(map[string]*tls.Certificate)
	require.NoError(t, base.SetGetCertificate(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := *certs[h.ServerName] // a fresh pointer per call, as autocert's
		return &c, nil
	}))
	cache := base.s.certConfigs
	require.NotNil(t, cache)
	for i := range maxCertConfigs + 1 {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		name := fmt.Sprintf("n%d.example", i)
		k := makeTestKeyFor(t, name, name, priv)
		c := goCert(k)
		certs[name] = &c
	}
	ecCert := goCert(ec)
	certs["localhost"] = &ecCert
	hello := func(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }
	get := func(name string) *configState {
		cfg, err := cache.configFor(hello(name))
		require.NoError(t, err)
		require.NotNil(t, cfg)
		defer cfg.Close()
		return cfg.s
	}
	first := get("localhost")
	require.Same(t, first, get("localhost"), "same chain and key: the same Config")
	renewed := goCert(makeTestKeyFor(t, "renewed", "localhost", ec.signer))
	certs["localhost"] = &renewed
	second := get("localhost")
	require.NotSame(t, first, second, "a new chain: a new Config")
	freed := func(st *configState) bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.ptr == nil
	}
	for i := range maxCertConfigs - 2 {
		get(fmt.Sprintf("n%d.example", i))
	}
	require.Equal(t, maxCertConfigs, cache.lru.Len())
	require.False(t, freed(first))
	get(fmt.Sprintf("n%d.example", maxCertConfigs-2)) // one more: the least recently used goes
	require.Equal(t, maxCertConfigs, cache.lru.Len())
	require.True(t, freed(first), "the evicted Config, used by no connection, is freed")
	require.False(t, freed(second))
	require.NoError(t, base.Close())
	require.True(t, freed(second), "closing the base closes what it derived")
}
