package s2n

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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
