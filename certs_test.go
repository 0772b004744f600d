package s2n

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newNamedKey is a fresh ECDSA P-256 key with a certificate for name.
func newNamedKey(t *testing.T, name string) *testKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return makeTestKeyFor(t, name, name, priv)
}

// servedChain runs a handshake of a client asking for sni against server
// and returns the chain the server selected.
func servedChain(t *testing.T, server *Config, sni string) *CertChainAndKey {
	t.Helper()
	client := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, client.DisableX509Verification()) // which chain, not whether it verifies
	p := newPair(t, server, client)
	require.NoError(t, p.client.SetServerName(sni))
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	chain, err := p.server.SelectedCert()
	require.NoError(t, err)
	return chain
}

func addChain(t *testing.T, cfg *Config, k *testKey) *CertChainAndKey {
	t.Helper()
	ch, err := NewCertChainAndKey(k.certPEM, k.keyPEM)
	require.NoError(t, err)
	t.Cleanup(func() { ch.Close() })
	require.NoError(t, cfg.AddCertChainAndKey(ch))
	return ch
}

// TestCertTiebreakCallback: two ECDSA chains for one name; s2n keeps the
// first unless the tiebreak callback picks the other. A panicking callback
// leaves s2n's default.
func TestCertTiebreakCallback(t *testing.T) {
	first, second := newNamedKey(t, "dup.example"), newNamedKey(t, "dup.example")
	for _, tc := range []struct {
		name string
		fn   func(a, b *CertChainAndKey, name string) *CertChainAndKey
		want int // 0: the first chain added, 1: the second
	}{
		{"none", nil, 0},
		{"picks the new one", func(a, b *CertChainAndKey, name string) *CertChainAndKey {
			require.Equal(t, "dup.example", name)
			return b
		}, 1},
		{"keeps the old one", func(a, b *CertChainAndKey, _ string) *CertChainAndKey { return a }, 0},
		{"panics", func(a, b *CertChainAndKey, _ string) *CertChainAndKey { panic("tiebreak exploded") }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
			if tc.fn != nil {
				require.NoError(t, cfg.SetCertTiebreakCallback(tc.fn))
			}
			chains := []*CertChainAndKey{addChain(t, cfg, first), addChain(t, cfg, second)}
			require.Same(t, chains[tc.want].s, servedChain(t, cfg, "dup.example").s)
		})
	}
}

// TestSetDefaultCertChains: a client whose server name matches no chain
// gets the default: the first chain added, unless SetDefaultCertChains
// names another.
func TestSetDefaultCertChains(t *testing.T) {
	x, y := newNamedKey(t, "x.example"), newNamedKey(t, "y.example")
	for _, setDefault := range []bool{false, true} {
		cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
		chainX := addChain(t, cfg, x)
		chainY := addChain(t, cfg, y)
		want := chainX
		if setDefault {
			require.NoError(t, cfg.SetDefaultCertChains(chainY))
			want = chainY
		}
		require.Same(t, want.s, servedChain(t, cfg, "unknown.example").s)
		require.Same(t, chainX.s, servedChain(t, cfg, "x.example").s, "a name match still wins")
	}
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	requireS2nError(t, cfg.SetDefaultCertChains(), nameInvalidArg, ErrUsage)
	closed, err := NewCertChainAndKey(x.certPEM, x.keyPEM)
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	requireS2nError(t, cfg.SetDefaultCertChains(closed), nameInvalidArg, ErrUsage)
}

// TestNewCertChainAndKeyFromStrings: a chain and key loaded from strings
// serve a handshake crypto/tls verifies; input s2n would read only up to a
// NUL byte is refused, and s2n's own checks still apply.
func TestNewCertChainAndKeyFromStrings(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, key := range []*testKey{ec, rs} {
		ck, err := NewCertChainAndKeyFromStrings(string(key.certPEM), string(key.keyPEM))
		require.NoError(t, err)
		cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
		require.NoError(t, cfg.AddCertChainAndKey(ck))
		require.NoError(t, ck.Close())
		r := goPeerHandshake(t, ModeServer, cfg, goTLSClientConfig(key))
		require.NoError(t, r.err)
		require.NoError(t, r.goErr)
		require.Equal(t, key.cert.Raw, r.goState.PeerCertificates[0].Raw, key.name)
	}

	chain, priv := string(ec.certPEM), string(ec.keyPEM)
	for _, tc := range []struct {
		name, chain, key string
		want             string
	}{
		{"NUL in chain", chain + "\x00" + string(rs.certPEM), priv, nameInvalidArg},
		{"NUL in key", chain, "\x00" + priv, nameInvalidArg},
		{"empty key", chain, "", nameInvalidArg},
		{"empty chain", "", priv, nameInvalidArg},
		{"no PEM", "not a PEM", priv, "S2N_ERR_NO_CERTIFICATE_IN_PEM"},
		{"wrong key", chain, string(rs.keyPEM), "S2N_ERR_KEY_MISMATCH"},
	} {
		ck, err := NewCertChainAndKeyFromStrings(tc.chain, tc.key)
		require.Nil(t, ck, tc.name)
		requireS2nError(t, err, tc.want)
	}
}

