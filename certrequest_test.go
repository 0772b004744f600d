package s2n

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCertRequestCallbackPicksByAuthority: a server that trusts one client
// certificate names it in its CertificateRequest; the client's callback
// reads the names and sends the matching chain instead of its default,
// which the server would refuse.
func TestCertRequestCallbackPicksByAuthority(t *testing.T) {
	ec, _, _ := testKeys(t)
	newKey := func(name string) *testKey {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return makeTestKeyFor(t, name, name+".example", priv)
	}
	untrusted, trusted := newKey("client-a"), newKey("client-b")
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: trusted, clientAuth: ClientAuthRequired})
	require.NoError(t, server.SetVerifyHostCallback(func(string) bool { return true }))
	require.NoError(t, server.SetCertAuthoritiesFromTrustStore())
	chainB, err := NewCertChainAndKey(trusted.certPEM, trusted.keyPEM)
	require.NoError(t, err)
	defer chainB.Close()

	for _, pick := range []bool{false, true} {
		client := newTestConfig(t, configOpts{policy: "default_tls13", chain: untrusted, trust: ec, clientAuth: ClientAuthRequired})
		var names [][]byte
		if pick {
			require.NoError(t, client.SetCertRequestCallback(func(conn *Connection, req *CertificateRequest) error {
				var err error
				if names, err = req.CertificateAuthorities(); err != nil {
					return err
				}
				for _, n := range names {
					if bytes.Equal(n, trusted.cert.RawSubject) {
						return req.SetCertificate(chainB)
					}
				}
				return nil
			}))
		}
		p := newPair(t, server, client)
		s, c := p.drive(t, 10*time.Second)
		if !pick {
			require.Error(t, s.err, "the default chain is not trusted")
			continue
		}
		require.NoError(t, s.err)
		require.NoError(t, c.err)
		require.Equal(t, [][]byte{trusted.cert.RawSubject}, names)
		for _, conn := range []*Connection{p.server, p.client} {
			used, err := conn.ClientCertUsed()
			require.NoError(t, err)
			require.True(t, used)
		}
		peer, err := p.server.PeerCertChain()
		require.NoError(t, err)
		require.Equal(t, trusted.cert.Raw, peer[0])
	}
}

// TestConnectionClientAuthType: a connection overrides its Config's client
// authentication; misuse gets clear errors, and a CertificateRequest kept
// past its callback refuses to be used.
func TestConnectionClientAuthType(t *testing.T) {
	ec, _, _ := testKeys(t)
	server := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: ec})
	require.NoError(t, server.SetVerifyHostCallback(func(string) bool { return true }))
	var kept *CertificateRequest
	chain, err := NewCertChainAndKey(ec.certPEM, ec.keyPEM)
	require.NoError(t, err)
	defer chain.Close()
	client := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec, trust: ec})
	require.NoError(t, client.SetCertRequestCallback(func(conn *Connection, req *CertificateRequest) error {
		kept = req
		return req.SetCertificate(chain)
	}))
	p := newPair(t, server, client)
	got, err := p.server.ClientAuthType()
	require.NoError(t, err)
	require.Equal(t, ClientAuthNone, got)
	require.NoError(t, p.server.SetClientAuthType(ClientAuthOptional))
	got, err = p.server.ClientAuthType()
	require.NoError(t, err)
	require.Equal(t, ClientAuthOptional, got)
	requireS2nError(t, p.server.SetClientAuthType(ClientAuthType(42)), nameInvalidArg, ErrUsage)
	s, c := p.drive(t, 10*time.Second)
	require.NoError(t, s.err)
	require.NoError(t, c.err)
	require.NotNil(t, kept, "the server asked for a certificate")
	_, err = kept.CertificateAuthorities()
	requireS2nError(t, err, nameInvalidArg, ErrUsage)
}

// certRequestTypes returns the certificate_types of the TLS 1.2
// CertificateRequest in a server's recorded stream (its first flight is
// plaintext), failing if there is none.
func certRequestTypes(t *testing.T, s2c []byte) []byte {
	t.Helper()
	var hs []byte // the handshake messages, up to the ChangeCipherSpec
	for len(s2c) >= 5 && s2c[0] != 20 {
		n := int(s2c[3])<<8 | int(s2c[4])
		require.GreaterOrEqual(t, len(s2c), 5+n, "truncated record")
		if s2c[0] == 22 {
			hs = append(hs, s2c[5:5+n]...)
		}
		s2c = s2c[5+n:]
	}
	for len(hs) >= 4 {
		typ, n := hs[0], int(hs[1])<<16|int(hs[2])<<8|int(hs[3])
		require.GreaterOrEqual(t, len(hs), 4+n, "truncated handshake message")
		body := hs[4 : 4+n]
		if typ == 13 { // certificate_request
			require.NotEmpty(t, body)
			require.GreaterOrEqual(t, len(body), 1+int(body[0]))
			return body[1 : 1+int(body[0])]
		}
		hs = hs[4+n:]
	}
	t.Fatal("no CertificateRequest in the server's plaintext flight")
	return nil
}

// TestCertReqDSSLegacyCompat: with EnableCertReqDSSLegacyCompat, the
// certificate types of a TLS 1.2 CertificateRequest, as sent on the wire,
// include dss_sign (2) between rsa_sign (1) and ecdsa_sign (64); the
// handshake with a client that has no certificate still completes, and a
// clone of the Config sends the same.
func TestCertReqDSSLegacyCompat(t *testing.T) {
	ec, _, _ := testKeys(t)
	for _, dss := range []bool{false, true} {
		server := newTestConfig(t, configOpts{policy: policyTLS12, chain: ec, clientAuth: ClientAuthOptional})
		if dss {
			require.NoError(t, server.EnableCertReqDSSLegacyCompat())
			clone, err := server.Clone()
			require.NoError(t, err)
			t.Cleanup(func() { clone.Close() })
			server = clone
		}
		client := newTestConfig(t, configOpts{policy: policyTLS12, trust: ec, clientAuth: ClientAuthOptional})
		_, s2c := recordHandshake(t, server, client)
		want := []byte{1, 64}
		if dss {
			want = []byte{1, 2, 64}
		}
		require.Equal(t, want, certRequestTypes(t, s2c), "DSS legacy compat %v", dss)
	}
}
