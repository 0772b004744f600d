package s2n

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// These tests run in every build mode; what a mode must mean comes from
// buildMode (build_*.go). The approved sets below are s2n's own
// FIPS 140-3 rule (lib/crypto/s2n_fips_rules.c), written out in the names
// the binding reports.

var (
	// fipsSuites: NIST SP 800-52r2 suites, s2n_connection_get_cipher naming.
	fipsSuites = []string{
		"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA384",
		"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
		"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES256-SHA384",
		"ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
		"DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",
		"DHE-RSA-AES128-SHA256", "DHE-RSA-AES256-SHA256",
		"DHE-RSA-AES128-SHA", "DHE-RSA-AES256-SHA",
	}
	// fipsGroups: SP 800-56A curves, and hybrids whose first share is
	// approved (SP 800-56Cr2): X25519MLKEM768 sends ML-KEM-768 first.
	fipsGroups = []string{"secp256r1", "secp384r1", "secp521r1",
		"X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024"}
	// fipsHashes: at least 112 bits of security (SP 800-107r1).
	fipsHashes = []HashAlgorithm{HashSHA224, HashSHA256, HashSHA384, HashSHA512}
)

// fipsPolicies are policies s2n marks with its FIPS 140-3 rule.
var fipsPolicies = []string{"default_fips", "20230317", "20230317_pq", "20240416"}

// fipsPolicyGroup is what a binding pair on the same FIPS policy negotiates
// in each mode. default_fips and 20230317_pq list the ML-KEM hybrids; OpenSSL
// 3.0 cannot do ML-KEM, so they fall back to P-256 there.
var fipsPolicyGroup = map[string]map[string]string{
	"awslc":      {"default_fips": "X25519MLKEM768", "20230317": "secp256r1", "20230317_pq": "X25519MLKEM768", "20240416": "secp256r1"},
	"openssl":    {"default_fips": "secp256r1", "20230317": "secp256r1", "20230317_pq": "secp256r1", "20240416": "secp256r1"},
	"awslc-fips": {"default_fips": "X25519MLKEM768", "20230317": "secp256r1", "20230317_pq": "X25519MLKEM768", "20240416": "secp256r1"},
}

func TestFIPSMode(t *testing.T) {
	on, err := FIPSMode()
	require.NoError(t, err)
	require.Equal(t, buildMode == "awslc-fips", on, "FIPS mode exactly in the s2n_fips build (%s)", Libcrypto())
	require.Equal(t, on, libcryptoFIPSMode(), "s2n and its libcrypto agree")
	require.Equal(t, on, fipsBuild, "the build tag promises what the module delivers")
	require.NoError(t, checkFIPSBuild(), "Init's check passes in this build")
}

func TestFIPSBuildRefusesNonFIPSModule(t *testing.T) {
	for _, c := range []struct{ build, on, fails bool }{
		{build: true, on: true},
		{build: true, on: false, fails: true},
		{build: false, on: false},
		{build: false, on: true},
	} {
		t.Run(fmt.Sprintf("build=%v,on=%v", c.build, c.on), func(t *testing.T) {
			err := fipsBuildError(c.build, c.on, "awslc-fips: AWS-LC 5.12.0")
			if !c.fails {
				require.NoError(t, err)
				return
			}
			requireS2nError(t, err, nameNotFIPS, ErrUsage)
			require.Contains(t, err.Error(), "not in FIPS mode")
			require.Contains(t, err.Error(), "AWS-LC 5.12.0", "names the libcrypto actually linked")
		})
	}
}

func TestLibcryptoNamesTheModule(t *testing.T) {
	want := modeExpect(t, map[string]string{
		"awslc":      "awslc: AWS-LC 5.",
		"openssl":    "openssl: OpenSSL 3.0.",
		"awslc-fips": "awslc-fips: AWS-LC FIPS 4.2.0",
	})
	require.True(t, strings.HasPrefix(Libcrypto(), want), "Libcrypto() = %q, want prefix %q", Libcrypto(), want)
	require.Equal(t, buildMode == "awslc-fips", strings.Contains(Libcrypto(), "FIPS"))
}

// requireApproved checks everything conn negotiated against the FIPS sets.
func requireApproved(t *testing.T, conn *Connection) {
	t.Helper()
	require.GreaterOrEqual(t, conn.ProtocolVersion(), TLS12)
	require.Contains(t, fipsSuites, conn.CipherSuite())
	require.Contains(t, fipsGroups, conn.KeyExchangeGroup())
	sig, err := conn.SelectedSignatureAlgorithm()
	require.NoError(t, err)
	require.Contains(t, []SignatureAlgorithm{SignatureECDSA, SignatureRSA, SignatureRSAPSSRSAE, SignatureRSAPSSPSS}, sig)
	hash, err := conn.SelectedDigestAlgorithm()
	require.NoError(t, err)
	require.Contains(t, fipsHashes, hash)
}

