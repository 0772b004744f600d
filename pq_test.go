package s2n

import (
	"crypto/tls"
	"testing"

	"github.com/stretchr/testify/require"
)

// Post-quantum key exchange: what the "default_pq" policy negotiates in each
// build mode, between two bindings and against Go's crypto/tls, which offers
// X25519MLKEM768 first by default since Go 1.24.

// pqExpect is the group a policy negotiates in a build mode, per peer.
type pqExpect struct {
	pair     string // binding to binding
	goClient string // binding server, crypto/tls client
	goServer string // crypto/tls server, binding client
}

// pqGroups, per mode and policy. AWS-LC and the AWS-LC-FIPS module implement
// ML-KEM, so the hybrid wins everywhere, "default_fips" included (s2n counts
// X25519MLKEM768 as approved: its ML-KEM share comes first). OpenSSL 3.0 has
// no ML-KEM: s2n drops the hybrids and falls back to classical ECDHE. Its
// client sends only a P-256 key share (first in both policies), which Go's
// server accepts. Its server takes the X25519 share Go's client sent next to
// X25519MLKEM768 under "default_pq"; under "default_fips", which has no
// plain X25519, it asks for P-256 with a HelloRetryRequest.
var pqGroups = map[string]map[string]pqExpect{
	"awslc": {
		"default_pq":   {"X25519MLKEM768", "X25519MLKEM768", "X25519MLKEM768"},
		"default_fips": {"X25519MLKEM768", "X25519MLKEM768", "X25519MLKEM768"},
	},
	"openssl": {
		"default_pq":   {"secp256r1", "x25519", "secp256r1"},
		"default_fips": {"secp256r1", "secp256r1", "secp256r1"},
	},
	"awslc-fips": {
		"default_pq":   {"X25519MLKEM768", "X25519MLKEM768", "X25519MLKEM768"},
		"default_fips": {"X25519MLKEM768", "X25519MLKEM768", "X25519MLKEM768"},
	},
}

// s2nGroupToGo maps s2n's group names to crypto/tls's.
var s2nGroupToGo = map[string]tls.CurveID{
	"X25519MLKEM768": tls.X25519MLKEM768,
	"x25519":         tls.X25519,
	"secp256r1":      tls.CurveP256,
	"secp384r1":      tls.CurveP384,
	"secp521r1":      tls.CurveP521,
}

func TestPQBindingToBinding(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for policy, exp := range modeExpect(t, pqGroups) {
		for _, key := range []*testKey{ec, rs} {
			t.Run(policy+"/"+key.name, func(t *testing.T) {
				p := newPair(t, newTestConfig(t, configOpts{policy: policy, chain: key}),
					newTestConfig(t, configOpts{policy: policy, trust: key}))
				p.handshake(t)
				require.Equal(t, TLS13, p.server.ProtocolVersion())
				require.Equal(t, exp.pair, p.server.KeyExchangeGroup())
				require.Equal(t, exp.pair, p.client.KeyExchangeGroup(), "both sides agree")
				p.exchange(t)
				t.Logf("%s: %s negotiated %s, %s", buildMode, policy, exp.pair, p.server.CipherSuite())
			})
		}
	}
}

func TestPQWithGoCryptoTLS(t *testing.T) {
	ec, _, _ := testKeys(t)
	for policy, exp := range modeExpect(t, pqGroups) {
		for _, c := range []struct {
			name string
			mode Mode
			want string
		}{
			{"binding server, crypto/tls client", ModeServer, exp.goClient},
			{"crypto/tls server, binding client", ModeClient, exp.goServer},
		} {
			t.Run(policy+"/"+c.name, func(t *testing.T) {
				cfg := newTestConfig(t, configOpts{policy: policy, chain: ec, trust: ec})
				r := goPeerHandshake(t, c.mode, cfg, goPeerConfig(t, ec))
				require.NoError(t, r.err, "binding")
				require.NoError(t, r.goErr, "crypto/tls")
				require.Equal(t, TLS13, r.conn.ProtocolVersion())
				require.Equal(t, c.want, r.conn.KeyExchangeGroup())
				require.Equal(t, s2nGroupToGo[c.want], r.goState.CurveID, "crypto/tls saw the same group")
				t.Logf("%s: %s, %s: negotiated %s", buildMode, policy, c.name, r.goState.CurveID)
			})
		}
	}
}