// extensionTestChain is a leaf, issued by a CA, with a UTF8String in a
// private extension and an INTEGER in another, as PEM leaf first.
func extensionTestChain(t *testing.T, text string) (leaf, ca *testKey, chainPEM []byte) {
	t.Helper()
	ca = newTestCA(t, "extension CA")
	utf8, err := asn1.MarshalWithParams(text, "utf8")
	require.NoError(t, err)
	integer, err := asn1.Marshal(42)
	require.NoError(t, err)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost", "alt.example"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		ExtraExtensions: []pkix.Extension{
			{Id: oidTestUTF8, Value: utf8},
			{Id: oidTestInteger, Value: integer},
		},
	}
	leaf = createTestKey(t, "extension leaf", tmpl, ca, priv)
	return leaf, ca, append(append([]byte{}, leaf.certPEM...), ca.certPEM...)
}

var (
	oidTestUTF8    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}
	oidTestInteger = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 2}
)

// TestX509Extension: every extension of every certificate of a chain, as
// s2n reads it, is what crypto/x509 parsed, criticality included, whether
// the chain is the caller's own, the one a server selected, or the one a
// client received from a crypto/tls server; a UTF8String value decodes to
// its text, other values and absent extensions are errors.
func TestX509Extension(t *testing.T) {
	const text = "héllo, wörld ✓"
	leaf, ca, chainPEM := extensionTestChain(t, text)
	ck, err := NewCertChainAndKey(chainPEM, leaf.keyPEM)
	require.NoError(t, err)
	t.Cleanup(func() { ck.Close() })

	// requireExtensions checks get against crypto/x509's parse of each
	// certificate of the chain.
	requireExtensions := func(what string, get func(i int, oid string) ([]byte, bool, error)) {
		t.Helper()
		for i, cert := range []*x509.Certificate{leaf.cert, ca.cert} {
			require.NotEmpty(t, cert.Extensions)
			for _, ext := range cert.Extensions {
				value, critical, err := get(i, ext.Id.String())
				require.NoError(t, err, "%s: certificate %d, %s", what, i, ext.Id)
				require.Equal(t, ext.Value, value, "%s: certificate %d, %s", what, i, ext.Id)
				require.Equal(t, ext.Critical, critical, "%s: certificate %d, %s", what, i, ext.Id)
			}
		}
		value, _, err := get(0, oidTestUTF8.String())
		require.NoError(t, err)
		s, err := UTF8StringFromExtensionData(value)
		require.NoError(t, err)
		require.Equal(t, text, s, what)
		_, _, err = get(1, oidTestUTF8.String())
		requireS2nError(t, err, "S2N_ERR_X509_EXTENSION_VALUE_NOT_FOUND")
		_, _, err = get(2, oidTestUTF8.String())
		requireS2nError(t, err, "S2N_ERR_NO_CERT_FOUND")
		for _, bad := range []struct {
			i   int
			oid string
		}{{-1, "2.5.29.17"}, {0, ""}, {0, "2.5.29.17\x00"}} {
			_, _, err = get(bad.i, bad.oid)
			requireS2nError(t, err, nameInvalidArg, ErrUsage)
		}
	}
	requireExtensions("own chain", ck.X509Extension)

	// A name libcrypto knows stands for its OID.
	byName, critical, err := ck.X509Extension(0, "subjectAltName")
	require.NoError(t, err)
	require.False(t, critical)
	for _, ext := range leaf.cert.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			require.Equal(t, ext.Value, byName)
		}
	}

	// The chain a server selected in a handshake with crypto/tls.
	cfg := newTestConfig(t, configOpts{policy: "default_tls13"})
	require.NoError(t, cfg.AddCertChainAndKey(ck))
	goCfg := &tls.Config{RootCAs: certPool(ca), ServerName: "localhost"}
	r := goPeerHandshake(t, ModeServer, cfg, goCfg)
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	selected, err := r.conn.SelectedCert()
	require.NoError(t, err)
	requireExtensions("selected chain", selected.X509Extension)

	// The chain a crypto/tls server presented to a client.
	goServer := &tls.Config{Certificates: []tls.Certificate{{
		Certificate: [][]byte{leaf.cert.Raw, ca.cert.Raw}, PrivateKey: leaf.signer, Leaf: leaf.cert,
	}}}
	r = goPeerHandshake(t, ModeClient, newTestConfig(t, configOpts{policy: "default_tls13", trust: ca}), goServer)
	require.NoError(t, r.err)
	require.NoError(t, r.goErr)
	requireExtensions("peer chain", r.conn.PeerCertX509Extension)

	// Data that is no UTF8String.
	integer, _, err := ck.X509Extension(0, oidTestInteger.String())
	require.NoError(t, err)
	_, err = UTF8StringFromExtensionData(integer)
	requireS2nError(t, err, "S2N_ERR_INVALID_X509_EXTENSION_TYPE")
	_, err = UTF8StringFromExtensionData(nil)
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
	truncated, err := asn1.MarshalWithParams(text, "utf8")
	require.NoError(t, err)
	_, err = UTF8StringFromExtensionData(truncated[:len(truncated)-1])
	requireS2nError(t, err, "S2N_ERR_INVALID_X509_EXTENSION_TYPE")

	// A closed chain, and no peer chain before a handshake.
	require.NoError(t, ck.Close())
	_, _, err = ck.X509Extension(0, "2.5.29.17")
	requireS2nError(t, err, nameClosed, ErrUsage)
	c, err := NewConnection(ModeClient)
	require.NoError(t, err)
	defer c.Close()
	_, _, err = c.PeerCertX509Extension(0, "2.5.29.17")
	requireS2nError(t, err, "S2N_ERR_CERT_NOT_VALIDATED")
	require.NoError(t, c.Close())
	_, _, err = c.PeerCertX509Extension(0, "2.5.29.17")
	requireS2nError(t, err, nameClosed, ErrUsage)
}