// TestFIPSPoliciesNegotiateApproved pairs a FIPS policy with itself and with
// "test_all" (every suite, group and signature s2n has, ChaCha20 and X25519
// included) on the other side: whichever side holds the FIPS policy, only
// approved algorithms come out, in every mode.
func TestFIPSPoliciesNegotiateApproved(t *testing.T) {
	ec, rs, _ := testKeys(t)
	groups := modeExpect(t, fipsPolicyGroup)
	for _, policy := range fipsPolicies {
		for _, key := range []*testKey{ec, rs} {
			for _, peer := range []struct{ name, server, client string }{
				{"same", policy, policy},
				{"fips server, permissive client", policy, "test_all"},
				{"permissive server, fips client", "test_all", policy},
			} {
				t.Run(policy+"/"+key.name+"/"+peer.name, func(t *testing.T) {
					p := newPair(t, newTestConfig(t, configOpts{policy: peer.server, chain: key}),
						newTestConfig(t, configOpts{policy: peer.client, trust: key}))
					p.handshake(t)
					requireApproved(t, p.server)
					requireApproved(t, p.client)
					if peer.name == "same" {
						require.Equal(t, groups[policy], p.server.KeyExchangeGroup())
					}
					p.exchange(t)
					sig, _ := p.server.SelectedSignatureAlgorithm()
					hash, _ := p.server.SelectedDigestAlgorithm()
					t.Logf("%s: %v %s %s %v+%v", buildMode, p.server.ProtocolVersion(), p.server.CipherSuite(),
						p.server.KeyExchangeGroup(), sig, hash)
				})
			}
		}
	}
}

// chachaOnly is a crypto/tls TLS 1.2 client that offers nothing but
// ChaCha20-Poly1305 (crypto/tls does not let TLS 1.3 suites be chosen).
func chachaOnly(t testing.TB, key *testKey) *tls.Config {
	c := goPeerConfig(t, key)
	c.MaxVersion = tls.VersionTLS12
	c.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}
	return c
}

// TestFIPSChaCha20: s2n's FIPS mode does not itself refuse ChaCha20-Poly1305
// (AWS-LC-FIPS implements it, unapproved); the security policy does. So a
// FIPS policy refuses a ChaCha-only client in every mode, and a policy that
// lists ChaCha negotiates it in every mode, the FIPS build included.
func TestFIPSChaCha20(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, policy := range fipsPolicies {
		t.Run("chacha-only client vs "+policy, func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: policy, chain: ec})
			r := goPeerHandshake(t, ModeServer, cfg, chachaOnly(t, ec))
			requireS2nError(t, r.err, "S2N_ERR_CIPHER_NOT_SUPPORTED")
			require.Error(t, r.goErr)
		})
	}
	t.Run("chacha-only client vs default_tls13", func(t *testing.T) {
		cfg := newTestConfig(t, configOpts{policy: "default_tls13", chain: ec})
		r := goPeerHandshake(t, ModeServer, cfg, chachaOnly(t, ec))
		require.NoError(t, r.err)
		require.NoError(t, r.goErr)
		require.Equal(t, "ECDHE-ECDSA-CHACHA20-POLY1305", r.conn.CipherSuite(), "FIPS mode (%v) does not filter suites", fipsBuild)
		require.Equal(t, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, r.goState.CipherSuite)
	})

	// Binding to binding: a client that prefers ChaCha ("20190122" lists it
	// first) gets AES from a FIPS server, and ChaCha from a server that
	// honours a client's ChaCha preference (chacha20 boosting).
	for server, want := range map[string]string{
		"default_fips": "ECDHE-RSA-AES128-GCM-SHA256",
		"CloudFront-TLS-1-2-2021-Chacha20-Boosted": "ECDHE-RSA-CHACHA20-POLY1305",
	} {
		t.Run("chacha-first client vs "+server, func(t *testing.T) {
			p := newPair(t, newTestConfig(t, configOpts{policy: server, chain: rs}),
				newTestConfig(t, configOpts{policy: "20190122", trust: rs}))
			p.handshake(t)
			require.Equal(t, want, p.server.CipherSuite())
			require.Equal(t, want, p.client.CipherSuite())
			p.exchange(t)
		})
	}
}

// x25519Only is a crypto/tls TLS 1.3 client whose only group is X25519.
func x25519Only(t testing.TB, key *testKey) *tls.Config {
	c := goPeerConfig(t, key)
	c.MinVersion = tls.VersionTLS13
	c.CurvePreferences = []tls.CurveID{tls.X25519}
	return c
}

// TestFIPSX25519: plain X25519 is not approved. FIPS policies do not list it
// (their X25519 appears only inside X25519MLKEM768, behind ML-KEM), so an
// X25519-only client fails against them in every mode, while "default"
// negotiates X25519 in every mode. A Config left at s2n's default differs by
// mode: in FIPS mode s2n starts it on "default_fips".
func TestFIPSX25519(t *testing.T) {
	ec, _, _ := testKeys(t)
	fipsDefault := buildMode == "awslc-fips"
	for _, c := range []struct {
		policy string
		fails  bool
	}{
		{"default_fips", true},
		{"20230317_pq", true},
		{"default", false},
		{"", fipsDefault}, // no policy set: s2n's default for this build
	} {
		t.Run(fmt.Sprintf("policy=%q", c.policy), func(t *testing.T) {
			cfg := newTestConfig(t, configOpts{policy: c.policy, chain: ec})
			r := goPeerHandshake(t, ModeServer, cfg, x25519Only(t, ec))
			if c.fails {
				// s2n's error for "no group in common" (its message wrongly
				// speaks of both a KEM and a curve selected).
				requireS2nError(t, r.err, "S2N_ERR_INVALID_SUPPORTED_GROUP_STATE")
				require.Error(t, r.goErr)
				return
			}
			require.NoError(t, r.err)
			require.NoError(t, r.goErr)
			require.Equal(t, "x25519", r.conn.KeyExchangeGroup())
			require.Equal(t, tls.X25519, r.goState.CurveID)
		})
	}
}

// TestFIPSAsyncPkey: private-key offload works unchanged in FIPS mode, on
// FIPS policies, with strict validation (s2n verifies every signature with
// the module before it leaves): with the key in s2n (Perform) and with the
// key outside it (SetOutput from Go's crypto). TLS 1.2 RSA key exchange
// (decrypt) is not approved, so FIPS policies never raise a decrypt op.
func TestFIPSAsyncPkey(t *testing.T) {
	ec, rs, _ := testKeys(t)
	for _, v := range []variant{
		{"ecdsa/tls13", ec, "default_fips", TLS13, AsyncSign},
		{"rsa/tls13", rs, "default_fips", TLS13, AsyncSign},
		{"ecdsa/tls12", ec, "20240416", TLS12, AsyncSign},
		{"rsa/tls12", rs, "20240416", TLS12, AsyncSign},
	} {
		for _, offloaded := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/offloaded=%v", v.name, offloaded), func(t *testing.T) {
				var wg sync.WaitGroup
				errs := make(chan error, 1)
				opts := configOpts{policy: v.policy, strict: true, fn: func(conn *Connection, op *AsyncPkeyOp) error {
					wg.Add(1)
					go func() { // complete it elsewhere, as an HSM would
						defer wg.Done()
						defer op.Free()
						typ, err := op.Type()
						if err == nil && typ != v.opType {
							err = fmt.Errorf("op type %v, want %v", typ, v.opType)
						}
						if err == nil && offloaded {
							err = offload(t, conn, op, v.key, false)
						} else if err == nil {
							err = performAndApply(conn, op)
						}
						if err != nil {
							errs <- err
						}
					}()
					return nil
				}}
				if offloaded {
					opts.public = v.key
				} else {
					opts.chain = v.key
				}
				p := newPair(t, newTestConfig(t, opts), newTestConfig(t, configOpts{policy: v.policy, trust: v.key}))
				p.handshake(t)
				wg.Wait()
				close(errs)
				require.NoError(t, <-errs)
				require.Equal(t, v.version, p.client.ProtocolVersion())
				requireApproved(t, p.server)
				p.exchange(t)
			})
		}
	}
}

// TestOpenSSLVersion: the OpenSSL version number s2n-tls was compiled with
// is the linked libcrypto's: for OpenSSL, the release Libcrypto names
// (0xMNN00PPS: major, minor, patch, status); AWS-LC declares OpenSSL
// 1.1.1's number in its headers (OPENSSL_VERSION_NUMBER in base.h).
func TestOpenSSLVersion(t *testing.T) {
	v := OpenSSLVersion()
	t.Logf("%s: s2n-tls compiled against OpenSSL version number %#x", Libcrypto(), v)
	if buildMode == "openssl" {
		var major, minor, patch uint64
		_, err := fmt.Sscanf(strings.TrimPrefix(Libcrypto(), "openssl: "), "OpenSSL %d.%d.%d", &major, &minor, &patch)
		require.NoError(t, err, "Libcrypto() = %q", Libcrypto())
		require.Equal(t, major<<28|minor<<20|patch<<4, v&^0xf, "Libcrypto() = %q", Libcrypto())
		return
	}
	require.Equal(t, modeExpect(t, map[string]uint64{"awslc": 0x1010107f, "awslc-fips": 0x1010107f}), v)
}
